"""Big-O strings such as ``"O(w d^2)"`` reduced to their growth in the position T.

A registry entry writes its per-step compute and state size as asymptotic expressions in T, the model
width d, and the symbols it declares (window w, memory slots m, ...). Every symbol but T is a
constant, so what matters is the growth in T: ``T^a (log T)^b``, kept here as the pair (a, b).

Strings are parsed with Python's own :mod:`ast` after two rewrites (``^`` to ``**`` and implicit
multiplication by juxtaposition, ``w d`` to ``w*d``); nothing is ever evaluated by Python.
"""

from __future__ import annotations

import ast
import functools
import io
import math
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

POSITION = "T"
WIDTH = "d"
FUNCTIONS = frozenset({"log", "sqrt", "min", "max"})
MAX_LENGTH = 200


class ComplexityError(ValueError):
    """A complexity string that cannot be read; the message quotes it and says what is wrong."""


@dataclass(frozen=True, order=True)
class Growth:
    """T^power * (log T)^log_power, compared by power then log power."""

    power: Fraction = Fraction(0)
    log_power: Fraction = Fraction(0)

    @property
    def growth_class(self) -> str:
        """constant, polylog, sublinear, linear or superlinear."""
        if self.power < 0 or (self.power == 0 and self.log_power <= 0):
            return "constant"
        if self.power == 0:
            return "polylog"
        if self.power < 1:
            return "sublinear"
        if self.power == 1 and self.log_power <= 0:
            return "linear"
        return "superlinear"

    @property
    def is_constant(self) -> bool:
        return self.growth_class == "constant"

    def __str__(self) -> str:
        if self.is_constant:
            return "1"
        parts = []
        if self.power:
            parts.append("T" if self.power == 1 else f"T^{self.power}")
        if self.log_power:
            parts.append("log T" if self.log_power == 1 else f"(log T)^{self.log_power}")
        return " ".join(parts)

    def __mul__(self, other: Growth) -> Growth:
        return Growth(self.power + other.power, self.log_power + other.log_power)

    def __truediv__(self, other: Growth) -> Growth:
        return Growth(self.power - other.power, self.log_power - other.log_power)

    def scaled(self, factor: Fraction) -> Growth:
        return Growth(self.power * factor, self.log_power * factor)


CONSTANT = Growth()
LINEAR = Growth(Fraction(1))


@dataclass(frozen=True)
class Complexity:
    """A parsed big-O string."""

    source: str
    growth: Growth
    symbols: frozenset[str]
    _tree: ast.expr

    def evaluate(self, values: Mapping[str, float]) -> float:
        """The expression's value with numbers for its symbols (logs base 2, constants kept)."""
        return _evaluate(self._tree, values, self.source)

    def __str__(self) -> str:
        return self.source


def _insert_implicit_products(text: str) -> str:
    """Rewrite ``w d^2`` as ``w*d**2`` and ``log(T) d`` as ``log(T)*d``."""
    operand_end = {tokenize.NAME, tokenize.NUMBER}
    out: list[str] = []
    previous: tokenize.TokenInfo | None = None
    tokens = tokenize.generate_tokens(io.StringIO(text.replace("^", "**")).readline)
    for token in tokens:
        if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
            continue
        if previous is not None:
            ends_operand = previous.type in operand_end or previous.string == ")"
            starts_operand = token.type in operand_end or token.string == "("
            is_call = previous.type == tokenize.NAME and token.string == "("
            if ends_operand and starts_operand and not is_call:
                out.append("*")
        out.append(token.string)
        previous = token
    return " ".join(out)


def parse(text: str, declared: Iterable[str] = ()) -> Complexity:
    """Parse ``"O(...)"``; every symbol must be T, d or one of ``declared``.

    Results are cached: a registry repeats the same few strings many times, and a Complexity is immutable.
    """
    if not isinstance(text, str):
        raise ComplexityError(f"expected a string like 'O(T d)', got {text!r}")
    return _parse_cached(text, frozenset(declared))


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str, declared: frozenset[str]) -> Complexity:
    if not isinstance(text, str):
        raise ComplexityError(f"expected a string like 'O(T d)', got {text!r}")
    source = text.strip()
    if len(source) > MAX_LENGTH:
        raise ComplexityError(f"{source[:40]!r}... is longer than {MAX_LENGTH} characters")
    if not (source.startswith("O(") and source.endswith(")")):
        raise ComplexityError(f"{source!r} must have the form O(expression), e.g. 'O(T d)'")
    try:
        rewritten = _insert_implicit_products(source)
        tree = ast.parse(rewritten, mode="eval").body
    except (SyntaxError, tokenize.TokenError, IndentationError) as error:
        raise ComplexityError(
            f"{source!r} is not a valid expression ({error.msg if hasattr(error, 'msg') else error})"
        ) from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "O"):
        raise ComplexityError(f"{source!r} must be a single O(...) with nothing outside it")
    if len(tree.args) != 1 or tree.keywords:
        raise ComplexityError(f"{source!r}: O(...) takes exactly one expression")
    body = tree.args[0]
    allowed = {POSITION, WIDTH, *declared}
    symbols: set[str] = set()
    growth = _growth(body, allowed, symbols, source)
    return Complexity(source=source, growth=growth, symbols=frozenset(symbols), _tree=body)


def parse_formula(text: str, declared: Iterable[str] = ()) -> Complexity:
    """Parse an exact count such as ``"2*T*d"`` (no O(...)), as used by ``state_scalars``."""
    if not isinstance(text, str) or not text.strip():
        raise ComplexityError(f"expected a formula like '2*T*d', got {text!r}")
    if text.strip().startswith("O("):
        raise ComplexityError(f"{text!r} is an exact count: write it without O(...), e.g. '2*T*d'")
    return parse(f"O({text.strip()})", declared)


def _number(node: ast.expr) -> Fraction | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Fraction(node.value).limit_denominator(1000)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _number(node.left), _number(node.right)
        if left is not None and right:
            return left / right
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    return None


def _growth(node: ast.expr, allowed: set[str], symbols: set[str], source: str) -> Growth:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and node.value > 0:
            return CONSTANT
        raise ComplexityError(f"{source!r}: {node.value!r} is not a positive number")
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS or node.id == "O":
            raise ComplexityError(f"{source!r}: {node.id} is a function; write {node.id}(...)")
        if node.id not in allowed:
            raise ComplexityError(
                f"{source!r}: undeclared symbol {node.id!r}; use T and d, or declare {node.id!r} under hyperparameters"
            )
        symbols.add(node.id)
        return LINEAR if node.id == POSITION else CONSTANT
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow):
            base = _growth(node.left, allowed, symbols, source)
            exponent = _number(node.right)
            if exponent is None:
                _growth(node.right, allowed, symbols, source)  # report bad symbols first
                if base.is_constant:
                    return CONSTANT
                raise ComplexityError(f"{source!r}: an exponent on a term that grows with T must be a number")
            return base.scaled(exponent)
        left = _growth(node.left, allowed, symbols, source)
        right = _growth(node.right, allowed, symbols, source)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            return max(left, right)
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return left / right
        raise ComplexityError(f"{source!r}: operator {type(node.op).__name__} is not allowed (use + - * / ^)")
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            raise ComplexityError(f"{source!r}: unknown function {ast.unparse(node.func)!r}; use log, sqrt, min or max")
        if node.keywords:
            raise ComplexityError(f"{source!r}: {name}() takes no keyword arguments")
        arguments = [_growth(arg, allowed, symbols, source) for arg in node.args]
        if name in ("log", "sqrt") and len(arguments) != 1:
            raise ComplexityError(f"{source!r}: {name}() takes one argument")
        if name in ("min", "max") and len(arguments) < 2:
            raise ComplexityError(f"{source!r}: {name}() takes at least two arguments")
        if name == "sqrt":
            return arguments[0].scaled(Fraction(1, 2))
        if name == "min":
            return min(arguments)
        if name == "max":
            return max(arguments)
        inner = arguments[0]
        if inner.is_constant:
            return CONSTANT
        if inner.power > 0:
            return Growth(Fraction(0), Fraction(1))
        raise ComplexityError(f"{source!r}: log of a logarithm is not supported; round it up to log(T)")
    if isinstance(node, ast.UnaryOp):
        raise ComplexityError(f"{source!r}: a sign in front of a term makes no sense in O(...)")
    raise ComplexityError(f"{source!r}: {ast.unparse(node)!r} is not allowed here")


def _evaluate(node: ast.expr, values: Mapping[str, float], source: str) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise ComplexityError(f"{source!r}: no value for {node.id!r}; give one (e.g. --set {node.id}=...)")
        return float(values[node.id])
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, values, source)
        right = _evaluate(node.right, values, source)
        operations = {
            ast.Add: lambda: left + right,
            ast.Sub: lambda: left - right,
            ast.Mult: lambda: left * right,
            ast.Div: lambda: left / right,
            ast.Pow: lambda: left**right,
        }
        return float(operations[type(node.op)]())
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, values, source)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        arguments = [_evaluate(arg, values, source) for arg in node.args]
        if node.func.id == "log":
            return math.log2(max(arguments[0], 2.0))
        if node.func.id == "sqrt":
            return math.sqrt(arguments[0])
        if node.func.id == "min":
            return min(arguments)
        if node.func.id == "max":
            return max(arguments)
    raise ComplexityError(f"{source!r}: cannot evaluate {ast.unparse(node)!r}")
