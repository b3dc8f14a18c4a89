"""Which values ``check`` shows a network at, when its spec leaves vars open.

``check`` evaluates one network.  A var with a domain that ``--set`` does not give takes its
``default`` where it has one; else it is bound to the smallest value that makes the network
valid (a lone var), the smallest value valid for all of them at once (a square tile), the
valid values with the smallest sum (as ``solve`` would find them), or, where none is valid,
the smallest value of each -- with a note saying which, and a :class:`Choice` saying it as
data (``export`` tells which size it built at).  A value outside its domain is a usage error
that names the domain and the values of the vars it names.

    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.spec.load import load_spec
    >>> spec = load_spec("specs/unet-original-sizes.yaml")
    >>> got = choose_bindings(spec, build_network(spec), {})
    >>> got.env, got.chosen
    ({'H': 188}, (Choice(values=(('H', 188),), why=<Why.SMALLEST: 'smallest'>),))
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from archsolve.errors import ArchsolveError, SpecError, UsageError
from archsolve.lang.expr import Bin, Name, Num
from archsolve.shapes.graph import Network
from archsolve.shapes.propagate import propagate
from archsolve.spec.domains import domain_cycles, resolve_vars, var_allows, var_ends, var_span
from archsolve.spec.load import suggest
from archsolve.spec.model import Constraint, Spec

BINDING_SECONDS = 1.0  # for the search that picks several free vars' values
SCAN_LIMIT = 4096
FINAL_CHECKS = 3  # a scan stops this many of its slowest value's checks before its time is up


class Why(enum.Enum):
    """Why a var that ``--set`` left open has the value it was checked at."""

    DEFAULT = "default"  # the var's own default
    SMALLEST = "smallest"  # the smallest valid value of the one free var
    SMALLEST_COMMON = "common"  # the smallest value valid for every free var at once
    SMALLEST_SUM = "sum"  # the valid values with the smallest sum
    NONE_VALID = "none"  # no valid value found: a value the network can be shown at


@dataclass(frozen=True)
class Choice:
    """Values chosen for vars ``--set`` left open, and why."""

    values: tuple[tuple[str, int], ...]
    why: Why


@dataclass(frozen=True)
class Bindings:
    """What :func:`choose_bindings` gives: every var's value (``env``), the notes ``check``
    prints about them, and the choices made."""

    env: dict[str, int]
    notes: tuple[str, ...]
    chosen: tuple[Choice, ...]


def _domain_values(spec: Spec, name: str, env: Mapping[str, int]) -> Iterable[int]:
    dom = spec.vars[name].domain
    assert dom is not None
    if dom.listed:
        return dom.values  # type: ignore[return-value]
    lo, hi = var_ends(spec, name, env)
    return range(lo, min(hi, lo + SCAN_LIMIT - 1) + 1)




def _domains_hold(spec: Spec, env: Mapping[str, int]) -> bool:
    """Whether every var ``env`` binds lies in its domain, as far as ``env`` tells."""
    return all(var_allows(spec, n, v, env) for n, v in env.items()
               if n in spec.vars and spec.vars[n].domain is not None)


def _smallest_binding(spec: Spec, free: list[str], env: dict[str, int]) -> dict[str, int]:
    """Each free var at the smallest value its domain allows, a var whose domain names
    another bound after it (W: {min: 1, max: H}); a value that leaves a later domain empty
    (H = 1 for k in 1..H // 2) gives way to the next, within a budget of tries.  None at all
    is a bad spec, named at the first domain found empty."""
    order: list[str] = []
    pending = list(free)
    while pending:
        name = next((n for n in pending if _domain_names(spec, n) <= {*env, *order}), pending[0])
        order.append(name)
        pending.remove(name)
    tries = [0]
    first_error: list[SpecError] = []

    def bind(i: int, bound: dict[str, int]) -> dict[str, int] | None:
        if i == len(order):
            return bound
        name = order[i]
        try:
            values = iter(_domain_values(spec, name, bound))
            value = next(values, None)
            if value is None:
                _first_value(spec, name, bound)  # raises: the domain is empty here
        except SpecError as exc:
            if not first_error:
                first_error.append(exc)
            return None
        while value is not None and tries[0] < SCAN_LIMIT:
            tries[0] += 1
            got = bind(i + 1, {**bound, name: value})
            if got is not None:
                return got
            value = next(values, None)
        return None

    got = bind(0, dict(env))
    if got is None:
        # a binding fails first at an empty domain, which first_error names; only a budget
        # run out before any such failure lands here without one: placed at the first var
        raise first_error[0] if first_error else SpecError(
            f"no values of {', '.join(free)} lie in their domains together (tried {SCAN_LIMIT})",
            spec.vars[order[0]].where, f"vars.{order[0]}")
    return got


def _first_value(spec: Spec, name: str, env: Mapping[str, int]) -> int:
    """The smallest value of a var's domain for the values bound; an empty domain (``p: {min:
    k, max: k - 1}``) is a bad spec, named with those values."""
    for value in _domain_values(spec, name, env):
        return value
    var = spec.vars[name]
    bound = ", ".join(f"{n} = {v}" for n, v in sorted(resolve_vars(spec, env).items())
                      if n in _domain_names(spec, name))
    raise SpecError(f"the domain {var.domain} of {name!r} is empty" + (f" with {bound}" if bound else ""),
                    var.where, f"vars.{name}")


def outside_domain(spec: Spec, name: str, value: int, env: Mapping[str, int]) -> UsageError:
    """``--set NAME=VALUE`` outside the var's domain: with the values of the vars the domain
    names (tied ones worked out), or, where no value of those allows it, its widest range."""
    var = spec.vars[name]
    head = f"{spec.file}: --set {name}={value} is outside the domain of {name} ({var.domain})"
    names = sorted(_domain_names(spec, name))
    if not names:
        return UsageError(head)
    try:
        lo, hi = var_span(spec, name)
    except SpecError:
        lo, hi = value, value
    if not lo <= value <= hi:  # no value of the others allows it: say so, not the ones chosen
        return UsageError(f"{head} for every value of {', '.join(names)} (it reaches {lo}..{hi} at its widest)")
    bound = resolve_vars(spec, env)
    shown = ", ".join(f"{n} = {bound[n]}" for n in names if n in bound)
    return UsageError(head + (f" with {shown}" if shown else ""))


def choose_bindings(spec: Spec, net: Network, given: Mapping[str, int], until: float | None = None) -> Bindings:
    """Values for the vars ``given`` leaves open: its default, or the smallest valid value of
    a lone free var (see the module's docstring).  ``until`` (``time.monotonic()``): when the
    scan for a valid value stops (a check of a 100,000-layer network takes a fifth of a second
    per value); what it found by then is said as not proven.

    ``check`` evaluates one network; a spec with unknown hyperparameters is for ``solve``.
    """
    check_given(spec, given)
    open_unknowns = [u for u in spec.unknowns if u not in given]
    if open_unknowns:
        shown = ", ".join(open_unknowns[:6]) + (", ..." if len(open_unknowns) > 6 else "")
        raise UsageError(f"{spec.file}: the spec has {len(open_unknowns)} unknown value(s) ('?'): {shown}; "
                         f"'archsolve solve {spec.file}' fills them in (or give them with --set NAME=VALUE)")
    defaults = defaults_of(spec, given)
    env = {**given, **defaults}
    notes: list[str] = []
    chosen: list[Choice] = []
    if defaults:
        for name, value in defaults.items():
            if not var_allows(spec, name, value, env):
                raise _outside_default(spec, name, value, env)
        names = " and ".join(defaults)
        notes.append("checked at " + ", ".join(f"{n} = {v}" for n, v in defaults.items())
                     + (f", the default of {names} (--set {names}=N checks another)" if len(defaults) == 1 else
                        f", the defaults of {names} (--set NAME=N checks others)"))
        chosen.append(Choice(tuple(defaults.items()), Why.DEFAULT))
    free = [n for n, v in spec.vars.items() if v.domain is not None and n not in env]

    def done(values: Mapping[str, int], why: Why, note: str) -> Bindings:
        notes.append(note)
        chosen.append(Choice(tuple((n, values[n]) for n in free), why))
        return Bindings({**env, **values}, tuple(notes), tuple(chosen))

    if not free:
        return Bindings(env, tuple(notes), tuple(chosen))
    domain_cycles(spec)  # before the free vars' domains are evaluated: a cycle has no order to bind them in
    longest = [0.0]  # the longest one value's check took in the scan

    def late() -> bool:
        # the check at the value chosen comes after the scan, and takes longer than a scan's
        # (receptive fields, the table): time for it is kept
        return until is not None and time.monotonic() + FINAL_CHECKS * longest[0] > until

    def valid(values: Mapping[str, int]) -> bool:
        start = time.monotonic()
        try:
            return propagate(net, values, receptive_fields=False, warnings=False).ok
        except SpecError:
            return False
        finally:
            longest[0] = max(longest[0], time.monotonic() - start)

    if len(free) == 1:
        (name,) = free
        candidates = list(_domain_values(spec, name, env))
        for value in candidates:
            if late():
                break
            if not _domains_hold(spec, {**env, name: value}):  # a value --set gave must stay in its domain
                continue
            if valid({**env, name: value}):
                return done({name: value}, Why.SMALLEST, f"checked at {name} = {value}, the smallest valid value in "
                            f"{spec.vars[name].domain} (--set {name}=N checks another)")
        found, proven = _smallest_sum(spec, env, until)  # past the first SCAN_LIMIT values: as solve would
        if found is not None:
            return done({name: found[name]}, Why.SMALLEST, f"checked at {name} = {found[name]}, the smallest valid "
                        f"value in {spec.vars[name].domain} (--set {name}=N checks another)")
        value = _first_that_runs(net, env, name, candidates, until)
        return done({name: value}, Why.NONE_VALID,
                    (f"no value of {name} in {spec.vars[name].domain} gives a valid network" if proven else
                     f"no valid value of {name} found in {spec.vars[name].domain} within the time (not proven: "
                     f"'archsolve solve' may find one)") + f"; checked at {name} = {value}")
    # several free vars (H and W): the smallest value valid for all of them at once (a square
    # tile), else the valid values with the smallest sum, else each var's smallest value
    fixed_ends = [n for n in free if _constant_domain(spec, n)]
    common = sorted(set.intersection(*(set(_domain_values(spec, n, env)) for n in fixed_ends))) if fixed_ends else []
    for value in common[:SCAN_LIMIT]:
        if late():
            break
        same = {**env, **{n: value for n in free}}
        if not _domains_hold(spec, same):
            continue
        if valid(same):
            return done(same, Why.SMALLEST_COMMON, f"checked at {' = '.join(free)} = {value}, the smallest value "
                        "valid for all of them (--set NAME=N checks others)")
    best, proven = _smallest_sum(spec, env, until)
    if best is not None:
        return done(best, Why.SMALLEST_SUM, "checked at " + ", ".join(f"{n} = {best[n]}" for n in free)
                    + ", the valid values with the smallest sum (--set NAME=N checks others)")
    least = _smallest_binding(spec, free, env)
    return done(least, Why.NONE_VALID,
                ("no values of " + ", ".join(free) + " give a valid network" if proven else
                 "no valid values of " + ", ".join(free) + " found within the time (not proven: 'archsolve solve' "
                 "may find some)") + "; checked at the smallest value of each: "
                + ", ".join(f"{n} = {least[n]}" for n in free) + " (--set NAME=N checks others)")


def check_given(spec: Spec, given: Mapping[str, int]) -> None:
    """``--set``'s names and values: a var (not a tied one) or an unknown, in its domain."""
    for name in given:
        if name not in spec.vars and name not in spec.unknowns:
            options = [*spec.vars, *spec.unknowns]
            raise UsageError(f"{spec.file}: --set {name}: the spec has no var or unknown {name!r}"
                             f"{suggest(name, options)}")
    for name, value in given.items():
        var = spec.vars.get(name)
        if var is not None and var.domain is not None and not var_allows(spec, name, value, given):
            raise outside_domain(spec, name, value, given)
        if var is not None and var.expr is not None:
            raise UsageError(f"{spec.file}: --set {name}: {name} is tied to {var.expr} and cannot be set")


def defaults_of(spec: Spec, given: Mapping[str, int]) -> dict[str, int]:
    """The defaults of the vars ``given`` leaves open."""
    return {n: v.default for n, v in spec.vars.items() if v.default is not None and n not in given}


def _outside_default(spec: Spec, name: str, value: int, env: Mapping[str, int]) -> SpecError:
    """A default outside its var's domain, once the vars the domain names have their values."""
    var = spec.vars[name]
    bound = resolve_vars(spec, env)
    shown = ", ".join(f"{n} = {bound[n]}" for n in sorted(_domain_names(spec, name)) if n in bound)
    where = spec.document.where(("vars", name, "default")) if spec.document is not None else var.where
    return SpecError(f"the default {value} of {name!r} is outside its domain {var.domain}"
                     + (f" with {shown}" if shown else ""), where, f"vars.{name}.default")


def _domain_names(spec: Spec, name: str) -> set[str]:
    dom = spec.vars[name].domain
    assert dom is not None
    return set(dom.names())


def _constant_domain(spec: Spec, name: str) -> bool:
    """Whether a var's domain can be listed without the values of other vars."""
    return not _domain_names(spec, name)


def _first_that_runs(net: Network, env: Mapping[str, int], name: str, candidates: list[int],
                     until: float | None) -> int:
    """The first value the propagation can run with (one that makes a field non-positive is
    a bad spec there, not an invalid network): the first candidate if none can, or if the
    time is up."""
    for value in candidates[:SCAN_LIMIT]:
        if until is not None and time.monotonic() > until:
            break
        try:
            propagate(net, {**env, name: value}, receptive_fields=False, counts=False, warnings=False)
        except SpecError:
            continue
        return value
    return candidates[0] if candidates else _first_value(net.spec, name, env)


def _smallest_sum(spec: Spec, env: Mapping[str, int], until: float | None) -> tuple[dict[str, int] | None, bool]:
    """The free vars' valid values with the smallest sum, as ``solve`` finds them (the
    search, or Z3 where the search cannot), with the values ``--set`` gave fixed;
    and whether "none" is proven (False: not found in time)."""
    # lazily: the solver's modules cost a plain check's start-up time, and most checks never get here
    from archsolve.solve.api import solve_spec
    from archsolve.solve.outcome import SolveStatus

    # the values given become constraints (a var keeps its domain, which may name the others)
    fixed = replace(spec, constraints=(*spec.constraints, *(
        Constraint(Bin("==", Name(n), Num(v)), f"--set {n}={v}", None) for n, v in env.items())))  # type: ignore[arg-type]
    seconds = BINDING_SECONDS if until is None else min(BINDING_SECONDS, until - time.monotonic())
    if seconds <= 0:
        return None, False
    try:
        res = solve_spec(fixed, timeout=seconds, explain=False)
    except ArchsolveError:
        return None, False
    if res.status is not SolveStatus.SAT or not res.solutions:
        return None, res.status is SolveStatus.UNSAT
    values = {n: v for n, v in res.solutions[0].values.items() if n not in env}
    return (values, True) if set(values) <= set(spec.vars) else (None, False)
