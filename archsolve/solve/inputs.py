"""``archsolve inputs``: which input sizes make the network valid.

For each size variable of the input (``input: [1, H, W]`` with ``vars``), every value in a
range for which the whole network is valid -- all rules, merges, constraints, and exact
division under ``exact: true`` -- as a list, as a pattern (``188 + 16k``), and the valid
sizes nearest to a given one.  The other size variables (and any ``"?"``) may take any
values that make the network valid with it; where that question is past Z3 (sizes multiplied
together, a memory budget) and they have a ``default``, they are held at it, and the report
says so.

Example::

    >>> from archsolve.spec.load import load_spec
    >>> report = input_sizes(load_spec("specs/unet-original-sizes.yaml"))
    >>> report["H"].pattern
    {'start': 188, 'step': 16}
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from archsolve.errors import EncodingLimit, ExprError, SolverTimeout, SpecError, UsageError, interrupted
from archsolve.limits import over_the_largest
from archsolve.shapes.graph import Network, build_network
from archsolve.shapes.propagate import propagate
from archsolve.solve.smt import patterns
from archsolve.solve.smt.solver import Z3Problem, encode
from archsolve.solve.smt.system import build_system, constraint_exprs
from archsolve.spec.domains import EmptyDomain, var_span
from archsolve.spec.load import suggest
from archsolve.spec.model import Spec

MAX_VALUES = 100_000


@dataclass(frozen=True, kw_only=True)
class AxisReport:
    """The valid values of one input size var in ``low..high``, and those nearest the one asked about."""

    name: str
    low: int
    high: int
    values: list[int]
    nearest: list[int] = field(default_factory=list)
    complete: bool = True  # False: the time ran out; ``values`` are those found by then
    letter: str = "k"  # the patterns' counter (another where the spec has a var named k)
    # the other size vars held at their ``default`` (a question Z3 cannot take with them open)
    fixed: dict[str, int] = field(default_factory=dict)

    @property
    def pattern(self) -> dict[str, int] | None:
        """``start + step*k`` when the valid values are one arithmetic progression, with its
        ``end`` (the last valid value) where it stops inside the range (a memory budget's
        cap: 8..31 of 1..64), not where the range ends it."""
        v = self.values
        if not v:
            return None
        if len(v) == 1:
            return {"start": v[0], "step": 0}
        step = v[1] - v[0]
        if all(b - a == step for a, b in zip(v, v[1:], strict=False)):
            return self._ended({"start": v[0], "step": step})
        return None

    def _ended(self, progression: dict[str, int]) -> dict[str, int]:
        """The progression with its last valid term as ``end`` where its next term is in the
        range and not valid."""
        start, step, last = progression["start"], progression["step"], self.values[-1]
        end = start + (last - start) // step * step
        return {**progression, "end": end} if end + step <= self.high else progression

    @property
    def progressions(self) -> list[dict[str, int]]:
        """The valid values as a union of progressions with one common step (a period),
        when the set repeats with a period smaller than the range; else empty."""
        v = self.values
        if len(v) < 3 or self.pattern is not None:
            return []
        values = set(v)
        span = v[-1] - v[0]
        for period in range(2, span // 2 + 1):
            starts = sorted({x for x in v if x - period not in values})
            # periodic: every value but the last period's has its successor one period on
            if all(x + period in values for x in v if x + period <= v[-1]) and len(starts) <= 8:
                return [self._ended({"start": s, "step": period}) for s in starts]
        return []

    def describe(self) -> str:
        p = self.pattern
        if not self.values:
            return "none"
        last = self.values[-1]
        if p is not None:
            if p["step"] == 0:
                return f"only {p['start']}"
            if p["step"] == 1:
                return f"every value in {p['start']}..{last}"
            if p["start"] % p["step"] == 0:  # the multiples of the step
                k = self.letter
                text = f"{p['step']}{k}" + (f" ({k} >= {p['start'] // p['step']})" if p["start"] else "")
            else:
                text = f"{p['start']} + {p['step']}{self.letter}"
            return text + (f", up to {last}" if "end" in p else "")
        progs = self.progressions
        if progs:
            return " or ".join(f"{q['start']} + {q['step']}{self.letter}" for q in progs) + (
                f", up to {last}" if any("end" in q for q in progs) else "")
        return "no single pattern"


def parse_range(text: str) -> tuple[int, int]:
    """``LO..HI`` (ASCII digits, each at most :data:`~archsolve.limits.MAX_NUMBER`).

        >>> parse_range("1..4096")
        (1, 4096)
    """
    m = re.fullmatch(r"\s*([0-9]+)\s*\.\.\s*([0-9]+)\s*", text)
    if not m:
        raise UsageError(f"--range {text!r}: expected LO..HI, e.g. 1..4096")
    for end in m.groups():
        over = over_the_largest(end)
        if over:
            raise UsageError(f"--range: {over}, the largest number it takes")
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo > hi:
        raise UsageError(f"--range {text}: the range is empty ({lo} > {hi})")
    return lo, hi


def size_vars(spec: Spec) -> list[str]:
    """The free vars the input's spatial sizes depend on, in axis order."""
    tied = spec.tied()
    out: list[str] = []
    for e in spec.input[1:]:
        for n in sorted(e.substitute(tied).names()):
            var = spec.vars.get(n)
            if var is not None and var.domain is not None and n not in out:
                out.append(n)
    return out


def input_sizes(spec: Spec, axis: str | None = None, rng: tuple[int, int] | None = None,
                near: int | None = None, timeout: float | None = 60.0,
                progress: Callable[[str], None] | None = None) -> dict[str, AxisReport]:
    """The valid values of each input size variable (see the module docstring); ``progress``
    is told what is being done, in words, as it goes."""
    say = progress or (lambda _text: None)
    names = size_vars(spec)
    if not names:
        raise UsageError(f"{spec.file}: the input has no size variable; write e.g. input: [1, H, W] with "
                         "vars: {H: {min: 1, max: 1024}, W: H}")
    if axis is not None:
        if axis not in names:
            var = spec.vars.get(axis)
            tie = f"; {axis} is tied to {var.expr}, so ask for {', '.join(sorted(var.expr.names()))}" \
                if var is not None and var.expr is not None else ""
            raise UsageError(f"--axis {axis}: not an input size variable of {spec.file} "
                             f"(they are {', '.join(names)}){suggest(axis, names)}{tie}")
        names = [axis]
    _input_exprs_evaluate(spec, names, rng)
    net = build_network(spec)
    deadline = None if timeout is None else time.monotonic() + timeout
    problem: Z3Problem | None = None
    # the totals params and macs, where constraints name them (MACs grow with the sizes)
    named = set().union(*(c.expr.names() for c in spec.constraints)) if spec.constraints else set()
    counts = [k for k in ("params", "macs") if k in named]

    def encoded(bound_sizes: bool = True) -> Z3Problem:
        # as solve does: the totals a constraint names
        return encode(system, constraint_exprs(system), counts=counts,
                      timeout=None if deadline is None else max(0.001, deadline - time.monotonic()),
                      bound_sizes=bound_sizes)

    timed_out = False
    held: dict[str, dict[str, int]] = {}  # per axis: the other size vars at their defaults
    try:
        system = build_system(net, counts, frozenset(names), deadline)
        problem = encoded()
        problem.commit()
    except SolverTimeout:
        timed_out = True  # every axis is reported, none of them complete
    except EncodingLimit as exc:
        # Z3 cannot take the question (a classifier's flatten multiplies H by W, a norm or a
        # memory budget D by H by W): one plain check per size answers it where nothing else
        # is open, or where every other size var has a default to hold it at
        for name in names:
            if not _one_check_decides(spec, [name]):
                others = {n: spec.vars[n].default for n in size_vars(spec) if n != name}
                if spec.unknowns or any(v is None for v in others.values()):
                    raise EncodingLimit(f"{exc.bare}; with other sizes or unknowns open too, inputs cannot answer "
                                        "this (give them a default, fix them with vars tied to this one, or use "
                                        "solve)", exc.where, exc.field) from None
                held[name] = others  # type: ignore[assignment]
    reports: dict[str, AxisReport] = {}
    for name in names:
        lo, hi = _bounds(spec, name, rng)
        found: list[int] = []
        say(f"{name}: finding the valid values in {lo}..{hi}")

        def seen(v: int, name: str = name, lo: int = lo, hi: int = hi, found: list[int] = found) -> None:
            say(f"{name}: {len(found):,} valid so far, at {v} of {lo}..{hi}")

        complete = not timed_out
        try:
            if timed_out:
                raise SolverTimeout("the time ran out before this axis")
            if problem is not None:
                # one size var alone open: a pattern seen in the first valid sizes and proven
                # for the whole range answers in two checks what one check per size would
                # (a domain listed value by value, {in: [...]}, is listed as it stands)
                pattern = _proven_pattern(problem, encoded, name, lo, hi) if (
                    hi - lo >= PATTERN_FROM and _one_check_decides(spec, [name]) and not system.tables
                    and not spec.vars[name].domain.listed) else None  # type: ignore[union-attr]
                if pattern is not None:
                    _listed(pattern, name, lo, hi, found)
                else:
                    _solved(problem, name, lo, hi, found, seen)
            else:
                _scanned(net, name, lo, hi, deadline, found, seen, held.get(name, {}))
        except SolverTimeout:
            complete = False  # what was found by then is still shown
        found.sort()
        # the nearest of a partial list may not be the nearest: none then
        reports[name] = AxisReport(name=name, low=lo, high=hi, values=found,
                                   nearest=_nearest(found, near) if near is not None and complete else [],
                                   complete=complete, letter=next(c for c in "knmij" if c not in spec.vars),
                                   fixed=held.get(name, {}))
        timed_out = not complete
    return reports


def _input_exprs_evaluate(spec: Spec, names: list[str], rng: tuple[int, int] | None) -> None:
    """A division by zero in the input's sizes (``[1, H // 0]``) is a bad spec, named as
    ``check`` names it, before the solver meets it without a place."""
    tied = spec.tied()
    env = {}
    for n in names:
        try:
            env[n] = _bounds(spec, n, rng)[0]
        except UsageError:
            return  # the range itself is wrong: that error comes next, in its own words
    for i, e in enumerate(spec.input):
        try:
            e.substitute(tied).evaluate(env)
        except ExprError as exc:
            where = spec.document.where(("input", i)) if spec.document else None
            raise SpecError(exc.bare, where, f"input[{i}]") from None
        except KeyError:
            continue


def _solved(problem: Z3Problem, name: str, lo: int, hi: int, out: list[int], seen: Callable[[int], None]) -> None:
    for v in problem.values_in(name, lo, hi):
        out.append(v)
        seen(v)
        if len(out) >= MAX_VALUES:
            raise SpecError(f"more than {MAX_VALUES} valid values of {name}; narrow --range")


PATTERN_FROM = 4096  # a range wider than this is first tried as a proven pattern
PATTERN_SEEN = 16  # valid sizes that make a pattern worth proving
PATTERN_STARTS = 8  # the most progressions a pattern is made of


def _proven_pattern(problem: Z3Problem, encoded: Callable[..., Z3Problem], name: str, lo: int, hi: int) -> tuple[list[int], int] | None:
    """The valid values of ``name`` in ``lo..hi`` as progressions ``s + period * k`` (the
    starts, the period), proven by two solver checks: no other value is valid, and none of
    these fails a rule; None when no pattern shows in the first valid sizes (all of them
    listed, from the smallest, in a window that grows until it holds PATTERN_SEEN) or the
    proof fails.  A window that reaches ``hi`` is the whole answer: each value its own
    start.  A U-Net's 62,489 valid tiles in 1..10^6 take well under a second, where one
    check per size took minutes."""
    try:
        first = patterns.smallest_in(problem, name, lo, hi)
        if first is None:
            return [], 1
        width = 32
        while True:
            last = min(hi, first + width - 1)
            seen = sorted(problem.values_in(name, first, last))
            if len(seen) >= PATTERN_SEEN or last == hi:
                break
            width *= 4
        if last == hi:
            return seen, hi - lo + 1  # every valid value, listed: nothing left to prove
        period = _period(seen, first, last)
        if period is None:
            return None
        starts = [x for x in seen if x < first + period]
        if patterns.none_outside(problem, name, starts, period, lo, hi) and patterns.none_failing(
                encoded(bound_sizes=False), name, starts, period, lo, hi):
            return starts, period
    except SolverTimeout:
        pass  # what time is left goes to the listing
    return None


def _period(seen: list[int], first: int, last: int) -> int | None:
    """The smallest period, seen at least twice over in ``first..last``, whose progressions
    (from the values in its first period, at most PATTERN_STARTS of them) give exactly the
    valid values ``seen`` there.  The first value recurs one period on, so the period is
    one of its distances to the others: a few candidates, each checked by counting."""
    found = set(seen)
    for period in sorted({x - first for x in seen if 0 < x - first <= (last - first) // 2}):
        starts = [x for x in seen if x < first + period]
        if len(starts) > PATTERN_STARTS:
            break  # a longer period only has more
        # every value seen lies on a progression, and the progressions hold as many values
        # as were seen: then they are the same set
        if all(any((x - s) % period == 0 for s in starts) for x in found) and sum(
                (last - s) // period + 1 for s in starts) == len(seen):
            return period
    return None


def _listed(pattern: tuple[list[int], int], name: str, lo: int, hi: int, out: list[int]) -> None:
    starts, period = pattern
    count = sum(len(range(s, hi + 1, period)) for s in starts)
    if count > MAX_VALUES:
        raise SpecError(f"more than {MAX_VALUES} valid values of {name}; narrow --range")
    for s in starts:
        out.extend(range(s, hi + 1, period))


def _one_check_decides(spec: Spec, names: list[str]) -> bool:
    """Whether checking one value of a size var decides it: every other var tied or fixed,
    no ``"?"`` left."""
    free = [n for n, v in spec.vars.items() if v.domain is not None]
    return not spec.unknowns and len(free) == 1 and free == names[:1]


def _scanned(net: Network, name: str, lo: int, hi: int, deadline: float | None, out: list[int],
             seen: Callable[[int], None], others: dict[str, int]) -> None:
    """The valid values by checking each one (the way ``check --set`` would), ``others``
    holding the other size vars."""
    for v in range(lo, hi + 1):
        if not v & 63:
            seen(v)
            if deadline is not None and time.monotonic() > deadline:
                raise SolverTimeout(f"the time ran out checking {name} = {v}")
        interrupted()
        try:
            if propagate(net, {**others, name: v}, receptive_fields=False, counts=False, warnings=False).ok:
                out.append(v)
        except SpecError:
            continue  # a size that evaluates to nothing valid (an input below 1)
        if len(out) >= MAX_VALUES:
            raise SpecError(f"more than {MAX_VALUES} valid values of {name}; narrow --range")


def _bounds(spec: Spec, name: str, rng: tuple[int, int] | None) -> tuple[int, int]:
    dom = spec.vars[name].domain
    assert dom is not None
    if dom.listed:
        lo, hi = dom.ends()
    else:
        try:
            # a domain naming other vars (W: {max: H}): its widest range; the solver keeps to it
            lo, hi = var_span(spec, name)
        except EmptyDomain:
            raise
        except SpecError as exc:
            if rng is not None:
                return rng
            raise UsageError(f"{spec.file}: the domain of {name} ({dom}) names other vars and has no widest range "
                             f"({exc.bare}); give --range") from None
    if rng is None:
        return lo, hi
    if rng[0] < lo or rng[1] > hi:
        widest = f": {lo}..{hi} at its widest" if not dom.listed and f"{lo}..{hi}" != str(dom) else ""
        raise UsageError(f"--range {rng[0]}..{rng[1]} goes past the domain of {name} ({dom}{widest})")
    return rng


def _nearest(values: list[int], near: int) -> list[int]:
    if not values:
        return []
    best = min(abs(v - near) for v in values)
    return [v for v in values if abs(v - near) == best]




