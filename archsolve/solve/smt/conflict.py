"""A conflict explained: the layers and constraints of Z3's unsat core, in words, with the
arithmetic it can give -- the sizes a constraint's attributes can reach without it, the
sizes a merge's inputs can have, the rules the written values break.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.solve.smt.solver import encode
    >>> from archsolve.solve.smt.system import build_system, constraint_exprs
    >>> system = build_system(build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... constraints: [up.L == 30]
    ... ''')))
    >>> problem = encode(system, constraint_exprs(system), counts=(), timeout=10.0)
    >>> problem.satisfiable()
    False
    >>> explain_conflict(problem, system, problem.core()).message
    "up cannot meet up.L == 30; from 8 at up's input, with kernel 1..11, up.L can only be 15..25, but up.L == 30 needs 30"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from archsolve.errors import SpecError
from archsolve.lang.expr import Bin, Expr, ListExpr, Name, Num
from archsolve.ops.table import OPS
from archsolve.solve.outcome import Conflict
from archsolve.solve.smt.solver import Z3Problem
from archsolve.solve.smt.system import System, attribute_terms
from archsolve.spec.model import Spec


def refuse_empty_domain(spec: Spec, core: list[str]) -> None:
    """A conflict of one var's domain alone (``p: {min: k, max: k - 1}``): a contradictory
    domain, a bad spec as ``check`` says it (exit 2), not an unsolvable network."""
    names = [c[len("vars."):] for c in core if c.startswith("vars.")]
    if len(names) == 1 and len(core) == 1 and names[0] in spec.vars:
        var = spec.vars[names[0]]
        raise SpecError(f"the domain {var.domain} of {names[0]!r} is empty for every value of the vars it names",
                        var.where, f"vars.{names[0]}")


def explain_conflict(problem: Z3Problem, system: System, core: list[str]) -> Conflict:
    """Name the layers and constraints in a minimal conflict (``core``, the labels of
    :meth:`Z3Problem.core`), with the arithmetic we can give."""
    spec = system.spec
    constraints = {f"constraints[{i}]": c.text for i, c in enumerate(spec.constraints)}
    layers = [c for c in core if c not in constraints and not c.startswith(("vars.", "input"))]
    cons = [constraints[c] for c in core if c in constraints]
    parts = []
    if layers and cons:
        parts.append(f"{_names(layers)} cannot meet {' and '.join(cons)}")
    elif layers:
        parts.append(f"{_names(layers)} cannot all be valid together")
    elif cons:
        parts.append(f"{' and '.join(cons)} cannot hold")
    terms = attribute_terms(system)
    tied = spec.tied()
    named = {**terms, **{n: tied.get(n, Name(n)) for n in spec.vars}}  # vars too (b: a + 1 is a + 1)
    held: dict[str, list[str]] = {}

    def without(label: str) -> list[str]:
        """The labels a part of the conflict is explained under: the rest of the core, and
        whatever else in the spec holds with it (:meth:`Z3Problem.holding`)."""
        if label not in held:
            held[label] = problem.holding([c for c in core if c != label], leave=(label,))
        return held[label]

    context = _context(problem, system, layers, core)
    for label in core:
        if label not in constraints:
            continue
        c = spec.constraints[int(label.split("[")[1].rstrip("]"))]
        unreachable: dict[tuple[str, int | None], list[str]] = {}  # (reach, needed) -> attributes
        for attr, needed in _targets(c.expr, spec):
            if attr not in named:
                continue
            try:
                rng = problem.range_of(named[attr], without(label))
            except KeyError:  # a var the solver enumerates with its layer: no term of its own
                continue
            if rng is None:
                continue
            lo, hi = rng
            if needed is not None and lo <= needed <= hi:
                continue  # this one is reachable; the conflict is elsewhere
            unreachable.setdefault((f"{lo}" if lo == hi else f"{lo}..{hi}", needed), []).append(attr)
        for (reach, needed), attrs in unreachable.items():
            parts.append(f"{context}{_names(attrs)} can only be {reach}"
                         + (f", but {c.text} needs {needed}" if needed is not None else ""))
        if not unreachable:  # L % 2 == 0 against sizes only odd L allow: the values left
            for n in sorted(c.expr.names() & set(spec.vars)):
                try:
                    values = problem.values_of(named[n], without(label))
                except KeyError:
                    continue
                if values:
                    parts.append(f"without {c.text}, {n} can only be {', '.join(map(str, values))}")
    for label in layers:
        joined = _joined(problem, system, terms, label, without)
        if joined:
            parts.append(f"{context}{joined}")
        for f in system.facts:
            if f.label == label and f.rule == "no-combination":
                parts.append(f.message)
                break
        # a rule the written values break whatever the unknowns are: check's own words
        broken = {f.rule: f.message for f in reversed(system.facts) if f.label == label  # one per rule: H's
                  and f.rule != "no-combination" and isinstance(f.expr, Num) and not f.expr.value}
        parts.extend(reversed(broken.values()))
    # the input's sizes must be positive (input: [1, 8 - p]): its facts say how
    if "input" in core:
        for f in system.facts:
            if f.label == "input":
                ranges = [f"{n} in {spec.vars[n].domain}" for n in sorted(f.expr.names())
                          if n in spec.vars and spec.vars[n].domain is not None]
                parts.append(f.message + (f" ({', '.join(ranges)})" if ranges else ""))
    # a var's domain naming other vars (p: {max: k // 2}) is a labelled fact too (one alone is
    # a bad spec, raised before this)
    domains = [c[len("vars."):] for c in core if c.startswith("vars.") and c[len("vars."):] in spec.vars]
    if domains:
        parts.append(("with " if layers or cons else "")
                     + " and ".join(f"{n} in {spec.vars[n].domain}" for n in domains))
    # the ranges above hold under the spec's own rules, which rule out values the fields'
    # domains allow (kernel 1 under holes: false): say so
    if layers and spec.exact:
        parts.append("all under exact: true (no conv or pool may drop a real pixel, and no holes)")
    elif layers and not spec.holes:
        parts.append("all under holes: false (no output position may be left unreached)")
    if len(layers) > 1 and not cons:
        parts.append("relaxing any one of them may help")
    message = "; ".join(parts) if parts else "the constraints contradict each other"
    return Conflict(layers=tuple(layers), constraints=tuple(cons), message=message)


def _joined(problem: Z3Problem, system: System, terms: Mapping[str, Expr], label: str,
            without: Callable[[str], Sequence[str]]) -> str:
    """For a merge in a conflict: the sizes each input can have under the labels
    ``without(label)`` (``cat joins e1 at 64x64 and up at 32..42 x 32..42``), or "" (not a
    merge, or nothing to say)."""
    spec = system.spec
    try:
        lay = spec.layer(label)
    except KeyError:
        return ""
    if not OPS[lay.op].merge or len(lay.sources) < 2:
        return ""
    seen = []
    for src in lay.refs or lay.sources:
        sizes = _sizes(problem, [terms.get(f"{src}.{ax}") for ax in spec.axis_names], without(label))
        if not sizes:
            return ""
        seen.append(f"{src} at {sizes}")
    return f"{label} joins {_names(seen)}"


def _sizes(problem: Z3Problem, terms: Sequence[Expr | None], assumed: Sequence[str]) -> str:
    """The sizes ``terms`` (one per spatial axis) can take under the labels ``assumed``:
    ``64x64``, ``32..42 x 32..42``; "" where one has no term or no range."""
    spans = [problem.range_of(t, assumed) if t is not None else None for t in terms]
    if any(r is None for r in spans):
        return ""
    texts = [f"{lo}" if lo == hi else f"{lo}..{hi}" for lo, hi in spans]  # type: ignore[misc]
    return ('x' if all('..' not in t for t in texts) else ' x ').join(texts)


def _context(problem: Z3Problem, system: System, layers: list[str], core: list[str]) -> str:
    """What the conflicting layers start from and may choose, for the arithmetic of a
    conflict: ``from 8x8 at upA's input, with kernel 1..3 and stride 1..2, `` (or ``with the
    domains given, `` where nothing is known of the start).  The start is the size the
    layers before give it, whatever else in the spec conflicts (:meth:`Z3Problem.holding`
    with the core left aside)."""
    spec = system.spec
    named = set(layers)
    first = next((lay for lay in spec.layers if lay.name in named), None)
    start = ""
    if first is not None and len(first.sources) <= 1:  # a merge's "input" would be one of several
        sizes = system.shape_of(first.sources[0] if first.sources else "input")[1:]
        if sizes and all(isinstance(v, Num) for v in sizes):
            start = f"from {'x'.join(str(v.value) for v in sizes)} at {first.name}'s input, "
        elif sizes:
            reach = _sizes(problem, sizes, problem.holding([], leave=core))
            if reach:
                start = f"from {reach} at {first.name}'s input, "
    domains: dict[str, dict[str, str]] = {}  # field -> unknown -> its domain
    for u in spec.unknowns.values():
        if u.of_any(named):
            domains.setdefault(u.field.split("[")[0], {})[u.name] = str(u.domain)
    said = []
    for fieldname, doms in domains.items():
        if len(set(doms.values())) == 1:
            said.append(f"{fieldname} {next(iter(doms.values()))}")
        else:
            said.extend(f"{u} {d}" for u, d in doms.items())
    if not said:
        return start or "with the domains given, "
    return f"{start}with {_names(said)}, "


def _targets(e: Expr, spec: Spec) -> list[tuple[str, int | None]]:
    """The attributes (and vars) a constraint pins, with the value it needs when it is a constant."""
    out: list[tuple[str, int | None]] = []
    if isinstance(e, Bin) and e.op == "and":
        return _targets(e.left, spec) + _targets(e.right, spec)
    if isinstance(e, Bin) and e.op == "==":
        for a, b in ((e.left, e.right), (e.right, e.left)):
            if isinstance(a, Name) and a.name.endswith(".shape") and isinstance(b, ListExpr):
                base = a.name[: -len(".shape")]
                for axis, item in zip(("C", *spec.axis_names), b.items, strict=False):
                    out.append((f"{base}.{axis}", item.value if isinstance(item, Num) else None))
                return out
            if isinstance(a, Name) and ("." in a.name or a.name in spec.vars):
                return [(a.name, b.value if isinstance(b, Num) else None)]
    for n in sorted(e.names()):
        if "." in n and not n.endswith(".shape"):
            out.append((n, None))
    return out


def _names(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
