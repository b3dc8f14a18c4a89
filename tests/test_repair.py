"""Minimal repairs: break a valid U-Net in one place; `check` must offer a verified repair
of at most one change, and applying any offered repair must check clean."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsolve.check import repair as repair_module
from archsolve.check.api import check_spec
from archsolve.spec.load import load_text

from .conftest import examples

UNET = {
    "input": [1, 64, 64],
    "blocks": {"dc": {"params": {"c": None}, "layers": [
        {"name": "a", "op": "conv", "out": "c", "kernel": 3, "padding": 1},
        {"name": "b", "op": "conv", "out": "c", "kernel": 3, "padding": 1}]}},
    "layers": [
        {"name": "enc1", "block": "dc", "c": 4},
        {"name": "pool1", "op": "maxpool", "kernel": 2},
        {"name": "enc2", "block": "dc", "c": 8},
        {"name": "pool2", "op": "maxpool", "kernel": 2},
        {"name": "mid", "block": "dc", "c": 16},
        {"name": "up2", "op": "deconv", "out": 8, "kernel": 2, "stride": 2},
        {"name": "cat2", "op": "concat", "from": ["enc2", "up2"]},
        {"name": "dec2", "block": "dc", "c": 8},
        {"name": "up1", "op": "deconv", "out": 4, "kernel": 2, "stride": 2},
        {"name": "cat1", "op": "concat", "from": ["enc1", "up1"]},
        {"name": "head", "op": "conv", "out": 2, "kernel": 1},
    ],
}
# (layer index, field): the hyperparameters a perturbation may touch
PLACES = [(1, "kernel"), (3, "kernel"), (5, "kernel"), (5, "stride"), (8, "kernel"), (8, "stride"),
          (10, "kernel")]


def _apply(spec: dict[str, Any], changes: dict[str, int]) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    names = {lay.get("name"): lay for lay in out["layers"]}
    for name, value in changes.items():
        base, _, field = name.rpartition(".")
        if base == "input":
            out["input"][{"H": 1, "W": 2}[field]] = value
        else:
            names[base][field] = value
    return out


@pytest.fixture(autouse=True, scope="module")
def _enough_time():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(repair_module, "REPAIR_SECONDS", 10.0)  # a slow CI machine must not change the answer
        yield


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(PLACES), st.integers(1, 5))
def test_one_perturbation_gets_a_repair_of_at_most_one_change(place: tuple[int, str], value: int) -> None:
    i, field = place
    broken = copy.deepcopy(UNET)
    if broken["layers"][i][field] == value:
        return
    broken["layers"][i][field] = value
    report = check_spec(load_text(yaml.safe_dump(broken, sort_keys=False)))
    if report.ok:
        return  # some perturbations keep the network valid
    assert report.repairs, [p.message for p in report.problems]
    assert len(report.repairs[0]["changes"]) == 1  # undoing the perturbation is one change
    for r in report.repairs:
        fixed = _apply(broken, r["changes"])
        assert check_spec(load_text(yaml.safe_dump(fixed, sort_keys=False)), repairs=False).ok, r


def test_repairs_are_only_for_invalid_networks(tmp_path: Path) -> None:
    report = check_spec(load_text(yaml.safe_dump(UNET, sort_keys=False)))
    assert report.ok and report.repairs == []


REPAIR_CASES = [
    # a padding moved with its kernel keeps within the new kernel's domain (0..kernel - 1):
    # {kernel: 3, padding: 4} makes 12 but is out of domain; {kernel: 7, padding: 6} is not
    ("pair-in-domain", """
input: [4, 12, 12]
layers:
  - {name: c, op: conv, out: 4, kernel: 5, padding: 0, from: input}
  - {name: p, op: pad, amount: 3, from: input}
  - {name: m, op: add, from: [p, c]}
""", [{"c.kernel": 7, "c.padding": 6}]),
    # a dilated conv's padding ranges over 0..dilation * (kernel - 1): the "same" padding 6
    # of a 3x3 conv with dilation 6 (DeepLab's ASPP) is a repair
    ("dilated-padding", """
input: [8, 32, 32]
layers:
  - {name: b, op: conv, out: 8, kernel: 3, dilation: 6, padding: 1, from: input}
  - {name: m, op: add, from: [b, input]}
""", [{"b.padding": 6}, {"b.dilation": 1}]),
    # the other branch's channel count, far from the nearest values
    ("channels-of-the-other-branch", """
input: [16, 32, 32]
layers:
  - {name: c1, op: conv, out: 32, kernel: 3, padding: 1}
  - {name: c2, op: conv, out: 64, kernel: 3, padding: 1}
  - {name: add, op: add, from: [c2, c1]}
""", [{"c1.out": 64}, {"c2.out": 32}]),
    # one axis of a non-square input is off by itself
    # one axis of a non-square input is off by itself: 60 -> 30 -> 15 -> 7 -> 14 -> 28
    ("one-input-axis", """
input: [1, 64, 60]
layers:
  - {name: a, op: conv, out: 2, kernel: 3, padding: 1}
  - {name: p, op: maxpool, kernel: 2}
  - {name: p2, op: maxpool, kernel: 2}
  - {name: p3, op: maxpool, kernel: 2}
  - {name: up, op: deconv, out: 2, kernel: 2, stride: 2}
  - {name: up2, op: deconv, out: 2, kernel: 2, stride: 2}
  - {name: cat, op: concat, from: [p, up2]}
""", [{"p.kernel": 1}, {"input.W": 57}, {"input.W": 64}]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in REPAIR_CASES], ids=[c[0] for c in REPAIR_CASES])
def test_repairs_found_beyond_the_nearest_values(text: str, expected: list[dict[str, int]] | None) -> None:
    report = check_spec(load_text(text))
    assert not report.ok
    got = [r["changes"] for r in report.repairs]
    if expected is not None:
        assert got == expected
    assert got, [p.message for p in report.problems]
    for changes in got:  # each offered repair checks clean
        data = yaml.safe_load(text)
        for name, value in changes.items():
            base, _, field = name.rpartition(".")
            if base == "input":
                data["input"][{"H": 1, "W": 2}[field]] = value
            else:
                next(lay for lay in data["layers"] if lay["name"] == base)[field] = value
        assert check_spec(load_text(yaml.safe_dump(data, sort_keys=False)), repairs=False).ok, changes


def test_a_block_definition_value_is_near_its_callers_trouble() -> None:
    text = """
input: [8, 16, 16]
blocks:
  res:
    layers:
      - {name: a, op: conv, out: 8, kernel: 3, padding: 0}
      - {name: sum, op: add, from: [in, a]}
layers:
  - {name: r1, block: res}
  - {name: r2, block: res}
"""
    report = check_spec(load_text(text))
    assert {"block:res/a.padding": 1} in [r["changes"] for r in report.repairs]


def test_a_padding_follows_a_dilation_given_as_a_var() -> None:
    """The padding's domain 0..dilation * (kernel - 1) is worked out with the var's value."""
    text = """
input: [8, 32, 32]
vars: {d: {min: 1, max: 20}}
layers:
  - {name: b, op: conv, out: 8, kernel: 3, dilation: d, padding: 1, from: input}
  - {name: m, op: add, from: [b, input]}
"""
    report = check_spec(load_text(text), given={"d": 12})
    assert [r["changes"] for r in report.repairs] == [{"b.padding": 12}]
