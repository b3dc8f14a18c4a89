"""Keeping a model's hierarchy: a module class called more than once becomes a block.

The flat import names every layer and where it came from (:class:`Origin`).  A module whose
layers are one run of the flat list, read one outside value (the block's ``in``) and are read
from outside only through their last layer is a candidate; the candidates of one class with
the same layers and wiring become calls of one block, the values that differ between calls
its parameters (``conv1_out``, ``conv1_stride``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archsolve.spec.model import RESERVED

LAYER_REFS = ("from", "like", "indices")  # the keys of a layer that name other layers


@dataclass(frozen=True)
class Origin:
    """Where a layer came from: the module path or fx node name it is named after, and the
    modules ``(path, class)`` it is inside, outermost first."""

    base: str
    stack: tuple[tuple[str, type], ...]


@dataclass
class Folded:
    """The top-level layers, the blocks (name: its parameters and layers) and the constraints."""

    layers: list[dict[str, Any]]
    blocks: dict[str, tuple[list[str], list[dict[str, Any]]]] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Group:
    path: str
    cls: type
    start: int
    stop: int  # one past the last layer
    source: str  # the one outside layer it reads: the block's `in`


def implicit_from(layers: Sequence[Mapping[str, Any]], first: str) -> list[dict[str, Any]]:
    """The layers with ``from`` left out where it names the layer before (``first`` for the
    first one), as a person writes a spec.

        >>> implicit_from([{"name": "a", "op": "relu", "from": "in"}, {"name": "b", "op": "add", "from": ["a", "in"]}], "in")
        [{'name': 'a', 'op': 'relu'}, {'name': 'b', 'op': 'add', 'from': ['a', 'in']}]
    """
    out, previous = [], first
    for layer in layers:
        written = dict(layer)
        if written.get("from") == previous:
            del written["from"]
        out.append(written)
        previous = layer["name"]
    return out


def _identifier(path: str) -> str:
    """A module path as a layer name: ``layer1.0`` -> ``layer1_0``; no ``__`` (reserved in names)."""
    return re.sub(r"_{2,}", "_", re.sub(r"\W", "_", path.replace(".", "_"))) or "_"


def _refs(layer: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for key in LAYER_REFS:
        value = layer.get(key)
        found += value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return found


def _rename(layer: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    out = dict(layer)
    for key in LAYER_REFS:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [names.get(v, v) for v in value]
        elif isinstance(value, str):
            out[key] = names.get(value, value)
    return out


def _groups(layers: Sequence[Mapping[str, Any]], origins: Sequence[Origin]) -> list[_Group]:
    """The modules of the user's own classes whose layers can stand as a block call, outermost first."""
    spans: dict[str, list[int]] = {}
    classes: dict[str, type] = {}
    for i, origin in enumerate(origins):
        for path, cls in origin.stack:
            if path and not cls.__module__.startswith("torch."):
                spans.setdefault(path, []).append(i)
                classes[path] = cls
    index = {layer["name"]: i for i, layer in enumerate(layers)}
    found: list[_Group] = []
    for path, members in spans.items():
        start, stop = members[0], members[-1] + 1
        if members != list(range(start, stop)):
            continue
        inside = {layers[i]["name"] for i in range(start, stop)}
        outside = {r for i in range(start, stop) for r in _refs(layers[i]) if r not in inside}
        read_later = {r for layer in layers[stop:] for r in _refs(layer) if r in inside}
        if len(outside) == 1 and read_later <= {layers[stop - 1]["name"]} and index.get(next(iter(outside)), -1) < start:
            found.append(_Group(path, classes[path], start, stop, next(iter(outside))))
    return sorted(found, key=lambda g: (g.path.count("."), g.start))


def _body(group: _Group, layers: Sequence[Mapping[str, Any]], origins: Sequence[Origin]) -> list[dict[str, Any]]:
    """The group's layers as a block's: names relative to the module, its input ``in``."""
    names: dict[str, str] = {group.source: "in"}
    taken: set[str] = set()
    for i in range(group.start, group.stop):
        base = origins[i].base
        rel = base[len(group.path) + 1:] if base.startswith(group.path + ".") else layers[i]["op"]
        rel = _identifier(rel)
        if rel[0].isdigit():
            rel = f"{layers[i]['op']}_{rel}"
        if rel in RESERVED:
            rel += "_"
        unique, n = rel, 1
        while unique in taken:
            unique, n = f"{rel}_{n}", n + 1
        taken.add(unique)
        names[layers[i]["name"]] = unique
    return [_rename(layers[i], names) | {"name": names[layers[i]["name"]]} for i in range(group.start, group.stop)]


def _shape_of(body: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
    """What calls of one block share: names, ops, wiring, and which fields are written."""
    return tuple((layer["name"], layer["op"], repr([layer.get(k) for k in LAYER_REFS]),
                  tuple(k for k in layer if k not in ("name", "op", *LAYER_REFS))) for layer in body)


def _argument(value: Any) -> bool:
    """Whether a value may be a block argument (a whole number, or one per axis)."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value))


def fold_blocks(layers: Sequence[dict[str, Any]], origins: Sequence[Origin], constraints: Sequence[str]) -> Folded:
    """The flat import with each module class called more than once (with the same layers)
    made a block; layers keep their ``from`` whole (see :func:`implicit_from`).  Values equal to
each other in every call are one parameter.

        >>> flat = [{"name": "b0_c", "op": "conv", "from": "input", "out": 4},
        ...         {"name": "b1_c", "op": "conv", "from": "b0_c", "out": 8}]
        >>> class B: pass
        >>> origins = [Origin(f"b{i}.c", ((f"b{i}", B),)) for i in (0, 1)]
        >>> folded = fold_blocks(flat, origins, [])
        >>> folded.blocks
        {'B': (['c_out'], [{'name': 'c', 'op': 'conv', 'from': 'in', 'out': 'c_out'}])}
        >>> folded.layers
        [{'name': 'b0', 'block': 'B', 'from': 'input', 'c_out': 4}, {'name': 'b1', 'block': 'B', 'from': 'b0', 'c_out': 8}]
        >>> flat = [{"name": f"b{i}_{c}", "op": "conv", "from": "x", "out": w} for i, w in enumerate((4, 8)) for c in "cd"]
        >>> flat[1]["from"], flat[2]["from"], flat[3]["from"] = "b0_c", "b0_d", "b1_c"
        >>> fold_blocks(flat, [Origin(f"b{i}.{c}", ((f"b{i}", B),)) for i in (0, 1) for c in "cd"], []).blocks
        {'B': (['c_out'], [{'name': 'c', 'op': 'conv', 'from': 'in', 'out': 'c_out'}, {'name': 'd', 'op': 'conv', 'from': 'c', 'out': 'c_out'}])}
    """
    chosen: list[_Group] = []
    for group in _groups(layers, origins):
        if not any(c.start <= group.start < c.stop for c in chosen):
            chosen.append(group)
    bodies = {g.path: _body(g, layers, origins) for g in chosen}
    kinds: dict[tuple[type, tuple[Any, ...]], list[_Group]] = {}
    for g in chosen:
        kinds.setdefault((g.cls, _shape_of(bodies[g.path])), []).append(g)
    folded = Folded([])
    calls: dict[int, tuple[_Group, str, str, dict[str, Any]]] = {}  # by first layer: group, block, call, args
    renamed: dict[str, str] = {}
    names = {layer["name"] for layer in layers}
    for (cls, _), groups in kinds.items():
        if len(groups) < 2:
            continue
        template = bodies[groups[0].path]
        params: dict[str, list[Any]] = {}
        for j, layer in enumerate(template):
            for key in layer:
                values = [bodies[g.path][j][key] for g in groups]
                if key not in ("name", "op", *LAYER_REFS) and any(v != values[0] for v in values):
                    params[f"{layer['name']}_{key}"] = values
        if not all(_argument(v) for values in params.values() for v in values):
            continue  # a value that differs and cannot be an argument (a padding word): flat
        # values equal to each other in every call (two convs of one width) are one parameter,
        # named after the first, as a person writes the block
        same: dict[str, str] = {}
        for p, values in params.items():
            same[p] = next((q for q in same.values() if params[q] == values), p)
        params = {p: values for p, values in params.items() if same[p] == p}
        block = cls.__name__ if cls.__name__ not in folded.blocks else f"{cls.__name__}_{len(folded.blocks)}"
        folded.blocks[block] = (list(params), [
            {k: same.get(f"{layer['name']}_{k}", v) for k, v in layer.items()} for layer in template])
        for n, g in enumerate(groups):
            call = _identifier(g.path)
            call = f"{block}_{call}" if call[0].isdigit() or call in RESERVED or call in names else call
            names.add(call)
            calls[g.start] = (g, block, call, {p: values[n] for p, values in params.items()})
            renamed[layers[g.stop - 1]["name"]] = call  # the call's output is its last layer
            renamed |= {layers[i]["name"]: f"{call}/{bodies[g.path][i - g.start]['name']}"
                        for i in range(g.start, g.stop - 1)}
    runs = _repeats(calls, layers, origins, names)
    for name, starts in runs.values():
        for j, start in enumerate(starts):
            g = calls[start][0]
            copy = name if j == len(starts) - 1 else f"{name}/{j}"
            renamed[layers[g.stop - 1]["name"]] = copy
            renamed |= {layers[i]["name"]: f"{name}/{j}/{bodies[g.path][i - g.start]['name']}"
                        for i in range(g.start, g.stop - 1)}
    i = 0
    while i < len(layers):
        if i in runs:
            name, starts = runs[i]
            g, block, _, args = calls[i]
            folded.layers.append({"name": name, "block": block, "from": renamed.get(g.source, g.source),
                                  "repeat": len(starts), **args})
            i = calls[starts[-1]][0].stop
            continue
        if i in calls:
            g, block, call, args = calls[i]
            folded.layers.append({"name": call, "block": block, "from": renamed.get(g.source, g.source), **args})
            i = g.stop
            continue
        folded.layers.append(_rename(layers[i], renamed))
        i += 1
    folded.constraints = [re.sub(r"^([A-Za-z_]\w*)\.", lambda m: f"{renamed.get(m[1], m[1])}.", c) for c in constraints]
    return folded


def _repeats(calls: Mapping[int, tuple[_Group, str, str, dict[str, Any]]], layers: Sequence[Mapping[str, Any]],
             origins: Sequence[Origin], names: set[str]) -> dict[int, tuple[str, list[int]]]:
    """Calls that are a container's children ``0, 1, ...`` (an ``nn.Sequential`` of one block),
    all with the same arguments, each reading the one before, with nothing else in the
    container and only the last read after them: one ``repeat`` named after the container
    (so an exported ``layer1 = nn.Sequential(...)`` reads back as ``layer1/0/conv1``).
    By the first call's first layer: (the repeat's name, each copy's first layer)."""
    out: dict[int, tuple[str, list[int]]] = {}
    starts = sorted(calls)
    k = 0
    while k < len(starts):
        g, block, _, args = calls[starts[k]]
        parent, _, index = g.path.rpartition(".")
        run = [starts[k]]
        while parent and index == "0" and k + len(run) < len(starts):
            prev = calls[run[-1]][0]
            nxt, nblock, _, nargs = calls[starts[k + len(run)]]
            if (nxt.path != f"{parent}.{len(run)}" or nblock != block or nargs != args or nxt.start != prev.stop
                    or nxt.source != layers[prev.stop - 1]["name"]):
                break
            run.append(starts[k + len(run)])
        k += len(run)
        if len(run) < 2:
            continue
        stop = calls[run[-1]][0].stop
        copies = {layers[calls[s][0].stop - 1]["name"] for s in run[:-1]}
        alone = all(not any(p == parent for p, _ in origins[i].stack)
                    for i in [*range(run[0]), *range(stop, len(layers))])
        if not alone or any(r in copies for layer in layers[stop:] for r in _refs(layer)):
            continue
        name = _identifier(parent)
        name = f"{block}_{name}" if name[0].isdigit() or name in RESERVED or name in names else name
        names.add(name)
        out[run[0]] = (name, run)
    return out
