"""Say where a size came from, with the arithmetic, and propose fixes.

The arithmetic is not written a second time: the layer's own rule is run again with its
input sizes as opaque leaves and its hyperparameters as constants, and the resulting
expression is folded and printed (``floor((143 - 2) / 2) + 1``).

Example::

    >>> show(fold(Bin("+", Bin("*", Bin("-", Name("35"), Num(1)), Num(2)), Num(2))))
    '(35 - 1) * 2 + 2'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archsolve.errors import EncodingLimit
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


def formulas(res: LayerResult) -> tuple[str | None, ...]:
    """How the layer computed each dimension of its output from its input sizes (None for one
    it only passed on, or where it is not known): one run of its rule on symbols, all axes."""
    if res.args is None or res.inputs is None:
        return ()
    leaves = [tuple(Name(str(v)) for v in shape) for shape in res.inputs]
    try:
        out = OPS[res.layer.op].shape(_symbolic_args(res.args), leaves, Ignore())
    except EncodingLimit:  # a rule that wants its fields as numbers here (holes: false): no formula
        return ()
    shown: list[str | None] = []
    for v in out:
        e = fold(v) if isinstance(v, Expr) else Num(v)
        shown.append(None if isinstance(e, (Name, Num)) else show(e))
    return tuple(shown)


def origin(prop: Propagation, name: str, axis: int, memo: dict[str, tuple[str | None, ...]] | None = None) -> str:
    """``"71 = floor((143 - 2) / 2) + 1 at down4"``: the layer that last changed the size.
    ``memo``: each layer's :func:`formulas`, kept for the next axis or branch asked."""
    cur = prop.network.spec.aliases.get(name, name)
    seen = 0
    while cur != "input" and seen < 10_000:
        seen += 1
        res = prop.layers[cur]
        if res.shape is None or res.inputs is None:
            break
        first = res.inputs[0]
        if axis >= len(first) or first[axis] != res.shape[axis]:
            made = None if memo is None else memo.get(cur)
            if made is None:
                made = formulas(res)
                if memo is not None:
                    memo[cur] = made
            text = made[axis] if axis < len(made) else None
            value = res.shape[axis]
            return f"{value} = {text} at {cur}" if text else f"{value} at {cur}"
        cur = res.layer.sources[0]
    if cur == "input":
        return f"{prop.input[axis]} from the input"
    return ""



@dataclass(frozen=True)
class Branch:
    """One input of a merge, seen from where the branches part: ``changes`` are the layers on
    it after the split that change the size, each with its output's spatial sizes."""

    label: str
    changes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Split:
    """Where a merge's mismatched inputs part (``at``, its spatial sizes ``size``), and each branch."""

    at: str
    size: str
    branches: tuple[Branch, ...]

    def text(self) -> str:
        """``the branches part at enc2 (32x32): enc2 unchanged, up2 by pool2 -> 16x16 then up2 -> 33x33``."""
        parts = [f"{b.label} by " + " then ".join(f"{name} -> {size}" for name, size in b.changes) if b.changes
                 else f"{b.label} unchanged" for b in self.branches]
        return f"the branches part at {self.at} ({self.size}): " + ", ".join(parts)


def split(prop: Propagation, merge: str, inputs: Sequence[int]) -> Split | None:
    """Where the merge's ``inputs`` (positions in its ``from``) part: their last common
    ancestor in the graph (the latest in graph order of the layers, or ``input``, every one of
    them reads, or is), and the layers on each branch after it that change the spatial size.
    None where a size is not known.  Uses NetworkX: only an error's explanation comes here.

        >>> from archsolve.shapes.graph import build_network
        >>> from archsolve.shapes.propagate import propagate
        >>> from archsolve.spec.load import load_text
        >>> spec = load_text("input: [1, 16]\\nlayers:\\n  - {name: p, op: maxpool, kernel: 2}\\n"
        ...                  "  - {name: a, op: conv, out: 1, kernel: 3}\\n  - {name: b, op: upsample, scale: 2}\\n"
        ...                  "  - {name: m, op: add, from: [p, b]}")
        >>> split(propagate(build_network(spec), {}), "m", [0, 1]).text()
        'the branches part at p (8): p unchanged, b by a -> 6 then b -> 12'
    """
    import networkx as nx

    net = prop.network
    lay = prop.layers[merge].layer
    labels = lay.refs or lay.sources
    sources = [lay.sources[k] for k in inputs]
    g = nx.DiGraph((src, x.name) for x in net.order for src in x.sources)
    reach = [nx.ancestors(g, s) | {s} for s in sources]
    common = set.intersection(*reach)
    if not common:
        return None
    position = {"input": -1, **{x.name: i for i, x in enumerate(net.order)}}
    at = max(common, key=position.__getitem__)
    after = nx.descendants(g, at)
    shared = set.intersection(*(r & after for r in reach)) if len(reach) > 1 else set()
    branches = []
    for k, r in zip(inputs, reach, strict=True):
        changes = []
        for name in sorted((r & after) - shared, key=position.__getitem__):
            res = prop.layers[name]
            if res.shape is None or res.inputs is None:
                return None
            if tuple(res.inputs[0][1:]) != tuple(res.shape[1:]):
                changes.append((_label(prop, name), _size(res.shape)))
        branches.append(Branch(labels[k], tuple(changes)))
    size = prop.shape_of(at)
    if size is None:
        return None
    return Split(_label(prop, at), _size(size), tuple(branches))


def _size(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape[1:]))


def _label(prop: Propagation, name: str) -> str:
    """A block call's name for its output layer (``enc2`` for ``enc2/relu4``), as a spec reads it."""
    return next((alias for alias, target in prop.network.spec.aliases.items() if target == name), name)
