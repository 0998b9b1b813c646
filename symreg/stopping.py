"""When a search is done: stop an engine once its Pareto front has stopped getting better.

An engine's budget is an upper bound, not a target.  A Copernicus neuron whose
law is ``theta_S + c`` is on the front after a few generations; the rest of the
budget cannot improve on it.  :class:`FrontStop` watches the engine's front
(``(length, mse)`` pairs, once per generation) and says when to stop:

* **At the noise floor.**  A candidate whose mean squared error is at most the
  target's noise floor (its known noise variance; for a noise-free target
  ``1e-10`` of its variance, what a float32 engine reports as an exact fit)
  fits as well as the data allow.  Of those, model selection takes the
  simplest (:func:`symreg.base.select_best`), so only a *simpler* candidate
  reaching the floor can change the result.  The search stops when none has
  for ``patience`` of its budget, and at once when the candidate at the floor
  is a single node (a constant, or one variable scaled): nothing is simpler.
* **Stalled.**  Below the floor nothing counts; above it, the front improves
  when, in one generation, a candidate's error falls more than ``tolerance``
  (1 %) below the best seen so far at its length or shorter.  (Progress of
  less than 1 % a generation therefore does not count, however long it goes
  on; the figures in docs/symbolic-regression-from-a-close-fit-to-the-law.md were measured with this rule.)  The search stops when it has not for ``patience``
  of its budget.

The budget is counted as the engine counts it (evaluations, a fraction of its
evaluation budget), not in seconds, so the same seed stops at the same
generation on any machine and under any load, and the equations stay
deterministic.  ``patience = 0`` turns the rule off: the engine spends its
whole budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

PATIENCE = 0.3
"""share of its budget an engine goes on without improving its front before it stops"""
EXACT_FLOOR = 1e-10
"""for a noise-free target, the error (as a fraction of its variance) taken as an exact fit"""


def noise_floor(noise_variance: float, target_variance: float) -> float:
    """The mean squared error at which a candidate fits to the noise: the noise variance, at least
    ``EXACT_FLOOR`` of the target's variance."""
    return max(float(noise_variance), EXACT_FLOOR * float(target_variance), 0.0)


class FrontStop:
    """Feed it the engine's front and the share of its budget spent, each generation (:meth:`update`);
    it returns True when to stop.

    After the search, ``reason_`` says why it stopped (``"noise floor"``, ``"stalled"`` or None
    when it did not), ``generation_`` at which generation and ``spent_`` at what share of the budget.
    """

    def __init__(self, *, floor: float, patience: float, tolerance: float = 0.01):
        self.floor = floor
        self.patience = patience
        self.tolerance = tolerance
        self.generation_ = 0
        self.spent_ = 0.0
        self.reason_: str | None = None
        self._best: dict[int, float] = {}  # length -> lowest error seen at that length (clipped at the floor)
        self._simplest_at_floor: int | None = None
        self._last_change = 0.0

    def _best_up_to(self, length: int) -> float:
        return min((e for n, e in self._best.items() if n <= length), default=math.inf)

    def update(self, front: Iterable[tuple[int, float]], spent: float) -> bool:
        """``front``: ``(length, mean squared error)`` of each candidate; ``spent``: the share of the budget
        used so far (0 to 1)."""
        self.generation_ += 1
        self.spent_ = spent
        improved = False
        for length, mse in front:
            if not math.isfinite(mse):
                continue
            error = max(float(mse), self.floor)
            if error < (1 - self.tolerance) * self._best_up_to(length):
                improved = True
            self._best[length] = min(error, self._best.get(length, math.inf))
        at_floor = [n for n, e in self._best.items() if e <= self.floor]
        simplest = min(at_floor) if at_floor else None
        if simplest is not None:
            # at the floor only a simpler candidate at the floor changes what is selected
            improved = simplest != self._simplest_at_floor
            self._simplest_at_floor = simplest
        if improved:
            self._last_change = spent
        if self.patience > 0 and (simplest == 1 or spent - self._last_change >= self.patience):
            self.reason_ = "noise floor" if simplest is not None else "stalled"
            return True
        return False
