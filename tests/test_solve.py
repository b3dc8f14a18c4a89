"""`archsolve solve`: answers, JSON, exit codes, explanations and write-back."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from archsolve.solve.outcome import Engine, SolveMode, SolveStatus
from archsolve.spec.load import load_spec

from .conftest import SPECS, run_cli, run_cli_split

SOLVE_EXAMPLES = sorted(p.name for p in SPECS.glob("*.yaml") if '"?"' in p.read_text())


def solve_json(*args: str) -> tuple[int, dict]:
    code, out, err = run_cli_split("solve", *args, "--json")
    assert code in (0, 1, 3), f"exit {code}: {out}{err}"
    return code, json.loads(out)


@pytest.mark.parametrize(
    ("spec", "status", "values"),
    [
        ("dcgan-solve.yaml", "sat", {"up1.padding": 0, "up1.stride": 1, "up2.padding": 1, "up2.stride": 2,
                                     "up3.padding": 1, "up3.stride": 2, "up4.padding": 1, "up4.stride": 2,
                                     "up5.padding": 1, "up5.stride": 2}),
        ("unet-solve.yaml", "sat", {f"up{i}.{f}": v for i in (1, 2, 3)
                                    for f, v in (("kernel", 2), ("padding", 0), ("stride", 2))}),
        ("same-conv-stack.yaml", "sat", {"s1.k": 1, "s2.k": 5, "s3.k": 7}),
        ("decoder-unsat.yaml", "unsat", None),
    ],
    ids=["dcgan", "unet", "same-conv", "unsat"],
)
def test_examples_solve_to_known_answers(spec: str, status: str, values: dict | None) -> None:
    code, doc = solve_json(str(SPECS / spec))
    assert doc["status"] == status
    if values is None:
        assert code == 1 and doc["solutions"] == []
        return
    assert code == 0
    (sol,) = doc["solutions"]
    assert sol["values"] == values
    assert sol["objective"] == sum(values.values())
    assert doc["complete"] is False and doc["conflict"] is None


@pytest.mark.parametrize("spec", SOLVE_EXAMPLES)
def test_every_solve_example_runs_cleanly(spec: str) -> None:
    code, doc = solve_json(str(SPECS / spec))
    assert (code, doc["status"]) in ((0, "sat"), (1, "unsat"))
    assert spec.endswith("-unsat.yaml") == (doc["status"] == "unsat")


def test_anisotropic_plan_pools_depth_three_times() -> None:
    _, doc = solve_json(str(SPECS / "unet3d-anisotropic-solve.yaml"))
    values = doc["solutions"][0]["values"]
    depth_pools = [values[f"pool{i}.kernel[0]"] for i in range(1, 5)]
    assert sorted(depth_pools) == [1, 2, 2, 2]
    assert all(values[f"pool{i}.kernel[{a}]"] == 2 for i in range(1, 5) for a in (1, 2))
    assert doc["solutions"][0]["output"] == [2, 16, 128, 128]


def test_unsat_names_layers_and_constraint_with_the_reachable_sizes() -> None:
    code, doc = solve_json(str(SPECS / "decoder-unsat.yaml"))
    assert code == 1
    c = doc["conflict"]
    assert c["layers"] == ["upA", "upB"]
    assert c["constraints"] == ["upB.shape == [4, 64, 64]"]
    assert c["message"] == ("upA and upB cannot meet upB.shape == [4, 64, 64]; from 8x8 at upA's input, with "
                            "kernel 1..3 and stride 1..2, upB.H and upB.W can only be 8..35, but "
                            "upB.shape == [4, 64, 64] needs 64")
    code, out = run_cli("solve", str(SPECS / "decoder-unsat.yaml"))
    assert code == 1 and "UNSATISFIABLE" in out and "layers in conflict: upA, upB" in out


def test_all_lists_every_solution_and_limit_cuts(spec_file) -> None:
    path = spec_file("""
input: [1, 8]
domains: {stride: {min: 1, max: 3}, padding: {min: 0, max: 2}}
layers:
  - {name: up, op: deconv, out: 1, kernel: 3, stride: "?", padding: "?"}
constraints: [up.L >= 10]
""")
    _, doc = solve_json(str(path), "--all")
    got = {(s["values"]["up.stride"], s["values"]["up.padding"]) for s in doc["solutions"]}
    expect = {(s, p) for s in (1, 2, 3) for p in (0, 1, 2) if (8 - 1) * s - 2 * p + 3 >= 10}
    assert got == expect and doc["complete"] is True
    _, doc = solve_json(str(path), "--all", "--limit", "2")
    assert len(doc["solutions"]) == 2 and doc["complete"] is False
    assert "count" not in doc  # not asked for, not free
    _, doc = solve_json(str(path), "--all", "--limit", "2", "--count")
    assert len(doc["solutions"]) == 2 and doc["complete"] is False and doc["count"] == len(expect)


@pytest.mark.parametrize(("args", "header"), [
    ((), "dcgan-solve: 2 solution(s), the first 2 (more exist); raise --limit for more"),
    (("--count",), "dcgan-solve: 2 solution(s), the first 2 of 4; raise --limit for more"),
], ids=["uncounted", "counted"])
def test_all_past_the_limit_says_how_many_when_counted(args: tuple[str, ...], header: str) -> None:
    code, out = run_cli("solve", str(SPECS / "dcgan-solve.yaml"), "--all", "--limit", "2", *args)
    assert code == 0 and out.splitlines()[0] == header


def test_count_needs_all() -> None:
    code, out = run_cli("solve", str(SPECS / "dcgan-solve.yaml"), "--count")
    assert code == 2 and "--count counts what --all lists; add --all" in out


@pytest.mark.parametrize(("args", "message"), [
    (("--all",), "--first gives one solution and --all lists them; give one of them"),
    (("--minimize", "params"), "--first takes any solution, with no objective; drop --minimize"),
    (("--count",), "--first gives one solution; --count is for --all's listing"),
    (("--limit", "5"), "--first gives one solution; --limit is for --all's listing"),
], ids=["with-all", "with-minimize", "with-count", "with-limit"])
def test_first_refuses_what_contradicts_it(args: tuple[str, ...], message: str) -> None:
    code, out = run_cli("solve", str(SPECS / "dcgan-solve.yaml"), "--first", *args)
    assert code == 2 and message in out


def test_first_says_it_is_not_the_best(tmp_path: Path) -> None:
    """The human answer of --first says what it is; --write takes it like any solution."""
    out_file = tmp_path / "filled.yaml"
    code, out = run_cli("solve", str(SPECS / "dcgan-solve.yaml"), "--first", "--write", str(out_file))
    assert code == 0
    assert out.splitlines()[0] == ("dcgan-solve: solved: the first solution found (--first: not optimized; "
                                   "sum of all unknowns = 13)")
    assert out_file.exists() and "?" not in out_file.read_text().split("layers:")[1]


@pytest.mark.parametrize(("spec_name", "kw"), [
    ("unet3d-anisotropic-solve.yaml", {"first": True}),  # Z3's model: any of many answers
    ("decoder-unsat.yaml", {}),                          # Z3's unsat core: the layers it names
], ids=["first-model", "unsat-core"])
def test_z3_answers_the_same_in_every_solve_of_a_process(spec_name: str, kw: dict[str, Any]) -> None:
    """Each Z3 problem has a context of its own: a library loop gets one answer, not one per call."""
    from archsolve.solve.api import solve_spec

    spec = load_spec(SPECS / spec_name)
    answers = {json.dumps(solve_spec(spec, engine=Engine.Z3, **kw).to_json(), sort_keys=True, default=str)
               for _ in range(3)}
    assert len(answers) == 1


TWO_CONVS = """
input: [4, 16, 16]
domains: {kernel: {in: [1, 3, 5]}}
layers:
  - {name: a, op: conv, out: 8, kernel: "?", padding: "?"}
  - {name: b, op: conv, out: 8, kernel: "?", padding: "?"}
"""


def test_minimize_expression_and_params(spec_file) -> None:
    path = spec_file(TWO_CONVS + 'constraints: ["b.shape == [8, 16, 16]"]\n')
    _, doc = solve_json(str(path), "--minimize", "params")
    assert doc["objective"] == "params"
    assert doc["solutions"][0]["values"] == {"a.kernel": 1, "a.padding": 0, "b.kernel": 1, "b.padding": 0}
    _, doc = solve_json(str(path), "--minimize", "0 - a.kernel - b.kernel")
    # ties broken by name: a.padding as small as possible first
    assert doc["solutions"][0]["values"] == {"a.kernel": 5, "a.padding": 0, "b.kernel": 5, "b.padding": 4}


def test_spec_without_unknowns_solves_like_check(spec_file) -> None:
    ok = spec_file("input: [1, 8]\nlayers: [{name: c, op: conv, out: 2, kernel: 3}]\n")
    code, doc = solve_json(str(ok))
    assert code == 0 and doc["status"] == "sat" and doc["solutions"][0]["values"] == {}
    assert doc["solutions"][0]["output"] == [2, 6]
    bad = spec_file("input: [1, 2]\nlayers: [{name: c, op: conv, out: 2, kernel: 3}]\n", "bad.yaml")
    code, doc = solve_json(str(bad))
    assert code == 1 and doc["status"] == "unsat" and doc["conflict"]["layers"] == ["c"]


def test_input_size_var_smallest_valid(spec_file) -> None:
    path = spec_file("""
input: [1, H, H]
vars: {H: {min: 1, max: 1000}}
exact: true
layers:
  - {name: c1, op: conv, out: 4, kernel: 3}
  - {name: p1, op: maxpool, kernel: 2}
  - {name: c2, op: conv, out: 4, kernel: 3}
  - {name: p2, op: maxpool, kernel: 2}
constraints: [p2.H >= 5]
minimize: H
""")
    _, doc = solve_json(str(path))
    # H -> H-2 -> (H-2)/2 -> (H-2)/2-2 -> ((H-2)/2-2)/2 >= 5 with every division exact
    assert doc["solutions"][0]["values"] == {"H": 26}
    assert doc["solutions"][0]["output"] == [4, 5, 5]


COMMENTED = """\
# my decoder -- keep this comment
name: keep-me
input: [16, 8, 8]
domains:
  stride: {min: 1, max: 2}
layers:
  - {name: up, op: deconv, out: 8, kernel: 2, stride: "?"}   # trailing comment
  - name: head
    op: conv
    out: 2
    kernel: "?"
constraints:
  - head.shape == [2, 16, 16]
"""


def _squeeze(line: str) -> str:
    code, sep, comment = line.partition("#")
    return code.rstrip() + (" " + sep + comment if sep else "")


def test_write_keeps_comments_and_layout(tmp_path: Path) -> None:
    src = tmp_path / "dec.yaml"
    src.write_text(COMMENTED)
    out = tmp_path / "solved.yaml"
    code, text = run_cli("solve", str(src), "--write", str(out))
    assert code == 0, text
    assert src.read_text() == COMMENTED
    expect = COMMENTED.replace('stride: "?"', "stride: 2").replace('kernel: "?"', "kernel: 1")
    # comments keep their column, so only the spaces before a comment may differ
    assert [_squeeze(x) for x in out.read_text().splitlines()] == [_squeeze(x) for x in expect.splitlines()]
    code, doc = run_cli_split("check", str(out), "--json")[:2]
    assert code == 0
    assert list(tmp_path.iterdir()) == [src, out] or sorted(tmp_path.iterdir()) == sorted([src, out])


JSON_SPEC = """{
    "input": [1, 9],
    "vars": {"c": {"min": 1, "max": 3}},
    "layers": [
        {"name": "a", "op": "conv", "out": "c", "kernel": "?"}
    ],
    "constraints": ["a.L == 5"]
}
"""


@pytest.mark.parametrize("indent", [4, 2, None], ids=["indent-4", "indent-2", "one-line"])
def test_write_keeps_a_json_spec_json(tmp_path: Path, indent: int | None) -> None:
    data = json.loads(JSON_SPEC)
    src = tmp_path / "spec.json"
    src.write_text(json.dumps(data, indent=indent) + "\n")
    out = tmp_path / "solved.json"
    code, text = run_cli("solve", str(src), "--write", str(out))
    assert code == 0, text
    data["layers"][0]["kernel"], data["vars"]["c"] = 5, 1
    assert out.read_text() == json.dumps(data, indent=indent) + "\n"


def test_write_keeps_a_json_layout_as_written(tmp_path: Path) -> None:
    text = ('{\n\t"input": [3, 16, 16],\n\t"layers": [\n\t\t{"name": "c1", "op": "conv", "out": 4, "kernel": "?", '
            '"stride": 2}\n\t],\n\t"constraints": ["c1.H == 7"]\n}\n')
    src, out = tmp_path / "tabs.json", tmp_path / "solved.json"
    src.write_text(text)
    code, shown = run_cli("solve", str(src), "--write", str(out))
    assert code == 0, shown
    assert out.read_text() == text.replace('"kernel": "?"', '"kernel": 3')  # tabs, one-line layer


def test_write_keeps_crlf_line_endings(tmp_path: Path) -> None:
    src = tmp_path / "dec.yaml"
    src.write_bytes(COMMENTED.replace("\n", "\r\n").encode())
    out = tmp_path / "solved.yaml"
    code, text = run_cli("solve", str(src), "--write", str(out))
    assert code == 0, text
    written = out.read_bytes()
    assert written.count(b"\r\n") == written.count(b"\n") == COMMENTED.count("\n")
    assert b"# trailing comment" in written and b'"?"' not in written


def test_in_place_on_unsat_leaves_the_file_alone(tmp_path: Path) -> None:
    src = tmp_path / "unsat.yaml"
    text = (SPECS / "decoder-unsat.yaml").read_text()
    src.write_text(text)
    before = os.stat(src).st_mtime_ns
    code, _ = run_cli("solve", str(src), "--in-place")
    assert code == 1
    assert src.read_text() == text and os.stat(src).st_mtime_ns == before
    assert [p.name for p in tmp_path.iterdir()] == ["unsat.yaml"]


def test_in_place_writes_over_the_spec(tmp_path: Path) -> None:
    src = tmp_path / "dec.yaml"
    src.write_text(COMMENTED)
    code, out = run_cli("solve", str(src), "--in-place")
    assert code == 0 and f"wrote {src}" in out
    assert '"?"' not in src.read_text() and "# trailing comment" in src.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["dec.yaml"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--write", "SELF"), "is the spec itself; use --in-place"),
        (("--write", "OTHER", "--in-place"), "either --write OUT or --in-place"),
        (("--all", "--in-place"), "drop --all"),
    ],
    ids=["write-over-self", "both", "all-and-write"],
)
def test_write_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    src = tmp_path / "dec.yaml"
    src.write_text(COMMENTED)
    real = [str(src) if a == "SELF" else str(tmp_path / "o.yaml") if a == "OTHER" else a for a in args]
    code, out = run_cli("solve", str(src), *real)
    assert code == 2 and message in out
    assert src.read_text() == COMMENTED


BLOCK_QUESTION = """\
input: [1, 16]
blocks:
  b:
    layers: [{name: c, op: conv, out: 1, kernel: "?"}]
layers:
  - {name: x, block: b}
  - {name: y, block: b}
"""


def test_block_question_mark_with_different_values_cannot_be_written(tmp_path: Path) -> None:
    """x needs kernel 3 and y kernel 5, but the file has one place for both: with --write
    that is a constraint, so the spec is unsatisfiable, says why, and nothing is written."""
    src = tmp_path / "b.yaml"
    src.write_text(BLOCK_QUESTION + "constraints: [x.L == 14, y.L == 10]\n")
    code, out = run_cli("solve", str(src), "--write", str(tmp_path / "o.yaml"))
    assert code == 1 and "UNSATISFIABLE" in out
    assert ("constraints in conflict: x.L == 14; y.L == 10; x/c.kernel == y/c.kernel (one '?' in the file: "
            "written back, it takes one value)") in out
    # the relaxation offered keeps the tie too: both kernels 5, from a longer input
    assert "input.L = 18, x/c.kernel = 5, y/c.kernel = 5" in out
    assert not (tmp_path / "o.yaml").exists()


@pytest.mark.parametrize("args", [(), ("--first",), ("--engine", "z3"), ("--first", "--engine", "z3")],
                         ids=["optimum", "first", "optimum-z3", "first-z3"])
def test_write_takes_the_best_solution_the_file_can_hold(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Without --write the best is x 1, y 7 (sum 8), which one "?" cannot hold; with it, each
    engine answers with one value for both calls."""
    src = tmp_path / "b.yaml"
    src.write_text(BLOCK_QUESTION + "constraints: [y.L <= 10]\n")
    _, doc = solve_json(str(src))
    assert doc["solutions"][0]["values"] == {"x/c.kernel": 1, "y/c.kernel": 7}
    _, doc = solve_json(str(src), "--write", str(tmp_path / "o.yaml"), *args)
    (sol,) = doc["solutions"]
    k = sol["values"]["x/c.kernel"]
    # 18 - 2k <= 10 and 18 - 2k >= 1: the best is 4, any one of 4..8
    assert sol["values"]["y/c.kernel"] == k and (k == 4 if "--first" not in args else 4 <= k <= 8), sol
    if "--first" not in args:
        assert sol["values"] == {"x/c.kernel": 4, "y/c.kernel": 4}
    written = (tmp_path / "o.yaml").read_text()
    assert f"kernel: {sol['values']['x/c.kernel']}" in written
    assert run_cli("check", str(tmp_path / "o.yaml"))[0] == 0


def test_text_output_shows_values_and_optimality() -> None:
    code, out = run_cli("solve", str(SPECS / "unet-solve.yaml"))
    assert code == 0
    assert "solved: the best, proven optimal by sum of all unknowns = 12" in out
    assert "up1.kernel       2" in out and "output [2, 128, 128]" in out


def test_params_in_constraints(spec_file) -> None:
    """conv 4->8 has 8*4*k*k + 8 parameters, conv 8->8 has 64*k*k + 8: 880 = 296 + 584 or 808 + 72."""
    path = spec_file(TWO_CONVS + 'constraints: ["b.shape == [8, 16, 16]", "params == 880"]\n')
    _, doc = solve_json(str(path), "--all")
    kernels = sorted({(s["values"]["a.kernel"], s["values"]["b.kernel"]) for s in doc["solutions"]})
    assert kernels == [(3, 3), (5, 1)] and len(doc["solutions"]) == 4
    unsat = spec_file(path.read_text().replace("params == 880", "params > 900 and params < 1000"), "u.yaml")
    code, doc = solve_json(str(unsat))
    assert code == 1 and doc["conflict"]["constraints"] == ["params > 900 and params < 1000"]


# Questions the solver cannot encode: exit 2, the message placed at the constraint or the
# objective that asks it (file:line, the field, the text), never a bare sentence.
ENCODING_REFUSALS = [
    ("per-layer-params-in-z3", """\
input: [1, 16, 16]
layers:
  - {name: a, op: conv, out: 4, kernel: "?"}
constraints:
  - a.params <= 100
""", ("--engine", "z3"), ":5:5: constraints[0] (a.params <= 100): a.params in a constraint: Z3's encoding "
     "takes only the totals params and macs; the exact search takes a layer's too, when it finishes in time"),
    ("product-of-wide-vars", """\
input: [1, 16, 16]
vars: {K: {min: 1, max: 100000}, J: {min: 1, max: 100000}}
layers:
  - {name: a, op: conv, out: 4, kernel: 3}
constraints:
  - K * J == 12
""", (), ":6:5: constraints[0] (K * J == 12): K * J multiplies two unknowns with large domains"),
    ("shape-of-wrong-length", """\
input: [1, 16, 16]
layers:
  - {name: a, op: conv, out: 4, kernel: "?"}
constraints:
  - a.shape == [4, 3]
""", (), ":5:5: constraints[0] (a.shape == [4, 3]): cannot compare shapes of different lengths"),
    ("spec-objective-product", """\
input: [1, 16, 16]
vars: {K: {min: 1, max: 100000}, J: {min: 1, max: 100000}}
layers:
  - {name: a, op: conv, out: 4, kernel: 3}
constraints:
  - K + J == 12
minimize: K * J
""", (), ":7:11: minimize: K * J multiplies two unknowns with large domains"),
    ("divide-by-a-wide-unknown-in-z3", """\
input: [96, 32, 32]
layers:
  - {name: g, op: conv, out: 128, kernel: 3, padding: 1, groups: "?"}
constraints: [params <= 20000]
""", ("--engine", "z3"), ":3:66: g.groups: the solver divides by it (96 % g.groups), which needs a small domain"),
    ("cli-objective-names-nothing", """\
input: [1, 16, 16]
layers:
  - {name: a, op: conv, out: 4, kernel: "?"}
""", ("--minimize", "zz + 1"), "--minimize: 'zz' names no unknown, var or layer attribute"),
]


@pytest.mark.parametrize(("text", "args", "message"), [c[1:] for c in ENCODING_REFUSALS],
                         ids=[c[0] for c in ENCODING_REFUSALS])
def test_what_the_solver_cannot_encode_is_placed(spec_file, text: str, args: tuple[str, ...], message: str) -> None:
    path = spec_file(text)
    code, out = run_cli("solve", str(path), *args)
    assert code == 2 and "Traceback" not in out
    if message.startswith(":"):
        message = str(path) + message
    assert f"archsolve: error: {message}" in out


# An unsat explanation states the arithmetic: where the conflicting layers start, what they
# may choose, and what they can reach.
EXPLAINED = [
    ("one-domain-per-field", """\
input: [1, 8]
layers:
  - {name: a, op: deconv, out: 1, kernel: "?", stride: 2}
  - {name: b, op: deconv, out: 1, kernel: 2, stride: "?"}
domains:
  stride: {min: 1, max: 2}
  kernel: {min: 1, max: 3}
constraints: [b.L == 100]
""", "a and b cannot meet b.L == 100; from 8 at a's input, with kernel 1..3 and stride 1..2, b.L can only be "
     "16..34, but b.L == 100 needs 100"),  # a: 14 + k in 15..17; b: x + 1 or 2x
    ("domains-differ-by-op", """\
input: [1, 8]
layers:
  - {name: a, op: conv, out: 1, kernel: 3, padding: "?"}
  - {name: p, op: maxpool, kernel: 2, padding: "?"}
constraints: [p.L == 9]
""", "from 8 at a's input, with a.padding 0..dilation * (kernel - 1) and p.padding 0..kernel // 2, p.L can only be "
     "3..6, but p.L == 9 needs 9"),  # a: 6 + 2p in 6..10; p: x // 2 + p
    ("merge-sizes", """\
input: [3, 64, 64]
domains:
  stride: {min: 1, max: 1}
layers:
  - {name: e1, op: conv, out: 8, kernel: 3, padding: 1}
  - {name: p1, op: maxpool, kernel: 2}
  - {name: mid, op: conv, out: 16, kernel: 3, padding: 1}
  - {name: up, op: deconv, out: 8, kernel: "?", stride: "?"}
  - {name: cat, op: concat, from: [e1, up]}
""", "cat and up cannot all be valid together; from 32x32 at up's input, with kernel 1..11 and stride 1..1, "
     "cat joins e1 at 64x64 and up at 32..42 x 32..42; relaxing any one of them may help"),  # 31 + k
    ("start-not-fixed", """\
input: [1, N]
vars: {N: {min: 4, max: 6}}
layers:
  - {name: a, op: conv, out: 1, kernel: "?"}
domains:
  kernel: {min: 1, max: 3}
constraints: [a.L == 9]
""", "with kernel 1..3, a.L can only be 2..6, but a.L == 9 needs 9"),
    ("tied-var-pinned", """\
input: [1, 16]
vars: {a: {min: 1, max: 5}, b: a + 1}
layers: [{name: c, op: conv, out: 2, kernel: a}]
constraints: [b == 1]
""", "b == 1 cannot hold; with the domains given, b can only be 2..6, but b == 1 needs 1"),
    # a constraint no range explains: the values its var can take without it
    ("values-left-without-the-constraint", """\
input: [1, L]
vars: {L: {min: 10, max: 20}, k: {in: [2, 4]}}
exact: true
layers:
  - {name: a, op: conv, out: 2, kernel: k}
  - {name: p, op: maxpool, kernel: 2}
  - {name: q, op: maxpool, kernel: 2}
constraints: [L % 2 == 0]
""", "without L % 2 == 0, L can only be 11, 13, 15, 17, 19"),
    # a rule's message in the user's names, not the solver's placeholders
    ("merge-message-names-the-input-size", """\
input: [3, H]
vars: {H: {min: 1, max: 50}}
layers:
  - {name: a, op: conv, out: 4, kernel: 3, padding: 1}
  - {name: m, op: add, from: [input, a]}
""", "input gives [3, H] but a gives [4, H]"),
    # the range is exact however wide (it was found by bisection, not by small steps)
    ("a-wide-range", """\
input: [1, H]
vars: {H: {min: 1, max: 100000}}
layers: [{name: a, op: conv, out: 2, kernel: 3, stride: "?"}]
constraints: [a.L == 200000]
""", "with stride 1..4, a.L can only be 1..99998, but a.L == 200000 needs 200000"),
    # a rule the written values break, whatever the unknowns: check's own words
    ("groups-never-divide", """\
input: [3, 32, 32]
layers:
  - {name: a, op: conv, out: 4, kernel: 3, groups: 2}
""", "a cannot all be valid together; 3 input channels are not divisible by groups=2"),
    ("pool-padding-once-for-both-axes", """\
input: [3, 32, 32]
layers:
  - {name: a, op: maxpool, kernel: 3, padding: 2}
""", "a cannot all be valid together; pool padding 2 on axis H is more than half the kernel 3 "
     "(torch needs padding <= kernel // 2)"),
    ("every-kernel-breaks-output-padding", """\
input: [3, 32, 32]
layers:
  - {name: a, op: deconv, out: 4, kernel: "?", stride: 2, output_padding: 2}
""", "no value of a.kernel gives a a valid output: output_padding 2 on axis H must be smaller than stride 2 "
     "or dilation 1 (with a.kernel = 1, and alike for every other value)"),
    ("fixed-layers-only", """\
input: [1, N]
vars: {N: {min: 4, max: 6}}
layers:
  - {name: a, op: conv, out: 1, kernel: 3}
constraints: [a.L == 9]
""", "a cannot meet a.L == 9; from 4..6 at a's input, a.L can only be 2..4, but a.L == 9 needs 9"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in EXPLAINED], ids=[c[0] for c in EXPLAINED])
def test_unsat_explanation_states_the_arithmetic(spec_file, text: str, message: str) -> None:
    code, doc = solve_json(str(spec_file(text)))
    assert code == 1 and doc["status"] == "unsat"
    assert message in doc["conflict"]["message"], doc["conflict"]


def test_unsat_offers_the_domain_override_to_drop() -> None:
    code, doc = solve_json(str(SPECS / "decoder-unsat.yaml"))
    assert code == 1
    relax, sizes = doc["conflict"]["relaxations"]
    assert relax["remove"] == ["domains.stride"]  # without domains.kernel: 8 -> 25 -> 59 only
    assert (relax["was"], relax["default"]) == ({"stride": "1..2"}, {"stride": "1..4"})
    v = relax["values"]
    h = (8 - 1) * v["upA.stride"] + v["upA.kernel"]  # deconv, padding 0
    assert (h - 1) * v["upB.stride"] + v["upB.kernel"] == 64
    assert relax["message"].startswith("it solves without domains.stride (1..2; default 1..4): upA.kernel = ")
    # or a larger input: 16 -> 32 -> 64 (kernel 2, stride 2); 15 reaches 63 at most
    assert (sizes["open"], sizes["was"]) == (["input.H", "input.W"], {"input.H": 8, "input.W": 8})
    assert sizes["values"] == {"input.H": 16, "input.W": 16, "upA.kernel": 2, "upA.stride": 2, "upB.kernel": 2,
                               "upB.stride": 2}
    assert sizes["message"] == ("it solves with input.H and input.W open (now 8, 8): input.H = 16, input.W = 16, "
                                "upA.kernel = 2, upA.stride = 2, upB.kernel = 2, upB.stride = 2")
    code, out = run_cli("solve", str(SPECS / "decoder-unsat.yaml"))
    assert code == 1 and out.splitlines()[-2:] == ["  " + relax["message"], "  " + sizes["message"]]


@pytest.mark.parametrize(("domains", "target", "removed"), [
    ("{kernel: {min: 1, max: 2}, stride: {min: 1, max: 2}}", 35, [["domains.kernel", "domains.stride"]]),
    ("{kernel: {min: 1, max: 2}, stride: {min: 1, max: 2}}", 23, [["domains.kernel"], ["domains.stride"]]),
    ("{stride: {min: 1, max: 1}}", 60, []),  # stride 1..4 reaches 7 * 4 + 11 = 39 at most
    ("{padding: {min: 0, max: 0}}", 60, []),  # the override is of no field in conflict
], ids=["both-together", "each-alone", "none-helps", "unrelated-field"])
def test_relaxations_singles_first_then_together(spec_file, domains: str, target: int,
                                                 removed: list[list[str]]) -> None:
    path = spec_file(f"""
input: [1, 8]
domains: {domains}
layers:
  - {{name: up, op: deconv, out: 1, kernel: "?", stride: "?"}}
constraints: [up.L == {target}]
""")
    code, doc = solve_json(str(path))
    assert code == 1
    got = doc["conflict"]["relaxations"]
    assert [r["remove"] for r in got if "remove" in r] == removed
    for r in got:  # (L - 1) * stride + kernel (padding 0)
        assert (r["values"].get("input.L", 8) - 1) * r["values"]["up.stride"] + r["values"]["up.kernel"] == target


def test_relaxations_keep_within_the_timeout(spec_file, monkeypatch: pytest.MonkeyPatch) -> None:
    from archsolve.solve import relax
    from archsolve.solve.api import solve_spec
    from archsolve.spec.load import load_spec

    monkeypatch.setattr(relax, "RELAX_SECONDS", 0.0)
    res = solve_spec(load_spec(str(SPECS / "decoder-unsat.yaml")))
    assert res.status is SolveStatus.UNSAT and res.conflict is not None and res.conflict.relaxations == ()
    quiet = solve_spec(load_spec(str(SPECS / "decoder-unsat.yaml")), explain=False)
    assert quiet.status is SolveStatus.UNSAT and quiet.conflict is None


def test_unsat_offers_a_written_value_to_leave_open(spec_file) -> None:
    # kernel 3 and stride <= 2 reach 35 at most; upB's kernel 8 gives (17 - 1) * 2 + 8 = 40
    path = spec_file("""
input: [1, 8]
domains: {stride: {min: 1, max: 2}}
layers:
  - {name: upA, op: deconv, out: 1, kernel: 3, stride: "?"}
  - {name: upB, op: deconv, out: 1, kernel: 3, stride: "?"}
constraints: [upB.L == 40]
""")
    code, doc = solve_json(str(path))
    assert code == 1
    # upA's kernel alone cannot: 2 * (13 + k) + 3 is odd; an input of 36 can: 36 -> 38 -> 40
    offer, sizes = doc["conflict"]["relaxations"]
    assert (sizes["open"], sizes["values"]["input.L"]) == (["input.L"], 36)
    assert (offer["open"], offer["was"]) == (["upB.kernel"], {"upB.kernel": 3})
    v = offer["values"]
    a = 7 * v["upA.stride"] + 3
    assert (a - 1) * v["upB.stride"] + v["upB.kernel"] == 40
    assert offer["message"] == ("it solves with upB.kernel open (now 3): upA.stride = 2, upB.kernel = 8, "
                                "upB.stride = 2")


def test_a_value_written_in_a_block_definition_is_offered_open_for_every_call(spec_file) -> None:
    path = spec_file("""
input: [1, 8]
domains: {stride: {min: 1, max: 2}}
blocks:
  up:
    params: {s: null}
    layers:
      - {name: d, op: deconv, out: 1, kernel: 3, stride: s}
layers:
  - {name: a, block: up, s: "?"}
  - {name: b, block: up, s: "?"}
constraints: [b.L == 40]
""")
    code, doc = solve_json(str(path))
    assert code == 1
    c = doc["conflict"]
    assert "with stride 1..2, b.L can only be 12..35" in c["message"]  # the calls' "?" count
    offer, sizes = c["relaxations"]
    assert (offer["open"], sizes["open"]) == (["block:up/d.kernel"], ["input.L"])
    v = offer["values"]
    a = 7 * v["a.s"] + v["a/d.kernel"]
    assert (a - 1) * v["b.s"] + v["b/d.kernel"] == 40


RESIDUAL = """
input: [64, 56, 56]
layers:
  - {name: c1, op: conv, out: 128, kernel: 3, stride: "?", padding: "?"}
  - {name: c2, op: conv, out: 128, kernel: 3, padding: 1}
  - {name: sc, op: conv, out: 128, kernel: 1, stride: "?", from: input}
  - {name: add, op: add, from: [c2, sc]}
constraints: [add.H == 28]
"""


def quick_search_gives_up(monkeypatch: pytest.MonkeyPatch) -> list[tuple[SolveMode, bool]]:
    """Make solve's first (quick) search give up, as on a larger question; the calls made,
    (mode, keep_best) each, are recorded in the list returned."""
    from archsolve.solve.search import engine  # solve imports the search where it runs it

    real = engine.search
    calls: list[tuple[SolveMode, bool]] = []

    def first_gives_up(net: Any, mode: SolveMode, *args: Any, **kw: Any) -> Any:
        calls.append((mode, bool(kw.get("keep_best"))))
        return None if len(calls) == 1 else real(net, mode, *args, **kw)

    monkeypatch.setattr(engine, "search", first_gives_up)
    return calls


def test_macs_z3_cannot_encode_go_back_to_the_search(spec_file, monkeypatch: pytest.MonkeyPatch) -> None:
    """c2's MACs multiply H by W, which c1's unknown stride decides: Z3 refuses that. When the
    quick search gives up, the search gets the rest of the time."""
    from archsolve.solve import api as solve

    calls = quick_search_gives_up(monkeypatch)
    res = solve.solve_spec(load_spec(str(spec_file(RESIDUAL))), minimize="macs")
    assert calls == [(SolveMode.OPTIMUM, False), (SolveMode.OPTIMUM, True)]
    assert (res.status, res.optimal) == (SolveStatus.SAT, True)
    (sol,) = res.solutions
    # 128 * 64 * 9 * 28 * 28 + 128 * 128 * 9 * 28 * 28 + 128 * 64 * 28 * 28
    assert sol.objective == 179_830_784
    assert sol.values == {"c1.padding": 1, "c1.stride": 2, "sc.stride": 2}


def test_macs_best_so_far_when_the_time_runs_out(spec_file, monkeypatch: pytest.MonkeyPatch) -> None:
    from archsolve.solve import api as solve
    from archsolve.solve.search import engine
    from archsolve.solve.search.engine import Answer

    monkeypatch.setattr(engine, "search", lambda *a, **kw: Answer(
        solutions=[{"c1.padding": 1, "c1.stride": 2, "sc.stride": 2}], complete=False)
                        if kw.get("keep_best") else None)
    res = solve.solve_spec(load_spec(str(spec_file(RESIDUAL))), minimize="macs")
    assert (res.status, res.optimal, len(res.solutions)) == (SolveStatus.UNKNOWN, False, 1)
    assert res.message == "the search timed out before proving this is the best; it is the best found"


def test_macs_with_nothing_found_when_the_time_runs_out(spec_file, monkeypatch: pytest.MonkeyPatch) -> None:
    from archsolve.solve import api as solve
    from archsolve.solve.search import engine
    from archsolve.solve.search.engine import Answer

    monkeypatch.setattr(engine, "search", lambda *a, **kw: Answer(solutions=[], complete=False, timed_out=True)
                        if kw.get("keep_best") else None)
    res = solve.solve_spec(load_spec(str(spec_file(RESIDUAL))), minimize="macs")
    assert (res.status, res.optimal, res.solutions) == (SolveStatus.UNKNOWN, False, [])
    assert res.message.startswith("the time ran out before the search found any solution (Z3 cannot take this "
                                  "question: c1.H * c1.H multiplies two sizes")
    code, doc = solve_json(str(spec_file(RESIDUAL)), "--minimize", "macs")
    assert (code, doc["status"]) == (3, "unknown")  # a time-out, not a bad spec


# K * J: 100 values each, too many for Z3's linear products; the search tries all 10,000
PRODUCT = """
input: [1, 16]
vars: {K: {min: 1, max: 100}, J: {min: 1, max: 100}}
layers:
  - {name: a, op: conv, out: 4, kernel: 3}
constraints:
  - K * J == TARGET
"""


def test_unsat_proven_by_the_search_where_z3_cannot_encode_the_question(spec_file) -> None:
    code, doc = solve_json(str(spec_file(PRODUCT.replace("TARGET", "10007"))))
    assert (code, doc["status"], doc["solutions"]) == (1, "unsat", [])
    assert doc["conflict"]["message"].startswith("no solution: every combination was ruled out. Z3, "
                                                 "which names the layers and constraints in conflict, cannot "
                                                 "encode this question (K * J multiplies two unknowns")
    assert (doc["conflict"]["layers"], doc["conflict"]["constraints"], doc["conflict"]["relaxations"]) == ([], [], [])


def test_an_objective_z3_cannot_encode_does_not_stop_it_explaining_a_conflict(spec_file) -> None:
    """c2's MACs need its unknown input size times its unknown kernel: Z3 could not minimize
    them, but a conflict needs no objective."""
    path = spec_file("""
input: [1, 16]
layers:
  - {name: c1, op: conv, out: 2, kernel: 3, stride: "?"}
  - {name: c2, op: conv, out: 2, kernel: "?"}
constraints: [c2.L == 100]
""")
    code, doc = solve_json(str(path), "--minimize", "macs")
    assert code == 1
    assert doc["conflict"]["layers"] == ["c1", "c2"]
    assert "c2.L can only be 1..14, but c2.L == 100 needs 100" in doc["conflict"]["message"]


def test_a_listing_z3_cannot_encode_goes_back_to_the_search(spec_file, monkeypatch: pytest.MonkeyPatch) -> None:
    from archsolve.solve import api as solve

    calls = quick_search_gives_up(monkeypatch)
    res = solve.solve_spec(load_spec(str(spec_file(PRODUCT.replace("TARGET", "96")))), all_solutions=True)
    assert [mode for mode, _ in calls] == [SolveMode.ALL, SolveMode.ALL]
    assert res.status is SolveStatus.SAT and res.complete
    assert sorted((s.values["K"], s.values["J"]) for s in res.solutions) == [
        (k, 96 // k) for k in range(1, 97) if 96 % k == 0 and 96 // k <= 100]


def test_what_z3_refuses_the_search_answers(spec_file) -> None:
    """groups "?" (1..4096) divides the channels: too wide for Z3's products, not for the search.
    params = 128 * (96 / g) * 9 + 128: g = 8 gives 13,952 <= 20,000, g = 4 gives 27,776."""
    path = spec_file("""
input: [96, 32, 32]
layers:
  - {name: g, op: conv, out: 128, kernel: 3, padding: 1, groups: "?"}
constraints: [params <= 20000]
""")
    code, doc = solve_json(str(path))
    assert code == 0 and doc["optimal"] is True
    assert doc["solutions"][0]["values"] == {"g.groups": 8}


# the same reading of constraints by every engine (the search, Z3, and the two together)
ENGINE_CASES = [
    ("tied-var-in-a-constraint-unsat", """
input: [1, 16]
vars: {a: {min: 1, max: 5}, b: a + 1}
layers: [{name: c, op: conv, out: 2, kernel: a}]
constraints: [b == 1]
""", "unsat", []),
    ("tied-var-in-a-constraint", """
input: [1, 16]
vars: {a: {min: 1, max: 5}, b: a + 1}
layers: [{name: c, op: conv, out: 2, kernel: a}]
constraints: [b == 3]
""", "sat", [{"a": 2}]),
    ("tied-size-in-a-constraint", """
input: [1, H, W]
vars: {H: {min: 1, max: 9}, W: H}
layers: [{name: c, op: conv, out: 2, kernel: 3}]
constraints: [W == 4]
""", "sat", [{"H": 4}]),
    # element-wise: [2, 5, 3] and [2, 4, 2] fit between the bounds; kernel 6 gives [2, 3, 1]
    ("shape-ordering-element-wise", """
input: [1, 8, 6]
layers: [{name: a, op: conv, out: 2, kernel: "?"}]
constraints: ["a.shape <= [2, 5, 4]", "a.shape >= [2, 4, 1]"]
""", "sat", [{"a.kernel": 4}, {"a.kernel": 5}]),
    # a var ranging over values its field does not take: those values are invalid, not a crash
    ("var-over-negative-padding", """
input: [1, 8]
vars: {p: {min: -3, max: 3}}
layers: [{name: a, op: conv, out: 2, kernel: 3, padding: p}]
constraints: [a.L == 4]
""", "unsat", []),
    ("var-over-stride-zero", """
input: [1, 8]
vars: {s: {min: 0, max: 2}}
layers: [{name: a, op: conv, out: 2, kernel: 3, stride: s}]
""", "sat", [{"s": 1}, {"s": 2}]),
    ("vars-over-channels-and-pad-amounts", """
input: [1, 8]
vars: {c: {min: -2, max: 2}, q: {min: -2, max: 1}}
layers:
  - {name: a, op: conv, out: c, kernel: 3}
  - {name: b, op: pad, amount: q}
constraints: [b.L <= 6]
""", "sat", [{"c": 1, "q": 0}, {"c": 2, "q": 0}]),
    ("shape-not-equal", """
input: [1, 4]
layers: [{name: a, op: conv, out: 1, kernel: "?"}]
constraints: ["a.shape != [1, 2]"]
""", "sat", [{"a.kernel": 1}, {"a.kernel": 2}, {"a.kernel": 4}]),
    # a var's domain may name other vars: a hyperparameter takes the values it allows per value
    # of the others (the search and Z3 try its widest range, 0..2 here, and keep to the domain)
    ("var-domain-names-a-var", """
input: [1, 8]
vars: {k: {in: [1, 3, 5]}, p: {min: 0, max: k // 2}}
layers: [{name: a, op: conv, out: 2, kernel: k, padding: p}]
""", "sat", [{"k": 1, "p": 0}, {"k": 3, "p": 0}, {"k": 3, "p": 1}, {"k": 5, "p": 0}, {"k": 5, "p": 1},
             {"k": 5, "p": 2}]),
    ("var-domain-names-a-tied-var", """
input: [1, 8]
vars: {a: {min: 1, max: 3}, b: a + 1, s: {min: 1, max: b}}
layers: [{name: c, op: conv, out: 2, kernel: 3, stride: s, dilation: a}]
""", "sat", [{"a": 1, "s": 1}, {"a": 1, "s": 2}, {"a": 2, "s": 1}, {"a": 2, "s": 2}, {"a": 3, "s": 1},
             {"a": 2, "s": 3}, {"a": 3, "s": 2}, {"a": 3, "s": 3}, {"a": 3, "s": 4}]),
    ("var-domain-names-a-size-var", """
input: [1, H]
vars: {H: {min: 4, max: 6}, k: {min: 1, max: H - 2}}
layers: [{name: c, op: conv, out: 2, kernel: k}]
constraints: [c.L == 3]
""", "sat", [{"H": 4, "k": 2}, {"H": 5, "k": 3}, {"H": 6, "k": 4}]),
    # a divisor that is an expression of a var (d + 4 in 5..7): Z3 splits over its values too
    ("var-domain-divides-by-an-expression", """
input: [1, 16]
vars: {d: {in: [1, 2, 3]}, p: {min: 0, max: "12 % (d + 4)"}}
layers: [{name: a, op: conv, out: 2, kernel: 3, padding: p}]
constraints: [a.L == 18]
""", "sat", [{"d": 1, "p": 2}, {"d": 3, "p": 2}]),
    # a "?" whose domain names its layer's fields reaches what those fields allow, not only
    # their default domains (stride 1..4, kernel 1..11): these were listed short, or unsat
    ("output-padding-under-a-written-stride-8", """
input: [1, 4]
layers: [{name: u, op: deconv, out: 1, kernel: 2, stride: 8, output_padding: "?"}]
""", "sat", [{"u.output_padding": v} for v in range(8)]),
    ("padding-under-a-written-kernel-25", """
input: [1, 40]
layers: [{name: c, op: conv, out: 1, kernel: 25, padding: "?"}]
constraints: [c.L == 40]
""", "sat", [{"c.padding": 12}]),
    ("padding-under-a-kernel-override-to-15", """
input: [1, 20]
domains: {kernel: {min: 13, max: 15}}
layers: [{name: c, op: conv, out: 1, kernel: "?", padding: "?"}]
constraints: [c.L == 20]
""", "sat", [{"c.kernel": 13, "c.padding": 6}, {"c.kernel": 15, "c.padding": 7}]),
    ("output-padding-under-a-var-stride-5", """
input: [1, 4]
vars: {k: {in: [5]}}
layers: [{name: u, op: deconv, out: 1, kernel: 2, stride: k, output_padding: "?"}]
""", "sat", [{"k": 5, "u.output_padding": v} for v in range(5)]),
    ("output-padding-of-a-repeated-layer-under-stride-8", """
input: [1, 2]
layers: [{name: u, op: deconv, out: 1, kernel: 2, stride: 8, output_padding: "?", repeat: 2}]
constraints: [u.L == 128]
""", "sat", [{"u.output_padding": 6}]),
    # "same" padding needs p == k // 2, which the domain leaves out
    ("var-domain-leaves-out-the-fit", """
input: [1, 8]
vars: {k: {in: [3, 5]}, p: {min: 0, max: k // 2 - 1}}
layers: [{name: a, op: conv, out: 2, kernel: k, padding: p}]
constraints: [a.L == 8]
""", "unsat", []),
]


@pytest.mark.parametrize("engine", ["auto", "search", "z3"])
@pytest.mark.parametrize(("text", "status", "values"), [c[1:] for c in ENGINE_CASES], ids=[c[0] for c in ENGINE_CASES])
def test_every_engine_reads_constraints_alike(spec_file, engine: str, text: str, status: str,
                                              values: list[dict[str, int]]) -> None:
    from archsolve.solve.api import solve_spec

    res = solve_spec(load_spec(str(spec_file(text))), all_solutions=True, engine=engine)
    assert (res.status.value, [s.values for s in res.solutions]) == (status, values)


OBJECTIVE_SPEC = """
input: [3, 16, 16]
layers:
  - {name: c1, op: conv, out: 8, kernel: "?", padding: "?"}
  - {name: bn, op: batchnorm}
  - {name: c2, op: conv, out: 4, kernel: "?"}
constraints: [c2.H == 10]
"""


@pytest.mark.parametrize("objective", [
    "params + 2 * macs", "2 * params", "macs - params", "c1.params", "c2.H * c2.W", "c1.params - c2.C",
    "bn.params + c1.kernel", "10 - c1.padding",
])
def test_any_objective_expression_is_minimized(spec_file, objective: str) -> None:
    """docs/spec-format.md: minimize is any expression as in constraints. The optimum (by the search,
    where Z3's linear encoding cannot take it) is the best of every solution listed, ties
    broken by the values in unknown-name order."""
    from archsolve.solve.api import solve_spec

    spec = load_spec(str(spec_file(OBJECTIVE_SPEC)))
    listed = solve_spec(spec, all_solutions=True, limit=10_000, minimize=objective)
    assert listed.complete and len(listed.solutions) > 1
    best = min(listed.solutions, key=lambda s: (s.objective, list(s.values.values())))
    res = solve_spec(spec, minimize=objective)
    assert (res.status, res.optimal) == (SolveStatus.SAT, True)
    assert (res.solutions[0].values, res.solutions[0].objective) == (best.values, best.objective)


def test_a_division_by_zero_in_a_constraint_quotes_the_user_not_the_solver(spec_file) -> None:
    path = spec_file('input: [1, 8]\nlayers: [{name: a, op: conv, out: 2, kernel: "?"}]\nconstraints: [a.L // 0 == 1]\n')
    code, out, err = run_cli_split("solve", str(path))
    assert code == 2 and "#" not in err
    assert err.strip().endswith("spec.yaml:3:15: constraints[0]: division by zero in a.L // 0")  # at loading


def test_a_divisor_zero_for_some_sizes_only_rules_those_out(spec_file) -> None:
    # c1.H - 30 is zero for one size: that size fails the constraint, the others stand (check alike)
    text = 'input: [3, 32, 32]\nlayers: [{name: c1, op: conv, out: 4, kernel: "?", padding: "?"}]\n' \
           "constraints: [60 // (c1.H - 30) >= 20]\n"
    from archsolve.solve.api import solve_spec

    for engine in ("auto", "search", "z3"):
        res = solve_spec(load_spec(str(spec_file(text))), all_solutions=True, engine=engine)
        assert (res.status, len(res.solutions)) == (SolveStatus.SAT, 16), engine
    code, out = run_cli("check", str(spec_file(text)), "--set", "c1.kernel=3", "--set", "c1.padding=0")
    assert code == 1 and "60 // (c1.H - 30) >= 20 does not hold: division by zero" in out


@pytest.mark.parametrize("engine", ["auto", "z3"])  # too many values for the search to walk
def test_sizes_past_a_billion_are_not_cut_off(spec_file, engine: str) -> None:
    from archsolve.solve.api import solve_spec

    text = """
input: [1, H]
vars: {H: {min: 1, max: 10000000000}}
layers: [{name: a, op: conv, out: 2, kernel: 3}]
constraints: [a.L == 1050000000]
"""
    res = solve_spec(load_spec(str(spec_file(text))), engine=engine)
    assert (res.status, res.solutions[0].values) == (SolveStatus.SAT, {"H": 1050000002})


@pytest.mark.parametrize(("text", "args", "message"), [
    ('input: [3, 32]\nlayers:\n  - {name: c1, op: conv, out: 4, kernel: "?"}\n  - {name: c2, op: conv, out: 4, kernel: "?"}\n'
     "constraints: [c2.L * c1.L == 700]\n", ("--engine", "z3"),
     "c2.L * c1.L multiplies two sizes that unknowns decide"),
    ('input: [3, 32]\nlayers:\n  - {name: c1, op: conv, out: 4, kernel: "?"}\n  - {name: c2, op: conv, out: 4, kernel: 3}\n',
     ("--engine", "z3", "--minimize", "c2.L // (c1.L - 20)"),
     "c1.L - 20: the solver divides by it (c2.L // (c1.L - 20))"),
    ("input: [1, 16]\nvars: {k: {min: 1, max: p + 3}, p: {min: 0, max: k - 1}}\n"
     "layers: [{name: c, op: conv, out: 1, kernel: k, padding: p}]\n", (),
     "vars.k: the domains of these vars name each other: k -> p -> k"),
    ("input: [1, 16]\nvars: {k: {min: 1, max: 5}, p: {min: 0, max: 16 // (k - 1)}}\n"
     "layers: [{name: c, op: conv, out: 1, kernel: k, padding: p}]\n", (),
     "vars.p: var 'p' is used as a hyperparameter of c, so its widest range must be known, but the end "
     "16 // (k - 1) of its domain 0..16 // (k - 1) has no bound"),
], ids=["product", "division", "var-domains-cycle", "var-domain-unbounded"])
def test_solver_refusals_speak_the_users_names(spec_file, text: str, args: tuple[str, ...], message: str) -> None:
    code, out, err = run_cli_split("solve", str(spec_file(text)), *args)
    assert code == 2 and message in err and "#" not in err and "\u00a7" not in err, err


def test_write_keeps_a_byte_order_mark(tmp_path: Path) -> None:
    text = '\ufeff{\n  "input": [1, 9],\n  "layers": [{"name": "a", "op": "conv", "out": 2, "kernel": "?"}],\n' \
           '  "constraints": ["a.L == 5"]\n}\n'
    src, out = tmp_path / "bom.json", tmp_path / "solved.json"
    src.write_text(text, encoding="utf-8")
    code, shown = run_cli("solve", str(src), "--write", str(out))
    assert code == 0, shown
    assert out.read_text(encoding="utf-8") == text.replace('"kernel": "?"', '"kernel": 5')


def test_write_needs_a_file_name(tmp_path: Path) -> None:
    src = tmp_path / "dec.yaml"
    src.write_text(COMMENTED)
    code, out, err = run_cli_split("solve", str(src), "--write", "")
    assert code == 2 and "--write needs a file name" in err


def test_floor_division_by_a_negative_number(spec_file) -> None:
    from archsolve.solve.api import solve_spec

    text = 'input: [1, 12]\nlayers: [{name: c, op: conv, out: 1, kernel: "?"}]\n' \
           'constraints: ["c.L // -2 == -3", "c.L % -4 == -3"]\n'  # Python's: L = 5 only
    for engine in ("auto", "search", "z3"):
        res = solve_spec(load_spec(str(spec_file(text))), all_solutions=True, engine=engine)
        assert [s.values for s in res.solutions] == [{"c.kernel": 8}], engine


@pytest.mark.parametrize("args", [(), ("--first",), ("--all",), ("--first", "--engine", "search"),
                                  ("--all", "--engine", "z3")],
                         ids=["optimum", "first", "all", "first-search", "all-z3"])
def test_an_objective_naming_nothing_is_refused_in_every_mode(spec_file, args: tuple[str, ...]) -> None:
    """A flat layer has no L: the optimum refuses `minimize: f.L`, and so do --first and
    --all, which only report the objective's value (they said null)."""
    path = spec_file("""\
input: [1, 8]
layers:
  - {name: c, op: conv, out: 2, kernel: "?"}
  - {name: f, op: flatten}
constraints: ["c.L == 6"]
minimize: f.L
""")
    code, out = run_cli("solve", str(path), *args)
    assert code == 2 and "minimize: 'f.L' names no unknown, var or layer attribute" in out


def test_a_proven_unsat_stays_unsat_when_z3_runs_out_of_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search proved there is no solution; Z3, asked only to name the conflict, times out:
    the answer is still unsat (exit 1), saying the conflict is not named, not "unknown"."""
    from archsolve.errors import SolverTimeout
    from archsolve.solve.api import solve_spec
    from archsolve.solve.smt import solver
    from archsolve.spec.load import load_spec

    def late(self: object) -> bool:
        raise SolverTimeout("the solver ran out of time (forced by the test)")

    monkeypatch.setattr(solver.Z3Problem, "satisfiable", late)
    res = solve_spec(load_spec(SPECS / "decoder-unsat.yaml"))
    assert (res.status, res.complete, res.solutions) == (SolveStatus.UNSAT, True, [])
    assert res.conflict is not None and res.conflict.message.startswith(
        "no solution: every combination was ruled out; the time ran out before Z3 could name")


UNSATISFIABLE_EXAMPLES = {"decoder-unsat.yaml", "unet-skip-mismatch.yaml"}  # the rest solve


@pytest.mark.parametrize("name", sorted(p.name for p in SPECS.glob("*.yaml")))
def test_a_written_back_spec_checks_clean(tmp_path: Path, name: str) -> None:
    """Every example that solves, written back, is a valid spec with no unknowns left: its
    constraints too (same-conv-stack's `s1.k + s2.k + s3.k >= 13` named unknowns that the
    write-back filled in, and the written spec failed `check` with exit 2)."""
    out = tmp_path / name
    code, _ = run_cli("solve", str(SPECS / name), "--write", str(out))
    if name in UNSATISFIABLE_EXAMPLES:
        assert code == 1 and not out.exists()  # nothing written
        return
    assert code == 0
    code, text = run_cli("check", str(out))
    assert code == 0, text
    from archsolve.spec.load import load_spec

    assert not load_spec(str(out)).unknowns


WRITTEN = """\
input: [1, 16, 16]
blocks:
  same:
    params: {k: 3}
    layers: [{name: conv, op: conv, out: 1, kernel: k, padding: k // 2}]
layers:
  - {name: s1, block: same, k: 5}
  - {name: s2, block: same, k: 3}
  - {name: head, op: conv, out: 1, kernel: 1, stride: [1, 2]}
"""


@pytest.mark.parametrize(("constraint", "holds"), [
    ("s1.k == 5", True),  # a block call's argument, written
    ("s1.k + s2.k == 8", True),
    ("s1/conv.kernel == 5", True),  # a layer's field, the same value through the block
    ("head.kernel == 1", True),
    ("head.stride[1] == 2", True),  # one axis of a per-axis field
    ("head.stride[0] == 2", False),
], ids=["call-argument", "two-arguments", "member-field", "layer-field", "one-axis", "one-axis-false"])
def test_constraints_may_name_written_values(spec_file, constraint: str, holds: bool) -> None:
    code, out = run_cli("check", str(spec_file(WRITTEN + f'constraints: ["{constraint}"]\n')))
    assert code == (0 if holds else 1), out


@pytest.mark.parametrize(("constraint", "message"), [
    ("head.stride == 2", "'head.stride' differs per axis or side (1, 2): name one axis, as head.stride[0]"),
    ("head.stride[2] == 2", "'head.stride[2]': head.stride has 2 axes (0..1)"),
    ("head.bias == 1", "'head.bias': a layer has no attribute 'bias' (it has C, H, W, shape, params, macs; "
                       "and its integer fields: out, kernel, stride, padding, dilation, groups)"),
    ("s1.q == 1", "'s1.q': a layer has no attribute 'q'"),
], ids=["per-axis-whole", "axis-out-of-range", "not-an-integer-field", "no-such-argument"])
def test_written_values_that_cannot_be_named(spec_file, constraint: str, message: str) -> None:
    code, out = run_cli("check", str(spec_file(WRITTEN + f'constraints: ["{constraint}"]\n')))
    assert code == 2 and message in out, out


@pytest.mark.parametrize("text", [
    # a repeat's copies are c/0, c/1; its written field is named as written
    "input: [1, 16]\nlayers:\n  - {name: c, op: conv, out: 1, kernel: '?', repeat: 2}\n"
    "constraints: [c.kernel >= 2, c.L == 12]\nminimize: c.kernel\n",
    # a "?" in a block called with repeat: enc/c.kernel, though the layers are enc/0/c, enc/1/c
    "input: [1, 16]\nblocks: {b: {layers: [{name: c, op: conv, out: 1, kernel: '?'}]}}\n"
    "layers: [{name: enc, block: b, repeat: 2}]\nconstraints: [enc/c.kernel >= 2, enc.L == 12]\n",
    # pad and crop amounts, whole and one axis
    "input: [1, 16, 16]\nlayers:\n  - {name: p, op: pad, amount: '?'}\n  - {name: c, op: conv, out: 1, kernel: 3}\n"
    "constraints: [p.amount >= 1, c.H == 18]\n",
    "input: [1, 16, 16]\nlayers:\n  - {name: cr, op: crop, amount: [1, '?']}\nconstraints: ['cr.amount[1] >= 2']\n",
], ids=["repeat", "repeated-block", "pad-amount", "crop-axis"])
def test_written_back_names_keep_their_meaning(spec_file, tmp_path: Path, text: str) -> None:
    """Solved and written back, each spec checks clean: its constraints' names now stand for
    the numbers written where the unknowns were."""
    out = tmp_path / "filled.yaml"
    code, log = run_cli("solve", str(spec_file(text)), "--write", str(out))
    assert code == 0, log
    code, log = run_cli("check", str(out))
    assert code == 0, log


def test_minimize_on_the_command_line_names_written_values() -> None:
    """--minimize takes the names a spec's minimize takes (s1.k, c.kernel) and shows them."""
    code, out = run_cli("solve", str(SPECS / "same-conv-stack.yaml"), "--minimize", "s1.k * 10 + s3.k")
    assert code == 0
    assert out.splitlines()[0].startswith("same-conv-stack: solved: the best, proven optimal by s1.k * 10 + s3.k")


def test_a_block_parameter_named_like_an_attribute_is_refused(spec_file) -> None:
    """s1.H is the call's output height: a parameter H made the solver's answer fail its own
    check (exit 4)."""
    path = spec_file("input: [1, 16, 16]\nblocks: {b: {params: {H: 3}, layers: [{name: c, op: conv, out: 1, "
                     "kernel: H}]}}\nlayers: [{name: s1, block: b, H: '?'}]\nconstraints: [s1.H == 5]\n")
    code, out = run_cli("solve", str(path))
    assert code == 2 and "'H' is not a valid parameter name: a call's H is its output's" in out


def test_relaxations_under_write_keep_new_unknowns_tied(spec_file, tmp_path: Path) -> None:
    """Opening dilation in the block definition makes x/c.dilation and y/c.dilation, which one
    "?" could not hold as 1 and 2: under --write that relaxation is not offered."""
    path = spec_file(BLOCK_QUESTION.replace("kernel: \"?\"}", "kernel: \"?\", dilation: 1}")
                     + "constraints: [x.L == 14, y.L == 10]\n")
    code, out = run_cli("solve", str(path), "--write", str(tmp_path / "o.yaml"))
    assert code == 1 and "dilation open" not in out
    assert "input.L = 18, x/c.kernel = 5, y/c.kernel = 5" in out


def test_a_constraint_on_written_values_shows_them(spec_file) -> None:
    """`c.kernel == 5` with kernel 3 written: the arithmetic is `3 == 5`, not an empty line."""
    path = spec_file('input: [1, 16]\nlayers: [{name: c, op: conv, out: 1, kernel: 3}]\nconstraints: ["c.kernel == 5"]\n')
    code, out = run_cli("check", str(path))
    assert code == 1 and "c.kernel == 5 does not hold: 3 == 5" in out
    assert "change c.kernel from 3 to 5" in out


@pytest.mark.parametrize(("minimize", "message"), [
    ("head.stride", "--minimize 'head.stride': 'head.stride' differs per axis or side (1, 2): name one axis, "
                    "as head.stride[0]"),
    ("head.stride[5]", "--minimize 'head.stride[5]': 'head.stride[5]': head.stride has 2 axes (0..1)"),
], ids=["per-axis-whole", "axis-out-of-range"])
def test_minimize_naming_a_written_value_badly(spec_file, minimize: str, message: str) -> None:
    path = spec_file(WRITTEN.replace("kernel: 1,", 'kernel: "?",'))
    code, out = run_cli("solve", str(path), "--minimize", minimize)
    assert code == 2 and message in out, out


def test_minimize_in_the_spec_is_shown_as_written(spec_file) -> None:
    """The objective names a written value (s2.k is 3): shown as written, valued as 3."""
    path = spec_file(WRITTEN.replace("kernel: 1,", 'kernel: "?",') + "minimize: s2.k + head.kernel\n")
    _, doc = solve_json(str(path))
    assert doc["objective"] == "s2.k + head.kernel"
    assert doc["solutions"][0]["objective"] == 3 + doc["solutions"][0]["values"]["head.kernel"] == 4


def test_z3_alone_refuses_a_layers_count_as_the_objective() -> None:
    """Z3 encodes the totals params and macs only; asked alone, it says so at --minimize."""
    code, out = run_cli("solve", str(SPECS / "unet-solve.yaml"), "--minimize", "up1.params", "--engine", "z3")
    assert code == 2
    assert ("--minimize: up1.params in the objective: Z3's encoding takes only the totals params and macs; "
            "the exact search takes a layer's too, when it finishes in time") in out
    code, _ = run_cli("solve", str(SPECS / "unet-solve.yaml"), "--minimize", "up1.params")
    assert code == 0  # the default engine: the search answers it


@pytest.mark.parametrize(("text", "values", "message"), [
    ("input: [1, 8]\nvars: {k: {in: [1, 3]}, p: {min: 0, max: k // 2}}\n"
     "layers: [{name: a, op: conv, out: 2, kernel: k, padding: p}]\n", {"k": 3, "p": 2},
     "leaves a domain: p = 2 is not in 0..k // 2 (0..1 here)"),
    ("input: [1, 8]\nlayers: [{name: a, op: conv, out: 2, kernel: 3, padding: \"?\"}]\n", {"a.padding": 3},
     "leaves a domain: a.padding = 3 is not in 0..dilation * (kernel - 1) (0..2 here)"),
    ("input: [1, 8]\ndomains: {stride: {in: [1, 2]}}\nlayers: [{name: a, op: conv, out: 2, kernel: 3, stride: \"?\"}]\n",
     {"a.stride": 3}, "leaves a domain: a.stride = 3 is not in {1, 2}"),
], ids=["var-naming-a-var", "dependent-question-mark", "domain-override"])
def test_an_answer_outside_its_domain_fails_verification(spec_file, text: str, values: dict[str, int],
                                                         message: str) -> None:
    """The network runs with these values, but they are not the spec's to take: a solver bug."""
    from archsolve.errors import SolverBug
    from archsolve.shapes.graph import build_network
    from archsolve.solve.solution import verify

    net = build_network(load_spec(str(spec_file(text))))
    with pytest.raises(SolverBug) as err:
        verify(net, values)
    assert message in str(err.value)


def test_an_answer_outside_its_domain_in_a_repeated_layer_fails_verification(spec_file) -> None:
    """One "?" stands in every copy of a repeated layer: each copy's kernel bounds it."""
    from archsolve.errors import SolverBug
    from archsolve.shapes.graph import build_network
    from archsolve.solve.solution import verify

    net = build_network(load_spec(str(spec_file(
        "input: [1, 16]\nlayers: [{name: c, op: conv, out: 1, kernel: 3, padding: \"?\", repeat: 2}]\n"))))
    with pytest.raises(SolverBug) as err:
        verify(net, {"c.padding": 3})
    assert "c.padding = 3 is not in 0..dilation * (kernel - 1) (0..2 here)" in str(err.value)


def test_a_listings_shared_cache_checks_each_solutions_domains(spec_file) -> None:
    """A listing verifies its solutions with one cache: the ends worked out for one solution
    are reused only for another with the same kernel, and a value outside them still fails."""
    from archsolve.errors import SolverBug
    from archsolve.shapes.graph import build_network
    from archsolve.solve.solution import verify

    net = build_network(load_spec(str(spec_file(
        "input: [1, 16]\nlayers: [{name: a, op: conv, out: 1, kernel: \"?\", padding: \"?\"}]\n"))))
    cache: dict = {}
    verify(net, {"a.kernel": 3, "a.padding": 2}, cache)
    verify(net, {"a.kernel": 3, "a.padding": 1}, cache)
    for values, ends in [({"a.kernel": 3, "a.padding": 3}, "0..2"), ({"a.kernel": 2, "a.padding": 2}, "0..1")]:
        with pytest.raises(SolverBug) as err:
            verify(net, values, cache)
        assert f"a.padding = {values['a.padding']} is not in 0..dilation * (kernel - 1) ({ends} here)" in str(err.value)


def test_an_input_size_no_value_makes_positive_is_explained(spec_file) -> None:
    code, out = run_cli("solve", str(spec_file(
        "input: [1, 8 - p]\nvars: {p: {min: 8, max: 12}}\nlayers: [{name: c, op: conv, out: 1, kernel: 1}]\n")))
    assert code == 1 and "input[1] = 8 - p must be positive (p in 8..12)" in out, out
