"""Turn a :class:`~archsolve.check.CheckReport` into text or CONTRACT §3's JSON.

The text table is formatted by hand on purpose: ``check`` runs in well under 0.1 s and a
table library's import would cost more than the whole propagation.
"""

from __future__ import annotations

from typing import Any

from archsolve.check.api import CheckReport


def check_json(report: CheckReport) -> dict[str, Any]:
    """CONTRACT §3's ``check --json`` document."""
    doc: dict[str, Any] = {
        "ok": report.ok,
        "input": list(report.input),
        "layers": [
            {"name": r.name, "op": r.op, "depth": r.depth, "from": r.sources, "shape": r.shape,
             "params": r.params, "macs": r.macs, "rf": r.rf}
            for r in report.rows
        ],
        "output": list(report.output) if report.output is not None else None,
        "totals": dict(report.totals),
        "problems": [
            {"layer": p.layer, "kind": p.kind, "severity": p.severity, "message": p.message, "fixes": p.fixes,
             "field": p.field}
            for p in report.problems
        ],
    }
    if report.notes:
        doc["notes"] = report.notes
    if not report.ok:
        doc["repairs"] = report.repairs
    return doc


def _num(v: int | None) -> str:
    return "-" if v is None else f"{v:,}"


def _shape(v: list[int] | None) -> str:
    return "?" if v is None else "[" + ", ".join(map(str, v)) + "]"


def _rf(v: list[int] | None) -> str:
    if v is None:
        return "-"
    return str(v[0]) if len(set(v)) == 1 and len(v) > 1 else "x".join(map(str, v))


def layer_table(report: CheckReport) -> list[str]:
    """One row a layer (block calls and repeats included), then the totals."""
    header = ("layer", "op", "output", "params", "MACs", "RF")
    rows = [("  " * r.depth + r.name, r.op, _shape(r.shape), _num(r.params), _num(r.macs), _rf(r.rf))
            for r in report.rows]
    lines = _table(header, rows, (False, False, False, True, True, True))
    lines.append(lines[1])
    lines.append(f"output {_shape(list(report.output) if report.output else None)}   "
                 f"params {_num(report.totals['params'])}   MACs {_num(report.totals['macs'])}")
    return lines


def check_text(report: CheckReport) -> str:
    """The human-readable table, totals and problems."""
    spec = report.spec
    lines: list[str] = []
    title = spec.name or spec.file
    lines.append(f"{title}: input {_shape(list(report.input))}")
    for note in report.notes:
        lines.append(f"note: {note}")
    lines.append("")
    lines.extend(layer_table(report))
    errors = [p for p in report.problems if p.severity == "error"]
    warnings = [p for p in report.problems if p.severity != "error"]
    if report.problems:
        lines.append("")
        lines.append("problems:")
        for p in errors + warnings:
            lines.append(f"  {p.severity}: {p.layer}: {p.message}")
            for f in p.fixes:
                lines.append(f"    fix: {f}")
    if report.repairs:
        lines.append("")
        lines.append("repairs (fewest changes first):")
        for r in report.repairs:
            lines.append(f"  {r['message']}")
    lines.append("")
    if errors:
        lines.append(f"INVALID: {len(errors)} error(s), {len(warnings)} warning(s)")
    else:
        lines.append("OK" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    return "\n".join(lines)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: tuple[bool, ...]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for k, row in enumerate([header, *rows]):
        cells = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def solve_text(result: Any) -> str:
    """The human-readable answer of ``solve``."""
    spec = result.spec
    title = spec.name or spec.file
    lines: list[str] = []
    if result.status == "unsat":
        lines.append(f"{title}: UNSATISFIABLE")
        c = result.conflict or {}
        if c.get("layers"):
            lines.append("  layers in conflict: " + ", ".join(c["layers"]))
        if c.get("constraints"):
            lines.append("  constraints in conflict: " + "; ".join(c["constraints"]))
        if c.get("message"):
            lines.append("  " + c["message"])
        lines.extend("  " + r["message"] for r in c.get("relaxations") or [])
        return "\n".join(lines)
    sols = result.solutions
    if not sols:
        lines.append(f"{title}: UNKNOWN: {result.message}")
        return "\n".join(lines)
    names = list(sols[0].values)
    if len(sols) == 1 and not result.complete:
        value = f" = {sols[0].objective}" if sols[0].objective is not None else ""
        if result.first:
            lines.append(f"{title}: solved: the first solution found (--first: not optimized; "
                         f"{result.objective}{value})")
        else:
            best = "the best, proven optimal" if result.optimal else "the best found (not proven optimal)"
            lines.append(f"{title}: solved: {best} by {result.objective}{value}")
        if names:
            lines.append("")
            lines.extend(_table(("unknown", "value"), [(n, str(v)) for n, v in sols[0].values.items()],
                                (False, True)))
        from archsolve.check.api import check_spec

        lines.append("")
        lines.extend(layer_table(check_spec(spec, sols[0].values)))
    else:
        more = f"of {result.count:,}" if result.count is not None else "(more exist"
        state = "all" if result.complete else f"the first {len(sols)} {more}{')' if result.count is None else ''}; " \
            "raise --limit for more"
        lines.append(f"{title}: {len(sols)} solution(s), {state}")
        lines.append("")
        header = ("#", *names, "output")
        rows = [(str(i + 1), *(str(s.values[n]) for n in names), _shape(s.output)) for i, s in enumerate(sols)]
        lines.extend(_table(header, rows, (True, *([True] * len(names)), False)))
    if result.message:
        lines.append(f"note: {result.message}")
    return "\n".join(lines)



def check_rich(report: CheckReport) -> None:
    """The check report on a terminal: a table that fits its width, colour for problems."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    spec = report.spec
    console.print(f"[bold]{spec.name or spec.file}[/bold]: input {_shape(list(report.input))}")
    for note in report.notes:
        console.print(f"[dim]note: {note}[/dim]")
    table = Table(show_footer=True, header_style="bold", footer_style="bold")
    table.add_column("layer", footer="total", overflow="fold")
    table.add_column("op", overflow="fold")
    table.add_column("output", footer=_shape(list(report.output) if report.output else None))
    table.add_column("params", justify="right", footer=_num(report.totals["params"]))
    table.add_column("MACs", justify="right", footer=_num(report.totals["macs"]))
    table.add_column("RF", justify="right")
    bad = {p.layer for p in report.problems if p.severity == "error"}
    for r in report.rows:
        style = "red" if r.name in bad else ("dim" if r.op.startswith(("block:", "repeat:")) else None)
        table.add_row("  " * r.depth + r.name, r.op, _shape(r.shape), _num(r.params), _num(r.macs), _rf(r.rf),
                      style=style)
    console.print(table)
    for p in report.problems:
        colour = "red" if p.severity == "error" else "yellow"
        console.print(f"[{colour}]{p.severity}[/{colour}]: [bold]{p.layer}[/bold]: {p.message}", highlight=False)
        for f in p.fixes:
            console.print(f"    [green]fix:[/green] {f}", highlight=False)
    if report.repairs:
        console.print("[bold]repairs[/bold] (fewest changes first):")
        for r in report.repairs:
            console.print(f"  {r['message']}", highlight=False)
    errors = sum(p.severity == "error" for p in report.problems)
    warnings = len(report.problems) - errors
    console.print(f"[red]INVALID: {errors} error(s), {warnings} warning(s)[/red]" if errors
                  else "[green]OK[/green]" + (f" ({warnings} warning(s))" if warnings else ""))
