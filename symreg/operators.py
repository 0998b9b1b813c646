"""Operator names shared by the engines, and the named operator sets."""

from __future__ import annotations

from collections.abc import Iterable

OPERATOR_SETS = {
    "arithmetic": "add,sub,mul,div",
    "physics": "add,sub,mul,div,square,sqrt,exp,log,sin,cos,asin,tanh",
}
"""``physics``: arithmetic, powers and roots, exp and log, trigonometric, inverse
trigonometric and hyperbolic functions."""


def expand_operators(operators: str, *, allowed: Iterable[str]) -> list[str]:
    """Operator names from a comma-separated list in which a name may also be an operator set."""
    allowed = set(allowed)
    names: list[str] = []
    for item in (o.strip() for o in operators.split(",")):
        for name in OPERATOR_SETS.get(item, item).split(",") if item else []:
            if name not in names:
                names.append(name)
    unknown = [o for o in names if o not in allowed]
    if unknown:
        raise ValueError(f"Unknown operators {unknown}. Allowed: {sorted(allowed)}, or an operator set: {sorted(OPERATOR_SETS)}.")
    return names
