"""Standard errors of fitted constants, against the textbook formula and against repeated experiments."""

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from systems.laws.geometry import fit_constants

x, k, a, b = sp.symbols("x k a b", real=True)


def test_the_standard_errors_of_a_straight_line_are_the_textbook_ones():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.uniform(0, 3, 200)})
    y = 1.5 * frame["x"].to_numpy() - 0.7 + rng.normal(0, 0.2, 200)
    fitted, _, se = fit_constants(a * x + b, ["x"], frame, y, [a, b], {a: 1.0, b: 0.0}, kind="real", affine=False)
    slope, intercept = np.polyfit(frame["x"], y, 1)
    s2 = np.sum((y - slope * frame["x"] - intercept) ** 2) / (200 - 2)
    sxx = np.sum((frame["x"] - frame["x"].mean()) ** 2)
    assert fitted["a"] == pytest.approx(slope, rel=1e-6)
    assert se["a"] == pytest.approx(np.sqrt(s2 / sxx), rel=1e-3)
    assert se["b"] == pytest.approx(np.sqrt(s2 * (1 / 200 + frame["x"].mean() ** 2 / sxx)), rel=1e-3)


@pytest.mark.parametrize("kind", ["real", "circle"])
def test_the_standard_error_is_the_spread_of_the_constant_over_repeated_experiments(kind):
    """a law inside an unknown scale and offset (real) or sign and offset (circle), noise of known size"""
    rng = np.random.default_rng(1)
    estimates, errors = [], []
    for _ in range(150):
        frame = pd.DataFrame({"x": rng.uniform(0, 2, 150)})
        truth = np.exp(0.6 * frame["x"].to_numpy())  # not odd in k: no sign can stand in for the constant
        target = (2.0 * truth + 0.5 if kind == "real" else truth + 0.3) + rng.normal(0, 0.05, 150)
        fitted, _, se = fit_constants(sp.exp(k * x), ["x"], frame, target, [k], {k: 1.0}, kind=kind)
        estimates.append(fitted["k"])
        errors.append(se["k"])
    assert np.mean(estimates) == pytest.approx(0.6, abs=0.01)
    assert np.mean(errors) == pytest.approx(np.std(estimates), rel=0.2)


@pytest.mark.parametrize("kind", ["real", "circle"])
def test_the_derivatives_fit_as_finite_differences_do(kind, monkeypatch):
    """a model without profiled scale or offset is fitted with SymPy's Jacobian: the same constants and errors as with
    finite differences, also where the model cannot be evaluated on some rows (a root of a negative number)"""
    from systems.laws import geometry

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.uniform(-0.2, 2, 400)})
    model = sp.atan2(a * sp.sin(x), sp.sqrt(x) - b)
    truth = np.arctan2(1.3 * np.sin(frame["x"]), np.sqrt(frame["x"].clip(0)) - 0.4)
    y = truth + rng.normal(0, 0.01, 400)
    args = (model, ["x"], frame, y, [a, b], {a: 1.0, b: 0.0})
    analytic = fit_constants(*args, kind=kind, affine=False)
    assert callable(geometry._jacobian(model, ("x",), (a, b), [frame["x"].to_numpy()], lambda p: truth, kind))
    monkeypatch.setattr(geometry, "_gradient", lambda *_: None)  # NumPy cannot evaluate them: differences
    differences = fit_constants(*args, kind=kind, affine=False)
    for name in ("a", "b"):
        assert analytic[0][name] == pytest.approx(differences[0][name], rel=1e-6)
        assert analytic[2][name] == pytest.approx(differences[2][name], rel=1e-4)
    assert analytic[0]["a"] == pytest.approx(1.3, abs=0.02) and analytic[0]["b"] == pytest.approx(0.4, abs=0.02)


def test_a_constant_the_data_do_not_determine_has_no_standard_error():
    frame = pd.DataFrame({"x": np.linspace(0, 1, 50)})
    y = 2 * frame["x"].to_numpy()
    # k and the profiled scale multiply: only their product is determined
    _, _, se = fit_constants(k * x, ["x"], frame, y + 0.01 * np.sin(40 * frame["x"]), [k], {k: 1.0}, kind="real")
    assert not se["k"] < 1e3  # NaN, or an error a thousand times the constant


def _network(rng, n=4000, distortion=0.02, noise=0.002):
    """A neuron holding ``asin(sin(x)/k)`` (k = 1.5) up to a scale and offset, plus a smooth distortion of the
    network's making (a random low-order Fourier series, different for every 'seed') and independent noise."""
    frame = pd.DataFrame({"x": rng.uniform(-np.pi, np.pi, n)})
    u = frame["x"].to_numpy()
    smooth = sum(rng.normal() * np.cos(m * u + rng.uniform(0, 2 * np.pi)) / m for m in range(1, 5))
    z = 0.8 * np.arcsin(np.sin(u) / 1.5) + 0.3 + distortion * smooth + noise * rng.normal(size=n)
    return frame, z


def test_the_systematic_error_covers_what_a_smooth_distortion_does_and_stays_small_without_one():
    from systems.laws.uncertainty import systematic_errors, total_error

    law = sp.asin(sp.sin(x) / k)
    rng = np.random.default_rng(7)
    fits, stat_covers, total_covers, sys_sizes = [], 0, 0, []
    for _ in range(12):
        frame, z = _network(rng)
        fitted, _, se = fit_constants(law, ["x"], frame, z, [k], {k: 1.4}, kind="real")
        sys_ = systematic_errors(law, ["x"], frame, z, [k], {k: fitted["k"]}, se, kind="real")
        fits.append(fitted["k"])
        sys_sizes.append(sys_["k"])
        stat_covers += abs(fitted["k"] - 1.5) <= 2 * se["k"]
        total_covers += abs(fitted["k"] - 1.5) <= 2 * total_error(se["k"], sys_["k"])
    spread = np.std(fits, ddof=1)
    assert stat_covers <= 4  # the statistical error alone: the truth is mostly outside
    assert total_covers >= 10, (total_covers, spread, sys_sizes)
    assert 0.3 * spread <= np.median(sys_sizes) <= 3 * spread  # the size of the seed-to-seed spread, not inflated
    calm = []
    for _ in range(4):  # independent noise only: the systematic part is of the statistical one's size or less
        frame, z = _network(rng, distortion=0.0)
        fitted, _, se = fit_constants(law, ["x"], frame, z, [k], {k: 1.4}, kind="real")
        calm.append(systematic_errors(law, ["x"], frame, z, [k], {k: fitted["k"]}, se, kind="real")["k"] / se["k"])
    assert np.median(calm) <= 2.0, calm


def _pendulum_evidence(rows: int, gamma_net: float, *, predicted: bool = True):
    """Held-out rows and a probe of a pendulum whose network decays with ``gamma_net`` instead of 1/2."""
    from systems import pendulum
    from systems.laws import Evidence

    rng = np.random.default_rng(3)

    def frame(n):
        b, kappa, t = rng.uniform(0.5, 1, n), rng.uniform(5, 10, n), rng.uniform(0, 10, n)
        x = lambda g: np.exp(-g * b * t) * np.cos(np.sqrt(kappa - b**2 / 4) * t)  # noqa: E731
        out = pd.DataFrame({"b": b, "kappa": kappa, "t_pred": t, "x_pred": x(0.5)})
        if predicted:
            out["x_pred_pred"] = x(gamma_net)
        return out, x(gamma_net)

    latents, _ = frame(rows)
    probe, answers = frame(rows)
    probe["x_pred"] = answers
    b, kappa, t = sp.symbols("b kappa t_pred", real=True)
    selected = sp.exp(-sp.Float(gamma_net) * b * t) * sp.cos(sp.sqrt(kappa - b**2 / 4) * t)
    law = next(law for law in pendulum.SYSTEM.known_laws() if law.kind == "answer_law")
    evidence = Evidence(
        system=pendulum.SYSTEM,
        latents=latents,
        equations=pd.DataFrame([{"target": "x_pred", "variables": "law_of_motion", "selected": True, "expr": selected}]),
        fresh=latents,
        latent_names=["z0", "z1"],
        active=["z0", "z1"],
        kl={"z0": 5.0, "z1": 5.0},
        probe=probe,
    )
    return law.check(evidence)


def test_the_networks_shift_of_a_constant_is_part_of_its_systematic_error():
    """A network whose answers decay with gamma = 0.506 while the observations decay with 1/2: the law fitted to
    both on the held-out rows differs by 0.006 in gamma, and the stated error of gamma covers the truth."""
    verdict = _pendulum_evidence(3000, 0.506)
    assert verdict.checks["network_shift"]["gamma"] == pytest.approx(0.006, rel=0.02)
    assert verdict.systematic_errors["gamma"] >= 0.0059
    total = np.hypot(verdict.standard_errors["gamma"], verdict.systematic_errors["gamma"])
    assert abs(verdict.fitted_constants["gamma"] - 0.5) <= 2 * total
    # the statistical error alone (noise-free answers) would exclude the truth by far
    assert abs(verdict.fitted_constants["gamma"] - 0.5) > 20 * verdict.standard_errors["gamma"]


def test_without_the_predicted_answers_the_shift_is_not_measured():
    verdict = _pendulum_evidence(3000, 0.506, predicted=False)
    assert verdict.checks["network_shift"] == {}
    assert "not measured" in verdict.checks["systematic_errors_from"]


def test_the_input_noise_bias_is_the_textbook_attenuation_of_a_slope():
    from systems.laws.uncertainty import input_noise_bias

    # y = a x fitted on x + noise of RMS s: least squares returns a var(x) / (var(x) + s^2)
    rng = np.random.default_rng(42)  # not the noise's own seed (0): the noise would be a multiple of x
    frame = pd.DataFrame({"x": rng.standard_normal(20000)})
    a, s = sp.Symbol("a", real=True), 0.3
    expr = a * sp.Symbol("x", real=True)
    var = float(frame["x"].var(ddof=0))
    bias = input_noise_bias(expr, ["x"], frame, [a], {"a": 2.0}, {"x": s}, kind="real")
    assert bias["a"] == pytest.approx(2.0 * (var / (var + s**2) - 1), rel=0.05)
    # no noise, no bias; a missing width counts as none
    assert input_noise_bias(expr, ["x"], frame, [a], {"a": 2.0}, {"x": 0.0}, kind="real") == {"a": 0.0}
    assert input_noise_bias(expr, ["x"], frame, [a], {"a": 2.0}, {}, kind="real") == {"a": 0.0}


def test_the_antithetic_draws_leave_the_bias_and_not_the_statistical_scatter():
    from systems.laws.uncertainty import input_noise_bias

    # Mars' direction on circular orbits: the bias of rho is a fraction of its statistical scatter at this noise;
    # with both signs of each draw, different draws agree on it to a tenth
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"E": rng.uniform(-np.pi, np.pi, 5000), "M": rng.uniform(-np.pi, np.pi, 5000)})
    rho, e, m = sp.Symbol("rho", positive=True), sp.Symbol("E", real=True), sp.Symbol("M", real=True)
    expr = sp.atan2(rho * sp.sin(m) - sp.sin(e), rho * sp.cos(m) - sp.cos(e))
    biases = [
        input_noise_bias(expr, ["E", "M"], frame, [rho], {"rho": 1.5}, {"E": 0.03, "M": 0.03}, kind="circle", seed=s, draws=1)["rho"]
        for s in range(4)
    ]
    assert min(biases) > 0  # a longer Mars vector makes the predicted direction less sensitive to the noise
    assert np.std(biases) < 0.1 * np.mean(biases)


def test_a_circular_jackknife_that_keeps_the_fitted_orientation_gives_the_same_errors_in_fewer_evaluations(monkeypatch):
    """The regional refits of a circular neuron start where the fit on every row ended: the other sign never wins
    (it runs the optimiser to its limit, cost hundreds of times higher), so keeping the sign changes nothing."""
    import systems.laws.geometry as geometry
    from systems.laws.uncertainty import systematic_errors

    rng = np.random.default_rng(3)
    phi = rng.uniform(-np.pi, np.pi, 600)
    law = sp.atan2(sp.sin(x), sp.cos(x) - k)  # a direction seen from off the centre, as Mars from the Earth
    frame = pd.DataFrame({"x": phi})
    truth = np.arctan2(np.sin(phi), np.cos(phi) - 0.6)
    z = np.angle(np.exp(1j * (-truth + 0.4 + 0.02 * np.sin(3 * phi) + 0.01 * rng.standard_normal(600))))
    fitted, m, se = fit_constants(law, ["x"], frame, z, [k], {k: 0.3}, kind="circle")
    assert m.sign == -1 and abs(fitted["k"] - 0.6) < 0.01
    calls = []
    real = geometry.least_squares

    def counted(fun, x0, **kw):
        fit = real(fun, x0, **kw)
        calls.append(fit.nfev)
        return fit

    monkeypatch.setattr(geometry, "least_squares", counted)
    both = systematic_errors(law, ["x"], frame, z, [k], {k: fitted["k"]}, se, kind="circle", angles=["x"])
    evaluations_both, calls[:] = sum(calls), []
    kept = systematic_errors(law, ["x"], frame, z, [k], {k: fitted["k"]}, se, kind="circle", angles=["x"], sign=m.sign)
    assert kept == both and np.isfinite(kept["k"])
    assert len(calls) == 10 and sum(calls) < evaluations_both / 2, (sum(calls), evaluations_both)
