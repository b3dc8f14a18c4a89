"""The values a spec file writes, where it writes them, and what else each could be.

Repairs (``check``) and relaxations (``solve``) both edit values written in the file: a layer
field, a block-call argument, a literal in a block definition, an input size.  This module
finds them, with the alternatives of each field's default domain, and ties the ``"?"`` of a
block definition that several calls share (the file has one place for its value).

Example::

    >>> from archsolve.spec.load import load_text
    >>> spec = load_text('''
    ... input: [1, 8]
    ... layers: [{name: c, op: conv, out: 1, kernel: 3}]
    ... ''')
    >>> [(c.name, c.current, c.values[:3]) for c in candidates(spec, {"c"})][:1]
    [('c.kernel', 3, (2, 4, 1))]
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from archsolve.errors import ExprError
from archsolve.lang.expr import Bin, Expr, Name, parse
from archsolve.ops.base import Kind
from archsolve.ops.table import ALIASES, OPS
from archsolve.spec.model import Constraint, Spec, layer_name

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
    field: Any = None  # the FieldDef of a layer's own field (its domain may name other fields)
    axis: int | None = None


def domain_values(field: Any, item: Mapping[str, Any], axis: int | None,
                  given: Mapping[str, int] | None = None) -> range:
    """The values of ``field``'s default domain in the layer ``item`` (a layer as the file
    writes it) on ``axis``: its ends worked out from the layer's other fields, those written
    as numbers or as expressions over ``given`` (the vars' values), so that a padding follows
    a dilation ``d``; an unwritten stride is the kernel, an unwritten dilation 1.

        >>> from archsolve.ops.table import OPS
        >>> conv = {"op": "conv", "kernel": 3, "dilation": "d", "padding": 1}
        >>> domain_values(OPS["conv"].field_map["padding"], conv, None, {"d": 6})[-1]
        12
    """
    if field.domain is None:
        return range(0)
    env = _layer_env(item, axis, given or {})
    try:
        lo = _domain_end(field.domain[0]).evaluate(env)
        hi = _domain_end(field.domain[1]).evaluate(env)
    except (KeyError, ExprError):
        return range(0)
    return range(lo, hi + 1)


@functools.cache
def _domain_end(text: str) -> Expr:
    """An end of a default domain (``dilation * (kernel - 1)``), parsed once: the op table
    has a few dozen, and a repair asks for thousands of fields' domains."""
    return parse(text)


def nearest(values: Sequence[int], current: int, k: int) -> list[int]:
    """The ``k`` of the sorted ``values`` nearest ``current``, ``current`` itself left out,
    nearest first (on a tie the smaller): a padding's domain may hold thousands, of which a
    repair tries a few.

        >>> nearest([0, 1, 2, 4, 5, 9], 3, 4), nearest(range(0, 10), 3, 3)
        ([2, 4, 1, 5], [2, 4, 1])
    """
    lo = bisect.bisect_left(values, current) - 1
    hi = bisect.bisect_right(values, current)
    out: list[int] = []
    while len(out) < k and (lo >= 0 or hi < len(values)):
        if hi >= len(values) or (lo >= 0 and current - values[lo] <= values[hi] - current):
            out.append(values[lo])
            lo -= 1
        else:
            out.append(values[hi])
            hi += 1
    return out


def _layer_env(item: Mapping[str, Any], axis: int | None, given: Mapping[str, int]) -> dict[str, int]:
    env = {}
    for k, v in item.items():
        if isinstance(v, list) and axis is not None and axis < len(v):
            v = v[axis]
        if isinstance(v, str) and given:
            try:  # a var's value (an expression over block parameters has none here)
                v = parse(v).evaluate(given)
            except (KeyError, ExprError):
                continue
        if isinstance(v, int) and not isinstance(v, bool):
            env[k] = v
    env.setdefault("stride", env.get("kernel", 1))
    env.setdefault("dilation", 1)
    return env


def candidates(spec: Spec, troubled: set[str], channels: frozenset[int] = frozenset(),
               given: Mapping[str, int] | None = None) -> list[Candidate]:
    """Every numeric value the spec writes, with the values its field may take: the nearest,
    and for a channel count (``out``) also the counts other layers have (a merge's other
    branch: 64 -> 32 is far from 64, but it is what the add needs).  ``given``: the vars'
    values, for domains that name a field written as a var (a padding with ``dilation: d``)."""
    data = spec.document.data
    out: list[Candidate] = []
    axes = spec.axis_names
    # a layer in trouble made by a block call: the definition's layer is near too (block:B/x)
    inside = {f"{g.op}/{m[len(g.name) + 1:]}" for g in spec.groups if g.op.startswith("block:")
              for m in g.members if m in troubled}

    def add(name: str, path: tuple[Any, ...], item: Mapping[str, Any], field: Any, axis: int | None,
            layer: str) -> None:
        node: Any = item[field.name]
        current = node[axis] if axis is not None else node
        if isinstance(current, bool) or not isinstance(current, int):
            return
        allowed = domain_values(field, item, axis, given)
        values = nearest(allowed, current, MAX_VALUES_PER_FIELD)
        if field.name == "out" and channels:
            values += sorted((c for c in channels if c in allowed and c != current and c not in values),
                             key=lambda v: (abs(v - current), v))
        near = layer in troubled or layer in inside or any(t.startswith(layer + "/") for t in troubled)
        # shapes break far more often than channels: try the spatial fields first
        prio = (0 if near else 2) + (1 if field.name in CHANNEL_FIELDS or field.name not in SPATIAL else 0)
        own = field.name in item and path[-1 if axis is None else -2] == field.name
        out.append(Candidate(name, path, current, tuple(values), prio, field if own else None, axis))

    def walk_layers(items: list[Any], base: tuple[Any, ...], prefix: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            name = layer_name(item, i, seen)  # as the loader names it: a repair names that layer
            seen.add(name)
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
                    field = _param_field(block, p) if p not in ("name", "block", "from", "repeat") else None
                    if field is None:
                        continue
                    if isinstance(v, list):  # a list argument: each axis its own value (b1.k[1])
                        for a in range(len(v)):
                            add(f"{name}.{p}[{a}]", (*base, i, p, a), {**item, field.name: v, p: v},
                                _renamed(field, p), a, name)
                    else:
                        add(f"{name}.{p}", (*base, i, p), {**item, field.name: v, p: v}, _renamed(field, p), None, name)

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
    return replace(field, name=name)


def writable(spec: Spec) -> Spec:
    """``spec`` with one more constraint for each ``"?"`` that stands for several unknowns --
    written inside a block definition that several calls use, or reached through a YAML
    alias (``padding: &p ["?", 0]`` and ``padding: *p``): their unknowns equal, since the
    file has one place for the value.

    ``solve --write`` solves this, so that its answer can be written back.
    """
    at: dict[Any, list[str]] = {}
    for name, unk in spec.unknowns.items():
        if not unk.path:
            continue
        # an alias is the anchored node itself: its unknowns share the "?"'s line and column
        where = unk.where
        place = (where.file, where.line, where.column) if where is not None and where.column is not None else unk.path
        at.setdefault(place, []).append(name)
    extra = [Constraint(Bin("==", Name(names[0]), Name(other)),
                        f"{names[0]} == {other} (one '?' in the file: written back, it takes one value)",
                        spec.unknowns[other].where)
             for names in at.values() for other in names[1:]]
    return replace(spec, constraints=(*spec.constraints, *extra), ties_calls=True)
