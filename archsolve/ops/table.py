"""The op table: every op, described once by an :class:`OpDef` in :data:`OPS`.

An op's entry names everything archsolve knows about it: its fields, its rules (shape and
validity, parameters, MACs, receptive-field reach: :mod:`archsolve.ops.rules`), how it is
written in PyTorch (:mod:`archsolve.ops.torchform`), how it is drawn (its :class:`Family`,
and how it changes resolution).  Adding an op touches the ``ops`` package only: an entry
here, and a rule where no existing one fits.

Example::

    >>> from archsolve.ops.base import Args, Collect
    >>> args = Args.of(OPS["conv"], {"out": 8, "kernel": (3, 3), "stride": (2, 2)}, ndim=2)
    >>> OPS["conv"].shape(args, [(3, 32, 32)], Collect())
    (8, 15, 15)
    >>> OPS["conv"].written(args, [(3, 32, 32)], (8, 15, 15))
    Call(fn='nn.Conv2d', args=(3, 8), keywords=(('kernel_size', (3, 3)), ('stride', (2, 2))))
    >>> OPS["conv"].family, str(OPS["conv"].torch)
    (<Family.CONV: 'conv'>, 'ConvNd')
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any

from archsolve.lang.expr import Value
from archsolve.ops.autograd import (
    Autograd,
    Keep,
    batchnorm_stats,
    dropout_mask,
    groupnorm_stats,
    indices,
    instancenorm_stats,
    keeps_its_input,
    layernorm_stats,
    lrn_temporaries,
    not_global,
    same_copy,
)
from archsolve.ops.base import Args, FieldDef, Kind, Req, Shape, Window
from archsolve.ops.rules import (
    adaptive_reach,
    adaptive_shape,
    add_shape,
    avgpool_shape,
    batchnorm_shape,
    channel_norm_params,
    concat_shape,
    conv_effect,
    conv_macs,
    conv_params,
    conv_reach,
    conv_shape,
    crop_reach,
    crop_shape,
    deconv_effect,
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
    lrn_shape,
    maxunpool_reach,
    maxunpool_shape,
    merge_reach,
    mul_reach,
    mul_shape,
    no_count,
    pad_reach,
    pad_shape,
    pixel_shuffle_reach,
    pixel_shuffle_shape,
    pool_reach,
    pool_shape,
    prelu_params,
    reshape_shape,
    same_reach,
    same_shape,
    softmax_shape,
    upsample_reach,
    upsample_shape,
    whole_reach,
)
from archsolve.ops.torchform import (
    Inline,
    Input,
    TorchForm,
    Written,
    add_written,
    concat_written,
    crop_written,
    flatten_written,
    inline,
    mul_written,
    nn_module,
    pad_written,
    reshape_written,
    upsample_like_written,
)


class Family(enum.Enum):
    """The family ``draw`` colours an op by (after the U-Net paper's arrows: pool red, up-conv green)."""

    CONV = "conv"  # learned maps: conv, linear
    UP = "up"  # up-sampling
    POOL = "pool"  # down-sampling windows, adaptive pools
    BORDER = "border"  # crop, pad
    CONCAT = "concat"
    SUM = "sum"
    NORM = "norm"
    ACTIVATION = "activation"  # an element-wise function drawn small
    OTHER = "other"  # drawn as a plain box: flatten, and leakyrelu, softmax, dropout


@dataclass(frozen=True)
class Resample:
    """How an op changes the spatial resolution: ``draw`` lays an encoder-decoder out as a U by it.

    ``field``: the factor (stride, scale); ``unknown``: the levels assumed while the factor is
    not known (an open ``"?"``, or not given).
    """

    field: str
    up: bool = False
    unknown: int = 1


@dataclass(frozen=True)
class OpDef:
    """Everything archsolve knows about one op."""

    name: str
    fields: tuple[FieldDef, ...]
    shape: Callable[[Args, Sequence[Shape], Req], Shape]
    params: Callable[[Args, Sequence[Shape], Shape], Value] = no_count
    macs: Callable[[Args, Sequence[Shape], Shape], Value] = no_count
    reach: Callable[[Args, int, Sequence[Shape], Shape], list[list[Window]]] = same_reach
    _: KW_ONLY
    torch: TorchForm
    family: Family
    merge: bool = False
    resample: Resample | None = None
    autograd: Autograd = Autograd()  # what autograd keeps for the backward pass (ops/autograd.py)
    # what the fields do to the sizes and the errors, where alike combinations can share one run
    # of the rule (rules.conv_effect); None: every combination runs it
    effect: Callable[[Mapping[str, Any]], tuple[Any, ...] | None] | None = None
    field_map: Mapping[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_map", {f.name: f for f in self.fields})

    def written(self, args: Args, inputs: Sequence[Shape], out: Shape) -> Written:
        """The layer in PyTorch (:mod:`archsolve.ops.torchform`)."""
        return self.torch.written(self.field_map, args, inputs, out)

    @property
    def keeps_channels(self) -> bool:
        """Whether the output has the (first) input's channels whatever the fields: no learned
        map, concat, flatten, or a field that sets them (``out``, ``factor``, ``shape``).

            >>> OPS["batchnorm"].keeps_channels, OPS["conv"].keeps_channels, OPS["pixel_shuffle"].keeps_channels
            (True, False, False)
        """
        return (self.family not in (Family.CONV, Family.CONCAT) and self.name != "flatten"
                and not {"out", "factor", "shape"} & self.field_map.keys())

    def data_sources(self, sources: tuple[str, ...], values: Mapping[str, Any]) -> tuple[str, ...]:
        """The sources whose data the layer reads: the layers its LAYER fields name (crop's
        ``like``) come last among its sources and lend only their size (a maxunpool's pool, and
        that pool's input, lend sizes too; ``export`` hands the pool's indices over itself).

            >>> OPS["crop"].data_sources(("big", "small"), {"like": "small"})
            ('big',)
            >>> OPS["maxunpool"].data_sources(("dec", "pool1", "enc1"), {"indices": "pool1"})
            ('dec',)
        """
        refs = sum(2 if f.reads_input else 1 for f in self.fields
                   if f.kind is Kind.LAYER and values.get(f.name) is not None)
        return sources[:len(sources) - refs]


# -- field shorthands ---------------------------------------------------------------

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

_CONV_PADDING = FieldDef("padding", Kind.AXES, 0, minimum=0, domain=("0", "dilation * (kernel - 1)"), words=("same", "valid"))
_DECONV_PADDING = FieldDef("padding", Kind.AXES, 0, minimum=0, domain=("0", "dilation * (kernel - 1)"))
_POOL_PADDING = FieldDef("padding", Kind.AXES, 0, minimum=0, domain=("0", "kernel // 2"))
_CEIL = _bool("ceil_mode", False)
_SIZE = FieldDef("size", Kind.AXES, minimum=1, domain=("1", "4096"))
_CHANNEL_NORM = {"eps": "eps", "momentum": "momentum", "affine": "affine",
                 "track_running_stats": "track_running_stats"}

_KEEPS_INPUT = Autograd(Keep.INPUTS)
_VIEW = Autograd(view=True)  # its output is its input's storage (a slice, a reshape)

_DEFS: list[OpDef] = [
    OpDef("conv", (_out(), _kernel(), _stride(), _CONV_PADDING, _dilation(), _groups(), _bool("bias", True)),
          conv_shape, conv_params, conv_macs, conv_reach,
          torch=nn_module("nn.Conv{rank}d", Input.CHANNELS, "out", kernel_size="kernel", stride="stride",
                          padding="padding", dilation="dilation", groups="groups", bias="bias"),
          autograd=Autograd(Keep.INPUTS, same_copy, keeps_when=keeps_its_input), family=Family.CONV,
          resample=Resample("stride", unknown=0), effect=conv_effect),
    OpDef("deconv", (_out(), _kernel(), _stride(), _DECONV_PADDING,
                     FieldDef("output_padding", Kind.AXES, 0, minimum=0, domain=("0", "max(stride, dilation) - 1")),
                     _dilation(), _groups(), _bool("bias", True)),
          deconv_shape, deconv_params, deconv_macs, deconv_reach,
          torch=nn_module("nn.ConvTranspose{rank}d", Input.CHANNELS, "out", kernel_size="kernel", stride="stride",
                          padding="padding", output_padding="output_padding", dilation="dilation", groups="groups",
                          bias="bias"),
          autograd=_KEEPS_INPUT, family=Family.UP, resample=Resample("stride", up=True), effect=deconv_effect),
    OpDef("maxpool", (_kernel(), _stride("=kernel"), _POOL_PADDING, _dilation(), _CEIL),
          pool_shape, reach=pool_reach,
          torch=nn_module("nn.MaxPool{rank}d", functions=("F.max_pool{rank}d",), kernel_size="kernel", stride="stride", padding="padding",
                          dilation="dilation", ceil_mode="ceil_mode"),
          autograd=Autograd(Keep.INPUTS, indices), family=Family.POOL, resample=Resample("stride")),
    OpDef("avgpool", (_kernel(), _stride("=kernel"), _POOL_PADDING, _CEIL, _bool("count_include_pad", True)),
          avgpool_shape, reach=pool_reach,
          torch=nn_module("nn.AvgPool{rank}d", functions=("F.avg_pool{rank}d",), kernel_size="kernel", stride="stride", padding="padding",
                          ceil_mode="ceil_mode", count_include_pad="count_include_pad"),
          autograd=_KEEPS_INPUT, family=Family.POOL, resample=Resample("stride")),
    OpDef("adaptive_avgpool", (_SIZE,), adaptive_shape, reach=adaptive_reach,
          torch=nn_module("nn.AdaptiveAvgPool{rank}d", "size", functions=("F.adaptive_avg_pool{rank}d",)), autograd=Autograd(Keep.INPUTS, keeps_when=not_global), family=Family.POOL),
    OpDef("adaptive_maxpool", (_SIZE,), adaptive_shape, reach=adaptive_reach,
          torch=nn_module("nn.AdaptiveMaxPool{rank}d", "size", functions=("F.adaptive_max_pool{rank}d",)), autograd=Autograd(Keep.INPUTS, indices), family=Family.POOL),
    OpDef("upsample", (FieldDef("scale", Kind.AXES, None, minimum=1, domain=("1", "8")),
                       FieldDef("size", Kind.AXES, None, minimum=1, domain=("1", "4096")),
                       FieldDef("like", Kind.LAYER, None, doc="the size of this layer's output, read at run time"),
                       FieldDef("mode", Kind.CHOICE, "nearest",
                                choices=("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")),
                       _bool("align_corners", None)),
          upsample_shape, reach=upsample_reach,
          # align_corners is given only with an interpolating mode: the rule refuses it otherwise
          torch=nn_module("nn.Upsample", functions=("F.interpolate", "nn.UpsamplingNearest2d", "nn.UpsamplingBilinear2d"), size="size", scale_factor="scale", mode="mode", align_corners="align_corners",
                          like=Inline(upsample_like_written, ("import torch.nn.functional as F",))),
          family=Family.UP, resample=Resample("scale", up=True)),
    OpDef("pixel_shuffle", (FieldDef("factor", Kind.INT, minimum=1, domain=("1", "8")),),
          pixel_shuffle_shape, reach=pixel_shuffle_reach,
          torch=nn_module("nn.PixelShuffle", "factor", functions=("F.pixel_shuffle",)), family=Family.UP, resample=Resample("factor", up=True)),
    OpDef("crop", (FieldDef("like", Kind.LAYER, None),
                   FieldDef("amount", Kind.SIDES, None, minimum=0, domain=("0", "64")),
                   FieldDef("offset", Kind.AXES, None, minimum=0,
                            doc="with like: where the crop starts on each axis (Caffe's crop); default: centred")),
          crop_shape, reach=crop_reach, torch=inline("slicing", crop_written, view=True), autograd=Autograd(view=True, slices=True), family=Family.BORDER),
    OpDef("pad", (FieldDef("like", Kind.LAYER, None,
                           doc="pad to this layer's size, centred (an odd difference: the extra pixel at the end)"),
                  FieldDef("amount", Kind.SIDES, None, minimum=0, domain=("0", "64")), _number("value", 0)),
          pad_shape, reach=pad_reach,
          torch=inline("F.pad", pad_written, functions=("F.pad",), imports=("import torch.nn.functional as F",)), family=Family.BORDER),
    OpDef("concat", (), concat_shape, reach=merge_reach, merge=True,
          torch=inline("torch.cat(dim=1)", concat_written, functions=("torch.cat", "torch.concat", "torch.concatenate")), family=Family.CONCAT),
    OpDef("add", (), add_shape, reach=merge_reach, merge=True, torch=inline("+", add_written, functions=("operator.add", "operator.iadd", "torch.add", "Tensor.add")), family=Family.SUM),
    OpDef("flatten", (), flatten_shape, reach=whole_reach,
          torch=inline("Flatten", flatten_written, view=True, functions=("torch.flatten", "Tensor.flatten", "nn.Flatten")), autograd=Autograd(view=True, reshapes=True), family=Family.OTHER),
    OpDef("linear", (_out(), _bool("bias", True)), linear_shape, linear_params, linear_macs, linear_reach,
          torch=nn_module("nn.Linear", Input.FEATURES, "out", bias="bias"), autograd=_KEEPS_INPUT, family=Family.CONV),
    OpDef("batchnorm", (_bool("affine", True), _number("eps", 1e-5), _number("momentum", 0.1),
                        _bool("track_running_stats", True)),
          batchnorm_shape, channel_norm_params,
          torch=nn_module("nn.BatchNorm{rank}d", Input.CHANNELS, **_CHANNEL_NORM), autograd=Autograd(Keep.INPUTS, batchnorm_stats), family=Family.NORM),
    OpDef("groupnorm", (FieldDef("groups", Kind.INT, minimum=1, domain=("1", "4096")), _bool("affine", True),
                        _number("eps", 1e-5)),
          groupnorm_shape, channel_norm_params,
          torch=nn_module("nn.GroupNorm", "groups", Input.CHANNELS, eps="eps", affine="affine"), autograd=Autograd(Keep.INPUTS, groupnorm_stats, contiguous_input=True), family=Family.NORM),
    OpDef("layernorm", (_bool("affine", True), _bool("bias", True), _number("eps", 1e-5)),
          same_shape, layernorm_params, reach=whole_reach,
          torch=nn_module("nn.LayerNorm", Input.SHAPE, title="LayerNorm([C, *spatial])", eps="eps",
                          elementwise_affine="affine", bias="bias"),
          autograd=Autograd(Keep.INPUTS, layernorm_stats), family=Family.NORM),
    OpDef("instancenorm", (_bool("affine", False), _number("eps", 1e-5), _number("momentum", 0.1),
                           _bool("track_running_stats", False)),
          instancenorm_shape, channel_norm_params,
          torch=nn_module("nn.InstanceNorm{rank}d", Input.CHANNELS, **_CHANNEL_NORM), autograd=Autograd(Keep.INPUTS, instancenorm_stats, contiguous_input=True), family=Family.NORM),
    OpDef("relu", (_bool("inplace", False),), same_shape, torch=nn_module("nn.ReLU", functions=("F.relu", "torch.relu", "Tensor.relu"), inplace="inplace"),
          autograd=Autograd(Keep.OUTPUT, inplace="inplace"), family=Family.ACTIVATION),
    OpDef("leakyrelu", (_number("negative_slope", 0.01),), same_shape,
          torch=nn_module("nn.LeakyReLU", functions=("F.leaky_relu",), negative_slope="negative_slope"), autograd=_KEEPS_INPUT, family=Family.OTHER),
    OpDef("gelu", (), same_shape, torch=nn_module("nn.GELU", functions=("F.gelu",)), autograd=_KEEPS_INPUT, family=Family.ACTIVATION),
    OpDef("silu", (), same_shape, torch=nn_module("nn.SiLU", functions=("F.silu",)), autograd=_KEEPS_INPUT, family=Family.ACTIVATION),
    OpDef("sigmoid", (), same_shape, torch=nn_module("nn.Sigmoid", functions=("F.sigmoid", "torch.sigmoid", "Tensor.sigmoid")), autograd=Autograd(Keep.OUTPUT), family=Family.ACTIVATION),
    OpDef("tanh", (), same_shape, torch=nn_module("nn.Tanh", functions=("F.tanh", "torch.tanh", "Tensor.tanh")), autograd=Autograd(Keep.OUTPUT), family=Family.ACTIVATION),
    # torch's own default dim (None) is deprecated: the dim is always written
    OpDef("softmax", (FieldDef("dim", Kind.INT, 1, doc="a dimension of the batched tensor [N, C, *spatial]"),),
          softmax_shape, torch=nn_module("nn.Softmax", functions=("F.softmax", "torch.softmax", "Tensor.softmax"), always=("dim",), dim="dim"), autograd=Autograd(Keep.OUTPUT), family=Family.OTHER),
    OpDef("dropout", (FieldDef("p", Kind.NUMBER, 0.5, minimum=0, maximum=1),), same_shape,
          torch=nn_module("nn.Dropout", functions=("F.dropout", "F.dropout{rank}d", "nn.Dropout{rank}d"), view=True, p="p"), autograd=Autograd(extra=dropout_mask), family=Family.OTHER),
    OpDef("identity", (), same_shape, torch=nn_module("nn.Identity", view=True), autograd=_VIEW, family=Family.ACTIVATION),
    # -- ops real networks need (issue 16) --
    OpDef("mul", (), mul_shape, reach=mul_reach, merge=True, torch=inline("*", mul_written, functions=("operator.mul", "operator.imul", "torch.mul", "Tensor.mul")), autograd=Autograd(pairwise=True), family=Family.SUM),
    OpDef("reshape", (FieldDef("shape", Kind.DIMS, minimum=-1,
                               doc="the new [C, *spatial] or [features], the batch kept; one entry may be -1"),),
          reshape_shape, reach=whole_reach, torch=inline("reshape", reshape_written, view=True,
                                                         functions=("torch.reshape", "Tensor.reshape", "Tensor.view")), autograd=Autograd(view=True, reshapes=True), family=Family.OTHER),
    # ceil_mode is borrowed for the rules only (the pool's windows): torch's unpool does not take it
    OpDef("maxunpool", (FieldDef("indices", Kind.LAYER, of_op="maxpool", borrows=("kernel", "stride", "padding",
                                                                                   "dilation", "ceil_mode"),
                                 reads_input=True, doc="the maxpool whose indices it takes"),
                        FieldDef("size", Kind.AXES, None, minimum=1, doc="default: the maxpool's input size"),
                        *(replace(f, borrowed=True) for f in (_kernel(), _stride("=kernel"), _POOL_PADDING,
                                                              _dilation(), _CEIL))),
          maxunpool_shape, reach=maxunpool_reach,
          torch=nn_module("nn.MaxUnpool{rank}d", "kernel", unpool="indices", stride="stride", padding="padding"),
          autograd=Autograd(indices_of="indices"), family=Family.UP, resample=Resample("stride", up=True)),
    OpDef("prelu", (_bool("per_channel", False), _number("init", 0.25)), same_shape, prelu_params,
          torch=nn_module("nn.PReLU", sizes=(("num_parameters", Input.CHANNELS, "per_channel"),), init="init"),
          autograd=_KEEPS_INPUT, family=Family.ACTIVATION),
    OpDef("relu6", (_bool("inplace", False),), same_shape, torch=nn_module("nn.ReLU6", functions=("F.relu6",), inplace="inplace"),
          autograd=Autograd(Keep.INPUTS, inplace="inplace", inplace_keeps=Keep.COPY), family=Family.ACTIVATION),
    OpDef("elu", (_number("alpha", 1.0), _bool("inplace", False)), same_shape,
          torch=nn_module("nn.ELU", functions=("F.elu",), alpha="alpha", inplace="inplace"), autograd=Autograd(Keep.INPUTS, inplace="inplace", inplace_keeps=Keep.OUTPUT), family=Family.ACTIVATION),
    OpDef("selu", (_bool("inplace", False),), same_shape, torch=nn_module("nn.SELU", functions=("F.selu",), inplace="inplace"),
          autograd=Autograd(Keep.INPUTS, inplace="inplace", inplace_keeps=Keep.OUTPUT), family=Family.ACTIVATION),
    OpDef("hardswish", (_bool("inplace", False),), same_shape, torch=nn_module("nn.Hardswish", functions=("F.hardswish",), inplace="inplace"),
          autograd=Autograd(Keep.INPUTS, inplace="inplace", inplace_keeps=Keep.COPY), family=Family.ACTIVATION),
    OpDef("hardsigmoid", (_bool("inplace", False),), same_shape,
          torch=nn_module("nn.Hardsigmoid", functions=("F.hardsigmoid",), inplace="inplace"), autograd=Autograd(Keep.INPUTS, inplace="inplace", inplace_keeps=Keep.COPY), family=Family.ACTIVATION),
    OpDef("mish", (_bool("inplace", False),), same_shape, torch=nn_module("nn.Mish", functions=("F.mish",), inplace="inplace"),
          autograd=Autograd(Keep.INPUTS, inplace="inplace", inplace_keeps=Keep.COPY), family=Family.ACTIVATION),
    OpDef("softplus", (_number("beta", 1.0), _number("threshold", 20.0)), same_shape,
          torch=nn_module("nn.Softplus", functions=("F.softplus",), beta="beta", threshold="threshold"), autograd=_KEEPS_INPUT, family=Family.ACTIVATION),
    OpDef("lrn", (FieldDef("size", Kind.INT, minimum=1, doc="how many neighbouring channels"),
                  _number("alpha", 1e-4), _number("beta", 0.75), _number("k", 1.0)),
          lrn_shape, torch=nn_module("nn.LocalResponseNorm", "size", alpha="alpha", beta="beta", k="k"),
          autograd=Autograd(Keep.INPUTS, lrn_temporaries), family=Family.NORM),
]

OPS: dict[str, OpDef] = {d.name: d for d in _DEFS}
# rules that hand their input on unchanged and state no condition (activations, batchnorm):
# a search may skip such layers, since they cannot make a network invalid
IDENTITY_RULES = (same_shape, batchnorm_shape)
ALIASES = {"convtranspose": "deconv"}
MERGES = frozenset(name for name, d in OPS.items() if d.merge)
