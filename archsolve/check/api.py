"""``archsolve check``: propagate, tabulate, and explain every problem with a fix.

The stages: bind the vars the spec leaves open (:mod:`.bindings`), propagate, add fixes to the
problems found (:mod:`.advice`), tabulate the rows and totals, and, for an invalid network,
look for minimal repairs (:mod:`.repair`).

Example::

    >>> report = check_file("specs/unet-original.yaml")
    >>> report.output, report.totals["params"]
    ((2, 388, 388), 31030658)
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from archsolve.check.advice import add_fixes, annotate_merges
from archsolve.check.bindings import Choice, choose_bindings, outside_domain
from archsolve.check.repair import REPAIR_SECONDS, find_repairs
from archsolve.limits import DEFAULT_LIMITS, Limits
from archsolve.ops.autograd import MemoryMode
from archsolve.ops.base import Severity
from archsolve.shapes.graph import build_network
from archsolve.shapes.memory import Memory, memory_of
from archsolve.shapes.propagate import LayerResult, Problem, Propagation, propagate
from archsolve.spec.domains import var_allows
from archsolve.spec.load import load_spec
from archsolve.spec.model import Spec


@dataclass
class Row:
    name: str
    op: str
    depth: int
    sources: list[str]
    shape: list[int] | None
    params: int | None
    macs: int | None
    rf: list[int] | None
    bias_adds: int | None = None  # the bias adds MACs leave out: one per output element of a layer with a bias
    memory: int | None = None  # the bytes of its output (shapes/memory.py)
    inputs: list[list[int] | None] = field(default_factory=list)  # the shapes it reads, as ``sources``
    fields: dict[str, Any] = field(default_factory=dict)  # kernel, stride, padding: as resolved, where it has them


SHOWN_FIELDS = ("kernel", "stride", "padding")  # the fields a row carries for ``check --columns``


@dataclass
class CheckReport:
    spec: Spec
    prop: Propagation
    rows: list[Row]
    totals: dict[str, int]
    problems: list[Problem]
    notes: list[str] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    chosen: tuple[Choice, ...] = ()  # the values chosen for vars --set left open, and why
    memory: Memory | None = None  # at the check's batch and type (check --batch --dtype)
    memory_mode: MemoryMode = field(default_factory=MemoryMode)

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)

    @property
    def input(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.prop.input)

    @property
    def output(self) -> tuple[int, ...] | None:
        shape = self.prop.layers[self.spec.layers[-1].name].shape
        return None if shape is None else tuple(int(v) for v in shape)


# -- choosing values for what the spec leaves open ---------------------------------------------























# -- fixes -----------------------------------------------------------------------------------------


# -- the report --------------------------------------------------------------------------------------

def build_rows(prop: Propagation, mem: Memory | None = None) -> tuple[list[Row], dict[str, int]]:
    spec = prop.network.spec
    groups = {g.name: g for g in spec.groups}
    rows: list[Row] = []
    for name in spec.rows:
        if name in groups:
            g = groups[name]
            members = [prop.layers[m] for m in g.members]
            inside = set(g.members)
            # each source as the spec names it (a block call, not its last layer), with the layer it is
            read = {r: s for m in members for s, r in zip(m.layer.sources, m.layer.refs or m.layer.sources,
                                                          strict=True) if s not in inside}
            sources = sorted(read, key=lambda s: (s != "input", s))
            out = prop.layers[g.output]
            rows.append(Row(name, g.op, g.depth, sources, _ints(out.shape),
                            _sum(m.params for m in members), _sum(m.macs for m in members), _rf(out),
                            bias_adds=_sum(_bias_adds(m) for m in members),
                            memory=None if mem is None else mem.layers.get(g.output),
                            inputs=[_ints(prop.input if read[s] == "input" else prop.layers[read[s]].shape)
                                    for s in sources]))
        else:
            res = prop.layers[name]
            lay = res.layer
            args = res.args or {}
            rows.append(Row(name, lay.op, lay.depth, list(lay.refs or lay.sources), _ints(res.shape), res.params, res.macs,
                            _rf(res), bias_adds=_bias_adds(res), inputs=[_ints(x) for x in res.inputs or []],
                            memory=None if mem is None else mem.layers.get(name),
                            fields={f: args[f] for f in SHOWN_FIELDS if f in args}))
    totals = {"params": sum(r.params or 0 for r in prop.layers.values()),
              "macs": sum(r.macs or 0 for r in prop.layers.values()),
              "bias_adds": sum(_bias_adds(r) or 0 for r in prop.layers.values())}
    return rows, totals


def _bias_adds(res: LayerResult) -> int | None:
    """The adds of a weighted layer's bias (a conv's, a transposed conv's, a linear's), one per
    output element at batch 1: what torchinfo and fvcore count in MACs and this tool leaves
    out (``check --count-bias`` adds them).  A layer with no MACs (a norm) has none."""
    if res.macs is None or res.shape is None or res.args is None:
        return None
    if not (res.macs and res.args.get("bias")):
        return 0
    return math.prod(int(v) for v in res.shape)


def _ints(shape: Any) -> list[int] | None:
    return None if shape is None else [int(v) for v in shape]


def _sum(values: Iterable[int | None]) -> int | None:
    vals = list(values)
    return None if any(v is None for v in vals) else sum(v for v in vals if v is not None)


def _rf(res: Any) -> list[int] | None:
    return res.rf


def check_spec(spec: Spec, given: Mapping[str, int] | None = None, repairs: bool = True,
               until: float | None = None, memory: MemoryMode | None = None) -> CheckReport:
    """Check a loaded spec; ``given`` binds vars and unknowns (``--set``).  ``until``
    (``time.monotonic()``): when the scan for a free var's valid value and the search for
    advice (nearest sizes, fixes, repairs) stop; the shapes and problems at the values
    chosen are always complete.  ``memory``: the batch and dtype memory is counted at, in
    place of the spec's (``--batch``, ``--dtype``)."""
    if memory is not None:
        spec = replace(spec, memory=memory)
    net = build_network(spec)
    bindings = choose_bindings(spec, net, dict(given or {}), until)
    env = bindings.env
    for name, value in (given or {}).items():  # a domain naming a var chosen later (W: {min: H, ...})
        var = spec.vars.get(name)
        if var is not None and var.domain is not None and not var_allows(spec, name, value, env):
            raise outside_domain(spec, name, value, env)
    prop = propagate(net, env)
    annotate_merges(prop)
    nearest = add_fixes(prop, prop.problems, until)
    mem = memory_of(prop, spec.memory)
    rows, totals = build_rows(prop, mem)
    report = CheckReport(spec, prop, rows, totals, prop.problems, [*bindings.notes, *prop.notes],
                         chosen=bindings.chosen, memory=mem, memory_mode=spec.memory)
    if not report.ok and repairs:
        left = None if until is None else max(0.0, until - time.monotonic())
        report.repairs = [r.to_json() for r in find_repairs(
            prop, nearest, seconds=None if left is None else min(REPAIR_SECONDS, left))]
    return report




def check_file(path: str, given: Mapping[str, int] | None = None, limits: Limits = DEFAULT_LIMITS) -> CheckReport:
    """Load and check a spec file (``given``: values for its vars, as ``--set`` gives them)."""
    return check_spec(load_spec(path, limits), given)
