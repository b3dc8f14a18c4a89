"""What the output stages are given, worked out here so that they only lay it out:

- :func:`known_shapes`: what a drawing can show of a network, every shape ``check`` finds,
  or, with unknowns still open, the shapes of the layers that do not depend on them
  (:mod:`archsolve.output.draw` draws it);
- :func:`export_check`: the check report a PyTorch module is written from, refusing a spec
  that cannot be exported (:mod:`archsolve.output.export` writes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archsolve.check.api import CheckReport, check_spec
from archsolve.check.bindings import check_given, defaults_of
from archsolve.errors import ArchsolveError, SpecError, UsageError
from archsolve.ops.base import Collect, Severity, Shape
from archsolve.ops.table import OPS
from archsolve.shapes.graph import build_network
from archsolve.shapes.propagate import layer_args
from archsolve.spec.domains import resolve_vars
from archsolve.spec.model import Layer, Semantics, Spec


@dataclass(frozen=True)
class KnownShapes:
    """What a drawing shows of a network, worked out by :func:`known_shapes`.

    ``values``: the vars and unknowns given (a solution's values are drawn green);
    ``shapes``: each layer's output shape (and ``input``'s), None where it cannot be computed;
    ``env``: the values of the vars; ``problems``: the kind of the first error at a layer;
    ``counts``: each layer's and block call's params and MACs (a block's summed over its
    layers), as ``check``'s rows have them.
    """

    spec: Spec
    values: Mapping[str, int]
    order: tuple[Layer, ...]  # the layers in graph order
    shapes: Mapping[str, Shape | None]
    env: Mapping[str, int]
    problems: Mapping[str, str]
    notes: tuple[str, ...]
    counts: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)


def known_shapes(spec: Spec, values: Mapping[str, int] | None = None, until: float | None = None) -> KnownShapes:
    """Output shape of every layer (and ``input``), the env of vars, problems by layer, notes.

    With every unknown given, ``check`` computes them (choosing free input sizes as it does,
    until ``until``); otherwise the layers that do not depend on an open unknown are propagated.

        >>> from archsolve.spec.load import load_text
        >>> known = known_shapes(load_text('input: [3, 8, 8]\\nlayers: [{name: c, op: conv, out: 4, kernel: "?"}]'))
        >>> known.shapes, known.notes
        ({'input': (3, 8, 8), 'c': None}, ("1 unknown value(s) ('?'): shapes that depend on them are shown as ?",))
    """
    values = dict(values or {})
    open_unknowns = [u for u in spec.unknowns if u not in values]
    if not open_unknowns:
        try:
            report = check_spec(spec, values, repairs=False, until=until)
        except UsageError:
            raise
        except SpecError:
            pass  # a value out of its basic range: show what can be computed
        else:
            prop = report.prop
            shapes: dict[str, Shape | None] = {"input": prop.input}
            shapes.update({n: r.shape for n, r in prop.layers.items()})
            problems: dict[str, str] = {}
            for p in report.problems:
                if p.severity is Severity.ERROR and p.layer in prop.layers:
                    problems.setdefault(p.layer, p.kind)
            return KnownShapes(spec, values, tuple(prop.network.order), shapes, dict(prop.env), problems,
                               tuple(report.notes), {r.name: (r.params, r.macs) for r in report.rows})
    return _partial_shapes(spec, values)


def _partial_shapes(spec: Spec, values: Mapping[str, int]) -> KnownShapes:
    check_given(spec, values)
    env = resolve_vars(spec, {**defaults_of(spec, values), **values})
    inp: list[Any] = []
    for e in spec.input:
        try:
            inp.append(e.evaluate(env))
        except (KeyError, ArchsolveError, ArithmeticError):
            inp.append(None)
    shapes: dict[str, Any] = {"input": None if None in inp else tuple(inp)}
    problems: dict[str, str] = {}
    order = tuple(build_network(spec).order)
    for lay in order:
        ins = [shapes.get(s) for s in lay.sources]
        out = None
        if all(s is not None for s in ins):
            try:
                args = layer_args(lay, env, spec, lay.refs or lay.sources)
                req = Collect()
                out = OPS[lay.op].shape(args, ins, req)
                if req.fatal:
                    out = None
                for f in req.failures:
                    if f.severity is Severity.ERROR:
                        problems.setdefault(lay.name, f.rule)
            except (ArchsolveError, KeyError, ArithmeticError, ValueError, TypeError):
                out = None
        shapes[lay.name] = out
    notes = []
    open_unknowns = [u for u in spec.unknowns if u not in values]
    if open_unknowns:
        notes.append(f"{len(open_unknowns)} unknown value(s) ('?'): shapes that depend on them are shown as ?")
    return KnownShapes(spec, values, order, shapes, env, problems, tuple(notes))


def export_check(spec: Spec, given: Mapping[str, int] | None = None, until: float | None = None) -> CheckReport:
    """The check report :func:`torch_source` writes a spec from.

    ``given`` binds vars and unknowns as ``check --set`` does; open vars take the values
    ``check`` chooses (scanning until ``until``, as ``check --timeout``).  Raises
    :class:`SpecError` for a spec with ``"?"`` left (solve it first) or tf semantics.

        >>> from archsolve.spec.load import load_text
        >>> export_check(load_text("input: [3, 8, 8]\\nlayers: [{op: conv, out: 4, kernel: 3}]")).output
        (4, 6, 6)
    """
    if spec.semantics is Semantics.TF:
        raise SpecError(f"export of tf-semantics specs is not supported: {spec.file} uses 'semantics: tf'; "
                        "PyTorch modules follow torch's shape rules (write the spec with 'semantics: torch')")
    open_unknowns = [u for u in spec.unknowns if u not in (given or {})]
    if open_unknowns:
        shown = ", ".join(open_unknowns[:6]) + (", ..." if len(open_unknowns) > 6 else "")
        raise SpecError(f"{spec.file}: the spec still has {len(open_unknowns)} unknown value(s) ('?'): "
                        f"{shown}; "
                        f"solve it first: archsolve solve {spec.file} --write OUT")
    return check_spec(spec, given, repairs=False, until=until)
