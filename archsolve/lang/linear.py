"""Canonical forms of one-variable integer expressions.

Effects are grouped by their expressions, so two spellings of the same function must be
one expression: ``floor((x + 5) / 2) + 1`` and ``floor((x + 1) / 2) + 3`` are the same
output size, and ``5 <= x + 2`` and ``7 <= x + 4`` the same condition.  :func:`canonical`
rewrites an expression over a single leaf into one fixed shape where it can, and leaves it
alone otherwise.

Example::

    >>> from archsolve.lang.expr import parse
    >>> str(canonical(parse("(x + 5) // 2 + 1"))) == str(canonical(parse("(x + 1) // 2 + 3")))
    True
"""

from __future__ import annotations

from archsolve.lang.expr import Bin, Call, Expr, Name, Num


def affine_floor(e: Expr) -> tuple[int, int, int, int, str] | None:
    """``(a*x + b) // s + e`` with one leaf ``x``: return (a, b, s, e, x), else None."""

    def walk(n: Expr) -> tuple[int, int, int, int, str | None] | None:
        if isinstance(n, Num):
            return 0, n.value, 1, 0, None
        if isinstance(n, Name):
            return 1, 0, 1, 0, n.name
        if not isinstance(n, Bin):
            return None
        left, right = walk(n.left), walk(n.right)
        if left is None or right is None:
            return None
        la, lb, ls, le, lx = left
        ra, rb, rs, re, rx = right
        if lx and rx and lx != rx:
            return None
        x = lx or rx
        if n.op in ("+", "-"):
            sign = 1 if n.op == "+" else -1
            if ra == 0 and rs == 1:  # + constant
                c = sign * (rb + re)
                return (la, lb + c, 1, 0, x) if ls == 1 else (la, lb, ls, le + c, x)
            if la == 0 and ls == 1 and n.op == "+":
                c = lb + le
                return (ra, rb + c, 1, 0, x) if rs == 1 else (ra, rb, rs, re + c, x)
            if ls == 1 and rs == 1:
                return la + sign * ra, lb + le + sign * (rb + re), 1, 0, x
            return None
        if n.op == "*":
            if ra == 0 and rs == 1 and ls == 1:
                c = rb + re
                return la * c, (lb + le) * c, 1, 0, x
            if la == 0 and ls == 1 and rs == 1:
                c = lb + le
                return ra * c, (rb + re) * c, 1, 0, x
            return None
        if n.op == "//" and ra == 0 and rs == 1 and rb + re > 0:
            c = rb + re
            # floor((floor(n/s) + e) / c) = floor((n + e*s) / (s*c))
            return la, lb + le * ls, ls * c, 0, x
        return None

    res = walk(e)
    if res is None or res[4] is None:
        return None
    a, b, s, k, x = res
    return a, b, s, k, x  # type: ignore[return-value]


def _floor_form(a: int, b: int, s: int, k: int, x: str) -> Expr:
    """``(a*x + b) // s + k`` with ``0 <= b < s`` (the rest moved into ``k``)."""
    if s > 1:
        k += b // s
        b %= s
    num: Expr = Name(x) if a == 1 else Bin("*", Num(a), Name(x))
    if b:
        num = Bin("+", num, Num(b))
    if s > 1:
        num = Bin("//", num, Num(s))
    return Bin("+", num, Num(k)) if k else num


_FLIP = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "==": "==", "!=": "!="}


def _comparison(e: Bin) -> Expr | None:
    """``a*x + b OP c*x + d`` -> ``x >= t`` / ``x <= t`` / ``x == t`` / ``x != t``."""
    left, right = affine_floor(e.left), affine_floor(e.right)
    parts = []
    for form, expr in ((left, e.left), (right, e.right)):
        if form is None:
            if isinstance(expr, Num):
                form = (0, expr.value, 1, 0, "")
            else:
                return None
        parts.append(form)
    (la, lb, ls, lk, lx), (ra, rb, rs, rk, rx) = parts
    if ls != 1 or rs != 1 or (lx and rx and lx != rx):
        return None
    x = lx or rx
    a, b = la - ra, (lb + lk) - (rb + rk)
    op = e.op
    if a == 0:
        return Num(int({"<=": b <= 0, "<": b < 0, ">=": b >= 0, ">": b > 0, "==": b == 0, "!=": b != 0}[op]))
    if a < 0:
        a, b, op = -a, -b, _FLIP[op]
    # a*x + b OP 0  with a > 0
    if op in ("==", "!="):
        if (-b) % a:
            return Num(int(op == "!="))
        return Bin(op, Name(x), Num(-b // a))
    if op == ">=":
        return Bin(">=", Name(x), Num(-((b) // a)))  # x >= ceil(-b / a)
    if op == ">":
        return Bin(">=", Name(x), Num((-b) // a + 1))
    if op == "<=":
        return Bin("<=", Name(x), Num((-b) // a))
    return Bin("<=", Name(x), Num(-((b) // a) - 1))  # x < ceil(-b/a)


def canonical(e: Expr) -> Expr:
    """One spelling for each function of a single leaf (see the module docstring)."""
    if isinstance(e, Bin):
        if e.op in ("and", "or"):
            return Bin(e.op, canonical(e.left), canonical(e.right))
        if e.op in _FLIP:
            if isinstance(e.left, Bin) and e.left.op == "%" and isinstance(e.right, Num) and e.right.value == 0:
                mod = _modulo(e.left)
                if mod is not None:
                    return Bin(e.op, mod, Num(0))
            return _comparison(e) or e
        form = affine_floor(e)
        if form is not None:
            return _floor_form(*form)
        return e
    if isinstance(e, Call) and e.fn == "not":
        return Call("not", (canonical(e.args[0]),))
    return e


def _modulo(e: Bin) -> Expr | None:
    """``(a*x + b) % s`` with ``0 <= b < s``."""
    if not isinstance(e.right, Num) or e.right.value <= 0:
        return None
    form = affine_floor(e.left)
    if form is None or form[2] != 1:
        return None
    a, b, _, k, x = form
    s = e.right.value
    a %= s
    b = (b + k) % s
    if a == 0:
        return Num(b)
    num: Expr = Name(x) if a == 1 else Bin("*", Num(a), Name(x))
    return Bin("%", Bin("+", num, Num(b)) if b else num, Num(s))
