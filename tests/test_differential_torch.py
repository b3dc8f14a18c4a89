"""Differential tests: archsolve's shapes, parameters and MACs against real PyTorch.

For thousands of random one-layer networks (and two-layer chains, and two branches
merged by concat / add / crop-like), hypothesis writes a spec, ``archsolve check --json``
propagates it, and the same layers are built with ``torch.nn`` and run on a zero tensor
shaped ``[1, C, *spatial]`` (CPU, eval mode, no grad; a batch of 2 where a batch of 1
would trip a batch-size check that is no property of the network: batchnorm without
running statistics, groupnorm with one value per group).

* torch raises (at construction or in forward), or produces a size-0 axis (a crop that
  eats the whole input, a transposed conv whose size reaches 0): archsolve must exit 1,
  ``ok`` false, with a problem of severity ``error`` whose ``layer`` is that layer;
* otherwise archsolve must exit 0, ``ok`` true (warnings allowed), and the layer's row
  must give torch's ``shape`` (without the batch axis), ``sum(p.numel())`` as ``params``
  and the multiply-accumulates as docs/json.md defines them, counted from the torch module, as ``macs``.

Layers before the one torch rejects must still match torch. Where the contract is
stricter than torch, the contract rules: ``add`` needs equal sizes (no broadcasting), and
``crop`` with ``like`` needs an input at least as large as the target.

The torch side is written independently of archsolve: each spec field is passed to the
torch constructor as-is (per-axis lists become tuples), so a defaulted field is
defaulted by torch itself. Sizes are kept small (spatial 1..20, 3D 1..8, channels 1..8)
so a forward pass costs well under a millisecond.

``ARCHSOLVE_EXAMPLES`` (a float, default 1) multiplies every ``max_examples``, e.g.
``ARCHSOLVE_EXAMPLES=10 pytest tests/test_differential_torch.py`` for a long soak;
``--hypothesis-show-statistics`` shows how often torch accepted each op.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

try:  # tests/ may or may not be a package
    from .conftest import check_json, examples
except ImportError:
    from conftest import check_json, examples  # type: ignore[no-redef]

pytestmark = [
    pytest.mark.torch,
    # torch's note that padding='same' with an even kernel copies the input: irrelevant here
    pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning"),
]


def _settings(n: int) -> settings:
    return settings(
        max_examples=examples(n),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ======================================================================================
# The torch side: build a spec layer with torch.nn and run it
# ======================================================================================
TORCH_ERRORS = (RuntimeError, ValueError, IndexError)
"""What torch raises for a bad configuration (a TypeError or KeyError is a test bug)."""


class _Fn(nn.Module):
    """A parameter-free module around a function (slicing, F.pad)."""

    def __init__(self, fn: Callable[[Any], Any]):
        super().__init__()
        self.fn = fn

    def forward(self, x: Any) -> Any:
        return self.fn(x)


def _t(v: Any) -> Any:
    """A spec value as a torch argument: per-axis lists become tuples."""
    return tuple(v) if isinstance(v, list) else v


def _sides(amount: Any, nd: int) -> list[tuple[int, int]]:
    """A SIDES field (an int, or per axis: an int or [before, after]) as (before, after) pairs."""
    if isinstance(amount, int):
        return [(amount, amount)] * nd
    assert len(amount) == nd
    return [(a, a) if isinstance(a, int) else (a[0], a[1]) for a in amount]


def _crop_fn(sides: list[tuple[int, int]]) -> Callable[[Any], Any]:
    def crop(x: Any) -> Any:
        index = [slice(None), slice(None)]
        for axis, (before, after) in enumerate(sides):
            n = x.shape[2 + axis]
            index.append(slice(before, max(before, n - after)))
        return x[tuple(index)]

    return crop


def _pad_fn(sides: list[tuple[int, int]], value: float) -> Callable[[Any], Any]:
    pads: list[int] = []
    for before, after in reversed(sides):  # F.pad lists the last axis first
        pads += [before, after]
    return lambda x: F.pad(x, pads, value=value)


ACTIVATIONS = ["relu", "leakyrelu", "gelu", "silu", "sigmoid", "tanh", "softmax", "dropout", "identity"]


def build_torch(layer: dict[str, Any], in_shape: tuple[int, ...]) -> Any:
    """The torch module for one spec layer reading a sample shaped ``in_shape`` = (C, *spatial)."""
    op, get = layer["op"], layer.get
    nd, c = len(in_shape) - 1, in_shape[0]
    if op == "conv":
        return getattr(nn, f"Conv{nd}d")(
            c, layer["out"], _t(layer["kernel"]), stride=_t(get("stride", 1)),
            padding=_t(get("padding", 0)), dilation=_t(get("dilation", 1)),
            groups=get("groups", 1), bias=get("bias", True))
    if op in ("deconv", "convtranspose"):
        return getattr(nn, f"ConvTranspose{nd}d")(
            c, layer["out"], _t(layer["kernel"]), stride=_t(get("stride", 1)),
            padding=_t(get("padding", 0)), output_padding=_t(get("output_padding", 0)),
            groups=get("groups", 1), bias=get("bias", True), dilation=_t(get("dilation", 1)))
    if op == "maxpool":
        return getattr(nn, f"MaxPool{nd}d")(
            _t(layer["kernel"]), stride=_t(get("stride")), padding=_t(get("padding", 0)),
            dilation=_t(get("dilation", 1)), ceil_mode=get("ceil_mode", False))
    if op == "avgpool":
        return getattr(nn, f"AvgPool{nd}d")(
            _t(layer["kernel"]), stride=_t(get("stride")), padding=_t(get("padding", 0)),
            ceil_mode=get("ceil_mode", False), count_include_pad=get("count_include_pad", True))
    if op == "adaptive_avgpool":
        return getattr(nn, f"AdaptiveAvgPool{nd}d")(_t(layer["size"]))
    if op == "adaptive_maxpool":
        return getattr(nn, f"AdaptiveMaxPool{nd}d")(_t(layer["size"]))
    if op == "upsample":
        return nn.Upsample(size=_t(get("size")), scale_factor=_t(get("scale")), mode=get("mode", "nearest"),
                           align_corners=get("align_corners"))
    if op == "pixel_shuffle":
        return nn.PixelShuffle(layer["factor"])
    if op == "crop":
        return _Fn(_crop_fn(_sides(layer["amount"], nd)))
    if op == "pad":
        return _Fn(_pad_fn(_sides(layer["amount"], nd), get("value", 0)))
    if op == "flatten":
        return nn.Flatten()
    if op == "linear":
        return nn.Linear(in_shape[-1], layer["out"], bias=get("bias", True))
    if op == "batchnorm":
        return getattr(nn, f"BatchNorm{max(nd, 1)}d")(  # BatchNorm1d also takes flat [N, C]
            c, affine=get("affine", True), track_running_stats=get("track_running_stats", True))
    if op == "instancenorm":
        return getattr(nn, f"InstanceNorm{nd}d")(
            c, affine=get("affine", False), track_running_stats=get("track_running_stats", False))
    if op == "groupnorm":
        return nn.GroupNorm(layer["groups"], c, affine=get("affine", True))
    if op == "layernorm":
        return nn.LayerNorm(list(in_shape), elementwise_affine=get("affine", True), bias=get("bias", True))
    if op == "relu":
        return nn.ReLU()
    if op == "leakyrelu":
        return nn.LeakyReLU(get("negative_slope", 0.01))
    if op == "gelu":
        return nn.GELU()
    if op == "silu":
        return nn.SiLU()
    if op == "sigmoid":
        return nn.Sigmoid()
    if op == "tanh":
        return nn.Tanh()
    if op == "softmax":
        return nn.Softmax(dim=get("dim", 1))  # like torch: a dimension of the batched tensor
    if op == "dropout":
        return nn.Dropout(get("p", 0.5))
    if op == "identity":
        return nn.Identity()
    raise AssertionError(f"test bug: no torch builder for op {op!r}")


def torch_macs(module: Any, x: Any, y: Any) -> int:
    """Multiply-accumulates per sample, counted from the torch module (docs/json.md): a conv
    Cin/groups * Cout * prod(kernel) * prod(output spatial), a deconv the same over the *input*
    spatial size, a linear in * out for each vector it is applied to; 0 for everything else."""
    if isinstance(module, nn.modules.conv._ConvNd):
        per_position = module.in_channels // module.groups * module.out_channels * math.prod(module.kernel_size)
        positions = x.shape[2:] if module.transposed else y.shape[2:]
        return per_position * math.prod(positions)
    if isinstance(module, nn.Linear):
        return math.prod(x.shape[1:]) * module.out_features
    return 0


Result = tuple[str, list[int], int, int]
"""(layer name, output shape without the batch axis, parameters, MACs)"""


def torch_run(input_shape: list[int], layers: list[dict[str, Any]], batch: int = 1
              ) -> tuple[list[Result], tuple[str, str] | None]:
    """Run the layers in torch: ([(name, shape, params, macs) of each layer that worked], failure).

    ``failure`` is ``(layer name, why)`` for the first layer torch rejects, else None.
    A layer reads ``from`` (default: the layer before it), as in a spec; ``concat``, ``add``
    and ``crop`` with ``like`` are evaluated here, the rest by :func:`build_torch`.
    """
    outs = {"input": torch.zeros((batch, *input_shape))}
    prev = "input"
    done: list[Result] = []
    for layer in layers:
        name = layer["name"]
        src = layer.get("from", prev)
        xs = [outs[n] for n in (src if isinstance(src, list) else [src])]
        module: Any = None
        try:
            if layer["op"] == "concat":
                y = torch.cat(xs, dim=1)
            elif layer["op"] == "add":
                # archsolve's rule: every size must be equal (no broadcasting of size-1 axes)
                if any(x.shape != xs[0].shape for x in xs):
                    return done, (name, f"add of shapes {[list(x.shape) for x in xs]}")
                y = sum(xs[1:], xs[0])
            elif layer["op"] == "crop" and "like" in layer:
                y = _center_crop(xs[0], outs[layer["like"]])
                if y is None:
                    return done, (name, f"crop {list(xs[0].shape)} like {list(outs[layer['like']].shape)}")
            else:
                module = build_torch(layer, tuple(xs[0].shape[1:])).eval()
                with torch.no_grad():
                    y = module(xs[0])
        except TORCH_ERRORS as e:
            return done, (name, f"{type(e).__name__}: {e}")
        if 0 in y.shape:
            return done, (name, f"torch gives an empty tensor {list(y.shape)}")
        params = 0 if module is None else sum(p.numel() for p in module.parameters())
        macs = 0 if module is None else torch_macs(module, xs[0], y)
        done.append((name, list(y.shape[1:]), params, macs))
        outs[name] = y
        prev = name
    return done, None


def _center_crop(x: Any, like: Any) -> Any:
    """Center-crop every spatial axis of ``x`` to ``like``'s size (the extra pixel off the end),
    as the U-Net reference does; None when ``x`` is smaller on some axis."""
    index = [slice(None), slice(None)]
    for dim in range(2, x.dim()):
        diff = x.shape[dim] - like.shape[dim]
        if diff < 0:
            return None
        index.append(slice(diff // 2, diff // 2 + like.shape[dim]))
    return x[tuple(index)]


# ======================================================================================
# The archsolve side, and the comparison
# ======================================================================================
def archsolve_check(input_shape: list[int], layers: list[dict[str, Any]]) -> tuple[int, dict[str, Any], str]:
    text = yaml.safe_dump({"input": list(input_shape), "layers": layers}, sort_keys=False,
                          default_flow_style=None)
    # a folder of its own per call, removed after: nothing is left behind in /tmp
    with tempfile.TemporaryDirectory(prefix="archsolve-difftest-") as folder:
        path = Path(folder) / "spec.yaml"
        path.write_text(text)
        code, doc = check_json(path)
    return code, doc, text


def compare(input_shape: list[int], layers: list[dict[str, Any]], batch: int = 1) -> str:
    """Assert archsolve agrees with torch; return 'ok' or 'error' (torch's verdict)."""
    expected, failure = torch_run(input_shape, layers, batch)
    code, doc, text = archsolve_check(input_shape, layers)

    def why() -> str:
        if failure is None:
            verdict = "torch: ok, " + "; ".join(f"{n}: shape {s} params {p} macs {m}" for n, s, p, m in expected)
        else:
            verdict = f"torch: {failure[0]} fails: {failure[1]}"
        rows = [{k: r.get(k) for k in ("name", "op", "shape", "params", "macs")} for r in doc.get("layers", [])]
        return (f"\n--- spec ---\n{text}--- {verdict}\n--- archsolve: exit {code}, ok {doc.get('ok')}\n"
                f"rows: {json.dumps(rows)}\nproblems: {json.dumps(doc.get('problems'), indent=1)}")

    rows = {r["name"]: r for r in doc.get("layers", [])}
    for name, shape, params, macs in expected:
        assert name in rows, f"no row for layer {name!r}" + why()
        assert rows[name]["shape"] == shape, f"shape of {name!r}" + why()
        assert rows[name]["params"] == params, f"params of {name!r}" + why()
        assert rows[name]["macs"] == macs, f"macs of {name!r}" + why()
    errors = [p for p in doc.get("problems", []) if p.get("severity") == "error"]
    if failure is None:
        assert code == 0 and doc["ok"] is True and not errors, "archsolve rejects a network torch runs" + why()
        return "ok"
    assert code == 1 and doc["ok"] is False, "archsolve accepts a network torch rejects" + why()
    assert any(p.get("layer") == failure[0] for p in errors), f"no error names layer {failure[0]!r}" + why()
    return "error"


def _record(verdict: str, layers: list[dict[str, Any]]) -> None:
    event(f"{'+'.join(layer['op'] for layer in layers)}: torch {verdict}")


# ======================================================================================
# Generators
# ======================================================================================
def spatial_max(nd: int) -> int:
    return 20 if nd < 3 else 8


def per_axis(draw: Any, nd: int, make: Callable[[int], Any], uniform: int = 3) -> tuple[list[Any], Any]:
    """Per-axis values and how the spec writes them: one value for all axes (3 times in 4),
    or a list with one value per axis. ``make(i)`` is the strategy for axis i."""
    if draw(st.integers(0, uniform)) > 0:
        v = draw(make(0))
        return [v] * nd, (v if draw(st.integers(0, 5)) else [v] * nd)
    vals = [draw(make(i)) for i in range(nd)]
    return vals, vals


def sometimes(draw: Any, layer: dict[str, Any], key: str, value: Any, default: Any = None) -> None:
    """Write ``key`` into the layer unless it equals ``default`` and a coin says omit it."""
    if value != default or draw(st.booleans()):
        layer[key] = value


@st.composite
def input_shape(draw: Any, nd: int | None = None, channels: int | None = None, smax: int | None = None) -> list[int]:
    nd = draw(st.integers(1, 3)) if nd is None else nd
    c = draw(st.integers(1, 8)) if channels is None else channels
    hi = spatial_max(nd) if smax is None else smax
    return [c, *draw(st.lists(st.integers(1, hi), min_size=nd, max_size=nd))]


def _groups_and_out(draw: Any, c: int | None) -> tuple[int, int]:
    """groups and out: most of the time valid for ``c`` input channels, sometimes not."""
    if c is not None and draw(st.integers(0, 6)) > 0:
        groups = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
        return groups, groups * draw(st.integers(1, max(1, 8 // groups)))
    return draw(st.sampled_from([1, 1, 2, 3, 4])), draw(st.integers(1, 8))


@st.composite
def conv_layer(draw: Any, nd: int, c: int | None = None) -> dict[str, Any]:
    groups, out = _groups_and_out(draw, c)
    kernels, k = per_axis(draw, nd, lambda i: st.integers(1, 9 if nd < 3 else 5))
    layer: dict[str, Any] = {"op": "conv", "out": out, "kernel": k}
    _, stride = per_axis(draw, nd, lambda i: st.sampled_from([1, 1, 1, 2, 3, 4]))
    sometimes(draw, layer, "stride", stride, 1)
    if draw(st.integers(0, 4)) == 0:
        layer["padding"] = draw(st.sampled_from(["same", "valid"]))
    else:
        _, pad = per_axis(draw, nd, lambda i: st.integers(0, kernels[i]))
        sometimes(draw, layer, "padding", pad, 0)
    _, dil = per_axis(draw, nd, lambda i: st.sampled_from([1, 1, 1, 2, 3, 4]))
    sometimes(draw, layer, "dilation", dil, 1)
    sometimes(draw, layer, "groups", groups, 1)
    sometimes(draw, layer, "bias", draw(st.booleans()), True)
    return layer


@st.composite
def deconv_layer(draw: Any, nd: int, c: int | None = None) -> dict[str, Any]:
    groups, out = _groups_and_out(draw, c)
    kernels, k = per_axis(draw, nd, lambda i: st.integers(1, 5 if nd < 3 else 4))
    layer: dict[str, Any] = {"op": draw(st.sampled_from(["deconv", "deconv", "convtranspose"])),
                             "out": out, "kernel": k}
    strides, stride = per_axis(draw, nd, lambda i: st.sampled_from([1, 1, 2, 2, 3, 4]))
    sometimes(draw, layer, "stride", stride, 1)
    _, pad = per_axis(draw, nd, lambda i: st.integers(0, kernels[i]))
    sometimes(draw, layer, "padding", pad, 0)
    dils, dil = per_axis(draw, nd, lambda i: st.sampled_from([1, 1, 2, 3]))
    sometimes(draw, layer, "dilation", dil, 1)
    # output_padding around the torch limit max(stride, dilation) - 1, sometimes at or over it
    _, opad = per_axis(draw, nd, lambda i: st.sampled_from(list(range(max(strides[i], dils[i]))) * 2
                                                            + [max(strides[i], dils[i])]))
    sometimes(draw, layer, "output_padding", opad, 0)
    sometimes(draw, layer, "groups", groups, 1)
    sometimes(draw, layer, "bias", draw(st.booleans()), True)
    return layer


@st.composite
def pool_layer(draw: Any, nd: int, c: int | None = None, op: str | None = None) -> dict[str, Any]:
    op = op or draw(st.sampled_from(["maxpool", "avgpool"]))
    kernels, k = per_axis(draw, nd, lambda i: st.integers(1, 6))
    layer: dict[str, Any] = {"op": op, "kernel": k}
    if draw(st.integers(0, 3)):
        # strides past the kernel make ceil_mode's last-window rule fire
        _, layer["stride"] = per_axis(draw, nd, lambda i: st.integers(1, kernels[i] + 2))
    # padding up to kernel // 2 (the torch limit) and, now and then, one more
    _, pad = per_axis(draw, nd, lambda i: st.sampled_from(list(range(kernels[i] // 2 + 1)) * 3
                                                           + [kernels[i] // 2 + 1]))
    sometimes(draw, layer, "padding", pad, 0)
    if op == "maxpool":
        _, dil = per_axis(draw, nd, lambda i: st.sampled_from([1, 1, 1, 2, 3]))
        sometimes(draw, layer, "dilation", dil, 1)
    else:
        sometimes(draw, layer, "count_include_pad", draw(st.booleans()), True)
    sometimes(draw, layer, "ceil_mode", draw(st.booleans()), False)
    return layer


@st.composite
def adaptive_layer(draw: Any, nd: int, c: int | None = None) -> dict[str, Any]:
    _, size = per_axis(draw, nd, lambda i: st.integers(1, 12 if nd < 3 else 6))
    return {"op": draw(st.sampled_from(["adaptive_avgpool", "adaptive_maxpool"])), "size": size}


@st.composite
def upsample_layer(draw: Any, nd: int, c: int | None = None) -> dict[str, Any]:
    layer: dict[str, Any] = {"op": "upsample"}
    if draw(st.booleans()):
        _, layer["scale"] = per_axis(draw, nd, lambda i: st.integers(1, 4 if nd < 3 else 3))
    else:
        _, layer["size"] = per_axis(draw, nd, lambda i: st.integers(1, 24 if nd < 3 else 10))
    # torch ties the interpolating modes to a rank: linear 1D, bilinear and bicubic 2D, trilinear 3D
    mode = draw(st.sampled_from(["nearest"] * 6 + ["nearest-exact", "linear", "bilinear", "bicubic", "trilinear"]))
    sometimes(draw, layer, "mode", mode, "nearest")
    if mode.startswith("nearest"):
        if draw(st.sampled_from([False] * 7 + [True])):
            layer["align_corners"] = True  # torch: only for the interpolating modes
    else:
        sometimes(draw, layer, "align_corners", draw(st.booleans()), None)
    return layer


def _sides_value(draw: Any, nd: int, hi: int) -> Any:
    """An int, or per axis an int or [before, after]."""
    if draw(st.booleans()):
        return draw(st.integers(0, hi))
    amount = st.one_of(st.integers(0, hi), st.lists(st.integers(0, hi), min_size=2, max_size=2))
    return draw(st.lists(amount, min_size=nd, max_size=nd))


@st.composite
def crop_layer(draw: Any, nd: int, c: int | None = None) -> dict[str, Any]:
    return {"op": "crop", "amount": _sides_value(draw, nd, 5)}


@st.composite
def pad_layer(draw: Any, nd: int, c: int | None = None) -> dict[str, Any]:
    layer: dict[str, Any] = {"op": "pad", "amount": _sides_value(draw, nd, 5)}
    sometimes(draw, layer, "value", draw(st.sampled_from([0, 1, -1.5])), 0)
    return layer


@st.composite
def norm_layer(draw: Any, nd: int, c: int | None = None) -> dict[str, Any]:
    op = draw(st.sampled_from(["batchnorm", "groupnorm", "layernorm", "instancenorm"]))
    layer: dict[str, Any] = {"op": op}
    if op == "groupnorm":
        if c is not None and draw(st.integers(0, 3)):
            layer["groups"] = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
        else:
            layer["groups"] = draw(st.integers(1, 8))
    default_affine = op != "instancenorm"
    sometimes(draw, layer, "affine", draw(st.booleans()), default_affine)
    if op == "layernorm":
        sometimes(draw, layer, "bias", draw(st.booleans()), True)
    if op in ("batchnorm", "instancenorm"):
        sometimes(draw, layer, "track_running_stats", draw(st.booleans()), op == "batchnorm")
    return layer


@st.composite
def activation_layer(draw: Any, nd: int, c: int | None = None) -> dict[str, Any]:
    op = draw(st.sampled_from(ACTIVATIONS))
    layer: dict[str, Any] = {"op": op}
    if op == "leakyrelu":
        sometimes(draw, layer, "negative_slope", draw(st.sampled_from([0.01, 0.2])), 0.01)
    if op == "softmax":
        # nd + 2 is out of range for [N, C, *spatial]; negative dims count from the end
        sometimes(draw, layer, "dim", draw(st.integers(-(nd + 3), nd + 2)), 1)
    if op == "dropout":
        sometimes(draw, layer, "p", draw(st.sampled_from([0.0, 0.1, 0.5])), 0.5)
    return layer


def named(*layers: dict[str, Any]) -> list[dict[str, Any]]:
    """Give the layers short unique names: l0, l1, ..."""
    return [{"name": f"l{i}", **layer} for i, layer in enumerate(layers)]


def one_layer(gen: Callable[..., Any], nds: tuple[int, ...] = (1, 2, 3), **kw: Any) -> Any:
    @st.composite
    def case(draw: Any) -> tuple[list[int], list[dict[str, Any]]]:
        nd = draw(st.sampled_from(nds))
        shape = draw(input_shape(nd))
        return shape, named(draw(gen(nd, shape[0], **kw)))

    return case()


# ======================================================================================
# One-layer properties
# ======================================================================================
@_settings(700)
@given(one_layer(conv_layer))
def test_conv_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers), layers)


@_settings(700)
@given(one_layer(deconv_layer))
def test_deconv_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers), layers)


def _last_window_fires(in_shape: list[int], layer: dict[str, Any]) -> bool:
    """Does ceil_mode's "last window must start inside input + left padding" rule drop one?"""
    if not layer.get("ceil_mode"):
        return False
    nd = len(in_shape) - 1

    def ax(key: str, default: Any) -> list[int]:
        v = layer.get(key, default)
        return list(v) if isinstance(v, list) else [v] * nd

    ks, ps, ds = ax("kernel", 1), ax("padding", 0), ax("dilation", 1)
    ss = ax("stride", layer["kernel"])
    for n, k, s, p, d in zip(in_shape[1:], ks, ss, ps, ds, strict=True):
        out = -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1
        if out >= 1 and (out - 1) * s >= n + p:
            return True
    return False


@_settings(900)
@given(one_layer(pool_layer))
def test_pool_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    verdict = compare(shape, layers)
    _record(verdict, layers)
    if _last_window_fires(shape, layers[0]):
        event(f"ceil_mode last-window rule fires (torch {verdict})")


@_settings(250)
@given(one_layer(adaptive_layer))
def test_adaptive_pool_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers), layers)


@_settings(250)
@given(one_layer(upsample_layer))
def test_upsample_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers), layers)


@st.composite
def pixel_shuffle_case(draw: Any) -> tuple[list[int], list[dict[str, Any]]]:
    r = draw(st.integers(1, 3))
    c = r * r * draw(st.integers(1, 3)) if draw(st.integers(0, 3)) else draw(st.integers(1, 18))
    shape = draw(input_shape(2, channels=c, smax=12))
    return shape, named({"op": "pixel_shuffle", "factor": r})


@_settings(150)
@given(pixel_shuffle_case())
def test_pixel_shuffle_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers), layers)


@_settings(250)
@given(one_layer(crop_layer))
def test_crop_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers), layers)


@_settings(200)
@given(one_layer(pad_layer))
def test_pad_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers), layers)


@_settings(300)
@given(one_layer(norm_layer))
def test_norm_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    # a batch of 2: batchnorm without running stats needs more than one value per channel,
    # which is a property of the batch, not of the network
    _record(compare(shape, layers, batch=2), layers)


@_settings(250)
@given(one_layer(activation_layer))
def test_activation_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers), layers)


@st.composite
def flat_case(draw: Any) -> tuple[list[int], list[dict[str, Any]]]:
    nd = draw(st.integers(1, 3))
    shape = draw(input_shape(nd))
    linear: dict[str, Any] = {"op": "linear", "out": draw(st.integers(1, 16))}
    sometimes(draw, linear, "bias", draw(st.booleans()), True)
    kind = draw(st.sampled_from(["flatten+linear", "flatten", "linear", "flatten+other"]))
    if kind == "flatten+linear":
        return shape, named({"op": "flatten"}, linear)
    if kind == "flatten":
        return shape, named({"op": "flatten"})
    if kind == "linear":
        return shape, named(linear)  # nn.Linear acts on the last axis
    # layers that also take a flat [N, features] batch in torch
    other = draw(st.sampled_from([{"op": "batchnorm"}, {"op": "layernorm"}, {"op": "groupnorm", "groups": 1},
                                  {"op": "relu"}, {"op": "softmax"}, {"op": "dropout"}, {"op": "flatten"}]))
    return shape, named({"op": "flatten"}, other, linear)


@_settings(150)
@given(flat_case())
def test_flatten_linear_match_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers, batch=2), layers)


# ======================================================================================
# Two-layer chains
# ======================================================================================
SPATIAL_GENS: dict[str, Callable[..., Any]] = {
    "conv": conv_layer, "deconv": deconv_layer, "pool": pool_layer, "adaptive": adaptive_layer,
    "upsample": upsample_layer, "crop": crop_layer, "pad": pad_layer, "norm": norm_layer,
}


@st.composite
def two_layers(draw: Any) -> tuple[list[int], list[dict[str, Any]]]:
    nd = draw(st.integers(1, 3))
    shape = draw(input_shape(nd, smax=12 if nd < 3 else 6))
    first = draw(SPATIAL_GENS[draw(st.sampled_from(sorted(SPATIAL_GENS)))](nd, shape[0]))
    c = first.get("out", shape[0])
    second = draw(SPATIAL_GENS[draw(st.sampled_from(sorted(SPATIAL_GENS)))](nd, c))
    return shape, named(first, second)


@_settings(500)
@given(two_layers())
def test_two_layer_chains_match_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers, batch=2), layers)


@st.composite
def merges(draw: Any) -> tuple[list[int], list[dict[str, Any]]]:
    """Two branches from the input, then concat / add / crop-like of one to the other."""
    nd = draw(st.integers(1, 3))
    shape = draw(input_shape(nd, smax=12 if nd < 3 else 6))
    gens = sorted(SPATIAL_GENS)
    a = draw(SPATIAL_GENS[draw(st.sampled_from(gens))](nd, shape[0]))
    other = draw(st.sampled_from(["identity", "twin", "any"]))
    if other == "identity":
        b: dict[str, Any] = {"op": "identity"}  # the input itself as the other branch
    elif other == "twin":
        b = dict(a)  # the same spatial sizes, maybe other channels
        if "out" in b:
            b["out"] = b.get("groups", 1) * draw(st.integers(1, 3))
    else:
        b = draw(SPATIAL_GENS[draw(st.sampled_from(gens))](nd, shape[0]))
    merge = draw(st.sampled_from([{"op": "concat", "from": ["l0", "l1"]}, {"op": "add", "from": ["l0", "l1"]},
                                  {"op": "concat", "from": ["l1", "l0", "l1"]},
                                  {"op": "crop", "from": "l0", "like": "l1"},
                                  {"op": "crop", "from": "l1", "like": "l0"}]))
    return shape, named(a, {**b, "from": "input"}, merge)


@_settings(300)
@given(merges())
def test_merges_match_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    shape, layers = case
    _record(compare(shape, layers, batch=2), layers)


# ======================================================================================
# Hand-picked edge cases, with torch 2.x's verdict written down
# ======================================================================================
ERR = "error"


def _edge(id_: str, input_: list[int], expect: list[int] | str, *layers: dict[str, Any]) -> Any:
    return pytest.param(input_, list(layers), expect, id=id_)


EDGE_CASES = [
    # ceil_mode: the last window must start inside the input or the left padding
    _edge("maxpool-ceil-last-window-dropped", [1, 5], [1, 3],
          {"op": "maxpool", "kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    _edge("maxpool-ceil-last-window-kept", [1, 4], [1, 3],
          {"op": "maxpool", "kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    _edge("maxpool-ceil-no-padding-stride-over-kernel", [1, 5], [1, 2],
          {"op": "maxpool", "kernel": 1, "stride": 3, "ceil_mode": True}),
    _edge("maxpool2d-ceil-last-window-dropped", [2, 5, 9], [2, 3, 5],
          {"op": "maxpool", "kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    _edge("avgpool-ceil-last-window-dropped", [3, 5, 5], [3, 3, 3],
          {"op": "avgpool", "kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    _edge("maxpool3d-ceil-dilation", [1, 7, 8, 9], [1, 3, 4, 4],
          {"op": "maxpool", "kernel": 2, "stride": 2, "dilation": 2, "ceil_mode": True}),
    _edge("maxpool-floor-drops-a-pixel", [4, 9, 9], [4, 4, 4], {"op": "maxpool", "kernel": 2}),
    _edge("maxpool-contract-example", [4, 9, 9], [4, 5, 5],
          {"op": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    # kernel against the (padded) input
    _edge("conv-kernel-larger-than-padded-input", [1, 2, 2], ERR, {"op": "conv", "out": 1, "kernel": 5, "padding": 1}),
    _edge("conv-kernel-equals-padded-input", [1, 2, 2], [1, 1, 1], {"op": "conv", "out": 1, "kernel": 4, "padding": 1}),
    _edge("conv-dilated-kernel-too-wide", [1, 6], ERR, {"op": "conv", "out": 1, "kernel": 3, "dilation": 3}),
    _edge("maxpool-kernel-larger-than-input", [2, 2], ERR, {"op": "maxpool", "kernel": 3}),
    _edge("maxpool-ceil-kernel-larger-than-input", [2, 2], [2, 1],
          {"op": "maxpool", "kernel": 3, "ceil_mode": True}),
    _edge("maxpool2d-ceil-kernel-larger-than-input", [2, 1, 1], [2, 1, 1],
          {"op": "maxpool", "kernel": 3, "ceil_mode": True}),
    _edge("avgpool2d-kernel-fits-padded-input-only", [1, 2, 2], [1, 1, 1],
          {"op": "avgpool", "kernel": 3, "padding": 1}),
    # torch's avg_pool3d alone also wants the *unpadded* input to hold the kernel
    _edge("avgpool3d-kernel-larger-than-unpadded-input", [1, 2, 2, 2], ERR,
          {"op": "avgpool", "kernel": 3, "padding": 1}),
    _edge("avgpool3d-ceil-kernel-larger-than-input", [1, 1, 4, 4], ERR,
          {"op": "avgpool", "kernel": 3, "ceil_mode": True}),
    _edge("maxpool3d-kernel-fits-padded-input-only", [1, 2, 2, 2], [1, 1, 1, 1],
          {"op": "maxpool", "kernel": 3, "padding": 1}),
    # sizes that reach zero
    _edge("deconv-output-size-zero", [2, 1], ERR, {"op": "deconv", "out": 2, "kernel": 2, "padding": 1}),
    _edge("deconv-output-size-negative", [2, 1, 1], ERR, {"op": "deconv", "out": 2, "kernel": 1, "padding": 1}),
    _edge("crop-to-zero", [2, 4], ERR, {"op": "crop", "amount": 2}),
    _edge("crop-past-zero", [2, 4, 8], ERR, {"op": "crop", "amount": [[1, 3], 1]}),
    _edge("crop-to-one", [2, 5, 8], [2, 1, 5], {"op": "crop", "amount": [2, [0, 3]]}),
    _edge("adaptive-pool-larger-than-input", [3, 2, 3], [3, 7, 1], {"op": "adaptive_maxpool", "size": [7, 1]}),
    # output_padding < max(stride, dilation)
    _edge("deconv-output-padding-equals-stride", [2, 4, 4], ERR,
          {"op": "deconv", "out": 2, "kernel": 3, "stride": 2, "output_padding": 2}),
    _edge("deconv-output-padding-below-stride", [2, 4, 4], [2, 10, 10],
          {"op": "deconv", "out": 2, "kernel": 3, "stride": 2, "output_padding": 1}),
    _edge("deconv-output-padding-below-dilation", [2, 4], [2, 9],
          {"op": "deconv", "out": 2, "kernel": 3, "stride": 1, "dilation": 2, "output_padding": 1}),
    _edge("deconv-output-padding-equals-dilation", [2, 4], ERR,
          {"op": "deconv", "out": 2, "kernel": 3, "stride": 1, "dilation": 2, "output_padding": 2}),
    _edge("deconv-output-padding-one-axis-bad", [2, 4, 4], ERR,
          {"op": "deconv", "out": 2, "kernel": 3, "stride": [2, 1], "output_padding": 1}),
    _edge("deconv3d-output-padding-per-axis", [1, 3, 3, 3], [1, 7, 6, 13],
          {"op": "deconv", "out": 1, "kernel": [3, 1, 2], "stride": [2, 2, 4], "output_padding": [0, 1, 3]}),
    # pool padding <= kernel // 2
    _edge("maxpool-padding-half-kernel-plus-one", [1, 8], ERR, {"op": "maxpool", "kernel": 3, "padding": 2}),
    _edge("maxpool-padding-half-kernel", [1, 8], [1, 3], {"op": "maxpool", "kernel": 3, "padding": 1}),
    _edge("maxpool-even-kernel-padding-half", [1, 8, 8], [1, 5, 5], {"op": "maxpool", "kernel": 2, "padding": 1}),
    _edge("maxpool-padding-rule-ignores-dilation", [1, 9, 9], ERR,
          {"op": "maxpool", "kernel": 3, "padding": 2, "dilation": 2}),
    _edge("avgpool-padding-half-kernel-plus-one", [1, 8, 8, 8], ERR, {"op": "avgpool", "kernel": 4, "padding": 3}),
    _edge("maxpool-padding-one-axis-bad", [1, 8, 8], ERR, {"op": "maxpool", "kernel": [3, 5], "padding": [2, 2]}),
    # groups
    _edge("conv-groups-not-dividing-in", [3, 5, 5], ERR, {"op": "conv", "out": 4, "kernel": 3, "groups": 2}),
    _edge("conv-groups-not-dividing-out", [4, 5, 5], ERR, {"op": "conv", "out": 3, "kernel": 3, "groups": 2}),
    _edge("conv-depthwise", [4, 5, 5], [8, 3, 3], {"op": "conv", "out": 8, "kernel": 3, "groups": 4}),
    _edge("deconv-groups-not-dividing-in", [6, 3], ERR, {"op": "deconv", "out": 8, "kernel": 2, "groups": 4}),
    _edge("groupnorm-groups-not-dividing", [6, 4, 4], ERR, {"op": "groupnorm", "groups": 4}),
    # padding same / valid
    _edge("conv-same-stride-2", [1, 8, 8], ERR, {"op": "conv", "out": 1, "kernel": 3, "stride": 2, "padding": "same"}),
    _edge("conv-same-stride-1-on-one-axis-only", [1, 8, 8], ERR,
          {"op": "conv", "out": 1, "kernel": 3, "stride": [1, 2], "padding": "same"}),
    _edge("conv-same-even-kernel-dilated", [1, 5, 6], [1, 5, 6],
          {"op": "conv", "out": 1, "kernel": 4, "dilation": 3, "padding": "same"}),
    _edge("conv-same-kernel-larger-than-input", [1, 2], [1, 2], {"op": "conv", "out": 1, "kernel": 7, "padding": "same"}),
    _edge("conv-valid", [1, 8, 8], [2, 3, 3], {"op": "conv", "out": 2, "kernel": 3, "stride": 2, "padding": "valid"}),
    # others
    _edge("pixel-shuffle-channels-not-divisible", [6, 3, 3], ERR, {"op": "pixel_shuffle", "factor": 2}),
    _edge("pixel-shuffle", [18, 2, 3], [2, 6, 9], {"op": "pixel_shuffle", "factor": 3}),
    _edge("upsample-size-per-axis", [2, 3, 4], [2, 5, 1], {"op": "upsample", "size": [5, 1]}),
    _edge("upsample-scale-per-axis", [2, 3, 4, 5], [2, 3, 8, 15], {"op": "upsample", "scale": [1, 2, 3]}),
    _edge("upsample-bilinear-on-1d", [2, 5], ERR, {"op": "upsample", "scale": 2, "mode": "bilinear"}),
    _edge("upsample-trilinear-on-2d", [2, 5, 5], ERR, {"op": "upsample", "scale": 2, "mode": "trilinear"}),
    _edge("upsample-bilinear-on-2d", [2, 5, 5], [2, 10, 10], {"op": "upsample", "scale": 2, "mode": "bilinear"}),
    _edge("upsample-nearest-align-corners", [2, 5, 5], ERR, {"op": "upsample", "scale": 2, "align_corners": True}),
    _edge("instancenorm-one-spatial-element", [3, 1, 1], ERR, {"op": "instancenorm"}),
    _edge("instancenorm-running-stats-one-element", [3, 1, 1], [3, 1, 1],
          {"op": "instancenorm", "track_running_stats": True}),
    _edge("layernorm-params", [3, 4, 5], [3, 4, 5], {"op": "layernorm"}),
    _edge("softmax-dim-out-of-range", [3, 4], ERR, {"op": "softmax", "dim": 3}),
    _edge("linear-on-last-axis", [3, 4, 5], [3, 4, 7], {"op": "linear", "out": 7}),
    _edge("flatten-linear", [3, 4, 5], [7], {"op": "flatten"}, {"op": "linear", "out": 7}),
    _edge("concat-spatial-mismatch", [2, 6, 6], ERR, {"op": "conv", "out": 3, "kernel": 3},
          {"op": "identity", "from": "input"}, {"op": "concat", "from": ["l0", "l1"]}),
    _edge("concat-channels-add-up", [2, 6, 6], [5, 6, 6], {"op": "conv", "out": 3, "kernel": 3, "padding": 1},
          {"op": "identity", "from": "input"}, {"op": "concat", "from": ["l0", "l1"]}),
    _edge("add-channel-mismatch", [2, 6, 6], ERR, {"op": "conv", "out": 3, "kernel": 3, "padding": 1},
          {"op": "identity", "from": "input"}, {"op": "add", "from": ["l0", "l1"]}),
    _edge("crop-like-odd-difference", [2, 9, 8], [2, 7, 6], {"op": "conv", "out": 3, "kernel": 3},
          {"op": "identity", "from": "input"}, {"op": "crop", "from": "l1", "like": "l0"}),
    _edge("crop-like-larger-target", [2, 9, 8], ERR, {"op": "conv", "out": 3, "kernel": 3},
          {"op": "identity", "from": "input"}, {"op": "crop", "from": "l0", "like": "l1"}),
    _edge("conv-then-pool-fails-second", [1, 6, 6], ERR,
          {"op": "conv", "out": 2, "kernel": 5}, {"op": "maxpool", "kernel": 3}),
]


@pytest.mark.parametrize(("input_", "layers", "expect"), EDGE_CASES)
def test_edge_cases(input_: list[int], layers: list[dict[str, Any]], expect: list[int] | str) -> None:
    layers = named(*layers)
    expected, failure = torch_run(input_, layers, batch=2)
    # first make sure torch still behaves as written down here (guards the oracle itself)
    if expect == ERR:
        assert failure is not None, f"torch accepts it now: {expected}"
    else:
        assert failure is None, f"torch rejects it now: {failure}"
        assert expected[-1][1] == expect
    compare(input_, layers, batch=2)


def test_torch_oracle_sanity() -> None:
    """The oracle itself: a few results known by hand, parameters included."""
    done, failure = torch_run([3, 8, 8], named({"op": "conv", "out": 4, "kernel": 3, "padding": 1}))
    assert failure is None and done == [("l0", [4, 8, 8], 4 * 3 * 9 + 4, 3 * 4 * 9 * 64)]
    done, failure = torch_run([4, 3, 5], named({"op": "layernorm"}))
    assert done == [("l0", [4, 3, 5], 2 * 4 * 3 * 5, 0)]
    done, failure = torch_run([4, 3], named({"op": "deconv", "out": 6, "kernel": 2, "groups": 2, "bias": False}))
    assert done == [("l0", [6, 4], 4 * 3 * 2, 2 * 6 * 2 * 3)]
    done, failure = torch_run([2, 5, 6], named({"op": "pad", "amount": [1, [0, 2]]}))
    assert done == [("l0", [2, 7, 8], 0, 0)]
    done, failure = torch_run([2, 5, 6], named({"op": "crop", "amount": [[1, 0], [0, 2]]}))
    assert done == [("l0", [2, 4, 4], 0, 0)]
    done, failure = torch_run([3, 4, 5], named({"op": "linear", "out": 7}))
    assert done == [("l0", [3, 4, 7], 5 * 7 + 7, 3 * 4 * 5 * 7)]
