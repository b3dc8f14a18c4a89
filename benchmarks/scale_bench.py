"""The solver at scale (issue #18): a generated family of problems, timed as whole processes.

    .venv/bin/python benchmarks/scale_bench.py [--timeout T] [--quick] [--only SUBSTR] [--engines E,..] [--json FILE]

Every spec is generated into a temp folder (never into the tree), then each case is run once
per engine (auto, dp, search, z3; ``--engines`` picks some) as ``python -m archsolve solve SPEC --json --timeout T`` with
cached bytecode (PYTHONPYCACHEPREFIX in a temp folder, as run.py's (a+)). Each run is timed
from outside, its peak RSS is read from ``os.wait4``, and it is killed at 1.5 T + 5 s (the
timeout family and ``check``: at 60 s).

Families (``--quick``: depths 4, 12 and 24, U-Nets 3 and 7, 3D 3 and 6):

  chain    depth 4..24, half conv down then half deconv up, every kernel, stride, padding and
           dilation ``"?"`` (default domains), input 64 or 256, the size N/4 in the middle of
           the way down, N/16 at the bottleneck and N at the output; variants ``opt`` (the
           proven optimum of the sum of unknowns), ``first`` (``--first``), ``unsat`` (kernel
           even, stride even, dilation odd: every deconv gives an even size, the output must
           be N + 1), ``count`` (``--all --count --limit 10``, depth 4 only)
  unet     depth 3..8, valid 3x3 convs, crop and concat, ``exact``; every pool's kernel and
           stride and every up-conv's kernel, stride and padding ``"?"`` (stride 2..4: each
           level must pool); input ``[1, H, H]``, H in 1..4096, ``minimize: H``; also ``count``
           (the count runs over every H: an engine may list the first and say ``not counted``)
  aniso3d  depth 3..6, 3D U-Net plan, per-axis pool kernel and upsample scale in 1..2,
           input [1, 16, 8 * 2**d, 8 * 2**d], bottleneck [C, 2, 8, 8]; ``opt``, ``first``, ``count``
  timeout  ``--timeout 5`` on 100- and 200-layer chains with wide domains (kernel 1..40,
           stride 1..10, dilation 1..10; ``opt``: padding left at 0, ``opt-pad``: padding open too);
           ``inputs --timeout 5`` on a 99,979-layer spec with an open input size
  add      ``check`` of an ``add`` of 100 and 1,000 mismatched branches (issue #19): a finding
           (exit 1) under 1 s

An engine that runs out of time on a case is not run on the same case at a greater depth
(marked ``skip``): it would only run out of time again, and the bench must end.

Answers are checked: the JSON must parse and give the status the case expects; every
proven optimum is written (``--write``) and ``archsolve check`` must pass on it; engines that
prove an optimum must agree on its objective. Then the targets, each PASS or FAIL, and the
cost per layer of the chains (the issue asks for about linear growth).

A report, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("auto", "dp", "search", "z3")
RSS_LIMIT_MB = 1024
LONG_KILL_S = 60.0       # the timeout family and check: how far past the limit they go is the point
CHAIN_DEPTHS = (4, 8, 12, 16, 20, 24)
UNET_DEPTHS = (3, 4, 5, 6, 7, 8)
ANISO_DEPTHS = (3, 4, 5, 6)
QUICK = {"chain": (4, 12, 24), "unet": (3, 7), "aniso3d": (3, 6)}
WIDE_DOMAINS = "domains:\n  kernel: {min: 1, max: 40}\n  stride: {min: 1, max: 10}\n  dilation: {min: 1, max: 10}\n"
PARITY_DOMAINS = ("domains:\n  kernel: {in: [2, 4, 6, 8, 10]}\n  stride: {in: [2, 4]}\n"
                  "  dilation: {in: [1, 3]}\n")


# ---- generators -------------------------------------------------------------------------------

def chain_spec(*, depth: int, size: int, middle: bool = True, domains: str = "", out_size: int | None = None,
               padding: bool = True) -> str:
    """A conv-down, deconv-up chain of ``depth`` layers, every k/s/p/d open (p left out: 0 if not ``padding``).

    The bottleneck (the last conv) must be ``size // 16``, the conv halfway down ``size // 4``
    (when ``middle``), the output ``out_size`` (default: ``size``).

    >>> print(chain_spec(depth=4, size=64).splitlines()[-1])
      - u2.shape == [3, 64, 64]
    """
    half = depth // 2
    open_fields = 'kernel: "?", stride: "?", ' + ('padding: "?", ' if padding else "") + 'dilation: "?"'
    lines = [f"name: chain{depth}-{size}", f"input: [3, {size}, {size}]", domains.rstrip("\n"), "layers:"]
    lines += [f"  - {{name: c{i}, op: conv, out: 16, {open_fields}}}" for i in range(1, half + 1)]
    lines += [f"  - {{name: u{i}, op: deconv, out: {3 if i == depth - half else 16}, {open_fields}}}"
              for i in range(1, depth - half + 1)]
    lines.append("constraints:")
    if middle and half >= 2:
        lines.append(f"  - c{half // 2}.H == {size // 4}")
    lines.append(f"  - c{half}.H == {size // 16}")
    end = size if out_size is None else out_size
    lines.append(f"  - u{depth - half}.shape == [3, {end}, {end}]")
    return "\n".join(line for line in lines if line) + "\n"


def unet_spec(depth: int) -> str:
    """A valid-conv U-Net of ``depth`` levels, pools and up-convs open, the smallest input wanted.

    >>> "minimize: H" in unet_spec(3)
    True
    """
    lines = [f"name: unet{depth}", "exact: true", "input: [1, H, H]", "vars:", "  H: {min: 1, max: 4096}",
             "domains:", "  stride: {min: 2, max: 4}", "blocks:", "  dc:", "    params: {c: null}", "    layers:",
             "      - {name: a, op: conv, out: c, kernel: 3}", "      - {op: relu}",
             "      - {name: b, op: conv, out: c, kernel: 3}", "      - {op: relu}", "layers:"]
    for i in range(1, depth + 1):
        lines += [f"  - {{name: enc{i}, block: dc, c: {min(8 * 2 ** i, 256)}}}",
                  f'  - {{name: pool{i}, op: maxpool, kernel: "?", stride: "?"}}']
    lines.append("  - {name: mid, block: dc, c: 256}")
    for i in range(depth, 0, -1):
        lines += [f'  - {{name: up{i}, op: deconv, out: {min(8 * 2 ** i, 256)}, kernel: "?", stride: "?", padding: "?"}}',
                  f"  - {{name: crop{i}, op: crop, from: enc{i}, like: up{i}}}",
                  f"  - {{name: cat{i}, op: concat, from: [crop{i}, up{i}]}}",
                  f"  - {{name: dec{i}, block: dc, c: {min(8 * 2 ** i, 256)}}}"]
    lines += ["  - {name: head, op: conv, out: 2, kernel: 1}", "minimize: H"]
    return "\n".join(lines) + "\n"


def aniso3d_spec(depth: int) -> str:
    """A 3D U-Net plan of ``depth`` levels: which axes each level pools (depth axis 16 -> 2).

    >>> aniso3d_spec(3).splitlines()[1]
    'input: [1, 16, 64, 64]'
    """
    side = 8 * 2 ** depth
    lines = [f"name: aniso3d-{depth}", f"input: [1, 16, {side}, {side}]", "domains:", "  kernel: {min: 1, max: 2}",
             "  scale: {min: 1, max: 2}", "blocks:", "  cbr:", "    params: {c: null}", "    layers:",
             "      - {name: c, op: conv, out: c, kernel: 3, padding: 1}", "      - {op: relu}", "layers:"]
    for i in range(1, depth + 1):
        lines += [f"  - {{name: enc{i}, block: cbr, c: 8}}",
                  f'  - {{name: pool{i}, op: maxpool, kernel: ["?", "?", "?"]}}']
    lines.append("  - {name: mid, block: cbr, c: 8}")
    for i in range(depth, 0, -1):
        lines += [f'  - {{name: up{i}, op: upsample, scale: ["?", "?", "?"]}}',
                  f"  - {{name: cat{i}, op: concat, from: [enc{i}, up{i}]}}",
                  f"  - {{name: dec{i}, block: cbr, c: 8}}"]
    lines += ["  - {name: head, op: conv, out: 2, kernel: 1}", "constraints:", "  - mid.shape == [8, 2, 8, 8]"]
    return "\n".join(lines) + "\n"


def unsat_chain_spec(*, depth: int, size: int) -> str:
    """Even kernels and strides and odd dilations make every deconv's size even: an odd output is unsat.

    >>> "u2.shape == [3, 65, 65]" in unsat_chain_spec(depth=4, size=64)
    True
    """
    return chain_spec(depth=depth, size=size, domains=PARITY_DOMAINS, out_size=size + 1)


def inputs_deep_spec(groups: int = 5, units: int = 3999) -> str:
    """A chain of ``groups * units * 5 + groups - 1`` layers (99,979 by default), input size open.

    Residual units (conv 3x3 padded, relu, conv, add, relu) written once as a block and called
    with ``repeat`` (a flat 100k-layer file is over the 2 MB a spec may be; a network may have at most 100,000 rows), a halving pool
    between groups, ``exact``: the valid sizes are the multiples of 2 ** (groups - 1).

    >>> inputs_deep_spec(2, 3).splitlines()[-1]
    '  - {name: g1, block: unit, repeat: 3}'
    """
    lines = ["name: deep-inputs", "exact: true", "input: [8, H, H]", "vars:", "  H: {min: 1, max: 4096}",
             "blocks:", "  unit:", "    layers:", "      - {name: a, op: conv, out: 8, kernel: 3, padding: 1}",
             "      - {op: relu}", "      - {name: b, op: conv, out: 8, kernel: 3, padding: 1}",
             "      - {op: add, from: [b, in]}", "      - {op: relu}", "layers:"]
    for g in range(groups):
        if g:
            lines.append(f"  - {{name: p{g}, op: maxpool, kernel: 2}}")
        lines.append(f"  - {{name: g{g}, block: unit, repeat: {units}}}")
    return "\n".join(lines) + "\n"


def mismatched_add_spec(branches: int) -> str:
    """``branches`` 1x1 convs of the input, each padded differently, added together: every size differs.

    >>> mismatched_add_spec(2).splitlines()[-1]
    '  - {name: sum, op: add, from: [b0, b1]}'
    """
    lines = ["name: add-mismatch", "input: [3, 16, 16]", "layers:"]
    lines += [f"  - {{name: b{i}, from: input, op: conv, out: 3, kernel: 1, padding: {i}}}" for i in range(branches)]
    lines.append(f"  - {{name: sum, op: add, from: [{', '.join(f'b{i}' for i in range(branches))}]}}")
    return "\n".join(lines) + "\n"


# ---- cases and runs ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    family: str          # chain | unet | aniso3d | timeout
    depth: int
    variant: str         # opt | first | unsat | count | inputs | check
    spec: str            # file name in the work folder
    expect: str          # opt | first | unsat | count | any (the timeout family); "|" between outcomes that all pass
    size: int = 0        # the chain's input size
    timeout: float | None = None    # overrides --timeout (the timeout family: 5 s)

    @property
    def key(self) -> str:
        size = f" in{self.size}" if self.size else ""
        return f"{self.family} d{self.depth}{size} {self.variant}"


@dataclass
class Run:
    case: str
    engine: str
    wall_s: float | None = None
    exit: int | None = None
    outcome: str = "skip"         # opt | first | unsat | count=N | no-count | not-counted | timeout | refused | killed | FAIL | skip | ok | finding
    rss_mb: float | None = None
    objective: int | None = None
    notes: list[str] = field(default_factory=list)


def run_process(argv: list[str], *, env: dict[str, str], cwd: Path, limit_s: float, out: Path) -> tuple[float, int | None, float]:
    """Run ``argv`` with stdout to ``out``; (wall seconds, exit code or None if killed, peak RSS MB)."""
    with out.open("wb") as sink:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(limit_s, kill)
        timer.start()
        # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN is the max over all children)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, None if killed.is_set() else proc.returncode, usage.ru_maxrss / 1024


def build_cases(work: Path, *, quick: bool) -> list[Case]:
    """Write every spec into ``work``; the cases in report order."""
    def depths(family: str, full: tuple[int, ...]) -> tuple[int, ...]:
        return QUICK[family] if quick else full

    def write(name: str, text: str) -> str:
        (work / name).write_text(text)
        return name

    cases = []
    for size in (64, 256):
        for depth in depths("chain", CHAIN_DEPTHS):
            spec = write(f"chain{depth}-{size}.yaml", chain_spec(depth=depth, size=size))
            unsat = write(f"chain{depth}-{size}-unsat.yaml", unsat_chain_spec(depth=depth, size=size))
            cases += [Case("chain", depth, "opt", spec, "opt", size=size),
                      Case("chain", depth, "first", spec, "first", size=size),
                      Case("chain", depth, "unsat", unsat, "unsat", size=size)]
        cases.append(Case("chain", 4, "count", f"chain4-{size}.yaml", "count", size=size))
    for depth in depths("unet", UNET_DEPTHS):
        spec = write(f"unet{depth}.yaml", unet_spec(depth))
        # a U-Net's count runs over every input size: past the walk's states, an engine may
        # list the first ones and say it did not count (not-counted)
        cases += [Case("unet", depth, "opt", spec, "opt"), Case("unet", depth, "count", spec, "count|not-counted")]
    for depth in depths("aniso3d", ANISO_DEPTHS):
        spec = write(f"aniso3d-{depth}.yaml", aniso3d_spec(depth))
        cases += [Case("aniso3d", depth, "opt", spec, "opt"), Case("aniso3d", depth, "first", spec, "first"),
                  Case("aniso3d", depth, "count", spec, "count")]
    for depth in (100, 200):
        spec = write(f"wide{depth}.yaml", chain_spec(depth=depth, size=256, domains=WIDE_DOMAINS, padding=False))
        padded = write(f"wide{depth}-pad.yaml", chain_spec(depth=depth, size=256, domains=WIDE_DOMAINS))
        cases += [Case("timeout", depth, "opt", spec, "any", size=256, timeout=5.0),
                  Case("timeout", depth, "opt-pad", padded, "any", size=256, timeout=5.0)]
    cases.append(Case("timeout", 99_979, "inputs", write("deep100k.yaml", inputs_deep_spec()), "any", timeout=5.0))
    for branches in (100, 1000):
        cases.append(Case("add", branches, "check", write(f"add{branches}.yaml", mismatched_add_spec(branches)),
                          "finding"))
    return cases


def command(case: Case, engine: str, *, timeout: float, written: Path) -> list[str]:
    cli = [sys.executable, "-m", "archsolve"]
    if case.variant == "inputs":
        return [*cli, "inputs", case.spec, "--json", "--timeout", str(timeout)]
    if case.variant == "check":
        return [*cli, "check", case.spec, "--json"]
    argv = [*cli, "solve", case.spec, "--json", "--timeout", str(timeout), "--engine", engine]
    if case.variant == "first":
        argv.append("--first")
    elif case.variant == "count":
        argv += ["--all", "--count", "--limit", "10"]
    else:
        argv += ["--write", str(written)]
    return argv


def classify(case: Case, run: Run, out: Path, *, timeout: float, work: Path, env: dict[str, str],
             written: Path) -> None:
    """Fill ``run.outcome`` from the exit code and the JSON; re-check a written optimum."""
    if run.exit is None:
        run.outcome = "killed"
        return
    text = out.read_text(errors="replace")
    if case.variant == "check":
        run.outcome = "finding" if run.exit == 1 else "FAIL"
        run.notes.append(f"{len(text):,} bytes of output")
        return
    if run.exit == 2:
        run.outcome = "refused"
        run.notes.append(text.strip().splitlines()[-1][:300] if text.strip() else "exit 2")
        return
    try:
        answer = json.loads(text)
    except ValueError:
        run.outcome = "FAIL"
        run.notes.append(f"exit {run.exit}, no JSON: {text.strip().splitlines()[-1:] or ''}")
        return
    if case.variant == "inputs":
        run.outcome = "timeout" if run.exit == 3 else "ok" if run.exit in (0, 1) else "FAIL"
        return
    status = answer.get("status")
    if run.exit == 3:
        run.outcome = "timeout"
        return
    if status == "unsat" and run.exit == 1:
        run.outcome = "unsat"
    elif status == "sat" and run.exit == 0 and case.variant == "count":
        # without a count: the listing was cut short by --timeout (exit 0, complete false), or,
        # well before it, stopped at --limit (no-count: --count was not honoured)
        near_deadline = run.wall_s is not None and run.wall_s >= 0.9 * timeout
        run.outcome = (f"count={answer['count']}" if "count" in answer
                       else "not-counted" if answer.get("message", "").startswith("not counted")
                       else "timeout" if near_deadline else "no-count")
    elif status == "sat" and run.exit == 0 and case.variant == "first":
        run.outcome = "first"
    elif status == "sat" and run.exit == 0 and answer.get("optimal"):
        run.outcome = "opt"
        run.objective = answer["solutions"][0]["objective"]
        checked = subprocess.run([sys.executable, "-m", "archsolve", "check", str(written)], cwd=work, env=env,
                                 capture_output=True, text=True, timeout=60)
        if checked.returncode != 0:
            run.outcome = "FAIL"
            run.notes.append(f"check of the written solution: exit {checked.returncode}: "
                             f"{(checked.stdout + checked.stderr).strip()[-300:]}")
    else:
        run.outcome = "FAIL"
    # running out of time is not a wrong answer: the targets report it
    if case.expect != "any" and run.outcome.split("=")[0] not in case.expect.split("|") and run.outcome != "timeout":
        run.notes.append(f"expected {case.expect}, got {run.outcome} (exit {run.exit}, status {status})")
        run.outcome = "FAIL"


def run_all(cases: list[Case], *, work: Path, env: dict[str, str], timeout: float, only: str,
            engines_asked: tuple[str, ...] = ENGINES) -> list[Run]:
    runs = []
    gave_up: set[tuple[str, str, int, str]] = set()     # (family, variant, size, engine) that ran out of time
    for case in cases:
        if only not in case.key:
            continue
        engines = ("auto",) if case.variant in ("inputs", "check") else ENGINES
        for engine in [e for e in engines if e in engines_asked]:
            run = Run(case.key, engine)
            runs.append(run)
            lineage = (case.family, case.variant, case.size, engine)
            if lineage in gave_up and case.family != "timeout":
                continue
            t = case.timeout or timeout
            written = work / f"solved-{case.spec}"
            out = work / "out.json"
            kill_s = LONG_KILL_S if case.family in ("timeout", "add") else 1.5 * t + 5
            run.wall_s, run.exit, run.rss_mb = run_process(
                command(case, engine, timeout=t, written=written), env=env, cwd=work, limit_s=kill_s, out=out)
            classify(case, run, out, timeout=t, work=work, env=env, written=written)
            if run.outcome in ("timeout", "killed"):
                gave_up.add(lineage)
            print(f"  {case.key:28} {engine:6} {run.wall_s:7.2f} s  exit {run.exit}  {run.outcome:10} "
                  f"{run.rss_mb:6.0f} MB {'; '.join(run.notes)}", file=sys.stderr, flush=True)
    return runs


# ---- report -----------------------------------------------------------------------------------

def cell(run: Run) -> str:
    if run.wall_s is None:
        return "skip"
    return f"{run.wall_s:.2f} {run.exit if run.exit is not None else '-'} {run.outcome} {run.rss_mb:.0f}MB"


def table(runs: list[Run]) -> list[str]:
    by_case: dict[str, dict[str, Run]] = {}
    for run in runs:
        by_case.setdefault(run.case, {})[run.engine] = run
    lines = ["| case | " + " | ".join(ENGINES) + " |", "|---|" + "---|" * len(ENGINES)]
    for key, row in by_case.items():
        lines.append(f"| {key} | " + " | ".join(cell(row[e]) if e in row else "" for e in ENGINES) + " |")
    return lines


def targets(runs: list[Run], cases: list[Case], *, timeout: float) -> list[str]:
    """PASS/FAIL lines: the issue's targets, measured on the default engine (auto) unless noted."""
    by_key = {c.key: c for c in cases}
    lines = []

    def verdict(ok: bool, text: str) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'}  {text}")

    for run in runs:
        case = by_key[run.case]
        if case.family == "timeout":
            limit = 1.2 * (case.timeout or timeout) + 1
            if run.wall_s is None:
                continue
            within = run.exit is not None and run.wall_s <= limit
            verdict(within and run.rss_mb < RSS_LIMIT_MB,
                    f"{run.case} [{run.engine}]: ends within {limit:.0f} s ({run.wall_s:.1f} s) and under "
                    f"{RSS_LIMIT_MB} MB ({run.rss_mb:.0f} MB)")
            continue
        if run.engine != "auto" or case.variant == "count":
            continue
        limit = 2.0 if case.family == "chain" and case.depth > 12 else 1.0
        done = run.wall_s is not None and run.outcome == case.expect
        verdict(done and run.wall_s <= limit,
                f"{run.case}: {case.expect} under {limit:.0f} s "
                f"({'not run' if run.wall_s is None else f'{run.wall_s:.2f} s, {run.outcome}'})")
    for run in runs:
        if run.outcome == "FAIL":
            lines.append(f"FAIL  answer of {run.case} [{run.engine}]: {'; '.join(run.notes) or run.outcome}")
    by_case: dict[str, set[int]] = {}
    for run in runs:
        if run.objective is not None:
            by_case.setdefault(run.case, set()).add(run.objective)
    for key, values in by_case.items():
        if len(values) > 1:
            lines.append(f"FAIL  engines disagree on the optimum of {key}: {sorted(values)}")
    return lines


def growth(runs: list[Run], cases: list[Case]) -> list[str]:
    """The chains' time per layer by depth, per engine, where the optimum was proven: about
    constant when the cost grows linearly with depth."""
    by_key = {c.key: c for c in cases}
    lines = []
    for size in (64, 256):
        for engine in ENGINES:
            points = [(by_key[r.case].depth, r.wall_s) for r in runs
                      if r.engine == engine and by_key[r.case].family == "chain"
                      and by_key[r.case].variant == "opt" and by_key[r.case].size == size
                      and r.outcome == "opt" and r.wall_s is not None]
            if points:
                lines.append(f"chain in{size} opt [{engine}], time per layer: "
                             + ", ".join(f"d{d} {t / d * 1e3:.0f} ms" for d, t in points))
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=20.0, help="solve --timeout T for each run (default 20)")
    parser.add_argument("--quick", action="store_true", help="a subset of the depths")
    parser.add_argument("--only", default="", help="cases whose name contains this")
    parser.add_argument("--json", dest="json_out", type=Path, help="write the raw numbers to this file")
    parser.add_argument("--engines", default=",".join(ENGINES), help="the engines to run, comma-separated")
    args = parser.parse_args(argv)
    asked = tuple(e for e in ENGINES if e in args.engines.split(","))
    work = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    try:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(work / "pyc")
        env["PYTHONPATH"] = str(ROOT)
        cases = build_cases(work, quick=args.quick)
        # the warm-ups write the .pyc files that every timed process reuses: solve's, and
        # check's (its advice and JSON report), which solve does not import
        for warm in (["solve", cases[0].spec, "--first", "--timeout", "5"],
                     ["check", next(c.spec for c in cases if c.variant == "check"), "--json"]):
            subprocess.run([sys.executable, "-m", "archsolve", *warm], cwd=work, env=env, capture_output=True,
                           timeout=120)
        print(f"scale bench, {time.strftime('%Y-%m-%d')}: {os.cpu_count()} CPU(s); load average "
              f"{os.getloadavg()[0]:.2f}; --timeout {args.timeout:g} (timeout family: 5); cell: wall s, exit, "
              f"outcome, peak RSS")
        runs = run_all(cases, work=work, env=env, timeout=args.timeout, only=args.only, engines_asked=asked)
        print("\n".join(table(runs)))
        print()
        print("\n".join(growth(runs, cases)))
        print("\n".join(targets(runs, cases, timeout=args.timeout)))
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        if args.json_out:
            args.json_out.write_text(json.dumps({"timeout": args.timeout, "cpus": os.cpu_count(),
                                                 "runs": [asdict(r) for r in runs]}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
