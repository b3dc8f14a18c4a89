"""``archsolve plan``: the largest patch whose exact training memory fits a budget.

The rules (:mod:`~archsolve.planning.rules`) make the stages a function of the patch, and of it
only through how many times each axis *may* be halved before it would pass ``min_feature``
(its "room"): one network per room vector.  A network's training memory at a patch whose
every axis its divisor divides is ``a * voxels + b`` exactly (every activation scales with
the patch, the weights and the norms' statistics do not), so two counts of the real network
(:func:`~archsolve.shapes.memory.memory_of` at two patches) give ``a`` and ``b``, and the
largest fitting patch of that network is a small search over each axis's multiples of its
divisor.  The best over every room vector is the plan; its memory is then counted once more
at the patch itself, and the spec written is checked like any other.

Where nnU-Net shrinks a starting patch one step at a time until a memory estimate fits,
this looks at every patch the rules allow, so its patch is at least as large under the
same memory figure (docs/plan.md compares the two on fifteen data sets).

    >>> p = plan_network(PlanRequest(shape=(128, 128), spacing=(1.0, 1.0), memory=256 << 20))
    >>> p.patch, p.topology.pools, p.memory.training <= 256 << 20
    ((128, 128), (5, 5), True)
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from archsolve.errors import InvalidNetwork, SolverBug, SolverTimeout, UsageError
from archsolve.lang.expr import at_least, budget_text, bytes_text
from archsolve.ops.autograd import Dtype, MemoryMode
from archsolve.ops.base import AXIS_NAMES
from archsolve.planning.network import Design, stage_channels, unet_text
from archsolve.planning.rules import Topology, topology
from archsolve.shapes.graph import Network, build_network
from archsolve.shapes.memory import Memory, memory_of
from archsolve.shapes.propagate import propagate
from archsolve.spec.load import load_text
from archsolve.spec.model import MAX_VALUE


@dataclass(frozen=True)
class PlanRequest:
    """What ``archsolve plan`` is asked: the data's median shape and voxel spacing (2 or 3
    axes), the memory budget in bytes, and the network's options."""

    shape: tuple[int, ...]
    spacing: tuple[float, ...]
    memory: int
    design: Design = field(default_factory=Design)
    batch: int = 2
    max_pools: int = 6
    dtype: Dtype = Dtype.FLOAT16
    command: str = "archsolve plan"  # the command line, for the spec's first comment


@dataclass(frozen=True)
class Plan:
    """The plan: the patch, its stages, its memory at the request's batch and dtype, the
    valid input sizes per axis (``start + step * k``), and the spec text."""

    request: PlanRequest
    patch: tuple[int, ...]
    topology: Topology
    memory: Memory
    valid: tuple[tuple[int, int], ...]  # per axis: (start, step)
    spec_text: str

    @property
    def voxels(self) -> int:
        """The patch's voxels."""
        return math.prod(self.patch)

    @property
    def channels(self) -> tuple[int, ...]:
        """Each stage's channels."""
        return tuple(stage_channels(self.request.design, s) for s in range(len(self.topology.stages)))

    @property
    def sizes(self) -> tuple[tuple[int, ...], ...]:
        """Each stage's feature map at the patch."""
        out, now = [], list(self.patch)
        for stage in self.topology.stages:
            now = [v // p for v, p in zip(now, stage.pool, strict=True)]
            out.append(tuple(now))
        return tuple(out)


BOUND_STAGES = 2  # the stages of the network that bounds a room vector's from below


class _Network:
    """One topology's spec, loaded once, and its memory as a function of the patch."""

    def __init__(self, request: PlanRequest, stages: Topology) -> None:
        self.request = request
        self.stages = stages
        # no budget in it: the constraint would count each network's memory twice
        self.text = unet_text(design=request.design, topology=stages, patch=stages.divisor, median=request.shape,
                              batch=request.batch, dtype=request.dtype, budget=request.memory, budget_text=None,
                              command=request.command)
        spec = load_text(self.text, "<plan>")
        self.names = AXIS_NAMES[len(request.shape)]
        self.net: Network = build_network(spec)
        # two patches the network takes whole (a bottleneck of min_feature, then twice that)
        one = tuple(d * request.design.min_feature for d in stages.divisor)
        two = tuple(2 * v for v in one)
        m1, m2 = self.training(one), self.training(two)
        v1, v2 = math.prod(one), math.prod(two)
        # bytes per voxel: a stage halved k times adds 1/2**k of its bytes per voxel
        self.slope = Fraction(m2 - m1, v2 - v1)
        self.base = m1 - self.slope * v1
        if self.slope <= 0:
            raise SolverBug(f"plan: training memory does not grow with the patch ({m1} at {one}, {m2} at {two})")

    def memory(self, patch: Sequence[int]) -> Memory:
        prop = propagate(self.net, dict(zip(self.names, patch, strict=True)), receptive_fields=False)
        return memory_of(prop, MemoryMode(batch=self.request.batch, dtype=self.request.dtype))

    def training(self, patch: Sequence[int]) -> int:
        return self.memory(patch).training


def _room(size: int, *, min_feature: int, cap: int) -> int:
    """How many times an axis of ``size`` may be halved with at least ``min_feature`` left,
    counted up to ``cap``: ``cap`` stands for that many or more."""
    room = 0
    while room < cap and size >= min_feature * 2 ** (room + 1):
        room += 1
    return room


def _sizes(*, room: int, divisor: int, median: int, min_feature: int, cap: int, most: int) -> range:
    """An axis's sizes that have exactly this ``room`` (at least it, at ``cap``), are
    multiples of ``divisor``, at most ``median`` and at most ``most``, ascending."""
    lo = min_feature * 2**room
    hi = min(median, most) if room == cap else min(median, most, min_feature * 2 ** (room + 1) - 1)
    return range(-(-lo // divisor) * divisor, hi + 1, divisor)


Rank = tuple[int, float, tuple[int, ...]]  # voxels, the smallest share of the median shape, the patch


def _rank(patch: tuple[int, ...], median: Sequence[int]) -> Rank:
    """Patches by size; of equal sizes, the one closest to the data's proportions (its smallest
    share of the median shape largest); then the one whose earlier axes are larger."""
    return math.prod(patch), min(v / m for v, m in zip(patch, median, strict=True)), patch


def _largest(lists: Sequence[range], most: int, median: Sequence[int], deadline: float | None) -> Rank | None:
    """The best-ranked patch, one size from each list, of at most ``most`` voxels."""
    best: Rank | None = None
    *heads, last = lists
    for n, head in enumerate(itertools.product(*heads)):
        if not n & 4095 and deadline is not None and time.monotonic() > deadline:
            raise SolverTimeout("the time ran out while planning (a lower --max-pools or a smaller --shape "
                                "has fewer patches to compare)")
        part = math.prod(head)
        if part * last[0] > most:
            continue
        k = bisect.bisect_right(last, most // part) - 1
        rank = _rank((*head, last[k]), median)
        if best is None or rank > best:
            best = rank
    return best


def check_request(request: PlanRequest) -> None:
    """Refuse what no plan can come from, saying what would work (:class:`UsageError`)."""
    n = len(request.shape)
    design = request.design
    if n not in (2, 3):
        raise UsageError(f"--shape has {n} size{'s' if n != 1 else ''}; give 2 (H,W) or 3 (D,H,W)")
    if len(request.spacing) != n:
        raise UsageError(f"--spacing has {len(request.spacing)} value{'s' if len(request.spacing) != 1 else ''} and "
                         f"--shape {n}; give one spacing per axis")
    for a, s in enumerate(request.spacing):
        if not (s > 0 and math.isfinite(s)):
            raise UsageError(f"--spacing: {AXIS_NAMES[n][a]} is {s:g}; a voxel spacing must be a positive number")
    for name, value, low in (("--channels", design.channels, 1), ("--max-channels", design.max_channels, 1),
                             ("--in-channels", design.in_channels, 1), ("--classes", design.classes, 1),
                             ("--batch", request.batch, 1), ("--max-pools", request.max_pools, 0),
                             ("--memory", request.memory, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_VALUE:
            raise UsageError(f"{name} is {value!r}; give a whole number from {low} to {MAX_VALUE:,}")
    if isinstance(design.min_feature, bool) or not isinstance(design.min_feature, int) or design.min_feature < 2:
        raise UsageError(f"--min-feature is {design.min_feature!r}; give 2 or more (an instance norm needs more "
                         "than one value per channel to train, and a bottleneck of 1 on every axis has one)")
    small = [f"{AXIS_NAMES[n][a]} is {v}" for a, v in enumerate(request.shape) if v < design.min_feature]
    if small:
        raise UsageError(f"--shape: {', '.join(small)}, smaller than --min-feature {design.min_feature}; "
                         f"every axis must be at least {design.min_feature} (or lower --min-feature)")
    if design.max_channels < design.channels:
        raise UsageError(f"--max-channels {design.max_channels} is below --channels {design.channels}")


def plan_network(request: PlanRequest, deadline: float | None = None) -> Plan:
    """The plan for ``request`` (module doc); :class:`UsageError` for a request no network
    comes from, :class:`InvalidNetwork` when even the smallest patch passes the budget,
    :class:`SolverTimeout` past ``deadline`` (``time.monotonic()``)."""
    check_request(request)
    mf, spacing, median = request.design.min_feature, request.spacing, request.shape
    # an axis halved max_pools times still counts as the finest while it could be halved once
    # more: the stages depend on each axis's room up to max_pools + 1
    cap = request.max_pools + 1
    networks: dict[Topology, _Network] = {}

    def network(stages: Topology) -> _Network:
        if stages not in networks:
            networks[stages] = _Network(request, stages)
        return networks[stages]

    def most(net: _Network) -> int:
        """The most voxels a patch of this network may have within the budget."""
        return math.floor((request.memory - net.base) / net.slope)

    # every network holds the network of its first stages (the top stages, then straight back
    # up) at the same patch, and the rest of it only adds to what autograd keeps and to the
    # weights: that smaller network's memory bounds it from below (tests/test_plan.py checks
    # it).  The top stage alone is the same for every room vector: no patch past its bound fits
    flat = network(Topology(topology((mf,) * len(median), spacing, min_feature=mf, max_pools=0).stages))
    voxels = most(flat)
    if voxels < mf ** len(median):  # the one-stage network at the smallest patch needs the least of all
        least = flat.training((mf,) * len(median))
        raise InvalidNetwork(
            f"--memory {bytes_text(request.memory)}: no patch fits; the smallest the rules allow "
            f"({'x'.join([str(mf)] * len(median))}, batch {request.batch}, {request.dtype.value}) needs "
            f"{bytes_text(least)} ({least:,} bytes) to train; give --memory {at_least(least)} or more, or a lower "
            "--batch, --channels or --max-channels")
    candidates = []  # per room vector: the largest patch it may have, its stages, each axis's sizes
    for room in itertools.product(*[range(_room(m, min_feature=mf, cap=cap) + 1) for m in median]):
        probe = tuple(mf * 2**r for r in room)  # any patch of this room: the stages depend only on it
        stages = topology(probe, spacing, min_feature=mf, max_pools=request.max_pools)
        # each axis's sizes end where the other axes' smallest leave no voxels under the bound
        lows = [-(-mf * 2**r // d) * d for r, d in zip(room, stages.divisor, strict=True)]
        lists = [_sizes(room=r, divisor=d, median=m, min_feature=mf, cap=cap,
                        most=voxels // math.prod(lows[:a] + lows[a + 1:]))
                 for a, (r, d, m) in enumerate(zip(room, stages.divisor, median, strict=True))]
        if all(lists) and math.prod(sizes[0] for sizes in lists) <= voxels:
            candidates.append((math.prod(sizes[-1] for sizes in lists), stages, lists))
    # the largest patches first: once the best so far is larger than a room vector's largest
    # patch, neither it nor any after it needs its network counted
    candidates.sort(key=lambda c: -c[0])
    best: tuple[Rank, _Network] | None = None
    for bound, stages, lists in candidates:
        if deadline is not None and time.monotonic() > deadline:
            raise SolverTimeout("the time ran out while planning (a lower --max-pools or a smaller --shape has "
                                "fewer patches to compare)")
        if best is not None and bound < best[0][0]:
            break
        low = most(network(Topology(stages.stages[:BOUND_STAGES])))
        if best is not None and min(bound, low) < best[0][0]:
            continue
        net = network(stages)
        got = _largest(lists, most(net), median, deadline)
        if got is not None and (best is None or got > best[0]):
            best = (got, net)
    assert best is not None, "the smallest patch of the room vector (0, ...) fits the one-stage network"
    (_, _, patch), net = best
    memory = net.memory(patch)
    if memory.training != net.slope * math.prod(patch) + net.base:
        raise SolverBug(f"plan: at {patch} training memory is {memory.training}, not the "
                        f"{net.slope} * voxels + {net.base} the two counts gave")
    text = unet_text(design=request.design, topology=net.stages, patch=patch, median=median, batch=request.batch,
                     dtype=request.dtype, budget=request.memory, budget_text=budget_text(request.memory),
                     command=request.command)
    valid = tuple((mf * d, d) for d in net.stages.divisor)
    return Plan(request=request, patch=patch, topology=net.stages, memory=memory, valid=valid, spec_text=text)
