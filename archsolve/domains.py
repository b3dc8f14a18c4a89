"""Var domains that name other vars (``p: {min: 0, max: k // 2}``, ``W: {max: H}``): their
widest ranges, and cycles among them.

A var used as a hyperparameter is enumerated (the search, the solver's tables), so it needs
a finite list of candidates: its widest range, the ends' bounds over the named vars' own
widest ranges; the domain itself is then kept as a constraint.  ``check`` binds vars one
after another, so domains that name each other have no order: a bad spec there.

    >>> from archsolve.spec import load_text
    >>> spec = load_text('''
    ... input: [1, H]
    ... vars: {H: {min: 8, max: 64}, k: {min: 1, max: H // 8}}
    ... layers: [{name: c, op: conv, out: 1, kernel: k}]
    ... ''')
    >>> var_span(spec, "k")
    (1, 8)
"""

from __future__ import annotations

from .errors import SpecError
from .expr import interval
from .spec import Layer, Spec


class EmptyDomain(SpecError):
    """A domain that allows no value whatever the vars it names are."""


def var_span(spec: Spec, u: str, lay: Layer | None = None) -> tuple[int, int]:
    """The widest range of var ``u``: its domain's ends, and where they name other vars
    (``p: {min: 0, max: k // 2}``) the ends' bounds over those vars' own widest ranges (a
    tied var's over its expression's).  The domain itself (``p <= k // 2``) is a constraint
    of the solver and the search; ``lay``: the layer using ``u`` as a hyperparameter, for
    the message when there is no range.

        >>> from archsolve.spec import load_text
        >>> spec = load_text('''
        ... input: [1, 8]
        ... vars: {k: {in: [3, 5, 7]}, p: {min: 0, max: k // 2}}
        ... layers: [{name: c, op: conv, out: 1, kernel: k, padding: p}]
        ... ''')
        >>> var_span(spec, "p")
        (0, 3)
    """
    got = _span(spec, u, lay, ())
    if got is None:  # a tied var whose expression has no bound
        raise SpecError(f"{u!r} is tied to {spec.vars[u].expr}, which has no bound over the vars' domains",
                        spec.vars[u].where, f"vars.{u}")
    return got


def _span(spec: Spec, u: str, lay: Layer | None, seen: tuple[str, ...]) -> tuple[int, int] | None:
    var = spec.vars[u]
    if u in seen:
        cycle = " -> ".join((*seen[seen.index(u):], u))
        first = spec.vars[seen[seen.index(u)]]
        raise SpecError(f"the domains of these vars name each other: {cycle}", first.where,
                        f"vars.{seen[seen.index(u)]}")
    if var.expr is not None:  # tied: its expression's bounds (None where it has none)
        return interval(var.expr, {n: _span(spec, n, lay, (*seen, u)) for n in var.expr.names() if n in spec.vars})
    dom = var.domain
    if dom is None:
        raise SpecError(f"var {u!r} has no domain", var.where, f"vars.{u}")
    if dom.values is not None:
        return min(dom.values), max(dom.values)
    assert dom.lo is not None and dom.hi is not None
    if not (dom.lo.names() or dom.hi.names()):
        return dom.lo.evaluate({}), dom.hi.evaluate({})
    spans = {n: _span(spec, n, lay, (*seen, u)) for n in dom.lo.names() | dom.hi.names() if n in spec.vars}
    lo, hi = interval(dom.lo, spans), interval(dom.hi, spans)
    if lo is None or hi is None:
        used = f" as a hyperparameter of {lay.name}" if lay is not None else ""
        end = dom.lo if lo is None else dom.hi
        raise SpecError(f"var {u!r} is used{used}, so its widest range must be known, but the end {end} of its "
                        f"domain {dom} has no bound over the vars' domains (a divisor whose range holds 0?)",
                        var.where, f"vars.{u}")
    if lo[0] > hi[1]:
        raise EmptyDomain(f"the domain {dom} of {u!r} is empty for every value of the vars it names "
                        f"(at its widest {lo[0]}..{hi[1]})", var.where, f"vars.{u}")
    return lo[0], hi[1]


def domain_cycles(spec: Spec) -> None:
    """Raise a SpecError naming vars whose domains name each other (through ties too)."""
    for u in spec.vars:
        _names_walk(spec, u, ())


def _names_walk(spec: Spec, u: str, seen: tuple[str, ...]) -> None:
    """Like :func:`_span`, only following names: a cycle raises, an unbounded end does not."""
    var = spec.vars[u]
    if u in seen:
        _span(spec, u, None, seen)  # raises, naming the cycle
    dom = var.domain
    names = var.expr.names() if var.expr is not None else set() if dom is None or dom.values is not None \
        else dom.lo.names() | dom.hi.names()  # type: ignore[union-attr]
    for n in names:
        if n in spec.vars:
            _names_walk(spec, n, (*seen, u))
