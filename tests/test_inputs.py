"""`archsolve inputs`: valid input sizes, patterns, nearest sizes; cross-checked by a plain loop."""

from __future__ import annotations

import json

import pytest

from archsolve.errors import SpecError
from archsolve.graph import build_network
from archsolve.propagate import propagate
from archsolve.spec import load_spec

from .conftest import SPECS, run_cli, run_cli_split


def inputs_json(*args: str) -> dict:
    code, out, err = run_cli_split("inputs", *args, "--json")
    assert code == 0, out + err
    return json.loads(out)


def plain_loop(path: str, name: str, lo: int, hi: int, others: dict[str, int] | None = None) -> list[int]:
    """What a user would write: run check's propagation for every size."""
    net = build_network(load_spec(path))
    ok = []
    for v in range(lo, hi + 1):
        try:
            if propagate(net, {**(others or {}), name: v}, receptive_fields=False).ok:
                ok.append(v)
        except SpecError:
            pass
    return ok


def test_original_unet_accepts_188_plus_16k() -> None:
    doc = inputs_json(str(SPECS / "unet-original-sizes.yaml"), "--near", "500")
    h = doc["axes"]["H"]
    assert h["pattern"] == {"start": 188, "step": 16}
    assert h["values"] == list(range(188, 1025, 16)) and len(h["values"]) == 53
    assert h["nearest"] == [492, 508]
    assert h["values"] == plain_loop(str(SPECS / "unet-original-sizes.yaml"), "H", 1, 1024)


def test_padded_unet_accepts_multiples_of_16_on_each_axis() -> None:
    doc = inputs_json(str(SPECS / "unet-padded-sizes.yaml"), "--range", "1..300", "--near", "572")
    for axis in ("H", "W"):
        assert doc["axes"][axis]["values"] == list(range(16, 301, 16))
        assert doc["axes"][axis]["pattern"] == {"start": 16, "step": 16}
        assert doc["axes"][axis]["nearest"] == [288]  # the largest in range
    code, out = run_cli("inputs", str(SPECS / "unet-padded-sizes.yaml"), "--axis", "W", "--near", "572")
    assert code == 0
    assert "W: 256 valid value(s) in 1..4096: 16k (k >= 1)" in out and "nearest to 572: 576" in out


def test_not_one_progression_gives_a_union(spec_file) -> None:
    path = spec_file("""
input: [1, H]
vars: {H: {min: 1, max: 40}}
exact: true
layers:
  - {name: p, op: maxpool, kernel: 2}
constraints:
  - "H % 6 == 0 or H % 6 == 2"
""")
    doc = inputs_json(str(path))
    h = doc["axes"]["H"]
    assert h["values"] == plain_loop(str(path), "H", 1, 40) == [2, 6, 8, 12, 14, 18, 20, 24, 26, 30, 32, 36, 38]
    assert h["pattern"] is None
    assert h["progressions"] == [{"start": 2, "step": 6}, {"start": 6, "step": 6}]
    code, out = run_cli("inputs", str(path))
    assert "13 valid value(s) in 1..40: 2 + 6k or 6 + 6k" in out


def test_tied_vars_follow(spec_file) -> None:
    path = spec_file("""
input: [1, H, W]
vars: {H: {min: 1, max: 100}, W: H * 2}
exact: true
layers:
  - {name: p, op: maxpool, kernel: [2, 4]}
""")
    doc = inputs_json(str(path))
    assert list(doc["axes"]) == ["H"]
    assert doc["axes"]["H"]["values"] == list(range(2, 101, 2))


@pytest.mark.parametrize(
    ("spec", "args", "message"),
    [
        ("input: [1, 8]\nlayers: [{op: relu}]\n", (), "the input has no size variable"),
        ("input: [1, H]\nvars: {H: {min: 1, max: 9}}\nlayers: [{op: relu}]\n", ("--range", "9..3"),
         "the range is empty"),
        ("input: [1, H]\nvars: {H: {min: 1, max: 9}}\nlayers: [{op: relu}]\n", ("--range", "1..99"),
         "goes past the domain of H (1..9)"),
        ("input: [1, H]\nvars: {H: {min: 1, max: 9}}\nlayers: [{op: relu}]\n", ("--range", "a..b"),
         "expected LO..HI"),
        ("input: [1, H]\nvars: {H: {min: 1, max: 9}}\nlayers: [{op: relu}]\n", ("--axis", "W"),
         "not an input size variable"),
    ],
    ids=["no-var", "empty-range", "past-domain", "bad-range", "bad-axis"],
)
def test_bad_usage_exits_2(spec_file, spec: str, args: tuple[str, ...], message: str) -> None:
    path = spec_file(spec)
    code, out = run_cli("inputs", str(path), *args)
    assert code == 2 and message in out and "Traceback" not in out
