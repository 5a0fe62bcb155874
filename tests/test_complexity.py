from fractions import Fraction

import pytest

from archclass.complexity import ComplexityError, Growth, parse, parse_formula


@pytest.mark.parametrize(
    ("text", "declared", "power", "log_power", "growth_class"),
    [
        ("O(1)", (), 0, 0, "constant"),
        ("O(d^2)", (), 0, 0, "constant"),
        ("O(T*d)", (), 1, 0, "linear"),
        ("O(T d)", (), 1, 0, "linear"),
        ("O(w d^2)", ("w",), 0, 0, "constant"),
        ("O(log(T) d)", (), 0, 1, "polylog"),
        ("O(sqrt(T))", (), Fraction(1, 2), 0, "sublinear"),
        ("O(T/c)", ("c",), 1, 0, "linear"),
        ("O(T log(T))", (), 1, 1, "superlinear"),
        ("O(T^2 d)", (), 2, 0, "superlinear"),
        ("O(min(T, w) d)", ("w",), 0, 0, "constant"),
        ("O(max(T, w) d)", ("w",), 1, 0, "linear"),
        ("O(w d + T/s d)", ("w", "s"), 1, 0, "linear"),
        ("O(log(T)^2)", (), 0, 2, "polylog"),
        ("O(2 T d)", (), 1, 0, "linear"),
        ("O(d**2)", (), 0, 0, "constant"),
        ("O(T^(1/2))", (), Fraction(1, 2), 0, "sublinear"),
        ("  O(T d)  ", (), 1, 0, "linear"),
    ],
)
def test_growth_in_T(text, declared, power, log_power, growth_class):
    parsed = parse(text, declared)
    assert parsed.growth == Growth(Fraction(power), Fraction(log_power))
    assert parsed.growth.growth_class == growth_class


@pytest.mark.parametrize(
    ("text", "declared", "fragment"),
    [
        ("O(k d)", (), "undeclared symbol 'k'"),
        ("T d", (), "must have the form O(expression)"),
        ("O(T d", (), "must have the form"),
        ("O(T +)", (), "not a valid expression"),
        ("O(foo(T))", (), "unknown function"),
        ("O(T) + O(d)", (), "single O(...)"),
        ("O(-T)", (), "sign"),
        ("O(T^w)", ("w",), "exponent"),
        ("O(log(log(T)))", (), "log of a logarithm"),
        ("O(__import__('os'))", (), "unknown function"),
        ("O(T d)" + " " * 300, (), ""),
        ("O(" + "T*" * 200 + "T)", (), "longer than"),
        ("O(0)", (), "not a positive number"),
        ("O(T, d)", (), "exactly one expression"),
        ("O(log)", (), "is a function"),
    ],
)
def test_malformed_strings_are_errors_that_quote_the_string(text, declared, fragment):
    if not fragment:
        parse(text, declared)  # surrounding whitespace is fine
        return
    with pytest.raises(ComplexityError) as error:
        parse(text, declared)
    assert fragment in str(error.value)
    assert text.strip()[:20] in str(error.value)


def test_evaluate_uses_values_and_log2():
    parsed = parse("O(w d + log(T))", ["w"])
    assert parsed.evaluate({"w": 10, "d": 4, "T": 1024}) == 50


def test_exact_formula_refuses_big_o():
    assert parse_formula("2*T*d").evaluate({"T": 3, "d": 5}) == 30
    with pytest.raises(ComplexityError, match="without O"):
        parse_formula("O(T d)")


def test_growth_order_and_text():
    assert parse("O(T)").growth > parse("O(sqrt(T) log(T))").growth > parse("O(log(T)^3)").growth
    assert str(parse("O(T log(T))").growth) == "T log T"
    assert str(parse("O(d)").growth) == "1"


def test_substitute_replaces_a_symbol_keeping_precedence_and_notation():
    from archclass.complexity import substitute

    grown = substitute("O(T/l d + l^2)", {"l": "sqrt(T)"}, ["l"])
    assert grown.source == "O(T/sqrt(T) d + sqrt(T)^2)"
    assert grown.growth == Growth(Fraction(1), Fraction(0))
    scaled = substitute("O(T/l d)", {"l": "c*T"}, ["l", "c"])
    assert scaled.source == "O(T/(c*T) d)" and scaled.growth.is_constant
    exact = substitute("2*l*d", {"l": "log(T)"}, ["l"])
    assert exact.evaluate({"T": 1024, "d": 3}) == 60
