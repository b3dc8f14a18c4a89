"""Fixes for the problems ``check`` finds: the nearest valid input sizes, and local edits.

Each problem gets the edits that make it go away, each checked by propagating again before it
is offered: another input size (the nearest valid ones, below and above, axes that are equal
moving together), an ``output_padding`` or ``padding``, a crop or pad of a merge's branches to
one size.  Merge mismatches also say where each branch's size came from.

    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.spec.load import load_spec
    >>> net = build_network(load_spec("specs/unet-original.yaml"))
    >>> nearest_inputs(net, {}, (1, 570, 570))
    [(556, 556), (572, 572)]
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from archsolve.check.scope import scope_of
from archsolve.errors import ArchsolveError, SpecError
from archsolve.lang.expr import Name, Num
from archsolve.ops.base import Collect, Severity
from archsolve.ops.table import OPS
from archsolve.shapes.explain import origin, split
from archsolve.shapes.graph import Network
from archsolve.shapes.propagate import Problem, Propagation, propagate
from archsolve.spec.domains import var_allows
from archsolve.spec.model import Layer

NEAREST_SCAN = 512  # how far (in pixels) to look for valid input sizes
NEAREST_ALONE = 64  # ... and for one axis moved by itself
NEAREST_SECONDS = 2.0
# layers a check re-runs to offer merge fixes, all its trials together (each trial re-runs the
# whole network): every fix of an add of 100 mismatched branches, some of one of 1,000
MAX_FIX_RUNS = 50_000


def _ceil_half(n: int) -> int:
    return -(-n // 2)


def nearest_inputs(net: Network, env: Mapping[str, int], current: tuple[int, ...],
                   until: float | None = None) -> list[tuple[int, ...]]:
    """The valid input sizes closest to ``current`` (equal axes move together), below and
    above; an axis written as a var stays in the var's domain.  The search takes
    :data:`NEAREST_SECONDS` at most, and stops at ``until`` (``time.monotonic()``) too."""
    return [c for c in _nearest_inputs(net, env, current, until) if _writable(net, env, c)]


def _writable(net: Network, env: Mapping[str, int], sizes: tuple[int, ...]) -> bool:
    """Whether the spec's input can give ``sizes``: each axis written as a var takes that size
    within the var's domain, and every other axis (a number, a tied var ``W: H + 1``, an
    expression) then evaluates to its size. A size no assignment gives is no advice."""
    spec = net.spec
    tied = spec.tied()
    given: dict[str, int] = {}
    for e, v in zip(spec.input[1:], sizes, strict=True):
        free = isinstance(e, Name) and e.name in spec.vars and spec.vars[e.name].domain is not None
        if free and (given.setdefault(e.name, v) != v or not var_allows(spec, e.name, v, {**env, **given})):
            return False
    # a tied var (W: H) follows the sizes tried, not the value it had
    values = {**{n: v for n, v in env.items() if n not in tied}, **given}
    for e, v in zip(spec.input[1:], sizes, strict=True):
        if isinstance(e, Num):
            continue  # a number written in the spec: the advice is to write another
        try:
            if e.substitute(tied).evaluate(values) != v:
                return False
        except (KeyError, ArchsolveError):
            return False  # a var no axis names by itself (input: [1, 3*n, 3*n])
    if not given:
        return True
    try:  # the var may stand inside the network too (kernel: H - 4): the whole check, with it set
        return propagate(net, values, receptive_fields=False, counts=False, warnings=False).ok
    except SpecError:
        return False


def _nearest_inputs(net: Network, env: Mapping[str, int], current: tuple[int, ...], until: float | None
                    ) -> list[tuple[int, ...]]:
    spatial = current[1:]
    deadline = min(time.monotonic() + NEAREST_SECONDS, until if until is not None else math.inf)
    # axes written with the same value or var move together (a square input stays square)
    if len(set(spatial)) == 1:
        def make(d: int) -> tuple[int, ...] | None:
            v = spatial[0] + d
            return (v,) * len(spatial) if v >= 1 else None
    else:
        # sizes that differ: often one axis alone is off (576x572): move each axis by itself
        # first, the nearest found first
        alone = sorted((abs(d), c) for a in range(len(spatial))
                       for d, c in _nearest_on(net, env, spatial, a, deadline))
        if alone:
            return [c for _, c in alone[:2]]
        mixed = _nearest_mixed(net, env, spatial, deadline)
        if mixed:
            return mixed

        def make(d: int) -> tuple[int, ...] | None:  # then every axis by the same offset
            out = tuple(v + d for v in spatial)
            return out if min(out) >= 1 else None
    found: list[tuple[int, ...]] = []
    below = above = None
    for d in range(1, NEAREST_SCAN + 1):
        if time.monotonic() > deadline or (below and above):
            break
        for step, is_below in ((-d, True), (d, False)):
            if (is_below and below) or (not is_below and above):
                continue
            cand = make(step)
            if cand is None:
                continue
            try:
                if propagate(net, env, cand, receptive_fields=False, counts=False, warnings=False).ok:
                    if is_below:
                        below = cand
                    else:
                        above = cand
            except SpecError:
                continue
    for c in (below, above):
        if c:
            found.append(c)
    return found


def _nearest_on(net: Network, env: Mapping[str, int], spatial: tuple[int, ...], axis: int, deadline: float
                ) -> list[tuple[int, tuple[int, ...]]]:
    """The nearest valid sizes below and above with only ``axis`` moved: (offset, sizes)."""
    found: list[tuple[int, tuple[int, ...]]] = []
    for sign in (-1, 1):
        for d in range(1, NEAREST_ALONE + 1):
            if time.monotonic() > deadline:
                return found
            v = spatial[axis] + sign * d
            if v < 1:
                break
            cand = (*spatial[:axis], v, *spatial[axis + 1:])
            try:
                if propagate(net, env, cand, receptive_fields=False, counts=False, warnings=False).ok:
                    found.append((sign * d, cand))
                    break
            except SpecError:
                break
    return found


def _nearest_mixed(net: Network, env: Mapping[str, int], spatial: tuple[int, ...], deadline: float
                   ) -> list[tuple[int, ...]]:
    """Every axis moved to its own nearest size that works as a square input (below or
    above), each combination checked as it is: the two nearest that are valid."""
    valid: dict[int, bool] = {}

    def square(v: int) -> bool:
        if v not in valid:
            try:
                valid[v] = propagate(net, env, (v,) * len(spatial), receptive_fields=False, counts=False,
                                     warnings=False).ok
            except SpecError:
                valid[v] = False
        return valid[v]

    choices: list[list[int]] = []
    for v in spatial:
        near = [v] if square(v) else []
        for sign in (-1, 1):
            for d in range(1, NEAREST_SCAN + 1):
                if time.monotonic() > deadline or v + sign * d < 1:
                    break
                if square(v + sign * d):
                    near.append(v + sign * d)
                    break
        choices.append(near)
    found = []
    for cand in itertools.product(*choices):
        if cand == spatial or time.monotonic() > deadline:
            continue
        try:
            if propagate(net, env, cand, receptive_fields=False, counts=False, warnings=False).ok:
                found.append((sum(abs(a - b) for a, b in zip(cand, spatial, strict=True)), cand))
        except SpecError:
            continue
    return [c for _, c in sorted(found)[:2]]


def _fmt_size(sizes: tuple[int, ...]) -> str:
    return "x".join(map(str, sizes))


def _sizes_fix(net: Network, nearest: list[tuple[int, ...]], current: tuple[int, ...]) -> str:
    """The fix of another input size: as ``--set`` values where the input's sizes are vars
    (``[3, H, W]``, ``W: H``), else as the sizes to write."""
    spec = net.spec
    names = [e.name for e in spec.input[1:] if isinstance(e, Name) and e.name in spec.vars]
    if len(names) == net.spec.ndim:
        free: dict[str, int] = {}  # each free var, at the first axis it sizes
        for i, n in enumerate(names):
            if spec.vars[n].domain is not None:
                free.setdefault(n, i)
        if free:
            def sets(sizes: tuple[int, ...]) -> str:
                return " ".join(f"--set {n}={sizes[i]}" for n, i in free.items())

            was = ", ".join(f"{n}={current[1:][i]}" for n, i in free.items())
            return (f"use {' or '.join(sets(n) for n in nearest)} instead of {was} "
                    f"(the nearest sizes that make the network valid)")
    return ("use input size " + " or ".join(_fmt_size(n) for n in nearest)
            + f" instead of {_fmt_size(current[1:])} (the nearest that make the network valid)")


def add_fixes(report_prop: Propagation, problems: list[Problem], until: float | None = None) -> list[tuple[int, ...]]:
    """Attach the fixes a designer would try to each problem (``problems`` is updated with
    them); return the nearest valid input sizes when they were needed.  Past ``until``
    (``time.monotonic()``), only the fixes that need no trial run are offered.  No fix or
    input size is tried that cannot clear the mismatched merges (:mod:`.scope`)."""
    prop = report_prop
    prop.trials.until = until
    net = prop.network
    nearest: list[tuple[int, ...]] | None = None
    for i, p in enumerate(problems):
        res = prop.layers.get(p.layer)
        fixes: list[str] = []
        if res is not None and res.args is not None and res.inputs is not None:
            fixes.extend(_local_fixes(prop, p, res))
        if p.severity is Severity.ERROR and p.kind in ("mismatch", "size", "exact", "kernel-fits", "crop-size",
                                                "crop-odd", "constraint"):
            if nearest is None:
                nearest = nearest_inputs(net, prop.env, prop.input, until) if scope_of(prop).input_helps else []
            if nearest:
                fixes.append(_sizes_fix(net, nearest, prop.input))
        problems[i] = replace(p, fixes=tuple(fixes))
    return nearest or []


def _local_fixes(prop: Propagation, p: Problem, res: Any) -> list[str]:
    a = res.args
    x = res.inputs[0]
    name = res.layer.name
    out: list[str] = []
    if p.kind == "kernel-fits":
        # every axis the kernel does not fit (another axis keeps its value)
        pad = a["padding"]
        pads = [0 if isinstance(pad, str) else pad[i] for i in range(a.ndim)]
        need, kmax = list(pads), list(a["kernel"])
        for i in range(a.ndim):
            k, d = a["kernel"][i], a["dilation"][i]
            span = d * (k - 1) + 1
            if span > x[i + 1] + 2 * pads[i]:
                need[i] = _ceil_half(span - x[i + 1])
                kmax[i] = (x[i + 1] + 2 * pads[i] - 1) // d + 1
        if need != pads:
            out.append(f"set {name}.padding to at least {_axes_value(need)}, or {name}.kernel to at most "
                       f"{_axes_value(kmax)}")
    elif p.kind == "output-padding":
        limits = [max(s, d) - 1 for s, d in zip(a["stride"], a["dilation"], strict=True)]
        out.append(f"set {name}.output_padding to at most {_axes_value(limits)}")
    elif p.kind == "pool-padding":
        out.append(f"set {name}.padding to at most {min(a['kernel']) // 2} (half the kernel)")
    elif p.kind == "same-stride":
        pads = [a["dilation"][i] * (a["kernel"][i] - 1) // 2 for i in range(a.ndim)]
        out.append(f"write the padding as a number: padding: {pads[0] if len(set(pads)) == 1 else pads} "
                   "(torch accepts it with any stride)")
    elif p.kind == "groups":
        cin, cout = x[0], a.get("out", x[0])
        divisors = [g for g in range(1, min(cin, cout) + 1) if cin % g == 0 and cout % g == 0]
        both = f"both {cin} and {cout}" if cin != cout else f"{cin}"
        out.append(f"use groups that divide {both}: " + ", ".join(map(str, divisors[-6:])))
    elif p.kind == "mismatch":
        out.extend(_merge_fixes(prop, res))
    elif p.kind in ("drops", "exact"):
        out.append("an input size that leaves no pixel unread avoids it (see 'archsolve inputs')")
    elif p.kind == "holes":
        out.extend(_hole_fixes(name, a))
    elif p.kind == "crop-size" and a.get("offset") is not None:
        room = [x[i + 1] - res.inputs[1][i + 1] for i in range(a.ndim)]  # the largest offset on each axis
        if min(room) >= 0:
            out.append(f"set {name}.offset to at most {_axes_value(room)}")
    elif p.kind == "crop-odd":
        out.append("make the difference even (adjust the input size or a padding)"
                   + ("" if p.severity is Severity.ERROR else ", or accept the extra pixel"))
    return out


def _hole_fixes(name: str, a: Any) -> list[str]:
    """A transposed conv whose stride outruns its kernel, or whose output_padding passes its
    padding; a window on padding only."""
    if "output_padding" not in a:
        reach = [a["dilation"][i] * (a["kernel"][i] - 1) for i in range(a.ndim)] if "dilation" in a else None
        pads = a["padding"]
        if reach is not None and not isinstance(pads, str) and any(pads[i] > reach[i] for i in range(a.ndim)):
            return [f"set {name}.padding to at most {_axes_value(reach)} (the kernel's reach)"]
        return []
    out = []
    spans = [a["dilation"][i] * (a["kernel"][i] - 1) + 1 for i in range(a.ndim)]
    if any(s > span for s, span in zip(a["stride"], spans, strict=True)):
        out.append(f"set {name}.kernel to at least its stride {_axes_value(list(a['stride']))}")
    if not isinstance(a["padding"], str) and any(op > p for op, p in zip(a["output_padding"], a["padding"],
                                                                         strict=True)):
        out.append(f"set {name}.output_padding to at most its padding {_axes_value(list(a['padding']))}")
    return out


def _merge_fixes(prop: Propagation, res: Any) -> list[str]:
    """Crop or pad one branch, or change the up-sampling branch's output_padding."""
    out: list[str] = []
    taken = _names_taken(prop)  # new layers' names, unique across the pairs of a 3-way merge
    shapes = res.inputs
    sources = res.layer.refs or res.layer.sources
    first_axis = 1 if res.layer.op == "concat" else 0
    a_shape = shapes[0]
    start = max(first_axis, 1)
    gaps = [a - b for a, b in zip(a_shape[start:], shapes[1][start:], strict=True)] \
        if len(shapes) == 2 and len(a_shape) == len(shapes[1]) else []
    if len(shapes) > 2 or (gaps and min(gaps) < 0 < max(gaps)):  # 28x32 against 32x28: neither fits the other
        out.extend(_merge_fixes_n(prop, res, first_axis))
    for j, b_shape in enumerate(shapes[1:], start=1):
        if len(a_shape) != len(b_shape):
            continue
        diffs = [a_shape[n] - b_shape[n] for n in range(max(first_axis, 1), len(a_shape))]
        if not any(diffs) or first_axis == 0 and a_shape[0] != b_shape[0]:
            if first_axis == 0 and a_shape[0] != b_shape[0]:
                out.append(f"make the channels equal: {sources[0]} has {a_shape[0]}, {sources[j]} has {b_shape[0]} "
                           "(a 1x1 conv on one branch, or change 'out')")
            continue
        if all(d >= 0 for d in diffs):
            ib, i_s = 0, j
        elif all(d <= 0 for d in diffs):
            ib, i_s = j, 0
        else:
            continue
        big, small = sources[ib], sources[i_s]
        amounts = [abs(d) for d in diffs]
        axes = prop.network.spec.axis_names
        sides = "; ".join(f"{ax}: {d // 2} before and {d - d // 2} after" for ax, d in zip(axes, amounts, strict=False)) \
            if len(set(amounts)) > 1 else f"{amounts[0] // 2} before and {amounts[0] - amounts[0] // 2} after on each axis"
        # a new layer the merge reads instead of the branch (an inserted one would feed the
        # layers after the branch, not the merge)
        merge = res.layer.name
        cropped = not (prop.network.spec.exact and any(d % 2 for d in amounts))  # exact: an odd crop is an error
        # each offered only if the whole network then has no new error (the same branch may
        # feed another merge, which a crop leaves alone but a changed size would not)
        lay = res.layer
        crop = _new_name(f"{big}_crop", taken)
        cropped = cropped and _insert_helps(prop, lay, ib, Layer(
            crop, "crop", {"like": small, "amount": None}, (lay.sources[ib], lay.sources[i_s]), 0, lay.where,
            refs=(big, small)))
        if cropped:
            taken.add(crop)
            out.append(f"crop {big} to {small} ({sides}): add {{name: {crop}, op: crop, from: {big}, like: {small}}} "
                       f"before {merge} and read {crop} in {merge}'s from instead of {big}")
        pads = [[d // 2, d - d // 2] for d in amounts]
        pad = _new_name(f"{small}_pad", taken)
        if _insert_helps(prop, lay, i_s, Layer(
                pad, "pad", {"amount": tuple((Num(a), Num(b)) for a, b in pads), "value": 0}, (lay.sources[i_s],),
                0, lay.where, refs=(small,))):
            taken.add(pad)
            out.append(f"{'or ' if cropped else ''}pad {small} ({sides}): add {{name: {pad}, op: pad, from: {small}, "
                       f"amount: {pads}}} before {merge} and read {pad} in {merge}'s from instead of {small}")
        # an up-sampling deconv one or two pixels short: output_padding
        up = prop.layers.get(small)
        if up is not None and up.layer.op == "deconv" and up.args is not None:
            limits = [max(st, dl) - 1 for st, dl in zip(up.args["stride"], up.args["dilation"], strict=True)]
            cur = up.args["output_padding"]
            want = [c + d for c, d in zip(cur, amounts, strict=False)]
            if all(w <= lim for w, lim in zip(want, limits, strict=False)):
                out.append(f"set {small}.output_padding to {_axes_value(want)}")
        # the layer that made either branch its size: another padding, or ceil_mode for a pool
        for k, want_shape in ((0, b_shape), (j, a_shape)):
            fix = _size_fix(prop, res.layer.sources[k], sources[k], want_shape, res.layer.name)
            if fix:
                out.append(fix)
    return out


def _insert_helps(prop: Propagation, merge: Any, k: int, new: Any) -> bool:
    """Whether adding ``new`` just before ``merge`` and reading it as the merge's ``k``-th
    input clears the merge without breaking a layer that was fine."""
    return _inserts_help(prop, merge, {k: new})


def _inserts_help(prop: Propagation, merge: Any, new: Mapping[int, Any]) -> bool:
    """:func:`_insert_helps` for several inputs at once (input index -> the new layer)."""
    if _spent(prop):  # no trial left: not even the order is worth making
        return False
    m = scope_of(prop).merge(merge.name)
    if m is not None and len(m.apart - {merge.sources[k] for k in new}) > 1:
        return False  # branches left as they are disagree: no trial can clear the merge
    net = prop.network
    sources = tuple(new[k].name if k in new else s for k, s in enumerate(merge.sources))
    refs = tuple(new[k].name if k in new else r for k, r in enumerate(merge.refs)) if merge.refs else ()
    order: list[Any] = []
    for x in net.order:
        order += [*new.values(), replace(merge, sources=sources, refs=refs)] if x is merge else [x]
    return _clears(prop, order, merge.name)


def _merge_fixes_n(prop: Propagation, res: Any, first_axis: int) -> list[str]:
    """A merge where more than one input must change: crop every bigger one to the smallest,
    or pad every smaller one to the biggest (``like`` that input where one is the smallest,
    or the biggest, on every axis; else by amounts, to the smallest or biggest size on each
    axis: 28x32 and 32x28 to 28x28)."""
    shapes, sources, lay = res.inputs, res.layer.refs or res.layer.sources, res.layer
    if len({len(x) for x in shapes}) != 1:
        return []
    start = max(first_axis, 1)
    spatial = [tuple(x[start:]) for x in shapes]
    out: list[str] = []
    taken = _names_taken(prop)
    for how in ("crop", "pad"):
        pick = min if how == "crop" else max
        target = tuple(pick(x[n] for x in spatial) for n in range(len(spatial[0])))
        ref = next((k for k, x in enumerate(spatial) if x == target), None)
        moved = [k for k, x in enumerate(spatial) if x != target]
        if ref is not None and len(moved) < 2:
            continue  # one branch to change: the pairwise fixes say it
        if how == "crop" and prop.network.spec.exact and any(
                (x - t) % 2 for k in moved for x, t in zip(spatial[k], target, strict=True)):
            continue  # exact: an odd crop is an error
        new: dict[int, Any] = {}
        for k in moved:
            same = next((new[j] for j in new if sources[j] == sources[k]), None)
            if same is not None:  # the same branch read twice (from: [a, b, a]): one new layer
                new[k] = same
                continue
            name = _new_name(f"{sources[k]}_{how}", taken)
            taken.add(name)
            sides = tuple((Num(abs(t - x) // 2), Num(abs(t - x) - abs(t - x) // 2))
                          for x, t in zip(spatial[k], target, strict=True))
            if how == "crop" and ref is not None:
                new[k] = Layer(name, "crop", {"like": sources[ref], "amount": None}, (lay.sources[k], lay.sources[ref]),
                               0, lay.where, refs=(sources[k], sources[ref]))
            elif how == "crop":
                new[k] = Layer(name, "crop", {"like": None, "amount": sides}, (lay.sources[k],), 0, lay.where,
                               refs=(sources[k],))
            else:
                new[k] = Layer(name, "pad", {"amount": sides, "value": 0}, (lay.sources[k],), 0, lay.where,
                               refs=(sources[k],))
        if not _inserts_help(prop, lay, new):
            continue
        once = {n.name: (k, n) for k, n in reversed(new.items())}  # each new layer once, in input order
        made = sorted(once.values(), key=lambda kn: kn[0])
        branches = " and ".join(sources[k] for k, _ in made)
        size = sources[ref] + ("" if how == "crop" else "'s size") if ref is not None else _fmt_size(target)
        if how == "crop" and ref is not None:
            adds = " and ".join(f"{{name: {n.name}, op: crop, from: {sources[k]}, like: {sources[ref]}}}"
                                for k, n in made)
        else:
            adds = " and ".join(f"{{name: {n.name}, op: {how}, from: {sources[k]}, amount: "
                                f"{[[a.value, b.value] for a, b in n.values['amount']]}}}" for k, n in made)
        what = f"{'or ' if out and how == 'pad' else ''}{how} {branches} to {size}"
        out.append(f"{what}: add {adds} before {lay.name} and read {' and '.join(n.name for _, n in made)} in "
                   f"{lay.name}'s from instead of {branches}")
    return out


def _clears(prop: Propagation, order: list[Any], merge: str) -> bool:
    """Whether the network with these layers has no error at ``merge`` and no error at a
    layer that had none (a fix may not break what was fine).  At most
    :data:`MAX_FIX_RUNS` layer runs a check: past them a fix is not offered (an ``add`` of a
    thousand mismatched branches would try thousands, each a run of the whole network)."""
    if _spent(prop):
        return False
    prop.trials.runs += len(order)
    try:
        after = propagate(Network(prop.network.spec, tuple(order)), prop.env, receptive_fields=False, counts=False,
                          warnings=False,
                          cache=prop.trials.cache)
    except (SpecError, KeyError):
        return False
    before = {p.layer for p in prop.problems if p.severity is Severity.ERROR}
    broken = {p.layer for p in after.problems if p.severity is Severity.ERROR}
    return merge not in broken and broken <= before


def _spent(prop: Propagation) -> bool:
    """Whether the fix trials have run their layers (:data:`MAX_FIX_RUNS`) or their time."""
    until = prop.trials.until
    return prop.trials.runs >= MAX_FIX_RUNS or (until is not None and time.monotonic() > until)


def _axes_value(values: list[int]) -> int | list[int]:
    """One number when every axis takes it, else one per axis (as a spec writes them)."""
    return values[0] if len(set(values)) == 1 else values


def _names_taken(prop: Propagation) -> set[str]:
    spec = prop.network.spec
    return {"input", *prop.layers, *(g.name for g in spec.groups), *spec.aliases}


def _new_name(base: str, taken: set[str]) -> str:
    """A layer name nothing in the spec uses yet (a block member's '/' made '_')."""
    base = base.replace("/", "_")
    name, k = base, 2
    while name in taken:
        name, k = f"{base}{k}", k + 1
    return name


def _size_fix(prop: Propagation, source: str, label: str, want: Any, merge: str) -> str | None:
    """A padding (or ceil_mode) of the layer that gave ``source`` its size, making it ``want``."""
    cur = prop.network.spec.aliases.get(source, source)
    for _ in range(10_000):  # walk back to the layer that changed the size
        if cur == "input":
            return None
        res = prop.layers[cur]
        if res.shape is None or res.inputs is None or res.args is None:
            return None
        if tuple(res.inputs[0][1:]) != tuple(res.shape[1:]):
            break
        cur = res.layer.sources[0]
    else:
        return None
    if not scope_of(prop).helps({cur}, merge=merge):
        return None  # the merge's other branches disagree whatever this layer gives
    opdef = OPS[res.layer.op]
    tries: list[tuple[str, dict[str, Any]]] = []
    if "padding" in opdef.field_map and not isinstance(res.args["padding"], str):
        pads = res.args["padding"]
        tries += [(f"padding to {p}", {"padding": (p,) * len(pads)}) for p in range(0, 11) if (p,) * len(pads) != pads]
    if "ceil_mode" in opdef.field_map and not res.args["ceil_mode"]:
        tries.append(("ceil_mode to true", {"ceil_mode": True}))
    for text, change in tries:
        args = res.args.with_values(change)
        req = Collect()
        shape = opdef.shape(args, res.inputs, req)
        if not req.failures and tuple(shape[1:]) == tuple(want[1:]) and _helps(prop, res.layer, change, merge):
            return f"set {cur}.{text} (so {label} gives {'x'.join(map(str, want[1:]))})"
    return None


def _helps(prop: Propagation, lay: Any, change: Mapping[str, Any], merge: str) -> bool:
    """Whether changing ``lay``'s fields clears ``merge`` without breaking a layer that was
    fine (the same size also reaches other merges)."""
    if _spent(prop) or not scope_of(prop).helps({lay.name}, merge=merge):
        return False
    values = {**lay.values, **{k: tuple(Num(x) for x in v) if isinstance(v, tuple) else v for k, v in change.items()}}
    return _clears(prop, [replace(x, values=values) if x is lay else x for x in prop.network.order], merge)


def annotate_merges(prop: Propagation) -> None:
    """Append where each branch's size came from to merge mismatches."""
    origins: dict[tuple[str, int], str] = {}  # the first branch is named with each other one: once each
    made: dict[str, tuple[str | None, ...]] = {}  # each layer's formulas: one rule run for every axis
    for i, p in enumerate(prop.problems):
        if p.kind != "mismatch":
            continue
        res = prop.layers[p.layer]
        if res.inputs is None:
            continue
        a = res.inputs[0]
        parts = []
        apart = [0]  # the inputs whose spatial sizes differ from the first's, and the first
        for j, b in enumerate(res.inputs[1:], start=1):
            if len(a) != len(b):
                continue
            axes = [n for n in range(1, len(a)) if a[n] != b[n]]  # every axis they differ on
            if axes and res.layer.sources[j] not in {res.layer.sources[i] for i in apart}:  # a branch read twice: once
                apart.append(j)
            for axis in axes:
                for src in (res.layer.sources[0], res.layer.sources[j]):  # origin() follows the data
                    o = origins.get((src, axis))
                    if o is None:
                        o = origins[src, axis] = origin(prop, src, axis, made)
                    if o and o not in parts:
                        parts.append(o)
        where = split(prop, p.layer, apart) if len(apart) > 1 else None
        # origin() names the last layer to change each branch's size: the split adds what it
        # cannot say, a branch changed twice or more, or not at all after the layers part
        if where is not None and any(len(b.changes) > 1 or (not b.changes and where.at != "input")
                                     for b in where.branches):
            parts.append(where.text())
        if parts:
            prop.problems[i] = replace(p, message=p.message + " (" + "; ".join(parts) + ")")
