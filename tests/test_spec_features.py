"""The spec features real networks need: block arguments that are lists or layer
names, ``repeat`` from a block parameter, ``crop`` with an ``offset``, ``upsample like``, a var's
``default`` and ``--set`` on ``draw`` and ``export``; and ``check``'s other input size offered as
``--set`` for an input written with vars.

Each case is a small spec and the exact result: shapes and counts (worked by hand in the
comments), solutions of both engines, whole messages and exit codes.  Bad spec files for these
features are rows of tests/test_bad_specs.py; the exported modules run in torch in
tests/test_export.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archsolve.check.api import check_spec
from archsolve.solve.api import solve_spec
from archsolve.solve.outcome import Engine, SolveStatus
from archsolve.spec.load import load_text

from .conftest import run_cli, run_cli_split

INCEPTION = """
name: inception-7x7
input: [16, 17, 17]
blocks:
  conv_bn:
    params: {c: null, k: 1}
    layers:
      - {name: conv, op: conv, out: c, kernel: k, padding: k // 2, bias: false}
      - {name: bn, op: batchnorm}
      - {name: act, op: relu}
layers:
  - {name: b1x1, block: conv_bn, c: 8}
  - {name: b7a, block: conv_bn, from: input, c: 8, k: [1, K]}
  - {name: b7b, block: conv_bn, c: 8, k: [K, 1]}
  - {name: cat, op: concat, from: [b1x1, b7b]}
"""


def _rows(text: str, **given: int) -> list[tuple[str, list[int] | None, int | None]]:
    report = check_spec(load_text(text), given)
    return [(r.name, r.shape, r.params) for r in report.rows]


def test_list_arguments_give_one_value_per_axis() -> None:
    """Inception's 1x7 and 7x1 convs from one block: ``kernel: k`` and ``padding: k // 2`` per axis."""
    spec = INCEPTION.replace("K", "7")
    assert _rows(spec) == [
        ("b1x1", [8, 17, 17], 144), ("b1x1/conv", [8, 17, 17], 128), ("b1x1/bn", [8, 17, 17], 16),
        ("b1x1/act", [8, 17, 17], 0),
        ("b7a", [8, 17, 17], 912), ("b7a/conv", [8, 17, 17], 16 * 8 * 7), ("b7a/bn", [8, 17, 17], 16),
        ("b7a/act", [8, 17, 17], 0),
        ("b7b", [8, 17, 17], 464), ("b7b/conv", [8, 17, 17], 8 * 8 * 7), ("b7b/bn", [8, 17, 17], 16),
        ("b7b/act", [8, 17, 17], 0),
        ("cat", [16, 17, 17], 0),
    ]
    lay = load_text(spec).layer("b7a/conv")
    assert [str(v) for v in lay.values["kernel"]] == ["1", "7"]
    assert [str(v) for v in lay.values["padding"]] == ["1 // 2", "7 // 2"]


def test_a_question_mark_in_a_list_argument_is_named_per_axis() -> None:
    """``k: [1, "?"]`` is the unknown ``b7a.k[1]``; both engines list the same solutions: the
    odd kernels, whose ``k // 2`` padding keeps 17."""
    spec = load_text(INCEPTION.replace("k: [1, K]", 'k: [1, "?"]').replace("K", "3"))
    assert sorted(spec.unknowns) == ["b7a.k[1]"]
    for engine in (Engine.SEARCH, Engine.Z3):
        res = solve_spec(spec, engine=engine, all_solutions=True, explain=False)
        assert (res.status, res.complete) == (SolveStatus.SAT, True)
        assert [s.values for s in res.solutions] == [{"b7a.k[1]": k} for k in (1, 3, 5, 7, 9, 11)]


def test_constraints_name_one_entry_of_a_list_argument() -> None:
    spec = load_text(INCEPTION.replace("k: [1, K]", 'k: [1, "?"]').replace("K", "3")
                     + "constraints: ['b7a.k[1] >= 6', 'b7b.k[0] == 3']\n")
    res = solve_spec(spec, explain=False)
    assert [s.values for s in res.solutions] == [{"b7a.k[1]": 7}]


UNET = """
name: unet-decoder-argument
input: [1, H, H]
vars:
  H: {min: 8, max: 24}
blocks:
  enc:
    params: {c: null}
    layers:
      - {name: conv, op: conv, out: c, kernel: 3, padding: 1}
      - {name: act, op: relu}
  dec:
    params: {c: null, skip: null}
    layers:
      - {name: up, op: deconv, out: c, kernel: "?", stride: 2}
      - {name: cat, op: concat, from: [up, skip]}
      - {name: conv, op: conv, out: c, kernel: 3, padding: 1}
layers:
  - {name: e1, block: enc, c: 4}
  - {name: p1, op: maxpool, kernel: 2}
  - {name: e2, block: enc, c: 8}
  - {name: p2, op: maxpool, kernel: 2}
  - {name: mid, block: enc, c: 16}
  - {name: d2, block: dec, c: 8, skip: e2}
  - {name: d1, block: dec, c: 4, skip: e1}
  - {name: head, op: conv, out: 2, kernel: 1}
"""


def test_a_decoder_block_takes_its_skip_as_an_argument() -> None:
    spec = load_text(UNET)
    assert spec.layer("d2/cat").sources == ("d2/up", "e2/act")
    assert spec.layer("d1/cat").sources == ("d1/up", "e1/act")
    assert spec.layer("d1/cat").refs == ("d1/up", "e1")  # as the spec names it: the call's output


def test_the_decoder_block_solves_alike_in_both_engines() -> None:
    """Each level's up-conv kernel: 2 where the pool divides exactly, 3 where it dropped a pixel
    (H = 9: e2 is 4 = 2 * 2, d1 must give 9 = (4 - 1) * 2 + 3)."""
    spec = load_text(UNET)
    expected = [(8, 2, 2), (9, 3, 2), (10, 2, 3), (12, 2, 2), (11, 3, 3), (13, 3, 2), (14, 2, 3), (16, 2, 2),
                (15, 3, 3), (17, 3, 2), (18, 2, 3), (20, 2, 2), (19, 3, 3), (21, 3, 2), (22, 2, 3), (24, 2, 2),
                (23, 3, 3)]
    for engine in (Engine.SEARCH, Engine.Z3):
        res = solve_spec(spec, engine=engine, all_solutions=True, explain=False)
        assert (res.status, res.complete) == (SolveStatus.SAT, True)
        assert [(s.values["H"], s.values["d1/up.kernel"], s.values["d2/up.kernel"]) for s in res.solutions] \
            == expected


def test_a_layer_argument_may_name_a_later_layer_at_top_level() -> None:
    """Like ``from``, a layer argument at top level may name a layer written after the call."""
    spec = load_text("""
input: [2, 8, 8]
blocks:
  gate:
    params: {other: null}
    layers:
      - {name: sum, op: add, from: [in, other]}
layers:
  - {name: a, op: conv, out: 2, kernel: 1}
  - {name: g, block: gate, from: a, other: b}
  - {name: b, op: conv, from: input, out: 2, kernel: 1}
""")
    assert spec.layer("g/sum").sources == ("a", "b")


def test_a_layer_argument_is_passed_on_to_an_inner_block() -> None:
    spec = load_text("""
input: [2, 8, 8]
blocks:
  fit:
    params: {to: null}
    layers:
      - {name: cut, op: crop, like: to}
  dec:
    params: {skip: null}
    layers:
      - {name: up, op: upsample, scale: 2}
      - {name: f, block: fit, to: skip}
      - {name: cat, op: concat, from: [f, skip]}
layers:
  - {name: big, op: conv, out: 2, kernel: 1}
  - {name: small, op: maxpool, kernel: 2}
  - {name: mid, op: conv, out: 2, kernel: 3, padding: 1}
  - {name: d, block: dec, skip: big}
""")
    assert spec.layer("d/f/cut").sources == ("d/up", "big")
    assert check_spec(spec).output == (4, 8, 8)


REPEAT = """
input: [4, 8, 8]
blocks:
  stage:
    params: {n: 1, c: 4}
    layers:
      - {name: conv, op: conv, out: c, kernel: 3, padding: 1, repeat: n}
      - {name: more, op: relu, repeat: n * 2 - 1}
layers:
  - {name: s1, block: stage, n: 3}
  - {name: s2, block: stage}
"""


def test_repeat_takes_a_block_parameter() -> None:
    spec = load_text(REPEAT)
    assert [lay.name for lay in spec.layers] == [
        "s1/conv/0", "s1/conv/1", "s1/conv/2", "s1/more/0", "s1/more/1", "s1/more/2", "s1/more/3", "s1/more/4",
        "s2/conv", "s2/more"]


@pytest.mark.parametrize(("given", "note", "rows"), [
    ({}, "checked at H = 100, the default of H (--set H=N checks another)",  # (100 - 3) // 2 + 1 = 49
     [("c", [4, 49, 49], 112), ("p", [4, 24, 24], 0)]),
    ({"H": 64}, None, [("c", [4, 31, 31], 112), ("p", [4, 15, 15], 0)]),
])
def test_check_takes_a_vars_default_unless_set(given: dict[str, int], note: str | None,
                                               rows: list[tuple[str, list[int], int]]) -> None:
    report = check_spec(load_text(DEFAULT), given)
    assert [(r.name, r.shape, r.params) for r in report.rows] == rows
    assert [n for n in report.notes if n.startswith("checked at")] == ([note] if note else [])


DEFAULT = """
input: [3, H, W]
vars:
  H: {min: 32, max: 256, default: 100}
  W: H
layers:
  - {name: c, op: conv, out: 4, kernel: 3, stride: 2}
  - {name: p, op: maxpool, kernel: 2}
"""


def test_solve_and_inputs_ignore_the_default(spec_file) -> None:
    path = spec_file(DEFAULT)
    code, out, _ = run_cli_split("solve", str(path), "--json")
    assert code == 0 and '"solutions": [{"values": {"H": 32}, "output": [4, 7, 7], "objective": 32}]' in out
    code, out, _ = run_cli_split("inputs", str(path), "--json")
    assert code == 0 and '"pattern": {"start": 32, "step": 1}' in out and '"range": [32, 256]' in out


def test_a_default_outside_a_domain_set_by_another_var(spec_file) -> None:
    """A default whose domain names another var is checked once that var has its value."""
    path = spec_file("input: [3, H, W]\nvars:\n  H: {min: 8, max: 64}\n  W: {min: 8, max: H, default: 32}\n"
                     "layers: [{op: relu}]\n")
    assert run_cli("check", str(path), "--set", "H=40")[0] == 0
    assert run_cli("check", str(path), "--set", "H=16") == (
        2, f"archsolve: error: {path}:4:32: vars.W.default: the default 32 of 'W' is outside its domain 8..H "
           "with H = 16\n")


# -- draw and export: --set, defaults, and the size export says it built at ------------------------

@pytest.mark.parametrize(("args", "title", "note"), [
    ((), "input 3x100x100", "%% checked at H = 100, the default of H (--set H=N checks another)"),
    (("--set", "H=40"), "input 3x40x40", None),
])
def test_draw_takes_set_and_defaults(spec_file, args: tuple[str, ...], title: str, note: str | None) -> None:
    path = spec_file(DEFAULT)
    code, out, err = run_cli_split("draw", str(path), "--format", "mermaid", *args)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[1] == f"  %% {path}    {title}"
    assert (lines[2].strip() if note else lines[2].startswith("  n0")) == (note or True)


def test_draw_refuses_an_unknown_set(spec_file) -> None:
    path = spec_file(DEFAULT)
    assert run_cli("draw", str(path), "--set", "X=40") == (
        2, f"archsolve: error: {path}: --set X: the spec has no var or unknown 'X'\n")


def test_draw_with_unknowns_left_takes_set_and_defaults(spec_file) -> None:
    path = spec_file(DEFAULT.replace("kernel: 2}", "kernel: '?'}"))
    code, out, _ = run_cli_split("draw", str(path), "--format", "mermaid", "--set", "H=64")
    assert code == 0 and "4x31x31" in out  # (64 - 3) // 2 + 1; the pool's shape is not known
    code, out, _ = run_cli_split("draw", str(path), "--format", "mermaid")
    assert code == 0 and "4x49x49" in out  # at the default, 100


@pytest.mark.parametrize(("text", "args", "stderr"), [
    (DEFAULT, (), "export: built at H=100 (the default of H)\n"),
    (DEFAULT, ("--set", "H=64"), ""),
    (DEFAULT.replace(", default: 100", ""), (),
     "export: built at H=32 (the smallest valid H; give --set H=N or a default)\n"),
    (DEFAULT.replace("W: H", "W: {min: 16, max: 64}").replace(", default: 100", ""), (),
     "export: built at H=32, W=32 (the smallest value valid for H and W; give --set NAME=N or defaults)\n"),
    (DEFAULT.replace("W: H", "W: {min: 16, max: 64}"), (),
     "export: built at H=100 (the default of H), W=16 (the smallest valid W; give --set W=N or a default)\n"),
])
def test_export_says_which_size_it_built_at(spec_file, text: str, args: tuple[str, ...], stderr: str) -> None:
    code, out, err = run_cli_split("export", str(spec_file(text)), *args)
    assert (code, err) == (0, stderr)
    assert out.startswith('"""')


# -- check's other input size, for an input written with vars -----------------------------------

ALEX = """
exact: true
input: [3, {input}]
vars:
  H: {{min: 64, max: 1024}}
  W: H
layers:
  - {{name: c1, op: conv, out: 64, kernel: 11, stride: 4}}
  - {{name: p1, op: maxpool, kernel: 3, stride: 2}}
"""


@pytest.mark.parametrize(("inp", "args", "fix"), [
    ("224, 224", (), "use input size 219x219 or 227x227 instead of 224x224 (the nearest that make the network valid)"),
    ("H, W", ("--set", "H=224"),
     "use --set H=219 or --set H=227 instead of H=224 (the nearest sizes that make the network valid)"),
    ("H, H", ("--set", "H=224"),
     "use --set H=219 or --set H=227 instead of H=224 (the nearest sizes that make the network valid)"),
])
def test_the_nearest_input_size_is_offered_for_vars_too(spec_file, inp: str, args: tuple[str, ...],
                                                         fix: str) -> None:
    path: Path = spec_file(ALEX.format(input=inp))
    report = check_spec(load_text(path.read_text(), str(path)),
                        {k: int(v) for k, v in (a.split("=") for a in args[1:])})
    assert [p.fixes for p in report.problems] == [
        ("an input size that leaves no pixel unread avoids it (see 'archsolve inputs')", fix)] * 2
