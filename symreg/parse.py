"""Whitelist parser from expression strings to SymPy, safe for files from anyone.

``sympify``/``parse_expr``/``eval`` run code.  This parser reads the string with
:func:`ast.parse` (which only builds a tree), accepts numbers, the given variable
names, ``pi`` and ``E``, the four operations, powers, unary signs and calls of
whitelisted functions, and builds the SymPy expression node by node.  Anything
else is rejected with the offending piece named.
"""

from __future__ import annotations

import ast
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
    return _build(tree.body, symbols, caret_is_power, text)


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
