"""What autograd keeps of each op for the backward pass, as PyTorch does (one fact per op in
the op table; :mod:`archsolve.shapes.memory` adds the bytes up).

Measured with ``torch.autograd.graph.saved_tensors_hooks`` on PyTorch 2.13 (CPU, training
mode) and checked against it in tests/test_memory_torch.py: a conv, transposed conv or linear
keeps its input (and its weight, a parameter; a ``same`` conv of an even span a padded copy
of its input); a ReLU, sigmoid, tanh or softmax its output;
the other element-wise activations their input; a max pool its input and its indices
(``int64``, one per output element); batch norm its input and four per-channel vectors
(two with no running statistics); an adaptive average pool its input (to size 1:
nothing, it is a mean); a concat, add, crop, pad, flatten, reshape or up-sampling nothing of
its own; a ``mul`` of several inputs runs as ``a * b * c``, and each product keeps the
operand the other side's gradient needs (the partial product ``a * b`` included).

A crop is a slice: not contiguous.  A flatten or reshape of such a tensor copies it (a
storage of its own), and a group or instance norm keeps a contiguous copy of it rather than
the slice.

A norm's statistics are in the network's dtype (a model cast to bfloat16 keeps them in
bfloat16; under autocast PyTorch keeps them in float32, which this does not count).

A layer's output is a *view* of its input's storage (no bytes of its own) for a crop (a
slice), flatten, reshape and identity, and for an in-place activation.  In place, a ReLU
keeps its output (its input's storage) and an ELU or SELU keeps its output too; a ReLU6,
hardswish, hardsigmoid or mish keeps a copy of its input made before it is overwritten (the
memory in-place was meant to save is spent on the copy).

    >>> from archsolve.ops.table import OPS
    >>> OPS["conv"].autograd.keeps, OPS["relu"].autograd.keeps, OPS["concat"].autograd.keeps
    (<Keep.INPUTS: 'inputs'>, <Keep.OUTPUT: 'output'>, <Keep.NOTHING: 'nothing'>)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archsolve.ops.base import Shape

INT64 = 8  # bytes of a max pool's index
ADAM_COPIES = 4  # the weights, their gradients, and Adam's first and second moments


class Dtype(enum.Enum):
    """The activations' and weights' type (``--dtype``, a spec's ``dtype:``)."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"

    @property
    def itemsize(self) -> int:
        return 4 if self is Dtype.FLOAT32 else 2


@dataclass(frozen=True)
class MemoryMode:
    """The batch and type memory is counted at (``--batch --dtype``, a spec's ``batch:`` and ``dtype:``)."""

    batch: int = 1
    dtype: Dtype = Dtype.FLOAT32


class Keep(enum.Enum):
    """Which of a layer's own tensors autograd keeps for its backward pass."""

    NOTHING = "nothing"
    INPUTS = "inputs"  # each tensor it reads (a merge: all of them)
    OUTPUT = "output"
    COPY = "copy"  # run in place: a copy of its input, made before it is overwritten


# (args, input shapes, output shape) -> the extra tensors kept, each as (elements at batch 1 or
# per sample, bytes per element or None for the activations' dtype, whether it grows with the batch)
Extra = Callable[[Mapping[str, Any], Sequence[Shape], Shape], list[tuple[int, int | None, bool]]]


@dataclass(frozen=True)
class Autograd:
    """An op's autograd facts: what it ``keeps`` (``keeps_when`` the layer is so, where that
    depends on it), the ``extra`` tensors it makes for backward, whether its output is a
    ``view`` of its input's storage, and the field that makes it run in place (its output
    then is its input's storage too)."""

    keeps: Keep = Keep.NOTHING
    extra: Extra | None = None
    view: bool = False
    inplace: str | None = None
    keeps_when: Callable[[Mapping[str, Any], Sequence[Shape], Shape], bool] | None = None  # None: always
    inplace_keeps: Keep | None = None  # what it keeps when run in place, where that differs
    indices_of: str | None = None  # the LAYER field naming the max pool whose indices it keeps (maxunpool)
    pairwise: bool = False  # a merge run as a * b * c: each step keeps the operand the other's gradient needs
    slices: bool = False  # a view that is not contiguous unless it keeps the whole input (crop)
    reshapes: bool = False  # a view of a contiguous input, a copy of any other (flatten, reshape)
    contiguous_input: bool = False  # keeps a contiguous copy of an input that is not (group and instance norm)


def _numel(shape: Shape) -> int:
    return math.prod(int(v) for v in shape)


def indices(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> list[tuple[int, int | None, bool]]:
    """A max pool's indices: one ``int64`` per output element."""
    return [(_numel(out), INT64, True)]


def batchnorm_stats(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> list[tuple[int, int | None, bool]]:
    """The batch's mean and inverse deviation per channel, and the running mean and variance
    when it tracks them (in the network's dtype: a model cast to bfloat16 casts them too)."""
    channels = int(out[0])
    return [(channels, None, False)] * (4 if args.get("track_running_stats", True) else 2)


def instancenorm_stats(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> list[tuple[int, int | None, bool]]:
    """Per sample and channel: the mean and inverse deviation, the weight repeated per sample
    when it is affine, and the running mean and variance so repeated when it tracks them
    (float32 each)."""
    channels = int(out[0])
    count = 2 + bool(args.get("affine")) + 2 * bool(args.get("track_running_stats"))
    return [(channels, None, True)] * count


def _asymmetric_same(args: Mapping[str, Any]) -> bool:
    """``padding: same`` with an even span on some axis: PyTorch pads the input by one more
    on the right there, as a copy, and convolves that."""
    return args.get("padding") == "same" and any(
        int(d) * (int(k) - 1) % 2 for k, d in zip(args["kernel"], args["dilation"], strict=True))


def keeps_its_input(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> bool:
    """A conv keeps its input, except where it keeps a padded copy instead (:func:`same_copy`)."""
    return not _asymmetric_same(args)


def same_copy(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> list[tuple[int, int | None, bool]]:
    """The padded copy of the input an asymmetric ``same`` conv keeps in its place."""
    if not _asymmetric_same(args):
        return []
    x = inputs[0]
    grown = [int(v) + int(d) * (int(k) - 1) % 2 for v, k, d in zip(x[1:], args["kernel"], args["dilation"], strict=True)]
    return [(int(x[0]) * math.prod(grown), None, True)]


def not_global(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> bool:
    """An adaptive average pool to a size other than 1 everywhere keeps its input; to size 1
    PyTorch takes the mean, which keeps nothing."""
    return any(int(v) != 1 for v in out[1:])


def groupnorm_stats(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> list[tuple[int, int | None, bool]]:
    """Per sample and group: the mean and inverse deviation."""
    return [(int(args["groups"]), None, True)] * 2


def layernorm_stats(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> list[tuple[int, int | None, bool]]:
    """Per sample (it normalizes the whole [C, *spatial]): the mean and inverse deviation."""
    return [(1, None, True)] * 2


def dropout_mask(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> list[tuple[int, int | None, bool]]:
    """The mask, in the activations' dtype (PyTorch's CPU kernel; its CUDA kernel keeps one
    byte an element: docs/memory.md)."""
    return [(_numel(out), None, True)] if float(args.get("p", 0.5)) > 0 else []


def lrn_temporaries(args: Mapping[str, Any], inputs: Sequence[Shape], out: Shape) -> list[tuple[int, int | None, bool]]:
    """PyTorch writes local response norm out of other ops; their backward keeps the squared
    input padded by ``size - 1`` channels, and two more tensors of the input's size."""
    channels, spatial = int(out[0]), _numel(out[1:])
    return [((channels + int(args["size"]) - 1) * spatial, None, True), (_numel(out), None, True),
            (_numel(out), None, True)]


def output_bytes(shape: Shape, *, batch: int, itemsize: int) -> int:
    """The bytes of a tensor of ``shape`` (without the batch) at ``batch``.

        >>> output_bytes((64, 568, 568), batch=2, itemsize=4)
        165183488
    """
    return batch * _numel(shape) * itemsize
