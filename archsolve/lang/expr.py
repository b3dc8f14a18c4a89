"""Symbolic integer expressions and the whitelist parser for spec values.

An :class:`Expr` is a small immutable tree.  The same tree serves three masters:

* the spec language (``k // 2``, ``max(c, 8)``, ``mid.H >= 8``), parsed here by a
  hand-written tokenizer and precedence-climbing parser -- never ``eval``;
* the op rules in :mod:`archsolve.ops`, which are written once against the helpers
  :func:`fdiv`, :func:`vmax`, :func:`ite`, :func:`le` ... and therefore run on plain ints
  (fast propagation), on trees of constants (to explain the arithmetic in messages),
  and on trees of unknowns (the solver translates those to Z3);
* printing: ``str(expr)`` gives the arithmetic back in the spec's own syntax.

Example::

    >>> e = parse("max(k // 2, 1) + p")
    >>> e.evaluate({"k": 5, "p": 1})
    3
    >>> str(e)
    'max(k // 2, 1) + p'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from archsolve.errors import ExprError
from archsolve.limits import DEFAULT_LIMITS, over_the_largest

Value = Union[int, "Expr"]


class Expr:
    """Base class of expression nodes; arithmetic operators build new nodes."""

    __slots__ = ()

    def __add__(self, other: Value) -> Expr:
        return _bin("+", self, other)

    def __radd__(self, other: Value) -> Expr:
        return _bin("+", other, self)

    def __sub__(self, other: Value) -> Expr:
        return _bin("-", self, other)

    def __rsub__(self, other: Value) -> Expr:
        return _bin("-", other, self)

    def __mul__(self, other: Value) -> Expr:
        return _bin("*", self, other)

    def __rmul__(self, other: Value) -> Expr:
        return _bin("*", other, self)

    def __floordiv__(self, other: Value) -> Expr:
        return _bin("//", self, other)

    def __rfloordiv__(self, other: Value) -> Expr:
        return _bin("//", other, self)

    def __mod__(self, other: Value) -> Expr:
        return _bin("%", self, other)

    def __rmod__(self, other: Value) -> Expr:
        return _bin("%", other, self)

    def __neg__(self) -> Expr:
        return _bin("-", Num(0), self)

    # -- interface ---------------------------------------------------------
    def evaluate(self, env: Mapping[str, int] | None = None) -> int:
        """The integer value, looking names up in ``env`` (KeyError if missing)."""
        raise NotImplementedError

    def names(self) -> frozenset[str]:
        """Every free name (vars, unknowns, attributes) the expression mentions."""
        raise NotImplementedError

    def substitute(self, env: Mapping[str, Value | Expr]) -> Expr:
        """Replace names found in ``env``; others stay symbolic."""
        raise NotImplementedError

    def __str__(self) -> str:
        return _show(self, 0)

    def __repr__(self) -> str:
        return f"Expr({str(self)!r})"


@dataclass(frozen=True, slots=True)
class Num(Expr):
    value: int

    def evaluate(self, env: Mapping[str, int] | None = None) -> int:
        return self.value

    def names(self) -> frozenset[str]:
        return frozenset()

    def substitute(self, env: Mapping[str, Value | Expr]) -> Expr:
        return self


@dataclass(frozen=True, slots=True)
class Name(Expr):
    """A var, a block parameter, an unknown (``up1.stride``) or an attribute (``mid.H``)."""

    name: str

    def evaluate(self, env: Mapping[str, int] | None = None) -> int:
        if env is None or self.name not in env:
            raise KeyError(self.name)
        return env[self.name]

    def names(self) -> frozenset[str]:
        return frozenset((self.name,))

    def substitute(self, env: Mapping[str, Value | Expr]) -> Expr:
        if self.name in env:
            return lift(env[self.name])
        return self


# each binary operator on ints, comparisons and and/or giving 0 or 1
ARITH: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
    "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b),
    "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b),
    ">=": lambda a, b: int(a >= b),
    "and": lambda a, b: int(bool(a) and bool(b)),
    "or": lambda a, b: int(bool(a) or bool(b)),
}
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")


@dataclass(frozen=True, slots=True)
class Bin(Expr):
    op: str
    left: Expr
    right: Expr
    # the hash, once asked: a hole condition is a tree of dozens of nodes, and solving keys
    # dicts by such trees thousands of times (0: not yet)
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        h = self._hash
        if not h:
            h = hash((self.op, self.left, self.right))
            object.__setattr__(self, "_hash", h)
        return h

    def evaluate(self, env: Mapping[str, int] | None = None) -> int:
        a = self.left.evaluate(env)
        if self.op == "and" and not a:
            return 0
        if self.op == "or" and a:
            return 1
        b = self.right.evaluate(env)
        if self.op in ("//", "%") and b == 0:
            raise ExprError(f"division by zero in {self}")
        return ARITH[self.op](a, b)

    def names(self) -> frozenset[str]:
        return self.left.names() | self.right.names()

    def substitute(self, env: Mapping[str, Value | Expr]) -> Expr:
        left, right = self.left.substitute(env), self.right.substitute(env)
        return self if left is self.left and right is self.right else Bin(self.op, left, right)


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """``min``/``max`` over two or more arguments, ``not`` of one, ``ite`` of three."""

    fn: str
    args: tuple[Expr, ...]

    def evaluate(self, env: Mapping[str, int] | None = None) -> int:
        if self.fn == "ite":
            cond, a, b = self.args
            return a.evaluate(env) if cond.evaluate(env) else b.evaluate(env)
        vals = [a.evaluate(env) for a in self.args]
        if self.fn == "min":
            return min(vals)
        if self.fn == "max":
            return max(vals)
        if self.fn == "not":
            return int(not vals[0])
        raise ExprError(f"unknown function {self.fn}")

    def names(self) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for a in self.args:
            out |= a.names()
        return out

    def substitute(self, env: Mapping[str, Value | Expr]) -> Expr:
        return Call(self.fn, tuple(a.substitute(env) for a in self.args))


@dataclass(frozen=True, slots=True)
class ListExpr(Expr):
    """``[2, H, W]``: only meaningful in comparisons (element-wise)."""

    items: tuple[Expr, ...]

    def evaluate(self, env: Mapping[str, int] | None = None) -> int:
        raise ExprError(f"a list {self} has no single value")

    def names(self) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for a in self.items:
            out |= a.names()
        return out

    def substitute(self, env: Mapping[str, Value | Expr]) -> Expr:
        return ListExpr(tuple(a.substitute(env) for a in self.items))


def lift(v: Value | Expr) -> Expr:
    """Turn an int into :class:`Num` (a condition's True or False into 1 or 0); leave an
    Expr alone."""
    if isinstance(v, Expr):
        return v
    if not isinstance(v, int):
        raise TypeError(f"not an integer expression: {v!r}")
    return Num(int(v))


def _bin(op: str, a: Value, b: Value) -> Expr:
    return Bin(op, lift(a), lift(b))


# -- helpers the op rules are written with ----------------------------------
# Each takes ints or Exprs: ints compute at once, Exprs build a tree.


def fdiv(a: Value, b: Value) -> Value:
    """Floor division, Python's ``//``."""
    return a // b


def cdiv(a: Value, b: Value) -> Value:
    """Ceiling division for a positive divisor: ``-((-a) // b)``."""
    return -((-a) // b)


def vmax(*args: Value) -> Value:
    if len(args) == 2:  # the usual max(stride, dilation): ints at once
        a, b = args
        if type(a) is int and type(b) is int:
            return a if a >= b else b
    for a in args:
        if not isinstance(a, int):
            return Call("max", tuple(lift(x) for x in args))
    return max(args)  # type: ignore[type-var]


def vmin(*args: Value) -> Value:
    for a in args:
        if not isinstance(a, int):
            return Call("min", tuple(lift(x) for x in args))
    return min(args)  # type: ignore[type-var]


def ite(cond: Value, a: Value, b: Value) -> Value:
    """``a if cond else b``; symbolic when the condition is."""
    if isinstance(cond, (int, bool)):
        return a if cond else b
    return Call("ite", (cond, lift(a), lift(b)))


# The comparisons test for ints inline: the concrete path runs them millions of times.  On
# ints they give a bool (an int to everything else), so that a rule can pass over a
# condition that ``is True`` without handing it, and a message closure, to its Req.
def le(a: Value, b: Value) -> Value:
    return a <= b if isinstance(a, int) and isinstance(b, int) else _bin("<=", a, b)


def lt(a: Value, b: Value) -> Value:
    return a < b if isinstance(a, int) and isinstance(b, int) else _bin("<", a, b)


def ge(a: Value, b: Value) -> Value:
    return a >= b if isinstance(a, int) and isinstance(b, int) else _bin(">=", a, b)


def gt(a: Value, b: Value) -> Value:
    return a > b if isinstance(a, int) and isinstance(b, int) else _bin(">", a, b)


def eq(a: Value, b: Value) -> Value:
    return a == b if isinstance(a, int) and isinstance(b, int) else _bin("==", a, b)


def ne(a: Value, b: Value) -> Value:
    return a != b if isinstance(a, int) and isinstance(b, int) else _bin("!=", a, b)


def both(a: Value, b: Value) -> Value:
    if isinstance(a, int) and isinstance(b, int):
        return bool(a) and bool(b)
    return _bin("and", a, b)


def either(a: Value, b: Value) -> Value:
    """``a or b``; symbolic when both are (a false int drops out).

        >>> either(False, 3 > 2), str(either(0, eq(Name("H"), 4)))
        (True, 'H == 4')
    """
    if isinstance(a, int):
        return True if a else b
    if isinstance(b, int):
        return True if b else a
    return _bin("or", a, b)


def interval(e: Expr, spans: Mapping[str, tuple[int, int]]) -> tuple[int, int] | None:
    """Bounds of an arithmetic expression over names bounded by ``spans`` (None where it
    cannot tell: an unbounded name, a divisor whose range holds 0).

        >>> interval(parse("k // 2 + 1"), {"k": (3, 7)})
        (2, 4)
    """
    if isinstance(e, Num):
        return e.value, e.value
    if isinstance(e, Name):
        return spans.get(e.name)
    if isinstance(e, Bin) and e.op in ("+", "-", "*"):
        a, b = interval(e.left, spans), interval(e.right, spans)
        if a is None or b is None:
            return None
        if e.op == "+":
            return a[0] + b[0], a[1] + b[1]
        if e.op == "-":
            return a[0] - b[1], a[1] - b[0]
        products = [x * y for x in a for y in b]
        return min(products), max(products)
    if isinstance(e, Bin) and e.op in ("//", "%"):
        a, b = interval(e.left, spans), interval(e.right, spans)
        if a is None or b is None or b[0] <= 0 <= b[1]:
            return None  # a divisor that may be 0
        if e.op == "//":  # monotone in each argument while the divisor keeps its sign
            quotients = [x // y for x in a for y in b]
            return min(quotients), max(quotients)
        # Python's remainder takes the divisor's sign: 0..b-1, or b+1..0
        if b[0] > 0:
            return 0, min(b[1] - 1, a[1]) if a[0] >= 0 else b[1] - 1
        return max(b[0] + 1, a[0]) if a[1] <= 0 else b[0] + 1, 0
    if isinstance(e, Call) and e.fn in ("min", "max"):
        parts = [interval(x, spans) for x in e.args]
        if any(p is None for p in parts):
            return None
        pick = min if e.fn == "min" else max
        return pick(p[0] for p in parts if p), pick(p[1] for p in parts if p)
    return None


# -- printing ---------------------------------------------------------------
_PREC = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
         "+": 5, "-": 5, "*": 6, "//": 6, "%": 6}


def _show(e: Expr, outer: int) -> str:
    if isinstance(e, Num):
        return str(e.value) if e.value >= 0 or outer == 0 else f"({e.value})"
    if isinstance(e, Name):
        return e.name
    if isinstance(e, ListExpr):
        return "[" + ", ".join(_show(a, 0) for a in e.items) + "]"
    if isinstance(e, Call):
        if e.fn == "ite":
            c, a, b = e.args
            return f"({_show(a, 0)} if {_show(c, 0)} else {_show(b, 0)})"
        if e.fn == "not":
            return f"not {_show(e.args[0], 3)}"
        return f"{e.fn}(" + ", ".join(_show(a, 0) for a in e.args) + ")"
    assert isinstance(e, Bin)
    if e.op == "-" and isinstance(e.left, Num) and e.left.value == 0:
        text = "-" + _show(e.right, 7)
        return f"({text})" if outer > 5 else text
    p = _PREC[e.op]
    text = f"{_show(e.left, p)} {e.op} {_show(e.right, p + 1)}"
    return f"({text})" if p < outer else text


# -- parsing ----------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<num>[0-9]+(?:\.[0-9]+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z0-9_]+)*"
    r"(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\[[0-9]+\])?)"
    r"|(?P<op>//|==|!=|<=|>=|[-+*%()<>,\[\]]))"
)
_FUNCS = {"min", "max"}
# byte units a number may carry where memory is compared (``memory <= 8 GiB``): binary ones only,
# as PyTorch and nvidia-smi count (a "GB" would be ambiguous)
UNITS = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
_LOOKS_LIKE_A_UNIT = re.compile(r"[kKmMgGtT]?[iI]?[bB]|[kKmMgGtT]")  # 8 GB, 8 gib, 8 kB, 8 B, 8 G
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def bytes_text(n: int | None) -> str:
    """Bytes in binary units, three digits at most before the unit; ``-`` where not known.

        >>> bytes_text(0), bytes_text(1023), bytes_text(166348800), bytes_text(None)
        ('0 B', '1023 B', '159 MiB', '-')
    """
    if n is None:
        return "-"
    x, unit = float(n), 0
    while x >= 1023.5 and unit < len(_BYTE_UNITS) - 1:  # 1023.5 KiB would show as 1024 KiB: 1.0 MiB
        x /= 1024
        unit += 1
    if unit == 0:
        return f"{n} B"
    return (f"{x:.1f}" if x < 99.95 else f"{x:.0f}") + " " + _BYTE_UNITS[unit]


def budget_text(n: int) -> str:
    """A byte count as the spec writes it: in the largest unit that divides it, else bytes.

        >>> budget_text(8 << 30), budget_text(3 << 19), budget_text(1000)
        ('8GiB', '1536KiB', '1000')
    """
    for name, size in sorted(UNITS.items(), key=lambda u: -u[1]):
        if n % size == 0:
            return f"{n // size}{name}"
    return str(n)


def at_least(n: int) -> str:
    """``n`` bytes rounded up in a unit that keeps three digits or more, as ``--memory`` takes it.

        >>> at_least(8208), at_least(280336), at_least(7_838_315_315)
        ('8208', '274KiB', '7476MiB')
    """
    for name, size in sorted(UNITS.items(), key=lambda u: -u[1]):
        if -(-n // size) >= 100:
            return f"{-(-n // size)}{name}"
    return str(n)


_KEYWORDS = {"and", "or", "not"}


def tokenize(text: str, max_length: int = DEFAULT_LIMITS.expr_length) -> list[tuple[str, str, int]]:
    """Split ``text`` into (kind, text, column) tokens; anything else is an error."""
    if len(text) > max_length:
        raise ExprError(f"expression is {len(text)} characters long (the limit is {max_length})")
    out: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].lstrip()[:1]
            col = len(text) - len(text[pos:].lstrip())
            hint = ""
            if bad == "/":
                hint = " (use // for integer division)"
            elif bad in "\"'":
                hint = " (strings are not expressions)"
            raise ExprError(f"unexpected {bad!r} at column {col + 1} of {text!r}{hint}")
        kind = m.lastgroup or "op"
        tok = m.group(kind)
        if kind == "name" and tok in _KEYWORDS:
            kind = "op"
        out.append((kind, tok, m.start(kind) + 1))
        pos = m.end()
    return out


MAX_NESTING = 50


class _Parser:
    def __init__(self, text: str, allow: frozenset[str], max_length: int):
        self.text = text
        self.toks = tokenize(text, max_length)
        self.i = 0
        self.allow = allow
        self.depth = 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> tuple[str, str, int]:
        if self.i >= len(self.toks):
            raise ExprError(f"unexpected end of {self.text!r}" + (f": expected {expected!r}" if expected else ""))
        tok = self.toks[self.i]
        if expected is not None and tok[1] != expected:
            raise ExprError(f"expected {expected!r} but found {tok[1]!r} at column {tok[2]} of {self.text!r}")
        self.i += 1
        return tok

    def parse(self) -> Expr:
        e = self.or_expr()
        if self.i != len(self.toks):
            kind, tok, col = self.toks[self.i]
            raise ExprError(f"unexpected {tok!r} at column {col} of {self.text!r}")
        return e

    def _logic(self) -> None:
        if "logic" not in self.allow:
            raise ExprError(f"comparisons and and/or/not are not allowed here: {self.text!r}")

    def or_expr(self) -> Expr:
        e = self.and_expr()
        while self.peek() == "or":
            self._logic()
            self.take()
            e = Bin("or", e, self.and_expr())
        return e

    def and_expr(self) -> Expr:
        e = self.not_expr()
        while self.peek() == "and":
            self._logic()
            self.take()
            e = Bin("and", e, self.not_expr())
        return e

    def not_expr(self) -> Expr:
        if self.peek() == "not":
            self._logic()
            self.take()
            return Call("not", (self.not_expr(),))
        return self.comparison()

    def comparison(self) -> Expr:
        e = self.additive()
        if self.peek() in COMPARISONS:
            self._logic()
            op = self.take()[1]
            e = Bin(op, e, self.additive())
            if self.peek() in COMPARISONS:
                raise ExprError(f"chained comparisons are not supported: {self.text!r} (use 'and')")
        return e

    def additive(self) -> Expr:
        e = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            e = Bin(op, e, self.term())
        return e

    def term(self) -> Expr:
        e = self.unary()
        while self.peek() in ("*", "//", "%"):
            op = self.take()[1]
            e = Bin(op, e, self.unary())
        return e

    def unary(self) -> Expr:
        if self.peek() == "-":
            self.take()
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ExprError(f"signs nested more than {MAX_NESTING} deep in {self.text[:40]!r}...")
            inner = self.unary()
            self.depth -= 1
            if isinstance(inner, Num):
                return Num(-inner.value)
            return Bin("-", Num(0), inner)
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.atom()

    def number(self, tok: str, col: int) -> Num:
        """A literal, with a byte unit after it where units are allowed (``8 GiB``, ``1.5 MiB``)."""
        unit = self.peek() if self.i < len(self.toks) and self.toks[self.i][0] == "name" else None
        if unit is not None and unit not in UNITS and _LOOKS_LIKE_A_UNIT.fullmatch(unit):
            raise ExprError(f"{tok} {unit} in {self.text!r}: {unit!r} is no unit here; write KiB, MiB, GiB or TiB "
                            "(binary: 1 GiB = 1024 MiB)")
        if unit not in UNITS:
            if "." in tok:
                raise ExprError(f"{tok!r} at column {col} of {self.text!r}: a number here is an integer"
                                + (" (a decimal needs a unit: KiB, MiB, GiB or TiB)" if "units" in self.allow else ""))
            over = over_the_largest(tok)
            if over:
                raise ExprError(f"{over}, the largest number a spec may write")
            return Num(int(tok))
        if "units" not in self.allow:
            raise ExprError(f"{tok} {unit} in {self.text!r}: units are only allowed in constraints and minimize")
        self.take()
        whole, _, frac = tok.partition(".")
        if len(whole) > 30 or len(frac) > 30:
            raise ExprError(f"{tok} {unit} in {self.text!r}: too many digits")
        scaled = int(whole + frac) * UNITS[unit]
        value, rest = divmod(scaled, 10 ** len(frac))
        if rest:
            raise ExprError(f"{tok} {unit} in {self.text!r} is not a whole number of bytes")
        over = over_the_largest(str(value))
        if over:
            raise ExprError(f"{tok} {unit} in {self.text!r}: {over}, the largest number a spec may write")
        return Num(value)

    def atom(self) -> Expr:
        kind, tok, col = self.take()
        if kind == "num":
            return self.number(tok, col)
        if tok == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ExprError(f"parentheses nested more than {MAX_NESTING} deep in {self.text[:40]!r}...")
            e = self.or_expr()
            self.take(")")
            self.depth -= 1
            return e
        if tok == "[":
            if "list" not in self.allow:
                raise ExprError(f"a list is not allowed inside {self.text!r}")
            items = [self.additive()]
            while self.peek() == ",":
                self.take()
                items.append(self.additive())
            self.take("]")
            return ListExpr(tuple(items))
        if kind == "name":
            if tok in _FUNCS and self.peek() == "(":
                self.take("(")
                args = [self.additive()]
                while self.peek() == ",":
                    self.take()
                    args.append(self.additive())
                self.take(")")
                if len(args) < 2:
                    raise ExprError(f"{tok}() needs at least two arguments in {self.text!r}")
                return Call(tok, tuple(args))
            if self.peek() == "(":
                raise ExprError(f"unknown function {tok!r} in {self.text!r} (only min and max)")
            if "." in tok and "attr" not in self.allow:
                raise ExprError(f"{tok!r} in {self.text!r}: layer attributes are only allowed in constraints")
            if "__" in tok:
                raise ExprError(f"{tok!r} in {self.text!r} is not a valid name")
            return Name(tok)
        raise ExprError(f"unexpected {tok!r} at column {col} of {self.text!r}")


VALUE = frozenset()
CONSTRAINT = frozenset({"logic", "list", "attr", "units"})


def parse(text: str, allow: frozenset[str] = VALUE, max_length: int = DEFAULT_LIMITS.expr_length) -> Expr:
    """Parse spec-language text into an :class:`Expr`.

    ``allow`` opts into the constraint language: comparisons and ``and/or/not``
    (``"logic"``), lists (``"list"``) and ``layer.attr`` names (``"attr"``); ``max_length``:
    the longest text taken (``Limits.expr_length``).

    >>> str(parse("k//2 + 1"))
    'k // 2 + 1'
    """
    return _Parser(text, allow, max_length).parse()


def parse_bytes(text: str) -> int:
    """A memory size as a command or the API takes it: bytes, or a number with a binary unit.

        >>> parse_bytes("8GiB"), parse_bytes("1.5 MiB"), parse_bytes("1000")
        (8589934592, 1572864, 1000)
    """
    try:
        got = parse(text.strip(), frozenset({"units"}))
    except ExprError as exc:
        raise ExprError(f"{text!r}: {exc.bare}") from None
    if not isinstance(got, Num) or got.value < 1:
        raise ExprError(f"{text!r} is not a memory size like 8GiB ({', '.join(UNITS)}, or bytes)")
    return got.value


def folded(v: Any, env: Mapping[str, Value | Expr]) -> Any:
    """A field value (an Expr, a tuple of them per axis, or anything else) with ``env``
    substituted and constants folded: a constant Expr becomes an int.

        >>> folded((Name("k") - 1, "same"), {"k": Num(3)})
        (2, 'same')
    """
    if isinstance(v, Expr):
        e = fold(v.substitute(env))
        return e.value if isinstance(e, Num) else e
    if isinstance(v, tuple):
        return tuple(folded(x, env) for x in v)
    return v


def fold(e: Expr) -> Expr:
    """Fold constant sub-expressions and drop ``+ 0``, ``* 1``, ``// 1``."""
    if isinstance(e, Bin):
        a, b = fold(e.left), fold(e.right)
        if isinstance(a, Num) and isinstance(b, Num):
            return Num(Bin(e.op, a, b).evaluate({}))
        if isinstance(b, Num):
            if b.value == 0 and e.op in ("+", "-"):
                return a
            if b.value == 1 and e.op in ("*", "//"):
                return a
            if b.value < 0 and e.op in ("+", "-"):
                return Bin("-" if e.op == "+" else "+", a, Num(-b.value))
            # (x + 3) - 1 -> x + 2
            if e.op in ("+", "-") and isinstance(a, Bin) and a.op in ("+", "-") and isinstance(a.right, Num):
                inner = a.right.value if a.op == "+" else -a.right.value
                total = inner + (b.value if e.op == "+" else -b.value)
                return fold(Bin("+", a.left, Num(total)))
        if isinstance(a, Num) and a.value == 0 and e.op == "+":
            return b
        if isinstance(a, Num) and a.value == 1 and e.op == "*":
            return b
        # nothing folded: the tree itself, which keeps the hash it may have been asked for
        return e if a is e.left and b is e.right else Bin(e.op, a, b)
    if isinstance(e, Call):
        args = tuple(fold(x) for x in e.args)
        if all(isinstance(x, Num) for x in args):
            return Num(Call(e.fn, args).evaluate({}))
        if e.fn == "ite" and isinstance(args[0], Num):
            return args[1] if args[0].value else args[2]
        return e if all(x is y for x, y in zip(args, e.args, strict=True)) else Call(e.fn, args)
    return e
