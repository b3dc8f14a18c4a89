"""The expression language: a whitelist parser, never eval."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsolve.errors import ExprError
from archsolve.lang.expr import CONSTRAINT, Name, Num, cdiv, fdiv, ite, parse, vmax, vmin


@pytest.mark.parametrize(
    ("text", "env", "value"),
    [
        ("3", {}, 3),
        ("k // 2", {"k": 7}, 3),
        ("-7 // 2", {}, -4),
        ("7 % 3", {}, 1),
        ("2 + 3 * 4", {}, 14),
        ("(2 + 3) * 4", {}, 20),
        ("10 - 3 - 2", {}, 5),
        ("max(k // 2, 1) + p", {"k": 5, "p": 1}, 3),
        ("min(a, b, c)", {"a": 4, "b": 2, "c": 9}, 2),
        ("-(k - 1)", {"k": 3}, -2),
        ("2 * -3", {}, -6),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_evaluates_like_python(text: str, env: dict[str, int], value: int) -> None:
    assert parse(text).evaluate(env) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "unexpected"),
        ("k.__class__", "only allowed in constraints"),
        ("eval(1)", "unknown function 'eval'"),
        ("1 if 1 else 2", "unexpected 'if'"),
        ("lambda: 1", "unexpected"),
        ("k / 2", "use // for integer division"),
        ("k ** 2", "unexpected '*'"),
        ("(1 + 2", "expected ')'"),
        ("1 +", "unexpected end"),
        ("max(1)", "at least two arguments"),
        ("a == b", "not allowed here"),
        ("[1, 2]", "not allowed"),
        ("'x'", "strings are not expressions"),
        ("1" * 2000, "the limit is 1000"),
    ],
    ids=["import", "dunder", "eval", "ternary", "lambda", "true-division", "power", "unclosed", "dangling-op",
         "max-one-arg", "comparison-in-value", "list-in-value", "string", "too-long"],
)
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=None) as info:
        parse(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("k//2+1", "k // 2 + 1"),
        ("(a + b) * c", "(a + b) * c"),
        ("a - (b - c)", "a - (b - c)"),
        ("head.shape == [2, H, W]", "head.shape == [2, H, W]"),
        ("mid.H >= 8 and not a == 1", "mid.H >= 8 and not a == 1"),
    ],
)
def test_prints_back_its_input(text: str, shown: str) -> None:
    assert str(parse(text, CONSTRAINT)) == shown


def test_names_and_substitution() -> None:
    e = parse("max(k, up1.stride) // s", CONSTRAINT)
    assert e.names() == {"k", "up1.stride", "s"}
    assert e.substitute({"k": 5, "s": Num(2)}).evaluate({"up1.stride": 3}) == 2


def test_missing_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        parse("k + 1").evaluate({})


def test_division_by_zero_is_reported() -> None:
    with pytest.raises(ExprError, match="division by zero"):
        parse("4 // (k - 2)").evaluate({"k": 2})


ints = st.integers(min_value=-50, max_value=50)
pos = st.integers(min_value=1, max_value=9)


@given(ints, pos)
def test_helpers_agree_on_ints_and_trees(a: int, b: int) -> None:
    """The op rules' helpers give the same value computed at once or through a tree."""
    env = {"a": a, "b": b}
    A, B = Name("a"), Name("b")
    assert fdiv(A, B).evaluate(env) == fdiv(a, b) == a // b
    assert cdiv(A, B).evaluate(env) == cdiv(a, b) == -(-a // b)
    assert vmax(A, B, 3).evaluate(env) == vmax(a, b, 3)  # type: ignore[union-attr]
    assert vmin(A, B).evaluate(env) == vmin(a, b)  # type: ignore[union-attr]
    assert ite(A, B, 7).evaluate(env) == ite(a, b, 7)  # type: ignore[union-attr]


@given(st.text(max_size=40))
def test_parser_never_crashes(text: str) -> None:
    with contextlib.suppress(ExprError):
        parse(text, CONSTRAINT)


small_ints = st.integers(min_value=-9, max_value=9)


@st.composite
def one_leaf(draw: st.DrawFn, depth: int = 3) -> str:
    """Random expressions over the single leaf x, as the op rules produce them."""
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(["x", str(draw(small_ints))]))
    op = draw(st.sampled_from(["+", "-", "*", "//", "%"]))
    left = draw(one_leaf(depth - 1))
    if op in ("//", "%", "*"):
        return f"({left}) {op} {draw(st.integers(1, 5))}"
    return f"({left}) {op} ({draw(one_leaf(depth - 1))})"


@given(one_leaf(), st.sampled_from(["<=", "<", ">=", ">", "==", "!="]), one_leaf())
def test_canonical_forms_keep_the_value(left: str, op: str, right: str) -> None:
    """Effects are grouped by canonical form: it must never change what an expression says."""
    from archsolve.lang.linear import canonical

    for text in (left, f"{left} {op} {right}", f"({left}) % 3 == 0"):
        e = parse(text, CONSTRAINT)
        c = canonical(e)
        for x in range(-12, 13):
            assert c.evaluate({"x": x}) == e.evaluate({"x": x}), (text, str(c), x)
