"""Property-based tests of the whitelist parser: it never runs code, never hangs, and fails only with ExpressionError."""

import time

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symreg.errors import ExpressionError
from symreg.parse import parse_expression

NAMES = ["x", "y"]
atoms = st.one_of(
    st.sampled_from(["x", "y", "pi", "E", "z", "__import__", "os", "open"]),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e400", "1e-400", "9" * 400, "0", "64", "-64", "0.5"]),
)


def _combine(children):
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "^", "%", "//", "@", "<<"]), children).map(
        lambda t: f"({t[0]}){t[1]}({t[2]})"
    )
    call = st.tuples(
        st.sampled_from(["sin", "exp", "log", "sqrt", "asin", "atan2", "eval", "exec", "getattr", "lambda"]),
        st.lists(children, min_size=0, max_size=3),
    ).map(lambda t: f"{t[0]}({', '.join(t[1])})")
    other = st.one_of(
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"{c}.__class__"),
        children.map(lambda c: f"[{c}]"),
        children.map(lambda c: f"{c}[0]"),
    )
    return st.one_of(binary, call, other)


expressions = st.recursive(atoms, _combine, max_leaves=40)


def _parse_or_refuse(text: str) -> None:
    start = time.perf_counter()
    try:
        out = parse_expression(text, NAMES, caret_is_power=True)
    except ExpressionError:
        pass
    else:
        assert isinstance(out, sp.Expr)
        assert out.free_symbols <= {sp.Symbol(n, real=True) for n in NAMES}
    assert time.perf_counter() - start < 5, text[:80]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_expression_like_text_is_parsed_or_refused_with_expression_error(text):
    _parse_or_refuse(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused_with_expression_error(text):
    _parse_or_refuse(text)


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 12), st.sampled_from(["10", "x", "(x+1)", "2.5"]), st.integers(2, 99))
def test_nested_powers_are_refused_quickly_not_computed(levels, base, exponent):
    text = "(" * levels + base + "".join(f"**{exponent})" for _ in range(levels))
    _parse_or_refuse(text)


def test_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    payloads = [
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w').write('x')",
        f"(lambda: __import__('pathlib').Path('{marker}').touch())()",
        "x.__class__.__base__.__subclasses__()",
        f"exec(\"open('{marker}','w')\")",
    ]
    for text in payloads:
        _parse_or_refuse(text)
    assert not marker.exists()


def test_an_expression_that_cannot_be_evaluated_is_undefined_not_an_error():
    import numpy as np

    from symreg.base import evaluate

    x = sp.Symbol("x", real=True)
    X = np.ones((3, 1))
    assert np.isnan(evaluate(sp.Integer(10) ** (10**5) * x, [x], X)).all()  # too many digits to print
    assert np.isnan(evaluate(sp.Function("unknown_function")(x), [x], X)).all()
    assert np.allclose(evaluate(sp.sin(x), [x], X), np.sin(1.0))
