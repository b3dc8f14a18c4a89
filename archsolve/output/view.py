"""What ``check`` and ``solve`` show, worked out once: the report models the renderers lay out.

:func:`check_view` and :func:`solve_view` do every count, sort and number format (thousands
separators, shapes, receptive fields); :mod:`archsolve.output.report` only arranges the result
as plain text, rich or JSON.  Strings stay as computed: each renderer escapes them for its medium.

Example::

    >>> from archsolve.check.api import check_file
    >>> view = check_view(check_file("specs/unet-original.yaml"))
    >>> view.title, view.input_text, view.verdict.line
    ('unet-original', '[1, 572, 572]', 'OK')
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archsolve.ops.base import Severity

if TYPE_CHECKING:  # importing the solver's API would cost check its time
    from archsolve.check.api import CheckReport, Row
    from archsolve.solve.api import SolveResult
    from archsolve.solve.solution import Solution

LAYER_COLUMNS = ("layer", "op", "output", "params", "MACs", "RF")


class RowMark(enum.Enum):
    """What sets a layer row apart on a terminal."""

    PLAIN = "plain"
    GROUP = "group"  # a block call or repeat: a sum of the rows after it
    BROKEN = "broken"  # the layer has an error


@dataclass(frozen=True)
class LayerRow:
    """One row of the layer table: the values (for JSON) and the cells shown (for people)."""

    name: str
    op: str
    depth: int
    sources: tuple[str, ...]
    shape: tuple[int, ...] | None
    params: int | None
    macs: int | None
    rf: tuple[int, ...] | None
    cells: tuple[str, ...]  # as LAYER_COLUMNS: the name indented by depth, then each value formatted
    mark: RowMark


@dataclass(frozen=True)
class LayerTable:
    """The layer rows and the totals under them."""

    rows: tuple[LayerRow, ...]
    output: tuple[int, ...] | None
    params: int
    macs: int
    output_text: str
    params_text: str
    macs_text: str


@dataclass(frozen=True)
class ProblemLine:
    """A problem, its fields as ``check --json`` names them."""

    layer: str
    kind: str
    severity: Severity
    message: str
    fixes: tuple[str, ...]
    field: str


@dataclass(frozen=True)
class RepairLine:
    """A repair: the values it changes and its sentence."""

    changes: Mapping[str, int]
    message: str


@dataclass(frozen=True)
class Verdict:
    """The last line: ``head`` is ``OK`` or ``INVALID``, ``counts`` what follows it."""

    ok: bool
    head: str
    counts: str

    @property
    def line(self) -> str:
        return self.head + self.counts


@dataclass(frozen=True)
class CheckView:
    """One ``check`` report, ready to lay out."""

    title: str
    input: tuple[int, ...]
    input_text: str
    notes: tuple[str, ...]
    table: LayerTable
    problems: tuple[ProblemLine, ...]  # in the order found (JSON keeps it)
    listed: tuple[ProblemLine, ...]  # the same, errors first: the order people read them in
    repairs: tuple[RepairLine, ...]
    verdict: Verdict


def check_view(report: CheckReport) -> CheckView:
    """The report model of a check.

    >>> from archsolve.check.api import check_file
    >>> view = check_view(check_file("specs/unet-skip-mismatch.yaml"))
    >>> view.verdict.line, view.listed[0].severity
    ('INVALID: 1 error(s), 0 warning(s)', <Severity.ERROR: 'error'>)
    >>> view.table.rows[1].cells
    ('  enc1/a', 'conv', '[16, 64, 64]', '160', '589,824', '3')
    """
    problems = tuple(ProblemLine(layer=p.layer, kind=p.kind, severity=p.severity, message=p.message,
                                 fixes=tuple(p.fixes), field=p.field) for p in report.problems)
    errors = tuple(p for p in problems if p.severity is Severity.ERROR)
    warnings = tuple(p for p in problems if p.severity is not Severity.ERROR)
    if errors:
        verdict = Verdict(ok=False, head="INVALID", counts=f": {len(errors)} error(s), {len(warnings)} warning(s)")
    else:
        verdict = Verdict(ok=True, head="OK", counts=f" ({len(warnings)} warning(s))" if warnings else "")
    return CheckView(
        title=report.spec.name or report.spec.file, input=report.input, input_text=shape_text(report.input),
        notes=tuple(report.notes), table=layer_table(report), problems=problems, listed=errors + warnings,
        repairs=tuple(RepairLine(changes=r["changes"], message=r["message"]) for r in report.repairs),
        verdict=verdict)


def layer_table(report: CheckReport) -> LayerTable:
    """The layer rows of a report and its totals.

    >>> from archsolve.check.api import check_file
    >>> table = layer_table(check_file("specs/unet-original.yaml"))
    >>> table.output_text, table.params_text, table.rows[0].mark
    ('[2, 388, 388]', '31,030,658', <RowMark.GROUP: 'group'>)
    """
    output = report.output
    broken = {p.layer for p in report.problems if p.severity is Severity.ERROR}
    return LayerTable(
        rows=tuple(_layer_row(r, broken) for r in report.rows), output=output, params=report.totals["params"],
        macs=report.totals["macs"], output_text=shape_text(output or None),
        params_text=number_text(report.totals["params"]), macs_text=number_text(report.totals["macs"]))


def _layer_row(r: Row, broken: set[str]) -> LayerRow:
    if r.name in broken:
        mark = RowMark.BROKEN
    elif r.op.startswith(("block:", "repeat:")):
        mark = RowMark.GROUP
    else:
        mark = RowMark.PLAIN
    return LayerRow(
        name=r.name, op=r.op, depth=r.depth, sources=tuple(r.sources),
        shape=None if r.shape is None else tuple(r.shape), params=r.params, macs=r.macs,
        rf=None if r.rf is None else tuple(r.rf),
        cells=("  " * r.depth + r.name, r.op, shape_text(r.shape), number_text(r.params), number_text(r.macs),
               rf_text(r.rf)),
        mark=mark)


def number_text(v: int | None) -> str:
    """An integer with thousands separators; ``-`` where it is not known.

    >>> number_text(31030658), number_text(None)
    ('31,030,658', '-')
    """
    return "-" if v is None else f"{v:,}"


def shape_text(v: tuple[int, ...] | list[int] | None) -> str:
    """A shape as a list; ``?`` where it is not known.

    >>> shape_text((2, 388, 388)), shape_text(None)
    ('[2, 388, 388]', '?')
    """
    return "?" if v is None else "[" + ", ".join(map(str, v)) + "]"


def rf_text(v: tuple[int, ...] | list[int] | None) -> str:
    """A receptive field: one number where every axis has it, else one per axis.

    >>> rf_text([5, 5]), rf_text([3, 7]), rf_text([9]), rf_text(None)
    ('5', '3x7', '9', '-')
    """
    if v is None:
        return "-"
    return str(v[0]) if len(set(v)) == 1 and len(v) > 1 else "x".join(map(str, v))


# -- solve -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SolutionList:
    """Several solutions, one row each: its number, each unknown's value, the output shape."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class SolveView:
    """One ``solve`` answer, ready to lay out: a headline, then what it has of the rest."""

    title: str
    headline: str
    conflict: tuple[str, ...]  # unsatisfiable: what conflicts, and relaxations that would help
    values: tuple[tuple[str, str], ...]  # one solution: each unknown and its value
    layers: LayerTable | None  # ... and the network it makes
    listing: SolutionList | None  # several solutions
    note: str


def shown_solution(result: SolveResult) -> Solution | None:
    """The one solution ``solve`` shows with its network's layer table, if it shows one: the
    caller checks the spec with its values and hands the report to :func:`solve_view`.

    >>> from archsolve.solve.api import solve_spec
    >>> from archsolve.spec.load import load_spec
    >>> shown_solution(solve_spec(load_spec("specs/dcgan-solve.yaml"))) is not None
    True
    """
    from archsolve.solve.outcome import SolveStatus  # here: the renderers import no solver module

    if result.status is SolveStatus.UNSAT or len(result.solutions) != 1 or result.complete:
        return None
    return result.solutions[0]


def solve_view(result: SolveResult, checked: CheckReport | None = None) -> SolveView:
    """The report model of a solve; ``checked`` is the check of :func:`shown_solution`'s values.

    >>> from archsolve.check.api import check_spec
    >>> from archsolve.solve.api import solve_spec
    >>> from archsolve.spec.load import load_spec
    >>> result = solve_spec(load_spec("specs/dcgan-solve.yaml"))
    >>> view = solve_view(result, check_spec(result.spec, shown_solution(result).values))
    >>> view.headline
    'solved: the best, proven optimal by sum of all unknowns = 13'
    """
    from archsolve.solve.outcome import SolveStatus  # here: the renderers import no solver module

    title = result.spec.name or result.spec.file
    sols = result.solutions
    if result.status is SolveStatus.UNSAT:
        conflict = []
        c = result.conflict
        if c is not None:
            if c.layers:
                conflict.append("layers in conflict: " + ", ".join(c.layers))
            if c.constraints:
                conflict.append("constraints in conflict: " + "; ".join(c.constraints))
            if c.message:
                conflict.append(c.message)
            conflict.extend(r.message for r in c.relaxations)
        return SolveView(title=title, headline="UNSATISFIABLE", conflict=tuple(conflict), values=(), layers=None,
                         listing=None, note="")
    if not sols:
        return SolveView(title=title, headline=f"UNKNOWN: {result.message}", conflict=(), values=(), layers=None,
                         listing=None, note="")
    shown = shown_solution(result)
    if shown is not None:
        if checked is None:
            raise ValueError("solve_view shows one solution with its layers: pass the check of its values")
        value = f" = {shown.objective}" if shown.objective is not None else ""
        if result.first:
            headline = f"solved: the first solution found (--first: not optimized; {result.objective}{value})"
        else:
            best = "the best, proven optimal" if result.optimal else "the best found (not proven optimal)"
            headline = f"solved: {best} by {result.objective}{value}"
        return SolveView(title=title, headline=headline, conflict=(),
                         values=tuple((n, str(v)) for n, v in shown.values.items()), layers=layer_table(checked),
                         listing=None, note=result.message)
    if result.complete:
        state = "all"
    elif result.count is not None:
        state = f"the first {len(sols)} of {result.count:,}; raise --limit for more"
    else:
        state = f"the first {len(sols)} (more exist); raise --limit for more"
    names = list(sols[0].values)
    listing = SolutionList(
        header=("#", *names, "output"),
        rows=tuple((str(i + 1), *(str(s.values[n]) for n in names), shape_text(s.output)) for i, s in enumerate(sols)))
    return SolveView(title=title, headline=f"{len(sols)} solution(s), {state}", conflict=(), values=(), layers=None,
                     listing=listing, note=result.message)
