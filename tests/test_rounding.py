"""Numbers printed to the digits their standard error supports."""

import math

import pytest
import sympy as sp

from systems.laws.uncertainty import decimals, latex_with_error, round_expression, rounded, with_error


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (1.52714, 0.00432, "1.527 ± 0.004"),
        (1.52714, 0.00152, "1.5271 ± 0.0015"),  # a leading 1 or 2 keeps two digits
        (1234.5, 37.0, "1230 ± 40"),
        (0.65488812, 0.00002, "0.654888 ± 0.000020"),
        (2.0, math.nan, "2"),
        (1.52714, None, "1.527"),
        (1.52714, 0.0, "1.527"),
    ],
)
def test_a_value_is_written_to_the_place_of_its_error(value, error, text):
    assert with_error(value, error) == text


@pytest.mark.parametrize(
    ("value", "error", "systematic", "text"),
    [
        (1.52714, 0.00013, 0.0005, "1.5271 ± 0.00013 (stat) ± 0.0005 (sys)"),
        (0.016672, 0.000043, 0.0000012, "0.01667 ± 0.00004 (stat) ± 0.0000012 (sys)"),  # not ± 0.00000 (sys)
        (0.016672, 0.000043, 0.0, "0.01667 ± 0.00004 (stat) ± 0 (sys)"),
    ],
)
def test_each_part_of_an_error_keeps_its_own_leading_digit(value, error, systematic, text):
    assert with_error(value, error, systematic) == text


def test_rounding_helpers_agree():
    assert decimals(0.004) == 3 and decimals(0.0015) == 4 and decimals(37.0) == -1 and decimals(float("nan")) is None
    assert rounded(3.14159, 0.01) == "3.142" and rounded(3.14159, 0.05) == "3.14"
    assert latex_with_error(1.52714, 0.00432) == r"1.527 \pm 0.004"
    x = sp.Symbol("x")
    expr = sp.asin(sp.Float(0.654888123) * sp.sin(x)) + sp.Float(1.23456789) + 2 * x
    out = round_expression(expr, {0.654888123: 0.0004})
    assert str(out) == "2*x + asin(0.6549*sin(x)) + 1.235"  # the second without an error: 4 significant digits
