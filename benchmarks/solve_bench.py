"""Time ``archsolve solve`` against a pruned brute-force baseline (benchmarks/brute.py).

    .venv/bin/python benchmarks/solve_bench.py [--only SUBSTR] [--budget S] [--no-profile] [--full]

For every case (spec files in benchmarks/specs/), side by side in one run:

  baseline   benchmarks/brute.py: a plain-Python depth-first search over the layers with
             pruning, the same network written by hand; at most ``--budget`` s (default 10),
             else "timeout"
  in-proc    ``solve_spec(spec, ...)`` alone, timed inside a fresh interpreter that has already
             imported archsolve and z3 and loaded the spec: like the baseline, a warm-up solve
             and then the median of 3 (the ``1st`` column is that warm-up, the first solve in
             the interpreter)
  process    ``python -m archsolve solve SPEC ... --json`` as a whole process, with cached
             bytecode (PYTHONPYCACHEPREFIX in a temp folder, as an installed package has .pyc)
  no-pyc     one whole process in this environment as it is (PYTHONDONTWRITEBYTECODE may be
             set, so every process compiles archsolve's sources)

Every timing is the median of 3 runs after one warm-up run (of 21 where a run takes under
10 ms: such short timings are noisy). A run over 1 s is repeated once only, over 4 s not at
all (that one run is the timing); such timings are marked ``*``.

Modes: ``first`` (any one solution: ``--first``; the baseline stops at its first solution
too), ``opt`` (the default solve: the proven optimum of ``minimize`` or of the sum of all
unknowns), ``all`` (``--all --limit 10000``). A ``first`` row also notes ``--all --limit 1``,
which must look for a second solution to say whether the listing is complete.

Targets: archsolve in-process within 3x of the baseline where the baseline finishes; every
case under 1 s as a whole process; the 12-layer chain under 2 s (whole process). Every failed
target is named at the end; the chain's first solution is marked as a row this bench adds
beyond the issue's cases (the issue's chain is the one "where brute force is hopeless"). Answers are
checked against the baseline: the same set of solutions for ``all``, the same optimum for
``opt``; every archsolve answer is also re-propagated by brute.py's own shape code.

A report, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import brute

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "benchmarks" / "specs"

RATIO_LIMIT = 3.0
PROCESS_LIMIT_S = 1.0
CHAIN_LIMIT_S = 2.0
ALL_LIMIT = 10_000
FAST_S = 0.01           # a first run shorter than this is repeated 21 times (fast timings are noisy)
FAST_REPS = 21
REPEAT_ONCE_S = 1.0     # a first run longer than this is repeated once only
NO_REPEAT_S = 4.0       # ... longer than this, not at all
PROFILE_TIMEOUT_S = 90
NOPYC_MAX_S = 2.0       # the no-pyc process is run only for cases faster than this (compiling costs ~0.05 s)


@dataclass
class Case:
    key: str
    spec: str
    mode: str                                    # first | opt | all
    net: Callable[[], brute.Net]
    weights: dict[str, int] | None = None        # the objective for brute (None: sum of unknowns)
    timeout: float = 60.0                        # archsolve's own --timeout
    chain: bool = False                          # the 12-layer chain (2 s target)
    full_only: bool = False                      # only with --full
    beyond: bool = False                         # a row the bench adds beyond the list of cases


CASES = [
    Case("1 dcgan", "dcgan-solve.yaml", "first", brute.dcgan),
    Case("1 dcgan", "dcgan-solve.yaml", "opt", brute.dcgan),
    Case("1 dcgan", "dcgan-solve.yaml", "all", brute.dcgan),
    *[Case(f"2 unet-pad d{d}", f"unet-padded-d{d}-solve.yaml", mode, lambda d=d: brute.unet_padded(d))
      for d in (3, 4, 5, 6) for mode in ("first", "opt")],
    Case("3 unet-valid d6 k135", "unet-valid-d6-k135.yaml", "opt",
         lambda: brute.unet_valid(6, (1, 3, 5)), weights={"H": 1}),
    Case("3 unet-valid d6 k35", "unet-valid-d6-k35.yaml", "opt",
         lambda: brute.unet_valid(6, (3, 5)), weights={"H": 1}),
    Case("4 aniso3d", "aniso3d-plan.yaml", "first", brute.aniso3d),
    Case("4 aniso3d", "aniso3d-plan.yaml", "opt", brute.aniso3d),
    Case("4 aniso3d", "aniso3d-plan.yaml", "all", brute.aniso3d, full_only=True),
    # the chain is the case "where brute force is hopeless" (the optimum, below); its
    # first solution, which the brute force finds at once, is a stricter row of our own
    Case("5 chain12", "chain12-solve.yaml", "first", brute.chain12, chain=True, beyond=True),
    # archsolve gets --timeout 5 here; it proves the optimum in about 0.1 s, where the
    # brute force runs out of its budget
    Case("5 chain12", "chain12-solve.yaml", "opt", brute.chain12, timeout=5.0, chain=True),
]


@dataclass
class Timing:
    median: float | None = None
    runs: int = 0
    error: str | None = None      # "timeout", or what crashed
    value: Any = None             # the last run's answer

    def text(self) -> str:
        if self.error in ("timeout", "skipped"):
            return {"timeout": "timeout", "skipped": "-"}[self.error]
        if self.error:
            return "CRASH"
        assert self.median is not None
        m = self.median
        text = f"{m:.3f}" if m >= 0.01 else f"{m * 1e3:.1f}ms" if m >= 0.001 else f"{m * 1e6:.0f}us"
        return text + ("" if self.runs >= 3 else "*")


@dataclass
class Row:
    case: Case
    baseline: Timing = field(default_factory=Timing)
    inproc: Timing = field(default_factory=Timing)
    first_call: Timing = field(default_factory=Timing)  # in-proc's warm-up: the interpreter's first solve
    process: Timing = field(default_factory=Timing)
    nopyc: Timing = field(default_factory=Timing)
    checks: list[str] = field(default_factory=list)    # disagreements and crashes
    notes: list[str] = field(default_factory=list)


def repeated(fn: Callable[[], Any]) -> Timing:
    """Warm-up run, then up to 3 timed runs (fewer when a run is slow, 21 when it is fast); median."""
    t = time.perf_counter()
    value = fn()
    first = time.perf_counter() - t
    reps = FAST_REPS if first <= FAST_S else 3 if first <= REPEAT_ONCE_S else 1 if first <= NO_REPEAT_S else 0
    if not reps:
        return Timing(first, 1, value=value)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return Timing(statistics.median(times), reps, value=value)


# -- the three ways of answering ------------------------------------------------------------------
def run_baseline(case: Case, budget: float) -> Timing:
    collect = case.mode == "all"
    try:
        return repeated(lambda: brute.search(case.net(), case.mode, case.weights, budget=budget, collect=collect))
    except brute.Timeout:
        return Timing(error="timeout")


def solve_kwargs(case: Case) -> dict[str, Any]:
    if case.mode == "first":
        return {"first": True, "timeout": case.timeout}
    if case.mode == "list1":
        return {"all_solutions": True, "limit": 1, "timeout": case.timeout}
    if case.mode == "all":
        return {"all_solutions": True, "limit": ALL_LIMIT, "timeout": case.timeout}
    return {"timeout": case.timeout}


def cli_args(case: Case) -> list[str]:
    extra = {"first": ["--first"], "all": ["--all", "--limit", str(ALL_LIMIT)], "opt": []}
    return [*extra[case.mode], "--timeout", f"{case.timeout:g}", "--json"]


# A fresh interpreter per case: it imports archsolve and z3 and loads the spec (untimed), then
# times calls of solve_spec: ``reps`` of them, or (reps 0) as ``repeated`` times the baseline:
# a warm-up, then 21 more if it took at most 10 ms, 3 if at most 1 s, 1 if at most 4 s.
INPROC = r"""
import json, sys, time, traceback
from pathlib import Path
import archsolve.solve.smt.solver  # imports z3
from archsolve.solve.api import solve_spec
from archsolve.spec.load import load_spec
spec = load_spec(sys.argv[1])
kw, reps = json.loads(sys.argv[2]), int(sys.argv[3])
times = []

def wanted():
    if reps or not times:
        return reps or 1
    return 1 + (21 if times[0] <= 0.01 else 3 if times[0] <= 1.0 else 1 if times[0] <= 4.0 else 0)

while len(times) < wanted():
    t = time.perf_counter()
    try:
        r = solve_spec(spec, **kw)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
        print(json.dumps({"error": f"{type(exc).__name__}: {exc} (raised at {where})",
                          "seconds": time.perf_counter() - t}))
        sys.exit(0)
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "status": r.status.value, "complete": r.complete, "optimal": r.optimal,
                  "message": r.message, "solutions": [{"values": s.values, "objective": s.objective}
                                                      for s in r.solutions]}))
"""


def inprocess_once(case: Case, reps: int = 1) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", INPROC, str(SPECS / case.spec), json.dumps(solve_kwargs(case)),
                           str(reps)], cwd=ROOT, capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        return {"error": f"exit {proc.returncode}: {last}"}


def run_inprocess(case: Case) -> tuple[Timing, Timing]:
    """solve_spec's time in a fresh process (import and spec loading excluded), timed like the
    baseline: (the median after a warm-up, the warm-up itself: the interpreter's first solve)."""
    data = inprocess_once(case, reps=0)
    if "error" in data:
        return Timing(error=data["error"]), Timing(error="skipped")
    times = data["times"]
    timed = times[1:] or times
    return Timing(statistics.median(timed), len(timed), value=data), Timing(times[0], 3)


def run_process(case: Case, env: dict[str, str] | None, once: bool = False) -> Timing:
    cmd = [sys.executable, "-m", "archsolve", "solve", str(SPECS / case.spec), *cli_args(case)]

    def go() -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)

    if once:
        t = time.perf_counter()
        proc = go()
        timing = Timing(time.perf_counter() - t, 1, value=proc)
    else:
        timing = repeated(go)
    proc = timing.value
    if proc.returncode not in (0, 1, 3):
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        timing.error = f"exit {proc.returncode}: {last}"
    return timing


def cached_bytecode_env(prefix: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(prefix)
    return env


# -- agreement ---------------------------------------------------------------------------------------
def cost(values: dict[str, int], weights: dict[str, int] | None) -> int:
    if weights is None:
        return sum(values.values())
    return sum(w * values.get(k, 0) for k, w in weights.items())


def compare(row: Row) -> None:
    case, base, res = row.case, row.baseline, row.inproc
    if res.error:
        row.checks.append(f"archsolve in-process crashed: {res.error}")
        return
    r = res.value
    sols = r["solutions"]
    net = case.net()
    names = sorted(net.unknowns)
    if sols and sorted(sols[0]["values"]) != names:
        row.checks.append(f"archsolve names unknowns {sorted(sols[0]['values'])}, brute.py {names}")
        return
    invalid = [s["values"] for s in sols if net.evaluate(s["values"]) is None]
    if invalid:
        row.checks.append(f"{len(invalid)} archsolve answer(s) fail brute.py's shape check, e.g. {invalid[0]}")
    if r["status"] != "sat":
        row.checks.append(f"archsolve status {r['status']!r}" + (f": {r['message']}" if r["message"] else ""))
    found = len(sols)
    if case.mode == "opt" and sols:
        mine = sols[0]["objective"]
        if mine != cost(sols[0]["values"], case.weights):
            row.checks.append(f"archsolve reports objective {mine}, its values sum to "
                              f"{cost(sols[0]['values'], case.weights)}")
        row.notes.append(f"optimum {mine}" + ("" if r["optimal"] else " (not proven)"))
    if case.mode == "all":
        row.notes.append(f"{found} solutions" + ("" if r["complete"] else " (incomplete)"))
    if base.error:
        return
    b = base.value
    if case.mode == "first" and (found > 0) != (b.found > 0):
        row.checks.append(f"archsolve found {found} solution(s), brute.py {b.found}")
    if case.mode == "opt":
        if b.best is None and sols:
            row.checks.append("brute.py finds no solution")
        elif sols and sols[0]["objective"] != b.best:
            row.checks.append(f"optimum: archsolve {sols[0]['objective']}, brute.py {b.best} "
                              f"(brute.py's {b.best_values})")
    if case.mode == "all":
        mine = {tuple(sorted(s["values"].items())) for s in sols}
        if not r["complete"] or found != b.found or mine != b.solutions:
            row.checks.append(f"--all: archsolve {found} (complete={r['complete']}), brute.py {b.found}; "
                              f"{len(mine - b.solutions)} only in archsolve, {len(b.solutions - mine)} only in brute.py")


def compare_process(row: Row) -> None:
    """The whole process's --json answer must match the in-process one."""
    for label, t in (("process", row.process), ("no-pyc process", row.nopyc)):
        if t.error == "skipped":
            continue
        if t.error:
            row.checks.append(f"{label}: {t.error}")
            continue
        if row.inproc.error or t.value is None:
            continue
        try:
            doc = json.loads(t.value.stdout)
        except ValueError:
            row.checks.append(f"{label}: stdout is not JSON: {t.value.stdout[:120]!r}")
            continue
        r = row.inproc.value
        # "first" may be any solution: compare the objective only where it is determined
        det = row.case.mode != "first"
        got = (doc.get("status"), len(doc.get("solutions", [])),
               doc["solutions"][0].get("objective") if det and doc.get("solutions") else None)
        want = (r["status"], len(r["solutions"]), r["solutions"][0]["objective"] if det and r["solutions"] else None)
        if got != want:
            row.checks.append(f"{label} --json (status, count, objective) = {got}, in-process {want}")


# -- the report ------------------------------------------------------------------------------------------
def verdicts(row: Row) -> str:
    out = []
    b, a = row.baseline, row.inproc
    if not a.error and not b.error and b.median is not None and a.median is not None:
        out.append("3x:" + ("PASS" if a.median <= RATIO_LIMIT * b.median else "FAIL"))
    elif a.error:
        out.append("3x:FAIL")
    else:
        out.append("3x:n/a")
    p = row.process
    ok_p = not p.error and p.median is not None
    out.append("<1s:" + ("PASS" if ok_p and p.median < PROCESS_LIMIT_S else "FAIL"))
    if row.case.chain:
        out.append("<2s:" + ("PASS" if ok_p and p.median < CHAIN_LIMIT_S else "FAIL"))
    return " ".join(out)


def ratio(row: Row) -> str:
    b, a = row.baseline, row.inproc
    if a.error or b.error or not b.median or a.median is None:
        return "-"
    r = a.median / b.median
    return f"{r:.1f}" if r < 1000 else f"{r:.0f}"


PROFILE = r"""
import cProfile, json, pstats, sys
import archsolve.solve.smt.solver
from archsolve.solve.api import solve_spec
from archsolve.spec.load import load_spec
spec = load_spec(sys.argv[1])
prof = cProfile.Profile()
prof.enable()
try:
    solve_spec(spec, **json.loads(sys.argv[2]))
except Exception as exc:
    print(f"(the profiled run raised {type(exc).__name__}: {exc})")
prof.disable()
pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(15)
"""


def profile_case(case: Case) -> str:
    """cProfile of one solve in a fresh process (its first solve), top 15 by cumulative time."""
    try:
        proc = subprocess.run([sys.executable, "-c", PROFILE, str(SPECS / case.spec),
                               json.dumps(solve_kwargs(case))], cwd=ROOT, capture_output=True, text=True,
                              timeout=PROFILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"(the profiled run took over {PROFILE_TIMEOUT_S} s; skipped)"
    return proc.stdout.rstrip() or proc.stderr.rstrip()


def git_state() -> str:
    """The commit the report measures, and whether archsolve/ differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "archsolve"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "(no git)"
    return f"commit {head or '?'}" + (" with uncommitted changes in archsolve/" if dirty else "")


def run(args: argparse.Namespace) -> None:
    cases = [c for c in CASES if (args.full or not c.full_only) and (not args.only or args.only in c.key)]
    t_start = time.perf_counter()
    print(f"archsolve solve vs pruned brute force (benchmarks/brute.py); python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPU(s); load average {os.getloadavg()[0]:.2f}")
    print(f"archsolve at {git_state()}")
    print(f"seconds, median of 3 after a warm-up (* = a slow case: fewer runs); baseline budget {args.budget:g} s; "
          f"1st: archsolve's first solve in a fresh interpreter (in-proc's warm-up); "
          f"no-pyc: one run, only where process < {NOPYC_MAX_S:g} s")
    inprocess_once(CASES[0])  # warm-up: OS caches for the interpreter, archsolve and z3
    tmp = Path(tempfile.mkdtemp(prefix="archsolve-solve-bench-"))
    pyc_env = cached_bytecode_env(tmp / "pycache")
    rows: list[Row] = []
    head = (f"{'case':22}{'mode':6}{'baseline':>9}{'in-proc':>9}{'ratio':>7}{'1st':>9}{'process':>9}"
            f"{'no-pyc':>8}  targets")
    print()
    print(head)
    print("-" * (len(head) + 22))
    try:
        for case in cases:
            row = Row(case)
            row.baseline = run_baseline(case, args.budget)
            row.inproc, row.first_call = run_inprocess(case)
            if case.mode == "first":  # the listing's first: it also looks for a second one
                listed, _ = run_inprocess(Case(case.key, case.spec, "list1", case.net, timeout=case.timeout))
                if listed.median is not None and row.baseline.median:
                    row.notes.append(f"--all --limit 1: {listed.text()}, {listed.median / row.baseline.median:.1f}x")
            row.process = run_process(case, pyc_env)
            if row.process.median is not None and row.process.median < NOPYC_MAX_S:
                row.nopyc = run_process(case, None, once=True)
            else:
                row.nopyc = Timing(error="skipped")
            compare(row)
            compare_process(row)
            rows.append(row)
            agree = "agree" if not row.checks else "DISAGREE/CRASH"
            print(f"{case.key:22}{case.mode:6}{row.baseline.text():>9}{row.inproc.text():>9}{ratio(row):>7}"
                  f"{row.first_call.text():>9}{row.process.text():>9}{row.nopyc.text():>8}  {verdicts(row)}  {agree}"
                  + (f"  ({'; '.join(row.notes)})" if row.notes else ""), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("spec files (benchmarks/specs/):")
    for spec in dict.fromkeys(c.spec for c in cases):
        print(f"  {', '.join(dict.fromkeys(c.key for c in cases if c.spec == spec)):24} {spec}")
    print()
    bad = [r for r in rows if r.checks]
    print("disagreements and crashes:" + ("" if bad else " none"))
    for r in bad:
        for c in r.checks:
            print(f"  {r.case.key} {r.case.mode} ({r.case.spec}): {c}")
    fails = [(r, v) for r in rows for v in verdicts(r).split() if v.endswith("FAIL")]
    print(f"targets: {sum(v.endswith('PASS') for r in rows for v in verdicts(r).split())} PASS, "
          f"{len(fails)} FAIL (3x = in-process <= {RATIO_LIMIT:g} x baseline; <1s = whole process "
          f"with cached .pyc; <2s = the 12-layer chain, whole process)")
    for r, v in fails:
        print(f"  FAIL {v.split(':')[0]}: {r.case.key} {r.case.mode}"
              + (" (a row beyond the issue's list of cases)" if r.case.beyond else ""))

    if not args.no_profile:
        timed = [r for r in rows if not r.inproc.error and r.inproc.median is not None]
        if timed:
            slow = max(timed, key=lambda r: r.inproc.median or 0.0)
            print()
            print(f"cProfile of the slowest archsolve case that finished: {slow.case.key} {slow.case.mode} "
                  f"({slow.case.spec}, {slow.inproc.median:.3f} s in-process), top 15 by cumulative")
            print(profile_case(slow.case).rstrip())
    print()
    print(f"total {time.perf_counter() - t_start:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the cases whose name contains this (e.g. 'dcgan', '2 unet')")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds the baseline may take (default 10)")
    parser.add_argument("--full", action="store_true", help="also list all solutions of the 3D plan (slow)")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile of the slowest case")
    args = parser.parse_args()
    try:
        run(args)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except Exception as exc:  # noqa: BLE001 -- a report: say what failed, never fail the build
        traceback.print_exc()
        print(f"benchmark error: {type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
