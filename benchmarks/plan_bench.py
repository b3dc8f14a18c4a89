"""``archsolve plan`` timed as whole processes (issue #21: a 3D plan under 2 s).

    .venv/bin/python benchmarks/plan_bench.py [--runs N]

Each case runs ``python -m archsolve plan ... --json`` with cached bytecode (PYTHONPYCACHEPREFIX
in a temp folder, PYTHONDONTWRITEBYTECODE unset: what an installed tool has after its first
run), the median of ``--runs`` (3) after one warm-up run, beside ``python -m archsolve
--help`` (the interpreter and the command line's own start-up) as the baseline. The hardest
case is isotropic 512^3 data at 8 GiB: every room vector has a patch the budget allows, so the
most networks are counted there.

A report, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 2.0

CASES = [
    ("3D isotropic CT 512^3 @ 1 mm, 8 GiB", ["--shape", "512,512,512", "--spacing", "1,1,1", "--memory", "8GiB"]),
    ("3D liver 432x512x512 @ 1x0.77x0.77, 8 GiB",
     ["--shape", "432,512,512", "--spacing", "1,0.77,0.77", "--memory", "8GiB"]),
    ("3D pancreas 93x512x512 @ 2.5x0.8x0.8, 8 GiB",
     ["--shape", "93,512,512", "--spacing", "2.5,0.8,0.8", "--memory", "8GiB"]),
    ("3D MRI 10x320x320 @ 10x1.25x1.25, 8 GiB",
     ["--shape", "10,320,320", "--spacing", "10,1.25,1.25", "--memory", "8GiB"]),
    ("3D, 24 GiB at batch 4", ["--shape", "512,512,512", "--spacing", "1,1,1", "--memory", "24GiB", "--batch", "4"]),
    ("2D 1024x1024 @ 0.5 mm, 11 GiB, batch 12",
     ["--shape", "1024,1024", "--spacing", "0.5,0.5", "--memory", "11GiB", "--batch", "12"]),
]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
    return wall, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pyc")
        cli = [sys.executable, "-m", "archsolve"]
        timed([*cli, "--help"], env)  # fills the bytecode cache
        base = statistics.median(timed([*cli, "--help"], env)[0] for _ in range(args.runs))
        print(f"baseline: archsolve --help, {base:.2f} s (median of {args.runs})\n")
        print("| case | patch | pools | time | target |")
        print("|---|---|---|---|---|")
        for label, options in CASES:
            argv = [*cli, "plan", *options, "--json"]
            timed(argv, env)
            walls, doc = [], {}
            for _ in range(args.runs):
                wall, out = timed(argv, env)
                walls.append(wall)
                doc = json.loads(out)
            wall = statistics.median(walls)
            pools = "x".join(str(sum(1 for p in doc["pools"] if p[a] > 1)) for a in range(len(doc["patch"])))
            verdict = "PASS" if wall < TARGET_S else "FAIL"
            print(f"| {label} | {'x'.join(map(str, doc['patch']))} | {pools} | {wall:.2f} s "
                  f"({wall / base:.1f}x --help) | {verdict} (< {TARGET_S:.0f} s) |")


if __name__ == "__main__":
    main()
