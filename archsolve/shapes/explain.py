"""Say where a size came from, with the arithmetic, and propose fixes.

The arithmetic is not written a second time: the layer's own rule is run again with its
input sizes as opaque leaves and its hyperparameters as constants, and the resulting
expression is folded and printed (``floor((143 - 2) / 2) + 1``).

Example::

    >>> show(fold(Bin("+", Bin("*", Bin("-", Name("35"), Num(1)), Num(2)), Num(2))))
    '(35 - 1) * 2 + 2'
"""

from __future__ import annotations

from typing import Any

from archsolve.lang.expr import Bin, Call, Expr, ListExpr, Name, Num, fold
from archsolve.ops.base import Args, Ignore
from archsolve.ops.table import OPS
from archsolve.shapes.propagate import LayerResult, Propagation


def show(e: Expr) -> str:
    """Print with ``floor(a / b)`` for floor division, as a person writes it."""
    if isinstance(e, Bin) and e.op == "//":
        num, den = show(e.left), show(e.right)
        if isinstance(e.left, Bin) and e.left.op in ("+", "-"):
            num = f"({num})"
        if isinstance(e.right, Bin):
            den = f"({den})"
        return f"floor({num} / {den})"
    if isinstance(e, Bin):
        text_l, text_r = show(e.left), show(e.right)
        if e.op in ("*", "//", "%"):
            if isinstance(e.left, Bin) and e.left.op in ("+", "-"):
                text_l = f"({text_l})"
            if isinstance(e.right, Bin) and e.right.op in ("+", "-", "*", "%"):
                text_r = f"({text_r})"
        elif e.op == "-" and isinstance(e.right, Bin) and e.right.op in ("+", "-"):
            text_r = f"({text_r})"
        return f"{text_l} {e.op} {text_r}"
    if isinstance(e, Call):
        if e.fn == "ite":
            c, a, b = e.args
            return f"({show(a)} if {show(c)} else {show(b)})"
        return f"{e.fn}(" + ", ".join(show(a) for a in e.args) + ")"
    if isinstance(e, ListExpr):
        return "[" + ", ".join(show(a) for a in e.items) + "]"
    return str(e)


def _symbolic_args(args: Args) -> Args:
    def lift(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
            return v
        if isinstance(v, int):
            return Num(v)
        if isinstance(v, tuple):
            return tuple(lift(x) for x in v)
        return v

    return Args({k: lift(v) for k, v in args.items()}, args.ndim, args.name, args.sources)


def formula(res: LayerResult, axis: int) -> str | None:
    """How the layer computed dimension ``axis`` of its output, from its input sizes."""
    if res.args is None or res.inputs is None:
        return None
    leaves = [tuple(Name(str(v)) for v in shape) for shape in res.inputs]
    out = OPS[res.layer.op].shape(_symbolic_args(res.args), leaves, Ignore())
    if axis >= len(out):
        return None
    e = fold(out[axis]) if isinstance(out[axis], Expr) else Num(out[axis])
    if isinstance(e, (Name, Num)):
        return None
    return show(e)


def origin(prop: Propagation, name: str, axis: int) -> str:
    """``"71 = floor((143 - 2) / 2) + 1 at down4"``: the layer that last changed the size."""
    cur = prop.network.spec.aliases.get(name, name)
    seen = 0
    while cur != "input" and seen < 10_000:
        seen += 1
        res = prop.layers[cur]
        if res.shape is None or res.inputs is None:
            break
        first = res.inputs[0]
        if axis >= len(first) or first[axis] != res.shape[axis]:
            text = formula(res, axis)
            value = res.shape[axis]
            return f"{value} = {text} at {cur}" if text else f"{value} at {cur}"
        cur = res.layer.sources[0]
    if cur == "input":
        return f"{prop.input[axis]} from the input"
    return ""

