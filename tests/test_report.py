"""One report model, laid out three ways: plain text, rich, JSON; user strings printed literally."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import pytest
from rich.console import Console

from archsolve.check.api import check_spec
from archsolve.output.report import check_json, check_rich, check_text, printable, solve_text
from archsolve.output.view import check_view, shown_solution, solve_view
from archsolve.solve.api import solve_spec
from archsolve.spec.load import load_text

from .conftest import ROOT, run_cli, write_spec

TINY = """
name: tiny
input: [1, 8, 8]
layers:
  - {name: conv1, op: conv, out: 2, kernel: 3}
  - {name: pool, op: maxpool, kernel: 4}
"""

# the warning is found before the error: JSON keeps that order, people read errors first
MIXED = """
name: mixed
input: [1, 10, 10]
layers:
  - {name: pool, op: maxpool, kernel: 4}
  - {name: up, op: deconv, out: 1, kernel: 4, stride: 4}
  - {name: skip, op: add, from: [input, up]}
"""

TINY_TEXT = """\
tiny: input [1, 8, 8]

layer  op       output     params  MACs  RF
-----  -------  ---------  ------  ----  --
conv1  conv     [2, 6, 6]      20   648   3
pool   maxpool  [2, 1, 1]       0     0   6
-----  -------  ---------  ------  ----  --
output [2, 1, 1]   params 20   MACs 648
MACs: multiply-adds, bias adds not counted (--count-bias), deconvs per input pixel
memory at batch 1, float32: activations 296 B, saved for backward 560 B, training 880 B (weights 80 B x 4 with gradients and Adam)

problems:
  warning: pool: pool drops real pixels that no window reads (2 on H, 2 on W): on H the last position read is 3, of 0..5; on W the last position read is 3, of 0..5
    fix: an input size that leaves no pixel unread avoids it (see 'archsolve inputs')

OK (1 warning(s))"""

TINY_RICH = """\
tiny: input [1, 8, 8]
layer op      output    params MACs RF
──────────────────────────────────────
conv1 conv    [2, 6, 6]     20  648  3
pool  maxpool [2, 1, 1]      0    0  6
──────────────────────────────────────
total         [2, 1, 1]     20  648
MACs: multiply-adds, bias adds not counted (--count-bias), deconvs per input pixel
memory at batch 1, float32: activations 296 B, saved for backward 560 B, training 880 B (weights 80
B x 4 with gradients and Adam)
warning: pool: pool drops real pixels that no window reads (2 on H, 2 on W): on H the last position
read is 3, of 0..5; on W the last position read is 3, of 0..5
    fix: an input size that leaves no pixel unread avoids it (see 'archsolve inputs')
OK (1 warning(s))
"""

TINY_JSON = {
    "ok": True, "input": [1, 8, 8],
    "layers": [
        {"name": "conv1", "op": "conv", "depth": 0, "from": ["input"], "shape": [2, 6, 6], "params": 20,
         "macs": 648, "rf": [3, 3], "memory": 288},
        {"name": "pool", "op": "maxpool", "depth": 0, "from": ["conv1"], "shape": [2, 1, 1], "params": 0,
         "macs": 0, "rf": [6, 6], "memory": 8},
    ],
    "output": [2, 1, 1],
    # saved: conv1's input (256 B), pool's input (288 B) and its indices (two int64)
    "totals": {"params": 20, "macs": 648,
               "memory": {"activations": 296, "params": 80, "saved": 560, "training": 880}},
    "memory_at": {"batch": 1, "dtype": "float32"},
    "problems": [
        {"layer": "pool", "kind": "drops", "severity": "warning",
         "message": "pool drops real pixels that no window reads (2 on H, 2 on W): on H the last position read "
                    "is 3, of 0..5; on W the last position read is 3, of 0..5",
         "fixes": ["an input size that leaves no pixel unread avoids it (see 'archsolve inputs')"], "field": "stride"},
    ],
}

MIXED_TEXT = """\
mixed: input [1, 10, 10]

layer  op       output       params  MACs  RF
-----  -------  -----------  ------  ----  --
pool   maxpool  [1, 2, 2]         0     0   4
up     deconv   [1, 8, 8]        17    64   4
skip   add      [1, 10, 10]       0     0   4
-----  -------  -----------  ------  ----  --
output [1, 10, 10]   params 17   MACs 64
MACs: multiply-adds, bias adds not counted (--count-bias), deconvs per input pixel
memory at batch 1, float32: activations 672 B, saved for backward 16 B, training 288 B (weights 68 B x 4 with gradients and Adam)

problems:
  error: skip: input gives [1, 10, 10] but up gives [1, 8, 8] (10 from the input; 8 = (2 - 1) * 4 + 4 at up; the branches part at input (10x10): input unchanged, up by pool -> 2x2 then up -> 8x8)
    fix: crop input to up (1 before and 1 after on each axis): add {name: input_crop, op: crop, from: input, like: up} before skip and read input_crop in skip's from instead of input
    fix: or pad up (1 before and 1 after on each axis): add {name: up_pad, op: pad, from: up, amount: [[1, 1], [1, 1]]} before skip and read up_pad in skip's from instead of up
    fix: set up.output_padding to 2
    fix: use input size 8x8 or 12x12 instead of 10x10 (the nearest that make the network valid)
  warning: pool: pool drops real pixels that no window reads (2 on H, 2 on W): on H the last position read is 7 = 1 * 4 + 3, of 0..9; on W the last position read is 7 = 1 * 4 + 3, of 0..9
    fix: an input size that leaves no pixel unread avoids it (see 'archsolve inputs')

repairs (fewest changes first):
  change up.kernel from 4 to 6

INVALID: 1 error(s), 1 warning(s)"""

MIXED_RICH = """\
mixed: input [1, 10, 10]
layer op      output      params MACs RF
────────────────────────────────────────
pool  maxpool [1, 2, 2]        0    0  4
up    deconv  [1, 8, 8]       17   64  4
skip  add     [1, 10, 10]      0    0  4
────────────────────────────────────────
total         [1, 10, 10]     17   64
MACs: multiply-adds, bias adds not counted (--count-bias), deconvs per input pixel
memory at batch 1, float32: activations 672 B, saved for backward 16 B, training 288 B (weights 68 B
x 4 with gradients and Adam)
error: skip: input gives [1, 10, 10] but up gives [1, 8, 8] (10 from the input; 8 = (2 - 1) * 4 + 4
at up; the branches part at input (10x10): input unchanged, up by pool -> 2x2 then up -> 8x8)
    fix: crop input to up (1 before and 1 after on each axis): add {name: input_crop, op: crop,
from: input, like: up} before skip and read input_crop in skip's from instead of input
    fix: or pad up (1 before and 1 after on each axis): add {name: up_pad, op: pad, from: up,
amount: [[1, 1], [1, 1]]} before skip and read up_pad in skip's from instead of up
    fix: set up.output_padding to 2
    fix: use input size 8x8 or 12x12 instead of 10x10 (the nearest that make the network valid)
warning: pool: pool drops real pixels that no window reads (2 on H, 2 on W): on H the last position
read is 7 = 1 * 4 + 3, of 0..9; on W the last position read is 7 = 1 * 4 + 3, of 0..9
    fix: an input size that leaves no pixel unread avoids it (see 'archsolve inputs')
repairs (fewest changes first):
  change up.kernel from 4 to 6
INVALID: 1 error(s), 1 warning(s)
"""


def _rich(view: Any, width: int = 100, colour: bool = False) -> str:
    console = Console(file=io.StringIO(), force_terminal=True, width=width,
                      color_system="truecolor" if colour else None)
    check_rich(view, console)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in out.split("\n"))  # rich pads wrapped lines with a space


def _render(spec: str, how: str) -> Any:
    view = check_view(check_spec(load_text(spec)))
    return {"text": check_text, "rich": _rich, "json": check_json}[how](view)


@pytest.mark.parametrize(("spec", "how", "expected"), [
    (TINY, "text", TINY_TEXT),
    (TINY, "rich", TINY_RICH),
    (TINY, "json", TINY_JSON),
    (MIXED, "text", MIXED_TEXT),
    (MIXED, "rich", MIXED_RICH),
], ids=["tiny-text", "tiny-rich", "tiny-json", "mixed-text", "mixed-rich"])
def test_each_rendering_of_a_small_spec(spec: str, how: str, expected: Any) -> None:
    assert _render(spec, how) == expected


def test_json_lists_problems_in_the_order_found() -> None:
    doc = _render(MIXED, "json")
    assert [p["severity"] for p in doc["problems"]] == ["warning", "error"]
    assert doc["repairs"] == [{"changes": {"up.kernel": 6}, "message": "change up.kernel from 4 to 6"}]


def test_rich_and_text_list_errors_first_alike() -> None:
    """Rich used to list problems in the order found, the text errors first."""
    for out in (_render(MIXED, "text"), _render(MIXED, "rich")):
        assert out.index("error: skip") < out.index("warning: pool")


def test_rich_colours_a_broken_layer_and_the_verdict() -> None:
    out = _rich(check_view(check_spec(load_text(MIXED))), colour=True)
    row = next(line for line in out.splitlines() if "skip" in line)
    assert "\x1b[31mskip \x1b[0m" in row and "\x1b[31m[1, 10, 10]\x1b[0m" in row  # the whole row red
    assert "\x1b[31mINVALID: \x1b[0m" in out


@pytest.mark.parametrize("name", ["[red]x[/red]", "[bold]", ":smile: [link=http://x]y[/link]", "a\\[b]"])
def test_rich_prints_markup_in_a_spec_name_literally(name: str) -> None:
    spec = TINY.replace("name: tiny", f"name: '{name}'")
    assert _render(spec, "rich").splitlines()[0] == f"{name}: input [1, 8, 8]"


CONTROL = "a\x1b]0;owned\x07b\rc\nd\x9be"
SHOWN = "a\\x1b]0;owned\\x07b\\x0dc\\x0ad\\x9be"


@pytest.mark.parametrize("how", ["text", "rich"])
def test_control_characters_in_a_spec_name_are_escaped(how: str) -> None:
    spec = TINY.replace("name: tiny", 'name: "a\\e]0;owned\\ab\\rc\\nd\\x9be"')
    out = _render(spec, how)
    assert out.splitlines()[0] == f"{SHOWN}: input [1, 8, 8]"
    assert not any(c in out for c in "\x1b\x07\r\x9b")


def test_control_characters_in_a_file_name_are_escaped() -> None:
    view = check_view(check_spec(load_text(TINY.replace("name: tiny", ""), file=CONTROL)))
    assert check_text(view).splitlines()[0] == f"{SHOWN}: input [1, 8, 8]"
    assert _rich(view).splitlines()[0] == f"{SHOWN}: input [1, 8, 8]"


def test_the_cli_escapes_control_characters(tmp_path) -> None:
    path = write_spec(tmp_path, TINY.replace("name: tiny", 'name: "x\\ry"'))
    code, out = run_cli("check", str(path))
    assert code == 0 and out.startswith("x\\x0dy: input [1, 8, 8]\n")


def test_printable_leaves_other_text_alone() -> None:
    assert printable("ünet-2 [64, 64] ✓\\x") == "ünet-2 [64, 64] ✓\\x"


SOLVE = """
name: tiny-solve
input: [1, 8, 8]
layers:
  - {name: conv1, op: conv, out: 2, kernel: "?"}
  - {name: pool, op: maxpool, kernel: 2}
constraints: [pool.H == 2]
"""

ONE_LAYERS = """

unknown       value
------------  -----
conv1.kernel      4

layer  op       output     params  MACs  RF
-----  -------  ---------  ------  ----  --
conv1  conv     [2, 5, 5]      34   800   4
pool   maxpool  [2, 2, 2]       0     0   5
-----  -------  ---------  ------  ----  --
output [2, 2, 2]   params 34   MACs 800
MACs: multiply-adds, bias adds not counted (--count-bias), deconvs per input pixel"""


@pytest.mark.parametrize(("spec", "options", "expected"), [
    (SOLVE, {}, "tiny-solve: solved: the best, proven optimal by sum of all unknowns = 4" + ONE_LAYERS),
    (SOLVE, {"first": True},
     "tiny-solve: solved: the first solution found (--first: not optimized; sum of all unknowns = 4)" + ONE_LAYERS),
    (SOLVE, {"all_solutions": True}, """\
tiny-solve: 2 solution(s), all

#  conv1.kernel  output
-  ------------  ---------
1             4  [2, 2, 2]
2             5  [2, 2, 2]"""),
    (SOLVE.replace("== 2", "== 9"), {}, """\
tiny-solve: UNSATISFIABLE
  layers in conflict: pool, conv1
  constraints in conflict: pool.H == 9
  pool and conv1 cannot meet pool.H == 9; from 8x8 at conv1's input, with kernel 1..11, pool.H can only be \
1..4, but pool.H == 9 needs 9
  it solves with input.H and input.W open (now 8, 8): conv1.kernel = 1, input.H = 18, input.W = 2"""),
], ids=["best", "first", "all", "unsat"])
def test_solve_text(spec: str, options: dict[str, Any], expected: str) -> None:
    result = solve_spec(load_text(spec), **options)
    shown = shown_solution(result)
    assert solve_text(solve_view(result, check_spec(result.spec, shown.values) if shown else None)) == expected


def test_solve_view_wants_the_check_of_the_solution_it_shows() -> None:
    with pytest.raises(ValueError, match="pass the check"):
        solve_view(solve_spec(load_text(SOLVE)))


def test_renderers_run_no_check_and_no_solve() -> None:
    """Formatters never compute: importing them loads neither the checker nor the solver."""
    code = ("import sys, archsolve.output.report; "
            "print(sorted(m for m in sys.modules if m.startswith(('archsolve.check', 'archsolve.solve'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
