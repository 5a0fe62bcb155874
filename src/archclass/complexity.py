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

from archclass.vocabulary import GrowthClass

POSITION = "T"
WIDTH = "d"
FUNCTIONS = frozenset({"log", "sqrt", "min", "max"})
MAX_LENGTH = 200
#: Largest exponent a string may use: enough for any published scaling, small enough that no
#: evaluation at realistic values overflows a float.
MAX_EXPONENT = 16
#: Largest number a string may write.
MAX_CONSTANT = 1e15


class ComplexityError(ValueError):
    """A complexity string that cannot be read; the message quotes it and says what is wrong."""


@dataclass(frozen=True, order=True)
class Growth:
    """T^power * (log T)^log_power, compared by power then log power."""

    power: Fraction = Fraction(0)
    log_power: Fraction = Fraction(0)

    @property
    def growth_class(self) -> GrowthClass:
        """constant, polylog, sublinear, linear or superlinear."""
        if self.power < 0 or (self.power == 0 and self.log_power <= 0):
            return GrowthClass.CONSTANT
        if self.power == 0:
            return GrowthClass.POLYLOG
        if self.power < 1:
            return GrowthClass.SUBLINEAR
        if self.power == 1 and self.log_power <= 0:
            return GrowthClass.LINEAR
        return GrowthClass.SUPERLINEAR

    @property
    def is_constant(self) -> bool:
        return self.growth_class is GrowthClass.CONSTANT

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
        return _evaluate(self._tree, values, self.source, self.symbols)

    def __str__(self) -> str:
        return self.source


def _insert_implicit_products(text: str) -> str:
    """Rewrite ``w d^2`` as ``w*d**2`` and ``log(T) d`` as ``log(T)*d``."""
    operand_end = {tokenize.NAME, tokenize.NUMBER}
    out: list[str] = []
    previous: tokenize.TokenInfo | None = None
    for token in _tokens(text.replace("^", "**")):
        if previous is not None:
            ends_operand = previous.type in operand_end or previous.string == ")"
            starts_operand = token.type in operand_end or token.string == "("
            is_call = previous.type == tokenize.NAME and token.string == "("
            if ends_operand and starts_operand and not is_call:
                out.append("*")
        out.append(token.string)
        previous = token
    return " ".join(out)


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    skipped = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
    return [token for token in tokenize.generate_tokens(io.StringIO(text).readline) if token.type not in skipped]


def parse(text: str, declared: Iterable[str] = ()) -> Complexity:
    """Parse ``"O(...)"``; every symbol must be T, d or one of ``declared``.

    Results are cached: a registry repeats the same few strings many times, and a Complexity is immutable.
    """
    if not isinstance(text, str):
        raise ComplexityError(f"expected a string like 'O(T d)', got {text!r}")
    return _parse_cached(text, frozenset(declared), MAX_LENGTH)


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str, declared: frozenset[str], max_length: int) -> Complexity:
    source = text.strip()
    if len(source) > max_length:
        raise ComplexityError(f"{source[:40]!r}... is longer than {max_length} characters")
    if not source.isascii() or not source.isprintable():
        raise ComplexityError(f"{source!r} may use only printable ASCII: T, d, symbols, numbers, + - * / ^ ( )")
    if not (source.startswith("O(") and source.endswith(")")):
        raise ComplexityError(f"{source!r} must have the form O(expression), e.g. 'O(T d)'")
    try:
        rewritten = _insert_implicit_products(source)
        tree = ast.parse(rewritten, mode="eval").body
    except (SyntaxError, tokenize.TokenError, ValueError, MemoryError, RecursionError) as error:
        reason = error.msg if isinstance(error, SyntaxError) else type(error).__name__
        raise ComplexityError(f"{source!r} is not a valid expression ({reason})") from None
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


def substitute(text: str, replacements: Mapping[str, str], declared: Iterable[str] = ()) -> Complexity:
    """Parse TEXT (an O(...) string or an exact formula) with symbols replaced by expressions.

    This is how a paper's recipe is read: ``O(T/l d)`` with ``l = sqrt(T)`` becomes
    ``O(T/sqrt(T) d)``. Each expression must itself parse as a formula in ``declared``; it is
    parenthesised where operator precedence needs it, and the result keeps the notation of the original.
    """
    big_o = text.strip().startswith("O(")
    original = parse(text, declared) if big_o else parse_formula(text, declared)
    wrapped: dict[str, str] = {}
    for symbol, expression in replacements.items():
        inner = parse_formula(expression, declared)._tree
        plain = isinstance(inner, (ast.Name, ast.Constant, ast.Call))
        wrapped[symbol] = expression.strip() if plain else f"({expression.strip()})"
    source = original.source
    tokens = _tokens(source)
    pieces: list[str] = []
    cursor = 0
    for index, token in enumerate(tokens):
        called = index + 1 < len(tokens) and tokens[index + 1].string == "("
        if token.type == tokenize.NAME and token.string in wrapped and not called:
            start, end = token.start[1], token.end[1]
            pieces.append(source[cursor:start] + wrapped[token.string])
            cursor = end
    pieces.append(source[cursor:])
    replaced = "".join(pieces)
    # A recipe may lengthen a string well past what a contributor may type; bound it all the same.
    return _parse_cached(replaced, frozenset(declared), MAX_LENGTH * (1 + len(wrapped)) * 4)


def _number(node: ast.expr, source: str) -> Fraction | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        _check_constant(node.value, source)
        return Fraction(node.value).limit_denominator(1000)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _number(node.left, source), _number(node.right, source)
        if left is not None and right:
            return left / right
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand, source)
        return -inner if inner is not None else None
    return None


def _check_constant(value: float, source: str) -> None:
    if not math.isfinite(value) or abs(value) > MAX_CONSTANT:
        raise ComplexityError(f"{source!r}: the number {value!r} is out of range (at most {MAX_CONSTANT:g})")


def _growth(node: ast.expr, allowed: set[str], symbols: set[str], source: str) -> Growth:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and node.value > 0:
            _check_constant(node.value, source)
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
            exponent = _number(node.right, source)
            if exponent is None:
                _growth(node.right, allowed, symbols, source)  # report bad symbols first
                raise ComplexityError(f"{source!r}: an exponent must be a number such as 2 or 1/2")
            if abs(exponent) > MAX_EXPONENT:
                raise ComplexityError(f"{source!r}: exponent {exponent} is out of range (at most {MAX_EXPONENT})")
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


def _evaluate(node: ast.expr, values: Mapping[str, float], source: str, symbols: frozenset[str]) -> float:
    try:
        result = _evaluate_node(node, values, source)
    except (OverflowError, ZeroDivisionError, ValueError, TypeError) as error:
        if isinstance(error, ComplexityError):
            raise
        what = (
            "overflows"
            if isinstance(error, OverflowError)
            else "divides by zero"
            if isinstance(error, ZeroDivisionError)
            else "is undefined"
        )
        raise ComplexityError(f"{source!r} {what} at {_shown(values, symbols)}") from None
    if not math.isfinite(result):
        raise ComplexityError(f"{source!r} is not a finite number at {_shown(values, symbols)}")
    return result


def _shown(values: Mapping[str, float], symbols: frozenset[str]) -> str:
    return ", ".join(f"{name}={values[name]:g}" for name in sorted(symbols) if name in values) or "these values"


def _evaluate_node(node: ast.expr, values: Mapping[str, float], source: str) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise ComplexityError(f"{source!r}: no value for {node.id!r}; give one (e.g. --set {node.id}=...)")
        return float(values[node.id])
    if isinstance(node, ast.BinOp):
        left = _evaluate_node(node.left, values, source)
        right = _evaluate_node(node.right, values, source)
        operations = {
            ast.Add: lambda: left + right,
            ast.Sub: lambda: left - right,
            ast.Mult: lambda: left * right,
            ast.Div: lambda: left / right,
            ast.Pow: lambda: left**right,
        }
        value = operations[type(node.op)]()
        if isinstance(value, complex):
            raise ValueError("a negative number raised to a fractional power")
        return float(value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate_node(node.operand, values, source)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        arguments = [_evaluate_node(arg, values, source) for arg in node.args]
        if node.func.id == "log":
            return math.log2(max(arguments[0], 2.0))
        if node.func.id == "sqrt":
            return math.sqrt(arguments[0])
        if node.func.id == "min":
            return min(arguments)
        if node.func.id == "max":
            return max(arguments)
    raise ComplexityError(f"{source!r}: cannot evaluate {ast.unparse(node)!r}")
