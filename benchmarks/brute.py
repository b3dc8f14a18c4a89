"""A pruned brute-force shape solver in plain Python: the baseline of ``solve_bench.py``.

This is what a user would write instead of archsolve: a depth-first search over the layers
in order, enumerating each layer's unknown hyperparameters (ascending, one unknown at a
time, a padding's domain following its kernel), computing every size with PyTorch's
formulas, and pruning a branch as soon as a size is invalid (<= 0, a kernel larger than
the padded input, output_padding >= max(stride, dilation), pool padding > kernel // 2, a
pool or conv that drops pixels under ``exact``), a merge mismatches (concat sizes, a crop
larger than its input) or a constraint on a layer already reached fails.

Three questions: the first solution (``mode="first"``), the optimum of a non-negative
weighted sum of unknowns (``mode="opt"``, branch and bound: a branch whose partial sum
already reaches the best is cut) and every solution (``mode="all"``). A ``budget`` in
seconds raises :class:`Timeout`.

It does not import archsolve. The networks of the benchmark (``dcgan``, ``unet_padded``,
``unet_valid``, ``aniso3d``, ``chain12``) are written here by hand, with unknowns named as
archsolve names them, so that answers can be compared value by value.

    >>> net = dcgan()
    >>> search(net, "opt").best
    8
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Slot = Any  # an int or an Unknown


class Timeout(Exception):
    """The search ran past its budget."""


class _Found(Exception):
    pass


@dataclass(eq=False)
class Unknown:
    """One unknown hyperparameter. ``domain``: ints, or a function of the values so far."""

    name: str
    domain: Sequence[int] | Callable[[dict[str, int]], Iterable[int]]

    def values(self, assign: dict[str, int]) -> Iterable[int]:
        return self.domain(assign) if callable(self.domain) else self.domain


def val(slot: Slot, assign: dict[str, int]) -> int:
    return assign[slot.name] if isinstance(slot, Unknown) else slot


def below(kernel: Slot, dilation: Slot = 1) -> Callable[[dict[str, int]], range]:
    """The default padding domain: 0 .. dilation * (kernel - 1)."""
    return lambda a: range(val(dilation, a) * (val(kernel, a) - 1) + 1)


@dataclass(eq=False)
class Layer:
    name: str
    op: str
    src: list[str]
    fields: dict[str, list[Slot]]  # per axis
    out: int = 0
    unknowns: list[Unknown] = field(default_factory=list)
    checks: list[Callable[[dict[str, tuple[int, ...]], dict[str, int]], bool]] = field(default_factory=list)


class Net:
    """A network for :func:`search`: an input whose sizes may be unknown, then layers."""

    def __init__(self, input_shape: Sequence[Slot], exact: bool = False):
        self.channels = input_shape[0]
        self.ndim = len(input_shape) - 1
        self.exact = exact
        self.layers: list[Layer] = [Layer("input", "input", [], {"size": list(input_shape[1:])})]
        self._collect(self.layers[0])

    def _axes(self, v: Slot | Sequence[Slot]) -> list[Slot]:
        if isinstance(v, (list, tuple)):
            assert len(v) == self.ndim
            return list(v)
        return [v] * self.ndim  # one value (or one shared unknown) for every axis

    def _collect(self, lay: Layer) -> None:
        for slots in lay.fields.values():
            for s in slots:
                if isinstance(s, Unknown) and s not in lay.unknowns:
                    lay.unknowns.append(s)

    def _add(self, name: str, op: str, src: str | list[str] | None, out: int = 0, **fields: Any) -> Layer:
        srcs = [self.layers[-1].name] if src is None else [src] if isinstance(src, str) else list(src)
        lay = Layer(name, op, srcs, {k: self._axes(v) for k, v in fields.items()}, out)
        self._collect(lay)  # fields are given in dependency order: kernel before padding
        self.layers.append(lay)
        return lay

    def conv(self, name: str, out: int, kernel: Any, stride: Any = 1, dilation: Any = 1, padding: Any = 0,
             src: Any = None) -> Layer:
        return self._add(name, "conv", src, out, kernel=kernel, stride=stride, dilation=dilation, padding=padding)

    def deconv(self, name: str, out: int, kernel: Any, stride: Any = 1, dilation: Any = 1, padding: Any = 0,
               output_padding: Any = 0, src: Any = None) -> Layer:
        return self._add(name, "deconv", src, out, kernel=kernel, stride=stride, dilation=dilation,
                         padding=padding, output_padding=output_padding)

    def maxpool(self, name: str, kernel: Any, stride: Any = None, padding: Any = 0, src: Any = None) -> Layer:
        return self._add(name, "pool", src, kernel=kernel, stride=kernel if stride is None else stride,
                         padding=padding)

    def concat(self, name: str, srcs: list[str]) -> Layer:
        return self._add(name, "concat", srcs)

    def crop_like(self, name: str, src: str, like: str) -> Layer:
        return self._add(name, "crop", [src, like])

    def require(self, fn: Callable[[dict[str, tuple[int, ...]], dict[str, int]], bool],
                after: str | None = None) -> None:
        """A constraint, checked as soon as layer ``after`` (default: the last one) has a size."""
        lay = self.layers[-1] if after is None else next(x for x in self.layers if x.name == after)
        lay.checks.append(fn)

    @property
    def unknowns(self) -> list[str]:
        return [u.name for lay in self.layers for u in lay.unknowns]

    # -- PyTorch's shape rules ----------------------------------------------------------------
    def shape(self, lay: Layer, shapes: dict[str, tuple[int, ...]], a: dict[str, int]) -> tuple[int, ...] | None:
        op, f = lay.op, lay.fields
        if op == "input":
            size = tuple(val(s, a) for s in f["size"])
            return (self.channels, *size) if min(size) >= 1 else None
        x = shapes[lay.src[0]]
        out = [lay.out or x[0]]
        if op in ("conv", "pool"):
            for i in range(self.ndim):
                k, s, p = val(f["kernel"][i], a), val(f["stride"][i], a), val(f["padding"][i], a)
                d = val(f["dilation"][i], a) if op == "conv" else 1
                if op == "pool" and 2 * p > k:
                    return None                          # torch: pad <= kernel // 2
                num = x[i + 1] + 2 * p - d * (k - 1) - 1
                if num < 0:
                    return None                          # the kernel does not fit the padded input
                if self.exact and num % s:
                    return None                          # exact: no pixel may be dropped
                out.append(num // s + 1)
            return tuple(out)
        if op == "deconv":
            for i in range(self.ndim):
                k, s, p = val(f["kernel"][i], a), val(f["stride"][i], a), val(f["padding"][i], a)
                d, op_ = val(f["dilation"][i], a), val(f["output_padding"][i], a)
                if op_ >= max(s, d):
                    return None
                y = (x[i + 1] - 1) * s - 2 * p + d * (k - 1) + op_ + 1
                if y < 1:
                    return None
                out.append(y)
            return tuple(out)
        if op == "concat":
            ys = [shapes[n] for n in lay.src]
            if any(y[1:] != x[1:] for y in ys):
                return None                              # sizes differ at the merge
            return (sum(y[0] for y in ys), *x[1:])
        if op == "crop":
            t = shapes[lay.src[1]]
            for i in range(1, self.ndim + 1):
                diff = x[i] - t[i]
                if diff < 0 or (self.exact and diff % 2):
                    return None                          # cannot crop, or an uneven crop under exact
            return (x[0], *t[1:])
        raise ValueError(op)

    def evaluate(self, values: dict[str, int]) -> dict[str, tuple[int, ...]] | None:
        """Propagate one full assignment (e.g. archsolve's answer): all shapes, or None if invalid."""
        shapes: dict[str, tuple[int, ...]] = {}
        for lay in self.layers:
            y = self.shape(lay, shapes, values)
            if y is None:
                return None
            shapes[lay.name] = y
            if not all(c(shapes, values) for c in lay.checks):
                return None
        return shapes


@dataclass
class Result:
    mode: str
    found: int = 0                       # solutions seen
    best: int | None = None              # "opt": the optimum; "first": the first one's cost
    best_values: dict[str, int] | None = None
    solutions: set[tuple[tuple[str, int], ...]] | None = None  # "all" with collect=True
    nodes: int = 0
    seconds: float = 0.0


def search(net: Net, mode: str, weights: dict[str, int] | None = None, budget: float | None = None,
           collect: bool = False) -> Result:
    """Depth-first search; see the module docstring. ``weights``: the objective (default: the
    sum of all unknowns); only non-negative weights (branch and bound relies on it)."""
    assert mode in ("first", "opt", "all")
    layers = net.layers
    n = len(layers)
    res = Result(mode, solutions=set() if collect else None)
    assign: dict[str, int] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    w = weights
    start = time.perf_counter()
    deadline = None if budget is None else start + budget
    counter = [0]

    def cost_of(lay: Layer) -> int:
        if w is None:
            return sum(assign[u.name] for u in lay.unknowns)
        return sum(w.get(u.name, 0) * assign[u.name] for u in lay.unknowns)

    def solution(cost: int) -> None:
        res.found += 1
        if mode == "all":
            if collect:
                res.solutions.add(tuple(sorted(assign.items())))  # type: ignore[union-attr]
            return
        if res.best is None or cost < res.best:
            res.best, res.best_values = cost, dict(assign)
        if mode == "first":
            raise _Found

    def layer(i: int, cost: int) -> None:
        if i == n:
            solution(cost)
            return
        lay = layers[i]
        us = lay.unknowns

        def enum(j: int) -> None:
            if j < len(us):
                u = us[j]
                for v in u.values(assign):
                    assign[u.name] = v
                    enum(j + 1)
                assign.pop(u.name, None)
                return
            counter[0] += 1
            if deadline is not None and not counter[0] & 1023 and time.perf_counter() > deadline:
                raise Timeout
            c = cost + cost_of(lay) if us else cost
            if mode == "opt" and res.best is not None and c >= res.best:
                return                                   # branch and bound (weights >= 0)
            y = net.shape(lay, shapes, assign)
            if y is None:
                return
            shapes[lay.name] = y
            for check in lay.checks:
                if not check(shapes, assign):
                    return
            layer(i + 1, c)

        if us:
            enum(0)
        else:
            enum(len(us))

    try:
        layer(0, 0)
    except _Found:
        pass
    finally:
        res.nodes = counter[0]
        res.seconds = time.perf_counter() - start
    return res


# -- the benchmark's networks -------------------------------------------------------------------
# Default domains of archsolve's "?" (docs/spec-format.md): kernel 1..11, stride 1..4, dilation 1..4,
# conv/deconv padding 0..dilation*(kernel-1).
KERNEL = range(1, 12)
STRIDE = range(1, 5)
DILATION = range(1, 5)


def dcgan() -> Net:
    """Case 1: 1x1 -> 64x64 in 5 deconvs of kernel 4, stride 1..4 and padding 0..3 unknown."""
    net = Net([100, 1, 1])
    for i, c in enumerate([512, 256, 128, 64, 3], 1):
        net.deconv(f"deconv{i}", c, kernel=4, stride=Unknown(f"deconv{i}.stride", STRIDE),
                   padding=Unknown(f"deconv{i}.padding", range(4)))
    net.require(lambda s, a: s["deconv5"] == (3, 64, 64))
    return net


def _channels(i: int) -> int:
    return min(64 * 2 ** i, 1024)


def _double_conv(net: Net, name: str, c: int, kernel: Any = 3, padding: int = 1) -> None:
    for j in (1, 2):
        k = kernel(f"{name}/conv{j}.kernel") if callable(kernel) else kernel
        net.conv(f"{name}/conv{j}", c, kernel=k, padding=padding)


def unet_padded(depth: int) -> Net:
    """Case 2: padded U-Net (3x3 pad-1 convs, 2x2 pools); up-conv kernel, stride, padding unknown."""
    s = max(256, 2 ** depth * 16)
    net = Net([3, s, s])
    for i in range(1, depth + 1):
        _double_conv(net, f"enc{i}", _channels(i - 1))
        net.maxpool(f"pool{i}", 2)
    _double_conv(net, "bottom", _channels(depth))
    for i in range(depth, 0, -1):
        k = Unknown(f"up{i}.kernel", KERNEL)
        net.deconv(f"up{i}", _channels(i - 1), kernel=k, stride=Unknown(f"up{i}.stride", STRIDE),
                   padding=Unknown(f"up{i}.padding", below(k)))
        net.concat(f"cat{i}", [f"enc{i}/conv2", f"up{i}"])
        _double_conv(net, f"dec{i}", _channels(i - 1))
    net.conv("head", 2, kernel=1)
    net.require(lambda sh, a: sh["head"] == (2, s, s))
    return net


def unet_valid(depth: int, kernels: Sequence[int]) -> Net:
    """Case 3: original-style U-Net (valid convs, crop + concat, exact), every conv kernel in
    ``kernels``, input H x H with H in 1..4096 unknown; minimize H (weights={"H": 1})."""
    H = Unknown("H", range(1, 4097))
    net = Net([1, H, H], exact=True)

    def k(name: str) -> Unknown:
        return Unknown(name, list(kernels))

    for i in range(1, depth + 1):
        _double_conv(net, f"enc{i}", _channels(i - 1), kernel=k, padding=0)
        net.maxpool(f"pool{i}", 2)
    _double_conv(net, "bottom", _channels(depth), kernel=k, padding=0)
    for i in range(depth, 0, -1):
        net.deconv(f"up{i}", _channels(i - 1), kernel=2, stride=2)
        net.crop_like(f"crop{i}", f"enc{i}/conv2", f"up{i}")
        net.concat(f"cat{i}", [f"crop{i}", f"up{i}"])
        _double_conv(net, f"dec{i}", _channels(i - 1), kernel=k, padding=0)
    net.conv("head", 2, kernel=1)
    return net


def aniso3d() -> Net:
    """Case 4: 3D pooling plan; per-axis pool/up-conv kernel and stride in 1..2."""
    net = Net([1, 32, 128, 128])
    chans = [16, 32, 64, 128, 256]

    def per_axis(layer: str, f: str) -> list[Unknown]:
        return [Unknown(f"{layer}.{f}[{i}]", (1, 2)) for i in range(3)]

    for i in range(1, 5):
        _double_conv(net, f"enc{i}", chans[i - 1])
        net.maxpool(f"pool{i}", per_axis(f"pool{i}", "kernel"), per_axis(f"pool{i}", "stride"))
    _double_conv(net, "bottom", chans[4])
    net.require(lambda s, a: s["bottom/conv2"] == (256, 4, 8, 8))
    for i in range(4, 0, -1):
        net.deconv(f"up{i}", chans[i - 1], kernel=per_axis(f"up{i}", "kernel"),
                   stride=per_axis(f"up{i}", "stride"))
        net.concat(f"cat{i}", [f"enc{i}/conv2", f"up{i}"])
        _double_conv(net, f"dec{i}", chans[i - 1])
    net.conv("head", 2, kernel=1)
    net.require(lambda s, a: s["head"] == (2, 32, 128, 128))
    return net


def chain12() -> Net:
    """Case 5: 12 conv/deconv layers, kernel, stride, dilation and padding all unknown."""
    net = Net([3, 32, 32])
    chans = [16, 32, 32, 64, 64, 32, 32, 16, 16, 32, 32, 3]
    for i in range(1, 13):
        k, d = Unknown(f"l{i}.kernel", KERNEL), Unknown(f"l{i}.dilation", DILATION)
        kw = dict(kernel=k, stride=Unknown(f"l{i}.stride", STRIDE), dilation=d,
                  padding=Unknown(f"l{i}.padding", below(k, d)))
        (net.deconv if 5 <= i <= 8 else net.conv)(f"l{i}", chans[i - 1], **kw)
    net.require(lambda s, a: s["l4"][1] == 16, after="l4")
    net.require(lambda s, a: s["l8"][1] == 64, after="l8")
    net.require(lambda s, a: s["l12"] == (3, 32, 32))
    return net


if __name__ == "__main__":
    import sys

    nets = {"dcgan": dcgan, "chain12": chain12, "aniso3d": aniso3d,
            **{f"unet_padded{d}": (lambda d=d: unet_padded(d)) for d in (3, 4, 5, 6)},
            "unet_valid6_k135": lambda: unet_valid(6, (1, 3, 5)), "unet_valid6_k35": lambda: unet_valid(6, (3, 5))}
    name, mode = sys.argv[1], sys.argv[2]
    weights = {"H": 1} if name.startswith("unet_valid") else None
    try:
        r = search(nets[name](), mode, weights=weights, budget=float(sys.argv[3]) if len(sys.argv) > 3 else None)
        print(f"{name} {mode}: found {r.found}, best {r.best}, {r.nodes} nodes, {r.seconds:.3f} s")
        if r.best_values:
            print(r.best_values)
    except Timeout:
        print(f"{name} {mode}: timeout")
