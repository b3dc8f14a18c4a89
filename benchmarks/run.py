"""Time ``archsolve check`` against a torchinfo baseline; print a report.

    .venv/bin/python benchmarks/run.py [--runs N] [--profile]      (or: make bench)

Every timing is a whole process, as a user would start it (interpreter start, imports,
work, exit), the median of N runs (default 5) after one warm-up run:

  (0) ``python -c pass``: the interpreter's own start-up, for reference
  (a) ``archsolve check specs/resnet152.yaml``, in this environment as it is
  (a+) the same with cached bytecode: PYTHONDONTWRITEBYTECODE unset and PYTHONPYCACHEPREFIX
      set to a temp folder, so the warm-up run writes .pyc files there (never into the tree)
      and the timed runs reuse them, as an installed archsolve would
  (b) ``python benchmarks/torch_resnet.py``: a hand-written ResNet-152 in torch and
      ``torchinfo.summary(model, input_size=(1, 3, 224, 224))``
  (c) ``archsolve check`` on a generated 2000-layer spec (benchmarks/gen_deep.py)
  (d) ``archsolve check --json specs/unet-original.yaml``
  (t) ``python -c "import torch"``: the floor of any process that imports torch
  (e) ``archsolve check benchmarks/torch_resnet.py:resnet152 --input 3,224,224 --no-cache``:
      the same module imported with torch.fx and checked, every run (#17's target: at most
      half of (b))
  (e+) the same without ``--no-cache``: the warm-up run fills a temporary import cache and
      the timed runs reuse it, as a user's second command about an unchanged model does

plus ``archsolve.check.api.check_file`` on the 2000-layer spec in-process (a fresh interpreter
imports archsolve first, then times N calls) and the import cost of ``archsolve.cli``
from ``python -X importtime``. ``--profile`` adds a cProfile of the in-process check.

It is a report, not a test: it always exits 0.
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
from pathlib import Path

from gen_deep import write_deep_spec

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
RESNET152 = ROOT / "specs" / "resnet152.yaml"
UNET = ROOT / "specs" / "unet-original.yaml"
DEEP_LAYERS = 2000

# (label, ratio limit) for archsolve/torchinfo on ResNet-152
RESNET_TARGETS = [
    ("issue: <= 1/20 of torchinfo", 1 / 20),
    ("target: <= 1/5 of torchinfo", 1 / 5),
    ("target aim: <= 1/10", 1 / 10),
]
DEEP_LIMIT_S = 1.0          # "well under 1 s"
DEEP_WELL_UNDER_S = 0.5     # what we read "well under" as

IN_PROCESS = r"""
import json, sys, time
t0 = time.perf_counter()
import archsolve, archsolve.check.api
t_import = time.perf_counter() - t0
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    report = archsolve.check.api.check_file(sys.argv[1])
    times.append(time.perf_counter() - t)
print(json.dumps({"import": t_import, "times": times}))
"""

PROFILE = r"""
import cProfile, pstats, sys
import archsolve, archsolve.check.api
archsolve.check.api.check_file(sys.argv[1])          # warm: lazy imports, caches
prof = cProfile.Profile()
prof.enable()
archsolve.check.api.check_file(sys.argv[1])
prof.disable()
pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(int(sys.argv[2]))
"""


def archsolve_cmd() -> list[str]:
    script = Path(sys.executable).parent / "archsolve"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "archsolve"]


def cached_bytecode_env(prefix: Path) -> dict[str, str]:
    """An environment whose processes write and reuse .pyc files under ``prefix`` (not the tree)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(prefix)
    return env


def time_process(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> dict:
    """Median wall time of ``runs`` runs of ``cmd`` after one warm-up; output discarded."""
    times: list[float] = []
    codes: set[int] = set()
    err = b""
    for i in range(runs + 1):
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - t
        codes.add(proc.returncode)
        err = err or proc.stderr
        if i:
            times.append(elapsed)
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "codes": sorted(codes), "stderr": err.decode(errors="replace").strip()}


def in_process(spec: Path, runs: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", IN_PROCESS, str(spec), str(runs)], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip() or f"exit {proc.returncode}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    times = data["times"]
    return {"median": statistics.median(times), "first": times[0], "min": min(times),
            "max": max(times), "import": data["import"]}


def importtime(args: list[str], env: dict[str, str] | None = None) -> tuple[float, list[tuple[float, float, str]]]:
    """(total s = sum of self times, [(cumulative s, self s, module)] in importtime's order)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    total_us = 0
    rows: list[tuple[float, float, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        total_us += int(self_us)
        rows.append((int(cum_us) / 1e6, int(self_us) / 1e6, name.strip()))
    return total_us / 1e6, rows


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


IMPORT_TARGET = 0.5  # check MODEL.py:NAME, tracing included, against torchinfo.summary on the same module


def run(runs: int, profile: bool) -> None:
    print(f"archsolve benchmarks: median of {runs} runs after 1 warm-up; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPU(s); load average {os.getloadavg()[0]:.2f} (other work skews the numbers)")
    if sys.flags.dont_write_bytecode:
        print("note: PYTHONDONTWRITEBYTECODE is set, so unless archsolve/__pycache__ exists every archsolve "
              "process compiles archsolve's sources; (a+) shows the cost with cached bytecode")
    tmp = Path(tempfile.mkdtemp(prefix="archsolve-bench-"))
    try:
        deep = write_deep_spec(tmp / f"deep{DEEP_LAYERS}.yaml", DEEP_LAYERS)
        cli = archsolve_cmd()
        pyc_env = cached_bytecode_env(tmp / "pycache")
        cases = [
            ("0", "python -c pass (interpreter floor, for reference)", [sys.executable, "-c", "pass"]),
            ("a", "archsolve check resnet152.yaml", [*cli, "check", str(RESNET152)]),
            ("a+", "same, with cached .pyc (PYTHONPYCACHEPREFIX)", [*cli, "check", str(RESNET152)], pyc_env),
            ("b", "torchinfo.summary ResNet-152 (torch_resnet.py)", [sys.executable, str(BENCH / "torch_resnet.py")]),
            ("c", f"archsolve check deep{DEEP_LAYERS}.yaml", [*cli, "check", str(deep)]),
            ("d", "archsolve check --json unet-original.yaml", [*cli, "check", "--json", str(UNET)]),
            ("t", "python -c 'import torch' (the floor of (b) and (e))", [sys.executable, "-c", "import torch"]),
            ("e", "archsolve check torch_resnet.py:resnet152 (import)",
             [*cli, "check", f"{BENCH / 'torch_resnet.py'}:resnet152", "--input", "3,224,224", "--no-cache"]),
            ("e+", "same, the model's spec kept in the import cache",
             [*cli, "check", f"{BENCH / 'torch_resnet.py'}:resnet152", "--input", "3,224,224"],
             {**os.environ, "ARCHSOLVE_CACHE_DIR": str(tmp / "import-cache")}),
        ]
        results: dict[str, dict] = {}
        print()
        print(f"{'':5}{'whole process':50}{'median s':>10}{'min s':>9}{'max s':>9}  exit")
        for key, label, cmd, *env in cases:
            try:
                r = results[key] = time_process(cmd, runs, *env)
            except OSError as exc:
                print(f"{f'({key})':5}{label:50} could not run: {exc}")
                continue
            codes = ",".join(map(str, r["codes"]))
            print(f"{f'({key})':5}{label:50}{r['median']:10.3f}{r['min']:9.3f}{r['max']:9.3f}  {codes}")
            if r["codes"] != [0] and r["stderr"]:
                print("      stderr: " + r["stderr"].splitlines()[-1][:200])

        try:
            ip = in_process(deep, runs)
            print(f"{'':5}{'in-process check_file(deep2000)':50}{ip['median']:10.3f}{ip['min']:9.3f}"
                  f"{ip['max']:9.3f}  (first call {ip['first']:.3f} s; import archsolve.check.api "
                  f"{ip['import']:.3f} s)")
        except (RuntimeError, ValueError, OSError) as exc:
            ip = None
            print(f"in-process check failed: {exc}")

        print()
        print("targets")
        for key, how in [("a", "as this environment runs it"), ("a+", "with cached .pyc")]:
            if key in results and "b" in results and results["b"]["median"] > 0:
                ratio = results[key]["median"] / results["b"]["median"]
                print(f"  archsolve/torchinfo on ResNet-152, {how} ({key}/b): {ratio:.3f} (= 1/{1 / ratio:.1f})")
                for label, limit in RESNET_TARGETS:
                    print(f"    {verdict(ratio <= limit)}  {label} (ratio <= {limit:.3f})")
        for key, how in [("e", "imported afresh, tracing included"), ("e+", "from the import cache")]:
            if key in results and "b" in results and results["b"]["median"] > 0:
                ratio = results[key]["median"] / results["b"]["median"]
                print(f"  archsolve check of the torch module, {how} ({key}/b): {ratio:.3f}")
                print(f"    {verdict(ratio <= IMPORT_TARGET)}  at most half of torchinfo.summary "
                      f"(ratio <= {IMPORT_TARGET})")
        if "t" in results and "b" in results and results["b"]["median"] > 0:
            print(f"  import torch alone / torchinfo (t/b): {results['t']['median'] / results['b']['median']:.3f} "
                  "(no process that imports torch can do better)")
        if "c" in results:
            t = results["c"]["median"]
            print(f"  archsolve check deep{DEEP_LAYERS} (whole process): {t:.3f} s")
            print(f"    {verdict(t < DEEP_LIMIT_S)}  under {DEEP_LIMIT_S:g} s")
            print(f"    {verdict(t < DEEP_WELL_UNDER_S)}  well under: < {DEEP_WELL_UNDER_S:g} s")
        if ip:
            print(f"  check_file deep{DEEP_LAYERS} (in-process): {ip['median']:.3f} s")
            print(f"    {verdict(ip['median'] < DEEP_WELL_UNDER_S)}  well under 1 s: < {DEEP_WELL_UNDER_S:g} s")

        print()
        print("import cost (python -X importtime; total = sum of self times; median of 3)")
        for title, args in [("import archsolve.cli", ["-c", "import archsolve.cli"]),
                            ("-m archsolve check resnet152.yaml", ["-m", "archsolve", "check", str(RESNET152)])]:
            samples = sorted((importtime(args) for _ in range(3)), key=lambda s: s[0])
            total, rows = samples[1]
            importtime(args, pyc_env)                                  # writes any missing .pyc
            cached = sorted(importtime(args, pyc_env)[0] for _ in range(3))[1]
            print(f"  {title}: {total:.3f} s in {len(rows)} modules (with cached .pyc: {cached:.3f} s)")
            print("    top 5 by cumulative (nested: a package includes what it imports):")
            for cum, _, name in sorted(rows, reverse=True)[:5]:
                print(f"      {cum:7.3f} s  {name}")
            print("    top 5 by self time:")
            for own, name in sorted(((own, name) for _, own, name in rows), reverse=True)[:5]:
                print(f"      {own:7.3f} s  {name}")

        if profile:
            print()
            print(f"cProfile of check_file(deep{DEEP_LAYERS}) in-process (second call), top 15 by cumulative")
            proc = subprocess.run([sys.executable, "-c", PROFILE, str(deep), "15"], cwd=ROOT,
                                  capture_output=True, text=True)
            print(proc.stdout.rstrip() or proc.stderr.rstrip())

    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of the in-process check")
    args = parser.parse_args()
    try:
        run(max(1, args.runs), args.profile)
    except BrokenPipeError:                    # e.g. piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except Exception as exc:  # noqa: BLE001 -- a report: say what failed, never fail the build
        print(f"benchmark error: {type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
