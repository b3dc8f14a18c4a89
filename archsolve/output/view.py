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

from archsolve.lang.expr import bytes_text
from archsolve.ops.base import Severity

if TYPE_CHECKING:  # importing the solver's API would cost check its time
    from archsolve.check.api import CheckReport, Row
    from archsolve.solve.api import SolveResult
    from archsolve.solve.solution import Solution

class Column(enum.Enum):
    """A column of the layer table besides the layer's name and op (``check --columns``)."""

    INPUT = "input"  # the shapes the layer reads
    OUTPUT = "output"
    KERNEL = "kernel"
    STRIDE = "stride"
    PADDING = "padding"
    PARAMS = "params"
    MACS = "macs"
    RF = "rf"  # the receptive field
    MEMORY = "memory"  # the bytes of its output at the check's batch and type


DEFAULT_COLUMNS = (Column.OUTPUT, Column.PARAMS, Column.MACS, Column.RF)
_TITLES = {Column.MACS: "MACs", Column.RF: "RF"}
_SHAPES = frozenset({Column.INPUT, Column.OUTPUT})  # the columns read left to right, aligned left


@dataclass(frozen=True)
class TableMode:
    """How the layer table is shown, passed down to every stage that lays it out.

    ``depth``: rows nested deeper than this are folded into their block's row (None: all
    rows; 0: the network's own layers and block calls); ``columns``: which columns follow the
    name and op; ``exact``: counts with every digit (``12,080,353,536``) instead of in
    units (``12.1 G``); ``count_bias``: a layer's bias adds counted in its MACs (as torchinfo
    and fvcore count them); ``flops``: FLOPs, two per multiply-add, instead of MACs.

        >>> TableMode(depth=0).shows(1), TableMode().shows(5), TableMode(flops=True).compute(10, 4)
        (False, True, 20)
    """

    depth: int | None = None
    columns: tuple[Column, ...] = DEFAULT_COLUMNS
    exact: bool = False
    count_bias: bool = False
    flops: bool = False

    def shows(self, depth: int) -> bool:
        """Whether a row nested ``depth`` deep is shown."""
        return self.depth is None or depth <= self.depth

    def count(self, v: int | None) -> str:
        """A count (params, MACs) as this mode writes it."""
        return number_text(v) if self.exact else unit_text(v)

    def compute(self, macs: int | None, bias_adds: int | None) -> int | None:
        """The compute figure shown for ``macs`` multiply-adds and ``bias_adds`` bias adds."""
        if macs is None or (self.count_bias and bias_adds is None):
            return None
        total = macs + (bias_adds or 0 if self.count_bias else 0)
        return 2 * total if self.flops else total

    @property
    def compute_title(self) -> str:
        return "FLOPs" if self.flops else "MACs"

    @property
    def compute_note(self) -> str:
        """What the compute figure counts, said under the totals."""
        unit = "FLOPs: 2 per multiply-add" if self.flops else "MACs: multiply-adds"
        bias = "bias adds counted" if self.count_bias else "bias adds not counted (--count-bias)"
        return f"{unit}, {bias}, deconvs per input pixel"


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
    bias_adds: int | None
    flops: int | None  # where the mode shows FLOPs
    memory: int | None  # the bytes of its output
    cells: tuple[str, ...]  # as the table's header: the name indented by depth, the op, each column's text
    mark: RowMark


@dataclass(frozen=True)
class LayerTable:
    """The layer rows and the totals under them; ``header`` and ``right`` (whether a column is
    aligned right) as the rows' cells."""

    header: tuple[str, ...]
    right: tuple[bool, ...]
    rows: tuple[LayerRow, ...]
    output: tuple[int, ...] | None
    params: int
    macs: int
    output_text: str
    params_text: str
    macs_text: str  # the compute figure the mode shows (MACs or FLOPs, with bias adds or not)
    compute_title: str  # MACs or FLOPs
    note: str  # what the compute figure counts
    bias_adds: int | None  # the total bias adds, where the mode counts them (JSON says them then)
    flops: int | None  # the total FLOPs, where the mode shows them


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
    memory: Mapping[str, int] | None  # activations, params, saved, training: bytes
    memory_at: Mapping[str, int | str] | None  # the batch and dtype they are counted at
    memory_line: str  # the same for people, with the batch and type they are at


def check_view(report: CheckReport, mode: TableMode = TableMode()) -> CheckView:  # noqa: B008 (frozen)
    """The report model of a check, its table as ``mode`` shows it.

    >>> from archsolve.check.api import check_file
    >>> view = check_view(check_file("specs/unet-skip-mismatch.yaml"))
    >>> view.verdict.line, view.listed[0].severity
    ('INVALID: 1 error(s), 0 warning(s)', <Severity.ERROR: 'error'>)
    >>> view.table.rows[1].cells
    ('  enc1/a', 'conv', '[16, 64, 64]', '160', '590 k', '3')
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
        notes=tuple(report.notes), table=layer_table(report, mode), problems=problems, listed=errors + warnings,
        repairs=tuple(RepairLine(changes=r["changes"], message=r["message"]) for r in report.repairs),
        verdict=verdict, memory=_memory_totals(report),
        memory_at=None if report.memory is None else {"batch": report.memory_mode.batch,
                                                      "dtype": report.memory_mode.dtype.value},
        memory_line=_memory_line(report, mode))


def _memory_totals(report: CheckReport) -> dict[str, int] | None:
    mem = report.memory
    if mem is None:
        return None
    return {"activations": mem.activations, "params": mem.params, "saved": mem.saved, "training": mem.training}


def _memory_line(report: CheckReport, mode: TableMode) -> str:
    """``memory at batch 1, float32: ...``: the totals, in binary units (every digit with --exact)."""
    totals = _memory_totals(report)
    if totals is None or report.memory is None:
        return ""
    shown = (lambda n: f"{n:,} B") if mode.exact else bytes_text
    at = f"batch {report.memory_mode.batch}, {report.memory_mode.dtype.value}"
    low = "" if report.memory.complete else " (at least: some shapes are not known)"
    return (f"memory at {at}: activations {shown(totals['activations'])}, saved for backward "
            f"{shown(totals['saved'])}, training {shown(totals['training'])} (weights {shown(totals['params'])} "
            f"x 4 with gradients and Adam){low}")


def layer_table(report: CheckReport, mode: TableMode = TableMode()) -> LayerTable:  # noqa: B008 (frozen)
    """The layer rows of a report and its totals, as ``mode`` shows them.

    >>> from archsolve.check.api import check_file
    >>> table = layer_table(check_file("specs/unet-original.yaml"))
    >>> table.output_text, table.params_text, table.macs_text, table.rows[0].mark
    ('[2, 388, 388]', '31.0 M', '150 G', <RowMark.GROUP: 'group'>)
    >>> [r.cells for r in layer_table(check_file("specs/unet-original.yaml"), TableMode(depth=0, exact=True)).rows[:2]]
    [('enc1', 'block:double_conv', '[64, 568, 568]', '37,568', '12,080,353,536', '5'), ('pool1', 'maxpool', '[64, 284, 284]', '0', '0', '6')]
    """
    output = report.output
    broken = {p.layer for p in report.problems if p.severity is Severity.ERROR}
    totals = report.totals
    shown = mode.compute(totals["macs"], totals["bias_adds"])
    return LayerTable(
        header=("layer", "op", *(mode.compute_title if c is Column.MACS else _TITLES.get(c, c.value)
                                 for c in mode.columns)),
        right=(False, False, *(c not in _SHAPES for c in mode.columns)),
        rows=tuple(_layer_row(r, broken, mode) for r in report.rows if mode.shows(r.depth)), output=output,
        params=totals["params"], macs=totals["macs"], output_text=shape_text(output or None),
        params_text=mode.count(totals["params"]), macs_text=mode.count(shown), compute_title=mode.compute_title,
        note=mode.compute_note, bias_adds=totals["bias_adds"] if mode.count_bias else None,
        flops=shown if mode.flops else None)


def _layer_row(r: Row, broken: set[str], mode: TableMode) -> LayerRow:
    if r.name in broken:
        mark = RowMark.BROKEN
    elif r.op.startswith(("block:", "repeat:")):
        mark = RowMark.GROUP
    else:
        mark = RowMark.PLAIN
    cell = {
        Column.INPUT: lambda: " + ".join(shape_text(x) for x in r.inputs) or "-",
        Column.OUTPUT: lambda: shape_text(r.shape),
        Column.KERNEL: lambda: field_text(r.fields.get("kernel")),
        Column.STRIDE: lambda: field_text(r.fields.get("stride")),
        Column.PADDING: lambda: field_text(r.fields.get("padding")),
        Column.PARAMS: lambda: mode.count(r.params),
        Column.MACS: lambda: mode.count(mode.compute(r.macs, r.bias_adds)),
        Column.RF: lambda: rf_text(r.rf),
        Column.MEMORY: lambda: (number_text(r.memory) + " B" if r.memory is not None else "-") if mode.exact
        else bytes_text(r.memory),
    }
    return LayerRow(
        name=r.name, op=r.op, depth=r.depth, sources=tuple(r.sources),
        shape=None if r.shape is None else tuple(r.shape), params=r.params, macs=r.macs,
        rf=None if r.rf is None else tuple(r.rf), bias_adds=r.bias_adds, memory=r.memory,
        flops=mode.compute(r.macs, r.bias_adds) if mode.flops else None,
        cells=("  " * r.depth + r.name, r.op, *(cell[c]() for c in mode.columns)),
        mark=mark)


_UNITS = ("", " k", " M", " G", " T", " P", " E")


def unit_text(v: int | None) -> str:
    """A count in units of a thousand, three digits at most before the unit (as a person reads
    a model's size); ``-`` where it is not known.

    >>> [unit_text(v) for v in (0, 640, 37_568, 99_960, 999_500, 12_080_353_536, None)]
    ['0', '640', '37.6 k', '100 k', '1.0 M', '12.1 G', '-']
    """
    if v is None:
        return "-"
    if abs(v) < 1000:
        return str(v)
    x, unit = float(abs(v)), 0
    while x >= 999.5 and unit < len(_UNITS) - 1:  # 999,500 would round to 1000 k: that is 1.0 M
        x /= 1000
        unit += 1
    return ("-" if v < 0 else "") + (f"{x:.1f}" if x < 99.95 else f"{x:.0f}") + _UNITS[unit]


def field_text(v: object) -> str:
    """A layer field's value in a table cell: one number where every axis has it, else one per
    axis (``3x1``); a word as it is; ``-`` where the layer has no such field.

    >>> field_text((3, 3)), field_text((3, 1)), field_text("same"), field_text(((1, 2), (1, 2))), field_text(None)
    ('3', '3x1', 'same', '1,2', '-')
    """
    if v is None:
        return "-"
    if isinstance(v, tuple):
        parts = [field_text(x) if not isinstance(x, tuple) else ",".join(map(str, x)) for x in v]
        return parts[0] if len(set(parts)) == 1 else "x".join(parts)
    return str(v)


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


def solve_view(result: SolveResult, checked: CheckReport | None = None,
               mode: TableMode = TableMode()) -> SolveView:  # noqa: B008 (frozen)
    """The report model of a solve; ``checked`` is the check of :func:`shown_solution`'s values,
    its table shown as ``mode`` shows it.

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
                         values=tuple((n, str(v)) for n, v in shown.values.items()), layers=layer_table(checked, mode),
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
