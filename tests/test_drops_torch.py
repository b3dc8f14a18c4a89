"""Drops and holes against real PyTorch: which input positions a layer reads, which output
positions any input reaches.

For random conv, maxpool and avgpool layers (1D-3D, padding, dilation, ceil_mode) torch
runs one forward per input position at once -- a batch of one-hot inputs, all-ones
weights -- and an output above zero says which windows read that position.  A *drop*
(docs/semantics.md) is a real position after the last one any window reads; ``check --json`` must
report exactly torch's count on every axis (a warning, or an error under ``exact: true``),
and nothing where torch reads the last position: ResNet's stem pool, 3x3/2 pad 1 on 112,
reads position 111 and drops nothing, though (112 + 2 - 3) % 2 = 1.

A *hole* is an output position that no input reaches: a transposed conv's gap (stride wider
than the kernel, an output_padding past the padding), a conv window on padding only.  With
all-ones weights, no bias and an all-ones input, torch gives 0 exactly there.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.nn import functional as F  # noqa: E402

try:  # tests/ may or may not be a package
    from .conftest import check_json, examples, write_spec
except ImportError:
    from conftest import check_json, examples, write_spec  # type: ignore[no-redef]

pytestmark = [pytest.mark.torch]
AXES = {1: "L", 2: "HW", 3: "DHW"}
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_DECONV = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAXPOOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVGPOOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _torch_window_op(layer: dict[str, Any], ndim: int) -> Any:
    """The layer as a function of a [N, 1, *spatial] tensor (one channel: windows are all that matter)."""
    k, s, p = layer["kernel"], layer.get("stride", layer["kernel"]), layer.get("padding", 0)
    if layer["op"] == "conv":
        d = layer.get("dilation", 1)
        weight = torch.ones((1, 1, *k))
        return lambda x: _CONV[ndim](x, weight, stride=s, padding=p, dilation=d)
    if layer["op"] == "maxpool":
        return lambda x: _MAXPOOL[ndim](x, k, s, p, dilation=layer.get("dilation", 1), ceil_mode=layer["ceil_mode"])
    return lambda x: _AVGPOOL[ndim](x, k, s, p, ceil_mode=layer["ceil_mode"])


def _read_positions(layer: dict[str, Any], size: tuple[int, ...]) -> list[set[int]]:
    """Per axis, the input positions some window reads (torch: a one-hot input per position),
    each axis on its own; the layer's windows are separable, which the N-D run confirms."""
    ndim = len(size)
    per_axis = []
    for a in range(ndim):
        axis_layer = {k: [v[a]] if isinstance(v, list) else v for k, v in layer.items()}
        per_axis.append(set(torch.nonzero(_read(axis_layer, (size[a],)), as_tuple=True)[0].tolist()))
    hit = _read(layer, size)
    joint = {tuple(ix) for ix in hit.nonzero().tolist()}
    assert joint == {ix for ix in _product(per_axis)}
    return per_axis


def _read(layer: dict[str, Any], size: tuple[int, ...]) -> Any:
    n = 1
    for v in size:
        n *= v
    onehot = torch.eye(n, dtype=torch.float64).reshape(n, 1, *size)
    out = _torch_window_op(layer, len(size))(onehot)
    return (out.reshape(n, -1) > 0).any(dim=1).reshape(size)


def _product(sets: list[set[int]]) -> list[tuple[int, ...]]:
    res: list[tuple[int, ...]] = [()]
    for s in sets:
        res = [(*r, v) for r in res for v in sorted(s)]
    return res


@st.composite
def window_layers(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[int, ...], bool]:
    ndim = draw(st.integers(1, 3))
    size = tuple(draw(st.integers(1, 14 if ndim < 3 else 6)) for _ in range(ndim))
    op = draw(st.sampled_from(["conv", "maxpool", "avgpool"]))
    axes = [st.integers(1, 5)] * ndim
    k = draw(st.tuples(*axes))
    s = draw(st.tuples(*axes))
    layer: dict[str, Any] = {"name": "w", "op": op, "kernel": list(k), "stride": list(s)}
    if op == "conv":
        layer.update(out=1, bias=False, dilation=list(draw(st.tuples(*[st.integers(1, 3)] * ndim))))
        layer["padding"] = [draw(st.integers(0, 6)) for _ in range(ndim)]
    else:
        layer["padding"] = [draw(st.integers(0, kk // 2)) for kk in k]
        layer["ceil_mode"] = draw(st.booleans())
        if op == "maxpool":
            layer["dilation"] = list(draw(st.tuples(*[st.integers(1, 3)] * ndim)))
    return layer, size, draw(st.booleans())


def _counts(problems: list[dict[str, Any]], kind: str, ndim: int) -> list[int]:
    """The per-axis counts a problem's message gives, ``(2 on H, 1 on W)``; 0 where it names no axis."""
    found = [p for p in problems if p["kind"] == kind]
    if not found:
        return [0] * ndim
    (problem,) = found
    given_ = dict((ax, int(c)) for c, ax in re.findall(r"(\d+) on ([LDHW])\b", problem["message"].split(":")[0]))
    return [given_.get(ax, 0) for ax in AXES[ndim]]


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=window_layers())
def test_drops_are_the_real_positions_torch_never_reads(tmp_path_factory: Any, case: Any) -> None:
    layer, size, exact = case
    ndim = len(size)
    try:
        read = _read_positions(layer, size)
    except RuntimeError:
        return  # torch refuses the layer: the differential tests of shapes cover that
    spec = {"input": [1, *size], "layers": [layer], "exact": exact}
    code, doc = check_json(write_spec(tmp_path_factory.mktemp("d"), spec))
    if any(p["kind"] not in ("drops", "exact", "holes") for p in doc["problems"]):
        return  # archsolve refuses it too (a size torch gives as 0, say)
    expected = [n - 1 - max(r) if r else n for n, r in zip(size, read, strict=True)]
    kind = "exact" if exact else "drops"
    assert _counts(doc["problems"], kind, ndim) == expected, (layer, size, doc["problems"])
    if any(expected):
        severity = "error" if exact else "warning"
        assert [p["severity"] for p in doc["problems"] if p["kind"] == kind] == [severity]


@st.composite
def deconv_layers(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[int, ...]]:
    ndim = draw(st.integers(1, 3))
    size = tuple(draw(st.integers(1, 9 if ndim < 3 else 5)) for _ in range(ndim))
    axes = [st.integers(1, 5)] * ndim
    k, s, d = draw(st.tuples(*axes)), draw(st.tuples(*axes)), draw(st.tuples(*[st.integers(1, 3)] * ndim))
    op = [draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d, strict=True)]
    p = [draw(st.integers(0, 6)) for _ in range(ndim)]
    return ({"name": "u", "op": "deconv", "out": 1, "bias": False, "kernel": list(k), "stride": list(s),
             "dilation": list(d), "padding": p, "output_padding": op}, size)


def _zeros_per_axis(run: Any, layer: dict[str, Any], size: tuple[int, ...]) -> list[int]:
    """Per axis, how many output positions torch leaves at 0 (each axis run on its own); the
    N-D output must be 0 exactly where some axis has a hole."""
    per_axis = []
    for a in range(len(size)):
        axis_layer = {k: [v[a]] if isinstance(v, list) else v for k, v in layer.items()}
        per_axis.append(run(axis_layer, (size[a],))[0, 0] == 0)
    out = run(layer, size)[0, 0]
    hole = torch.zeros(out.shape, dtype=torch.bool)
    for a, zero in enumerate(per_axis):
        hole |= zero.reshape([-1 if b == a else 1 for b in range(len(size))])
    assert torch.equal(out == 0, hole)
    return [int(z.sum()) for z in per_axis]


def _deconv(layer: dict[str, Any], size: tuple[int, ...]) -> Any:
    return _DECONV[len(size)](torch.ones((1, 1, *size), dtype=torch.float64),
                              torch.ones((1, 1, *layer["kernel"]), dtype=torch.float64), stride=layer["stride"],
                              padding=layer["padding"], output_padding=layer["output_padding"],
                              dilation=layer["dilation"])


def _window(layer: dict[str, Any], size: tuple[int, ...]) -> Any:
    return _torch_window_op(layer, len(size))(torch.ones((1, 1, *size), dtype=torch.float64))


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=deconv_layers())
def test_deconv_holes_are_the_positions_torch_leaves_at_zero(tmp_path_factory: Any, case: Any) -> None:
    layer, size = case
    ndim = len(size)
    try:
        if _deconv(layer, size).numel() == 0:
            return
    except RuntimeError:
        return
    code, doc = check_json(write_spec(tmp_path_factory.mktemp("h"), {"input": [1, *size], "layers": [layer]}))
    assert code == 0, doc["problems"]
    assert _counts(doc["problems"], "holes", ndim) == _zeros_per_axis(_deconv, layer, size), (layer, size)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=window_layers())
def test_window_holes_are_the_windows_on_padding_only(tmp_path_factory: Any, case: Any) -> None:
    """A conv window (or a dilated pool's) on padding only: 0 from a conv, -inf from a max pool."""
    layer, size, _ = case
    if layer["op"] == "avgpool":
        return
    ndim = len(size)
    try:
        _window(layer, size)
    except RuntimeError:
        return
    code, doc = check_json(write_spec(tmp_path_factory.mktemp("c"), {"input": [1, *size], "layers": [layer]}))
    assert code == 0, doc["problems"]
    zeros = _zeros_per_axis(lambda lay, sz: torch.where(torch.isinf(_window(lay, sz)), 0, 1) if lay["op"] == "maxpool"
                            else _window(lay, sz), layer, size)
    assert _counts(doc["problems"], "holes", ndim) == zeros, (layer, size, doc["problems"])


@pytest.mark.parametrize(("name", "layer", "size", "message"), [
    ("resnet-stem-pool", {"op": "maxpool", "kernel": 3, "stride": 2, "padding": 1}, [112, 112], None),
    ("conv-reads-all-four", {"op": "conv", "out": 1, "kernel": 3, "stride": 2, "padding": 1}, [4], None),
    ("k11-s11-p5-on-8", {"op": "conv", "out": 1, "kernel": 11, "stride": 11, "padding": 5}, [8],
     "conv drops real pixels that no window reads (2 on L): on L the last position read is 5 = -5 + 10, of 0..7"),
    ("unet-pool-on-odd", {"op": "maxpool", "kernel": 2}, [9, 9],
     "pool drops real pixels that no window reads (1 on H, 1 on W): on H the last position read is 7 = 3 * 2 + 1, "
     "of 0..8; on W the last position read is 7 = 3 * 2 + 1, of 0..8"),
    ("shortcut-1x1-stride-2", {"op": "conv", "out": 1, "kernel": 1, "stride": 2}, [56],
     "conv drops real pixels that no window reads (1 on L): on L the last position read is 54 = 27 * 2, of 0..55"),
    ("dilated-last-tap-past-the-end", {"op": "conv", "out": 1, "kernel": 3, "stride": 3, "dilation": 2,
                                       "padding": 2}, [5],
     "conv drops real pixels that no window reads (1 on L): on L the last position read is 3 = 1 * 3 - 2 + 1 * 2, "
     "of 0..4"),
    ("ceil-mode-reads-the-rest", {"op": "maxpool", "kernel": 2, "ceil_mode": True}, [9], None),
], ids=lambda v: v if isinstance(v, str) and " " not in v else "")
def test_drop_cases(spec_file: Any, name: str, layer: dict[str, Any], size: list[int], message: str | None) -> None:
    code, doc = check_json(spec_file({"input": [1, *size], "layers": [{"name": "w", **layer}]}))
    drops = [p["message"] for p in doc["problems"] if p["kind"] == "drops"]
    assert code == 0 and drops == ([message] if message else []), doc["problems"]
