"""`archsolve plan` (issue #21, part 2): the rules, the largest patch against a brute force,
the spec it writes (check, inputs and export take it), the command's output and refusals,
and its memory against PyTorch's own count."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from archsolve.ops.autograd import Dtype
from archsolve.planning import Design, PlanRequest, plan_network
from archsolve.planning.planner import _Network
from archsolve.planning.rules import Stage, Topology, topology

from .conftest import run_cli, run_cli_split

GIB = 1 << 30


# -- the rules ----------------------------------------------------------------------------------

def _stages(*rows: tuple[tuple[int, ...], tuple[int, ...]]) -> tuple[Stage, ...]:
    return tuple(Stage(pool=p, kernel=k) for p, k in rows)


RULES = [
    # isotropic: every axis halved together down to 4, kernel 3 throughout
    ((32, 32), (1.0, 1.0), _stages(((1, 1), (3, 3)), ((2, 2), (3, 3)), ((2, 2), (3, 3)), ((2, 2), (3, 3)))),
    # 10 mm slices and 1.25 mm pixels: the slice axis waits (kernel 1) until two halvings
    # bring the pixels to 5 mm, within twice its spacing; it is halved once (10 -> 5), then
    # is too short; the plane is halved the most times allowed
    ((10, 320, 320), (10.0, 1.25, 1.25),
     _stages(((1, 1, 1), (1, 3, 3)), ((1, 2, 2), (1, 3, 3)), ((1, 2, 2), (3, 3, 3)), ((2, 2, 2), (3, 3, 3)),
             ((1, 2, 2), (3, 3, 3)), ((1, 2, 2), (3, 3, 3)), ((1, 2, 2), (3, 3, 3)))),
    # exactly twice the finest is halved ("over twice" waits)
    ((16, 16, 16), (2.0, 1.0, 1.0), _stages(((1, 1, 1), (3, 3, 3)), ((2, 2, 2), (3, 3, 3)), ((2, 2, 2), (3, 3, 3)))),
    # an axis too short to halve once, another limited by max_pools
    ((6, 1024), (1.0, 1.0), (Stage((1, 1), (3, 3)),) + tuple(Stage((1, 2), (3, 3)) for _ in range(6))),
    # nothing to halve: one stage
    ((7, 7), (1.0, 1.0), _stages(((1, 1), (3, 3)),)),
]


@pytest.mark.parametrize(("patch", "spacing", "stages"), RULES)
def test_the_rules(patch: tuple[int, ...], spacing: tuple[float, ...], stages: tuple[Stage, ...]) -> None:
    assert topology(patch, spacing, min_feature=4, max_pools=6).stages == stages


# -- the largest patch ----------------------------------------------------------------------------

def _brute(request: PlanRequest) -> tuple[int, ...] | None:
    """Every patch up to the median shape, the rules' network for each, its exact memory: the
    largest that fits (ties: the one closest to the median's proportions, then earlier axes larger)."""
    mf = request.design.min_feature
    best: tuple[tuple[int, float, tuple[int, ...]], tuple[int, ...]] | None = None
    nets: dict[Any, _Network] = {}
    for patch in itertools.product(*[range(mf, m + 1) for m in request.shape]):
        stages = topology(patch, request.spacing, min_feature=mf, max_pools=request.max_pools)
        if any(v % d for v, d in zip(patch, stages.divisor, strict=True)):
            continue
        if stages not in nets:
            nets[stages] = _Network(request, stages)
        if nets[stages].training(patch) > request.memory:
            continue
        rank = (math.prod(patch), min(v / m for v, m in zip(patch, request.shape, strict=True)), patch)
        if best is None or rank > best[0]:
            best = (rank, patch)
    return None if best is None else best[1]


BRUTE = [
    PlanRequest(shape=(40, 48), spacing=(1.0, 1.0), memory=3 << 20, batch=1, design=Design(channels=4, max_channels=16)),
    PlanRequest(shape=(40, 48), spacing=(1.0, 1.0), memory=12 << 20, batch=1, design=Design(channels=4, max_channels=16)),
    PlanRequest(shape=(30, 64), spacing=(3.0, 1.0), memory=5 << 20, batch=2, design=Design(channels=4, max_channels=8)),
    PlanRequest(shape=(9, 20, 24), spacing=(4.0, 1.0, 1.0), memory=8 << 20, batch=1,
                design=Design(channels=4, max_channels=8)),
    PlanRequest(shape=(24, 17, 20), spacing=(1.0, 1.0, 1.5), memory=20 << 20, batch=1,
                design=Design(channels=2, max_channels=8), max_pools=2, dtype=Dtype.FLOAT32),
]


@pytest.mark.parametrize("request_", BRUTE, ids=lambda r: f"{r.shape}@{r.spacing}")
def test_the_patch_is_the_largest_that_fits(request_: PlanRequest) -> None:
    plan = plan_network(request_)
    assert plan.patch == _brute(request_)
    assert plan.memory.training <= request_.memory
    assert all(v % d == 0 for v, d in zip(plan.patch, plan.topology.divisor, strict=True))


@pytest.mark.parametrize("request_", BRUTE[:3], ids=lambda r: f"{r.shape}@{r.spacing}")
def test_a_networks_first_stages_bound_it_from_below(request_: PlanRequest) -> None:
    """The planner skips a room vector whose patches the network of its first stages (one or
    two, then straight back up) cannot fit: the whole network needs at least as much."""
    mf = request_.design.min_feature
    for patch in itertools.product(*[range(mf, m + 1, 4) for m in request_.shape]):
        stages = topology(patch, request_.spacing, min_feature=mf, max_pools=request_.max_pools)
        if any(v % d for v, d in zip(patch, stages.divisor, strict=True)):
            continue
        whole = _Network(request_, stages).training(patch)
        for n in range(1, len(stages.stages)):
            assert _Network(request_, Topology(stages.stages[:n])).training(patch) <= whole, (patch, n)


# -- the command ----------------------------------------------------------------------------------

SMALL = ("plan", "--shape", "12,40,40", "--spacing", "3,1,1", "--memory", "64MiB", "--channels", "4",
         "--max-channels", "16")


def test_writes_the_spec(tmp_path: Path) -> None:
    target = tmp_path / "plan.yaml"
    code, out, err = run_cli_split(*SMALL, "-o", str(target))
    assert code == 0, err
    assert err == f"wrote {target}\n"
    assert out == (
        "plan: 3D U-Net for median shape 12x40x40 at spacing 3x1x1, memory 64.0 MiB (batch 2, float16)\n"
        "patch 12x40x40 (19,200 voxels); sizes the network takes: D = 8 + 2k, H = 32 + 8k, W = 32 + 8k\n"
        "\n"
        "stage  pool   kernel  channels  size\n"
        "0      1x1x1  1x3x3          4  12x40x40\n"
        "1      1x2x2  3x3x3          8  12x20x20\n"
        "2      2x2x2  3x3x3         16  6x10x10\n"
        "3      1x2x2  3x3x3         16  6x5x5\n"
        "\n"
        "memory: training 7.2 MiB of 64.0 MiB (saved for backward 6.8 MiB, weights 109 KiB x 4 with gradients and "
        "Adam); activations 7.3 MiB\n")
    text = target.read_text()
    assert text.startswith("# made by: archsolve plan --shape 12,40,40 --spacing 3,1,1 --memory 64MiB --channels 4 "
                           "--max-channels 16\n")
    assert text == json.loads(run_cli(*SMALL, "--json")[1])["spec"]


def test_the_spec_it_writes_is_a_spec_like_any_other(tmp_path: Path) -> None:
    target = tmp_path / "plan.yaml"
    assert run_cli(*SMALL, "-o", str(target))[0] == 0
    code, out = run_cli("check", str(target), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"]
    plan = json.loads(run_cli(*SMALL, "--json")[1])
    assert doc["input"] == [1, *plan["patch"]]
    assert doc["totals"]["memory"]["training"] == plan["memory"]["training"]
    code, out = run_cli("inputs", str(target), "--json")
    assert code == 0
    axes = json.loads(out)["axes"]
    for name, (start, step) in zip("DHW", [(v["start"], v["step"]) for v in plan["valid"].values()], strict=True):
        assert plan["patch"]["DHW".index(name)] in axes[name]["values"]
        assert all(v >= start and v % step == 0 for v in axes[name]["values"])
    assert run_cli("export", str(target), "-o", str(tmp_path / "plan.py"))[0] == 0


def test_json() -> None:
    code, out = run_cli(*SMALL, "--json")
    doc = json.loads(out)
    assert code == 0
    assert set(doc) == {"patch", "pools", "kernels", "channels", "sizes", "memory", "valid", "spec"}
    assert doc["pools"][0] == [1, 1, 1] and len(doc["pools"]) == len(doc["kernels"]) == len(doc["channels"])
    assert doc["memory"]["training"] <= doc["memory"]["budget"] == 64 << 20
    assert doc["memory"]["batch"] == 2 and doc["memory"]["dtype"] == "float16"
    assert yaml.safe_load(doc["spec"])["input"] == [1, "D", "H", "W"]


REFUSED = [
    (("--spacing", "0,1,1"), 2, "Error: --spacing: D is 0; a voxel spacing must be a positive number"),
    (("--spacing", "1,1"), 2, "Error: --spacing has 2 values and --shape 3; give one spacing per axis"),
    (("--shape", "3,40,40"), 2, "Error: --shape: D is 3, smaller than --min-feature 4; every axis must be at "
                                "least 4 (or lower --min-feature)"),
    (("--memory", "8GB"), 2, "Error: Invalid value for '--memory': '8GB': write a binary unit, 8GiB (KiB, MiB, "
                             "GiB, TiB)."),
    (("--memory", "1.5G"), 2, "Error: Invalid value for '--memory': '1.5G': write a binary unit, 1.5GiB (KiB, "
                              "MiB, GiB, TiB)."),
    (("--memory", "1KiB"), 1, "Error: --memory 1.0 KiB: no patch fits; the smallest the rules allow (4x4x4, "
                              "batch 2, float16) needs 8.0 KiB (8,208 bytes) to train; give --memory 8208 or more, "
                              "or a lower --batch, --channels or --max-channels"),
    (("--min-feature", "1"), 2, "Error: --min-feature is 1; give 2 or more (an instance norm needs more than one "
                                "value per channel to train, and a bottleneck of 1 on every axis has one)"),
    (("--shape", "40"), 2, "Error: --shape has 1 size; give 2 (H,W) or 3 (D,H,W)"),
]


@pytest.mark.parametrize(("change", "code", "message"), REFUSED, ids=lambda v: str(v)[:30])
def test_refusals_say_what_would_work(change: tuple[str, str], code: int, message: str) -> None:
    args = list(SMALL)
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += change
    got, out, err = run_cli_split(*args)
    assert (got, out) == (code, "")
    assert err.splitlines()[-1].replace("archsolve: error: ", "Error: ") == message


def test_the_budget_suggested_fits() -> None:
    """The figure a refusal suggests is one --memory takes, and a plan fits it."""
    code, out, err = run_cli_split("plan", "--shape", "12,40,40", "--spacing", "3,1,1", "--memory", "1KiB")
    suggested = err.split("give --memory ")[1].split(" ")[0]
    assert code == 1 and suggested == "126KiB"
    assert run_cli_split("plan", "--shape", "12,40,40", "--spacing", "3,1,1", "--memory", suggested)[0] == 0


@pytest.mark.parametrize("shape", ["64,64", "9,9,8", "8,8"])
def test_the_smallest_bottleneck_still_trains(shape: str, tmp_path: Path) -> None:
    """--min-feature 2, the least allowed: the written spec checks (every instance norm has
    more than one value per channel)."""
    target = tmp_path / "plan.yaml"
    spacing = ",".join(["1"] * len(shape.split(",")))
    code, _, err = run_cli_split("plan", "--shape", shape, "--spacing", spacing, "--memory", "8GiB",
                                 "--min-feature", "2", "-o", str(target))
    assert code == 0, err
    assert run_cli("check", str(target))[0] == 0


def test_a_huge_shape_ends_in_time() -> None:
    """Each axis's sizes stop at the voxels the budget allows: a 10^11-voxel axis is no list
    of 10^11 sizes."""
    code, out = run_cli("plan", "--shape", "100000000000,100000000000", "--spacing", "1,1", "--memory", "8GiB",
                        "--json", "--timeout", "30")
    assert code == 0
    assert json.loads(out)["memory"]["training"] <= 8 << 30


def test_a_fine_axis_at_max_pools_keeps_a_coarse_one_from_pooling() -> None:
    """As nnU-Net: an axis pooled --max-pools times still sets the finest spacing while it
    could be halved again, so an axis a thousand times coarser is not halved (with its kernel
    of 1 that would skip rows)."""
    plan = plan_network(PlanRequest(shape=(300, 3000), spacing=(1000.0, 1.0), memory=8 * GIB))
    assert plan.topology.pools == (0, 6)
    assert {s.kernel for s in plan.topology.stages} == {(1, 3)}


def test_the_python_api_plans_again_and_again() -> None:
    import archsolve as A
    import archsolve.planning  # noqa: F401 (importing the package must not hide the function)

    first = A.plan((64, 64), (1, 1), "1GiB")
    assert A.plan((64, 64), (1, 1), 1 << 30).patch == first.patch == (64, 64)
    assert A.loads(first.spec_text).check().ok


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"memory": 1.5e9}, "--memory is 1500000000.0; give a whole number from 1 to 1,000,000,000,000"),
    ({"memory": True}, "--memory is True; give a whole number from 1 to 1,000,000,000,000"),
    ({"memory": "8GB"}, "memory '8GB': 8 GB in '8GB': 'GB' is no unit here; write KiB, MiB, GiB or TiB (binary: "
                        "1 GiB = 1024 MiB)"),
    ({"max_pools": -1}, "--max-pools is -1; give a whole number from 0 to 1,000,000,000,000"),
    ({"channels": 0}, "--channels is 0; give a whole number from 1 to 1,000,000,000,000"),
    ({"dtype": "float64"}, "dtype 'float64': give one of float32, float16, bfloat16"),
])
def test_the_python_api_refuses_what_the_command_refuses(kwargs: dict[str, Any], message: str) -> None:
    import archsolve as A
    from archsolve.errors import UsageError

    args = {"memory": "1GiB", **kwargs}
    memory = args.pop("memory")
    with pytest.raises(UsageError) as info:
        A.plan((64, 64), (1, 1), memory, **args)
    assert str(info.value) == message


# -- against PyTorch -------------------------------------------------------------------------------

@pytest.mark.torch
def test_the_written_network_runs_and_keeps_what_plan_counts() -> None:
    torch = pytest.importorskip("torch")
    from archsolve.spec.load import load_text

    from .test_export import _build
    from .test_memory_torch import torch_saved

    plan = plan_network(PlanRequest(shape=(12, 40, 40), spacing=(3.0, 1.0, 1.0), memory=64 << 20,
                                    design=Design(channels=4, max_channels=16), dtype=Dtype.FLOAT32))
    spec = load_text(plan.spec_text)
    model, _ = _build(spec)
    assert torch_saved(model, (1, *plan.patch), plan.request.batch) == plan.memory.saved
    assert sum(p.numel() for p in model.parameters()) * 4 == plan.memory.params
    smaller = tuple(start for start, _ in plan.valid)  # a valid size below the patch: the module is not frozen
    with torch.no_grad():
        for size in [plan.patch, smaller]:
            assert list(model(torch.zeros(1, 1, *size)).shape) == [1, 2, *size]
