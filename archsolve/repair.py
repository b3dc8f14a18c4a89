"""Minimal repairs: the fewest edits of values written in a spec that make it valid.

A change edits one value the spec writes -- a layer field, a block-call argument, a
literal in a block definition (changing every call) or an input size -- to another value
of that field's default domain (CONTRACT §1).  Single changes are tried exhaustively,
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

from .errors import ArchsolveError, ExprError
from .expr import parse
from .graph import build_network
from .ops import ALIASES, AXIS_NAMES, OPS, Kind
from .propagate import Propagation, propagate
from .spec import Spec, load_document
from .yamlio import Document, set_at

REPAIR_SECONDS = 3.0
MAX_REPAIRS = 5
MAX_VALUES_PER_FIELD = 16
SPATIAL = frozenset({"kernel", "stride", "padding", "dilation", "output_padding", "scale", "size", "factor"})
CHANNEL_FIELDS = frozenset({"out", "groups"})
NUMERIC = (Kind.INT, Kind.AXES)


@dataclass(frozen=True)
class Candidate:
    """One value written in the spec that a repair may change."""

    name: str  # as unknowns are named: up4.kernel, up4.kernel[1], enc1.c, block:dc/a.kernel, input.H
    path: tuple[Any, ...]
    current: int
    values: tuple[int, ...]  # the alternatives, nearest first
    priority: int  # 0: a layer with an error; 1: elsewhere


@dataclass(frozen=True)
class Repair:
    changes: dict[str, int]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"changes": self.changes, "message": self.message}


def _domain_values(field: Any, env: Mapping[str, int]) -> list[int]:
    if field.domain is None:
        return []
    try:
        lo = parse(field.domain[0]).evaluate(env)
        hi = parse(field.domain[1]).evaluate(env)
    except (KeyError, ExprError):
        return []
    return list(range(lo, hi + 1))


def _layer_env(item: Mapping[str, Any], axis: int | None) -> dict[str, int]:
    env = {}
    for k, v in item.items():
        if isinstance(v, list) and axis is not None and axis < len(v):
            v = v[axis]
        if isinstance(v, int) and not isinstance(v, bool):
            env[k] = v
    env.setdefault("stride", env.get("kernel", 1))
    env.setdefault("dilation", 1)
    return env


def candidates(spec: Spec, troubled: set[str]) -> list[Candidate]:
    """Every numeric value the spec writes, with the values its field may take."""
    data = spec.document.data
    out: list[Candidate] = []
    axes = spec.axis_names

    def add(name: str, path: tuple[Any, ...], item: Mapping[str, Any], field: Any, axis: int | None,
            layer: str) -> None:
        node: Any = item[field.name]
        current = node[axis] if axis is not None else node
        if isinstance(current, bool) or not isinstance(current, int):
            return
        values = [v for v in _domain_values(field, _layer_env(item, axis)) if v != current]
        values.sort(key=lambda v: (abs(v - current), v))
        near = layer in troubled or any(t.startswith(layer + "/") for t in troubled)
        # shapes break far more often than channels: try the spatial fields first
        prio = (0 if near else 2) + (1 if field.name in CHANNEL_FIELDS or field.name not in SPATIAL else 0)
        out.append(Candidate(name, path, current, tuple(values[:MAX_VALUES_PER_FIELD]), prio))

    def walk_layers(items: list[Any], base: tuple[Any, ...], prefix: str) -> None:
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            name = item.get("name") or f"{item.get('op') or item.get('block')}{i + 1}"
            if "op" in item:
                op = OPS.get(ALIASES.get(item["op"], item["op"]))
                if op is None:
                    continue
                for f in op.fields:
                    if f.kind not in NUMERIC or f.name not in item:
                        continue
                    full = f"{prefix}{name}.{f.name}"
                    if isinstance(item[f.name], list):
                        for a in range(len(item[f.name])):
                            add(f"{full}[{a}]", (*base, i, f.name, a), item, f, a, prefix + name)
                    else:
                        add(full, (*base, i, f.name), item, f, None, prefix + name)
            elif "block" in item and not prefix:
                block = spec_blocks.get(item["block"], {})
                for p, v in item.items():
                    if p in ("name", "block", "from", "repeat") or isinstance(v, bool) or not isinstance(v, int):
                        continue
                    field = _param_field(block, p)
                    if field is not None:
                        add(f"{name}.{p}", (*base, i, p), {**item, field.name: v, p: v},
                            _renamed(field, p), None, name)

    spec_blocks = data.get("blocks") or {}
    walk_layers(data.get("layers") or [], ("layers",), "")
    for b, block in spec_blocks.items():
        if isinstance(block, dict) and isinstance(block.get("layers"), list):
            walk_layers(block["layers"], ("blocks", b, "layers"), f"block:{b}/")
    inp = data.get("input") or []
    for k in range(1, len(inp)):
        if isinstance(inp[k], int) and not isinstance(inp[k], bool):
            out.append(Candidate(f"input.{axes[k - 1]}", ("input", k), inp[k], (), 3))
    out.sort(key=lambda c: c.priority)
    return out


def _param_field(block: Mapping[str, Any], param: str) -> Any:
    for item in block.get("layers") or []:
        if not isinstance(item, dict) or "op" not in item:
            continue
        op = OPS.get(ALIASES.get(item["op"], item["op"]))
        for key, value in item.items():
            if value == param and op is not None and key in op.field_map:
                return op.field_map[key]
    return None


def _renamed(field: Any, name: str) -> Any:
    from dataclasses import replace

    return replace(field, name=name)


def _valid(spec: Spec, changes: Mapping[tuple[Any, ...], int], given: Mapping[str, int]) -> bool:
    data = copy.deepcopy(spec.document.data)
    for path, value in changes.items():
        set_at(data, path, value)
    try:
        changed = load_document(Document(data, spec.document.file, spec.document.marks))
        return propagate(build_network(changed), given, receptive_fields=False).ok
    except ArchsolveError:
        return False


def find_repairs(prop: Propagation, nearest_inputs: list[tuple[int, ...]] | None = None,
                 seconds: float | None = None) -> list[Repair]:
    """The smallest verified repairs, fewest changes first (at most a handful)."""
    seconds = REPAIR_SECONDS if seconds is None else seconds
    spec = prop.network.spec
    if spec.document is None:
        return []
    troubled = {p.layer for p in prop.problems if p.severity == "error"}
    for p in prop.problems:
        res = prop.layers.get(p.layer)
        if p.severity == "error" and res is not None:
            troubled |= set(res.layer.refs or res.layer.sources)
    given = {k: v for k, v in prop.env.items() if k in spec.vars or k in spec.unknowns}
    cands = candidates(spec, troubled)
    deadline = time.monotonic() + seconds
    found: list[Repair] = []

    def offer(changes: list[tuple[Candidate, int]]) -> None:
        names = {c.name: v for c, v in changes}
        text = "; ".join(f"change {c.name} from {c.current} to {v}" for c, v in changes)
        found.append(Repair(names, text))

    for cand in cands:
        for v in cand.values:
            if time.monotonic() > deadline or len(found) >= MAX_REPAIRS:
                break
            if _valid(spec, {cand.path: v}, given):
                offer([(cand, v)])
                break  # the nearest value for this field is enough
    if found:
        return found
    # an input written square moves together: two changes, one idea
    sizes = [c for c in cands if c.name.startswith("input.")]
    for target in nearest_inputs or []:
        if len(sizes) == len(target) and len(found) < MAX_REPAIRS:
            changes = {c.path: t for c, t in zip(sizes, target, strict=True)}
            if _valid(spec, changes, given):
                offer([(c, t) for c, t in zip(sizes, target, strict=True) if c.current != t])
    for a, b in itertools.combinations([c for c in cands if c.priority <= 1], 2):
        if time.monotonic() > deadline or len(found) >= MAX_REPAIRS:
            break
        for va, vb in _pairs(a, b):
            if time.monotonic() > deadline:
                break
            if _valid(spec, {a.path: va, b.path: vb}, given):
                offer([(a, va), (b, vb)])
                break
    found.sort(key=lambda r: len(r.changes))
    return found[:MAX_REPAIRS]


def _pairs(a: Candidate, b: Candidate) -> Iterator[tuple[int, int]]:
    yield from itertools.product(a.values[:6], b.values[:6])


__all__ = ["find_repairs", "Repair", "Candidate", "candidates", "AXIS_NAMES"]
