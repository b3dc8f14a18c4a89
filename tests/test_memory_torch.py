"""Memory against PyTorch itself (issue #21, part 1): each spec is exported, built and run
forward in training mode under ``torch.autograd.graph.saved_tensors_hooks``; the bytes of
the distinct storages autograd keeps (parameters left out: ``params`` counts them) must be
``check``'s ``saved`` exactly.  The layers' outputs against torchinfo's forward/backward pass
size, and the totals' arithmetic, are checked too."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from archsolve.check.api import check_spec  # noqa: E402
from archsolve.ops.autograd import Dtype, MemoryMode  # noqa: E402
from archsolve.spec.load import load_spec, load_text  # noqa: E402

from .conftest import SPECS, examples  # noqa: E402
from .test_export import (  # noqa: E402
    BLOCKS,
    EVERY_OP_1D,
    EVERY_OP_2D,
    EVERY_OP_3D,
    NEW_OPS_1D,
    NEW_OPS_2D,
    NEW_OPS_3D,
    _build,
)

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]


def torch_saved(model: Any, shape: tuple[int, ...], batch: int, dtype: Any = None) -> int:
    """The bytes of the distinct storages autograd keeps in one training forward pass."""
    model.train()
    if dtype is not None:
        model.to(dtype)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    kept: dict[int, int] = {}

    def pack(t: Any) -> Any:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            kept[storage.data_ptr()] = storage.nbytes()
        return t

    torch.manual_seed(0)
    x = torch.randn(batch, *shape, dtype=dtype or torch.float32)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(kept.values())


CHAINS = {
    "conv-bn-relu-pool-drop-fc": """
input: [3, 20, 20]
layers:
  - {op: conv, out: 8, kernel: 3, padding: 1}
  - {op: batchnorm}
  - {op: relu}
  - {op: maxpool, kernel: 2}
  - {op: dropout, p: 0.2}
  - {op: conv, out: 4, kernel: 3, stride: 2, bias: false}
  - {op: flatten}
  - {op: linear, out: 5}
  - {op: softmax}
""",
    "relu-first-and-norms": """
input: [4, 12, 12]
layers:
  - {op: relu}
  - {op: instancenorm}
  - {op: conv, out: 8, kernel: 3}
  - {op: instancenorm, affine: true}
  - {op: groupnorm, groups: 2, affine: false}
  - {op: layernorm}
  - {op: lrn, size: 3}
  - {op: elu}
  - {op: relu6, inplace: true}
  - {op: hardswish}
  - {op: mish}
  - {op: prelu, per_channel: true}
  - {op: softplus}
  - {op: selu}
  - {op: hardsigmoid}
""",
    "u-net-crop-concat": """
input: [1, 28, 28]
layers:
  - {name: e1, op: conv, out: 4, kernel: 3}
  - {name: r1, op: relu, inplace: true}
  - {name: p1, op: maxpool, kernel: 2}
  - {name: e2, op: conv, out: 8, kernel: 3}
  - {name: r2, op: relu}
  - {name: up, op: deconv, out: 4, kernel: 2, stride: 2}
  - {name: cr, op: crop, from: r1, like: up}
  - {name: cat, op: concat, from: [cr, up]}
  - {name: d1, op: conv, out: 4, kernel: 3}
  - {name: gate, op: sigmoid}
  - {name: both, op: mul, from: [gate, d1]}
  - {name: out, op: conv, out: 2, kernel: 1}
""",
}

HAND = {"every-op-2d": EVERY_OP_2D, "every-op-1d": EVERY_OP_1D, "every-op-3d": EVERY_OP_3D, "blocks": BLOCKS,
        "new-ops-2d": NEW_OPS_2D, "new-ops-1d": NEW_OPS_1D, "new-ops-3d": NEW_OPS_3D, **CHAINS}


@pytest.mark.parametrize("batch", [2, 3])  # torch trains no batchnorm of one value per channel
@pytest.mark.parametrize("name", list(HAND))
def test_saved_is_what_autograd_keeps(name: str, batch: int) -> None:
    spec = load_text(HAND[name])
    report = check_spec(spec, repairs=False, memory=MemoryMode(batch=batch))
    model, _ = _build(spec)
    assert report.memory is not None and report.memory.complete
    assert report.memory.saved == torch_saved(model, report.input, batch)


@pytest.mark.parametrize("name", ["convnet-seed.yaml", "dcgan-generator.yaml", "unet-padded.yaml"])
def test_saved_on_the_examples(name: str) -> None:
    spec = load_spec(str(SPECS / name))
    report = check_spec(spec, repairs=False, memory=MemoryMode(batch=2))
    model, _ = _build(spec)
    assert report.memory.saved == torch_saved(model, report.input, 2)


@pytest.mark.parametrize("name", list(CHAINS))
def test_saved_in_bfloat16(name: str) -> None:
    """The model cast to bfloat16: half the activations' bytes, the norms' statistics too; a
    max pool's indices stay int64.  (PyTorch's CPU kernels have no bfloat16 local response norm.)"""
    spec = load_text(CHAINS[name].replace("  - {op: lrn, size: 3}\n", ""))
    report = check_spec(spec, repairs=False, memory=MemoryMode(batch=2, dtype=Dtype.BFLOAT16))
    model, _ = _build(spec)
    assert report.memory.saved == torch_saved(model, report.input, 2, torch.bfloat16)


@pytest.mark.parametrize("name", ["convnet-seed.yaml", "vgg16.yaml", "unet-original.yaml"])
def test_torchinfos_pass_size_is_twice_the_weighted_layers_outputs(name: str) -> None:
    """torchinfo's "forward/backward pass size" counts each layer with weights, twice."""
    torchinfo = pytest.importorskip("torchinfo")
    spec = load_spec(str(SPECS / name))
    report = check_spec(spec, repairs=False)
    model, _ = _build(spec)
    info = torchinfo.summary(model, input_size=(1, *report.input), verbose=0, device="cpu")
    weighted = sum(report.memory.layers[n] for n, r in report.prop.layers.items() if r.params)
    assert info.total_output_bytes == 2 * weighted


def test_training_is_saved_and_four_copies_of_the_weights() -> None:
    report = check_spec(load_spec(str(SPECS / "unet-original.yaml")), repairs=False)
    mem = report.memory
    assert mem.params == 4 * report.totals["params"]
    assert mem.training == mem.saved + 4 * mem.params
    assert mem.activations == sum(v for n, v in mem.layers.items())


# -- random networks of every op ------------------------------------------------------------------

# layers that keep a [C, H, W] tensor of at least 4x4 a valid input to the next (C may change)
MENU = [
    "{op: conv, out: %(c)d, kernel: 3, padding: 1}",
    "{op: conv, out: %(c)d, kernel: 2, padding: same}",
    "{op: conv, out: %(c)d, kernel: 1, bias: false}",
    "{op: deconv, out: %(c)d, kernel: 2, stride: 2}",
    "{op: batchnorm}", "{op: batchnorm, track_running_stats: false}",
    "{op: instancenorm, affine: true}", "{op: groupnorm, groups: 1}", "{op: layernorm}",
    "{op: relu}", "{op: relu, inplace: true}", "{op: relu6, inplace: true}", "{op: elu, inplace: true}",
    "{op: leakyrelu}", "{op: gelu}", "{op: silu}", "{op: sigmoid}", "{op: tanh}", "{op: softmax}",
    "{op: hardswish}", "{op: mish, inplace: true}", "{op: prelu, per_channel: true}",
    "{op: dropout, p: 0.25}", "{op: identity}",
    "{op: maxpool, kernel: 2}", "{op: avgpool, kernel: 2}", "{op: adaptive_avgpool, size: 4}",
    "{op: adaptive_maxpool, size: 4}", "{op: upsample, scale: 2}", "{op: pad, amount: 1}", "{op: crop, amount: 1}",
    "{op: concat, from: [%(prev)s, %(prev)s]}", "{op: mul, from: [%(prev)s, %(prev)s, %(prev)s]}",
    "{op: add, from: [%(prev)s, l0]}",
]


def _random_spec(picks: list[tuple[int, int]]) -> str:
    lines = ["input: [3, 16, 16]", "layers:", "  - {name: l0, op: conv, out: 4, kernel: 3, padding: 1}"]
    for i, (k, c) in enumerate(picks, start=1):
        lines.append(f"  - {{name: l{i}, " + MENU[k].lstrip("{") % {"c": c, "prev": f"l{i - 1}"})
    # a skip: the last layer's output added to itself through a second reader
    lines.append(f"  - {{name: tail, op: add, from: [l{len(picks)}, l{len(picks)}]}}")
    return "\n".join(lines) + "\n"


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=st.lists(st.tuples(st.integers(0, len(MENU) - 1), st.integers(2, 6)), min_size=1, max_size=8),
       batch=st.integers(2, 3))
def test_random_networks_keep_what_torch_keeps(picks: list[tuple[int, int]], batch: int) -> None:
    spec = load_text(_random_spec(picks))
    report = check_spec(spec, repairs=False, memory=MemoryMode(batch=batch))
    assume(report.ok)  # sizes that stay valid (a crop of a 1x1 map is not)
    model, _ = _build(spec)
    assert report.memory.saved == torch_saved(model, report.input, batch), _random_spec(picks)
