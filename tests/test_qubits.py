"""Qubit tomography: Haar-random states, measured probabilities, and the Pauli expectation values, each
against an independent computation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipeline.catalog import DISCOVERED, NOT_CHECKED, NOT_DISCOVERED
from pipeline.registry import available_systems
from stages.verify import check_laws
from systems import qubits
from systems.laws import Evidence
from systems.qubits import haar_states, pauli_expectations, pauli_names, probabilities, references, simulate, subspace_states


@pytest.mark.parametrize("dim", [2, 4])
def test_haar_states_are_distributed_as_a_column_of_a_haar_unitary(dim):
    ours = np.abs(haar_states(4000, dim, np.random.default_rng(0))[:, 0]) ** 2
    scipy_states = stats.unitary_group.rvs(dim, size=4000, random_state=1)[:, :, 0]
    theirs = np.abs(scipy_states[:, 0]) ** 2
    assert stats.ks_2samp(ours, theirs).pvalue > 0.01
    assert np.mean(ours) == pytest.approx(1 / dim, abs=0.01)  # |<0|psi>|^2 ~ Beta(1, dim - 1)


@pytest.mark.parametrize("n_qubits", [1, 2])
def test_probabilities_are_the_overlap_of_the_density_matrices(n_qubits):
    rng = np.random.default_rng(2)
    dim = 2**n_qubits
    psi, omega = haar_states(50, dim, rng), haar_states(50, dim, rng)
    e_psi, e_omega = pauli_expectations(psi, n_qubits), pauli_expectations(omega, n_qubits)
    # |<omega|psi>|^2 = tr(rho_omega rho_psi) = (1 + sum_P <P>_omega <P>_psi) / d
    overlap = (1 + sum(e_psi[p] * e_omega[p] for p in pauli_names(n_qubits))) / dim
    np.testing.assert_allclose(np.diag(probabilities(omega, psi)), overlap, atol=1e-12)
    # a pure state: sum_P <P>^2 = d - 1 (for one qubit, a unit Bloch vector)
    np.testing.assert_allclose(sum(v**2 for v in e_psi.values()), dim - 1, atol=1e-12)


def test_simulated_columns_agree_with_the_bloch_vector():
    c = simulate(n_samples=200, rng=np.random.default_rng(3), n_qubits=1, m=10)
    phi, _ = references(1, 10, None)
    r_phi = np.stack([pauli_expectations(phi, 1)[p] for p in "XYZ"], axis=1)
    r_psi = np.stack([c["x"], c["y"], c["z"]], axis=1)
    np.testing.assert_allclose(c["p_phi"], (1 + r_psi @ r_phi.T) / 2, atol=1e-12)
    np.testing.assert_allclose(np.cos(c["theta"]), c["z"], atol=1e-12)
    np.testing.assert_allclose(np.sin(c["theta"]) * np.cos(c["phi"]), c["x"], atol=1e-9)
    assert c["p_phi"].shape == (200, 10) and c["p"].shape == (200,)
    assert np.all((c["p"] >= 0) & (c["p"] <= 1))


def test_reference_states_are_fixed_per_system_and_incomplete_ones_span_a_real_subspace():
    a, b = references(2, 30, None), references(2, 30, None)
    np.testing.assert_array_equal(a[0], b[0])
    states = subspace_states(30, 4, 2, np.random.default_rng(4))
    real = np.concatenate([states.real, states.imag], axis=1)
    assert np.linalg.matrix_rank(real, tol=1e-9) == 2  # real combinations of two vectors
    with pytest.raises(ValueError, match="real subspace"):
        subspace_states(3, 2, 4, np.random.default_rng(0))


def test_every_variant_is_registered_with_its_degrees_of_freedom():
    known = available_systems()
    for name, dof, visible in (
        ("qubit1", 2, 2),
        ("qubit1_incomplete1", 2, 1),
        ("qubit1_incomplete2", 2, 2),
        ("qubit2", 6, 6),
        ("qubit2_incomplete2", 6, 3),
    ):
        assert known[name].latent.size == dof + 1
        assert known[name].degrees_of_freedom == visible
    assert {s.name for s in qubits.SYSTEMS} <= set(known)


@pytest.mark.parametrize("n_qubits", [1, 2])
@pytest.mark.parametrize("k", [1, 2, 3, 4, None])
def test_visible_degrees_of_freedom_count_the_quadratic_forms_of_the_subspace(n_qubits, k):
    dim = 2**n_qubits
    if k is not None and k > dim:
        pytest.skip("k columns of a dim x dim unitary")
    rng = np.random.default_rng(6)
    refs = haar_states(40, dim, rng) if k is None else subspace_states(40, dim, k, rng)
    # p_i = c_i^T Re(a a^+) c_i with a_j = <u_j|psi>: Re(a a^+) = Re(a) Re(a)^T + Im(a) Im(a)^T is a real symmetric
    # k x k matrix of rank r = min(k, 2), and those form a manifold of dimension k r - r (r - 1) / 2; less one (the
    # trace, |psi|^2 = 1) where the k vectors span the space.  k = dim = 4 is complete: 6 = 2 (dim - 1).
    r = None if k is None else min(k, 2)
    expected = 2 * (dim - 1) if k is None else k * r - r * (r - 1) // 2 - (k == dim)
    assert qubits.visible_degrees_of_freedom(refs) == expected


def test_visible_degrees_of_freedom_agree_with_the_rank_of_the_probabilities_over_many_states():
    """independently: near a state, the probabilities of many nearby states span an affine space of that dimension"""
    refs = subspace_states(30, 4, 2, np.random.default_rng(7))
    rng = np.random.default_rng(8)
    psi = haar_states(1, 4, rng)[0]
    near = psi + 1e-5 * (rng.normal(size=(200, 4)) + 1j * rng.normal(size=(200, 4)))
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    changes = probabilities(refs, near) - probabilities(refs, psi[None, :])
    singular = np.linalg.svd(changes, compute_uv=False)
    assert int(np.sum(singular > 1e-3 * singular[0])) == qubits.visible_degrees_of_freedom(refs) == 3


def _evidence(latent_names, rms, active=("z0", "z1")):
    system = available_systems()["qubit1"]
    rng = np.random.default_rng(5)
    c = simulate(n_samples=400, rng=rng, n_qubits=1, m=10)
    frame = pd.DataFrame({k: v for k, v in c.items() if np.ndim(v) == 1})
    frame = frame.assign(
        z0=frame["theta"] + 0.001 * rng.normal(size=len(frame)), z1=np.sin(frame["phi"]), z2=np.cos(frame["phi"])
    )
    return system, Evidence(
        system=system,
        latents=frame,
        equations=pd.DataFrame(columns=["target", "variables", "selected", "expr"]),
        fresh=frame,
        latent_names=list(latent_names),
        active=list(active),
        kl={},
        prediction_rms={"all": rms},
    )


def test_qubit_laws_on_synthetic_latents():
    system, evidence = _evidence(["z0", "z1", "z2"], 0.004, active=("z0", "z1", "z2"))
    out = {v.name: v for v in check_laws(system.known_laws(), evidence)}
    assert out["prediction_error"].verdict == DISCOVERED
    # theta and (cos phi, sin phi) determine the Bloch vector
    assert out["latents_determine_the_state"].verdict == DISCOVERED
    assert min(out["latents_determine_the_state"].fitted_constants.values()) > 0.95
    # theta and sin phi leave the sign of cos phi, and so of x, open
    system, evidence = _evidence(["z0", "z1", "z2"], 0.004, active=("z0", "z1"))
    span = {v.name: v for v in check_laws(system.known_laws(), evidence)}["latents_determine_the_state"]
    assert span.verdict == NOT_DISCOVERED and span.fitted_constants["r2_x"] < 0.95
    system, evidence = _evidence(["z0"], 0.004, active=("z0",))
    out = {v.name: v for v in check_laws(system.known_laws(), evidence)}
    assert out["prediction_error"].verdict == NOT_CHECKED  # one neuron is fewer than the state's two degrees of freedom
    system, evidence = _evidence(["z0", "z1", "z2"], 0.03)
    assert check_laws(system.known_laws(), evidence)[0].verdict == NOT_DISCOVERED


def test_a_network_without_latent_neurons_runs_end_to_end(tmp_path):
    from click.testing import CliRunner

    from pipeline.cli import main

    tiny = ["--set", "train.latent_size=0", "--set", "simulate.n_samples=400", "--set", "train.epochs=[2]"]
    tiny += ["--set", "regress.time_budget=1", "--set", "verify.n_fresh=30"]
    result = CliRunner().invoke(main, ["run", "qubit1", "--run-dir", str(tmp_path), *tiny], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "not checked  prediction_error" in result.output  # the law is for at least two neurons
    assert (tmp_path / "figures" / "latents.png").exists()
