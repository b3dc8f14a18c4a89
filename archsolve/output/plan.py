"""Lay out a plan (:mod:`archsolve.planning`): the ``plan --json`` document and the summary
printed beside the spec it writes.  The plan holds every figure; this only formats them.

    >>> from archsolve.planning import PlanRequest, plan_network
    >>> plan = plan_network(PlanRequest(shape=(128, 128), spacing=(1.0, 1.0), memory=256 << 20))
    >>> plan_json(plan)["patch"], plan_json(plan)["valid"]["H"]
    ([128, 128], {'start': 128, 'step': 32})
"""

from __future__ import annotations

from typing import Any

from archsolve.lang.expr import bytes_text
from archsolve.ops.base import AXIS_NAMES
from archsolve.planning import Plan


def _x(values: tuple[int, ...] | list[int]) -> str:
    return "x".join(str(v) for v in values)


def _spacing(values: tuple[float, ...]) -> str:
    return "x".join(f"{v:g}" for v in values)


def plan_json(plan: Plan, file: str | None = None) -> dict[str, Any]:
    """The ``plan --json`` document (docs/json.md); ``file``: where the spec was written."""
    req = plan.request
    names = AXIS_NAMES[len(plan.patch)]
    doc: dict[str, Any] = {
        "patch": list(plan.patch),
        "pools": [list(s.pool) for s in plan.topology.stages],
        "kernels": [list(s.kernel) for s in plan.topology.stages],
        "channels": list(plan.channels),
        "sizes": [list(s) for s in plan.sizes],
        "memory": {"activations": plan.memory.activations, "params": plan.memory.params,
                   "saved": plan.memory.saved, "training": plan.memory.training, "budget": req.memory,
                   "batch": req.batch, "dtype": req.dtype.value},
        "valid": {n: {"start": start, "step": step} for n, (start, step) in zip(names, plan.valid, strict=True)},
        "spec": plan.spec_text,
    }
    if file is not None:
        doc["file"] = file
    return doc


def plan_text(plan: Plan) -> str:
    """The summary of a plan: what was asked, the patch, a row per stage, the memory."""
    req = plan.request
    names = AXIS_NAMES[len(plan.patch)]
    valid = ", ".join(f"{n} >= {start}" if step == 1 else f"{n} = {start} + {step}k" if start != step
                      else f"{n} = {step}k" for n, (start, step) in zip(names, plan.valid, strict=True))
    lines = [
        f"plan: {len(plan.patch)}D U-Net for median shape {_x(req.shape)} at spacing {_spacing(req.spacing)}, "
        f"memory {bytes_text(req.memory)} (batch {req.batch}, {req.dtype.value})",
        f"patch {_x(plan.patch)} ({plan.voxels:,} voxels); sizes the network takes: {valid}",
        "",
    ]
    rows = [("stage", "pool", "kernel", "channels", "size")]
    for s, stage in enumerate(plan.topology.stages):
        rows.append((str(s), _x(stage.pool), _x(stage.kernel), str(plan.channels[s]), _x(plan.sizes[s])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        lines.append("  ".join(cell.ljust(w) if i != 3 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(r, widths, strict=True))).rstrip())
    mem = plan.memory
    lines += ["", f"memory: training {bytes_text(mem.training)} of {bytes_text(req.memory)} "
                  f"(saved for backward {bytes_text(mem.saved)}, weights {bytes_text(mem.params)} x 4 with "
                  f"gradients and Adam); activations {bytes_text(mem.activations)}"]
    return "\n".join(lines) + "\n"
