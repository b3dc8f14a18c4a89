"""`archsolve inputs` against the plain loop a user would write (check's propagation per size).

Run: .venv/bin/python benchmarks/inputs_bench.py
Target (issue: valid input sizes): a few seconds at most for a range of 1..4096 on a deep net.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archsolve.errors import SpecError  # noqa: E402
from archsolve.shapes.graph import build_network  # noqa: E402
from archsolve.shapes.propagate import propagate  # noqa: E402
from archsolve.solve.inputs import input_sizes  # noqa: E402
from archsolve.spec.load import load_spec  # noqa: E402


def deep_unet(depth: int, top: int = 4096) -> str:
    """A valid-conv U-Net (original style, exact) of the given depth, input H x H."""
    lines = ["input: [1, H, H]", f"vars: {{H: {{min: 1, max: {top}}}}}", "exact: true", "blocks:", "  dc:",
             "    params: {c: null}", "    layers:", "      - {name: a, op: conv, out: c, kernel: 3}",
             "      - {name: b, op: conv, out: c, kernel: 3}", "layers:"]
    for i in range(1, depth + 1):
        lines += [f"  - {{name: enc{i}, block: dc, c: 4}}", f"  - {{name: pool{i}, op: maxpool, kernel: 2}}"]
    lines.append("  - {name: mid, block: dc, c: 4}")
    prev = "mid"
    for i in range(depth, 0, -1):
        lines += [f"  - {{name: up{i}, op: deconv, out: 4, kernel: 2, stride: 2, from: {prev}}}",
                  f"  - {{name: crop{i}, op: crop, like: up{i}, from: enc{i}}}",
                  f"  - {{name: cat{i}, op: concat, from: [crop{i}, up{i}]}}",
                  f"  - {{name: dec{i}, block: dc, c: 4}}"]
        prev = f"dec{i}"
    return "\n".join(lines) + "\n"


LOOP_PART = 20_000


def plain_loop(path: str, hi: int) -> list[int]:
    net = build_network(load_spec(path))
    ok = []
    for h in range(1, hi + 1):
        try:
            if propagate(net, {"H": h}, receptive_fields=False).ok:
                ok.append(h)
        except SpecError:
            pass
    return ok


def median(fn, runs: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    cases = [("original U-Net (depth 4)", str(ROOT / "specs" / "unet-original-sizes.yaml"), 1024)]
    tmp = Path(tempfile.mkdtemp())
    for depth in (4, 6):
        p = tmp / f"unet-valid-d{depth}.yaml"
        p.write_text(deep_unet(depth))
        cases.append((f"valid U-Net depth {depth}", str(p), 4096))
    # a million sizes: the loop is timed on the first LOOP_PART and scaled (est.), and the
    # answers compared there; inputs proves a pattern for the whole range
    p = tmp / "unet-valid-d6-wide.yaml"
    p.write_text(deep_unet(6, 10**6))
    cases.append(("valid U-Net depth 6", str(p), 10**6))
    print(f"{'case':28} {'range':>10} {'loop s':>8} {'inputs s':>9} {'ratio':>6} {'process s':>10}  values  agree")
    for name, path, hi in cases:
        part = min(hi, LOOP_PART)
        t_loop, expect = median(lambda p=path, h=part: plain_loop(p, h), runs=1)
        t_loop *= hi / part
        spec = load_spec(path)
        t_in, rep = median(lambda s=spec, h=hi: input_sizes(s, rng=(1, h)))
        got = rep["H"].values  # type: ignore[index]
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archsolve", "inputs", path, "--range", f"1..{hi}", "--json"],
                       check=True, capture_output=True, cwd=ROOT)
        t_proc = time.perf_counter() - t0
        agree = [v for v in got if v <= part] == expect
        print(f"{name:28} {f'1..{hi}':>10} {t_loop:8.2f}{'*' if part < hi else ' '}{t_in:8.3f} "
              f"{t_in / t_loop:6.3f} {t_proc:10.3f}  {len(got):6}  {'yes' if agree else 'NO'}")
    print(f"* estimated: the loop timed over 1..{LOOP_PART} and scaled; answers compared there")


if __name__ == "__main__":
    main()
