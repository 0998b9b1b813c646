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
