"""Every engine honours ``--timeout T`` (the run ends within 1.2 T + 1 s, exit 3 with what it
found) and keeps its memory bounded (past a bound: exit 2 or 3 with a message, never a
MemoryError), on wide layers (kernel 1..40, stride 1..10, dilation 1..10: 4,000
combinations a layer), on deep chains, and under ``--max-combinations 10^12`` (issues #18
and #19)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from archsolve.check.api import check_spec
from archsolve.errors import SpecError
from archsolve.limits import Limits
from archsolve.solve.api import solve_spec
from archsolve.solve.inputs import input_sizes
from archsolve.solve.outcome import SolveStatus
from archsolve.solve.smt import system
from archsolve.spec.load import load_text

from .conftest import ROOT

SLACK = 1.5  # a loaded two-core CI machine
GIB = 1 << 30


def wide_chain(layers: int, *, kernel: int = 40, stride: int = 10, dilation: int = 10, target: str = "") -> str:
    """A chain of 1-d convs whose kernel, stride and dilation are all unknown, over wide domains."""
    lines = ["input: [3, 4096]", "domains:", f"  kernel: {{min: 1, max: {kernel}}}",
             f"  stride: {{min: 1, max: {stride}}}", f"  dilation: {{min: 1, max: {dilation}}}", "layers:"]
    lines += [f'  - {{name: c{i}, op: conv, out: 4, kernel: "?", stride: "?", dilation: "?"}}' for i in range(layers)]
    if target:
        lines.append(f"constraints: [{target}]")
    return "\n".join(lines) + "\n"


def deep_chain(layers: int) -> str:
    """A valid chain of ``layers`` 3x3 convs whose input size H is open."""
    lines = ["input: [8, H, H]", "vars: {H: {min: 1, max: 4096}}", "layers:"]
    lines += [f"  - {{name: c{i}, op: conv, out: 8, kernel: 3, padding: 1}}" for i in range(layers)]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def start_s() -> float:
    """How long ``python -m archsolve`` takes to start here: the bound adds it."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "archsolve", "--version"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - began


@dataclass(frozen=True)
class Run:
    """A finished CLI run."""

    returncode: int
    stdout: str
    stderr: str


# the CLI, writing its peak memory (VmHWM, of this program alone: a forked child's rusage
# counts the pytest worker it was forked from) to the file in argv[1] as it exits
MEASURED = """
import atexit, re, runpy, sys
peak_file = sys.argv.pop(1)
def peak():
    status = open("/proc/self/status").read()
    open(peak_file, "w").write(re.search(r"VmHWM:\\s*(\\d+) kB", status).group(1))
atexit.register(peak)
sys.argv[0] = "archsolve"
runpy.run_module("archsolve", run_name="__main__")
"""


def run(args: list[str], tmp_path: Path) -> tuple[Run, float, int]:
    """The CLI's result, its wall time and its peak memory (bytes)."""
    peak = tmp_path / "peak"
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", MEASURED, str(peak), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    took = time.perf_counter() - began
    return Run(proc.returncode, proc.stdout, proc.stderr), took, int(peak.read_text()) * 1024


@pytest.mark.parametrize(("engine", "message"), [
    ("auto", "the solver timed out before finding any solution"),
    ("search", "the exact search found no solution before it stopped: the time ran out"),
    ("z3", "the solver timed out before finding any solution"),
])
def test_every_engine_stops_at_its_timeout_on_wide_layers(tmp_path: Path, start_s: float, engine: str,
                                                            message: str) -> None:
    spec = tmp_path / "wide.yaml"
    spec.write_text(wide_chain(40, target="c39.L == 7"))
    proc, took, peak = run(["solve", str(spec), "--engine", engine, "--timeout", "1"], tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, f"{spec}: UNKNOWN: {message}\n", "")
    assert took < 1.2 * 1 + 1 + start_s + SLACK
    assert peak < GIB
    proc, took, _ = run(["solve", str(spec), "--engine", engine, "--timeout", "1", "--json"], tmp_path)
    assert (proc.returncode, json.loads(proc.stdout)["status"]) == (3, "unknown")
    assert took < 1.2 * 1 + 1 + start_s + SLACK


@pytest.mark.parametrize("engine", ["auto", "search", "z3"])
def test_a_layer_of_a_billion_combinations_is_refused_at_once_whatever_max_combinations_says(
        tmp_path: Path, engine: str) -> None:
    spec = tmp_path / "huge.yaml"
    spec.write_text(wide_chain(2, kernel=1000, stride=1000, dilation=1000))
    proc, took, _ = run(["--max-combinations", str(10**12), "solve", str(spec), "--engine", engine, "--timeout", "5"], tmp_path)
    if engine == "search":  # out of the search's reach: it says so, as for any question it cannot take
        assert (proc.returncode, proc.stdout) == (
            3, f"{spec}: UNKNOWN: the exact search gave up (out of its reach)\n")
    else:
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", (
            f"archsolve: error: {spec}:7:5: c0: 1,000,000,000 combinations of c0.dilation, c0.kernel, c0.stride to "
            "try (the limit is 1,000,000: --max-combinations is capped there, as more would not fit in memory); "
            "narrow their domains\n"))
    assert took < 5


def test_a_layer_of_a_million_combinations_stops_at_its_timeout(tmp_path: Path, start_s: float) -> None:
    """99^3 = 970,299 combinations a layer, under the cap: ranking them watches the clock."""
    spec = tmp_path / "wide.yaml"
    spec.write_text(wide_chain(2, kernel=99, stride=99, dilation=99, target="c1.L == 7"))
    proc, took, peak = run(["--max-combinations", str(10**12), "solve", str(spec), "--engine", "search",
                            "--timeout", "1"], tmp_path)
    assert (proc.returncode, proc.stdout) == (
        3, f"{spec}: UNKNOWN: the exact search found no solution before it stopped: the time ran out\n")
    assert took < 1.2 * 1 + 1 + start_s + SLACK
    assert peak < GIB


def test_a_layer_of_a_million_combinations_stops_at_the_memory_budget(tmp_path: Path) -> None:
    """With time to spare, the search stops where it holds as much as it may: about 0.3 GB."""
    spec = tmp_path / "wide.yaml"
    spec.write_text(wide_chain(2, kernel=99, stride=99, dilation=99, target="c1.L == 7"))
    proc, _, peak = run(["--max-combinations", str(10**12), "solve", str(spec), "--engine", "search",
                         "--timeout", "60"], tmp_path)
    assert (proc.returncode, proc.stdout) == (
        3, f"{spec}: UNKNOWN: the exact search found no solution before it stopped: the search holds 2,000,000 "
           "results, as many as fit in its memory budget\n")
    assert peak < GIB


def test_z3s_tables_stop_at_their_memory_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "MAX_TRIED", 1000)
    spec = load_text(wide_chain(3, target="c2.L == 7"), limits=Limits())
    with pytest.raises(SpecError) as caught:
        solve_spec(spec, engine="z3", timeout=60)
    assert str(caught.value) == (
        "<spec>:7:5: c0: the solver has run 1,024 combinations of hyperparameters, past the 1,000 whose results "
        "fit in memory; narrow the domains")


def test_z3s_translation_of_wide_tables_reads_the_clock_within_a_table() -> None:
    """The time left once the system is built may end inside a wide table's translation
    (100 layers of kernel 1..40, stride 1..10, dilation 1..10 took 11 s at --timeout 5,
    the clock read every 16 tables): it is read every 64 of a table's effects."""
    from archsolve.errors import SolverTimeout
    from archsolve.shapes.graph import build_network
    from archsolve.solve.smt.solver import encode
    from archsolve.solve.smt.system import build_system, constraint_exprs

    built = build_system(build_network(load_text(wide_chain(4, target="c3.L == 7"), limits=Limits())))
    assert min(len(t.effects) for t in built.tables) > 500  # each table takes a while to translate
    began = time.perf_counter()
    with pytest.raises(SolverTimeout, match="the time ran out translating the tables"):
        encode(built, constraint_exprs(built), counts=[], timeout=0.05)
    assert time.perf_counter() - began < 0.3 + SLACK


@pytest.mark.parametrize("engine", ["auto", "search", "z3"])
def test_solve_on_a_deep_chain_stops_at_its_timeout(engine: str) -> None:
    """5,000 layers take Z3 seconds to encode and the search a while to plan: both look at the clock on the way."""
    spec = load_text(deep_chain(5000), limits=Limits())
    began = time.perf_counter()
    res = solve_spec(spec, engine=engine, timeout=0.3)
    assert time.perf_counter() - began < 1.2 * 0.3 + 1 + SLACK
    assert res.status in (SolveStatus.SAT, SolveStatus.UNKNOWN)


def test_inputs_on_a_deep_chain_stops_at_its_timeout() -> None:
    spec = load_text(deep_chain(5000), limits=Limits())
    began = time.perf_counter()
    report = input_sizes(spec, timeout=0.3)["H"]
    assert time.perf_counter() - began < 1.2 * 0.3 + 1 + SLACK
    assert (report.complete, report.values) == (False, [])


def test_checks_scan_for_a_valid_size_stops_at_its_timeout() -> None:
    """The smallest valid H is 4,000: one check per size from 1 would take seconds.  The scan
    stops in time, and the check at H = 1 says why it is there; or, where the size walk
    (whose backward pass sees H >= 4000 at once) finishes within the time, the check is at
    4,000 (about a second more): either way within the bound, and either note true."""
    spec = load_text(deep_chain(300) + "  - {name: p, op: maxpool, kernel: 4000}\n", limits=Limits())
    began = time.perf_counter()
    report = check_spec(spec, until=time.monotonic() + 0.5)
    assert time.perf_counter() - began < 1.2 * 0.5 + 1 + SLACK
    assert report.notes in (
        ["no valid value of H found in 1..4096 within the time (not proven: 'archsolve solve' may find one); "
         "checked at H = 1"],
        ["checked at H = 4000, the smallest valid value in 1..4096 (--set H=N checks another)"])


def test_export_stops_at_its_timeout_finding_the_sizes_its_module_checks(tmp_path: Path, start_s: float) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text(deep_chain(5000))
    proc, took, _ = run(["export", str(spec), "--set", "H=8", "--timeout", "1"], tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "", (
        "archsolve: timeout: the time ran out while finding the valid sizes of H, which the module checks its "
        "input against; give a longer --timeout\n"))
    assert took < 1.2 * 1 + 1 + start_s + SLACK


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_gives_graphviz_what_is_left_of_its_timeout(tmp_path: Path) -> None:
    spec = tmp_path / "two.yaml"
    spec.write_text(deep_chain(2))
    proc, _, _ = run(["draw", str(spec), "--format", "svg", "--timeout", "0.001", "-o", str(tmp_path / "d.svg")],
                     tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "", (
        "archsolve: timeout: Graphviz's dot did not finish its 2-layer layout in time; give a longer --timeout, "
        "or write --format dot and lay it out with other options\n"))
    assert not (tmp_path / "d.svg").exists()
