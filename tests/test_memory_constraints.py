"""Memory in constraints (#21, part 2): ``memory`` and ``activations`` in a spec's
constraints and objective, counted at its ``batch:`` and ``dtype:`` (or ``--batch`` and
``--dtype``), and byte units in the numbers they are compared with.

1. The units: what each literal comes to, and the refusals (a decimal without a unit, a
   fraction of a byte, a unit in a layer field or a var's domain).
2. The spec keys ``batch:`` and ``dtype:``: defaults, bad values, both mistakes in one run.
3. ``check``: a budget that holds and one that does not, with the exact figures of ``check
   --json``'s ``totals.memory`` in the problem; the command line's ``--batch``/``--dtype``
   over the spec's.
4. ``solve``: the widest channels that fit a budget, against a brute force over every value
   (each one propagated as ``check`` does); ``--all`` lists exactly the brute-force set; Z3
   alone refuses the question, ``auto`` hands it to the exact search.
5. ``inputs``: the valid sizes under a budget against a check of each size; two independent
   sizes behind an instance norm (past Z3): each is scanned with the other at its default,
   which the JSON says as ``fixed``.
6. hypothesis: on random small conv chains, at any batch and type, a budget in a constraint
   holds exactly when it is at least ``check --json``'s figure.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from archsolve.check.api import check_spec
from archsolve.errors import ArchsolveError, ExprError
from archsolve.lang.expr import CONSTRAINT, at_least, bytes_text, parse, parse_bytes
from archsolve.ops.autograd import Dtype, MemoryMode
from archsolve.shapes.graph import build_network
from archsolve.shapes.propagate import propagate
from archsolve.spec.load import load_spec, load_text

from .conftest import assignments, examples, run_cli, run_cli_split, write_spec

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# c: 2x6x6 = 72 elements, r the same, p: 2x3x3 = 18 (tests/test_memory.py works them out):
# at batch 1 in float32, activations (72 + 72 + 18) * 4 = 648 bytes, saved (64 + 72) * 4 +
# 18 * 8 = 688, weights 20 * 4 = 80, training 688 + 4 * 80 = 1008
TINY = ("input: [1, 8, 8]\nlayers:\n  - {name: c, op: conv, out: 2, kernel: 3}\n  - {name: r, op: relu}\n"
        "  - {name: p, op: maxpool, kernel: 2}\n")


def refusal(path: Path, at: str, message: str) -> str:
    """All that ``archsolve check`` prints when it refuses the spec at ``path``: one line."""
    return f"archsolve: error: {path}:{at}: {message}\n"


def with_constraints(head: str, *constraints: str) -> str:
    return head + "constraints:\n" + "".join(f"  - {c}\n" for c in constraints)


# -- 1. units ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("8 GiB", 8 * 2**30),
    ("8GiB", 8 * 2**30),
    ("1.5 MiB", 3 * 2**19),
    ("3 KiB", 3 * 1024),
    ("2 TiB", 2 * 2**40),
    ("0.5 KiB", 512),
    ("0.9833984375 KiB", 1007),  # ten decimals, a whole number of bytes all the same
    ("1024", 1024),  # bytes: no unit
    ("2 GiB * 4 + 1 KiB", 8 * 2**30 + 1024),  # a unit binds to its number only
    ("-1 KiB", -1024),
])
def test_a_unit_scales_its_number(text: str, value: int) -> None:
    e = parse(f"memory <= {text}", CONSTRAINT)
    assert str(e.left) == "memory" and e.right.evaluate({}) == value


@pytest.mark.parametrize(("text", "message"), [
    ("memory <= 1.3 KiB", "1.3 KiB in 'memory <= 1.3 KiB' is not a whole number of bytes"),
    ("memory <= 1.0000000001 KiB", "1.0000000001 KiB in 'memory <= 1.0000000001 KiB' is not a whole number of bytes"),
    ("c.out + 1.5 <= 4", "'1.5' at column 9 of 'c.out + 1.5 <= 4': a number here is an integer "
                         "(a decimal needs a unit: KiB, MiB, GiB or TiB)"),
    ("memory <= 1.5", "'1.5' at column 11 of 'memory <= 1.5': a number here is an integer "
                      "(a decimal needs a unit: KiB, MiB, GiB or TiB)"),
], ids=["fraction-of-a-byte", "a-tenth-of-a-billionth", "decimal-without-unit", "decimal-budget-without-unit"])
def test_a_constraint_number_that_is_not_whole_bytes_is_refused(text: str, message: str, spec_file) -> None:
    path = spec_file(with_constraints(TINY, text))
    assert run_cli("check", str(path)) == (2, refusal(path, "7:5", f"constraints[0]: {message}"))


@pytest.mark.parametrize(("text", "at", "message"), [
    ("input: [1, 8, 8]\nlayers:\n  - {name: c, op: conv, out: 2 KiB, kernel: 3}\n", "3:30",
     "layers[0] (c).out: 2 KiB in '2 KiB': units are only allowed in constraints and minimize"),
    ("input: [1, 8, 8]\nlayers:\n  - {name: c, op: conv, out: 2, kernel: 1.5 KiB}\n", "3:41",
     "layers[0] (c).kernel: 1.5 KiB in '1.5 KiB': units are only allowed in constraints and minimize"),
    ("input: [1, 8, 8]\nvars:\n  k: {min: 1, max: 3 KiB}\nlayers:\n  - {name: c, op: conv, out: 2, kernel: k}\n",
     "3:20", "vars.k: 3 KiB in '3 KiB': units are only allowed in constraints and minimize"),
    ("input: [1, 8, 8]\nvars:\n  k: 1 KiB\nlayers:\n  - {name: c, op: conv, out: 2, kernel: k}\n",
     "3:6", "vars.k: 1 KiB in '1 KiB': units are only allowed in constraints and minimize"),
], ids=["layer-field", "layer-field-decimal", "var-domain", "tied-var"])
def test_a_unit_outside_constraints_and_minimize_is_refused(text: str, at: str, message: str, spec_file) -> None:
    path = spec_file(text)
    assert run_cli("check", str(path)) == (2, refusal(path, at, message))


@pytest.mark.parametrize(("text", "number", "unit"), [
    ("memory <= 8 GB", "8", "GB"), ("memory <= 8GB", "8", "GB"), ("memory <= 8 gib", "8", "gib"),
    ("memory <= 8 kB", "8", "kB"), ("memory <= 1.5 G", "1.5", "G"),
])
def test_a_misspelt_unit_is_refused(text: str, number: str, unit: str, spec_file) -> None:
    """Only KiB, MiB, GiB and TiB are units: a GB (10^9 to some, 2^30 to others) is refused
    at the constraint, saying which are."""
    path = spec_file(with_constraints(TINY, text))
    assert run_cli("check", str(path)) == (2, refusal(
        path, "7:5", f"constraints[0]: {number} {unit} in {text!r}: {unit!r} is no unit here; write KiB, MiB, GiB "
                     "or TiB (binary: 1 GiB = 1024 MiB)"))


# -- 2. the spec's batch: and dtype: -------------------------------------------------------------------

@pytest.mark.parametrize(("head", "mode", "line"), [
    ("", MemoryMode(1, Dtype.FLOAT32), "memory at batch 1, float32: activations 648 B, saved for backward 688 B, "
                                       "training 1008 B (weights 80 B x 4 with gradients and Adam)"),
    ("batch: 4\n", MemoryMode(4, Dtype.FLOAT32),
     "memory at batch 4, float32: activations 2.5 KiB, saved for backward 2.7 KiB, training 3.0 KiB "
     "(weights 80 B x 4 with gradients and Adam)"),
    # float16: activations 162 * 2 = 324, saved 136 * 2 + 18 * 8 (the indices stay int64) = 416,
    # weights 40, training 416 + 160 = 576
    ("dtype: float16\n", MemoryMode(1, Dtype.FLOAT16),
     "memory at batch 1, float16: activations 324 B, saved for backward 416 B, training 576 B "
     "(weights 40 B x 4 with gradients and Adam)"),
    ("batch: 2\ndtype: bfloat16\n", MemoryMode(2, Dtype.BFLOAT16),
     "memory at batch 2, bfloat16: activations 648 B, saved for backward 832 B, training 992 B "
     "(weights 40 B x 4 with gradients and Adam)"),
], ids=["defaults", "batch", "dtype", "both"])
def test_the_spec_says_what_memory_is_counted_at(head: str, mode: MemoryMode, line: str, spec_file) -> None:
    assert load_text(head + TINY).memory == mode
    code, out = run_cli("check", str(spec_file(head + TINY)))
    assert code == 0 and line in out.splitlines()


@pytest.mark.parametrize(("key", "message"), [
    ("batch: 0", "batch: expected a batch size from 1 to 1,000,000,000,000, got the number 0"),
    ("batch: -2", "batch: expected a batch size from 1 to 1,000,000,000,000, got the number -2"),
    ("batch: 1000000000001", "batch: expected a batch size from 1 to 1,000,000,000,000, got the number 1000000000001"),
    ("batch: true", "batch: expected a batch size from 1 to 1,000,000,000,000, got a boolean (true)"),
    ("batch: x", "batch: expected a batch size from 1 to 1,000,000,000,000, got text 'x'"),
    ("batch: 2.5", "batch: expected a batch size from 1 to 1,000,000,000,000, got a decimal number (2.5)"),
    ("dtype: float64", "dtype: expected one of float32, float16, bfloat16, got text 'float64' (did you mean 'float16'?)"),
    ("dtype: Float32", "dtype: expected one of float32, float16, bfloat16, got text 'Float32' (did you mean 'float32'?)"),
    ("dtype: bf16", "dtype: expected one of float32, float16, bfloat16, got text 'bf16' (did you mean 'bfloat16'?)"),
    ("dtype: 16", "dtype: expected one of float32, float16, bfloat16, got the number 16"),
    ("dtype: true", "dtype: expected one of float32, float16, bfloat16, got a boolean (true)"),
])
def test_a_bad_batch_or_dtype_is_refused(key: str, message: str, spec_file) -> None:
    path = spec_file(key + "\n" + TINY)
    assert run_cli("check", str(path)) == (2, refusal(path, "1:8", message))


def test_both_mistakes_in_one_run(spec_file) -> None:
    """A bad batch and a bad dtype are both reported; ``--batch``/``--dtype`` do not hide a
    spec's mistakes."""
    path = spec_file("batch: 0\ndtype: float64\n" + TINY)
    lines = (refusal(path, "1:8", "batch: expected a batch size from 1 to 1,000,000,000,000, got the number 0")
             + refusal(path, "2:8", "dtype: expected one of float32, float16, bfloat16, got text 'float64' "
                                    "(did you mean 'float16'?)"))
    assert run_cli("check", str(path)) == (2, lines)
    assert run_cli("check", str(path), "--batch", "2", "--dtype", "float16") == (2, lines)
    code, out, err = run_cli_split("check", str(path), "--json")
    assert (code, err) == (2, "")
    assert json.loads(out) == {"ok": False, "exit_code": 2, "more": 0, "errors": [
        {"message": "expected a batch size from 1 to 1,000,000,000,000, got the number 0", "field": "batch",
         "file": str(path), "line": 1, "column": 8},
        {"message": "expected one of float32, float16, bfloat16, got text 'float64' (did you mean 'float16'?)",
         "field": "dtype", "file": str(path), "line": 2, "column": 8}]}


# -- 3. check ---------------------------------------------------------------------------------------

# the totals.memory of TINY at each mode the cases below count it at
B1 = {"activations": 648, "params": 80, "saved": 688, "training": 1008}
B4 = {"activations": 2592, "params": 80, "saved": 2752, "training": 3072}  # x4 but the weights
HALF_B4 = {"activations": 1296, "params": 40, "saved": 1664, "training": 1824}  # float16: 324, 416 at batch 1
BUDGETS = ("memory <= 1 KiB", "activations <= 1 KiB")
FAIL_B4 = ["memory <= 1 KiB does not hold: memory = 3,072 bytes (3.0 KiB)",
           "activations <= 1 KiB does not hold: activations = 2,592 bytes (2.5 KiB)"]


@pytest.mark.parametrize(("head", "args", "constraints", "totals", "problems"), [
    ("", (), BUDGETS, B1, []),
    ("", ("--batch", "4"), BUDGETS, B4, FAIL_B4),
    ("batch: 4\n", (), BUDGETS, B4, FAIL_B4),
    ("batch: 4\n", ("--batch", "1"), BUDGETS, B1, []),  # the command line over the spec
    ("dtype: float16\n", ("--batch", "4"), BUDGETS, HALF_B4,
     ["memory <= 1 KiB does not hold: memory = 1,824 bytes (1.8 KiB)",
      "activations <= 1 KiB does not hold: activations = 1,296 bytes (1.3 KiB)"]),
    ("batch: 4\ndtype: float16\n", ("--dtype", "float32"), BUDGETS, B4, FAIL_B4),
    # the edge, in bytes and in units: 1008 holds, 1007 does not
    ("", (), ("memory <= 1008", "memory <= 0.984375 KiB", "activations <= 648", "activations >= 648"), B1, []),
    ("", (), ("memory <= 1007", "memory < 0.984375 KiB", "activations <= 647"), B1,
     ["memory <= 1007 does not hold: memory = 1,008 bytes (1008 B)",
      "memory < 0.984375 KiB does not hold: memory = 1,008 bytes (1008 B)",
      "activations <= 647 does not hold: activations = 648 bytes (648 B)"]),
    # with other names: the values the constraint reads are shown (c.out, written in the
    # spec, is not)
    ("", (), ("memory + c.params <= 1 KiB", "memory // activations >= 2 or c.out > 2"), B1,
     ["memory + c.params <= 1 KiB does not hold: c.params = 20, memory = 1,008 bytes (1008 B)",
      "memory // activations >= 2 or c.out > 2 does not hold: activations = 648 bytes (648 B), "
      "memory = 1,008 bytes (1008 B)"]),
], ids=["holds", "cli-batch", "spec-batch", "cli-over-spec", "half", "cli-dtype-over-spec", "edge-holds",
        "edge-fails", "mixed"])
def test_check_compares_the_figures_of_check_json(head: str, args: tuple[str, ...], constraints: tuple[str, ...],
                                                  totals: dict[str, int], problems: list[str], spec_file) -> None:
    path = spec_file(with_constraints(head + TINY, *constraints))
    code, out, err = run_cli_split("check", str(path), "--json", *args)
    doc = json.loads(out)
    assert (code, err, doc["ok"]) == (1 if problems else 0, "", not problems)
    assert doc["totals"]["memory"] == totals
    assert [(p["layer"], p["kind"], p["severity"], p["message"]) for p in doc["problems"]] == [
        ("constraints", "constraint", "error", m) for m in problems]
    # the text says the same
    code, out = run_cli("check", str(path), *args)
    lines = out.splitlines()
    assert code == (1 if problems else 0)
    assert [ln for ln in lines if ln.startswith("  error: ")] == [f"  error: constraints: {m}" for m in problems]
    assert lines[-1] == (f"INVALID: {len(problems)} error(s), 0 warning(s)" if problems else "OK")


def test_a_budget_over_a_network_with_missing_shapes_cannot_be_evaluated(spec_file) -> None:
    path = spec_file("input: [1, 4, 4]\nlayers:\n  - {name: c, op: conv, out: 2, kernel: 5}\n"
                     "constraints:\n  - memory <= 1 KiB\n  - activations >= 1\n")
    code, out, _ = run_cli_split("check", str(path), "--json")
    assert code == 1
    assert [p["message"] for p in json.loads(out)["problems"]] == [
        "kernel 5 but the padded input on axis H is only 4 (4 + 0 + 0)",
        "memory <= 1 KiB: cannot be evaluated (memory has no value: an earlier problem stopped the propagation)",
        "activations >= 1: cannot be evaluated (activations has no value: an earlier problem stopped the "
        "propagation)"]


# -- 4. solve: the widest channels that fit ---------------------------------------------------------

WIDE = ("input: [3, 16, 16]\ndomains:\n  out: {min: 1, max: 64}\nlayers:\n"
        "  - {name: c1, op: conv, out: \"?\", kernel: 3, padding: 1}\n  - {op: relu}\n"
        "  - {name: c2, op: conv, out: 4, kernel: 3, padding: 1}\n")


def figures(spec_text: str, values: dict[str, int], mode: MemoryMode) -> dict[str, int]:
    """The memory of a network with ``values`` filled in, as ``check --set`` counts it."""
    report = check_spec(load_text(spec_text), values, repairs=False, memory=mode)
    assert report.ok and report.memory is not None and report.memory.complete
    return {"memory": report.memory.training, "activations": report.memory.activations}


def brute_force(spec_text: str, domains: dict[str, range], budget: tuple[str, int], mode: MemoryMode) -> list[dict]:
    """Every assignment whose ``budget`` (figure, bytes) holds, by counting each one."""
    name, limit = budget
    return [v for v in assignments(domains) if figures(spec_text, v, mode)[name] <= limit]


@pytest.mark.parametrize(("head", "budget", "args", "mode", "widest"), [
    ("", ("memory", 100 * 1024), (), MemoryMode(), 48),
    ("", ("memory", 100 * 1024), ("--batch", "2"), MemoryMode(batch=2), 31),
    ("batch: 2\n", ("memory", 100 * 1024), (), MemoryMode(batch=2), 31),
    ("", ("memory", 40 * 1024), ("--batch", "4"), MemoryMode(batch=4), 5),
    ("", ("memory", 40 * 1024), ("--batch", "4", "--dtype", "bfloat16"), MemoryMode(4, Dtype.BFLOAT16), 13),
    ("dtype: float16\n", ("memory", 1536 * 1024), ("--batch", "64"), MemoryMode(64, Dtype.FLOAT16), 44),
    ("", ("activations", 64 * 1024), (), MemoryMode(), 30),
    ("", ("activations", 2 ** 20), (), MemoryMode(), 64),  # everything fits: the domain's top
], ids=["memory", "cli-batch", "spec-batch", "batch-4", "bfloat16", "half-batch-64", "activations", "all-fit"])
def test_the_widest_channels_that_fit(head: str, budget: tuple[str, int], args: tuple[str, ...], mode: MemoryMode,
                                      widest: int, spec_file) -> None:
    name, limit = budget
    text = with_constraints(head + WIDE, f"{name} <= {limit}") + "minimize: 0 - c1.out\n"
    fits = brute_force(WIDE, {"c1.out": range(1, 65)}, budget, mode)
    assert max(v["c1.out"] for v in fits) == widest
    path = spec_file(text)
    for engine in ("auto", "search"):
        code, out, err = run_cli_split("solve", str(path), "--json", "--engine", engine, *args)
        doc = json.loads(out)
        assert (code, err, doc["status"], doc["optimal"]) == (0, "", "sat", True)
        assert [(s["values"], s["objective"]) for s in doc["solutions"]] == [({"c1.out": widest}, -widest)]
    # --all: exactly the brute force's answers, the widest first
    code, out, _ = run_cli_split("solve", str(path), "--json", "--all", *args)
    doc = json.loads(out)
    assert (code, doc["count"], doc["complete"]) == (0, len(fits), True)
    assert [s["values"] for s in doc["solutions"]] == sorted(fits, key=lambda v: -v["c1.out"])


def test_two_widths_under_one_budget_in_units(spec_file) -> None:
    """Two unknown widths, a budget written in KiB, and a unit in the objective: the optimum
    is the brute force's best sum, and ``--all`` is its whole set."""
    head = WIDE.replace("out: {min: 1, max: 64}", "out: {min: 1, max: 12}").replace("out: 4,", "out: \"?\",")
    text = with_constraints(head, "memory <= 31.5 KiB") + "minimize: 1 KiB - c1.out - c2.out\n"
    fits = brute_force(head, {"c1.out": range(1, 13), "c2.out": range(1, 13)}, ("memory", 32256), MemoryMode())
    best = max(v["c1.out"] + v["c2.out"] for v in fits)
    assert (len(fits), best) == (131, 21)
    path = spec_file(text)
    code, out, _ = run_cli_split("solve", str(path), "--json")
    doc = json.loads(out)
    assert (code, doc["optimal"], doc["objective"]) == (0, True, "1024 - c1.out - c2.out")
    [answer] = doc["solutions"]
    assert answer["values"] in fits and answer["objective"] == 1024 - best
    code, out, _ = run_cli_split("solve", str(path), "--json", "--all")
    doc = json.loads(out)
    assert code == 0 and doc["count"] == len(fits)
    assert sorted((s["values"]["c1.out"], s["values"]["c2.out"]) for s in doc["solutions"]) == sorted(
        (v["c1.out"], v["c2.out"]) for v in fits)


def test_nothing_fits(spec_file) -> None:
    """10 KiB holds at batch 1 (c1.out 3 at most) but for no width at batch 4: unsat, exit 1."""
    path = spec_file(with_constraints(WIDE, "memory <= 10 KiB") + "minimize: 0 - c1.out\n")
    assert brute_force(WIDE, {"c1.out": range(1, 65)}, ("memory", 10240), MemoryMode(batch=4)) == []
    assert [v["c1.out"] for v in brute_force(WIDE, {"c1.out": range(1, 65)}, ("memory", 10240),
                                             MemoryMode())] == [1, 2, 3]
    # the relaxation: the least memory any width needs at batch 4 (width 1's), rounded up as
    # plan --memory writes it; under that budget, the widest that fits
    least = figures(WIDE, {"c1.out": 1}, MemoryMode(batch=4))["memory"]
    raised = parse_bytes(at_least(least))
    widest = max(v["c1.out"] for v in brute_force(WIDE, {"c1.out": range(1, 65)}, ("memory", raised),
                                                  MemoryMode(batch=4)))
    code, out = run_cli("solve", str(path), "--batch", "4")
    lines = out.splitlines()
    assert (code, lines[0], len(lines)) == (1, f"{path}: UNSATISFIABLE", 3)
    assert lines[1] == ("  no solution: every combination was ruled out. Z3, which names the layers and "
                        "constraints in conflict, cannot encode this question (memory in a constraint: Z3's "
                        "encoding cannot count memory (the exact search counts it from each answer's whole network))")
    message = (f"it solves with memory <= {at_least(least)} (now memory <= 10 KiB; the least any solution needs "
               f"is {bytes_text(least)}, {least:,} bytes): c1.out = {widest}")
    assert lines[2] == "  " + message
    code, out, _ = run_cli_split("solve", str(path), "--batch", "4", "--json")
    doc = json.loads(out)
    assert (code, doc["status"], doc["solutions"], doc["complete"]) == (1, "unsat", [], True)
    assert doc["conflict"]["relaxations"] == [{
        "raise": ["memory"], "was": {"memory": "memory <= 10 KiB"}, "to": {"memory": f"memory <= {at_least(least)}"},
        "values": {"c1.out": widest}, "message": message}]


@pytest.mark.parametrize(("constraint", "raised"), [
    ("activations <= 1 KiB", "activations"),
    ("4 KiB > memory", "memory"),
])
def test_an_unsatisfiable_budget_is_raised_to_what_fits(constraint: str, raised: str, spec_file) -> None:
    """Written either way round, the budget that rules every width out is raised to the least
    any width needs (width 1's), and the edited spec solves."""
    path = spec_file(with_constraints(WIDE, constraint))
    least = figures(WIDE, {"c1.out": 1}, MemoryMode())[raised]
    code, out, _ = run_cli_split("solve", str(path), "--json")
    (offer,) = json.loads(out)["conflict"]["relaxations"]
    assert code == 1 and offer["raise"] == [raised] and offer["was"] == {raised: constraint}
    assert offer["to"] == {raised: f"{raised} <= {at_least(least)}"}
    assert offer["values"] == {"c1.out": 1}  # the sum of the unknowns: the least width
    assert figures(WIDE, offer["values"], MemoryMode())[raised] <= parse_bytes(at_least(least))


def test_under_write_the_raised_budget_fits_the_tied_calls(spec_file, tmp_path: Path) -> None:
    """``solve --write`` ties a block's unknowns across its calls: the least memory is the
    tied network's (both widths 32), not the untied one's (32 and 1), or the offer would not
    solve (found in review)."""
    head = ('input: [1, 16, 16]\nblocks: {b: {layers: [{name: x, op: conv, out: "?", kernel: 1}]}}\n'
            "layers: [{name: c1, block: b}, {name: c2, block: b}]\ndomains: {out: {min: 1, max: 64}}\n")
    path = spec_file(with_constraints(head, '"c1/x.out >= 32"', '"memory <= 1 KiB"'))
    untied = figures(head, {"c1/x.out": 32, "c2/x.out": 1}, MemoryMode())["memory"]
    tied = figures(head, {"c1/x.out": 32, "c2/x.out": 32}, MemoryMode())["memory"]
    code, out = run_cli("solve", str(path))
    assert code == 1 and out.splitlines()[-1].startswith(f"  it solves with memory <= {at_least(untied)} ")
    code, out = run_cli("solve", str(path), "--write", str(tmp_path / "out.yaml"))
    assert code == 1 and out.splitlines()[-1] == (
        f"  it solves with memory <= {at_least(tied)} (now memory <= 1 KiB; the least any solution needs is "
        f"{bytes_text(tied)}, {tied:,} bytes): c1/x.out = 32, c2/x.out = 32")
    assert not (tmp_path / "out.yaml").exists()


def test_a_budget_that_is_not_the_conflict_is_not_raised(spec_file) -> None:
    """A budget every width meets, beside a constraint no width meets: nothing to raise."""
    path = spec_file(with_constraints(WIDE, "memory <= 1 GiB", "c1.out >= 100"))
    code, out, _ = run_cli_split("solve", str(path), "--json")
    assert code == 1 and not any("raise" in r for r in json.loads(out)["conflict"]["relaxations"])


def test_z3_alone_refuses_a_budget(spec_file) -> None:
    """``--engine z3`` cannot count memory: the question is refused (exit 2) at the constraint,
    while ``auto`` answers it by the exact search."""
    path = spec_file(with_constraints(WIDE, "memory <= 100 KiB") + "minimize: 0 - c1.out\n")
    assert run_cli("solve", str(path), "--engine", "z3") == (2, refusal(
        path, "9:5", "constraints[0] (memory <= 100 KiB): memory in a constraint: Z3's encoding cannot count memory "
                     "(the exact search counts it from each answer's whole network)"))
    code, out = run_cli("solve", str(path))
    assert code == 0 and out.splitlines()[0] == f"{path}: solved: the best, proven optimal by -c1.out = -48"


@pytest.mark.parametrize(("objective", "args"), [
    ("memory", ()), ("activations", ()), ("memory", ("--batch", "3")), ("activations + memory", ("--dtype", "float16")),
])
def test_minimize_memory(objective: str, args: tuple[str, ...], spec_file) -> None:
    """The least memory is the brute force's least (ties: the smallest width)."""
    path = spec_file(WIDE + f"minimize: {objective}\n")
    mode = MemoryMode(batch=int(args[1]) if args[:1] == ("--batch",) else 1,
                      dtype=Dtype(args[1]) if args[:1] == ("--dtype",) else Dtype.FLOAT32)
    costs = {}
    for width in range(1, 65):
        f = figures(WIDE, {"c1.out": width}, mode)
        costs[width] = sum(f[name.strip()] for name in objective.split("+"))
    least = min(costs.values())
    code, out, _ = run_cli_split("solve", str(path), "--json", *args)
    doc = json.loads(out)
    assert (code, doc["optimal"]) == (0, True)
    [answer] = doc["solutions"]
    assert (answer["values"]["c1.out"], answer["objective"]) == (min(w for w, c in costs.items() if c == least), least)


def test_minimize_on_the_command_line_takes_units(spec_file) -> None:
    path = spec_file(with_constraints(WIDE, "memory <= 100 KiB"))
    code, out, _ = run_cli_split("solve", str(path), "--json", "--minimize", "1 KiB - c1.out")
    doc = json.loads(out)
    assert (code, doc["objective"], doc["solutions"][0]["values"]) == (0, "1024 - c1.out", {"c1.out": 48})


def test_repairs_count_memory_at_the_command_lines_batch(spec_file) -> None:
    """A repair is checked at ``--batch``, not at the spec's own batch (1), where a kernel of
    2 would fit: at batch 4 only a smaller input does, and applied, it holds."""
    path = spec_file(with_constraints(TINY, "memory <= 1 KiB"))
    code, out = run_cli("check", str(path), "--batch", "4", "--json")
    doc = json.loads(out)
    assert code == 1
    assert [r["changes"] for r in doc["repairs"]] == [{"input.H": 4, "input.W": 4}]
    fixed = spec_file(path.read_text().replace("input: [1, 8, 8]", "input: [1, 4, 4]"))
    assert run_cli("check", str(fixed), "--batch", "4")[0] == 0


# -- 5. inputs --------------------------------------------------------------------------------------

SQUARE = ("input: [3, H, H]\nvars:\n  H: {min: 1, max: 64}\nlayers:\n  - {name: c1, op: conv, out: 8, kernel: 3}\n"
          "  - {op: relu}\n  - {name: p, op: maxpool, kernel: 2}\n  - {name: c2, op: conv, out: 4, kernel: 3}\n"
          "constraints:\n  - memory <= 64 KiB\n")
# H and W apart, behind an instance norm (its statistics multiply them: past Z3), under a budget
APART = ("input: [3, H, W]\nvars:\n  H: {min: 1, max: 40, default: 16}\n  W: {min: 1, max: 40, default: 24}\n"
         "layers:\n  - {name: c1, op: conv, out: 4, kernel: 3}\n  - {name: n, op: instancenorm}\n"
         "  - {name: p, op: maxpool, kernel: 2}\nconstraints:\n  - memory <= 20 KiB\n")


def valid_sizes(path: Path, others: dict[str, int], name: str, sizes: range, mode: MemoryMode) -> list[int]:
    """The ``sizes`` of ``name`` that check finds valid, one check each."""
    net = build_network(replace(load_spec(str(path)), memory=mode))
    found = []
    for v in sizes:
        try:
            if propagate(net, {**others, name: v}, receptive_fields=False).ok:
                found.append(v)
        except ArchsolveError:
            continue
    return found


@pytest.mark.parametrize(("args", "mode", "values"), [
    ((), MemoryMode(), range(8, 32)),
    (("--batch", "2"), MemoryMode(batch=2), range(8, 23)),
    (("--dtype", "float16"), MemoryMode(dtype=Dtype.FLOAT16), range(8, 40)),
    (("--batch", "40"), MemoryMode(batch=40), range(0)),  # none: exit 1
], ids=["default", "batch-2", "half", "none"])
def test_the_sizes_under_a_budget(args: tuple[str, ...], mode: MemoryMode, values: range, tmp_path: Path) -> None:
    path = write_spec(tmp_path, SQUARE)
    assert valid_sizes(path, {}, "H", range(1, 65), mode) == list(values)
    code, out, _ = run_cli_split("inputs", str(path), "--json", *args)
    axis = json.loads(out)["axes"]["H"]
    assert (code, axis["values"], axis["count"], axis["complete"], "fixed" in axis) == (
        0 if values else 1, list(values), len(values), True, False)


def test_two_sizes_apart_hold_each_other_at_their_defaults(tmp_path: Path) -> None:
    path = write_spec(tmp_path, APART)
    code, out, _ = run_cli_split("inputs", str(path), "--json")
    axes = json.loads(out)["axes"]
    assert code == 0
    assert {n: (a["values"], a["fixed"], a["complete"]) for n, a in axes.items()} == {
        "H": (list(range(4, 18)), {"W": 24}, True),
        "W": (list(range(4, 27)), {"H": 16}, True)}
    assert axes["H"]["values"] == valid_sizes(path, {"W": 24}, "H", range(1, 41), MemoryMode())
    assert axes["W"]["values"] == valid_sizes(path, {"H": 16}, "W", range(1, 41), MemoryMode())
    # --axis: only that one, the other held all the same
    code, out, _ = run_cli_split("inputs", str(path), "--json", "--axis", "W", "--batch", "2")
    axes = json.loads(out)["axes"]
    assert code == 0 and list(axes) == ["W"]
    assert (axes["W"]["values"], axes["W"]["fixed"]) == (valid_sizes(path, {"H": 16}, "W", range(1, 41),
                                                                     MemoryMode(batch=2)),
                                                         {"H": 16})
    # the text says what it held
    code, out = run_cli("inputs", str(path))
    assert code == 0 and out.splitlines()[0] == "H: 14 valid value(s) in 1..40: every value in 4..17"
    assert out.splitlines()[1] == "  with W = 24 (its default: with it open too the question is past the solver)"


CANNOT_HOLD = ("; with other sizes or unknowns open too, inputs cannot answer this (give them a default, fix them "
               "with vars tied to this one, or use solve)\n")


def test_a_size_without_a_default_cannot_be_held(tmp_path: Path) -> None:
    text = APART.replace(", default: 24", "")
    path = write_spec(tmp_path, text.split("constraints:")[0])
    assert run_cli("inputs", str(path)) == (2, refusal(
        path, "7:5", "n: c1.H * c1.W multiplies two sizes that unknowns decide, and the solver keeps products "
                     "linear; fix one of those sizes, or use an expression of the unknowns instead")[:-1] + CANNOT_HOLD)
    # with the budget too, it is the budget that stops it
    path = write_spec(tmp_path, text)
    assert run_cli("inputs", str(path)) == (2, refusal(
        path, "10:5", "constraints[0] (memory <= 20 KiB): memory in a constraint: Z3's encoding cannot count memory "
                      "(the exact search counts it from each answer's whole network)")[:-1] + CANNOT_HOLD)


# -- 6. property: a budget holds exactly when check's figure fits ---------------------------------

@st.composite
def chains(draw: st.DrawFn) -> dict[str, Any]:
    """A small conv chain that is valid by construction: same-size convs, activations and
    norms, and pools while the sizes allow."""
    h, w = draw(st.integers(2, 10)), draw(st.integers(2, 10))
    spec: dict[str, Any] = {"input": [draw(st.integers(1, 3)), h, w], "layers": []}
    for i in range(draw(st.integers(1, 3))):
        k = draw(st.sampled_from([1, 3]))
        spec["layers"].append({"name": f"c{i}", "op": "conv", "out": draw(st.integers(1, 6)), "kernel": k,
                               "padding": k // 2})
        after = draw(st.sampled_from(["relu", "tanh", "gelu", "batchnorm", "instancenorm", "dropout", None]))
        if after and not (after == "instancenorm" and h * w < 2):
            spec["layers"].append({"op": after})
        if min(h, w) >= 2 and draw(st.booleans()):
            spec["layers"].append({"op": draw(st.sampled_from(["maxpool", "avgpool"])), "kernel": 2})
            h, w = h // 2, w // 2
    return spec


def budget_text(n: int, in_kib: bool) -> str:
    """``n`` bytes as written: bytes, or KiB with as many decimals as it takes."""
    if not in_kib:
        return str(n)
    return f"{Decimal(n) / 1024:f} KiB" if n >= 0 else f"-{Decimal(-n) / 1024:f} KiB"


@settings(max_examples=examples(100), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=chains(), batch=st.integers(1, 4), dtype=st.sampled_from([d.value for d in Dtype]),
       on_command_line=st.booleans(), slack=st.tuples(st.integers(-2, 2), st.integers(-2, 2)), in_kib=st.booleans())
def test_a_budget_sees_the_figures_of_check_json(spec: dict[str, Any], batch: int, dtype: str, on_command_line: bool,
                                                 slack: tuple[int, int], in_kib: bool, tmp_path: Path) -> None:
    args: tuple[str, ...] = ("--batch", str(batch), "--dtype", dtype) if on_command_line else ()
    if not on_command_line:
        spec = {"batch": batch, "dtype": dtype, **spec}
    code, out, _ = run_cli_split("check", str(write_spec(tmp_path, spec)), "--json", *args)
    assert code == 0, out
    totals = json.loads(out)["totals"]["memory"]
    assert totals["training"] == totals["saved"] + 4 * totals["params"]
    budgets = {"memory": totals["training"] + slack[0], "activations": totals["activations"] + slack[1]}
    written = {n: budget_text(b, in_kib) for n, b in budgets.items()}
    for n, text in written.items():
        assert parse(text, CONSTRAINT).evaluate({}) == budgets[n]
    constrained = {**spec, "constraints": [f"{n} <= {t}" for n, t in written.items()]}
    code, out, _ = run_cli_split("check", str(write_spec(tmp_path, constrained)), "--json", *args)
    doc = json.loads(out)
    figure = {"memory": totals["training"], "activations": totals["activations"]}
    failed = [f"{n} <= {written[n]} does not hold: {n} = {figure[n]:,} bytes ({bytes_text(figure[n])})"
              for n in ("memory", "activations") if figure[n] > budgets[n]]
    assert (code, doc["totals"]["memory"]) == (1 if failed else 0, totals)
    assert [p["message"] for p in doc["problems"] if p["severity"] == "error"] == failed


def test_the_property_writes_budgets_the_parser_takes() -> None:
    """Any number of bytes is a decimal of KiB (1024 is 2^10): the property's budgets parse
    back to themselves."""
    for n in (1, 7, 1007, 1008, 3072, 1 << 20, (1 << 40) + 1):
        assert parse(budget_text(n, True), CONSTRAINT).evaluate({}) == n
    with pytest.raises(ExprError, match="is not a whole number of bytes"):
        parse(budget_text(1, True).replace("0.0009765625", "0.0009765624"), CONSTRAINT)
