"""`archsolve check`: rows, totals, problems with arithmetic, fixes, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import SPECS, check_json, run_cli, run_cli_split

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted(p.name for p in SPECS.glob("*.yaml") if '"?"' not in p.read_text())


def _row(doc: dict, name: str) -> dict:
    return next(r for r in doc["layers"] if r["name"] == name)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ARCHSOLVE_REGEN") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"output differs from {path} (ARCHSOLVE_REGEN=1 to accept)"


@pytest.mark.parametrize("spec", EXAMPLES)
def test_examples_match_golden_text(spec: str) -> None:
    code, out = run_cli("check", str(SPECS / spec))
    assert code == (1 if "mismatch" in spec else 0), out
    _golden(f"check/{spec.replace('.yaml', '.txt')}", out)


def test_unet_original_json_matches_contract_example() -> None:
    code, doc = check_json(SPECS / "unet-original.yaml")
    assert code == 0 and doc["ok"] is True
    assert doc["input"] == [1, 572, 572]
    assert doc["output"] == [2, 388, 388]
    assert doc["totals"] == {"params": 31030658, "macs": 150428424448, "memory": {
        "activations": 1265770624, "params": 124122632, "saved": 727380032, "training": 1223870560}}
    assert doc["memory_at"] == {"batch": 1, "dtype": "float32"}
    assert _row(doc, "enc1") == {"name": "enc1", "op": "block:double_conv", "depth": 0, "from": ["input"],
                                 "shape": [64, 568, 568], "params": 37568, "macs": 12080353536, "rf": [5, 5],
                                 "memory": 64 * 568 * 568 * 4}
    first = doc["layers"][1]
    assert first == {"name": "enc1/conv1", "op": "conv", "depth": 1, "from": ["input"], "shape": [64, 570, 570],
                     "params": 640, "macs": 187142400, "rf": [3, 3], "memory": 64 * 570 * 570 * 4}
    assert "repairs" not in doc
    _golden("check/unet-original.json", json.dumps(doc, indent=1) + "\n")


def test_every_layer_has_a_row_in_graph_order() -> None:
    _, doc = check_json(SPECS / "unet-original.yaml")
    names = [r["name"] for r in doc["layers"]]
    assert len(names) == len(set(names))
    seen = {"input"}
    for r in doc["layers"]:
        # every layer (and block call) reads only what an earlier row produced
        assert set(r["from"]) <= seen, (r["name"], r["from"])
        seen.add(r["name"])


PADDED_572 = """
input: [1, 572, 572]
blocks:
  dc:
    params: {c: null}
    layers:
      - {name: a, op: conv, out: c, kernel: 3, padding: 1}
      - {name: b, op: conv, out: c, kernel: 3, padding: 1}
layers:
  - {name: enc1, block: dc, c: 8}
  - {name: pool1, op: maxpool, kernel: 2}
  - {name: enc2, block: dc, c: 16}
  - {name: pool2, op: maxpool, kernel: 2}
  - {name: enc3, block: dc, c: 32}
  - {name: pool3, op: maxpool, kernel: 2}
  - {name: enc4, block: dc, c: 64}
  - {name: pool4, op: maxpool, kernel: 2}
  - {name: mid, block: dc, c: 128}
  - {name: up4, op: deconv, out: 64, kernel: 2, stride: 2}
  - {name: cat4, op: concat, from: [enc4, up4]}
  - {name: dec4, block: dc, c: 64}
  - {name: up3, op: deconv, out: 32, kernel: 2, stride: 2}
  - {name: cat3, op: concat, from: [enc3, up3]}
  - {name: dec3, block: dc, c: 32}
  - {name: up2, op: deconv, out: 16, kernel: 2, stride: 2}
  - {name: cat2, op: concat, from: [enc2, up2]}
  - {name: dec2, block: dc, c: 16}
  - {name: up1, op: deconv, out: 8, kernel: 2, stride: 2}
  - {name: cat1, op: concat, from: [enc1, up1]}
  - {name: head, op: conv, out: 2, kernel: 1}
"""


def test_padded_unet_at_572_names_the_deepest_merge_with_arithmetic(spec_file) -> None:
    code, doc = check_json(spec_file(PADDED_572))
    assert code == 1 and doc["ok"] is False
    cat4 = next(p for p in doc["problems"] if p["layer"] == "cat4")
    assert cat4["kind"] == "mismatch" and cat4["severity"] == "error"
    assert cat4["message"] == ("enc4 gives 71x71 but up4 gives 70x70 "
                               "(71 = floor((143 - 2) / 2) + 1 at pool3; 70 = (35 - 1) * 2 + 2 at up4; "
                               "the branches part at enc4 (71x71): enc4 unchanged, up4 by pool4 -> 35x35 then up4 "
                               "-> 70x70)")
    fixes = "\n".join(cat4["fixes"])
    assert "use input size 560x560 or 576x576 instead of 572x572" in fixes
    assert "set up4.output_padding to 1" in fixes
    assert ("add {name: enc4_crop, op: crop, from: enc4, like: up4} before cat4 and read enc4_crop in cat4's from "
            "instead of enc4") in fixes
    # no single edit fixes every level; moving the square input is the smallest repair
    assert doc["repairs"][:2] == [
        {"changes": {"input.H": 560, "input.W": 560}, "message": "change input.H from 572 to 560; "
                                                                  "change input.W from 572 to 560"},
        {"changes": {"input.H": 576, "input.W": 576}, "message": "change input.H from 572 to 576; "
                                                                  "change input.W from 572 to 576"}]


def test_problems_do_not_stop_propagation(spec_file) -> None:
    """Two independent errors are both reported, and rows after them still have shapes."""
    code, doc = check_json(spec_file("""
input: [3, 16, 16]
layers:
  - {name: a, op: deconv, out: 4, kernel: 3, stride: 2, output_padding: 2}
  - {name: b, op: maxpool, kernel: 2, padding: 2}
  - {name: c, op: conv, out: 5, kernel: 3, groups: 2}
  - {name: d, op: relu}
"""))
    assert code == 1
    kinds = {(p["layer"], p["kind"]) for p in doc["problems"] if p["severity"] == "error"}
    assert kinds == {("a", "output-padding"), ("b", "pool-padding"), ("c", "groups")}
    assert _row(doc, "d")["shape"] == [5, 17, 17]


def test_fatal_problem_leaves_later_shapes_unknown(spec_file) -> None:
    code, doc = check_json(spec_file("""
input: [3, 4, 4]
layers:
  - {name: big, op: conv, out: 8, kernel: 7}
  - {name: after, op: relu}
"""))
    assert code == 1
    (p,) = doc["problems"]
    assert p["layer"] == "big" and p["kind"] == "kernel-fits"
    assert p["message"] == "kernel 7 but the padded input on axis H is only 4 (4 + 0 + 0)"
    assert p["fixes"][0] == "set big.padding to at least 2, or big.kernel to at most 4"
    assert _row(doc, "big")["shape"] is None and _row(doc, "after")["shape"] is None
    assert doc["output"] is None


@pytest.mark.parametrize(
    ("layer", "kind", "message"),
    [
        ("{op: conv, out: 4, kernel: 3, stride: 2, padding: same}", "same-stride",
         "padding 'same' needs stride 1"),
        ("{op: deconv, out: 4, kernel: 3, stride: 2, output_padding: 2}", "output-padding",
         "output_padding 2 on axis H must be smaller than stride 2 or dilation 1"),
        ("{op: maxpool, kernel: 3, padding: 2}", "pool-padding",
         "pool padding 2 on axis H is more than half the kernel 3"),
        ("{op: conv, out: 6, kernel: 1, groups: 4}", "groups", "6 input channels are not divisible by groups=4"),
        ("{op: groupnorm, groups: 4}", "groups", "6 channels are not divisible by groups=4"),
        ("{op: pixel_shuffle, factor: 2}", "pixel-shuffle", "6 channels are not divisible by factor² = 2² = 4"),
        ("{op: crop, amount: 4}", "size", "cropping 4 + 4 pixels from 8 on axis H leaves 0"),
        ("{op: deconv, out: 2, kernel: 1, padding: 4}", "size", "output size on axis H is 0"),
        ("{op: maxpool, kernel: 9}", "size", "does not fit the input size 8"),
    ],
    ids=["same-stride", "output-padding", "pool-padding", "conv-groups", "groupnorm-groups", "pixel-shuffle",
         "crop-too-much", "deconv-size", "pool-too-big"],
)
def test_each_torch_validity_rule_names_the_layer(spec_file, layer: str, kind: str, message: str) -> None:
    code, doc = check_json(spec_file(f"input: [6, 8, 8]\nlayers:\n  - {{name: bad, {layer[1:]}\n"))
    assert code == 1
    errors = [p for p in doc["problems"] if p["severity"] == "error"]
    assert errors and errors[0]["layer"] == "bad" and errors[0]["kind"] == kind
    assert message in errors[0]["message"]


def test_add_channel_mismatch(spec_file) -> None:
    code, doc = check_json(spec_file("""
input: [4, 8, 8]
layers:
  - {name: a, op: conv, out: 8, kernel: 1}
  - {name: sum, op: add, from: [a, input]}
"""))
    assert code == 1
    (p,) = doc["problems"]
    assert p["message"].startswith("a gives [8, 8, 8] but input gives [4, 8, 8]")


@pytest.mark.parametrize(("layers", "layer", "message"), [
    ("[{name: flat, op: flatten}, {name: id, op: identity, from: input}, {name: cat, op: concat, from: [flat, id]}]",
     "cat", "flat gives [24] but id gives [6, 4]: not the same number of dimensions"),
    ("[{name: id, op: identity}, {name: flat, op: flatten, from: input}, {name: cat, op: concat, from: [id, flat]}]",
     "cat", "id gives [6, 4] but flat gives [24]: not the same number of dimensions"),
    ("[{name: flat, op: flatten}, {name: id, op: identity, from: input}, {name: sum, op: add, from: [flat, id]}]",
     "sum", "flat gives [24] but id gives [6, 4]: not the same number of dimensions"),
    ("[{name: flat, op: flatten}, {name: c, op: crop, from: input, like: flat}]",
     "c", "crop takes its size from flat, which gives [24]: not a [C, L] shape like [6, 4]"),
], ids=["concat-flat-first", "concat-flat-second", "add", "crop-like-flat"])
def test_merging_a_flat_layer_with_a_spatial_one_is_an_error(spec_file, layers: str, layer: str,
                                                            message: str) -> None:
    # torch.cat: "Tensors must have same number of dimensions"; a crop cannot take a flat size
    code, doc = check_json(spec_file(f"input: [6, 4]\nlayers: {layers}\n"))
    assert code == 1
    (p,) = doc["problems"]
    assert (p["layer"], p["kind"], p["message"]) == (layer, "rank", message)
    assert doc["output"] is None


def test_flat_layers_concatenate_along_their_only_axis(spec_file) -> None:
    code, doc = check_json(spec_file("""
input: [6, 4]
layers:
  - {name: a, op: flatten}
  - {name: b, op: flatten, from: input}
  - {name: cat, op: concat, from: [a, b]}
"""))
    assert code == 0 and doc["output"] == [48]


def test_exact_turns_drops_into_errors(spec_file) -> None:
    text = "input: [1, 9, 9]\n{exact}layers:\n  - {{name: p, op: maxpool, kernel: 2}}\n"
    code, doc = check_json(spec_file(text.format(exact="")))
    assert code == 0 and doc["problems"][0]["severity"] == "warning"
    code, doc = check_json(spec_file(text.format(exact="exact: true\n")))
    assert code == 1 and doc["problems"][0]["kind"] == "exact"


def test_odd_crop_is_a_warning_naming_the_side(spec_file) -> None:
    code, doc = check_json(spec_file("""
input: [1, 9, 9]
layers:
  - {name: small, op: conv, out: 1, kernel: 4}
  - {name: c, op: crop, like: small, from: input}
"""))
    assert code == 0
    (p,) = [p for p in doc["problems"] if p["layer"] == "c"]
    assert p["severity"] == "warning"
    assert "removes 3 pixels, an odd number: 1 before and 2 after (the extra pixel comes off the end)" in p["message"]
    assert _row(doc, "c")["shape"] == [1, 6, 6]


def test_constraints_are_checked(spec_file) -> None:
    code, doc = check_json(spec_file("""
input: [3, 32, 32]
layers:
  - {name: c1, op: conv, out: 8, kernel: 3}
constraints:
  - c1.shape == [8, 32, 32]
  - params < 1000
"""))
    assert code == 1
    (p,) = doc["problems"]
    assert p["kind"] == "constraint"
    assert p["message"] == "c1.shape == [8, 32, 32] does not hold: c1.shape = [8, 30, 30]"


def test_vars_take_their_smallest_valid_value(spec_file) -> None:
    path = spec_file("""
input: [1, H, W]
vars: {H: {min: 1, max: 64}, W: H}
exact: true
layers:
  - {name: c, op: conv, out: 1, kernel: 3}
  - {name: p, op: maxpool, kernel: 2}
""")
    code, doc = check_json(path)
    assert code == 0 and doc["input"] == [1, 4, 4]
    assert doc["notes"] == ["checked at H = 4, the smallest valid value in 1..64 (--set H=N checks another)"]
    code, out = run_cli("check", str(path), "--set", "H=5")
    assert code == 1 and ("  error: p: pool drops real pixels that no window reads (1 on H, 1 on W): on H the last "
                          "position read is 1, of 0..2; on W the last position read is 1, of 0..2 (exact: true "
                          "requires every real pixel to be read)\n") in out, out


def test_unknowns_are_for_solve(spec_file) -> None:
    path = spec_file("input: [1, 8]\nlayers:\n  - {name: c, op: conv, out: 2, kernel: '?'}\n")
    code, out = run_cli("check", str(path))
    assert code == 2
    assert "1 unknown value(s) ('?'): c.kernel; 'archsolve solve" in out
    code, out, _ = run_cli_split("check", str(path), "--set", "c.kernel=3", "--json")
    assert code == 0 and json.loads(out)["output"] == [2, 6]


def test_repeat_rows(spec_file) -> None:
    code, doc = check_json(spec_file("""
input: [2, 16]
blocks:
  res:
    params: {c: 2}
    layers:
      - {name: a, op: conv, out: c, kernel: 3, padding: 1}
      - {name: s, op: add, from: [in, a]}
layers:
  - {name: stack, block: res, repeat: 2}
  - {name: c, op: conv, out: 2, kernel: 3, repeat: 3}
"""))
    assert code == 0
    got = [(r["name"], r["op"], r["depth"]) for r in doc["layers"]]
    assert got == [
        ("stack", "block:res", 0), ("stack/0", "block:res", 1), ("stack/0/a", "conv", 2), ("stack/0/s", "add", 2),
        ("stack/1", "block:res", 1), ("stack/1/a", "conv", 2), ("stack/1/s", "add", 2),
        ("c", "repeat:conv", 0), ("c/0", "conv", 1), ("c/1", "conv", 1), ("c/2", "conv", 1),
    ]
    assert _row(doc, "stack/1/s")["from"] == ["stack/0", "stack/1/a"]
    assert _row(doc, "stack")["params"] == 2 * (2 * 2 * 3 + 2)
    assert _row(doc, "c")["shape"] == [2, 10]
    assert doc["totals"]["params"] == 5 * (2 * 2 * 3 + 2)


@pytest.mark.parametrize(
    ("layers", "rf"),
    [
        ("[{op: conv, out: 1, kernel: 3}, {op: conv, out: 1, kernel: 3}]", [5]),
        ("[{op: conv, out: 1, kernel: 3, dilation: 2}]", [5]),
        ("[{op: conv, out: 1, kernel: 3, stride: 2}, {op: conv, out: 1, kernel: 3}]", [7]),
        ("[{op: maxpool, kernel: 2}, {op: conv, out: 1, kernel: 3}]", [6]),
        ("[{op: conv, out: 1, kernel: 1}]", [1]),
        ("[{op: maxpool, kernel: 2}, {op: deconv, out: 1, kernel: 2, stride: 2}]", [2]),
        ("[{op: adaptive_avgpool, size: 1}]", [40]),
    ],
    ids=["two-3x3", "dilated", "strided", "pool-then-conv", "1x1", "pool-deconv", "global-pool"],
)
def test_receptive_field(spec_file, layers: str, rf: list[int]) -> None:
    code, doc = check_json(spec_file(f"input: [1, 40]\nlayers: {layers}\n"))
    assert doc["layers"][-1]["rf"] == rf


def test_receptive_field_of_a_merge_is_the_union(spec_file) -> None:
    _, doc = check_json(spec_file("""
input: [1, 32]
layers:
  - {name: wide, op: conv, out: 1, kernel: 5, padding: 2}
  - {name: narrow, op: conv, out: 1, kernel: 1, from: input}
  - {name: sum, op: add, from: [wide, narrow]}
"""))
    assert _row(doc, "sum")["rf"] == [5]


def test_text_output_lists_problems_and_fixes(spec_file) -> None:
    code, out = run_cli("check", str(spec_file(PADDED_572)))
    assert code == 1
    assert "error: cat4: enc4 gives 71x71 but up4 gives 70x70" in out
    assert "    fix: set up4.output_padding to 1" in out
    assert out.rstrip().endswith("INVALID: 2 error(s), 2 warning(s)")
    assert "Traceback" not in out


UPCONV_K3 = """
input: [1, 64, 64]
blocks:
  dc:
    params: {c: null}
    layers: [{name: a, op: conv, out: c, kernel: 3, padding: 1}]
layers:
  - {name: enc1, block: dc, c: 8}
  - {name: pool1, op: maxpool, kernel: 2}
  - {name: enc2, block: dc, c: 16}
  - {name: pool2, op: maxpool, kernel: 2}
  - {name: mid, block: dc, c: 32}
  - {name: up2, op: deconv, out: 16, kernel: 3, stride: 2}
  - {name: cat2, op: concat, from: [enc2, up2]}
  - {name: up1, op: deconv, out: 8, kernel: 2, stride: 2}
  - {name: cat1, op: concat, from: [enc1, up1]}
"""


def test_upconv_kernel_3_gets_the_one_change_repair(spec_file) -> None:
    path = spec_file(UPCONV_K3)
    code, doc = check_json(path)
    assert code == 1
    assert doc["repairs"] == [{"changes": {"up2.kernel": 2}, "message": "change up2.kernel from 3 to 2"}]
    fixed = spec_file(UPCONV_K3.replace("kernel: 3, stride: 2", "kernel: 2, stride: 2"), "fixed.yaml")
    assert check_json(fixed)[0] == 0
    code, out = run_cli("check", str(path))
    assert "repairs (fewest changes first):\n  change up2.kernel from 3 to 2" in out


def test_block_literal_repair_changes_every_call(spec_file) -> None:
    code, doc = check_json(spec_file("""
input: [1, 8]
blocks:
  b:
    layers: [{name: c, op: conv, out: 1, kernel: 5}]
layers:
  - {name: x, block: b}
  - {name: y, block: b}
"""))
    assert code == 1
    assert {"changes": {"block:b/c.kernel": 4}, "message": "change block:b/c.kernel from 5 to 4"} in doc["repairs"]


RESIDUAL_MISMATCH = """
input: [8, 15, 12]
layers:
  - {name: a, op: conv, out: 8, kernel: 3, padding: 1, stride: 2}
  - {name: b, op: conv, out: 8, kernel: 3, from: input}
  - {name: sum, op: add, from: [b, a]}
"""


@pytest.mark.parametrize(("text", "merge", "offered"), [
    (PADDED_572, "cat4", 2),
    # padding enc2 to 33x33 would make cat1 fail (66 against 64): only the crop is offered
    ((SPECS / "unet-skip-mismatch.yaml").read_text(), "cat2", 1),
    (RESIDUAL_MISMATCH, "sum", 2),  # 13x10 against 8x6: different amounts per axis
], ids=["padded-unet", "skip-mismatch", "residual-per-axis"])
def test_a_crop_or_pad_fix_does_what_it_says(spec_file, text: str, merge: str, offered: int) -> None:
    """Each crop and pad fix of a merge, applied as its words say, clears that merge and
    breaks no layer that was fine."""
    import re

    import yaml

    code, doc = check_json(spec_file(text))
    (problem,) = [p for p in doc["problems"] if p["layer"] == merge]
    applied = 0
    for fix in problem["fixes"]:
        m = re.fullmatch(r".*: add (\{.*\}) before (\S+) and read (\S+) in (\S+)'s from instead of (\S+)", fix)
        if m is None:
            continue
        data = yaml.safe_load(text)
        layers = data["layers"]
        at = next(i for i, lay in enumerate(layers) if lay.get("name") == m[2])
        layers.insert(at, yaml.safe_load(m[1]))
        layers[at + 1]["from"] = [m[3] if f == m[5] else f for f in layers[at + 1]["from"]]
        _, fixed = check_json(spec_file(yaml.safe_dump(data, sort_keys=False)))
        before = {p["layer"] for p in doc["problems"] if p["severity"] == "error"}
        after = {p["layer"] for p in fixed["problems"] if p["severity"] == "error"}
        assert merge not in after and after <= before, fix
        applied += 1
    assert applied == offered


KERNEL_5 = "input: [3, 4, 1]\nlayers:\n  - {name: c, op: conv, out: 1, kernel: 5%s}\n"
DILATED = "input: [1, 9, 9]\nlayers:\n  - {name: d, op: deconv, out: 1, kernel: 3, dilation: [3, 2], output_padding: %s}\n"


@pytest.mark.parametrize(("text", "fix", "fixed"), [
    # W's limit is max(stride 1, dilation 2) - 1 = 1, H's 2
    (DILATED % "[0, 2]", "set d.output_padding to at most [2, 1]", DILATED % "[2, 1]"),
    # the kernel fits neither axis: H needs padding 1, W padding 2
    (KERNEL_5 % "", "set c.padding to at least [1, 2], or c.kernel to at most [4, 1]", KERNEL_5 % ", padding: [1, 2]"),
    (KERNEL_5 % "", "set c.padding to at least [1, 2], or c.kernel to at most [4, 1]",
     KERNEL_5.replace("kernel: 5", "kernel: [4, 1]") % ""),
], ids=["output-padding-per-axis", "kernel-fit-padding", "kernel-fit-kernel"])
def test_a_per_axis_fix_names_each_axis_and_works(spec_file, text: str, fix: str, fixed: str) -> None:
    code, doc = check_json(spec_file(text))
    assert code == 1 and fix in doc["problems"][0]["fixes"]
    code, doc = check_json(spec_file(fixed))
    assert code == 0, (fixed, doc["problems"])


def test_no_output_padding_fix_past_an_axis_limit(spec_file) -> None:
    # up is 7x8 against 8x8: H would need output_padding 1, but H's stride is 1
    code, doc = check_json(spec_file("""
input: [1, 8, 4]
layers:
  - {name: up, op: deconv, out: 1, kernel: [1, 2], stride: [1, 2], padding: [1, 0], from: input}
  - {name: same, op: conv, out: 1, kernel: 1, from: input}
  - {name: cat, op: concat, from: [same, up]}
"""))
    fixes = next(p for p in doc["problems"] if p["layer"] == "cat")["fixes"]
    assert not [f for f in fixes if "output_padding" in f], fixes


@pytest.mark.parametrize(("text", "sizes"), [
    # neither axis can move alone (W = 1 never fits the kernel): both move, the nearest first
    ("input: [3, 4, 1]\nlayers:\n  - {name: c, op: conv, out: 1, kernel: 5}\n", "5x5"),
    # only W is off: 12x11 -> 12x10 (H stays)
    ("exact: true\ninput: [1, 12, 11]\nlayers:\n  - {name: p, op: maxpool, kernel: [2, 5]}\n", "12x10 or 12x15"),
], ids=["both-axes", "one-axis"])
def test_nearest_input_sizes_move_each_axis_on_its_own(spec_file, text: str, sizes: str) -> None:
    code, doc = check_json(spec_file(text))
    fixes = [f for p in doc["problems"] for f in p["fixes"] if f.startswith("use input size")]
    assert fixes and fixes[0].startswith(f"use input size {sizes} instead of"), fixes


@pytest.mark.parametrize(("text", "note"), [
    ("input: [1, H, W]\nvars: {H: {min: 1, max: 20}, W: {min: 1, max: 20}}\n"
     "layers: [{name: c, op: conv, out: 1, kernel: 3}]\n",
     "checked at H = W = 3, the smallest value valid for all of them"),
    # no common value: H + W == 12 with H >= 8 and W <= 5
    ("input: [1, H, W]\nvars: {H: {min: 8, max: 20}, W: {min: 1, max: 5}}\n"
     "layers: [{name: c, op: conv, out: 1, kernel: 3}]\nconstraints: [H + W == 12]\n",
     "checked at H = 8, W = 4, the valid values with the smallest sum"),
    # a domain naming another var
    ("input: [1, H, W]\nvars: {H: {min: 1, max: 9}, W: {min: 1, max: H}}\n"
     "layers: [{name: c, op: conv, out: 1, kernel: 3}]\n",
     "checked at H = W = 3, the smallest value valid for all of them"),
], ids=["common", "smallest-sum", "domain-names-a-var"])
def test_check_picks_values_for_several_free_vars(spec_file, text: str, note: str) -> None:
    code, doc = check_json(spec_file(text))
    out = run_cli("check", str(spec_file(text)))[1]
    assert code == 0 and note in out, out


@pytest.mark.parametrize(("exact", "size", "kernel", "kinds"), [
    (True, 5, 1, ["exact"]),  # windows at 0 and 3 (a third would start past the input): 4 is read by none
    (True, 7, 1, []),  # windows at 0, 3 and 6
    (False, 5, 1, ["drops"]),
    (True, 5, 2, []),  # the ceil-mode window at 3 reads 3 and 4
], ids=["exact-drops", "exact-reads-all", "not-exact", "ceil-window-reads-the-rest"])
def test_ceil_mode_pools_drop_only_what_no_window_reads(spec_file, exact: bool, size: int, kernel: int,
                                                        kinds: list[str]) -> None:
    text = (("exact: true\n" if exact else "") + f"input: [1, {size}]\n"
            f"layers: [{{name: p, op: maxpool, kernel: {kernel}, stride: 3, ceil_mode: true}}]\n")
    code, doc = check_json(spec_file(text))
    assert [p["kind"] for p in doc["problems"]] == kinds
    assert code == (1 if "exact" in kinds else 0)


def test_nearest_input_sizes_stay_in_the_var_domain(spec_file) -> None:
    text = ("input: [1, H, H]\nvars: {H: {min: 63, max: 65}}\nlayers:\n  - {name: p, op: maxpool, kernel: 2}\n"
            "  - {name: u, op: deconv, out: 1, kernel: 2, stride: 2}\n  - {name: c, op: concat, from: [input, u]}\n")
    code, out = run_cli("check", str(spec_file(text)), "--set", "H=63")
    assert code == 1 and "use --set H=64 instead of H=63" in out  # 62 is outside 63..65


@pytest.mark.parametrize(("text", "args", "note"), [
    ("input: [3, H, W]\nvars: {H: {min: 10, max: 20}, W: {min: 30, max: 40}, k: {in: [3, 5]}}\n"
     "layers: [{name: c1, op: conv, out: 4, kernel: k, stride: 2}]\nconstraints: [c1.H == 6, c1.W == 16]\n",
     ("--set", "k=3"), "checked at H = 13, W = 33, the valid values with the smallest sum"),
    # W's domain names H
    ("input: [3, H, W]\nvars: {H: {min: 10, max: 20}, W: {min: 5, max: H}}\n"
     "layers: [{name: c1, op: conv, out: 4, kernel: 3, stride: 2}]\nconstraints: [c1.W == 3, c1.H >= 8]\n",
     (), "checked at H = 17, W = 7, the valid values with the smallest sum"),
    # ... and a hyperparameter's names another hyperparameter ("same" needs p = k // 2)
    ("input: [3, 32, 32]\nvars: {k: {in: [3, 5, 7]}, p: {min: 0, max: k // 2}}\n"
     "layers: [{name: c1, op: conv, out: 4, kernel: k, padding: p}]\nconstraints: [c1.H == 32]\n",
     (), "checked at k = 3, p = 1, the valid values with the smallest sum"),
], ids=["with-a-value-set", "domain-names-a-var", "hyperparameter-domain-names-a-var"])
def test_check_finds_free_values_as_solve_does(spec_file, text: str, args: tuple[str, ...], note: str) -> None:
    code, out = run_cli("check", str(spec_file(text)), *args)
    assert code == 0 and note in out, out


UNET_TINY = ("layers:\n  - {name: e, op: conv, out: 2, kernel: 3, padding: 1}\n  - {name: d, op: maxpool, kernel: 2}\n"
             "  - {name: u, op: deconv, out: 2, kernel: 2, stride: 2}\n  - {name: cat, op: concat, from: [e, u]}\n")


@pytest.mark.parametrize(("head", "args"), [
    ("input: [1, H, W]\nvars: {H: {min: 30, max: 40}, W: {in: [25, 33, 50]}}\n", ("--set", "H=31", "--set", "W=33")),
    ("input: [1, H, W]\nvars: {H: {min: 1, max: 100}, W: H + 1}\n", ("--set", "H=31")),  # W = H + 1 is never even
    ("input: [1, 3*n, 3*n]\nvars: {n: {min: 1, max: 50}}\n", ("--set", "n=5")),
], ids=["outside-a-set", "breaks-a-tie", "an-expression"])
def test_no_input_size_advice_the_spec_cannot_write(spec_file, head: str, args: tuple[str, ...]) -> None:
    code, out = run_cli("check", str(spec_file(head + UNET_TINY)), *args)
    assert code == 1 and "use input size" not in out and "use --set" not in out, out


@pytest.mark.parametrize(("text", "args", "code", "phrase"), [
    # past the first 4096 values: found as solve finds it
    ("input: [1, H]\nvars: {H: {min: 1, max: 100000}}\nlayers: [{name: c, op: conv, out: 2, kernel: 3}]\n"
     "constraints: [c.L >= 5000]\n", (), 0, "checked at H = 5002, the smallest valid value"),
    # no H works, and H = 1..4 make the kernel non-positive: an invalid network (exit 1), not a bad spec
    ("input: [1, H, H]\nvars: {H: {min: 1, max: 100}}\nlayers:\n  - {name: c, op: conv, out: 2, kernel: H - 4}\n"
     "  - {name: p, op: maxpool, kernel: 2}\n  - {name: c2, op: conv, out: 2, kernel: 3}\n", (), 1,
     "no value of H in 1..100 gives a valid network; checked at H = 5"),
    # H also stands inside the network: 12x12 would need H = 12, which breaks c.H == 2 * H - 10
    ("input: [1, H, H]\nvars: {H: {min: 1, max: 100}}\nlayers: [{name: c, op: conv, out: 4, kernel: 3}]\n"
     "constraints: [c.H == 2 * H - 10]\n", ("--set", "H=10"), 1, "INVALID"),
    ("input: [3, H, W]\nvars: {H: {min: 4, max: 40}, W: {min: H, max: H * 2}}\n"
     "layers: [{name: c, op: conv, out: 2, kernel: 3}]\n", ("--set", "W=100"), 2,
     "--set W=100 is outside the domain of W (H..H * 2) for every value of H (it reaches 4..80 at its widest)"),
], ids=["past-the-scan", "no-value-is-invalid-not-bad", "var-inside-the-network", "set-past-a-dependent-domain"])
def test_check_with_free_vars_says_what_holds(spec_file, text: str, args: tuple[str, ...], code: int,
                                              phrase: str) -> None:
    got, out = run_cli("check", str(spec_file(text)), *args)
    assert got == code and phrase in out, out
    assert "use input size 12x12" not in out and "--set H=12 " not in out


THREE_WAY = "input: [3, 32, 32]\nlayers:\n  - {name: a, op: conv, out: 4, kernel: 3}\n" \
    "  - {name: b, op: conv, out: 4, kernel: K, from: input}\n  - {name: c, op: conv, out: 4, kernel: 1, from: input}\n"


@pytest.mark.parametrize(("kernel", "merge", "message", "fixes"), [
    (5, "concat", "a gives 30x30 but b gives 28x28 and c gives 32x32",
     ["crop a and c to b: add {name: a_crop, op: crop, from: a, like: b} and {name: c_crop, op: crop, from: c, "
      "like: b} before m and read a_crop and c_crop in m's from instead of a and c",
      "or pad a and b to c's size: add {name: a_pad, op: pad, from: a, amount: [[1, 1], [1, 1]]} and {name: b_pad, "
      "op: pad, from: b, amount: [[2, 2], [2, 2]]} before m and read a_pad and b_pad in m's from instead of a and b"]),
    # two branches agree: padding both to the third, or cropping the third (one change)
    (3, "add", "a gives [4, 30, 30] but c gives [4, 32, 32]",
     ["pad a and b to c's size: add {name: a_pad, op: pad, from: a, amount: [[1, 1], [1, 1]]} and {name: b_pad, "
      "op: pad, from: b, amount: [[1, 1], [1, 1]]} before m and read a_pad and b_pad in m's from instead of a and b",
      "crop c to a (1 before and 1 after on each axis): add {name: c_crop, op: crop, from: c, like: a} before m "
      "and read c_crop in m's from instead of c"]),
], ids=["all-three-differ", "two-agree"])
def test_a_three_way_merge_names_every_branch_and_fixes_them_together(spec_file, kernel: int, merge: str,
                                                                       message: str, fixes: list[str]) -> None:
    text = THREE_WAY.replace("K", str(kernel)) + f"  - {{name: m, op: {merge}, from: [a, b, c]}}\n"
    code, doc = check_json(spec_file(text))
    (problem,) = [p for p in doc["problems"] if p["layer"] == "m"]
    assert code == 1 and problem["message"].startswith(message), problem["message"]
    assert [f for f in problem["fixes"] if not f.startswith("use input size")] == fixes


def test_a_branch_read_twice_by_a_merge_gets_one_new_layer(spec_file) -> None:
    text = ("input: [3, 32, 32]\nlayers:\n  - {name: a, op: conv, out: 4, kernel: 3}\n"
            "  - {name: b, op: conv, out: 4, kernel: 5, from: input}\n  - {name: m, op: concat, from: [a, b, input, a]}\n")
    code, doc = check_json(spec_file(text))
    fixes = doc["problems"][0]["fixes"]
    assert code == 1 and fixes[0] == (
        "crop a and input to b: add {name: a_crop, op: crop, from: a, like: b} and {name: input_crop, op: crop, "
        "from: input, like: b} before m and read a_crop and input_crop in m's from instead of a and input"), fixes


def test_a_merge_mismatch_explains_every_axis_its_branches_differ_on(spec_file) -> None:
    text = ("input: [3, 32, 32]\nlayers:\n  - {name: a, op: conv, out: 4, kernel: 3}\n"
            "  - {name: b, op: conv, out: 4, kernel: [5, 1], from: input}\n"
            "  - {name: c, op: conv, out: 4, kernel: [1, 5], from: input}\n  - {name: s, op: add, from: [a, b, c]}\n")
    code, doc = check_json(spec_file(text))
    assert code == 1 and doc["problems"][0]["message"] == (
        "a gives [4, 30, 30] but b gives [4, 28, 32] and c gives [4, 32, 28] "
        "(30 = 32 - 2 at a; 28 = 32 - 4 at b; 32 from the input; 28 = 32 - 4 at c)")


def test_branches_that_cross_are_cropped_or_padded_to_one_size_by_amounts(spec_file) -> None:
    """28x32 against 32x28: neither fits the other, so neither like: can say it."""
    text = ("input: [3, 32, 32]\nlayers:\n  - {name: b, op: conv, out: 4, kernel: [5, 1]}\n"
            "  - {name: c, op: conv, out: 4, kernel: [1, 5], from: input}\n  - {name: s, op: concat, from: [b, c]}\n")
    code, doc = check_json(spec_file(text))
    fixes = [f for f in doc["problems"][0]["fixes"] if not f.startswith("use input size")]
    assert code == 1 and fixes == [
        "crop b and c to 28x28: add {name: b_crop, op: crop, from: b, amount: [[0, 0], [2, 2]]} and {name: c_crop, "
        "op: crop, from: c, amount: [[2, 2], [0, 0]]} before s and read b_crop and c_crop in s's from instead of b "
        "and c",
        "or pad b and c to 32x32: add {name: b_pad, op: pad, from: b, amount: [[2, 2], [0, 0]]} and {name: c_pad, "
        "op: pad, from: c, amount: [[0, 0], [2, 2]]} before s and read b_pad and c_pad in s's from instead of b and c"]


@pytest.mark.parametrize("rule", ["holes: false", "exact: true"])
def test_a_mismatched_merge_under_a_strict_rule_is_a_finding(spec_file, rule: str) -> None:
    """Explaining where a branch's size came from runs the layer's rule on its numbers as
    symbols; under holes: false (or exact: true) that rule wants numbers: the explanation
    goes without the formula, and check reports the finding (exit 1, not a refusal)."""
    path = spec_file(f"""
{rule}
input: [4, 12, 12]
layers:
  - {{name: a, op: relu, from: input}}
  - {{name: z, op: conv, out: 4, kernel: 1, padding: 1, from: input}}
  - {{name: m, op: add, from: [a, z]}}
""")
    code, doc = check_json(path)
    assert code == 1
    (merge,) = [p for p in doc["problems"] if p["layer"] == "m"]
    assert merge["message"] == "a gives [4, 12, 12] but z gives [4, 14, 14] (12 from the input; 14 at z)"
