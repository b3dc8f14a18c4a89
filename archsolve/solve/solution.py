"""A solution of a spec, verified: its values re-propagated by plain integers (the way
``check`` does it) before it is returned, whichever engine found it.  A disagreement is a
bug of archsolve's and raises :class:`~archsolve.errors.SolverBug` instead of reaching a user.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> net = build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... '''))
    >>> verified(net, {"up.kernel": 2}, "sum")
    Solution(values={'up.kernel': 2}, output=[1, 16], objective=2)
    >>> verify(net, {"up.kernel": 12})
    Traceback (most recent call last):
    ...
    archsolve.errors.SolverBug: the solver's answer {'up.kernel': 12} leaves a domain: up.kernel = 12 is not in 1..11 (1..11 here)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archsolve.errors import ExprError, SolverBug, SpecError, interrupted
from archsolve.lang.expr import Expr, Name
from archsolve.ops.base import Severity
from archsolve.shapes.graph import Network
from archsolve.shapes.propagate import attribute_values, memory_values, names_in, propagate
from archsolve.solve.outcome import Conflict, SolveStatus
from archsolve.spec.domains import copies_of, dependent_bounds, var_ends
from archsolve.spec.model import MEMORY_TOTALS, Spec

OBJECTIVE_KINDS = ("params", "macs")  # the objectives that are totals, summed over the layers


@dataclass(frozen=True, kw_only=True)
class Solution:
    """One solution: every unknown's value, in name order; the output shape; the objective's
    value; ``holes``: the layers with an output position no input reaches (docs/semantics.md)
    among those whose own fields the unknowns decide, which ``solve`` avoids where the
    objective allows (a layer written with numbers keeps its holes whatever the answer)."""

    values: dict[str, int]
    output: list[int]
    objective: int | None
    holes: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True, kw_only=True)
class Answered:
    """What an engine answered, before the API adds the spec, the objective's text and the
    time taken.  ``complete``: every solution is listed; ``optimal``: the one solution is the
    proven optimum (an unsat answer is both, there being none); ``message``: why an answer is
    ``UNKNOWN`` or cut short."""

    status: SolveStatus
    solutions: list[Solution] = field(default_factory=list)
    complete: bool = False
    optimal: bool = False
    conflict: Conflict | None = None
    message: str = ""
    count: int | None = None  # every solution, counted without listing them (when known)
    first: bool = False  # ``--first``: any one solution, the first found (neither optimal nor complete)


class ObjectiveNames(SpecError):
    """The objective names nothing the solution has; :func:`~archsolve.solve.api.solve_spec` places it."""


def verify(net: Network, values: Mapping[str, int], cache: dict[Any, Any] | None = None, counts: bool = True
           ) -> tuple[list[int], Any]:
    """Propagate a solution with plain integers; raise :class:`SolverBug` if it fails.
    ``counts=False``: no parameters or MACs unless a constraint names them."""
    prop = propagate(net, values, receptive_fields=False, cache=cache, counts=counts)
    errors = [p for p in prop.problems if p.severity is Severity.ERROR]
    if errors:
        raise SolverBug(f"the solver's answer {dict(values)} fails the plain check: {errors[0].layer}: "
                        f"{errors[0].message}")
    outside = _outside_domains(net.spec, values, prop, None if cache is None else cache.setdefault("domains", {}))
    if outside:
        raise SolverBug(f"the solver's answer {dict(values)} leaves a domain: {outside}")
    out = prop.layers[net.spec.layers[-1].name].shape
    assert out is not None
    return list(out), prop


def _outside_domains(spec: Spec, values: Mapping[str, int], prop: Any, memo: dict[Any, Any] | None = None
                     ) -> str | None:
    """The first value of ``values`` outside its domain (a var's ends evaluated with the
    other values, a padding's with its layer's kernel), as words; None when all are in.
    ``memo`` (a dict kept by the caller, as :func:`verify`'s cache): the ends worked out for
    one solution serve the next with the same fields (a listing checks thousands)."""
    memo = {} if memo is None else memo
    for u, v in values.items():
        var = spec.vars.get(u)
        dom = var.domain if var is not None else spec.unknowns[u].domain if u in spec.unknowns else None
        if dom is None:
            continue
        if dom.listed:
            if not dom.contains(v):
                return f"{u} = {v} is not in {dom}"
            continue
        if var is not None:
            ends = [var_ends(spec, u, prop.env)]
        else:  # a "?": constant ends, or its layer's fields in every copy of a repeated one
            static = memo.get(("domain", u))
            if static is None:
                names = tuple(sorted(dom.names()))
                static = memo[("domain", u)] = (
                    names, [(dom.lo.evaluate({}), dom.hi.evaluate({}))] if not names else [],
                    [lay.name for lay in copies_of(spec, spec.unknowns[u])])
            names, ends, copies = static
            if names:
                ends = []
                for name in copies:
                    r = prop.layers.get(name)
                    if r is None or not r.args:
                        continue
                    key = ("ends", u, tuple([r.args.get(n) for n in names]))
                    if key not in memo:
                        memo[key] = dependent_bounds(spec, u, r.args, spec.ndim)
                    if memo[key]:
                        ends.append(memo[key])
        for lo, hi in ends:
            if not lo <= v <= hi:
                return f"{u} = {v} is not in {dom} ({lo}..{hi} here)"
    return None


def verified(net: Network, values: dict[str, int], objective: Expr | str, cache: dict[Any, Any] | None = None
             ) -> Solution:
    """``values`` as a solution: verified (:func:`verify`), with its output shape and the
    objective's value (None where it is undefined, a division by zero)."""
    interrupted()
    ordered = {u: values[u] for u in sorted(values)}
    out, prop = verify(net, ordered, cache, counts=objective != "sum")
    obj: int | None
    if objective == "sum":
        obj = sum(values.values())
    else:
        expr = Name(objective) if isinstance(objective, str) else objective
        scalars, _ = attribute_values(prop)
        if expr.names() & set(MEMORY_TOTALS):
            scalars.update(memory_values(prop) or {})
        try:
            obj = expr.evaluate({**scalars, **ordered})
        except KeyError as exc:  # as the optimum refuses it: a listing or --first must too
            raise ObjectiveNames(f"{exc.args[0]!r} names no unknown, var or layer attribute") from None
        except ExprError:
            obj = None  # undefined for this solution only (a division by zero)
    return Solution(values=ordered, output=out, objective=obj, holes=_open_holes(net.spec, prop))


def open_layers(spec: Spec) -> frozenset[str]:
    """The layers whose own fields name an unknown or a var: what an answer decides.

        >>> from archsolve.spec.load import load_text
        >>> sorted(open_layers(load_text('input: [1, 8]\\nlayers: [{name: a, op: conv, out: 1, kernel: "?"}, '
        ...                               '{name: b, op: relu}]')))
        ['a']
    """
    free = set(spec.unknowns) | set(spec.vars)
    return frozenset(lay.name for lay in spec.layers if any(names_in(v) & free for v in lay.values.values()))


def _open_holes(spec: Spec, prop: Any) -> tuple[str, ...]:
    holed = [p.layer for p in prop.problems if p.kind == "holes"]
    if not holed:
        return ()
    decided = open_layers(spec)
    return tuple(n for n in holed if n in decided)


def sort_best_first(sols: list[Solution]) -> None:
    """Listed solutions: the best first; at equal objective those without holes first, then
    by the values in name order."""
    sols.sort(key=lambda s: (s.objective if s.objective is not None else 0, bool(s.holes), list(s.values.values())))
