"""Inputs that used to end in exit 4, a traceback or no end at all (issue #19, points 3 and 7):
each is now exit 2 with a message that says what is wrong, quickly.  Devices are private
nodes made in a temporary folder, never the system's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, private_device, run_cli_split, write_spec

PLAIN = "input: [1, 8]\nlayers: [{name: c, op: conv, out: 1, kernel: 3}]\n"
SOLVABLE = 'input: [1, 8]\nlayers: [{name: c, op: conv, out: 1, kernel: "?"}]\nconstraints: [c.L == 6]\n'
HUGE = "9" * 5000
LARGEST = "1,000,000,000,000,000,000"


def _squares(links: int, kernel: str = '"?"') -> str:
    """A chain of tied vars, each the square of the one before: its written-out tree doubles."""
    ties = "".join(f"  v{i}: {'a' if i == 0 else f'v{i - 1}'} * {'a' if i == 0 else f'v{i - 1}'}\n"
                   for i in range(links))
    return f'input: [1, H]\nvars:\n  a: {{min: 3, max: 3}}\n  H: {{min: 8, max: 9}}\n{ties}' \
           f'layers: [{{name: c, op: conv, out: 1, kernel: {kernel}}}]\nconstraints: [v{links - 1} >= 1]\n'


@pytest.mark.parametrize(("args", "message"), [
    (("--max-file-mb", "nan", "check", "{spec}"), "Invalid value for '--max-file-mb': 'nan' is not a finite number."),
    (("--max-file-mb", "inf", "check", "{spec}"), "Invalid value for '--max-file-mb': 'inf' is not a finite number."),
    (("solve", "{spec}", "--timeout", "inf"), "Invalid value for '--timeout': 'inf' is not a finite number."),
    (("solve", "{spec}", "--timeout", "nan"), "Invalid value for '--timeout': 'nan' is not a finite number."),
    (("check", "{spec}", "--set", f"H={HUGE}"),
     f"archsolve: error: --set H: 99999999999999999999... (5000 digits) is over {LARGEST}, the largest number it takes"),
    (("check", "{spec}", "--set", "H=\uff11\uff10"),
     "archsolve: error: --set 'H=\uff11\uff10': expected NAME=INTEGER, e.g. --set H=572"),
    (("inputs", "{spec}", "--range", f"1..{HUGE}"),
     f"archsolve: error: --range: 99999999999999999999... (5000 digits) is over {LARGEST}, the largest number it takes"),
    (("inputs", "{spec}", "--near", HUGE),
     f"Invalid value for '--near': 99999999999999999999... (5000 digits) is over {LARGEST}."),
], ids=["max-file-mb-nan", "max-file-mb-inf", "timeout-inf", "timeout-nan", "set-huge", "set-unicode-digits",
        "range-huge", "near-huge"])
def test_a_bad_number_on_the_command_line_is_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    spec = write_spec(tmp_path, SOLVABLE if "solve" in args else
                      "input: [1, H]\nvars: {H: {min: 8, max: 12}}\nlayers: [{name: c, op: conv, out: 1, kernel: 3}]\n")
    code, out, err = run_cli_split(*[a.format(spec=spec) for a in args])
    last = err.splitlines()[-1]
    assert (code, out, last if last.startswith("archsolve:") else last.removeprefix("Error: ")) == (2, "", message)


@pytest.mark.parametrize(("text", "message"), [
    (PLAIN.replace("out: 1", f"out: {HUGE}"),
     f":2:35: 99999999999999999999... (5000 digits) is over {LARGEST}, the largest number a spec may write"),
    (PLAIN.replace("out: 1", f"out: {'9' * 3000}"),
     f":2:35: 99999999999999999999... (3000 digits) is over {LARGEST}, the largest number a spec may write"),
    (PLAIN.replace("kernel: 3", 'kernel: "1000000000000000000000 // 1000"'),
     f":2:46: layers[0] (c).kernel: 1000000000000000000000 is over {LARGEST}, the largest number a spec may write"),
    (PLAIN.replace("[1, 8]", '[1, "\uff18"]'), ":1:12: input[1]: unexpected '\uff18' at column 1 of '\uff18'"),
    (_squares(24), ":17:8: vars.v12: v12, written out over the vars it names, is over 10,000 terms long "
                   "(v11 * v11 ...); tie it to fewer vars"),
    (_squares(8, kernel="3").replace("min: 3, max: 3", "min: 1000, max: 1000"),
     f":7:7: vars.v2: v2 = v1 * v1 is over {LARGEST} (with v1 = 1000000000000)"),
], ids=["a-5000-digit-literal", "a-3000-digit-literal", "a-huge-literal-in-an-expression", "a-unicode-digit",
        "a-chain-of-squares", "a-tie-past-the-largest-number"])
def test_a_number_no_network_needs_is_a_bad_spec(tmp_path: Path, text: str, message: str) -> None:
    spec = write_spec(tmp_path, text)
    for command in ("check", "solve", "inputs"):
        start = time.monotonic()
        code, out, err = run_cli_split(command, str(spec))
        if command == "check":
            assert (code, out, err) == (2, "", f"archsolve: error: {spec}{message}\n"), command
        else:  # solve and inputs end on time, without a traceback (some answer: the values are only large)
            assert code in (0, 1, 2, 3) and "Traceback" not in err, (command, err)
        assert time.monotonic() - start < 5, command


def test_a_full_device_or_a_closed_output_is_exit_2(tmp_path: Path) -> None:
    """Standard output on a private full device (as /dev/full), then closed."""
    spec = write_spec(tmp_path, PLAIN)
    full = private_device(tmp_path, "full")
    for args in (["check", str(spec)], ["schema"], ["draw", str(spec)]):
        with open(full, "wb") as sink:
            done = subprocess.run([sys.executable, "-m", "archsolve", *args], stdout=sink, stderr=subprocess.PIPE,
                                  text=True, timeout=60, cwd=ROOT)
        assert (done.returncode, done.stderr) == (
            2, "archsolve: error: cannot write the output: No space left on device\n"), args
    closed = subprocess.run([sys.executable, "-m", "archsolve", "check", str(spec)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, timeout=60, cwd=ROOT,
                            preexec_fn=lambda: os.close(1))
    assert (closed.returncode, closed.stderr) == (
        2, "archsolve: error: cannot write the output: standard output is closed\n")


def test_the_merge_fixes_a_check_tries_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each merge fix is tried by a run of the whole network: an add of 1,000 mismatched
    branches would run a million layers. A check runs at most MAX_FIX_RUNS for them, and past
    that offers the fixes it needs no run for."""
    from archsolve.check import advice

    branches = "".join(f"  - {{name: b{i}, from: input, op: conv, out: 3, kernel: 1, padding: {i}}}\n" for i in range(3))
    spec = write_spec(tmp_path, f"input: [3, 16, 16]\nlayers:\n{branches}  - {{name: sum, op: add, from: [b0, b1, b2]}}\n")
    tried = [line.strip() for line in run_cli_split("check", str(spec))[1].splitlines() if "fix:" in line]
    monkeypatch.setattr(advice, "MAX_FIX_RUNS", 0)
    untried = [line.strip() for line in run_cli_split("check", str(spec))[1].splitlines() if "fix:" in line]
    assert any("crop b1 and b2 to b0" in f for f in tried) and not any("crop" in f for f in untried)
    assert set(untried) < set(tried) and any("padding" in f for f in untried)


def test_a_closed_standard_input_is_exit_2(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "archsolve", "check", "-"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, cwd=ROOT, preexec_fn=lambda: os.close(0))
    assert (done.returncode, done.stderr) == (2, "archsolve: error: <stdin>: standard input is closed\n")


def test_check_timeout_stops_the_search_for_advice_not_the_check(tmp_path: Path) -> None:
    """With no time for advice, the shapes and the problem stand, and only the fixes that need
    no trial run are offered (no nearest input sizes, no repairs)."""
    branches = "".join(f"  - {{name: b{i}, from: input, op: conv, out: 3, kernel: 1, padding: {i}}}\n" for i in range(3))
    spec = write_spec(tmp_path, f"input: [3, 16, 16]\nlayers:\n{branches}  - {{name: sum, op: add, from: [b0, b1, b2]}}\n")
    full = run_cli_split("check", str(spec), "--json")
    hurried = run_cli_split("check", str(spec), "--json", "--timeout", "0.001")
    full_doc, hurried_doc = json.loads(full[1]), json.loads(hurried[1])
    assert (full[0], hurried[0]) == (1, 1) and full_doc["layers"] == hurried_doc["layers"]
    assert [p["message"] for p in full_doc["problems"]] == [p["message"] for p in hurried_doc["problems"]]
    assert full_doc["repairs"] and not hurried_doc["repairs"]
    fixes = [{f for p in doc["problems"] if p["layer"] == "sum" for f in p["fixes"]} for doc in (full_doc, hurried_doc)]
    assert fixes[1] < fixes[0] and any(f.startswith("crop") for f in fixes[0] - fixes[1])
