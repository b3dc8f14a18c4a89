"""How each op is written in PyTorch: the facts ``export`` builds a layer from.

An op is either a module (:class:`NNModule`): an ``nn`` class built in ``__init__`` from the
layer's fields and called on its input in ``forward``; or inline (:class:`Inline`): an
expression written in ``forward`` itself (``torch.cat``, ``+``, slicing, ``F.pad``).
Either gives, for one layer, a :data:`Written` value: a :class:`Call`, :class:`Infix` or
:class:`Index` holding plain Python values.  Turning those into source text (literals,
line wrapping) is ``export``'s business, not the table's.

archsolve's field defaults are torch's own, so a module's keyword argument is written only
where the layer's value differs from its field's default.

Example::

    >>> from archsolve.ops.base import Args, FieldDef, Kind
    >>> fields = {"out": FieldDef("out", Kind.INT), "bias": FieldDef("bias", Kind.BOOL, True)}
    >>> linear = NNModule("nn.Linear", (Input.FEATURES, "out"), (("bias", "bias"),))
    >>> linear.written(fields, Args({"out": 10, "bias": False}, 2), [(64,)], (10,))
    Call(fn='nn.Linear', args=(64, 10), keywords=(('bias', False),))
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archsolve.ops.base import REQUIRED, Args, FieldDef, Kind, Shape
from archsolve.ops.rules import crop_offsets


class Tensor(enum.Enum):
    """An argument that is the layer's input tensor(s), in a :class:`Call`."""

    FIRST = "first"  # the (first) input: F.pad(x, ...)
    ALL = "all"  # every input, as a list: torch.cat([a, b], ...)
    LIKE_SIZE = "like_size"  # the spatial size of the layer `like` names, read at run time: y.shape[2:]
    BATCH = "batch"  # the batch size of the first input, inside a shape: (x.shape[0], 256, 4, 4)


class Input(enum.Enum):
    """A size of the layer's input that a module's constructor takes."""

    CHANNELS = "channels"  # x[0]: in_channels, num_features, num_channels
    FEATURES = "features"  # x[-1]: Linear's in_features
    SHAPE = "shape"  # [C, *spatial] as a list: LayerNorm's normalized_shape


class PerAxis(tuple[int, ...]):
    """One value per spatial axis (torch takes a single int when they are all equal)."""

    __slots__ = ()


@dataclass(frozen=True)
class Call:
    """``fn(*args, **keywords)``; an argument is a Python value or a :class:`Tensor`."""

    fn: str
    args: tuple[Any, ...] = ()
    keywords: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Infix:
    """The inputs joined by an operator: ``a + b``."""

    operator: str


@dataclass(frozen=True)
class Index:
    """The first input, indexed: ``x[:, :, 1:5]`` (one item per dimension, the batch's first)."""

    items: tuple[slice, ...]


@dataclass(frozen=True)
class CropLike:
    """The first input cropped to the spatial size of the layer ``like`` names, read at run
    time (so the module works at every input size): from ``offsets`` on each axis (Caffe's
    crop), or centred where ``offsets`` is None."""

    offsets: tuple[int, ...] | None


Written = Call | Infix | Index | CropLike
Fields = Mapping[str, FieldDef]


def is_default(f: FieldDef, args: Args) -> bool:
    """Whether a layer's value of field ``f`` is the field's default (so torch needs no argument).

        >>> from archsolve.ops.base import Args, FieldDef, Kind
        >>> stride = FieldDef("stride", Kind.AXES, "=kernel")
        >>> is_default(stride, Args({"kernel": (2, 2), "stride": (2, 2)}, 2))
        True
    """
    default, value = f.default, args[f.name]
    if default is REQUIRED:
        return False
    if isinstance(default, str) and default.startswith("="):
        default = args[default[1:]]
    if f.kind is Kind.AXES and isinstance(value, tuple):
        wanted = default if isinstance(default, tuple) else (default,) * len(value)
        return tuple(value) == tuple(wanted)
    if f.kind is Kind.BOOL:
        return bool(value) == default
    return bool(value == default)


def _value(f: FieldDef, v: Any) -> Any:
    """A field's value as the constructor takes it."""
    if f.kind is Kind.AXES and isinstance(v, tuple):
        return PerAxis(int(x) for x in v)
    if f.kind is Kind.INT:
        return int(v)
    if f.kind is Kind.BOOL:
        return bool(v)
    return v  # a number, a choice, or a padding word ('same')


def _size(source: Input, x: Shape) -> Any:
    if source is Input.CHANNELS:
        return int(x[0])
    if source is Input.FEATURES:
        return int(x[-1])
    return [int(v) for v in x]


@dataclass(frozen=True)
class Slot:
    """One constructor argument of a module: ``keyword`` None for a positional one; ``origin``
    the field or the input size it comes from; ``default``: torch takes the same value without
    it, so it is left out."""

    keyword: str | None
    origin: str | Input
    value: Any
    default: bool = False


@dataclass(frozen=True)
class NNModule:
    """An ``nn`` module built from the layer's fields.

    ``cls`` may hold ``{rank}``: the input's spatial rank (1 for a flat input), as in
    ``nn.Conv{rank}d``.  ``positional``: fields or input sizes, always written.
    ``keywords``: ``(torch's keyword, field)``, written where the value is not the field's
    default, or always for the keywords in ``always`` (torch's default differs from ours).
    ``sizes``: ``(torch's keyword, input size, BOOL field)``: the size, written where the
    field is true (PReLU's ``num_parameters``: the channels when ``per_channel``).
    ``unpool``: the LAYER field naming the maxpool whose indices ``forward`` also passes,
    with the layer's own output size as ``output_size`` (MaxUnpoolNd).
    """

    cls: str
    positional: tuple[str | Input, ...] = ()
    keywords: tuple[tuple[str, str], ...] = ()
    always: frozenset[str] = frozenset()
    sizes: tuple[tuple[str, Input, str], ...] = ()
    unpool: str = ""

    def slots(self, fields: Fields, args: Args, inputs: Sequence[Shape]) -> tuple[Slot, ...]:
        """Every constructor argument the layer could be written with, defaults included
        (``export`` compares them across a block's calls to find its class's parameters)."""
        x = inputs[0]
        positional = tuple(Slot(None, p, _size(p, x) if isinstance(p, Input) else _value(fields[p], args[p]))
                           for p in self.positional)
        sizes = tuple(Slot(kw, source, _size(source, x)) for kw, source, switch in self.sizes if args[switch])
        keywords = tuple(Slot(kw, name, _value(fields[name], args[name]),
                              kw not in self.always and is_default(fields[name], args))
                         for kw, name in self.keywords if args.get(name) is not None)
        return positional + sizes + keywords

    def class_for(self, inputs: Sequence[Shape]) -> str:
        """The ``nn`` class for the input's rank: ``nn.Conv2d``."""
        return self.cls.format(rank=max(len(inputs[0]) - 1, 1))

    def written(self, fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Call:
        """The constructor call for one layer."""
        slots = self.slots(fields, args, inputs)
        return Call(self.class_for(inputs), tuple(s.value for s in slots if s.keyword is None),
                    tuple((s.keyword, s.value) for s in slots if s.keyword is not None and not s.default))


@dataclass(frozen=True)
class Inline:
    """An expression written in ``forward``; ``imports``: the source lines it needs besides
    ``import torch`` and ``from torch import nn``."""

    expression: Callable[[Fields, Args, Sequence[Shape], Shape], Written]
    imports: tuple[str, ...] = ()

    def written(self, fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
        """The expression for one layer."""
        return self.expression(fields, args, inputs, out)


@dataclass(frozen=True)
class TorchForm:
    """An op in PyTorch: a module or an inline expression.

    ``title``: the name the docs show (also the form's ``str()``).  ``view``: the output
    may share memory with the input (a view, or the input itself), so an in-place op after
    it would overwrite the input as well.
    """

    title: str
    how: NNModule | Inline
    view: bool = False
    like: Inline | None = None  # the form of a layer that takes its size from another (``like``)
    # the functions and Tensor methods that compute the op, for ``import`` to read a traced
    # model back: ``F.max_pool{rank}d``, ``torch.relu``, ``Tensor.relu``, ``operator.add``
    functions: tuple[str, ...] = ()

    def form(self, args: Mapping[str, Any]) -> NNModule | Inline:
        """How one layer is written: :attr:`like` where its ``like`` names a layer."""
        return self.like if self.like is not None and args.get("like") is not None else self.how

    @property
    def module(self) -> bool:
        """Whether ``export`` builds a module for the op (rather than writing it in ``forward``)."""
        return isinstance(self.how, NNModule)

    def module_for(self, args: Mapping[str, Any]) -> bool:
        """:attr:`module` for one layer (an upsample ``like`` another layer is written in ``forward``)."""
        return isinstance(self.form(args), NNModule)

    @property
    def imports(self) -> tuple[str, ...]:
        return tuple(line for how in (self.how, self.like) if isinstance(how, Inline) for line in how.imports)

    def written(self, fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
        """One layer in PyTorch: its module's constructor call, or its expression in ``forward``."""
        return self.form(args).written(fields, args, inputs, out)

    def __str__(self) -> str:
        return self.title


def nn_module(cls: str, *positional: str | Input, always: tuple[str, ...] = (), view: bool = False,
              title: str = "", like: Inline | None = None, sizes: tuple[tuple[str, Input, str], ...] = (),
              unpool: str = "", functions: tuple[str, ...] = (), **keywords: str) -> TorchForm:
    """A module's form; ``keywords`` map torch's keywords to the fields they come from (the
    other arguments: :class:`NNModule`).  The title is the class's, with ``Nd`` for the rank,
    unless given.

        >>> str(nn_module("nn.MaxPool{rank}d", kernel_size="kernel"))
        'MaxPoolNd'
    """
    how = NNModule(cls, positional, tuple(keywords.items()), frozenset(always), sizes, unpool)
    return TorchForm(title or cls.removeprefix("nn.").replace("{rank}d", "Nd"), how, view, like, functions)


def inline(title: str, expression: Callable[[Fields, Args, Sequence[Shape], Shape], Written], *,
           view: bool = False, imports: tuple[str, ...] = (), functions: tuple[str, ...] = ()) -> TorchForm:
    """An inline form."""
    return TorchForm(title, Inline(expression, imports), view, functions=functions)


# -- the inline expressions ------------------------------------------------------------------------

def concat_written(fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
    return Call("torch.cat", (Tensor.ALL,), (("dim", 1),))


def add_written(fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
    return Infix("+")


def crop_written(fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
    if args.get("like") is not None:
        offset = args.get("offset")
        return CropLike(None if offset is None else tuple(int(v) for v in offset))
    starts = [int(v) for v in crop_offsets(args, inputs)]
    return Index((slice(None), slice(None),
                  *(slice(s, s + int(n)) for s, n in zip(starts, out[1:], strict=True))))


def upsample_like_written(fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
    """``F.interpolate`` to the size of the layer ``like`` names, read at run time."""
    keywords = (("size", Tensor.LIKE_SIZE), *((kw, args[name]) for kw, name in (("mode", "mode"),
                                                                                 ("align_corners", "align_corners"))
                                               if args.get(name) is not None and not is_default(fields[name], args)))
    return Call("F.interpolate", (Tensor.FIRST,), keywords)


PAD_TO = "_pad_to"  # the function export writes into a file that pads to another layer's size
CHECK_INPUT = "_check_input"  # ... that checks the input's size first (import reads past it)


def pad_written(fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
    value = () if is_default(fields["value"], args) else (("value", args["value"]),)
    if args.get("like") is not None:  # the sizes read at run time: the module works at every input size
        return Call(PAD_TO, (Tensor.FIRST, Tensor.LIKE_SIZE), value)
    # F.pad takes the last axis first
    amounts = tuple(int(v) for before, after in reversed(args["amount"]) for v in (before, after))
    return Call("F.pad", (Tensor.FIRST, amounts), value)


def flatten_written(fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
    return Call("torch.flatten", (Tensor.FIRST, 1))


def mul_written(fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
    return Infix("*")


def reshape_written(fields: Fields, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
    # the shape as worked out, but a written -1 kept: torch then works it out at every input size
    return Call("torch.reshape", (Tensor.FIRST, (Tensor.BATCH, *(-1 if a == -1 else int(v)
                                                                  for a, v in zip(args["shape"], out, strict=True)))))
