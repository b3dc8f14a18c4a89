"""Minimal repairs: the fewest edits of values written in a spec that make it valid.

A change edits one value the spec writes -- a layer field, a block-call argument, a
literal in a block definition (changing every call) or an input size -- to another value
of that field's default domain (docs/spec-format.md).  Single changes are tried exhaustively,
fields of the layers in trouble first; pairs are tried only when no single change works,
within a time bound.  Every repair is verified by re-running the whole check before it is
offered.

Example::

    >>> [r.changes for r in find_repairs(report)]   # doctest: +SKIP
    [{'up4.kernel': 2}]
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from archsolve.check.scope import scope_of
from archsolve.errors import ArchsolveError
from archsolve.lang.yamlio import set_at
from archsolve.ops.base import Severity
from archsolve.shapes.graph import build_network
from archsolve.shapes.propagate import Propagation, propagate
from archsolve.spec.load import load_edited
from archsolve.spec.model import Spec
from archsolve.spec.written import MAX_VALUES_PER_FIELD, Candidate, candidates, domain_values, nearest

REPAIR_SECONDS = 3.0
MAX_REPAIRS = 5


@dataclass(frozen=True)
class Repair:
    changes: dict[str, int]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"changes": self.changes, "message": self.message}


def _valid(spec: Spec, changes: Mapping[tuple[Any, ...], int], given: Mapping[str, int]) -> bool:
    data = copy.deepcopy(spec.document.data)
    for path, value in changes.items():
        set_at(data, path, value)
    try:
        changed = load_edited(spec, data)
        return propagate(build_network(changed), given, receptive_fields=False, warnings=False).ok
    except ArchsolveError:
        return False


def _item_path(c: Candidate) -> tuple[Any, ...]:
    """Where the layer of a layer's own field stands in the document."""
    return c.path[:-1 if c.axis is None else -2]


def _in_domains(spec: Spec, changes: Mapping[Candidate, int], given: Mapping[str, int]) -> bool:
    """Whether each changed value lies in its field's default domain given the other changes
    (a padding moved with its kernel: 0..dilation * (kernel - 1) of the new kernel)."""
    data = copy.deepcopy(spec.document.data)
    for c, v in changes.items():
        set_at(data, c.path, v)
    for c, v in changes.items():
        if c.field is None:
            continue
        node: Any = data
        for key in _item_path(c):
            node = node[key]
        if v not in domain_values(c.field, node, c.axis, given):
            return False
    return True


def find_repairs(prop: Propagation, nearest_inputs: list[tuple[int, ...]] | None = None,
                 seconds: float | None = None) -> list[Repair]:
    """The smallest verified repairs, fewest changes first (at most a handful).  No edit is
    tried that cannot clear the mismatched merges (:mod:`.scope`)."""
    seconds = REPAIR_SECONDS if seconds is None else seconds
    spec = prop.network.spec
    if spec.document is None:
        return []
    scope = scope_of(prop)
    layers: dict[str, set[str]] = {}  # a top-level layer or block call -> its layers
    for lay in prop.network.order:
        layers.setdefault(lay.name.partition("/")[0], set()).add(lay.name)
    reached: dict[tuple[Any, ...], tuple[frozenset[str], frozenset[str]] | None] = {}  # by path: names repeat

    def touched(c: Candidate) -> tuple[frozenset[str], frozenset[str]] | None:
        """The layers an edit of ``c`` changes the fields of, and what they reach; None for an
        input size, a block's own definition (which many layers share), and a layer the file
        does not name (the loader may have named it apart from the candidate's name): no proof."""
        if c.path not in reached:
            own = c.name.rpartition(".")[0].partition("[")[0]
            path = c.path[:-1] if isinstance(c.path[-1], int) else c.path  # less the axis
            item: Any = spec.document.data  # type: ignore[union-attr]
            for key in path[:-1]:
                item = item[key]
            named = path[:-2] == ("layers",) and isinstance(item, dict) and item.get("name") == own
            found = frozenset(layers.get(own, ())) if named else frozenset()
            reached[c.path] = (found, scope.reach(found)) if found else None
        return reached[c.path]

    def may_help(*cands: Candidate) -> bool:
        """Whether the scope leaves these edits a chance (:class:`~.scope.Scope`)."""
        if not scope.merges:
            return True  # no mismatched merge: nothing to prove
        if any(c.name.startswith("input.") for c in cands):
            return scope.input_helps or len(cands) > 1  # with a field edited too, the proof is void
        got = [touched(c) for c in cands]
        if any(t is None for t in got):
            return True
        return scope.helps(frozenset().union(*(t[0] for t in got)),  # type: ignore[index]
                           frozenset().union(*(t[1] for t in got)))  # type: ignore[index]

    troubled = {p.layer for p in prop.problems if p.severity is Severity.ERROR}
    for p in prop.problems:
        res = prop.layers.get(p.layer)
        if p.severity is Severity.ERROR and res is not None:
            troubled |= set(res.layer.refs or res.layer.sources)
    given = {k: v for k, v in prop.env.items() if k in spec.vars or k in spec.unknowns}
    channels = frozenset(int(r.shape[0]) for r in prop.layers.values() if r.shape)
    cands = candidates(spec, troubled, channels, given)
    deadline = time.process_time() + seconds  # CPU time: a busy machine must not cut the search short
    found: list[Repair] = []

    def offer(changes: list[tuple[Candidate, int]]) -> None:
        names = {c.name: v for c, v in changes}
        text = "; ".join(f"change {c.name} from {c.current} to {v}" for c, v in changes)
        found.append(Repair(names, text))

    for cand in cands:
        if not may_help(cand):
            continue
        for v in cand.values:
            if time.process_time() > deadline or len(found) >= MAX_REPAIRS:
                break
            if _valid(spec, {cand.path: v}, given):
                offer([(cand, v)])
                break  # the nearest value for this field is enough
    # the nearest valid input sizes: one change where one axis moves alone, else (a square
    # input moving together) two changes, one idea, offered when no single change works
    sizes = [c for c in cands if c.name.startswith("input.")]
    single = bool(found)
    for target in nearest_inputs or []:
        if len(sizes) == len(target) and len(found) < MAX_REPAIRS:
            moved = [(c, t) for c, t in zip(sizes, target, strict=True) if c.current != t]
            if (len(moved) == 1 or not single) and _valid(spec, {c.path: t for c, t in moved}, given):
                offer(moved)
    if single:
        found.sort(key=lambda r: len(r.changes))
        return found[:MAX_REPAIRS]
    near = [c for c in cands if c.priority <= 1]
    got = [touched(c) for c in near]
    if any(t is None for t in got) or scope.pairs_may_help(t[1] for t in got):  # type: ignore[index]
        pairs = itertools.combinations(near, 2)
    else:
        pairs = iter(())  # no two of the edits reach enough of a merge's branches
    for a, b in pairs:
        if time.process_time() > deadline or len(found) >= MAX_REPAIRS:
            break
        if not may_help(a, b):
            continue
        for va, vb in _pairs(spec, a, b, given):
            if time.process_time() > deadline:
                break
            if not _in_domains(spec, {a: va, b: vb}, given):
                continue
            if _valid(spec, {a.path: va, b.path: vb}, given):
                offer([(a, va), (b, vb)])
                break
    found.sort(key=lambda r: len(r.changes))
    return found[:MAX_REPAIRS]


def _pairs(spec: Spec, a: Candidate, b: Candidate, given: Mapping[str, int]) -> Iterator[tuple[int, int]]:
    """The nearest values of each, and where one field's domain follows the other's value
    (padding 0..dilation * (kernel - 1)), the other's values for each of its new values."""
    seen: set[tuple[int, int]] = set()
    for pair in itertools.chain(
            ((x, y) for x in a.values[:6] for y in _values_given(spec, b, a, x, given)[:6]),
            ((x, y) for y in b.values[:6] for x in _values_given(spec, a, b, y, given)[:6])):
        if pair not in seen:
            seen.add(pair)
            yield pair


def _values_given(spec: Spec, c: Candidate, other: Candidate, value: int,
                  given: Mapping[str, int]) -> tuple[int, ...]:
    """``c``'s alternatives, nearest first, once ``other`` (in the same layer) is ``value``."""
    if c.field is None or other.field is None or _item_path(c) != _item_path(other):
        return c.values
    data = copy.deepcopy(spec.document.data)
    set_at(data, other.path, value)
    node: Any = data
    for key in _item_path(c):
        node = node[key]
    return tuple(nearest(domain_values(c.field, node, c.axis, given), c.current, MAX_VALUES_PER_FIELD))
