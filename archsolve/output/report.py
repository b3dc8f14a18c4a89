"""Lay out the report models of :mod:`archsolve.output.view`: plain text, rich, and the ``--json`` document (docs/json.md).

Nothing here counts or formats a number: the model has done it.  The people's renderings print
user strings (a spec's name, its file's path) literally: control characters show as ``\\xNN``
escapes and rich reads no markup in them.

The text table is formatted by hand on purpose: ``check`` runs in well under 0.1 s and a
table library's import would cost more than the whole propagation.

Example::

    >>> from archsolve.check.api import check_file
    >>> from archsolve.output.view import check_view
    >>> print(check_text(check_view(check_file("specs/unet-original.yaml"))).splitlines()[0])
    unet-original: input [1, 572, 572]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archsolve.errors import printable
from archsolve.ops.base import Severity
from archsolve.output.view import CheckView, LayerTable, RowMark, SolveView

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from archsolve.solve.inputs import AxisReport

def check_json(view: CheckView) -> dict[str, Any]:
    """The ``check --json`` document (docs/json.md).

    >>> from archsolve.check.api import check_file
    >>> from archsolve.output.view import check_view
    >>> doc = check_json(check_view(check_file("specs/unet-original.yaml")))
    >>> doc["ok"], doc["output"], doc["totals"]["params"], doc["totals"]["memory"]["saved"]
    (True, [2, 388, 388], 31030658, 727380032)
    """
    table = view.table
    doc: dict[str, Any] = {
        "ok": view.verdict.ok,
        "input": list(view.input),
        "layers": [
            {"name": r.name, "op": r.op, "depth": r.depth, "from": list(r.sources),
             "shape": None if r.shape is None else list(r.shape), "params": r.params, "macs": r.macs,
             "rf": None if r.rf is None else list(r.rf),
             # asked for: the bias adds (--count-bias) and FLOPs (--flops) too
             **({"bias_adds": r.bias_adds} if table.bias_adds is not None else {}),
             **({"flops": r.flops} if table.flops is not None else {}),
             **({"memory": r.memory} if view.memory is not None else {})}
            for r in table.rows
        ],
        "output": None if table.output is None else list(table.output),
        "totals": {"params": table.params, "macs": table.macs,
                   **({"bias_adds": table.bias_adds} if table.bias_adds is not None else {}),
                   **({"flops": table.flops} if table.flops is not None else {}),
                   **({"memory": dict(view.memory)} if view.memory is not None else {})},
        **({"memory_at": dict(view.memory_at)} if view.memory_at is not None else {}),
        "problems": [
            {"layer": p.layer, "kind": p.kind, "severity": p.severity.value, "message": p.message,
             "fixes": list(p.fixes), "field": p.field}
            for p in view.problems
        ],
    }
    if view.notes:
        doc["notes"] = list(view.notes)
    if not view.verdict.ok:
        doc["repairs"] = [{"changes": dict(r.changes), "message": r.message} for r in view.repairs]
    return doc


def check_text(view: CheckView) -> str:
    """The check report as plain text: the table, totals, problems, repairs, the verdict.

    >>> from archsolve.check.api import check_file
    >>> from archsolve.output.view import check_view
    >>> print(check_text(check_view(check_file("specs/unet-original.yaml"))).splitlines()[-1])
    OK
    """
    lines = [printable(f"{view.title}: input {view.input_text}")]
    lines.extend(printable(f"note: {note}") for note in view.notes)
    lines.append("")
    lines.extend(_layer_lines(view.table))
    if view.memory_line:
        lines.append(view.memory_line)
    if view.listed:
        lines.append("")
        lines.append("problems:")
        for p in view.listed:
            lines.append(printable(f"  {p.severity.value}: {p.layer}: {p.message}"))
            lines.extend(printable(f"    fix: {f}") for f in p.fixes)
    if view.repairs:
        lines.append("")
        lines.append("repairs (fewest changes first):")
        lines.extend(printable(f"  {r.message}") for r in view.repairs)
    lines.append("")
    lines.append(view.verdict.line)
    return "\n".join(lines)


def solve_text(view: SolveView) -> str:
    """The answer of ``solve`` as plain text.

    >>> from archsolve.solve.api import solve_spec
    >>> from archsolve.spec.load import load_spec
    >>> from archsolve.output.view import solve_view
    >>> print(solve_text(solve_view(solve_spec(load_spec("specs/decoder-unsat.yaml")))).splitlines()[0])
    decoder-unsat: UNSATISFIABLE
    """
    lines = [printable(f"{view.title}: {view.headline}")]
    lines.extend(printable(f"  {line}") for line in view.conflict)
    if view.values:
        lines.append("")
        lines.extend(_table(("unknown", "value"), view.values, (False, True)))
    if view.layers is not None:
        lines.append("")
        lines.extend(_layer_lines(view.layers))
    if view.listing is not None:
        lines.append("")
        header = view.listing.header
        lines.extend(_table(header, view.listing.rows, (*([True] * (len(header) - 1)), False)))
    if view.note:
        lines.append(printable(f"note: {view.note}"))
    return "\n".join(lines)


def _layer_lines(table: LayerTable) -> list[str]:
    """One row a layer (block calls and repeats included), then the totals and what a MAC is."""
    lines = _table(table.header, [r.cells for r in table.rows], table.right)
    lines.append(lines[1])
    lines.append(f"output {table.output_text}   params {table.params_text}   {table.compute_title} {table.macs_text}")
    lines.append(table.note)
    return lines


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], right: tuple[bool, ...]) -> list[str]:
    shown = [tuple(map(printable, row)) for row in [header, *rows]]
    widths = [max(len(r[i]) for r in shown) for i in range(len(header))]
    out = []
    for k, row in enumerate(shown):
        cells = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def check_rich(view: CheckView, console: Console) -> None:
    """The check report on a terminal: a table that fits its width, colour for problems.

    >>> import io
    >>> from rich.console import Console
    >>> from archsolve.check.api import check_file
    >>> from archsolve.output.view import check_view
    >>> console = Console(file=io.StringIO(), width=80)
    >>> check_rich(check_view(check_file("specs/unet-original.yaml")), console)
    >>> console.file.getvalue().splitlines()[-1]
    'OK'
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console.print(_highlighted(console, Text.assemble(_text(view.title, "bold"), f": input {view.input_text}")))
    for note in view.notes:
        console.print(_highlighted(console, Text.assemble(_text(f"note: {note}", "dim"))))
    t = view.table
    # lines only under the header and over the totals, no edges: the default columns fit 80
    # characters, and a shape or a count is never split over two lines (a long name folds)
    table = Table(show_footer=True, header_style="bold", footer_style="bold", box=box.SIMPLE, show_edge=False,
                  pad_edge=False, padding=(0, 0))
    footers = {"layer": "total", "output": t.output_text, "params": t.params_text, t.compute_title: t.macs_text}
    for title, right in zip(t.header, t.right, strict=True):
        table.add_column(title, footer=_text(footers.get(title, "")), justify="right" if right else "left",
                         overflow="fold", no_wrap=title != "layer")
    for r in t.rows:
        table.add_row(*map(_text, r.cells), style=_ROW_STYLES[r.mark])
    console.print(table)
    console.print(_text(t.note, "dim"))
    if view.memory_line:
        console.print(_highlighted(console, Text.assemble(_text(view.memory_line))))
    for p in view.listed:
        colour = "red" if p.severity is Severity.ERROR else "yellow"
        console.print(Text.assemble(_text(p.severity.value, colour), ": ", _text(p.layer, "bold"), ": ",
                                    _text(p.message)))
        for f in p.fixes:
            console.print(Text.assemble("    ", ("fix:", "green"), " ", _text(f)))
    if view.repairs:
        console.print(_highlighted(console, Text.assemble(("repairs", "bold"), " (fewest changes first):")))
        for r in view.repairs:
            console.print(Text.assemble("  ", _text(r.message)))
    verdict = view.verdict
    if verdict.ok:
        console.print(_highlighted(console, Text.assemble((verdict.head, "green"), verdict.counts)))
    else:
        console.print(_highlighted(console, Text.assemble((verdict.line, "red"))))


_ROW_STYLES = {RowMark.PLAIN: None, RowMark.GROUP: "dim", RowMark.BROKEN: "red"}


def _highlighted(console: Console, text: Text) -> Text:
    """``text`` with the console's highlighting (numbers, brackets) under its own styles, as rich
    lays out a string of markup."""
    out = console.highlighter(text.plain)
    out.copy_styles(text)
    return out


def _text(text: str, style: str = "") -> Text:
    """A user string for rich: its characters as they are, no markup or emoji codes read in them."""
    from rich.text import Text

    return Text(printable(text), style)


def inputs_json(reports: dict[str, AxisReport]) -> dict[str, Any]:
    """The ``inputs --json`` document (docs/json.md)."""
    return {"axes": {name: {"values": r.values, "pattern": r.pattern if r.complete else None, "nearest": r.nearest,
                            "range": [r.low, r.high], "progressions": r.progressions if r.complete else [],
                            "count": len(r.values), "complete": r.complete,
                            **({"fixed": r.fixed} if r.fixed else {})}
                     for name, r in reports.items()}}


def inputs_text(reports: dict[str, AxisReport], near: int | None) -> str:
    """``inputs``' answer for people: per axis, the count, the pattern, the values, the nearest."""
    lines = []
    for name, r in reports.items():
        if not r.complete:
            lines.append(f"{name}: the time ran out; {len(r.values)} valid value(s) in {r.low}..{r.high} found by then")
        else:
            lines.append(f"{name}: {len(r.values)} valid value(s) in {r.low}..{r.high}: {r.describe()}")
        if r.fixed:
            held = ", ".join(f"{n} = {v}" for n, v in r.fixed.items())
            lines.append(f"  with {held} (" + ("their defaults: with them" if len(r.fixed) > 1 else
                                                "its default: with it") + " open too the question is past the solver)")
        if r.values:
            shown = r.values if len(r.values) <= 40 else r.values[:20] + ["..."] + r.values[-5:]  # type: ignore[operator]
            lines.append("  " + ", ".join(map(str, shown)))
        if near is not None:
            lines.append(f"  nearest to {near}: " + (" and ".join(map(str, r.nearest)) if r.nearest else
                                                     "none" if r.complete else "not known (the time ran out)"))
    return "\n".join(lines)
