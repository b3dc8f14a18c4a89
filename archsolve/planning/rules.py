"""The design rules of ``archsolve plan``: how many times each axis is pooled, and each
stage's kernels, from the patch and the voxel spacing (the rules nnU-Net's planner states).

Stage 0 works at the patch's resolution; each later stage first halves some axes (a
strided conv).  At each step:

- an axis may be halved while its size stays at least ``min_feature`` after it;
- of those, the axes whose current spacing is at most twice the finest current spacing
  among them are halved, unless halved ``max_pools`` times already (a coarse axis of
  anisotropic data waits until the others have caught up; an axis at ``max_pools`` still
  sets the finest spacing, so a coarse axis never catches up with it by default);
- a stage's kernel is 3 on the axes whose spacing is at most twice the finest, else 1 (no
  context is mixed along an axis still too coarse), and stays 3 once it is;
- the steps stop when no axis may be halved.

    >>> t = topology((16, 256, 256), (5.0, 0.8, 0.8), min_feature=4, max_pools=6)
    >>> [s.pool for s in t.stages][:3], [s.kernel for s in t.stages][:3]
    ([(1, 1, 1), (1, 2, 2), (1, 2, 2)], [(1, 3, 3), (1, 3, 3), (3, 3, 3)])
    >>> t.pools
    (2, 6, 6)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """One resolution of the U-Net: the strides that reach it (1 on every axis at stage 0)
    and its convs' kernel per axis."""

    pool: tuple[int, ...]
    kernel: tuple[int, ...]


@dataclass(frozen=True)
class Topology:
    """The stages, from the patch's resolution down to the bottleneck."""

    stages: tuple[Stage, ...]

    @property
    def pools(self) -> tuple[int, ...]:
        """How many times each axis is halved."""
        return tuple(sum(1 for s in self.stages if s.pool[a] > 1) for a in range(len(self.stages[0].pool)))

    @property
    def divisor(self) -> tuple[int, ...]:
        """What each axis of an input must be a multiple of (every halving exact)."""
        return tuple(2**p for p in self.pools)


def topology(patch: Sequence[int], spacing: Sequence[float], *, min_feature: int, max_pools: int) -> Topology:
    """The stages the rules give a ``patch`` of voxels this ``spacing`` apart (module doc)."""
    size = [float(v) for v in patch]
    now = [float(s) for s in spacing]
    halved = [0] * len(size)
    kernel = [1] * len(size)

    def kernels() -> tuple[int, ...]:
        finest = min(now)
        for a, s in enumerate(now):
            if s <= 2 * finest:
                kernel[a] = 3
        return tuple(kernel)

    stages = [Stage(pool=(1,) * len(size), kernel=kernels())]
    while True:
        can = [a for a in range(len(size)) if size[a] / 2 >= min_feature]
        if not can:
            break
        finest = min(now[a] for a in can)
        pool = tuple(2 if a in can and now[a] <= 2 * finest and halved[a] < max_pools else 1
                     for a in range(len(size)))
        if max(pool) == 1:
            break
        for a, p in enumerate(pool):
            if p > 1:
                now[a] *= 2
                size[a] = math.ceil(size[a] / 2)
                halved[a] += 1
        stages.append(Stage(pool=pool, kernel=kernels()))
    return Topology(tuple(stages))
