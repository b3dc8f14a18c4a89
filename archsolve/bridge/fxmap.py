"""A traced ``torch.fx`` graph, node by node, as the layers of a spec.

Each node's value is one of: a tensor a layer makes (:class:`Tensor`), a pool's output with
its indices (:class:`PoolPair`), those indices (:class:`Indices`), or a plain value.  Sizes
read from tensors (``x.shape[2]``) are ``sympy`` symbols, so that a crop or an interpolation
written in terms of them can be recognised as ``like`` another layer.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from archsolve.bridge.blocks import Origin, fold_blocks, implicit_from
from archsolve.errors import Location, SpecError, UsageError
from archsolve.ops.base import Kind
from archsolve.ops.table import OPS, OpDef
from archsolve.ops.torchform import CHECK_INPUT, Input, NNModule
from archsolve.spec.model import NAME_PATTERN, RESERVED


@dataclass(frozen=True)
class Tensor:
    """The output of the layer ``name`` (``input`` for the model's input), ``rank`` spatial axes
    (0: flat features)."""

    name: str
    rank: int


@dataclass(frozen=True)
class PoolPair:
    """A max pool's ``(output, indices)`` (``return_indices=True``)."""

    tensor: Tensor


@dataclass(frozen=True)
class Indices:
    """The indices of the max pool ``pool``."""

    pool: str


class Unmappable(Exception):
    """A node with no archsolve layer; :func:`spec_text` adds the node and its line."""


class WrongInput(Unmappable):
    """A layer built for another number of spatial axes than ``--input`` gives."""


@dataclass
class _Import:
    root: Any
    layers: list[dict[str, Any]] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    pool_inputs: dict[str, str] = field(default_factory=dict)  # a max pool with indices: the layer it reads
    # the modules the node being read is inside (fx's nn_module_stack), and each layer's
    stack: tuple[tuple[str, type], ...] = ()
    origins: list[Origin] = field(default_factory=list)

    def name_for(self, base: str, op: str) -> str:
        # one underscore at a time: expressions refuse names with "__" (an exported file's
        # `enc1__conv1` comes back as `enc1_conv1`)
        name = re.sub(r"_{2,}", "_", re.sub(r"\W", "_", base.replace(".", "_"))) or op
        if name[0].isdigit():  # a Sequential's child: `0` becomes `conv_0`
            name = f"{op}_{name}"
        if name in RESERVED:
            name += "_"
        unique, n = name, 1
        while unique in self.names:
            unique, n = f"{name}_{n}", n + 1
        assert NAME_PATTERN.match(unique)
        self.names.add(unique)
        return unique

    def add(self, base: str, op: str, sources: Sequence[Tensor], fields: Mapping[str, Any], rank: int, *,
            comment: str | None = None) -> Tensor:
        name = self.name_for(base, op)
        # `from` is written whole here; the previous layer's is left out when the spec is written
        layer: dict[str, Any] = {"name": name, "op": op,
                                 "from": [s.name for s in sources] if OPS[op].merge else sources[0].name}
        order = list(OPS[op].field_map)
        layer.update(sorted(fields.items(), key=lambda item: order.index(item[0])))
        if comment is not None:
            layer["comment"] = comment
        self.layers.append(layer)
        self.origins.append(Origin(base, self.stack))
        return Tensor(name, rank)

    def need(self, source: Tensor, attribute: str, value: Any) -> None:
        """A size the module was built for (a conv's in_channels): a constraint, so that
        ``inputs`` and ``check --set`` refuse the sizes torch would refuse."""
        rendered = "[" + ", ".join(str(int(v)) for v in value) + "]" if isinstance(value, (list, tuple)) else int(value)
        self.constraints.append(f"{source.name}.{attribute} == {rendered}")


# -- the op table, read backwards -------------------------------------------------------------

def _resolve(name: str) -> tuple[str, Any]:
    """A table's function name as ``(node kind, target)``: ``Tensor.relu`` is a method call."""
    import torch
    import torch.nn.functional as F

    home, _, attr = name.partition(".")
    if home == "Tensor":
        return "call_method", attr
    found = {"F": F, "torch": torch, "operator": operator}[home]
    return "call_function", getattr(found, attr, None)


def _ranked(pattern: str) -> list[tuple[str, int]]:
    return [(pattern.format(rank=r), r) for r in (1, 2, 3)] if "{rank}" in pattern else [(pattern, 0)]


def _tables() -> tuple[dict[type, tuple[OpDef, int]], dict[tuple[str, Any], tuple[OpDef, int]]]:
    """Module classes and functions to ops (with the rank a ``{rank}`` name fixes, else 0)."""
    from torch import nn

    classes: dict[type, tuple[OpDef, int]] = {}
    functions: dict[tuple[str, Any], tuple[OpDef, int]] = {}
    for op in OPS.values():
        if isinstance(op.torch.how, NNModule):
            for cls, rank in _ranked(op.torch.how.cls):
                found = getattr(nn, cls.removeprefix("nn."), None)
                if found is not None:
                    classes[found] = (op, rank)
        for fn in op.torch.functions:
            for name, rank in _ranked(fn):
                if name.startswith("nn."):  # another module class that computes the op (nn.Flatten)
                    found = getattr(nn, name.removeprefix("nn."), None)
                    if found is not None:
                        classes.setdefault(found, (op, rank))
                    continue
                key = _resolve(name)
                if key[1] is not None:
                    functions.setdefault(key, (op, rank))
    return classes, functions


def _parameters(fn: Any) -> list[str]:
    """The parameter names of a module's constructor or a functional form (after ``input``)."""
    import inspect

    import torch.nn.functional as F

    # F.max_pool2d dispatches on return_indices: its signature is its implementation's
    fn = getattr(F, f"_{getattr(fn, '__name__', '')}", fn) if getattr(fn, "__module__", "") == F.__name__ else fn
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # a builtin (torch.relu): its only argument is the tensor
        return []
    return [p for p in params if p not in ("self", "input", "args", "kwargs")]


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise Unmappable(f"{what} is {value!r}: archsolve needs a whole number here")
    return int(value)


def _field_value(op: OpDef, fname: str, value: Any) -> Any:
    """A torch value as the spec writes the field ``fname``; None: not written (its default)."""
    import torch

    f = op.field_map[fname]
    if f.kind is Kind.BOOL:  # a conv's `bias` attribute is the parameter, or None
        return value is not None and (isinstance(value, torch.Tensor) or bool(value))
    if value is None:
        return None
    if f.kind is Kind.AXES:
        if isinstance(value, str):
            return value  # a padding word: same, valid
        if isinstance(value, (tuple, list, torch.Size)):
            values = [_int(v, f"{op.name}'s {fname}") for v in value]
            return values[0] if len(set(values)) == 1 else values  # one value serves every axis
        return _int(value, f"{op.name}'s {fname}")
    if f.kind is Kind.INT:
        return _int(value, f"{op.name}'s {fname}")
    if f.kind is Kind.NUMBER:
        return float(value)
    if f.kind is Kind.CHOICE and value not in f.choices:
        raise Unmappable(f"{op.name}'s {fname} {value!r} is not one of {', '.join(f.choices)}")
    return value


# -- the graph's values -------------------------------------------------------------------------

def _tensor(value: Any, what: str) -> Tensor:
    if isinstance(value, PoolPair):
        raise Unmappable(f"{what} is a max pool's (output, indices) pair: take [0] or [1] of it")
    if not isinstance(value, Tensor):
        raise Unmappable(f"{what} is {value!r}, not a tensor")
    return value


AXES = {0: "NC", 1: "NCL", 2: "NCHW", 3: "NCDHW"}  # a layer's sizes as constraints name them (N: the batch)


def _dims(t: Tensor) -> tuple[Any, ...]:
    """``t.shape`` as symbols named as constraints name them (``enc1.H``): batch, channels (or
    features), spatial sizes."""
    import sympy

    return tuple(sympy.Symbol(f"{t.name}.{axis}", integer=True, positive=True) for axis in AXES[t.rank])


def _like(sizes: Sequence[Any], rank: int) -> str | None:
    """The layer whose spatial sizes ``sizes`` are (all of them, in order), if one is."""
    names = [getattr(s, "name", "") for s in sizes]
    owners = {n.rpartition(".")[0] for n in names}
    if len(sizes) == rank and len(owners) == 1 and names == [f"{next(iter(owners))}.{a}" for a in AXES[rank][2:]]:
        return next(iter(owners))
    return None


def _pad_like(source: Tensor, amounts: list[Any]) -> str:
    """The layer an ``F.pad`` with amounts read from sizes pads ``source`` to: every spatial
    axis padded by ``diff // 2`` before and ``diff - diff // 2`` after (milesial's U-Net), where
    ``diff`` is that layer's size less the source's.  Anything else is refused: archsolve's pad
    ``like`` is exactly that centred pad.

        >>> import sympy
        >>> h, big = _dims(Tensor("up", 1))[2], _dims(Tensor("skip", 1))[2]
        >>> _pad_like(Tensor("up", 1), [sympy.floor((big - h) / 2), big - h - sympy.floor((big - h) / 2)])
        'skip'
    """
    import sympy

    pairs = [amounts[i:i + 2] for i in range(0, len(amounts), 2)][::-1]  # F.pad: last axis first
    if len(pairs) != source.rank:
        raise Unmappable(f"F.pad with amounts read from sizes on {len(pairs)} of {source.rank} spatial axes: "
                         "archsolve pads to another layer's size on every axis")
    targets = []
    for (before, after), mine in zip(pairs, _dims(source)[2:], strict=True):
        # `before` must be diff // 2 (floor(diff / 2)): diff is read from it, and `after` held to it
        diff = sympy.expand(2 * before.args[0]) if isinstance(before, sympy.floor) else sympy.nan
        target = sympy.expand(diff + mine)
        ends = (diff - before, sympy.ceiling(diff / 2), sympy.floor((diff + 1) / 2))
        if not isinstance(target, sympy.Symbol) or not any(sympy.simplify(after - e) == 0 for e in ends):
            raise Unmappable(f"F.pad by [{before}, {after}] on axis {str(mine).rpartition('.')[2]}: archsolve pads to "
                             "another layer's size centred, diff // 2 before and diff - diff // 2 after "
                             "(diff: that layer's size less this one's)")
        targets.append(target)
    like = _like(targets, source.rank)
    if like is None:
        raise Unmappable(f"F.pad to the sizes {', '.join(map(str, targets))}: not one layer's spatial sizes, "
                         "axis by axis")
    return like


def _arith(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    import sympy

    if fn is operator.floordiv:
        a, b = args
        return a // b if isinstance(a, int) and isinstance(b, int) else sympy.floor(sympy.Rational(1) * a / b)
    return fn(*args)


# arithmetic with a number, element by element: the shape is the tensor's (`x * 0.5`, `1 - x`)
SCALAR_INFIX = {operator.add: "+", operator.iadd: "+", operator.sub: "-", operator.isub: "-", operator.mul: "*",
                operator.imul: "*", operator.truediv: "/", operator.itruediv: "/", operator.floordiv: "//",
                operator.pow: "**", operator.neg: "-"}
SCALAR_CALLS = frozenset({"add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow",
                          "neg", "clamp", "clip", "clamp_min", "clamp_max"})


def _scalar_text(node: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str | None:
    """``node`` as written, ``x`` its one tensor, if it is arithmetic between one tensor and
    numbers (``x * 0.5``, ``torch.clamp(x, 0, 1)``); None otherwise.

        >>> from types import SimpleNamespace
        >>> _scalar_text(SimpleNamespace(op="call_function", target=operator.sub), [1, Tensor("c", 2)], {})
        '1 - x'
        >>> _scalar_text(SimpleNamespace(op="call_method", target="clamp"), [Tensor("c", 2), 0, None], {"max": 1})
        'x.clamp(0, None, max=1)'
        >>> _scalar_text(SimpleNamespace(op="call_method", target="mul_"), [Tensor("c", 2), 2], {})
        'x.mul_(2)'
    """
    import torch

    values = [*args, *kwargs.values()]
    if sum(isinstance(v, Tensor) for v in values) != 1 or not all(
            isinstance(v, Tensor) or v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
            for v in values):
        return None
    text = [("x" if isinstance(a, Tensor) else repr(a)) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    if node.op == "call_function" and node.target in SCALAR_INFIX and not kwargs:
        return f"-{text[0]}" if len(text) == 1 else f" {SCALAR_INFIX[node.target]} ".join(text)
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    if name.removesuffix("_") not in SCALAR_CALLS or (node.op == "call_function" and node.target is not getattr(torch, name, None)):
        return None
    if node.op == "call_method":
        return f"{text[0]}.{name}({', '.join(text[1:])})"
    return f"torch.{name}({', '.join(text)})"


ARITH = {operator.add: operator.add, operator.sub: operator.sub, operator.mul: operator.mul,
         operator.floordiv: operator.floordiv, operator.neg: operator.neg}


@dataclass
class _Mapper:
    imp: _Import
    classes: dict[type, tuple[OpDef, int]]
    functions: dict[tuple[str, Any], tuple[OpDef, int]]
    env: dict[str, Any] = field(default_factory=dict)

    def value(self, arg: Any) -> Any:
        """A node argument with its nodes replaced by their values."""
        import torch.fx as fx

        return fx.node.map_arg(arg, lambda n: _Box(self.env[n.name]))

    def args(self, node: Any) -> tuple[list[Any], dict[str, Any]]:
        return ([_unbox(self.value(a)) for a in node.args], {k: _unbox(self.value(v)) for k, v in node.kwargs.items()})

    # -- one node
    def node(self, node: Any) -> Any:
        args, kwargs = self.args(node)
        if node.op == "call_module":
            module = self.imp.root.get_submodule(node.target)
            found = self.classes.get(type(module))
            if found is None:
                raise Unmappable(f"archsolve has no layer for {type(module).__module__}.{type(module).__name__}")
            op, rank = found
            names = _parameters(type(module).__init__)
            given = {n: getattr(module, n) for n in names if hasattr(module, n)}
            if not isinstance(op.torch.how, NNModule):  # nn.Flatten: as torch.flatten, with its dims
                return self.function(found, node, args, given)
            return self.layer(op, rank, node.target, names, given, args, kwargs)
        if node.op in ("call_function", "call_method"):
            target = node.target
            if node.op == "call_function" and getattr(target, "__name__", None) == CHECK_INPUT and not node.users:
                return None  # an exported module's input check (archsolve export): no layer
            sizes_only = not any(isinstance(a, (Tensor, PoolPair)) for a in args)
            if node.op == "call_function" and target in ARITH and sizes_only:  # x.shape[2] - h
                return _arith(ARITH[target], args)
            if (written := _scalar_text(node, args, kwargs)) is not None:
                # element-wise arithmetic with numbers keeps the shape and has no weights: an
                # identity, the expression kept as its comment
                source = next(v for v in [*args, *kwargs.values()] if isinstance(v, Tensor))
                return self.imp.add(node.name, "identity", [source], {}, source.rank, comment=written)
            found = self.functions.get((node.op, target))
            if found is not None:
                return self.function(found, node, args, kwargs)
            if node.op == "call_function" and target is operator.getitem:
                return self.getitem(node, *args)
            if node.op == "call_function" and target is getattr and args[1] == "shape":
                return _dims(_tensor(args[0], "the shape's owner"))
            if node.op == "call_method" and target == "size":
                dims = _dims(_tensor(args[0], "the size's owner"))
                return dims[args[1]] if len(args) > 1 else dims
            if node.op == "call_method" and target == "dim":
                return _tensor(args[0], "the tensor").rank + 2
            if node.op == "call_method" and target in ("contiguous", "clone"):
                return _tensor(args[0], "the input")
        raise Unmappable("archsolve has no layer for it")

    def function(self, found: tuple[OpDef, int], node: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        op, rank = found
        base = node.target if node.op == "call_module" else node.name
        if op.merge:
            tensors = args[0] if op.name == "concat" else args[:2]
            dim = args[1] if len(args) > 1 and op.name == "concat" else kwargs.get("dim", 0 if op.name == "concat" else 1)
            sources = [_tensor(t, "a merged value") for t in tensors]
            if op.name == "concat" and dim not in (1, -(sources[0].rank + 1)):
                axes = AXES[sources[0].rank]
                what = axes[dim] if isinstance(dim, int) and -len(axes) <= dim < len(axes) else "no axis"
                raise Unmappable(f"torch.cat along dim {dim} ({what} of [{', '.join(axes)}]): archsolve concatenates "
                                 f"along the channels only (dim=1 or dim={-(sources[0].rank + 1)})")
            if "alpha" in kwargs:
                raise Unmappable("torch.add with alpha has no archsolve layer")
            return self.imp.add(base, op.name, sources, {}, sources[0].rank)
        source = _tensor(args[0], "the input")
        if op.name == "flatten":
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            if start != 1 or end != -1:
                raise Unmappable(f"flatten from dim {start} to {end}: archsolve flattens from dim 1 to the end")
            return self.imp.add(base, "flatten", [source], {}, 0)
        if op.name == "reshape":
            return self.reshape(base, source, args[1:] or [kwargs.get("shape")])
        if op.name == "pad":
            return self.pad(base, source, args[1:], kwargs)
        names = _parameters(node.target) if node.op == "call_function" else []
        if not names and (len(args) > 1 or kwargs):  # a builtin or a method: torch's module takes the same
            names = _parameters(self.module_class(op, rank).__init__)
        given = dict(zip(names, args[1:], strict=False)) | kwargs
        return self.layer(op, rank, base, names, given, args, {})

    def module_class(self, op: OpDef, rank: int) -> Any:
        return next(cls for cls, (o, r) in self.classes.items() if o is op and r == rank)

    def layer(self, op: OpDef, rank: int, base: str, names: list[str], given: Mapping[str, Any],
              args: list[Any], kwargs: Mapping[str, Any]) -> Any:
        """A layer from a module's attributes or a function's arguments (``given``, by torch's
        names); ``names``: the constructor's parameters, in order."""
        how = op.torch.how
        assert isinstance(how, NNModule)
        source = _tensor(args[0], "the input")
        if rank and max(source.rank, 1) != rank:
            raise WrongInput(f"{how.cls.format(rank=rank)} takes {rank} spatial axes, and its input has "
                             f"{source.rank}: give --input the channels, then {rank} spatial sizes")
        fields: dict[str, Any] = {}
        # torch's names for the op's fields, by the table: keywords, then the positional ones
        torch_names = dict(how.keywords) | {names[i]: p for i, p in enumerate(how.positional)
                                             if isinstance(p, str) and i < len(names)}
        for kw, fname in torch_names.items():
            if op.field_map[fname].borrowed or op.field_map[fname].kind is Kind.LAYER or kw not in given:
                continue
            if op.name == "upsample" and fname == "size" and given[kw] is not None:
                sizes = given[kw] if isinstance(given[kw], (tuple, list)) else (given[kw],)
                like = _like(sizes, source.rank)
                if like is not None:
                    fields["like"] = like
                    continue
            value = _field_value(op, fname, given[kw])
            if value is not None:
                fields[fname] = value
        for i, p in enumerate(how.positional):
            if isinstance(p, Input) and i < len(names) and names[i] in given:
                self.need_size(source, p, given[names[i]])
        for kw, p, switch in how.sizes:  # PReLU: one weight per channel, or one in all
            count = int(given.get(kw, 1))
            fields[switch] = count > 1
            if count > 1:
                self.need_size(source, p, count)
        if how.unpool:
            indices = args[1] if len(args) > 1 else kwargs.get("indices")
            if not isinstance(indices, Indices):
                raise Unmappable("MaxUnpool's indices must come from a max pool with return_indices=True")
            fields[how.unpool] = indices.pool
            size = args[2] if len(args) > 2 else kwargs.get("output_size")
            if size is not None and _like(list(size)[-source.rank:], source.rank) != self.imp.pool_inputs[indices.pool]:
                raise Unmappable("MaxUnpool's output_size is not its max pool's input size")
        if given.get("return_indices"):
            pair = PoolPair(self.imp.add(base, op.name, [source], fields, source.rank))
            self.imp.pool_inputs[pair.tensor.name] = source.name
            return pair
        out_rank = 0 if op.name == "flatten" else source.rank
        return self.imp.add(base, op.name, [source], fields, out_rank)

    def need_size(self, source: Tensor, what: Input, value: Any) -> None:
        if what is Input.SHAPE:
            shape = [value] if isinstance(value, int) else list(value)
            if len(shape) != source.rank + 1:
                raise Unmappable(f"LayerNorm over {list(shape)}: archsolve normalizes over [C, *spatial] only")
            self.imp.need(source, "shape", shape)
        elif what is Input.FEATURES and source.rank:
            raise Unmappable("nn.Linear on a tensor with spatial axes: archsolve's linear reads flat features")
        else:
            self.imp.need(source, "C", value)

    def getitem(self, node: Any, container: Any, key: Any) -> Any:
        if isinstance(container, PoolPair):
            if key == 0:
                return container.tensor
            if key == 1:
                return Indices(container.tensor.name)
        if isinstance(container, tuple):
            return container[key]
        if isinstance(container, Tensor):
            return self.crop("crop", container, key if isinstance(key, tuple) else (key,))
        raise Unmappable(f"indexing {container!r} has no archsolve layer")

    def crop(self, base: str, source: Tensor, key: tuple[Any, ...]) -> Tensor:
        """Slicing the spatial axes: to another layer's size (``like``), or by fixed amounts."""
        import sympy

        full = slice(None, None, None)
        if len(key) < 2 or key[0] != full or key[1] != full or len(key) > source.rank + 2 \
                or any(not isinstance(k, slice) or k.step not in (None, 1) for k in key):
            raise Unmappable("a slice that keeps the batch and channels and crops the spatial axes maps to crop; "
                             "this one does not")
        spatial = [*key[2:], *[full] * (source.rank + 2 - len(key))]
        dims = _dims(source)[2:]
        sizes = [sympy.simplify(k.stop - (k.start or 0)) if k.stop is not None and not isinstance(k.stop, int)
                 else None for k in spatial]
        like = _like(sizes, source.rank) if all(s is not None for s in sizes) else None
        if like is not None:
            fields: dict[str, Any] = {"like": like}
            offsets = []
            for k, d, s in zip(spatial, dims, sizes, strict=True):
                start = k.start or 0
                if sympy.simplify(start - sympy.floor((d - s) / 2)) == 0:
                    offsets.append(None)
                elif isinstance(start, int):
                    offsets.append(start)
                else:
                    raise Unmappable(f"a crop that starts at {start}: archsolve crops centred or from a fixed offset")
            if any(o is not None for o in offsets):
                if any(o is None for o in offsets):
                    raise Unmappable("a crop centred on some axes and at an offset on others")
                fields["offset"] = offsets
            return self.imp.add(base, "crop", [source, Tensor(like, source.rank)], fields, source.rank)
        amount = []
        for k in spatial:
            start, stop = k.start or 0, k.stop
            if not isinstance(start, int) or start < 0 or not (stop is None or (isinstance(stop, int) and stop < 0)):
                raise Unmappable("a slice whose ends are not fixed margins ([a:-b]) nor another tensor's size")
            amount.append([start, -stop if stop else 0])
        return self.imp.add(base, "crop", [source], {"amount": amount}, source.rank)

    def pad(self, base: str, source: Tensor, rest: list[Any], kwargs: Mapping[str, Any]) -> Tensor:
        amounts = rest[0] if rest else kwargs.get("pad")
        mode = rest[1] if len(rest) > 1 else kwargs.get("mode", "constant")
        value = rest[2] if len(rest) > 2 else kwargs.get("value")
        if mode != "constant":
            raise Unmappable(f"F.pad with mode {mode!r}: archsolve's pad is constant")
        if len(amounts) > 2 * source.rank:
            raise Unmappable("F.pad of the channels: archsolve pads the spatial axes")
        extra: dict[str, Any] = {"value": float(value)} if value else {}
        if not all(isinstance(a, (int, float)) for a in amounts):
            like = _pad_like(source, list(amounts))
            return self.imp.add(base, "pad", [source, Tensor(like, source.rank)], {"like": like} | extra, source.rank)
        ints = [_int(a, "a pad amount") for a in amounts]
        pairs = [ints[i:i + 2] for i in range(0, len(ints), 2)]
        per_axis = [[0, 0]] * (source.rank - len(pairs)) + list(reversed(pairs))  # F.pad: last axis first
        return self.imp.add(base, "pad", [source], {"amount": per_axis} | extra, source.rank)

    def reshape(self, base: str, source: Tensor, shape: list[Any]) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = list(shape[0])
        batch = _dims(source)[0]
        if not shape or (shape[0] is not batch and shape[0] != -1):
            raise Unmappable("a reshape that does not keep the batch (x.shape[0] or -1 first)")
        import sympy

        rest = shape[1:]
        if shape[0] == -1 and -1 in rest:
            raise Unmappable("a reshape with two -1 entries")
        if rest == [-1]:
            return self.imp.add(base, "flatten", [source], {}, 0)
        if len(rest) not in (1, source.rank + 1):
            raise Unmappable(f"a reshape to {len(rest)} dims after the batch: archsolve's reshape keeps the "
                             f"channels and {source.rank} spatial axes ({source.rank + 1} dims), or makes one")
        read = [i for i, v in enumerate(rest) if isinstance(v, sympy.Expr) and not v.is_number]
        if len(read) > 1 or (read and -1 in rest) or any(sympy.Expr.has(rest[i], sympy.floor) for i in read):
            raise Unmappable("a reshape with more than one size read from tensors, or one divided: "
                             "archsolve's reshape takes numbers and one -1")
        # a size read from tensors (x.size(2) * x.size(3)) is the entry torch works out (-1), tied to
        # what was read by a constraint, so a wrong one is refused as torch would refuse it
        out = self.imp.add(base, "reshape", [source], {"shape": [-1 if i in read else _int(v, "a reshape size")
                                                                 for i, v in enumerate(rest)]}, len(rest) - 1)
        for i in read:
            self.imp.constraints.append(f"{out.name}.{AXES[out.rank][i + 1]} == {rest[i]}")
        return out


@dataclass(frozen=True)
class _Box:
    """A node's value inside ``map_arg`` (which keeps only nodes, lists, tuples and dicts apart)."""

    value: Any


def _unbox(value: Any) -> Any:
    if isinstance(value, _Box):
        return value.value
    if isinstance(value, (tuple, list)):
        items = [_unbox(v) for v in value]
        return type(value)(items) if isinstance(value, tuple) and not hasattr(value, "_fields") else items
    if isinstance(value, slice):
        return slice(_unbox(value.start), _unbox(value.stop), _unbox(value.step))
    if isinstance(value, dict):
        return {k: _unbox(v) for k, v in value.items()}
    return value


# -- the whole model ------------------------------------------------------------------------------

def _source_line(module: Any, node: Any) -> Location | None:
    """The user's line that made ``node``: the last frame of its stack outside torch."""
    import torch

    home = torch.__file__.rpartition("/")[0]
    traced = next(n for n in _trace(module, stacks=True).nodes if n.name == node.name)
    frames = re.findall(r'File "([^"]+)", line (\d+)', traced.stack_trace or "")
    mine = [(f, int(n)) for f, n in frames if not f.startswith(home)]
    return Location(*mine[-1]) if mine else None


def _target(node: Any) -> str:
    """What a node calls, as the user wrote it: ``torch.fft.fft``, ``layer1.0.conv1``, ``view``."""
    from torch.fx.node import _get_qualified_name

    if isinstance(node.target, str):
        return node.target
    try:
        return _get_qualified_name(node.target)
    except (AttributeError, RuntimeError):
        return repr(node.target)


def _trace(module: Any, *, stacks: bool = False) -> Any:
    """fx's graph of ``module``; ``stacks``: with each node's source stack, which costs seconds
    on a large model, so it is traced again that way only to say where a node it cannot map is."""
    import torch.fx as fx

    tracer = fx.Tracer()
    tracer.record_stack_traces = stacks
    try:
        return tracer.trace(module)
    except Exception as exc:  # noqa: BLE001 -- fx refuses data-dependent control flow: say where
        import traceback

        import torch

        home = torch.__file__.rpartition("/")[0]
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(home)
                  and "archsolve" not in f.filename]
        where = Location(frames[-1].filename, frames[-1].lineno) if frames else None
        line = f" ({frames[-1].line})" if frames and frames[-1].line else ""
        raise SpecError(f"torch.fx cannot trace {type(module).__name__}{line}: {type(exc).__name__}: {exc}",
                        where) from None


def _input_entries(input: tuple[int | str, ...], domain: tuple[int, int]) -> tuple[list[Any], dict[str, Any]]:
    if len(input) < 2 or len(input) > 4:
        raise UsageError(f"--input {','.join(map(str, input))}: give the channels and 1, 2 or 3 spatial sizes "
                         "(C,L or C,H,W or C,D,H,W)")
    entries: list[Any] = []
    variables: dict[str, Any] = {}
    for item in input:
        text = str(item).strip()
        if re.fullmatch(r"\d+", text):
            entries.append(int(text))
        elif NAME_PATTERN.match(text) and text not in RESERVED:
            entries.append(text)
            variables[text] = {"min": domain[0], "max": domain[1]}
        else:
            raise UsageError(f"--input entry {text!r}: expected a whole number or a name (1,H,W)")
    return entries, variables


def spec_text(module: Any, input: tuple[int | str, ...], *, name: str, domain: tuple[int, int]) -> str:
    """The YAML text of the spec of ``module`` for an input ``[C, *spatial]``.

        >>> from torch import nn
        >>> print(spec_text(nn.Sequential(nn.Flatten(), nn.Linear(12, 5)), (3, 2, 2), name="fc", domain=(1, 64)))
        name: fc
        input: [3, 2, 2]
        layers:
          - {name: flatten_0, op: flatten}
          - {name: linear_1, op: linear, out: 5, bias: true}
        constraints:
          - flatten_0.C == 12
        <BLANKLINE>
    """
    from torch import nn

    entries, variables = _input_entries(input, domain)
    classes, functions = _tables()
    if type(module) in classes:  # a bare nn.Conv2d: fx would trace into it, down to its weights
        module = nn.Sequential(module)
    graph = _trace(module)
    mapper = _Mapper(_Import(module), classes, functions)
    nodes = list(graph.nodes)
    placeholders = [n for n in nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise UsageError(f"{name}.forward takes {len(placeholders)} inputs ({', '.join(n.name for n in placeholders)})"
                         ": archsolve imports a model of one input tensor (wrap it in a module whose forward "
                         "takes one)")
    outputs = [n for n in nodes if n.op == "output"]
    needed = _ancestors(outputs[0])
    for node in nodes:
        if node.op == "placeholder":
            mapper.env[node.name] = Tensor("input", len(entries) - 1)
        elif node.op == "output":
            result = mapper.env[node.args[0].name] if hasattr(node.args[0], "name") else None
            if isinstance(node.args[0], (tuple, list, dict)):
                raise SpecError(f"{name}.forward returns {len(node.args[0])} values: archsolve imports a model that "
                                "returns one tensor (import each output's model on its own)",
                                _source_line(module, node))
            if not isinstance(result, Tensor) or result.name == "input":
                raise SpecError(f"{name}.forward returns {node.args[0]!r}: archsolve imports a model that returns "
                                "one tensor made by its layers", _source_line(module, node))
        elif node in needed:
            mapper.imp.stack = tuple(tuple(v) for v in (node.meta.get("nn_module_stack") or {}).values())
            try:
                mapper.env[node.name] = mapper.node(node)
            except Unmappable as exc:
                kind = UsageError if isinstance(exc, WrongInput) else SpecError
                raise kind(f"cannot import node {node.name} ({node.op} {_target(node)}): {exc}",
                           _source_line(module, node)) from None
    doc: dict[str, Any] = {"name": name, "input": entries}
    if variables:
        doc["vars"] = variables
    lines = [f"{k}: {_flow(v)}" for k, v in doc.items()]
    if not mapper.imp.layers:
        raise UsageError(f"{name} has no layers to import (its forward returns its input)")
    folded = fold_blocks(mapper.imp.layers, mapper.imp.origins, mapper.imp.constraints)
    if folded.blocks:
        lines.append("blocks:")
        for block, (params, layers) in folded.blocks.items():
            lines += [f"  {block}:", f"    params: {_flow(dict.fromkeys(params))}", "    layers:"]
            lines += [f"      - {_flow(layer)}" for layer in implicit_from(layers, "in")]
    lines.append("layers:")
    lines += [f"  - {_flow(layer)}" for layer in implicit_from(folded.layers, "input")]
    if folded.constraints:
        lines.append("constraints:")
        lines += [f"  - {c}" for c in dict.fromkeys(folded.constraints)]
    return "\n".join(lines) + "\n"


def _flow(value: Any) -> str:
    """``value`` in YAML's flow style, on one line."""
    return yaml.safe_dump([value], default_flow_style=True, sort_keys=False, width=10**6).strip()[1:-1]


def _ancestors(output: Any) -> set[Any]:
    """The nodes the output depends on (fx keeps dead ones, which import leaves out)."""
    seen: set[Any] = set()
    todo = list(output.all_input_nodes)
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(node.all_input_nodes)
    return seen
