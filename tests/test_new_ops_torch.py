"""Differential tests of the ops real networks need (issue 16) against real PyTorch.

For random small networks, hypothesis writes a spec, ``archsolve check --json`` propagates
it, and the same layers are built with ``torch.nn`` (or the tensor operation) and run:

* torch raises, or gives an empty axis: archsolve must exit 1 with an error at that layer;
* otherwise archsolve must exit 0 and give, for every layer, torch's shape (without the
  batch axis) and ``sum(p.numel())`` as ``params``; MACs are 0 for all of these ops (only
  conv, deconv and linear count them: the 1x1 convs that make gates here).

The torch side is written from torch's documentation, not from archsolve: ``mul`` is
``a * b`` (torch broadcasting; archsolve refuses tensors of different ranks, which torch
would align with the batch axis), ``reshape`` is ``x.reshape(x.shape[0], *shape)``, and a
``maxunpool`` is ``nn.MaxUnpoolNd(kernel, stride, padding)`` of its maxpool, called with the
pool's indices and ``output_size`` the pool's input size (or ``size``).  The input counts up
(``arange``): every window's maximum is its last real position, so a ``size`` too small for
the indices is caught by torch, as for the worst input.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402

from .conftest import check_json, examples  # noqa: E402

pytestmark = pytest.mark.torch

TORCH_ERRORS = (RuntimeError, ValueError, IndexError)
ACTIVATIONS = ("relu6", "elu", "selu", "hardswish", "hardsigmoid", "mish", "softplus", "prelu")


def _settings(n: int) -> settings:
    return settings(max_examples=examples(n), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _t(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _module(layer: dict[str, Any], c: int, nd: int) -> Any:
    """The torch module of a one-input layer (``c`` channels, ``nd`` spatial axes)."""
    op, get = layer["op"], layer.get
    if op == "relu6":
        return nn.ReLU6()
    if op == "elu":
        return nn.ELU(alpha=get("alpha", 1.0))
    if op == "selu":
        return nn.SELU()
    if op == "hardswish":
        return nn.Hardswish()
    if op == "hardsigmoid":
        return nn.Hardsigmoid()
    if op == "mish":
        return nn.Mish()
    if op == "softplus":
        return nn.Softplus(beta=get("beta", 1.0), threshold=get("threshold", 20.0))
    if op == "prelu":
        return nn.PReLU(num_parameters=c if get("per_channel", False) else 1, init=get("init", 0.25))
    if op == "lrn":
        return nn.LocalResponseNorm(layer["size"], alpha=get("alpha", 1e-4), beta=get("beta", 0.75), k=get("k", 1.0))
    if op == "maxpool":
        return getattr(nn, f"MaxPool{nd}d")(_t(layer["kernel"]), stride=_t(get("stride")),
                                            padding=_t(get("padding", 0)), dilation=_t(get("dilation", 1)),
                                            ceil_mode=get("ceil_mode", False), return_indices=True)
    if op == "adaptive_avgpool":
        return getattr(nn, f"AdaptiveAvgPool{nd}d")(_t(layer["size"]))
    if op == "conv":
        return getattr(nn, f"Conv{nd}d")(c, layer["out"], 1)
    if op == "flatten":
        return nn.Flatten()
    if op == "identity":
        return nn.Identity()
    raise AssertionError(f"test bug: no torch builder for {op!r}")


def torch_run(input_shape: list[int], layers: list[dict[str, Any]]
              ) -> tuple[list[tuple[str, list[int], int, int]], tuple[str, str] | None]:
    """([(name, shape, params, MACs) of each layer torch ran], (the layer torch rejects, why) or None)."""
    x = torch.arange(math.prod(input_shape), dtype=torch.float32).reshape(1, *input_shape)
    outs: dict[str, Any] = {"input": x}
    indices: dict[str, Any] = {}
    prev, done = "input", []
    for layer in layers:
        name, op = layer["name"], layer["op"]
        src = layer.get("from", prev)
        xs = [outs[n] for n in (src if isinstance(src, list) else [src])]
        module: Any = None
        try:
            if op == "mul":
                if any(a.dim() != xs[0].dim() for a in xs):
                    return done, (name, "tensors of different ranks (archsolve's rule)")
                y = xs[0]
                for a in xs[1:]:
                    y = y * a
            elif op == "reshape":
                y = xs[0].reshape(xs[0].shape[0], *layer["shape"])
            elif op == "maxunpool":
                pool = next(p for p in layers if p["name"] == layer["indices"])
                nd = xs[0].dim() - 2
                unpool = getattr(nn, f"MaxUnpool{nd}d")(_t(pool["kernel"]), stride=_t(pool.get("stride")),
                                                        padding=_t(pool.get("padding", 0)))
                size = layer.get("size") or list(outs[pool.get("from", "input")].shape[2:])
                y = unpool(xs[0], indices[pool["name"]], output_size=_t(size))
            else:
                module = _module(layer, xs[0].shape[1], xs[0].dim() - 2).eval()
                with torch.no_grad():
                    y = module(xs[0])
                if op == "maxpool":
                    y, indices[name] = y
        except TORCH_ERRORS as e:
            return done, (name, f"{type(e).__name__}: {e}")
        if 0 in y.shape:
            return done, (name, f"an empty tensor {list(y.shape)}")
        params = 0 if module is None else sum(p.numel() for p in module.parameters())
        macs = module.in_channels * module.out_channels * math.prod(y.shape[2:]) if op == "conv" else 0
        done.append((name, list(y.shape[1:]), params, macs))
        outs[name] = y
        prev = name
    return done, None


def compare(input_shape: list[int], layers: list[dict[str, Any]]) -> str:
    """Assert archsolve agrees with torch; return torch's verdict, 'ok' or 'error'."""
    expected, failure = torch_run(input_shape, layers)
    text = yaml.safe_dump({"input": input_shape, "layers": layers}, sort_keys=False, default_flow_style=None)
    with tempfile.TemporaryDirectory(prefix="archsolve-newops-") as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text)
        code, doc = check_json(path)
    why = (f"\n--- spec ---\n{text}--- torch: {failure or expected}\n--- archsolve: exit {code}\n"
           f"{json.dumps(doc.get('layers'))}\n{json.dumps(doc.get('problems'), indent=1)}")
    rows = {r["name"]: r for r in doc["layers"]}
    for name, shape, params, macs in expected:
        assert (rows[name]["shape"], rows[name]["params"], rows[name]["macs"]) == (shape, params, macs), name + why
    errors = [p for p in doc["problems"] if p["severity"] == "error"]
    if failure is None:
        # an unpool of a pool with a window on padding only: torch may run it, writing where the
        # out-of-input index happens to land (flattened), which archsolve calls an error
        errors = [p for p in errors if not (p["kind"] == "holes" and rows[p["layer"]]["op"] == "maxunpool")]
        assert not errors, "archsolve rejects a network torch runs" + why
        return "ok"
    assert code == 1 and any(p["layer"] == failure[0] for p in errors), "archsolve accepts what torch refuses" + why
    return "error"


# -- generators ----------------------------------------------------------------------------------

def _shape(draw: Any, nd: int, channels: int = 6) -> list[int]:
    top = 9 if nd < 3 else 5
    return [draw(st.integers(1, channels)), *(draw(st.integers(1, top)) for _ in range(nd))]


@st.composite
def activation_case(draw: Any) -> tuple[list[int], list[dict[str, Any]]]:
    shape = _shape(draw, draw(st.integers(1, 3)))
    op = draw(st.sampled_from([*ACTIVATIONS, "lrn"]))
    layer: dict[str, Any] = {"name": "a", "op": op}
    if op == "elu" and draw(st.booleans()):
        layer["alpha"] = draw(st.sampled_from([0.5, 2.0]))
    if op == "softplus" and draw(st.booleans()):
        layer.update(beta=2.0, threshold=5.0)
    if op == "prelu":
        layer["per_channel"] = draw(st.booleans())
    if op == "lrn":
        layer.update(size=draw(st.integers(1, 7)), k=2.0)
    layers = [layer]
    if draw(st.booleans()):  # the same op on a flat input, after flatten
        layers = [{"name": "f", "op": "flatten"}, {**layer, "name": "a"}]
    return shape, layers


@st.composite
def reshape_case(draw: Any) -> tuple[list[int], list[dict[str, Any]]]:
    nd = draw(st.integers(1, 3))
    shape = _shape(draw, nd)
    total = math.prod(shape)
    rank = draw(st.sampled_from([1, nd + 1]))
    if draw(st.booleans()):  # a shape that fits: factors of the total
        dims, rest = [], total
        for _ in range(rank - 1):
            d = draw(st.sampled_from([f for f in range(1, rest + 1) if rest % f == 0]))
            dims.append(d)
            rest //= d
        dims.append(rest)
        dims = draw(st.permutations(dims))
    else:
        dims = [draw(st.integers(1, 12)) for _ in range(rank)]
    if draw(st.booleans()):
        dims = list(dims)
        dims[draw(st.integers(0, rank - 1))] = -1
    layers = [{"name": "r", "op": "reshape", "shape": list(dims)}]
    if draw(st.booleans()):
        layers.insert(0, {"name": "f", "op": "flatten"})
    return shape, layers


@st.composite
def mul_case(draw: Any) -> tuple[list[int], list[dict[str, Any]]]:
    """x times a gate: the gate's channels 1, C or another count, each size 1, the same or another."""
    nd = draw(st.integers(1, 3))
    shape = _shape(draw, nd)
    size = [draw(st.sampled_from([1, n, n + 1])) for n in shape[1:]]
    out = draw(st.sampled_from([1, shape[0], shape[0] + 1]))
    layers: list[dict[str, Any]] = [{"name": "squeeze", "op": "adaptive_avgpool", "size": size},
                                    {"name": "gate", "op": "conv", "out": out, "kernel": 1},
                                    {"name": "m", "op": "mul", "from": draw(st.sampled_from(
                                        [["input", "gate"], ["gate", "input"], ["input", "gate", "gate"]]))}]
    if draw(st.integers(0, 5)) == 0:  # a flat tensor times a [C, *spatial] one: refused
        layers.insert(2, {"name": "flat", "op": "flatten", "from": "gate"})
        layers[-1]["from"] = ["input", "flat"]
    return shape, layers


@st.composite
def unpool_case(draw: Any) -> tuple[list[int], list[dict[str, Any]]]:
    """A maxpool, a layer or none between, and a maxunpool taking its indices (SegNet)."""
    nd = draw(st.integers(1, 3))
    shape = _shape(draw, nd, channels=3)
    k = [draw(st.integers(1, 4)) for _ in range(nd)]
    pool: dict[str, Any] = {"name": "pool", "op": "maxpool", "kernel": k,
                            "stride": [draw(st.integers(1, 3)) for _ in range(nd)],
                            "padding": [draw(st.integers(0, v // 2)) for v in k]}
    if draw(st.booleans()):
        pool["dilation"] = [draw(st.integers(1, 2)) for _ in range(nd)]
    if draw(st.booleans()):
        pool["ceil_mode"] = True
    layers = [pool]
    between = draw(st.sampled_from(["none", "prelu", "conv"]))
    if between != "none":
        layers.append({"name": "mid", "op": between, **({"out": draw(st.integers(1, 3)), "kernel": 1}
                                                        if between == "conv" else {})})
    unpool: dict[str, Any] = {"name": "unpool", "op": "maxunpool", "indices": "pool"}
    if draw(st.booleans()):
        unpool["size"] = [draw(st.integers(1, 12)) for _ in range(nd)]
    layers.append(unpool)
    return shape, layers


@_settings(200)
@given(activation_case())
def test_activations_and_lrn_match_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    compare(*case)


@_settings(200)
@given(reshape_case())
def test_reshape_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    compare(*case)


@_settings(200)
@given(mul_case())
def test_mul_broadcasts_as_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    compare(*case)


@_settings(300)
@given(unpool_case())
def test_maxunpool_matches_torch(case: tuple[list[int], list[dict[str, Any]]]) -> None:
    compare(*case)


# -- cases written down ----------------------------------------------------------------------------

OK, ERR = "ok", "error"
CASES = [
    ("se-gate", [8, 5, 5], OK, [{"name": "g", "op": "adaptive_avgpool", "size": 1},
                                {"name": "m", "op": "mul", "from": ["input", "g"]}]),
    ("mul-sizes-differ", [2, 5, 5], ERR, [{"name": "g", "op": "adaptive_avgpool", "size": [1, 4]},
                                          {"name": "m", "op": "mul", "from": ["input", "g"]}]),
    ("prelu-per-channel", [6, 3], OK, [{"name": "p", "op": "prelu", "per_channel": True}]),
    ("lrn-flat", [6, 3], ERR, [{"name": "f", "op": "flatten"}, {"name": "n", "op": "lrn", "size": 2}]),
    ("vae-reshape", [16, 2, 2], OK, [{"name": "f", "op": "flatten"}, {"name": "r", "op": "reshape",
                                                                       "shape": [4, -1, 2]}]),
    ("reshape-wrong-total", [16, 2, 2], ERR, [{"name": "r", "op": "reshape", "shape": [4, 4, 3]}]),
    ("reshape-not-divisible", [16, 2, 2], ERR, [{"name": "r", "op": "reshape", "shape": [-1, 3, 2]}]),
    # the dilated taps on H read 0 and 2 of 0..3: the last index is (0, 2, 2) = 8, which 2x5 holds
    ("unpool-size-dilated-pool", [1, 1, 4, 3], OK,
     [{"name": "pool", "op": "maxpool", "kernel": [1, 3, 2], "stride": [1, 2, 2], "dilation": [1, 2, 1],
       "ceil_mode": True},
      {"name": "unpool", "op": "maxunpool", "indices": "pool", "size": [1, 2, 5]}]),
    # W: kernel 2, dilation 2, padding 1 on 1 reads padding only; torch runs it (the flat index
    # lands inside the 6x1 plane, on the wrong pixel): an error for archsolve, all the same
    ("unpool-of-a-window-on-padding", [1, 6, 1], OK,
     [{"name": "p", "op": "maxpool", "kernel": [3, 2], "stride": [3, 2], "padding": [1, 1], "dilation": [1, 2]},
      {"name": "u", "op": "maxunpool", "indices": "p"}]),
    ("segnet-odd", [2, 7, 9], OK, [{"name": "pool", "op": "maxpool", "kernel": 2},
                                   {"name": "unpool", "op": "maxunpool", "indices": "pool"}]),
    ("unpool-dilated", [1, 10], ERR, [{"name": "pool", "op": "maxpool", "kernel": 3, "stride": 1, "dilation": 2},
                                      {"name": "unpool", "op": "maxunpool", "indices": "pool"}]),
    ("unpool-size-too-small-for-indices", [1, 4, 4], ERR,
     [{"name": "pool", "op": "maxpool", "kernel": 2},
      {"name": "unpool", "op": "maxunpool", "indices": "pool", "size": [3, 4]}]),
    ("unpool-channels-differ", [2, 4, 4], ERR,
     [{"name": "pool", "op": "maxpool", "kernel": 2}, {"name": "c", "op": "conv", "out": 3, "kernel": 1},
      {"name": "unpool", "op": "maxunpool", "indices": "pool"}]),
]


@pytest.mark.parametrize(("input_", "expect", "layers"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_cases(input_: list[int], expect: str, layers: list[dict[str, Any]]) -> None:
    assert compare(input_, layers) == expect


def test_numbers_by_hand() -> None:
    """The oracle itself, on results known by hand."""
    assert torch_run([6, 3], [{"name": "p", "op": "prelu", "per_channel": True}]) == ([("p", [6, 3], 6, 0)], None)
    assert torch_run([2, 5], [{"name": "pool", "op": "maxpool", "kernel": 2},
                              {"name": "unpool", "op": "maxunpool", "indices": "pool"}])[0][-1] == ("unpool", [2, 5], 0, 0)
