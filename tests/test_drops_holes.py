"""Drops and holes in ``solve``, ``inputs`` and ``check``: a drop is a real input position no
window reads, a hole an output position no input reaches.

``solve`` prefers, at equal objective, an answer without holes, whichever engine answers;
``exact: true`` and ``holes: false`` forbid them.  (Their counts are checked against torch
in tests/test_drops_torch.py.)
"""

from __future__ import annotations

from typing import Any

import pytest

from archsolve.solve.api import solve_spec
from archsolve.solve.inputs import input_sizes
from archsolve.solve.outcome import Engine, SolveStatus
from archsolve.spec.load import load_text

from .conftest import ROOT, check_json, run_cli

# pix2pix-like: 8 -> 24 by one transposed conv; the smallest sum of unknowns is 6 both by
# kernel 1, stride 3, output_padding 2 (a hole at 2 of every 3 positions) and by kernel 3, stride 3
UP_8_TO_24 = """
input: [3, 8]
{extra}layers:
  - {{name: up, op: deconv, out: 8, kernel: "?", stride: "?", padding: "?", output_padding: "?"}}
constraints: [up.L == 24]
"""


@pytest.mark.parametrize("engine", [Engine.AUTO, Engine.SEARCH, Engine.Z3])
@pytest.mark.parametrize(("extra", "values"), [
    ("", {"up.kernel": 3, "up.output_padding": 0, "up.padding": 0, "up.stride": 3}),
    ("holes: false\n", {"up.kernel": 3, "up.output_padding": 0, "up.padding": 0, "up.stride": 3}),
    # kernel 1 (padding 0..0) needs stride 3 and output_padding 2: holes, but nothing else has kernel 1
    ("minimize: up.kernel\n", {"up.kernel": 1, "up.output_padding": 2, "up.padding": 0, "up.stride": 3}),
    ("minimize: up.kernel\nholes: false\n", {"up.kernel": 3, "up.output_padding": 0, "up.padding": 0,
                                             "up.stride": 3}),
], ids=["prefers-hole-free", "forbids", "kernel-1-is-better-by-its-objective", "forbids-whatever-the-objective"])
def test_solve_prefers_hole_free_answers(engine: Engine, extra: str, values: dict[str, int]) -> None:
    res = solve_spec(load_text(UP_8_TO_24.format(extra=extra)), engine=engine)
    assert res.status is SolveStatus.SAT and res.optimal
    assert res.solutions[0].values == values


def test_a_listing_puts_hole_free_answers_first_at_equal_objective() -> None:
    res = solve_spec(load_text(UP_8_TO_24.format(extra="")), all_solutions=True)
    best = [s for s in res.solutions if s.objective == 6]
    assert [(s.values["up.kernel"], s.holes) for s in best] == [(3, ()), (1, ("up",)), (2, ("up",))]


@pytest.mark.parametrize("engine", [Engine.SEARCH, Engine.Z3])
def test_a_fixed_layer_with_holes_does_not_cancel_the_preference(engine: Engine) -> None:
    """c0 (a 1x1 conv with padding 1) has holes in every answer; up's are the answer's doing."""
    spec = load_text("input: [1, 8]\nminimize: up.stride\nconstraints: [up.L == 15]\nlayers:\n"
                     "  - {name: c0, op: conv, out: 1, kernel: 1, padding: 1}\n"
                     "  - {name: c1, op: conv, out: 1, kernel: 3}\n"
                     "  - {name: up, op: deconv, out: 1, kernel: '?', stride: 2, padding: '?'}\n")
    (best,) = solve_spec(spec, engine=engine).solutions
    assert (best.values, best.holes) == ({"up.kernel": 3, "up.padding": 1}, ())


@pytest.mark.parametrize(("extra", "status"), [("", "sat"), ("holes: false\n", "unsat"), ("exact: true\n", "unsat")])
def test_holes_false_and_exact_forbid_holes(spec_file: Any, extra: str, status: str) -> None:
    text = extra + "input: [1, 8]\nlayers: [{name: up, op: deconv, out: 1, kernel: 1, stride: \"?\"}]\n" \
        "constraints: [up.L >= 20]\n"
    assert solve_spec(load_text(text)).status.value == status


def test_inputs_admit_only_sizes_without_holes() -> None:
    # kernel 2, stride 2, output_padding 1 past padding 0: the last position is always a hole;
    # kernel 3, stride 2 on an input of 1: a single footprint, no gap
    spec = load_text("holes: false\ninput: [1, H]\nvars: {H: {min: 1, max: 12}}\n"
                     "layers: [{name: up, op: deconv, out: 1, kernel: 3, stride: 4, padding: 1}]\n")
    (report,) = input_sizes(spec).values()
    assert report.values == [1]


@pytest.mark.parametrize(("layer", "code", "message", "fixes"), [
    ("{name: up, op: deconv, out: 1, kernel: 1, stride: 2}", 0,
     "deconv leaves holes that no input reaches (7 on L): on L 7 of the 15 output positions get no input "
     "(stride 2 is wider than the kernel's span 1)", ["set up.kernel to at least its stride 2"]),
    ("{name: up, op: deconv, out: 1, kernel: 2, stride: 2, output_padding: 1}", 0,
     "deconv leaves holes that no input reaches (1 on L): on L 1 of the 17 output positions get no input "
     "(output_padding 1 is more than padding 0: the last 1 add nothing)",
     ["set up.output_padding to at most its padding 0"]),
    ("{name: c, op: conv, out: 1, kernel: 1, padding: 1}", 0,
     "conv leaves holes that no input reaches (2 on L): on L 2 of the 10 output positions read padding only "
     "(padding 1 is more than the kernel's reach 0)", ["set c.padding to at most 0 (the kernel's reach)"]),
    ("{name: p, op: maxpool, kernel: 2, stride: 1, padding: 1, dilation: 9}", 0,
     "pool leaves holes that no input reaches (1 on L): on L 1 of the 1 output positions read padding only",
     []),
], ids=["stride-past-kernel", "output-padding-past-padding", "conv-padding-past-reach", "dilated-pool"])
def test_check_reports_holes(spec_file: Any, layer: str, code: int, message: str, fixes: list[str]) -> None:
    got_code, doc = check_json(spec_file(f"input: [1, 8]\nlayers: [{layer}]\n"))
    holes = [p for p in doc["problems"] if p["kind"] == "holes"]
    assert got_code == code and [(p["severity"], p["message"], p["fixes"]) for p in holes] == [
        ("warning", message, fixes)]


def test_holes_key_is_validated(spec_file: Any) -> None:
    code, out = run_cli("check", str(spec_file("holes: maybe\ninput: [1, 8]\nlayers: [{op: relu}]\n")))
    assert code == 2 and "1:8: holes: expected true or false, got text 'maybe'" in out, out


RESNET50_EXACT = (ROOT / "specs" / "resnet50.yaml").read_text().replace(
    "input: [3, 224, 224]", "exact: true\ninput: [3, H, H]\nvars: {H: {min: 32, max: 300}}")


def test_exact_resnet_fails_only_where_a_real_pixel_is_dropped(spec_file: Any) -> None:
    """At 224 the stem conv and pool read every real pixel (the old rule called both, and the
    three strided 3x3 convs, inexact): only the 1x1 stride-2 shortcuts drop one (55 of 0..55)."""
    code, out = run_cli("check", str(spec_file(RESNET50_EXACT)), "--set", "H=224")
    errors = [line for line in out.splitlines() if line.startswith("  error:")]
    assert code == 1 and [e.split(":")[1].strip() for e in errors] == [
        "layer2_0/down_conv", "layer3_0/down_conv", "layer4_0/down_conv"], out


def test_exact_resnet_input_sizes() -> None:
    (report,) = input_sizes(load_text(RESNET50_EXACT)).values()
    assert report.values == [33, 34, 35, 36, 65, 66, 67, 68, 97, 98, 99, 100, 129, 130, 131, 132, 161, 162, 163, 164,
                             193, 194, 195, 196, 225, 226, 227, 228, 257, 258, 259, 260, 289, 290, 291, 292]


def test_tf_valid_dilated_deconv_holes_agree_in_inputs_check_and_both_engines() -> None:
    """TF 'valid' gives (in - 1) * stride + max(span, stride): a dilated kernel 2 (span 4) on
    1 or 2 positions leaves holes between its taps, from 3 on the footprints overlap."""
    text = ("semantics: tf\nholes: false\ninput: [1, H]\nvars: {H: {min: 1, max: 40}}\n"
            "layers: [{name: up, op: deconv, out: 1, kernel: 2, stride: 1, dilation: 3, padding: valid}]\n")
    (report,) = input_sizes(load_text(text), rng=(1, 10)).values()
    assert report.values == list(range(3, 11))
    for engine in (Engine.SEARCH, Engine.Z3):
        assert solve_spec(load_text(text), engine=engine).solutions[0].values == {"H": 3}


@pytest.mark.parametrize(("text", "message", "relaxation"), [
    ("holes: false\ninput: [1, 8]\nlayers: [{name: up, op: deconv, out: 1, kernel: '?', stride: 3}]\n"
     "constraints: [up.L == 22]\n",
     "up cannot meet up.L == 22; from 8 at up's input, with kernel 1..11, up.L can only be 24..32, but up.L == 22 "
     "needs 22; all under holes: false (no output position may be left unreached)",
     ({"remove": ["holes"], "was": {"holes": False}, "values": {"up.kernel": 1}},
      "it solves without holes: false (no output position may be left unreached): up.kernel = 1")),
    ("exact: true\ninput: [1, 10]\nlayers: [{name: c, op: conv, out: 1, kernel: 1, stride: '?'}]\n"
     "constraints: [c.L == 5]\n",
     "c cannot meet c.L == 5; all under exact: true (no conv or pool may drop a real pixel, and no holes)",
     ({"remove": ["exact"], "was": {"exact": True}, "values": {"c.stride": 2}},
      "it solves without exact: true (no conv or pool may drop a real pixel, and no holes): c.stride = 2")),
], ids=["holes-false", "exact"])
def test_a_conflict_the_rules_make_says_so_and_offers_dropping_them(text: str, message: str,
                                                                    relaxation: tuple[dict[str, Any], str]) -> None:
    conflict = solve_spec(load_text(text)).conflict
    assert conflict is not None and conflict.message == message
    first = conflict.relaxations[0]
    assert ({"remove": first.edit["remove"], "was": first.was, "values": first.values}, first.message) == relaxation
