import sympy as sp

from symreg.units import dimension_of, parse_unit

b, kappa, t = sp.symbols("b kappa t_pred", real=True)
DIMS = {"b": parse_unit("1/s"), "kappa": parse_unit("1/s^2"), "t_pred": parse_unit("s")}


def test_units_are_read_by_pint():
    assert parse_unit("1") == () == parse_unit("rad") == parse_unit("")
    assert parse_unit("1/s^2") == parse_unit("s^-2")
    assert dict(parse_unit("kg*m^2/s^2"))["[length]"] == 2


def test_homogeneous_and_inhomogeneous_laws():
    law = sp.exp(-b * t / 2) * sp.cos(sp.sqrt(kappa - b**2 / 4) * t)
    assert dimension_of(law, DIMS) == ()
    assert dimension_of(sp.sqrt(kappa - sp.Float(0.24) * b**2), DIMS) == parse_unit("1/s")
    assert dimension_of(sp.sqrt(11 * kappa - 3 * b), DIMS) is None  # kappa and b added
    assert dimension_of(sp.sin(kappa) + 1, DIMS) is None  # a dimensional argument
    assert dimension_of(sp.sqrt(kappa) + sp.Float(0.01), DIMS) is None  # an offset without units
    assert dimension_of(sp.Float(0.06) * b + sp.sqrt(kappa), DIMS) == parse_unit("1/s")


def test_buckingham_groups_and_prefactor():
    from symreg.units import dimensionless_groups, prefactor

    m, v, c = parse_unit("kg"), parse_unit("m/s"), parse_unit("m/s")
    groups = dimensionless_groups([m, v, c])
    assert groups == [[0, -1, 1]]  # c/v: the one ratio of like quantities
    # E = m c^2 / sqrt(1 - v^2/c^2): the prefactor has the energy's dimension
    p = prefactor([m, v, c], parse_unit("kg*m^2/s^2"))
    assert p is not None and p[0] == 1 and sum(p[1:]) == 2
    # Coulomb: q1 q2 / (4 pi eps r^2) with the Feynman table's V for charge-like units
    q, eps, r = parse_unit("C"), parse_unit("F/m"), parse_unit("m")
    groups = dimensionless_groups([q, q, eps, r])
    assert groups[0] == [-1, 1, 0, 0]  # q2/q1


def test_groups_of_a_single_representative_and_of_dimensionless_inputs():
    from symreg.units import dimensionless_groups, prefactor

    assert dimensionless_groups([parse_unit("m")]) == []
    assert dimensionless_groups([parse_unit("1"), parse_unit("1")]) == [[-1, 1], [1, 0]]
    # n_0 exp(-m g x / (k T)): the Boltzmann group is in the span of the groups found
    names = ["n_0", "m", "g", "x", "kb", "T"]
    dims = [parse_unit(u) for u in ("1/m^3", "kg", "m/s^2", "m", "kg*m^2/s^2/K", "K")]
    groups = dimensionless_groups(dims)
    assert len(groups) == len(names) - 4  # six quantities, four base dimensions
    assert prefactor(dims, parse_unit("1/m^3")) == [1, 0, 0, 0, 0, 0]


def test_of_equally_simple_prefactors_the_steadiest_is_taken():
    import numpy as np

    from symreg.search import dimensionless_problem
    from symreg.units import prefactors

    dims = [parse_unit(u) for u in ("kg", "m/s", "m/s")]
    assert prefactors(dims, parse_unit("J")) == [[1, 2, 0], [1, 0, 2]]  # m v^2 and m c^2
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(1, 5, 500), rng.uniform(1, 2, 500), rng.uniform(3, 10, 500)])
    y = X[:, 0] * X[:, 2] ** 2 / np.sqrt(1 - X[:, 1] ** 2 / X[:, 2] ** 2)
    _, y_scaled, _, _ = dimensionless_problem(X, y, ["m", "v", "c"], dims, parse_unit("J"))
    assert np.allclose(y_scaled, y / (X[:, 0] * X[:, 2] ** 2))  # m c^2: what is left is 1/sqrt(1 - v^2/c^2)
