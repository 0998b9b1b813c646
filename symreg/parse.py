"""Whitelist parser from expression strings to SymPy, safe for files from anyone.

``sympify``/``parse_expr``/``eval`` run code.  This parser reads the string with
:func:`ast.parse` (which only builds a tree), accepts numbers, the given variable
names, ``pi`` and ``E``, the four operations, powers, unary signs and calls of
whitelisted functions, and builds the SymPy expression node by node.  Anything
else is rejected with the offending piece named.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable

import sympy as sp

from symreg.errors import ExpressionError

FUNCTIONS: dict[str, object] = {
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "arcsin": sp.asin,
    "arccos": sp.acos,
    "arctan": sp.atan,
    "atan2": sp.atan2,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "exp": sp.exp,
    "log": sp.log,
    "ln": sp.log,
    "sqrt": sp.sqrt,
    "cbrt": sp.cbrt,
    "Abs": sp.Abs,
    "abs": sp.Abs,
    "square": lambda x: x**2,
    "cube": lambda x: x**3,
}
CONSTANTS = {"pi": sp.pi, "E": sp.E}
MAX_LENGTH = 20_000
MAX_EXPONENT = 64
"""largest exponent of one power"""
MAX_NESTED_EXPONENT = 4096
"""largest product of the exponents of powers nested in each other: ``(x**64)**64``"""
MAX_NODES = 5_000
MAX_DEPTH = 100
MAX_MAGNITUDE = 1e100
"""largest absolute value of a constant subexpression (``10**64**...`` would make SymPy compute for ever)"""


def parse_expression(text: str, variables: Iterable[str], *, caret_is_power: bool = False) -> sp.Expr:
    """Parse ``text`` into a SymPy expression over real symbols named ``variables``.

    ``caret_is_power``: read ``^`` as a power (engine output such as Operon's and
    Julia's), with the precedence of ``**``.
    """
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        raise ExpressionError(f"Expected an expression string of at most {MAX_LENGTH} characters. Received: {str(text)[:60]!r}")
    symbols = {name: sp.Symbol(name, real=True) for name in variables}
    try:
        tree = ast.parse(text.strip().replace("^", "**") if caret_is_power else text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"Cannot parse expression {text[:80]!r}: {exc.msg}.") from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, huge literals, deep nesting
        raise ExpressionError(f"Cannot parse expression {text[:80]!r}: {type(exc).__name__}: {exc}.") from exc
    _check_bounds(tree.body, caret_is_power, text)
    try:
        expr = _build(tree.body, symbols, caret_is_power, text)
    except ExpressionError:
        raise
    except (RecursionError, MemoryError, OverflowError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ExpressionError(f"Cannot build expression {text[:80]!r}: {type(exc).__name__}: {exc}.") from exc
    if expr.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity):  # x/0, 0/0, log(0): no value anywhere
        raise ExpressionError(f"Expression {text[:80]!r} is undefined (a division by zero, or an infinite or undefined constant).")
    return expr


def _check_bounds(root: ast.AST, caret: bool, text: str) -> None:
    """Refuse, before SymPy builds anything, a tree too large or too deep, a constant subexpression
    too large in magnitude, and powers whose nested exponents multiply beyond a bound.  Size and depth are
    checked first, without recursion, so that nothing after them recurses deeper than ``MAX_DEPTH``."""
    count, stack_ = 0, [(root, 1)]
    while stack_:
        node, depth = stack_.pop()
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            raise ExpressionError(
                f"Expression {text[:80]!r} is too large (limits: {MAX_NODES} nodes, nesting depth {MAX_DEPTH})."
            )
        stack_.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    count = 0
    # (node, depth, product of the exponents of the powers around it)
    stack: list[tuple[ast.AST, int, float]] = [(root, 1, 1.0)]
    while stack:
        node, depth, exponent = stack.pop()
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            raise ExpressionError(
                f"Expression {text[:80]!r} is too large (limits: {MAX_NODES} nodes, nesting depth {MAX_DEPTH})."
            )
        if isinstance(node, ast.BinOp) and (isinstance(node.op, ast.Pow) or (caret and isinstance(node.op, ast.BitXor))):
            power = _constant_value(node.right, caret, text)
            if power is not None:
                exponent *= abs(power)
                if exponent > MAX_NESTED_EXPONENT:
                    raise ExpressionError(
                        f"Nested powers in {text[:80]!r} raise to a total exponent above {MAX_NESTED_EXPONENT}."
                    )
            stack.append((node.left, depth + 1, exponent))
            stack.append((node.right, depth + 1, 1.0))
            continue
        if isinstance(node, ast.BinOp | ast.Constant):
            _constant_value(node, caret, text)
        stack.extend((child, depth + 1, exponent) for child in ast.iter_child_nodes(node))


def _constant_value(node: ast.AST, caret: bool, text: str) -> float | None:
    """The value of a subtree made of numbers, ``pi`` and ``E`` only (None for anything else), in
    floating point; an error where its magnitude exceeds ``MAX_MAGNITUDE`` or overflows."""

    def value(n: ast.AST) -> float | None:
        if isinstance(n, ast.Constant) and isinstance(n.value, int | float) and not isinstance(n.value, bool):
            try:
                return float(n.value)
            except OverflowError:
                return math.inf
        if isinstance(n, ast.Name) and n.id in CONSTANTS:
            return float(CONSTANTS[n.id])
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub | ast.UAdd):
            v = value(n.operand)
            return None if v is None else (-v if isinstance(n.op, ast.USub) else v)
        if isinstance(n, ast.BinOp):
            a, b = value(n.left), value(n.right)
            if a is None or b is None:
                return None
            try:
                if isinstance(n.op, ast.Add):
                    return a + b
                if isinstance(n.op, ast.Sub):
                    return a - b
                if isinstance(n.op, ast.Mult):
                    return a * b
                if isinstance(n.op, ast.Div):
                    return a / b if b else math.nan
                if isinstance(n.op, ast.Pow) or (caret and isinstance(n.op, ast.BitXor)):
                    return abs(a) ** b if a else 0.0
            except (OverflowError, ZeroDivisionError):
                return math.inf
            return None
        return None

    v = value(node)
    if v is not None and not abs(v) <= MAX_MAGNITUDE and not math.isnan(v):
        raise ExpressionError(
            f"A constant in {text[:80]!r} is larger in magnitude than {MAX_MAGNITUDE:g} (or overflows); "
            "such an expression is refused."
        )
    return v


def _build(node: ast.AST, symbols: dict[str, sp.Symbol], caret: bool, text: str) -> sp.Expr:
    def rec(n: ast.AST) -> sp.Expr:
        return _build(n, symbols, caret, text)

    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
    if isinstance(node, ast.Name):
        if node.id in symbols:
            return symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ExpressionError(f"Unknown name {node.id!r} in expression {text[:80]!r}. Allowed variables: {sorted(symbols)}.")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = rec(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = rec(node.left), rec(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.Pow) or (caret and isinstance(op, ast.BitXor)):
            if right.is_number and abs(float(right)) > MAX_EXPONENT:
                raise ExpressionError(f"Exponent {right} too large in expression {text[:80]!r} (limit {MAX_EXPONENT}).")
            return left**right
        raise ExpressionError(f"Operator {type(op).__name__} is not allowed in expression {text[:80]!r}.")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        func = FUNCTIONS.get(node.func.id)
        if func is None:
            raise ExpressionError(
                f"Function {node.func.id!r} is not allowed in expression {text[:80]!r}. Allowed: {sorted(FUNCTIONS)}."
            )
        return func(*[rec(a) for a in node.args])  # type: ignore[operator]
    raise ExpressionError(f"{type(node).__name__} is not allowed in expression {text[:80]!r}.")
