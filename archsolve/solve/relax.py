"""What would make an unsatisfiable spec solvable: small edits, each one solved again.

Three kinds of edit are offered, each only where it alone gives a solution:

- **drop a ``domains:`` override** of a field the layers in conflict leave unknown
  (``domains: {stride: {min: 1, max: 2}}``): the field then takes its default domain
  (docs/spec-format.md).  When no single override helps, all of them at once;
- **widen a default domain**: a field the layers in conflict leave unknown with no
  ``domains:`` override (a pad ``amount`` of 0..64, a padding of 0..dilation * (kernel - 1))
  gets the override ``{min: its lowest value, max: M}``, M the largest value of the field in
  the best solution when the field may reach :func:`widest` -- a WaveNet pad before a
  dilation-512 conv needs ``domains: {amount: {min: 0, max: 512}}``;
- **drop a top-level rule**: ``exact: true`` or ``holes: false``, where the conflict's layers
  are held by it (a drop or a hole they cannot avoid);
- **raise a memory budget** (``memory <= 8 GiB``, ``activations <= ...``) to the least that
  any solution needs: that least is the best of a solve without the budget that minimizes it,
  rounded up as ``plan --memory`` takes it (``274KiB``);
- **leave a written value open**: a kernel, stride, padding, ... written in a layer in
  conflict (or in the block definition it comes from) becomes ``"?"``; and the input's
  spatial sizes, all at once (the input size the network needs, as ``inputs`` would find
  for a fixed one).

Every offer is a real solve of the edited spec, so its answer was verified like any other;
all of them together take at most :data:`RELAX_SECONDS` (one at most :data:`TRY_SECONDS`).

Example::

    >>> found = relaxations(spec, ["upA", "upB"], minimize=None, seconds=3.0, solve=quick)  # doctest: +SKIP
    >>> [r.edit for r in found]  # doctest: +SKIP
    [{'remove': ['domains.stride']}, {'open': ['upB.kernel']}]
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from archsolve.errors import ArchsolveError, SolverBug
from archsolve.lang.expr import Bin, Expr, Name, Num, at_least, bytes_text, fold, interval
from archsolve.lang.yamlio import set_at
from archsolve.ops.table import OPS
from archsolve.solve.outcome import Relaxation, SolveStatus
from archsolve.spec.domains import unknown_span, var_span
from archsolve.spec.load import load_edited
from archsolve.spec.model import MEMORY_TOTALS, Spec
from archsolve.spec.written import candidates, writable

RELAX_SECONDS = 0.6  # at most, for every try together: an unsat answer should stay quick
TRY_SECONDS = 0.3  # at most for one try (a dropped override can make a question much larger)
MIN_TRY_SECONDS = 0.1  # no try starts with less time than this left
MAX_OFFERS = 5
WIDEN_FACTOR = 4  # a widened domain reaches this many times its default's widest end at least
# the fields ``domains:`` may name: those whose "?" has a default domain
FIELDS_WITH_DOMAINS = frozenset(f.name for d in OPS.values() for f in d.fields if f.domain is not None)


class Solve(Protocol):
    def __call__(self, spec: Spec, *, minimize: str | None, timeout: float) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class _Try:
    edit: dict[str, list[str]]
    was: dict[str, Any]
    change: Callable[[dict[str, Any]], None]  # edits a copy of the document's data
    what: str  # for an open value's message: "with upB.kernel open (now 4)"
    fallback: bool = False  # tried only when no single removal of its group gave a solution
    widened: tuple[str, int] | None = None  # a widened default domain: the field, and its lowest value
    to: dict[str, str] = dataclasses.field(default_factory=dict)  # a raised budget: the constraint then


def relaxations(spec: Spec, layers: Iterable[str], *, minimize: str | None, seconds: float,
                solve: Solve) -> list[Relaxation]:
    """The edits that make ``spec`` solvable (see the module docstring); ``layers``: the
    layers in conflict; at most ``seconds`` in all, at most :data:`MAX_OFFERS` offers.
    ``solve``: how an edited spec is solved (``solve_spec`` without explanations: the API
    above this module passes itself down, so that the two do not import each other)."""
    if spec.document is None or not isinstance(spec.document.data, dict):
        return []
    named = set(layers)
    deadline = time.monotonic() + seconds
    found: list[Relaxation] = []
    for group in (_budget_tries(spec, solve, deadline), _domain_tries(spec, named), _widen_tries(spec, named),
                  _rule_tries(spec), _open_tries(spec, named), _input_tries(spec)):
        for t in group:
            left = deadline - time.monotonic()
            if left < MIN_TRY_SECONDS or len(found) >= MAX_OFFERS:
                return found
            if t.fallback and any("remove" in r.edit for r in found):
                continue
            data = copy.deepcopy(spec.document.data)
            t.change(data)
            try:
                edited = load_edited(spec, data)
                if spec.ties_calls:  # solve --write: the edit's "?" tied like the spec's own
                    edited = writable(edited)
                res = solve(edited, minimize=minimize, timeout=min(left, TRY_SECONDS))
            except SolverBug:
                raise  # a wrong answer is never an offer
            except ArchsolveError:
                continue  # the spec needs what the edit takes away (a var's domain names it, ...)
            if res.status is not SolveStatus.SAT or not res.solutions:
                continue
            values = res.solutions[0].values
            if t.widened is not None:
                found.append(_widened(edited, t, values, named))
                continue
            default = {}
            for f in t.edit.get("remove", []):
                if not f.startswith("domains."):
                    continue  # a top-level rule: its message says it
                field = f.removeprefix("domains.")
                doms = sorted({str(u.domain) for u in edited.unknowns.values()
                               if u.of_any(named) and u.field.split("[")[0] == field})
                default[field] = " or ".join(doms)
            what = t.what
            if default:
                what = "without " + " and ".join(f"domains.{f} ({t.was[f]}; default {d})" for f, d in default.items())
            shown = _shown(edited, values, named)
            found.append(Relaxation(edit=t.edit, was=t.was, default=default, values=values, to=t.to,
                                    message=f"it solves {what}: {', '.join(shown)}"))
    return found


def _shown(spec: Spec, values: dict[str, int], named: set[str], also: Iterable[str] = ()) -> list[str]:
    """The values a relaxation's message gives: the vars', those of the layers in conflict, the
    input's, and ``also``; every value where none of these is there."""
    extra = set(also)
    return [f"{u} = {v}" for u, v in values.items() if u in spec.vars or u in extra or (u in spec.unknowns and (
            spec.unknowns[u].of_any(named) or u.startswith("input.")))] or [f"{u} = {v}" for u, v in values.items()]


def _widened(spec: Spec, t: _Try, values: dict[str, int], named: set[str]) -> Relaxation:
    """A widening that gave a solution, offered as narrow as that solution allows: up to the
    largest value the field takes in it (the best solution of the widest is the best of any
    domain between, so ``values`` stays the best)."""
    assert t.widened is not None
    field, lo = t.widened
    of_field = {u: v for u, v in values.items() if u in spec.unknowns and spec.unknowns[u].field.split("[")[0] == field}
    hi = max(of_field.values())
    entry = f"domains: {{{field}: {{min: {lo}, max: {hi}}}}}"
    largest = [u for u, v in of_field.items() if v == hi]
    shown = _shown(spec, values, named, also=largest[:1])
    return Relaxation(edit={"widen": [f"domains.{field}"]}, was=t.was, default={}, values=values,
                      domains={field: {"min": lo, "max": hi}},
                      message=f"it solves with {entry} added (widening {field}'s default domain {t.was[field]}): "
                              f"{', '.join(shown)}")


def widest(spec: Spec, hi: int) -> int:
    """How far a default domain whose widest end is ``hi`` is widened: :data:`WIDEN_FACTOR`
    times, and at least to the largest size the spec names -- its input's spatial sizes at
    their widest, and the numbers in its constraints (a kernel, padding or pad as wide as a
    size the network has).

        >>> from archsolve.spec.load import load_text
        >>> widest(load_text("{input: [16, 4000], layers: [{op: relu}]}"), 64)
        4000
        >>> widest(load_text("{input: [1, H], vars: {H: {min: 8, max: 32}}, layers: [{op: relu}]}"), 11)
        44
        >>> widest(load_text("{input: [1, 8], layers: [{name: up, op: deconv, out: 1, kernel: 2}], "
        ...                  "constraints: [up.L == 60]}"), 11)
        60
    """
    spans = {**{n: var_span(spec, n) for n in spec.vars if spec.vars[n].expr is None},
             **{u: unknown_span(spec, u) for u in spec.unknowns if u.startswith("input.")}}
    sizes = [s[1] for s in (interval(e, spans) for e in spec.input[1:]) if s is not None]
    named = [n for c in spec.constraints for n in _numbers(c.expr)]
    return max(WIDEN_FACTOR * hi, *sizes, *named)


def _numbers(e: Expr) -> Iterator[int]:
    """Every number written in an expression."""
    if isinstance(e, Num):
        yield e.value
    for f in dataclasses.fields(e):  # type: ignore[arg-type]
        v = getattr(e, f.name)
        for x in v if isinstance(v, tuple) else (v,):
            if isinstance(x, Expr):
                yield from _numbers(x)


def _widen_tries(spec: Spec, named: set[str]) -> Iterator[_Try]:
    """Each field the conflicting layers leave unknown with its default domain (no
    ``domains:`` override), widened to :func:`widest`."""
    doms: dict[str, dict[str, str]] = {}  # field -> the conflict's unknowns of it -> their default domain
    for u in spec.unknowns.values():
        field = u.field.split("[")[0]
        if u.of_any(named) and field in FIELDS_WITH_DOMAINS and field not in spec.domains and not u.domain.listed:
            doms.setdefault(field, {})[u.name] = str(u.domain)
    for field in sorted(doms):
        spans = [unknown_span(spec, u) for u in doms[field]]
        lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
        far = widest(spec, hi)

        def change(data: dict[str, Any], field: str = field, lo: int = lo, far: int = far) -> None:
            data["domains"] = {**(data.get("domains") or {}), field: {"min": lo, "max": far}}  # `domains:` may be empty

        yield _Try(edit={"widen": [f"domains.{field}"]}, was={field: " or ".join(sorted(set(doms[field].values())))},
                   change=change, what="", widened=(field, lo))


def _domain_tries(spec: Spec, named: set[str]) -> Iterator[_Try]:
    """Each override of a field the conflicting layers leave unknown; then all of them."""
    fields = sorted({u.field.split("[")[0] for u in spec.unknowns.values()
                     if u.of_any(named) and u.field.split("[")[0] in spec.domains})

    def dropping(group: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
        def change(data: dict[str, Any]) -> None:
            for f in group:
                del data["domains"][f]
            if not data["domains"]:
                del data["domains"]
        return change

    def one(group: tuple[str, ...], fallback: bool) -> _Try:
        return _Try(edit={"remove": [f"domains.{f}" for f in group]}, was={f: str(spec.domains[f]) for f in group},
                    change=dropping(group), what="", fallback=fallback)

    for f in fields:
        yield one((f,), False)
    if len(fields) > 1:
        yield one(tuple(fields), True)


def _budget_tries(spec: Spec, solve: Solve, deadline: float) -> Iterator[_Try]:
    """Each memory budget raised to the least any solution needs, where that is more than it
    allows: the least from a solve of the spec without the budget, minimizing its total."""
    for i, c in enumerate(spec.constraints):
        budget = _budget(c.expr)
        left = deadline - time.monotonic()
        if budget is None or left < MIN_TRY_SECONDS:
            continue
        name, limit = budget
        data = copy.deepcopy(spec.document.data)  # type: ignore[union-attr]
        del data["constraints"][i]
        try:
            edited = load_edited(spec, data)
            if spec.ties_calls:  # solve --write: the least under the same ties as the offer's solve
                edited = writable(edited)
            res = solve(edited, minimize=name, timeout=min(left, TRY_SECONDS))
        except SolverBug:
            raise
        except ArchsolveError:
            continue
        # the best found when the time ran out is a budget that fits too, if not the least
        if not res.solutions or res.solutions[0].objective <= limit:
            continue  # no solution even so, or the budget is not what rules them out
        least = res.solutions[0].objective
        raised = f"{name} <= {at_least(least)}"
        proven = res.status is SolveStatus.SAT and res.optimal
        how = "the least any solution needs" if proven else "the least found in the time"

        def change(data: dict[str, Any], i: int = i, raised: str = raised) -> None:
            data["constraints"][i] = raised

        yield _Try(edit={"raise": [name]}, was={name: c.text}, change=change, to={name: raised},
                   what=f"with {raised} (now {c.text}; {how} is {bytes_text(least)}, {least:,} bytes)")


def _budget(e: Expr) -> tuple[str, int] | None:
    """``memory <= N`` (or ``<``, or written the other way round) as (the total, the most it
    may be); None for any other constraint."""
    if not isinstance(e, Bin) or e.op not in ("<=", "<", ">=", ">"):
        return None
    total, bound, op = (e.left, e.right, e.op) if e.op in ("<=", "<") else (e.right, e.left, {">=": "<=", ">": "<"}[e.op])
    bound = fold(bound)
    if not (isinstance(total, Name) and total.name in MEMORY_TOTALS and isinstance(bound, Num)):
        return None
    return total.name, bound.value - (op == "<")


def _rule_tries(spec: Spec) -> Iterator[_Try]:
    """``exact: true`` and ``holes: false`` dropped, each on its own (both are written as the
    spec's top-level keys, so ``remove`` names the key)."""
    for key, value, effect in (("exact", True, "no conv or pool may drop a real pixel, and no holes"),
                               ("holes", False, "no output position may be left unreached")):
        if spec.document is None or spec.document.data.get(key) is not value:
            continue

        def change(data: dict[str, Any], key: str = key) -> None:
            del data[key]

        yield _Try(edit={"remove": [key]}, was={key: value}, change=change,
                   what=f"without {key}: {str(value).lower()} ({effect})")


def _input_tries(spec: Spec) -> Iterator[_Try]:
    """The input's spatial sizes written as numbers, all of them ``"?"`` at once."""
    sizes = [c for c in candidates(spec, set()) if c.name.startswith("input.")]
    if not sizes:
        return

    def change(data: dict[str, Any]) -> None:
        for c in sizes:
            set_at(data, c.path, "?")

    names = " and ".join(c.name for c in sizes)
    now = ", ".join(str(c.current) for c in sizes)
    yield _Try(edit={"open": [c.name for c in sizes]}, was={c.name: c.current for c in sizes}, change=change,
               what=f"with {names} open (now {now})")


def _open_tries(spec: Spec, named: set[str]) -> Iterator[_Try]:
    """Each kernel, stride, padding, ... written in a conflicting layer (or its block), as ``"?"``."""
    def opening(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
        return lambda data: set_at(data, path, "?")

    # a layer in conflict made by a block call: its definition's values count too
    inside = {f"{g.op.removeprefix('block:')}/{m[len(g.name) + 1:]}" for g in spec.groups
              if g.op.startswith("block:") for m in g.members if m in named}
    for cand in candidates(spec, named):
        here = cand.priority == 0  # a spatial field written in a layer in conflict
        in_block = cand.priority == 2 and cand.name.startswith("block:") and \
            cand.name.split(".")[0].removeprefix("block:") in inside
        if here or in_block:
            yield _Try(edit={"open": [cand.name]}, was={cand.name: cand.current}, change=opening(cand.path),
                       what=f"with {cand.name} open (now {cand.current})")
