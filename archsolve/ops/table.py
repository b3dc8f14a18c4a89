"""The op table: every op, described once by an :class:`OpDef` in :data:`OPS`.

An op's entry names everything archsolve knows about it: its fields, its rules (shape and
validity, parameters, MACs, receptive-field reach: :mod:`archsolve.ops.rules`), its torch
class.  Adding an op touches the ``ops`` package only: an entry here, and a rule where no
existing one fits.

Example::

    >>> from archsolve.ops.base import Args, Collect
    >>> args = Args.of(OPS["conv"], {"out": 8, "kernel": (3, 3), "stride": (2, 2)}, ndim=2)
    >>> OPS["conv"].shape(args, [(3, 32, 32)], Collect())
    (8, 15, 15)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archsolve.lang.expr import Value
from archsolve.ops.base import Args, FieldDef, Kind, Req, Shape, Window
from archsolve.ops.rules import (
    adaptive_reach,
    adaptive_shape,
    add_shape,
    avgpool_shape,
    batchnorm_shape,
    channel_norm_params,
    concat_shape,
    conv_macs,
    conv_params,
    conv_reach,
    conv_shape,
    crop_reach,
    crop_shape,
    deconv_macs,
    deconv_params,
    deconv_reach,
    deconv_shape,
    flatten_shape,
    groupnorm_shape,
    instancenorm_shape,
    layernorm_params,
    linear_macs,
    linear_params,
    linear_reach,
    linear_shape,
    merge_reach,
    no_count,
    pad_reach,
    pad_shape,
    pixel_shuffle_reach,
    pixel_shuffle_shape,
    pool_reach,
    pool_shape,
    same_reach,
    same_shape,
    softmax_shape,
    upsample_reach,
    upsample_shape,
    whole_reach,
)

# -- field shorthands --------------------------------------------------------------------------

def _out() -> FieldDef:
    return FieldDef("out", Kind.INT, minimum=1, domain=("1", "4096"), doc="output channels")


def _kernel() -> FieldDef:
    return FieldDef("kernel", Kind.AXES, minimum=1, domain=("1", "11"))


def _stride(default: Any = 1) -> FieldDef:
    return FieldDef("stride", Kind.AXES, default, minimum=1, domain=("1", "4"))


def _dilation() -> FieldDef:
    return FieldDef("dilation", Kind.AXES, 1, minimum=1, domain=("1", "4"))


def _groups() -> FieldDef:
    return FieldDef("groups", Kind.INT, 1, minimum=1, domain=("1", "4096"))


def _bool(name: str, default: bool) -> FieldDef:
    return FieldDef(name, Kind.BOOL, default)


def _number(name: str, default: float) -> FieldDef:
    return FieldDef(name, Kind.NUMBER, default)


# -- the table --------------------------------------------------------------------------------

@dataclass(frozen=True)
class OpDef:
    """Everything archsolve knows about one op."""

    name: str
    fields: tuple[FieldDef, ...]
    shape: Callable[[Args, Sequence[Shape], Req], Shape]
    params: Callable[[Args, Sequence[Shape], Shape], Value] = no_count
    macs: Callable[[Args, Sequence[Shape], Shape], Value] = no_count
    reach: Callable[[Args, int, Sequence[Shape], Shape], list[list[Window]]] = same_reach
    merge: bool = False
    torch: str = ""
    field_map: Mapping[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_map", {f.name: f for f in self.fields})


_CONV_PADDING = FieldDef("padding", Kind.AXES, 0, minimum=0, domain=("0", "kernel - 1"), words=("same", "valid"))
_DECONV_PADDING = FieldDef("padding", Kind.AXES, 0, minimum=0, domain=("0", "kernel - 1"))
_POOL_PADDING = FieldDef("padding", Kind.AXES, 0, minimum=0, domain=("0", "kernel // 2"))
_CEIL = _bool("ceil_mode", False)
_SIZE = FieldDef("size", Kind.AXES, minimum=1, domain=("1", "4096"))
_ACTIVATIONS = {
    "relu": "ReLU", "leakyrelu": "LeakyReLU", "gelu": "GELU", "silu": "SiLU", "sigmoid": "Sigmoid",
    "tanh": "Tanh", "softmax": "Softmax", "dropout": "Dropout", "identity": "Identity",
}
_ACTIVATION_FIELDS: dict[str, tuple[FieldDef, ...]] = {
    "leakyrelu": (_number("negative_slope", 0.01),),
    "softmax": (FieldDef("dim", Kind.INT, 1, doc="a dimension of the batched tensor [N, C, *spatial]"),),
    "dropout": (FieldDef("p", Kind.NUMBER, 0.5, minimum=0, maximum=1),),
    "relu": (_bool("inplace", False),),
}

_DEFS: list[OpDef] = [
    OpDef("conv", (_out(), _kernel(), _stride(), _CONV_PADDING, _dilation(), _groups(), _bool("bias", True)),
          conv_shape, conv_params, conv_macs, conv_reach, torch="ConvNd"),
    OpDef("deconv", (_out(), _kernel(), _stride(), _DECONV_PADDING,
                     FieldDef("output_padding", Kind.AXES, 0, minimum=0, domain=("0", "max(stride, dilation) - 1")),
                     _dilation(), _groups(), _bool("bias", True)),
          deconv_shape, deconv_params, deconv_macs, deconv_reach, torch="ConvTransposeNd"),
    OpDef("maxpool", (_kernel(), _stride("=kernel"), _POOL_PADDING, _dilation(), _CEIL),
          pool_shape, reach=pool_reach, torch="MaxPoolNd"),
    OpDef("avgpool", (_kernel(), _stride("=kernel"), _POOL_PADDING, _CEIL, _bool("count_include_pad", True)),
          avgpool_shape, reach=pool_reach, torch="AvgPoolNd"),
    OpDef("adaptive_avgpool", (_SIZE,), adaptive_shape, reach=adaptive_reach, torch="AdaptiveAvgPoolNd"),
    OpDef("adaptive_maxpool", (_SIZE,), adaptive_shape, reach=adaptive_reach, torch="AdaptiveMaxPoolNd"),
    OpDef("upsample", (FieldDef("scale", Kind.AXES, None, minimum=1, domain=("1", "8")),
                       FieldDef("size", Kind.AXES, None, minimum=1, domain=("1", "4096")),
                       FieldDef("mode", Kind.CHOICE, "nearest",
                                choices=("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")),
                       _bool("align_corners", None)),
          upsample_shape, reach=upsample_reach, torch="Upsample"),
    OpDef("pixel_shuffle", (FieldDef("factor", Kind.INT, minimum=1, domain=("1", "8")),),
          pixel_shuffle_shape, reach=pixel_shuffle_reach, torch="PixelShuffle"),
    OpDef("crop", (FieldDef("like", Kind.LAYER, None),
                   FieldDef("amount", Kind.SIDES, None, minimum=0, domain=("0", "64"))),
          crop_shape, reach=crop_reach, torch="slicing"),
    OpDef("pad", (FieldDef("amount", Kind.SIDES, minimum=0, domain=("0", "64")), _number("value", 0)),
          pad_shape, reach=pad_reach, torch="F.pad"),
    OpDef("concat", (), concat_shape, reach=merge_reach, merge=True, torch="torch.cat(dim=1)"),
    OpDef("add", (), add_shape, reach=merge_reach, merge=True, torch="+"),
    OpDef("flatten", (), flatten_shape, reach=whole_reach, torch="Flatten"),
    OpDef("linear", (_out(), _bool("bias", True)), linear_shape, linear_params, linear_macs, linear_reach,
          torch="Linear"),
    OpDef("batchnorm", (_bool("affine", True), _number("eps", 1e-5), _number("momentum", 0.1),
                        _bool("track_running_stats", True)),
          batchnorm_shape, channel_norm_params, torch="BatchNormNd"),
    OpDef("groupnorm", (FieldDef("groups", Kind.INT, minimum=1, domain=("1", "4096")), _bool("affine", True),
                        _number("eps", 1e-5)),
          groupnorm_shape, channel_norm_params, torch="GroupNorm"),
    OpDef("layernorm", (_bool("affine", True), _bool("bias", True), _number("eps", 1e-5)),
          same_shape, layernorm_params, reach=whole_reach, torch="LayerNorm([C, *spatial])"),
    OpDef("instancenorm", (_bool("affine", False), _number("eps", 1e-5), _number("momentum", 0.1),
                           _bool("track_running_stats", False)),
          instancenorm_shape, channel_norm_params, torch="InstanceNormNd"),
    *(OpDef(name, _ACTIVATION_FIELDS.get(name, ()), softmax_shape if name == "softmax" else same_shape, torch=t)
      for name, t in _ACTIVATIONS.items()),
]

OPS: dict[str, OpDef] = {d.name: d for d in _DEFS}
# rules that hand their input on unchanged and state no condition (activations, batchnorm):
# a search may skip such layers, since they cannot make a network invalid
IDENTITY_RULES = (same_shape, batchnorm_shape)
ALIASES = {"convtranspose": "deconv"}
MERGES = frozenset(name for name, d in OPS.items() if d.merge)
