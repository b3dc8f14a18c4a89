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

from archsolve import repair as repair_module
from archsolve.check import check_spec
from archsolve.spec import load_text

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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
