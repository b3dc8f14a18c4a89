"""``archsolve inputs``: which input sizes make the network valid.

For each size variable of the input (``input: [1, H, W]`` with ``vars``), every value in a
range for which the whole network is valid -- all rules, merges, constraints, and exact
division under ``exact: true`` -- as a list, as a pattern (``188 + 16k``), and the valid
sizes nearest to a given one.  The other size variables (and any ``"?"``) may take any
values that make the network valid with it.

Example::

    >>> report = input_sizes(load_spec("specs/unet-original-sizes.yaml"))   # doctest: +SKIP
    >>> report["H"].pattern                                                   # doctest: +SKIP
    {'start': 188, 'step': 16}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError, UsageError
from .expr import Name
from .graph import build_network
from .spec import Spec

MAX_VALUES = 100_000


@dataclass
class AxisReport:
    name: str
    low: int
    high: int
    values: list[int]
    nearest: list[int] = field(default_factory=list)

    @property
    def pattern(self) -> dict[str, int] | None:
        """``start + step*k`` when the valid values are one arithmetic progression."""
        v = self.values
        if not v:
            return None
        if len(v) == 1:
            return {"start": v[0], "step": 0}
        step = v[1] - v[0]
        if all(b - a == step for a, b in zip(v, v[1:], strict=False)):
            return {"start": v[0], "step": step}
        return None

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
                return [{"start": s, "step": period} for s in starts]
        return []

    def describe(self) -> str:
        p = self.pattern
        if p is not None:
            if p["step"] == 0:
                return f"only {p['start']}"
            if p["start"] % p["step"] == 0:  # the multiples of the step
                return f"{p['step']}k" + (f" (k >= {p['start'] // p['step']})" if p["start"] else "")
            return f"{p['start']} + {p['step']}k"
        progs = self.progressions
        if progs:
            return " or ".join(f"{q['start']} + {q['step']}k" for q in progs)
        return "no single pattern"


def parse_range(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+)\s*", text)
    if not m:
        raise UsageError(f"--range {text!r}: expected LO..HI, e.g. 1..4096")
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
                near: int | None = None, timeout: float | None = 60.0) -> dict[str, AxisReport]:
    """The valid values of each input size variable (see the module docstring)."""
    from . import solver as z3layer
    from .symbolic import build_system, constraint_exprs

    names = size_vars(spec)
    if not names:
        raise UsageError(f"{spec.file}: the input has no size variable; write e.g. input: [1, H, W] with "
                         "vars: {H: {min: 1, max: 1024}, W: H}")
    if axis is not None:
        if axis not in names:
            from .spec import suggest

            raise UsageError(f"--axis {axis}: not an input size variable of {spec.file} "
                             f"(they are {', '.join(names)}){suggest(axis, names)}")
        names = [axis]
    system = build_system(build_network(spec), named=frozenset(names))
    problem = z3layer.Z3Problem(system, timeout)
    for expr, label, text in constraint_exprs(system):
        problem.add(label, problem.bool_term(expr), text)
    problem.commit()
    reports: dict[str, AxisReport] = {}
    for name in names:
        lo, hi = _bounds(spec, name, rng)
        x = problem.var(name)
        problem.solver.push()
        problem.solver.add(x >= lo, x <= hi)
        found = [v for v in _values(problem, name)]
        problem.solver.pop()
        found.sort()
        reports[name] = AxisReport(name, lo, hi, found, _nearest(found, near) if near is not None else [])
    return reports


def _values(problem: Any, name: str) -> list[int]:
    out: list[int] = []
    for model in problem.models([name]):
        out.append(model[name])
        if len(out) >= MAX_VALUES:
            raise SpecError(f"more than {MAX_VALUES} valid values of {name}; narrow --range")
    return out


def _bounds(spec: Spec, name: str, rng: tuple[int, int] | None) -> tuple[int, int]:
    dom = spec.vars[name].domain
    assert dom is not None
    if dom.values is not None:
        lo, hi = min(dom.values), max(dom.values)
    else:
        assert dom.lo is not None and dom.hi is not None
        try:
            lo, hi = dom.lo.evaluate({}), dom.hi.evaluate({})
        except KeyError:
            raise UsageError(f"the domain of {name} ({dom}) names other vars; give --range") from None
    if rng is None:
        return lo, hi
    if rng[0] < lo or rng[1] > hi:
        raise UsageError(f"--range {rng[0]}..{rng[1]} goes past the domain of {name} ({dom})")
    return rng


def _nearest(values: list[int], near: int) -> list[int]:
    if not values:
        return []
    best = min(abs(v - near) for v in values)
    return [v for v in values if abs(v - near) == best]


def to_json(reports: dict[str, AxisReport]) -> dict[str, Any]:
    return {"axes": {name: {"values": r.values, "pattern": r.pattern, "nearest": r.nearest,
                            "range": [r.low, r.high], "progressions": r.progressions, "count": len(r.values)}
                     for name, r in reports.items()}}


def to_text(spec: Spec, reports: dict[str, AxisReport], near: int | None) -> str:
    lines = []
    for name, r in reports.items():
        lines.append(f"{name}: {len(r.values)} valid value(s) in {r.low}..{r.high}: {r.describe()}")
        if r.values:
            shown = r.values if len(r.values) <= 40 else r.values[:20] + ["..."] + r.values[-5:]  # type: ignore[operator]
            lines.append("  " + ", ".join(map(str, shown)))
        if near is not None:
            lines.append(f"  nearest to {near}: " + (" and ".join(map(str, r.nearest)) if r.nearest else "none"))
    return "\n".join(lines)


__all__ = ["input_sizes", "AxisReport", "parse_range", "size_vars", "to_json", "to_text", "Name"]
