"""Which edits could clear a check's mismatched merges, decided before any is tried.

Repairs and the nearest valid input sizes are found by trying edits, each a run of the whole
network.  A merge of many mismatched branches (an ``add`` of a hundred differently padded
convs) would have every edit tried until the time runs out, and none can work.  Two facts rule
such edits out at once, each a proof, not a guess:

- an edit of a layer's fields changes that layer and the layers it feeds, nothing else: where
  the branches of a merge that it does not feed disagree already, the merge stays broken (its
  own rule, run on those branches alone, says so);
- a merge's branches as expressions of the input's sizes (:func:`symbolic_shapes`, each axis
  its own unknown): where two of them differ by a constant on some axis, no input size makes
  them agree.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.shapes.propagate import propagate
    >>> spec = load_text("input: [1, 8]\\nlayers: [{name: a, op: conv, out: 1, kernel: 1, from: input},"
    ...                  " {name: b, op: conv, out: 1, kernel: 1, padding: 1, from: input},"
    ...                  " {name: c, op: conv, out: 1, kernel: 1, padding: 2, from: input},"
    ...                  " {name: s, op: add, from: [a, b, c]}]")
    >>> scope = scope_of(propagate(build_network(spec), {}))
    >>> scope.helps({"b"}), scope.helps({"b", "c"}), scope.input_helps
    (False, True, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from archsolve.errors import ArchsolveError, ExprError
from archsolve.lang.expr import Name, Num, Value, fold, lift
from archsolve.lang.linear import canonical
from archsolve.ops.base import Collect, Failure, Severity
from archsolve.ops.table import OPS
from archsolve.shapes.graph import Network, symbolic_shapes
from archsolve.shapes.propagate import LayerResult, Propagation

APART = 8  # branches of a merge kept that no two agree: an edit must reach all of them but one


@dataclass(frozen=True)
class Merge:
    """A mismatched merge, and some of its branches no two of which agree (at most
    :data:`APART`): whatever an edit leaves alone of those must be one at most."""

    result: LayerResult
    apart: frozenset[str]


@dataclass(frozen=True)
class Scope:
    """The mismatched merges of a propagation, what each layer reaches of them, and whether
    an input size can still make every merge agree (see the module docstring)."""

    merges: tuple[Merge, ...]
    # per layer, the mismatched merges and their branches it is or feeds: all an edit of it
    # can change that the merges read (one pass over the network, not one walk per edit)
    reaches: Mapping[str, frozenset[str]]
    network: Network

    @cached_property
    def input_helps(self) -> bool:
        """Whether some input size could make every mismatched merge agree (False: proven
        that none can)."""
        return not self.merges or _input_helps(self.network, [m.result.layer.name for m in self.merges])

    def merge(self, name: str) -> Merge | None:
        """The mismatched merge of that name, if it is one."""
        return next((m for m in self.merges if m.result.layer.name == name), None)

    def reach(self, layers: Iterable[str]) -> frozenset[str]:
        """Of the mismatched merges and their branches, those ``layers`` are or feed: what an
        edit of their fields may change of what the merges read."""
        return frozenset().union(*(self.reaches.get(n, frozenset()) for n in layers))

    def helps(self, edited: Iterable[str], fed: frozenset[str] | None = None, merge: str | None = None) -> bool:
        """Whether editing the fields of the layers ``edited`` (which reach ``fed``,
        :meth:`reach`) can make every mismatched merge agree (only the one named ``merge``,
        for a fix of that merge alone): False where a merge's branches that they do not
        reach disagree already."""
        edited = set(edited)
        if fed is None:
            fed = self.reach(edited)
        for m in self.merges:
            res = m.result
            if merge is not None and res.layer.name != merge:
                continue
            if res.layer.name in edited:
                continue  # its own fields change: no proof
            if len(m.apart - fed) > 1:
                return False
            kept = [shape for src, shape in zip(res.layer.sources, res.inputs, strict=True)  # type: ignore[arg-type]
                    if src not in fed]
            if len(kept) > 1 and _mismatch(res, kept):
                return False
        return True

    def pairs_may_help(self, fed: Iterable[frozenset[str]]) -> bool:
        """Whether two of the edits that reach these can make every merge agree together: not
        where no two of them reach all but one of a merge's branches that disagree."""
        fed = list(fed)
        for m in self.merges:
            counts = sorted((len(m.apart & f) for f in fed), reverse=True)[:2]
            if sum(counts) < len(m.apart) - 1:
                return False
        return True


def scope_of(prop: Propagation) -> Scope:
    """The :class:`Scope` of a propagation's errors, made once (kept with its trials)."""
    got = prop.trials.memo.get("scope")
    if got is None:
        got = prop.trials.memo["scope"] = _scope(prop)
    return got  # type: ignore[no-any-return]


def _scope(prop: Propagation) -> Scope:
    names = {p.layer for p in prop.problems if p.severity is Severity.ERROR and p.kind == "mismatch"}
    merges = tuple(Merge(prop.layers[n], _apart(prop.layers[n])) for n in sorted(names)
                   if n in prop.layers and prop.layers[n].args is not None and prop.layers[n].inputs is not None)
    watched = {m.result.layer.name for m in merges} | {s for m in merges for s in m.result.layer.sources}
    feeds: dict[str, list[str]] = {}
    for lay in prop.network.order:
        for src in dict.fromkeys(lay.sources):
            feeds.setdefault(src, []).append(lay.name)
    # latest first: a layer reaches what the layers it feeds reach, and itself where watched
    reaches: dict[str, frozenset[str]] = {}
    none: frozenset[str] = frozenset()
    for name in [*(lay.name for lay in reversed(prop.network.order)), "input"]:
        below = [reaches[n] for n in feeds.get(name, ())]
        got = below[0] if len(below) == 1 else frozenset().union(*below) if below else none
        reaches[name] = got | {name} if name in watched else got
    return Scope(merges, reaches, prop.network)


def _apart(res: LayerResult) -> frozenset[str]:
    """Up to :data:`APART` of the merge's branches no two of which agree, taken in order."""
    got: dict[str, tuple[int, ...]] = {}
    for src, shape in zip(res.layer.sources, res.inputs, strict=True):  # type: ignore[arg-type]
        if len(got) == APART:
            break
        if src not in got and all(_mismatch(res, [other, shape]) for other in got.values()):
            got[src] = shape
    return frozenset(got)


def _mismatch(res: LayerResult, shapes: list[tuple[int, ...]]) -> bool:
    """Whether the merge's rule finds these of its branches mismatched."""
    req = Collect(warns=False)
    OPS[res.layer.op].shape(res.args, shapes, req)  # type: ignore[arg-type]
    return any(f.rule == "mismatch" for f in req.failures)


def _input_helps(net: Network, merges: list[str]) -> bool:
    """Whether some input size could make all of ``merges`` agree: False where one's rule,
    run on its branches as expressions of the input's sizes, has a condition no size meets."""
    spec = net.spec
    # § names no spec writes: each axis its own size
    sizes = (spec.input[0], *(Name(f"§input.{i}") for i in range(1, len(spec.input))))
    conditions: dict[str, list[tuple[Value, Failure]]] = {m: [] for m in merges}
    try:
        symbolic_shapes(Network(replace(spec, input=sizes), net.order), conditions)
    except ArchsolveError:  # a rule that needs its sizes as numbers: no proof either way
        return True
    return not any(f.rule == "mismatch" and _never(cond) for found in conditions.values() for cond, f in found)


def _never(cond: Value) -> bool:
    """Whether a condition is false whatever its names are (``x + 2 == x``)."""
    try:
        got = canonical(fold(lift(cond)))
    except ExprError:  # a constant division by zero: no proof either way
        return False
    return isinstance(got, Num) and not got.value
