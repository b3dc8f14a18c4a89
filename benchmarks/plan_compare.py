"""``archsolve plan`` next to nnU-Net's published planning procedure, on the data sets of
``tests/test_plan_nnunet.py`` (the reference, the data and the budgets all come from there).

    .venv/bin/python benchmarks/plan_compare.py

Prints a Markdown table: each data set's median shape and spacing; the patch nnU-Net's
procedure reaches (shrinking from 256^3 voxels, 2048^2 in 2D, until archsolve's exact
training memory fits) and the plan's, with their voxels and pools per axis; the ratio of
voxels; and each patch's training memory (float16, at the data set's batch).  A report,
not a test: it always exits 0.
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _reference_module() -> ModuleType:
    # loaded from its file: the reference lives in the tests, once
    path = ROOT / "tests" / "test_plan_nnunet.py"
    spec = importlib.util.spec_from_file_location("test_plan_nnunet", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.2f} GiB"


def _patch(patch: tuple[int, ...]) -> str:
    return f"{'x'.join(map(str, patch))} ({math.prod(patch):,})"


def main() -> None:
    ref = _reference_module()
    start = time.perf_counter()
    rows = [
        "| data set | median shape | spacing | batch, budget | nnU-Net rules: patch (voxels) | pools | "
        "plan: patch (voxels) | pools | plan/nnU-Net voxels | training memory: nnU-Net rules | plan |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (shape, spacing, batch, budget) in ref.DATA.items():
        patch, stages = ref.reference(name)
        plan = ref.planned(name)
        memory = ref.training_memory(patch, stages, shape, batch)
        ratio = math.prod(plan.patch) / math.prod(patch)
        rows.append(
            f"| {name} | {'x'.join(map(str, shape))} | {', '.join(f'{s:g}' for s in spacing)} | "
            f"{batch}, {_gib(budget)} | {_patch(patch)} | {ref.pools_of(stages)} | {_patch(plan.patch)} | "
            f"{plan.topology.pools} | {ratio:.3f} | {_gib(memory)} | {_gib(plan.memory.training)} |")
    print("\n".join(rows))
    print(f"\n{len(ref.DATA)} data sets in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
