"""Default domains that real networks outgrow, and conflicts explained at any size (issue #16).

1. A conv's ``padding: "?"`` ranges over 0..dilation * (kernel - 1): DeepLab's ASPP (3x3
   convs with dilation 6, 12 and 18 keeping their size) solves, by every engine.
2. When the unknowns of a conflict have their default domains (no ``domains:`` entry, no
   var), a relaxation widens the domain: ``{"widen": ["domains.amount"], "domains":
   {"amount": {"min": 0, "max": 512}}}``, as narrow as its solution allows.  A domain the
   user wrote (an override, a var) and a default that is a torch rule (output_padding) are
   not widened.
3. A conflict's arithmetic is the same whatever else the spec holds: a WaveNet's block whose
   pad (0..64) cannot meet its dilation, alone (3 layers) and in a 74-layer WaveNet whose
   other blocks conflict too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from archsolve.solve.api import solve_spec
from archsolve.solve.outcome import Engine, SolveStatus
from archsolve.spec.load import load_text

from .conftest import run_cli, run_cli_split


def solve_json(path: Path) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli_split("solve", str(path), "--json")
    assert code in (0, 1), f"exit {code}: {out}{err}"
    return code, json.loads(out)


# ==========================================================================================
# 1. a dilated "same" conv's padding is in its default domain
# ==========================================================================================

def aspp(size: int) -> str:
    """DeepLabV3's atrous spatial pyramid pooling: a 1x1 conv and three dilated 3x3 convs of
    one input, concatenated, keeping its size."""
    return f"""
name: aspp
input: [32, {size}, {size}]
layers:
  - {{name: b0, op: conv, out: 8, kernel: 1, from: input}}
  - {{name: b1, op: conv, out: 8, kernel: 3, dilation: 6, padding: "?", from: input}}
  - {{name: b2, op: conv, out: 8, kernel: 3, dilation: 12, padding: "?", from: input}}
  - {{name: b3, op: conv, out: 8, kernel: 3, dilation: 18, padding: "?", from: input}}
  - {{name: cat, op: concat, from: [b0, b1, b2, b3]}}
constraints:
  - cat.shape == [32, {size}, {size}]
"""


@pytest.mark.parametrize("size", [32, 65])
@pytest.mark.parametrize("engine", list(Engine))
def test_aspp_solves_with_the_padding_its_dilation_needs(size: int, engine: Engine) -> None:
    result = solve_spec(load_text(aspp(size)), engine=engine)
    assert (result.status, result.optimal) == (SolveStatus.SAT, True)
    assert result.solutions[0].values == {"b1.padding": 6, "b2.padding": 12, "b3.padding": 18}


# ==========================================================================================
# 2. widening a default domain
# ==========================================================================================

WIDEN = [
    # a causal pad before a dilation-512 conv must be 512 (WaveNet)
    ("pad-amount", """
input: [16, 4000]
layers:
  - {name: pad, op: pad, amount: [["?", 0]]}
  - {name: filter, op: conv, out: 16, kernel: 2, dilation: 512}
  - {name: out, op: add, from: [input, filter]}
""", {"widen": ["domains.amount"], "was": {"amount": "0..64"}, "domains": {"amount": {"min": 0, "max": 512}},
      "values": {"pad.amount[0][0]": 512},
      "message": "it solves with domains: {amount: {min: 0, max: 512}} added (widening amount's default domain "
                 "0..64): pad.amount[0][0] = 512"}),
    # 8 -> 60 with stride 1 (an override the user wrote, not widened): kernel 53
    ("kernel-beside-an-override", """
input: [1, 8]
domains: {stride: {min: 1, max: 1}}
layers:
  - {name: up, op: deconv, out: 1, kernel: "?", stride: "?"}
constraints: [up.L == 60]
""", {"widen": ["domains.kernel"], "was": {"kernel": "1..11"}, "domains": {"kernel": {"min": 1, "max": 53}},
      "values": {"up.kernel": 53, "up.stride": 1},
      "message": "it solves with domains: {kernel: {min: 1, max: 53}} added (widening kernel's default domain "
                 "1..11): up.kernel = 53, up.stride = 1"}),
    # a conv growing 8 to 12 pads 3 on each side, past kernel - 1
    ("dependent-padding", """
input: [1, 8]
layers:
  - {name: c, op: conv, out: 1, kernel: 3, padding: "?"}
constraints: [c.L == 12]
""", {"widen": ["domains.padding"], "was": {"padding": "0..dilation * (kernel - 1)"},
      "domains": {"padding": {"min": 0, "max": 3}}, "values": {"c.padding": 3},
      "message": "it solves with domains: {padding: {min: 0, max: 3}} added (widening padding's default domain "
                 "0..dilation * (kernel - 1)): c.padding = 3"}),
    # output_padding's default is the torch rule: widening it cannot help, so nothing is offered
    ("torch-rule", """
input: [1, 8]
layers:
  - {name: up, op: deconv, out: 1, kernel: 2, stride: 2, output_padding: "?"}
constraints: [up.L == 19]
""", None),
    # a var's domain is the user's, not a default
    ("var-domain", """
input: [1, 8]
vars: {k: {min: 1, max: 11}}
layers:
  - {name: up, op: deconv, out: 1, kernel: k}
constraints: [up.L == 60]
""", None),
]


@pytest.mark.parametrize(("text", "widened"), [c[1:] for c in WIDEN], ids=[c[0] for c in WIDEN])
def test_a_conflict_offers_widening_a_default_domain(spec_file, text: str, widened: dict[str, Any] | None) -> None:
    path = spec_file(text)
    code, doc = solve_json(path)
    assert (code, doc["status"]) == (1, "unsat")
    offers = [r for r in doc["conflict"]["relaxations"] if "widen" in r]
    assert offers == ([widened] if widened else [])
    if widened is None:
        return
    # the edit as offered solves, with the values offered
    data = yaml.safe_load(text)
    data.setdefault("domains", {}).update(widened["domains"])
    code, doc = solve_json(spec_file(data, "widened.yaml"))
    assert (code, doc["solutions"][0]["values"]) == (0, widened["values"])
    # and the text output has the same line
    code, out = run_cli("solve", str(path))
    assert "  " + widened["message"] in out.splitlines()


# ==========================================================================================
# 3. the same conflict, explained alike in a small spec and a big one
# ==========================================================================================

def wavenet(blocks: int) -> dict[str, Any]:
    """A WaveNet: residual blocks of a causal pad (its amount "?", default 0..64), a kernel-2
    conv of dilation 1, 2, 4, ..., 512 (repeated) and an add.  ``blocks=1``: the block ``l7``
    alone (dilation 128), 3 layers; ``blocks=24``: with a stem and a head, 74 layers, in which
    every block of dilation 128 or more conflicts."""
    block = {"params": {"d": None}, "layers": [
        {"name": "pad", "op": "pad", "amount": [["?", 0]]},
        {"name": "filter", "op": "conv", "out": 16, "kernel": 2, "dilation": "d"},
        {"name": "out", "op": "add", "from": ["in", "filter"]},
    ]}
    if blocks == 1:
        return {"input": [16, 4000], "blocks": {"res": block}, "layers": [{"name": "l7", "block": "res", "d": 128}]}
    calls = [{"name": f"l{i}", "block": "res", "d": 2 ** (i % 10)} for i in range(blocks)]
    return {"input": [1, 4000], "blocks": {"res": block},
            "layers": [{"name": "stem", "op": "conv", "out": 16, "kernel": 1}, *calls,
                       {"name": "head", "op": "conv", "out": 256, "kernel": 1}]}


# the same words but for what l7 reads: the input, or the block before it
CONFLICT = ("l7/pad, l7/filter and l7/out cannot all be valid together; from 4000 at l7/pad's input, with amount "
            "0..64, l7/out joins {before} at 4000 and l7/filter at 3872..3936; relaxing any one of them may help")


@pytest.mark.parametrize(("blocks", "layers", "before", "widened"), [
    (1, 3, "input", "{amount: {min: 0, max: 128}} added (widening amount's default domain 0..64): "
                    "l7/pad.amount[0][0] = 128"),
    # every block of dilation 128 or more conflicts: the widening is for all of them
    (24, 74, "l6", "{amount: {min: 0, max: 512}} added (widening amount's default domain 0..64): "
                   "l19/pad.amount[0][0] = 512, l7/pad.amount[0][0] = 128"),
], ids=["3-layers", "74-layers"])
def test_a_conflict_is_explained_alike_whatever_the_spec_size(spec_file, blocks: int, layers: int, before: str,
                                                              widened: str) -> None:
    spec = load_text(yaml.safe_dump(wavenet(blocks), sort_keys=False))
    assert len(spec.layers) == layers
    code, doc = solve_json(spec_file(wavenet(blocks)))
    assert code == 1
    conflict = doc["conflict"]
    assert (conflict["layers"], conflict["constraints"]) == (["l7/pad", "l7/filter", "l7/out"], [])
    assert conflict["message"] == CONFLICT.format(before=before)
    assert conflict["relaxations"][0]["message"] == "it solves with domains: " + widened
