"""The U-Net a plan writes, as spec text: the network ``check``, ``inputs``, ``draw`` and
``export`` read like any other spec.

Each stage is two convs, each followed by an instance norm (with weights) and a leaky ReLU;
the first conv of a stage below the top has the stage's pooling strides (a strided conv, as
nnU-Net's current networks pool).  Channels double from ``--channels`` up to
``--max-channels``.  Each decoder stage up-samples with a transposed conv whose kernel and
stride are the strides it undoes, concatenates the encoder stage's output, and runs a stage
of two convs; a 1x1 conv gives the classes.  Every conv pads ``kernel // 2``: sizes change
only where a stage pools.

The patch is the input's vars (``D``, ``H``, ``W``, or ``H``, ``W``), their ``default`` the
planned patch: ``check`` reads it, ``inputs`` lists the other sizes that work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from archsolve.lang.expr import bytes_text
from archsolve.ops.autograd import Dtype
from archsolve.ops.base import AXIS_NAMES
from archsolve.planning.rules import Topology


@dataclass(frozen=True)
class Design:
    """What the network is made of, apart from its stages (the ``plan`` options)."""

    channels: int = 32
    max_channels: int = 320
    in_channels: int = 1
    classes: int = 2
    min_feature: int = 4


def stage_channels(design: Design, stage: int) -> int:
    """Stage ``stage``'s channels: ``channels * 2**stage``, at most ``max_channels``.

        >>> [stage_channels(Design(), s) for s in range(6)]
        [32, 64, 128, 256, 320, 320]
    """
    return min(design.channels * 2**stage, design.max_channels)


def _axes(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def unet_text(*, design: Design, topology: Topology, patch: Sequence[int], median: Sequence[int], batch: int,
              dtype: Dtype, budget: int, budget_text: str | None, command: str) -> str:
    """The spec of the U-Net with these stages, its input the ``patch`` (vars up to ``median``
    per axis), counted at ``batch`` and ``dtype`` under ``memory <= budget_text`` (none where
    ``budget_text`` is None).

        >>> from archsolve.planning.rules import topology
        >>> t = topology((64, 64), (1.0, 1.0), min_feature=4, max_pools=6)
        >>> text = unet_text(design=Design(), topology=t, patch=(64, 64), median=(100, 100), batch=2,
        ...                  dtype=Dtype.FLOAT16, budget=1 << 30, budget_text="1 GiB", command="archsolve plan")
        >>> [line for line in text.splitlines() if "enc4" in line]
        ['  - {name: enc4, block: stage, c: 320, k: [3, 3], s: [2, 2], p: [1, 1]}', '  - enc4.H >= 4', '  - enc4.W >= 4']
    """
    ndim = len(patch)
    names = AXIS_NAMES[ndim]
    last = len(topology.stages) - 1
    lines = [
        f"# made by: {command}",
        f"# the largest patch whose training memory (batch {batch}, {dtype.value}) fits {bytes_text(budget)}",
        f"name: plan-{ndim}d",
        f"input: [{design.in_channels}, {', '.join(names)}]",
        "vars:",
    ]
    for a, name in enumerate(names):
        step = topology.divisor[a]
        lines.append(f"  {name}: {{min: 1, max: {median[a]}, default: {patch[a]}}}"
                     + (f"  # a multiple of {step}" if step > 1 else ""))
    lines += [
        f"batch: {batch}",
        f"dtype: {dtype.value}",
        "blocks:",
        "  stage:",
        "    params: {c: null, k: null, s: null, p: null}",
        "    layers:",
        "      - {name: conv1, op: conv, out: c, kernel: k, stride: s, padding: p}",
        "      - {name: norm1, op: instancenorm, affine: true}",
        "      - {name: act1, op: leakyrelu}",
        "      - {name: conv2, op: conv, out: c, kernel: k, padding: p}",
        "      - {name: norm2, op: instancenorm, affine: true}",
        "      - {name: act2, op: leakyrelu}",
        "layers:",
    ]
    for s, stage in enumerate(topology.stages):
        lines.append(f"  - {{name: enc{s}, block: stage, c: {stage_channels(design, s)}, k: {_axes(stage.kernel)}, "
                     f"s: {_axes(stage.pool)}, p: {_axes([k // 2 for k in stage.kernel])}}}")
    ones = [1] * ndim
    for s in range(last - 1, -1, -1):
        stage, below = topology.stages[s], topology.stages[s + 1]
        lines += [
            f"  - {{name: up{s}, op: deconv, out: {stage_channels(design, s)}, kernel: {_axes(below.pool)}, "
            f"stride: {_axes(below.pool)}}}",
            f"  - {{name: cat{s}, op: concat, from: [enc{s}, up{s}]}}",
            f"  - {{name: dec{s}, block: stage, c: {stage_channels(design, s)}, k: {_axes(stage.kernel)}, "
            f"s: {_axes(ones)}, p: {_axes([k // 2 for k in stage.kernel])}}}",
        ]
    lines += [f"  - {{name: head, op: conv, out: {design.classes}, kernel: 1}}", "constraints:"]
    if budget_text is not None:
        lines.append(f"  - memory <= {budget_text}")
    lines += [f"  - enc{last}.{name} >= {design.min_feature}" for name in names]
    return "\n".join(lines) + "\n"
