"""Which block calls ``export`` writes as ``nn.Module`` classes, and with which constructor
arguments; which repeats become an ``nn.Sequential``.

A block call becomes an instance of a class made for its block when it is self-contained:
nothing outside it reads one of its layers but the last, and every layer in it leads to
that last one.  The calls of one block whose layers and wiring are the same share a class.
A constructor argument is written, in the class, as what the block's definition writes for
it (``width * 4``, ``k // 2``) when that gives every call's value; a channel count the layer
takes from its input follows that input (``in_channels`` for the block's own input); a value
the calls differ in and nothing names becomes a parameter of its own (``conv1_stride``).
Every argument is checked against every call's own value, so each instance builds exactly
the layers ``check`` reports.

A repeat whose copies read one another in a chain becomes an ``nn.Sequential`` (torch's
names then match the spec's: ``layer1/0/conv1`` is ``layer1.0.conv1``).  Anything else stays
flat: its layers are written in the class around it.

Example::

    >>> from archsolve.check.known import export_check
    >>> from archsolve.spec.load import load_spec
    >>> from archsolve.output.export import runtime_wiring
    >>> report = export_check(load_spec("specs/resnet50.yaml"))
    >>> plan = plan_modules(report, runtime_wiring(report))
    >>> bottleneck = plan.classes["layer1/0"]
    >>> bottleneck.name, bottleneck.params, plan.classes["layer2_0"].params
    ('Bottleneck', ('in_channels', 'width'), ('in_channels', 'width', 'stride'))
    >>> sorted(plan.sequential)
    ['layer1', 'layer2', 'layer3', 'layer4']
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archsolve.check.api import CheckReport
from archsolve.errors import ExprError
from archsolve.lang.expr import Bin, Expr, Name, Num, parse
from archsolve.ops.table import OPS
from archsolve.ops.torchform import Input, PerAxis, Slot
from archsolve.spec.model import Group, ListArg, Spec

IN_CHANNELS = "in_channels"
_NOT_VALUES = frozenset({"name", "op", "block", "from", "like", "indices", "repeat"})
_PYTHON_OPS = frozenset({"+", "-", "*", "//", "%"})  # arithmetic that Python computes as archsolve does


@dataclass(frozen=True)
class Code:
    """A constructor argument written as Python source over a class's parameters."""

    text: str


@dataclass(frozen=True, kw_only=True)
class Wiring:
    """What each layer reads at run time: its data, a ``like`` layer whose size it takes, the
    pool whose indices it unpools (so a class keeps a pool and its unpool together)."""

    order: tuple[str, ...]
    sources: Mapping[str, tuple[str, ...]]
    slots: Callable[[str], tuple[Slot, ...] | None]  # a module layer's constructor arguments; None: inline
    signature: Callable[[str], Any]  # what else must agree for two layers to share a class (inline source)
    pools: Mapping[str, str]  # a maxunpool -> the maxpool whose indices it takes
    taken: frozenset[str]  # names the file already uses (the network's class, torch, nn, F, ...)


@dataclass(frozen=True, kw_only=True)
class BlockClass:
    """A class ``export`` writes for the calls of one block: ``params`` its constructor's
    keyword arguments (each call's values in ``values``), ``inputs`` its ``forward``'s."""

    name: str
    block: str
    params: tuple[str, ...]
    inputs: tuple[str, ...]
    template: str  # the call whose layers the class is written from
    arguments: Mapping[str, tuple[tuple[str | None, Any], ...]]  # unit (relative name) -> its arguments
    out_channels: Expr | None  # the output's channel count over ``params``, where it follows them


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The module tree: ``units`` per scope (a group name, or None for the network) in the order
    ``forward`` runs them -- a layer, a group written as a class instance, or a repeat
    written as an ``nn.Sequential``."""

    units: Mapping[str | None, tuple[str, ...]]
    classes: Mapping[str, BlockClass]  # a block call's group name -> its class
    values: Mapping[str, tuple[Any, ...]]  # a block call's group name -> its arguments, in its class's order
    sequential: frozenset[str]
    outside: Mapping[str, tuple[str, ...]]  # a class's call -> the tensors it reads from outside, in order

    def is_module(self, name: str) -> bool:
        """Whether ``name`` is a group written as one module (a class or an ``nn.Sequential``)."""
        return name in self.classes or name in self.sequential


def _camel(name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    out = "".join(w[:1].upper() + w[1:] for w in words) or "Block"
    return "Block" + out if out[0].isdigit() else out


def _python_expr(e: Expr) -> bool:
    """Whether ``str(e)`` is Python that computes what archsolve computes (ints only)."""
    if isinstance(e, Num | Name):
        return True
    return isinstance(e, Bin) and e.op in _PYTHON_OPS and _python_expr(e.left) and _python_expr(e.right)


def _evaluate(e: Expr, env: Mapping[str, Any]) -> Any:
    try:
        return e.evaluate(env)
    except (ExprError, KeyError, TypeError, ZeroDivisionError):
        return None


def _same(value: Any, wanted: Any) -> bool:
    """A computed argument against a layer's value (a value on every axis: one int stands for all)."""
    if isinstance(wanted, PerAxis) and isinstance(value, int) and not isinstance(value, bool):
        return all(v == value for v in wanted)
    if isinstance(wanted, bool) or isinstance(value, bool):
        return type(value) is type(wanted) and value == wanted
    if isinstance(wanted, tuple) and isinstance(value, tuple):
        return tuple(wanted) == tuple(value)
    return bool(value == wanted) and type(value) is not tuple


def _channel_names(inputs: Sequence[str]) -> tuple[str, ...]:
    """The constructor arguments that give the channels of ``forward``'s inputs: ``in_channels``
    for ``x``, ``skip_channels`` for ``skip``."""
    return (IN_CHANNELS, *(f"{n}_channels" for n in inputs[1:]))


_INIT_NAMES = frozenset({"self", "super", "torch", "nn", "F", "int", "tuple", "bool", "float", "str", "max", "min"})
_FORWARD_NAMES = frozenset({"self", "torch", "nn", "F", "x_in"})


def _safe(name: str, taken: frozenset[str]) -> str:
    """``name`` as a Python argument that shadows nothing the file uses.

        >>> _safe("nn", frozenset({"nn"})), _safe("lambda", frozenset()), _safe("0-a", frozenset())
        ('nn_', 'lambda_', 'arg_0_a')
    """
    name = re.sub(r"\W", "_", name)
    if not name.isidentifier():
        name = "arg_" + name
    while keyword.iskeyword(name) or name in taken:
        name += "_"
    return name


def _origin_name(origin: Any) -> str:
    return origin.value if isinstance(origin, Input) else str(origin or "arg")


class _Planner:
    def __init__(self, report: CheckReport, wiring: Wiring) -> None:
        self.spec: Spec = report.spec
        self.results = report.prop.layers
        self.env = report.prop.env
        self.wiring = wiring
        self.position = {name: i for i, name in enumerate(wiring.order)}
        self.groups = {g.name: g for g in self.spec.groups}
        self.readers: dict[str, set[str]] = {}
        for name in wiring.order:
            for s in wiring.sources[name]:
                self.readers.setdefault(s, set()).add(name)
        self.blocks = (self.spec.document.data or {}).get("blocks") or {} if self.spec.document else {}
        # the layers and groups directly inside each scope, in layer order (asked once per group:
        # made once, not by a scan of every layer each time, which was quadratic)
        self.children: dict[str | None, list[str]] = {}
        for name, scope in [*((g.name, g.group) for g in self.spec.groups),
                            *((lay.name, lay.group) for lay in self.spec.layers)]:
            self.children.setdefault(scope, []).append(name)
        for kids in self.children.values():
            kids.sort(key=lambda n: self.position[self.groups[n].output] if n in self.groups else self.position[n])
        self.classable = {g.name for g in self.spec.groups if self._self_contained(g)}
        self.sequential: set[str] = set()
        self.classes: dict[str, BlockClass] = {}
        self.values: dict[str, tuple[Any, ...]] = {}
        self.class_name: dict[str, str] = {}  # a block call -> its class's name
        self.opening: set[str] = set()  # block calls whose class is being made
        self.by_signature: dict[Any, str] = {}  # (block, signature) -> class name
        self.class_calls: dict[str, list[str]] = {}  # class name -> its calls

    # -- which groups are one module ---------------------------------------------------------

    def _self_contained(self, g: Group) -> bool:
        members = set(g.members)
        if not members or g.output not in members:
            return False
        if any((unpool in members) != (pool in members) for unpool, pool in self.wiring.pools.items()):
            return False  # the indices would have to cross the class's forward
        for m in g.members:
            if m != g.output and self.readers.get(m, set()) - members:
                return False  # read from outside: the class would have to return it too
        # every layer leads to the output, so the call computes no more than its output needs
        needed, todo = {g.output}, [g.output]
        while todo:
            for s in self.wiring.sources[todo.pop()]:
                if s in members and s not in needed:
                    needed.add(s)
                    todo.append(s)
        return needed == members

    def _repeat(self, g: Group) -> bool:
        """A repeat: its direct children are its copies ``g/0``, ``g/1``, ..."""
        kids = [c for c in self._children(g.name)]
        return len(kids) > 1 and kids == [f"{g.name}/{i}" for i in range(len(kids))]

    def _children(self, scope: str | None) -> list[str]:
        """The layers and groups directly inside ``scope``, in layer order."""
        return self.children.get(scope, [])

    def units(self, scope: str | None) -> tuple[str, ...]:
        """The modules and layers ``scope``'s forward runs: a group that cannot be one module
        is opened (its own units take its place)."""
        out: list[str] = []
        for c in self._children(scope):
            if c in self.groups and not self._as_module(c):
                out.extend(self.units(c))
            else:
                out.append(c)
        # a unit runs when its output is due: every tensor it reads comes out earlier
        return tuple(sorted(out, key=lambda n: self.position[self.groups[n].output if n in self.groups else n]))

    def _as_module(self, name: str) -> bool:
        if name in self.class_name or name in self.sequential:
            return True
        g = self.groups[name]
        if name not in self.classable:
            return False
        if self._repeat(g):
            if not self._in_class(g) and self._chain(g):
                self.sequential.add(name)
                return True
            return False
        if g.op.startswith("block:"):
            return self._make_class(g)
        return False

    def _in_class(self, g: Group) -> bool:
        """Whether a class holds ``g`` (a repeat in a class stays open: its copies' count is the call's)."""
        up = g.group
        while up is not None:
            if up in self.class_name or up in self.opening:
                return True
            up = self.groups[up].group
        return False

    def _chain(self, g: Group) -> bool:
        """Copies that each read only the one before (the first: one outside tensor), each one module."""
        prev: str | None = None
        for c in self._children(g.name):
            if c in self.groups:
                if not self._as_module(c) or c not in self.class_name:
                    return False
                reads = set(self.outside_inputs(self.groups[c]))
                out = self.groups[c].output
            else:
                if self.wiring.slots(c) is None:
                    return False
                reads = set(self.wiring.sources[c])
                out = c
            if len(reads) != 1 or (prev is not None and reads != {prev}):
                return False
            prev = out
        return True

    def outside_inputs(self, g: Group) -> tuple[str, ...]:
        """The tensors a group's layers read from outside it: a block call's input first, then
        the layers it reads through its parameters (a skip), in the order they are first read."""
        members = set(g.members)
        seen: list[str] = []
        for m in sorted(g.members, key=self.position.__getitem__):
            for s in self.wiring.sources[m]:
                if s not in members and s not in seen:
                    seen.append(s)
        raw = self._raw_inputs(g)
        if raw is not None and len(raw) == len(seen) and "in" in raw:
            first = seen[raw.index("in")]
            return (first, *(s for s in seen if s != first))
        return tuple(seen)

    def _raw_inputs(self, g: Group) -> list[str] | None:
        """What a block's definition reads from outside, as it writes it (``in``, a parameter),
        in the order its layers first read them; None for a repeat's group."""
        if not g.op.startswith("block:") or self._repeat(g):
            return None
        block = self.blocks.get(g.op.split(":", 1)[1]) or {}
        params = set(block.get("params") or {})
        seq: list[str] = []
        previous = "in"
        for i, item in enumerate(block.get("layers") or []):
            if not isinstance(item, Mapping):
                return None
            refs = item.get("from", previous)
            refs = list(refs) if isinstance(refs, list) else [refs]
            for key in ("like", "indices"):
                if isinstance(item.get(key), str):
                    refs.append(item[key])
            seq += [r for r in refs if (r == "in" or r in params) and r not in seq]
            previous = item.get("name") or f"{item.get('op') or item.get('block')}{i + 1}"
        return seq

    # -- one class per block (and shape of its layers) -------------------------------------------

    def _relative(self, g: Group, name: str) -> str:
        return name[len(g.name) + 1:]

    def _unit_of(self, g: Group, layer: str) -> str:
        """The unit of ``g`` that holds ``layer`` (relative name)."""
        for u in self.units(g.name):
            if u == layer or (u in self.groups and layer in self.groups[u].members):
                return self._relative(g, u)
        raise AssertionError(layer)

    def _signature(self, g: Group) -> Any:
        outside = self.outside_inputs(g)
        sig = []
        for u in self.units(g.name):
            rel = self._relative(g, u)
            if u in self.groups:
                kind = self.class_name[u]
                reads = self.outside_inputs(self.groups[u])
            else:
                kind = (self.results[u].layer.op, self.wiring.signature(u))
                reads = self.wiring.sources[u]
            sig.append((rel, kind, tuple(("in", outside.index(s)) if s in outside else self._unit_of(g, s)
                                         for s in reads)))
        return tuple(sig)

    def _make_class(self, g: Group) -> bool:
        # nested calls first: their classes are part of this one's signature
        self.opening.add(g.name)
        self.units(g.name)
        block = g.op.split(":", 1)[1]
        sig = (block, self._signature(g))
        cls = self.by_signature.get(sig)
        if cls is None:
            taken = {c.name for c in self.classes.values()} | set(self.class_calls) | self.wiring.taken
            base = _camel(block)
            cls, k = base, 2
            while cls in taken or keyword.iskeyword(cls):
                cls, k = f"{base}{k}", k + 1
            self.by_signature[sig] = cls
        self.class_calls.setdefault(cls, []).append(g.name)
        self.class_name[g.name] = cls
        self.opening.discard(g.name)
        return True

    # -- constructor arguments ----------------------------------------------------------------

    def _call_args(self, g: Group) -> dict[str, Any]:
        """A block call's arguments, evaluated (a repeat's copies share the repeat's call)."""
        calls = self.spec.written_values.calls
        key = g.name if g.name in calls else re.sub(r"/\d+(?=/|$)", "", g.name)
        out: dict[str, Any] = {}
        for p, v in calls.get(key, {}).items():
            if isinstance(v, ListArg):
                vals = tuple(_evaluate(e, self.env) for e in v.values)
                out[p] = None if None in vals else vals
            else:
                out[p] = _evaluate(v, self.env)
        return out

    def _written(self, block: str, rel: str, params: Sequence[str]) -> dict[str, Expr]:
        """What the block's definition writes for its layer or call ``rel`` (a repeat's copy
        ``more/0``: the repeat ``more``), as expressions of its parameters that Python
        computes as archsolve does."""
        head, _, rest = rel.partition("/")
        if rest and not rest.isdigit():
            return {}  # a layer of a call written open: its own block's definition says
        items = (self.blocks.get(block) or {}).get("layers") or []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                continue
            name = item.get("name") or f"{item.get('op') or item.get('block')}{i + 1}"
            if name != head:
                continue
            out = {}
            for k, v in item.items():
                if not isinstance(v, str | int) or isinstance(v, bool) or k in _NOT_VALUES:
                    continue
                try:
                    e = parse(str(v))
                except ExprError:
                    continue
                if set(e.names()) <= set(params) and _python_expr(e):
                    out[str(k)] = e
            return out
        return {}

    def finish(self) -> None:
        """Every class's parameters and arguments, from its calls' values (nested classes first)."""
        for cls, calls in self.class_calls.items():
            self._finish_class(cls, [self.groups[c] for c in calls])

    def _unit_slots(self, unit: str) -> list[tuple[str | None, Any, Any]]:
        """``(keyword, (origin, default), value)`` per constructor argument of one unit of a call."""
        if unit in self.groups:
            inner = self.classes[unit]
            return [(p, (None, False), v) for p, v in zip(inner.params, self.values[unit], strict=True)]
        slots = self.wiring.slots(unit)
        assert slots is not None
        return [(s.keyword, (s.origin, s.default), s.value) for s in slots]

    def _finish_class(self, cls: str, groups: list[Group]) -> None:
        template = groups[0]
        block = template.op.split(":", 1)[1]
        declared = list((self.blocks.get(block) or {}).get("params") or {})
        inputs = self._input_names(template)
        safe = {p: _safe(p, self.wiring.taken | _INIT_NAMES) for p in declared}
        sizes = tuple(_safe(n, frozenset(safe.values())) for n in _channel_names(inputs))
        envs = []
        for g in groups:
            env = {safe.get(p, p): v for p, v in self._call_args(g).items() if v is not None}
            for name, tensor in zip(sizes, self.outside_inputs(g), strict=True):
                env[name] = int((self.results[tensor].shape if tensor != "input" else self.input_shape())[0])
            envs.append(env)
        generated: set[str] = set()
        used: dict[str, tuple[Any, ...]] = {}  # parameter -> its value at each call
        channels: dict[str, Expr] = {}  # unit -> its output's channel count, over the parameters

        def match(e: Expr | None, wanted: Sequence[Any]) -> bool:
            return e is not None and all(_same(_evaluate(e, env), w) for env, w in zip(envs, wanted, strict=True))

        def use(e: Expr) -> str:
            for n in e.names():
                used.setdefault(n, tuple(env.get(n) for env in envs))
            return str(e)

        def written_in(unit_rel: str) -> dict[str, Expr]:
            return {k: e.substitute({n: Name(safe[n]) for n in e.names()})
                    for k, e in self._written(block, unit_rel, declared).items()}

        arguments: dict[str, tuple[tuple[str | None, Any], ...]] = {}
        for unit in self.units(template.name):
            rel = self._relative(template, unit)
            if unit not in self.groups and self.wiring.slots(unit) is None:
                continue  # written in forward, the same in every call (the signature says so)
            per_call = [self._unit_slots(f"{g.name}/{rel}") for g in groups]
            written = written_in(rel)
            args: list[tuple[str | None, Any]] = []
            exprs: dict[str, Expr] = {}
            for i, (kw, (origin, _), _) in enumerate(per_call[0]):
                values = tuple(pc[i][2] for pc in per_call)
                key = kw if unit in self.groups else origin
                candidates = [written.get(key) if isinstance(key, str) else None]
                if origin is Input.CHANNELS or (unit in self.groups and kw == IN_CHANNELS):
                    reads = self.outside_inputs(self.groups[unit]) if unit in self.groups else self.wiring.sources[unit]
                    candidates.append(self._channels(template, reads[0], channels, sizes))
                found = next((e for e in candidates if match(e, values)), None)
                if found is None and len({repr(v) for v in values}) > 1:
                    # a value nothing names: a parameter of its own (one for values that always agree)
                    same = next((p for p in generated if used[p] == values), None)
                    if same is None:
                        same = re.sub(r"\W", "_", f"{rel.replace('/', '_')}_{kw or _origin_name(origin)}")
                        same = _safe(same, frozenset({*used, *safe.values(), *sizes, *self.wiring.taken, *_INIT_NAMES}))
                    found = Name(same)
                    used.setdefault(found.name, values)
                    generated.add(found.name)
                if found is None:
                    if all(pc[i][1][1] for pc in per_call):
                        continue  # torch's default in every call
                    args.append((kw, values[0]))
                    if isinstance(values[0], int) and not isinstance(values[0], bool):
                        exprs[kw or str(origin)] = Num(values[0])
                    continue
                args.append((kw, Code(use(found))))
                exprs[kw or str(origin)] = found
            arguments[rel] = tuple(args)
            if unit in self.groups:
                out = self.classes[unit].out_channels
                if out is not None and out.names() <= exprs.keys():
                    channels[unit] = out.substitute(exprs)
            elif "out" in exprs:
                channels[unit] = exprs["out"]
        declared = [safe[p] for p in declared]
        order = [p for p in (*sizes, *declared) if p in used] + [p for p in used if p not in (*sizes, *declared)]
        made = BlockClass(name=cls, block=block, params=tuple(order), template=template.name, inputs=inputs,
                          arguments=arguments, out_channels=self._channels(template, template.output, channels, sizes))
        for k, g in enumerate(groups):
            self.classes[g.name] = made
            self.values[g.name] = tuple(used[p][k] for p in order)

    def input_shape(self) -> tuple[int, ...]:
        tied = self.spec.tied()
        return tuple(int(e.substitute(tied).evaluate(self.env)) for e in self.spec.input)

    def _channels(self, g: Group, layer: str, channels: Mapping[str, Expr], sizes: Sequence[str]) -> Expr | None:
        """The channel count of ``layer``'s output (read inside ``g``) over ``g``'s parameters
        (``sizes``: the names of its inputs' channel counts), where the layers between it and a
        known count keep their input's channels."""
        if layer not in g.members:
            return Name(sizes[self.outside_inputs(g).index(layer)])
        unit = next((u for u in self.units(g.name) if u == layer or
                     (u in self.groups and self.groups[u].output == layer)), None)
        if unit is not None and unit in channels:
            return channels[unit]
        if unit is not None and unit in self.groups:
            return None
        op = self.results[layer].layer.op
        reads = self.wiring.sources[layer]
        if op == "concat":
            parts = [self._channels(g, s, channels, sizes) for s in reads]
            if any(p is None for p in parts):
                return None
            total = parts[0]
            for p in parts[1:]:
                total = Bin("+", total, p)  # type: ignore[arg-type]
            return total
        return self._channels(g, reads[0], channels, sizes) if OPS[op].keeps_channels else None

    def _input_names(self, g: Group) -> tuple[str, ...]:
        """``forward``'s arguments: ``x`` for the call's input, the block's layer parameters
        (a skip it reads) for the others, in :meth:`outside_inputs`' order."""
        outside = self.outside_inputs(g)
        raw = self._raw_inputs(g)
        named = [r for r in raw or [] if r != "in"]
        if raw is None or "in" not in raw or len(raw) != len(outside):
            named = [f"x{i + 2}" for i in range(len(outside) - 1)]
        extra = [_safe(n, frozenset({"x", *_FORWARD_NAMES})) for n in named]
        return ("x", *extra)


def plan_modules(report: CheckReport, wiring: Wiring) -> Plan:
    """The classes and ``nn.Sequential`` repeats of the exported module (see the module's doc)."""
    planner = _Planner(report, wiring)
    units = {None: planner.units(None)}
    planner.finish()

    def walk(names: Iterable[str]) -> None:
        for n in names:
            if n in planner.classes and n not in units:
                units[n] = planner.units(n)
                walk(units[n])
            elif n in planner.sequential:
                walk(planner._children(n))

    walk(units[None])
    outside = {n: planner.outside_inputs(planner.groups[n]) for n in (*planner.classes, *planner.sequential)}
    return Plan(units=units, classes=dict(planner.classes), values=dict(planner.values),
                sequential=frozenset(planner.sequential), outside=outside)
