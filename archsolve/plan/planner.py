"""``archsolve plan``: the largest patch whose exact training memory fits a budget.

The rules (:mod:`~archsolve.plan.rules`) make the stages a function of the patch, and of it
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
same memory figure (docs/plan.md compares the two on eight data sets).

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
from archsolve.lang.expr import bytes_text
from archsolve.ops.autograd import Dtype, MemoryMode
from archsolve.ops.base import AXIS_NAMES
from archsolve.plan.network import Design, stage_channels, unet_text
from archsolve.plan.rules import Topology, topology
from archsolve.shapes.graph import Network, build_network
from archsolve.shapes.memory import Memory, memory_of
from archsolve.shapes.propagate import propagate
from archsolve.spec.load import load_text


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
    memory_text: str = ""  # the budget as the user wrote it (``8GiB``), for the spec's constraint
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
    networks: int  # how many networks (room vectors' stages) were counted

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


def _room(size: int, *, min_feature: int, max_pools: int) -> int:
    """How many times an axis of ``size`` may be halved with at least ``min_feature`` left."""
    room = 0
    while room < max_pools and size >= min_feature * 2 ** (room + 1):
        room += 1
    return room


def _sizes(*, room: int, divisor: int, median: int, min_feature: int, max_pools: int) -> list[int]:
    """An axis's sizes that have exactly this ``room``, are multiples of ``divisor`` and at
    most ``median``, ascending."""
    lo = min_feature * 2**room
    hi = median if room == max_pools else min(median, min_feature * 2 ** (room + 1) - 1)
    first = -(-lo // divisor) * divisor
    return list(range(first, hi + 1, divisor))


def _largest(lists: Sequence[list[int]], most: int, median: Sequence[int]) -> tuple[tuple[int, float], tuple[int, ...]] | None:
    """The tuple (one size from each list) of the largest product at most ``most``, and its
    rank: (the product, its balance).  Of equal products, the one whose smallest share of
    the median shape is largest (the patch closest to the data's own proportions)."""
    best: tuple[tuple[int, float], tuple[int, ...]] | None = None
    *heads, last = lists
    for head in itertools.product(*heads):
        part = math.prod(head)
        if part * last[0] > most:
            continue
        k = bisect.bisect_right(last, most // part) - 1
        patch = (*head, last[k])
        rank = (part * last[k], min(v / m for v, m in zip(patch, median, strict=True)))
        if best is None or rank > best[0]:
            best = (rank, patch)
    return best


def check_request(request: PlanRequest) -> None:
    """Refuse what no plan can come from, saying what would work (:class:`UsageError`)."""
    n = len(request.shape)
    if n not in (2, 3):
        raise UsageError(f"--shape has {n} sizes; give 2 (H,W) or 3 (D,H,W)")
    if len(request.spacing) != n:
        raise UsageError(f"--spacing has {len(request.spacing)} values and --shape {n}; give one spacing per axis")
    for a, s in enumerate(request.spacing):
        if not (s > 0 and math.isfinite(s)):
            raise UsageError(f"--spacing: {AXIS_NAMES[n][a]} is {s:g}; a voxel spacing must be a positive number")
    small = [f"{AXIS_NAMES[n][a]} is {v}" for a, v in enumerate(request.shape) if v < request.design.min_feature]
    if small:
        raise UsageError(f"--shape: {', '.join(small)}, smaller than --min-feature {request.design.min_feature}; "
                         f"every axis must be at least {request.design.min_feature} (or lower --min-feature)")
    if request.design.max_channels < request.design.channels:
        raise UsageError(f"--max-channels {request.design.max_channels} is below --channels "
                         f"{request.design.channels}")


def plan_network(request: PlanRequest, deadline: float | None = None) -> Plan:
    """The plan for ``request`` (module doc); :class:`UsageError` for a request no network
    comes from, :class:`InvalidNetwork` when even the smallest patch passes the budget, :class:`SolverTimeout` past ``deadline`` (``time.monotonic()``)."""
    check_request(request)
    mf, cap = request.design.min_feature, request.max_pools
    rooms = [range(_room(m, min_feature=mf, max_pools=cap) + 1) for m in request.shape]
    spacing = request.spacing
    networks: dict[Topology, _Network] = {}
    best: tuple[tuple[int, float], tuple[int, ...], _Network] | None = None
    candidates = []  # per room vector: its stages and each axis's sizes
    for room in itertools.product(*rooms):
        probe = tuple(mf * 2**r for r in room)  # any patch of this room: the stages depend only on it
        stages = topology(probe, spacing, min_feature=mf, max_pools=cap)
        lists = [_sizes(room=r, divisor=d, median=m, min_feature=mf, max_pools=cap)
                 for r, d, m in zip(room, stages.divisor, request.shape, strict=True)]
        if all(lists):  # else no multiple of the divisor has this room
            candidates.append((math.prod(sizes[-1] for sizes in lists), stages, lists))
    # the largest patches first: once the best so far is larger than a room vector's largest
    # patch, neither it nor any after it needs its network counted
    candidates.sort(key=lambda c: -c[0])
    # a network holds the network of its first stages (the top stages, then straight back
    # up) at the same patch, and the rest of it only adds to what autograd keeps and to the
    # weights: that smaller network's memory bounds it from below (tests/test_plan.py checks
    # it), and few room vectors share few such prefixes.  A room vector whose patches that
    # bound rules out needs no network of its own counted
    prefixes: dict[Topology, _Network] = {}

    def prefix(stages: Topology, n: int) -> _Network:
        head = Topology(stages.stages[:n])
        if head not in prefixes:
            prefixes[head] = networks.get(head) or _Network(request, head)
        return prefixes[head]

    flat = prefix(candidates[0][1], 1)  # the first stage is the same for every room vector
    for bound, stages, lists in candidates:
        if deadline is not None and time.monotonic() > deadline:
            raise SolverTimeout("the time ran out while planning")
        if best is not None and bound < best[0][0]:
            break
        low = prefix(stages, BOUND_STAGES)
        if _largest(lists, math.floor((request.memory - low.base) / low.slope), request.shape) is None or (
                best is not None and min(bound, math.floor((request.memory - low.base) / low.slope)) < best[0][0]):
            continue
        net = networks.get(stages) or prefixes.get(stages)
        if net is None:
            net = networks[stages] = _Network(request, stages)
        most = math.floor((request.memory - net.base) / net.slope)
        got = _largest(lists, most, request.shape)
        if got is not None and (best is None or got[0] > best[0]):
            best = (got[0], got[1], net)
    if best is None:  # the one-stage network at the smallest patch needs the least of all
        patch = (mf,) * len(request.shape)
        least = flat.training(patch)
        raise InvalidNetwork(
            f"--memory {bytes_text(request.memory)}: no patch fits; the smallest the rules allow "
            f"({'x'.join(map(str, patch))}, batch {request.batch}, {request.dtype.value}) needs {bytes_text(least)} "
            f"({least:,} bytes) to train; give --memory {bytes_text(least)} or more, or a lower --batch or --channels")
    _, patch, net = best
    memory = net.memory(patch)
    if memory.training != net.slope * math.prod(patch) + net.base:
        raise SolverBug(f"plan: at {patch} training memory is {memory.training}, not the "
                        f"{net.slope} * voxels + {net.base} the two counts gave")
    text = unet_text(design=request.design, topology=net.stages, patch=patch, median=request.shape,
                     batch=request.batch, dtype=request.dtype, budget=request.memory,
                     budget_text=request.memory_text or f"{request.memory}", command=request.command)
    valid = tuple((mf * d, d) for d in net.stages.divisor)
    return Plan(request=request, patch=patch, topology=net.stages, memory=memory, valid=valid, spec_text=text,
                networks=len(networks) + len(prefixes))
