"""symreg.judge: two expressions are the same law when they agree as functions on the variables' ranges."""

import pytest
import sympy as sp

from symreg.judge import agree_on_ranges, same_law

b, x, y, v, c = sp.symbols("b x y v c", real=True)


@pytest.mark.parametrize(
    ("a", "other", "symbols", "ranges", "equal"),
    [
        # SymPy does not know 1 - b > 0: equal on |b| < 1
        (sp.log(1 + b) / 2 - sp.log(1 - b) / 2, sp.log((1 + b) / (1 - b)) / 2, [b], [(-0.9, 0.9)], True),
        (sp.log(1 + b) / 2 - sp.log(1 - b) / 2, sp.atanh(b), [b], [(-0.9, 0.9)], True),
        (sp.sqrt(x**2), x, [x], [(1, 2)], True),
        (sp.sqrt(x**2), x, [x], [(-1, 1)], False),  # |x| is not x where x < 0
        (sp.asin(sp.sin(x)), x, [x], [(-1, 1)], True),
        (sp.asin(sp.sin(x)), x, [x], [(2, 3)], False),  # another branch
        (sp.atan(y / x), sp.atan2(y, x), [x, y], [(1, 2), (-1, 1)], True),
        (sp.atan(y / x), sp.atan2(y, x), [x, y], [(-2, -1), (-1, 1)], False),
        (x * (sp.Rational(1, 2) + 1 / (sp.exp(x) - 1)), x / (2 * sp.tanh(x / 2)), [x], [(0.1, 3)], True),
        (1 / sp.sqrt(1 - v**2 / c**2), c / sp.sqrt(c**2 - v**2), [v, c], [(1, 2), (3, 10)], True),
        # a number taken as it is written: 0.5 is 1/2, 0.333333333333333 is not 1/3
        (sp.Float(0.5) * x, x / 2, [x], [(1, 2)], True),
        (sp.Float("0.333333333333333", 15) * x, x / 3, [x], [(1, 2)], False),
        (x + sp.Float(1e-12), x, [x], [(1, 2)], False),
        (sp.sin(x) ** 2 + sp.cos(x) ** 2, sp.Integer(1), [x], [(-3, 3)], True),
        (sp.exp(x), 1 + x + x**2 / 2 + x**3 / 6, [x], [(-0.01, 0.01)], False),  # close is not equal
        (sp.sqrt(x) * sp.sqrt(y), sp.sqrt(x * y), [x, y], [(-2, 2), (-2, 2)], False),  # not where x, y < 0
        (sp.sqrt(x) * sp.sqrt(y), sp.sqrt(x * y), [x, y], [(1, 2), (1, 2)], True),
        (sp.Float(0.1) * (sp.log(1 + b) - sp.log(1 - b)), sp.log((1 + b) / (1 - b)) / 10, [b], [(-0.9, 0.9)], True),
        (sp.Float(0.3333333333333333) * x, x / 3, [x], [(1, 2)], False),  # the float nearest 1/3 is not 1/3
        (sp.Float(1e-70) * x, sp.Float(2e-70) * x, [x], [(1, 5)], False),  # tiny values compared relatively
    ],
)
def test_same_law_on_ranges(a, other, symbols, ranges, equal):
    assert same_law(a, other, symbols, ranges) is equal
    assert same_law(other, a, symbols, ranges) is equal


def test_the_numerical_comparison_decides_where_sympy_cannot():
    # both sides are undefined (complex) outside |b| < 1 for the logs of negatives: only points inside count
    assert agree_on_ranges(sp.log(1 + b) - sp.log(1 - b), sp.log((1 + b) / (1 - b)), [b], [(-0.9, 0.9)])
    # nowhere defined on the range: no verdict of equality
    assert not agree_on_ranges(sp.sqrt(-1 - x**2), sp.Integer(1), [x], [(1, 2)])
    assert not agree_on_ranges(sp.zoo * x, sp.Integer(1), [x], [(1, 2)])


def test_a_selected_law_undefined_where_the_true_law_is_defined_is_not_the_law():
    # sqrt(x) - sqrt(|x|) is 0 for x > 0 and complex for x < 0: it is not x - x there
    assert not same_law(x + sp.sqrt(x) - sp.sqrt(sp.Abs(x)), x, [x], [(-1, 1)])
    # where the true law itself is undefined, the points are drawn again
    assert same_law(sp.log(x) * 2, sp.log(x**2), [x], [(0.5, 2)])
