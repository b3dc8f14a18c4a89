"""The ``archsolve`` command line: thin commands; exit codes follow the error classes.

=====  ==========================================================
exit   meaning
=====  ==========================================================
0      ok
1      the network is invalid, or no values satisfy it
2      bad usage or a bad spec file (the message names file, line, field)
3      the solver timed out or answered unknown
4      an internal error (a bug in archsolve: please report it)
=====  ==========================================================
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import click

from archsolve.errors import ArchsolveError, Interrupt, SpecErrors, UsageError, printable
from archsolve.limits import DEFAULT_LIMITS, Limits, over_the_largest
from archsolve.ops.autograd import Dtype, MemoryMode
from archsolve.solve.outcome import Engine, SolveStatus  # a few enums and dataclasses: nothing heavy
from archsolve.spec.model import MAX_VALUE, Spec

EXIT_INTERNAL = 4
EXIT_BROKEN_PIPE = 141  # as a shell reports a process its reader left (128 + SIGPIPE)
MIB = 1024 * 1024


def _fail(message: str, code: int) -> None:
    # a message restates the user's input (file and layer names): written literally, never
    # as a command to the terminal; its own line breaks stay
    with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr closed or full: the code says it
        click.echo("\n".join(printable(line) for line in f"archsolve: {message}".split("\n")), err=True)
    sys.exit(code)


def _fail_json(exc: ArchsolveError) -> None:
    """An error under ``--json``: one JSON document on stdout (docs/json.md), the same exit code."""
    parts = exc.errors if isinstance(exc, SpecErrors) else (exc,)

    def entry(e: ArchsolveError) -> dict[str, Any]:
        where = getattr(e, "where", None)
        return {"message": getattr(e, "bare", str(e)), "field": getattr(e, "field", None),
                "file": where.file if where else None, "line": where.line if where else None,
                "column": where.column if where else None}

    doc = {"ok": False, "exit_code": exc.exit_code, "errors": [entry(e) for e in parts],
           "more": exc.more if isinstance(exc, SpecErrors) else 0}
    with contextlib.suppress(OSError, ValueError):
        click.echo(json.dumps(doc))
    sys.exit(exc.exit_code)


class _Finite(click.FloatRange):
    """A float option that is a number: ``nan`` and ``inf`` are no time-out and no size."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        got = super().convert(value, param, ctx)
        if not math.isfinite(got):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return got


@contextlib.contextmanager
def _remember_ctrl_c() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt as usual and is also remembered (errors.Interrupt)."""
    def on_sigint(signum: int, frame: Any) -> None:
        Interrupt.pending = True
        raise KeyboardInterrupt

    def unraisable(info: Any) -> None:
        # a Ctrl-C inside a finalizer is remembered, and finalizers of objects it cut short
        # (a half-made Z3 context) fail after it: neither is worth a traceback
        if not (Interrupt.pending or isinstance(info.exc_value, KeyboardInterrupt)):
            hook(info)

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if not Interrupt.pending:  # after a Ctrl-C the process ends: finalizers stay quiet till then
            sys.unraisablehook = hook


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map archsolve's exceptions to exit codes; no traceback unless --debug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            with _remember_ctrl_c():
                return fn(*args, **kwargs)
        except ArchsolveError as exc:
            if debug:
                raise
            if click.get_current_context().params.get("as_json"):
                _fail_json(exc)
            label = "error" if exc.exit_code != 3 else "timeout"
            parts = exc.errors if isinstance(exc, SpecErrors) else (exc,)
            more = [f"{label}: ... and {exc.more} more (the first {len(parts)} are shown)"] \
                if isinstance(exc, SpecErrors) and exc.more else []
            _fail("\narchsolve: ".join([*(f"{label}: {e}" for e in parts), *more]), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:  # the reader went away (`| head`): nothing more to say, to anyone
            with contextlib.suppress(OSError, ValueError):  # the exit's flush must not fail too
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
        except OSError as exc:  # the output could not be written (a full disk): the user's to fix
            if debug:
                raise
            with contextlib.suppress(OSError, ValueError):  # nor flushed at the exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            what = exc.filename if exc.filename is not None else "the output"
            _fail(f"error: cannot write {what}: {exc.strerror or exc}", 2)
        except RecursionError:
            if debug:
                raise
            _fail("error: the spec is nested too deep to process", 2)
        except Exception as exc:  # noqa: BLE001 -- the last line of defence against tracebacks
            if debug:
                raise
            if isinstance(exc.__context__, KeyboardInterrupt) or "KeyboardInterrupt" in str(exc):
                _fail("interrupted", 130)  # Ctrl-C inside a ctypes call (Z3) arrives wrapped
            _fail(f"internal error: {type(exc).__name__}: {exc} (this is a bug in archsolve; "
                  "--debug shows the traceback)", EXIT_INTERNAL)

    return wrapper


def parse_sets(items: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"\s*-?[0-9]+\s*", value):  # ASCII digits: int() would take "３"
            raise UsageError(f"--set {item!r}: expected NAME=INTEGER, e.g. --set H=572")
        over = over_the_largest(value)
        if over:
            raise UsageError(f"--set {name.strip()}: {over}, the largest number it takes")
        out[name.strip()] = int(value)
    return out


class _Number(click.ParamType):
    """An integer option in ASCII digits, at most :data:`~archsolve.limits.MAX_NUMBER`."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        if not re.fullmatch(r"\s*-?[0-9]+\s*", str(value)):
            self.fail(f"{value!r} is not an integer.", param, ctx)
        over = over_the_largest(str(value))
        if over:
            self.fail(f"{over}.", param, ctx)
        return int(value)


class _Group(click.Group):
    """Suggests the nearest command for a misspelled one."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            import difflib

            close = difflib.get_close_matches(args[0], list(self.commands), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            ctx.fail(f"No such command {args[0]!r}.{hint}")
        return super().resolve_command(ctx, args)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archsolve")
@click.option("--debug", is_flag=True, help="Show Python tracebacks (for reporting bugs).")
@click.option("--max-file-mb", type=_Finite(min=0.001), default=DEFAULT_LIMITS.file_bytes / MIB,
              show_default=True, help="Refuse spec files larger than this.")
@click.option("--max-values", type=click.IntRange(min=1), default=DEFAULT_LIMITS.yaml_values, show_default=True,
              help="Refuse YAML that expands (through aliases) to more values.")
@click.option("--max-layers", type=click.IntRange(min=1), default=DEFAULT_LIMITS.layers, show_default=True,
              help="Refuse networks with more layers after blocks and repeat.")
@click.option("--max-repeat", type=click.IntRange(min=1), default=DEFAULT_LIMITS.repeat, show_default=True,
              help="The largest repeat: count.")
@click.option("--max-expr", type=click.IntRange(min=1), default=DEFAULT_LIMITS.expr_length, show_default=True,
              help="The longest expression, in characters.")
@click.option("--max-combinations", type=click.IntRange(min=1), default=DEFAULT_LIMITS.combinations,
              show_default=True, help="The most hyperparameter combinations solve enumerates for one layer.")
@click.pass_context
def main(ctx: click.Context, debug: bool, max_file_mb: float, max_values: int, max_layers: int, max_repeat: int,
         max_expr: int, max_combinations: int) -> None:
    """Design convolutional networks by solving for their shapes.

    \b
    Example:
      archsolve check specs/unet-original.yaml
      archsolve --max-layers 1000 check untrusted.yaml
    """
    if sys.stdout is None:  # started with its standard output closed (>&-): nowhere to answer
        _fail("error: cannot write the output: standard output is closed", 2)
    # the commands read this value (ctx.obj); nothing global changes, so nothing outlives the call
    ctx.obj = Limits(file_bytes=int(max_file_mb * MIB), yaml_values=max_values, layers=max_layers,
                     repeat=max_repeat, expr_length=max_expr, combinations=max_combinations)


def _limits() -> Limits:
    """The ``--max-*`` flags of this call."""
    return click.get_current_context().obj


def is_model(target: str) -> bool:
    """Whether a command's SPEC argument names a PyTorch model (``file.py:NAME``,
    ``package.module:NAME``) rather than a spec file; a file of that name is a spec.

        >>> is_model("model.py:UNet"), is_model("mypkg.nets:resnet18"), is_model("specs/unet.yaml")
        (True, True, False)
    """
    import re

    where, sep, name = target.rpartition(":")
    return (bool(sep) and name.isidentifier() and not os.path.isfile(target)
            and (where.endswith(".py") or re.fullmatch(r"[A-Za-z_][\w.]*", where) is not None))


def _model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--input`` and ``--kwargs``: what a command needs to read a model in place of a spec."""
    fn = click.option("--no-cache", is_flag=True,
                      help="With a model: import it afresh rather than reuse the spec of an unchanged one.")(fn)
    fn = click.option("--kwargs", "model_kwargs", metavar="JSON",
                      help="With a model: the keyword arguments its class or function is called with.")(fn)
    return click.option("--input", "model_input", metavar="C,H,W",
                        help="With a model (FILE.py:NAME): its input, channels then spatial sizes; "
                             "a name (1,H,W) is a var.")(fn)


def _load(target: str, model_input: str | None, model_kwargs: str | None, domain: tuple[int, int] | None = None,
          *, no_cache: bool = False) -> Any:
    """The spec a command reads: a spec file, or a model imported on the fly (the spec of an
    unchanged model reused from the import cache unless ``no_cache``)."""
    if not is_model(target):
        if model_input is not None or model_kwargs is not None or no_cache:
            raise UsageError(f"--input, --kwargs and --no-cache are for a model (FILE.py:NAME), and {target} "
                             "is a spec file")
        from archsolve.spec.load import load_spec

        return load_spec(target, _limits())
    from archsolve.bridge import DEFAULT_DOMAIN, load_model

    return load_model(target, _input_entries(target, model_input), kwargs=_kwargs(model_kwargs),
                      domain=domain or DEFAULT_DOMAIN, limits=_limits(), cache=not no_cache)


def _input_entries(target: str, model_input: str | None) -> list[int | str]:
    if not model_input:
        raise UsageError(f"{target} is a model: give its input with --input, channels then spatial sizes "
                         "(--input 3,224,224; a name is a var: --input 3,H,W)")
    return [int(e) if e.strip().isdigit() else e.strip() for e in model_input.split(",")]


def _kwargs(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--kwargs {text!r}: not JSON ({exc.msg}); e.g. --kwargs '{{\"classes\": 10}}'") from None
    if not isinstance(value, dict):
        raise UsageError(f"--kwargs {text!r}: expected a JSON object of keyword arguments")
    return value


def _columns(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[Any, ...] | None:
    """``--columns input,output,kernel``: the table's columns after the name and op, in order."""
    if value is None:
        return None
    from archsolve.output.view import Column

    known = {c.value: c for c in Column}
    names = list(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise click.BadParameter(f"{printable(', '.join(bad) or repr(value))}: choose among {', '.join(known)}, "
                                 "separated by commas")
    return tuple(known[n] for n in names)


def _complete_columns(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of ``--columns``: the names not yet in the list, after what is typed."""
    from archsolve.output.view import Column

    done, _, last = incomplete.rpartition(",")
    taken = set(done.split(",")) if done else set()
    prefix = f"{done}," if done else ""
    return [prefix + c.value for c in Column if c.value.startswith(last) and c.value not in taken]


_TABLE_HELP = {
    "depth": "Fold rows nested deeper than N into their block's row (0: the network's own layers and blocks).",
    "columns": "Columns after layer and op, comma-separated: input, output, kernel, stride, padding, params, macs, rf, "
               "memory [default: output,params,macs,rf].",
    "exact": "Counts with every digit (12,080,353,536) instead of units (12.1 G).",
    "count-bias": "Count each layer's bias adds in its MACs (as torchinfo and fvcore do).",
    "flops": "Show FLOPs, two per multiply-add, instead of MACs.",
}


def _memory_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--batch`` and ``--dtype``: what memory is counted at, in place of the spec's ``batch:`` and ``dtype:``."""
    command = click.option("--dtype", type=click.Choice([d.value for d in Dtype]),
                           help="The type memory is counted in [default: the spec's dtype, or float32].")(command)
    return click.option("--batch", type=click.IntRange(min=1, max=MAX_VALUE),
                        help="The batch size memory is counted at [default: the spec's batch, or 1].")(command)


def _with_memory(spec: Spec, batch: int | None, dtype: str | None) -> Spec:
    """``spec`` with ``--batch`` and ``--dtype`` where given."""
    if batch is None and dtype is None:
        return spec
    return replace(spec, memory=MemoryMode(batch=spec.memory.batch if batch is None else batch,
                                           dtype=spec.memory.dtype if dtype is None else Dtype(dtype)))


def _table_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of the layer table's counts, for every command that shows one."""
    for name in ("flops", "count-bias", "exact"):
        command = click.option(f"--{name}", is_flag=True, help=_TABLE_HELP[name])(command)
    return command


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (docs/json.md).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Give a var or unknown a value (repeatable).")
@click.option("--timeout", type=_Finite(min=0.001), default=60.0, show_default=True,
              help="Seconds the search for advice (nearest sizes, fixes, repairs) may take.")
@click.option("--depth", type=click.IntRange(min=0), metavar="N", help=_TABLE_HELP["depth"])
@click.option("--columns", callback=_columns, metavar="LIST", help=_TABLE_HELP["columns"],
              shell_complete=_complete_columns)
@_table_options
@_memory_options
@_model_options
@handle_errors
def check(spec: str, as_json: bool, sets: tuple[str, ...], timeout: float, depth: int | None,
          columns: tuple[Any, ...] | None, exact: bool, count_bias: bool, flops: bool, batch: int | None,
          dtype: str | None,
          model_input: str | None, model_kwargs: str | None, no_cache: bool) -> None:
    """Propagate shapes through SPEC: shapes, parameters, MACs, receptive fields, problems.
    SPEC may be a PyTorch model, FILE.py:NAME or package.module:NAME, with --input.

    \b
    Example:
      archsolve check specs/unet-original.yaml
      archsolve check specs/unet-padded-sizes.yaml --set H=572 --set W=572 --json
      archsolve check model.py:Net --input 3,224,224
    """
    from archsolve.check.api import check_spec
    from archsolve.output.report import check_json, check_text
    from archsolve.output.view import DEFAULT_COLUMNS, TableMode, check_view

    until = time.monotonic() + timeout  # from the start: reading the spec counts
    mode = TableMode(depth=depth, columns=columns or DEFAULT_COLUMNS, exact=exact, count_bias=count_bias, flops=flops)
    with _activity(f"checking {spec}", shown=_shows_progress(as_json)):
        loaded = _with_memory(_load(spec, model_input, model_kwargs, no_cache=no_cache), batch, dtype)
        report = check_spec(loaded, parse_sets(sets), until=until)
    view = check_view(report, mode)
    if as_json:
        click.echo(json.dumps(check_json(view)))
    elif sys.stdout.isatty():
        from rich.console import Console

        from archsolve.output.report import check_rich

        check_rich(view, Console())
    else:
        click.echo(check_text(view))
    sys.exit(0 if view.verdict.ok else 1)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--all", "all_solutions", is_flag=True, help="List every solution (up to --limit).")
@click.option("--first", is_flag=True,
              help="Any one solution, the first found: the quickest answer; neither the best nor a listing.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True,
              help="The most solutions --all lists.")
@click.option("--minimize", metavar="EXPR", help="Objective: params, macs, or an expression (overrides the spec).")
@click.option("--timeout", type=_Finite(min=0.001), default=60.0, show_default=True,
              help="Seconds the solver may take; then exit 3 with the best found so far.")
@click.option("--write", "write_to", metavar="OUT", type=click.Path(dir_okay=False),
              help="Write the spec with the values filled in to OUT (comments and layout kept).")
@click.option("--in-place", is_flag=True, help="Write the filled-in spec over SPEC.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (docs/json.md).")
@click.option("--engine", type=click.Choice([e.value for e in Engine]), default="auto", show_default=True,
              help="auto: an exact search first, Z3 for what it cannot finish quickly; search or z3: only that one.")
@click.option("--count", "count", is_flag=True,
              help="With --all: count every solution, also past --limit (within --timeout).")
@_table_options
@_memory_options
@_model_options
@handle_errors
def solve(spec: str, all_solutions: bool, first: bool, limit: int, minimize: str | None, timeout: float,
          write_to: str | None, in_place: bool, as_json: bool, engine: str, count: bool, exact: bool,
          count_bias: bool, flops: bool, batch: int | None, dtype: str | None, model_input: str | None,
          model_kwargs: str | None, no_cache: bool) -> None:
    """Fill every unknown ('?' and vars) in SPEC so that every shape rule and constraint holds.

    \b
    Example:
      archsolve solve specs/dcgan-solve.yaml            # the best solution
      archsolve solve specs/dcgan-solve.yaml --all      # every solution
      archsolve solve specs/dcgan-solve.yaml --first    # any one, as fast as possible
    """
    from archsolve.solve.api import solve_spec

    if write_to == "":
        raise UsageError("--write needs a file name")
    if write_to and in_place:
        raise UsageError("give either --write OUT or --in-place, not both")
    if (write_to or in_place) and all_solutions:
        raise UsageError("--write and --in-place write one solution; drop --all")
    if first and all_solutions:
        raise UsageError("--first gives one solution and --all lists them; give one of them")
    if first and minimize is not None:
        raise UsageError("--first takes any solution, with no objective; drop --minimize (or --first, for the best)")
    if first and (count or click.get_current_context().get_parameter_source("limit")
                  is not click.core.ParameterSource.DEFAULT):
        raise UsageError(f"--first gives one solution; {'--count' if count else '--limit'} is for --all's listing")
    if count and not all_solutions:
        raise UsageError("--count counts what --all lists; add --all")
    if (write_to or in_place) and spec == "-":
        raise UsageError("--write and --in-place fill in a spec file, and standard input (-) is none: "
                         "save it to a file first")
    if (write_to or in_place) and is_model(spec):
        raise UsageError(f"--write and --in-place fill in a spec file; write {spec}'s spec first: "
                         f"archsolve import {spec} --input ... -o SPEC.yaml")
    start = time.monotonic()  # --timeout counts from here: reading a large spec takes time too
    loaded = _with_memory(_load(spec, model_input, model_kwargs, no_cache=no_cache), batch, dtype)
    if write_to or in_place:  # a "?" in a block definition gets one value for all its calls
        from archsolve.spec.written import writable

        loaded = writable(loaded)
    what = f"solving {spec}" + (" (the first solution)" if first else " (every solution)" if all_solutions else "")
    with _activity(what, shown=_shows_progress(as_json)) as say:
        result = solve_spec(loaded, all_solutions=all_solutions, limit=limit, minimize=minimize,
                            timeout=max(0.001, timeout - (time.monotonic() - start)),
                            progress=(lambda n: say(f"{what}: {n:,} found so far")) if all_solutions else None,
                            engine=Engine(engine), count=count, first=first)
    written = None
    if result.status is SolveStatus.SAT and result.solutions and (write_to or in_place):
        from archsolve.output.writeback import write_solution

        written = write_solution(loaded, result.solutions[0].values, write_to, in_place)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:  # the table's modules only where a table is shown: --json is what scripts time
        from archsolve.output.report import solve_text
        from archsolve.output.view import TableMode, shown_solution, solve_view

        shown = shown_solution(result)
        checked = None
        if shown is not None:  # its network's layer table comes with it
            from archsolve.check.api import check_spec

            checked = check_spec(result.spec, shown.values)
        click.echo(solve_text(solve_view(result, checked, TableMode(exact=exact, count_bias=count_bias, flops=flops))))
        if written:
            click.echo(f"wrote {written}")
    if result.status is SolveStatus.UNSAT:
        sys.exit(1)
    if result.status is SolveStatus.UNKNOWN:
        sys.exit(3)
    sys.exit(0)


ACTIVITY_AFTER_S = 0.5  # a command quicker than this shows no progress at all


def _shows_progress(as_json: bool) -> bool:
    """Progress goes to stderr when a person watches it: a terminal, and no --json."""
    return not as_json and sys.stderr is not None and sys.stderr.isatty()


@contextlib.contextmanager
def _activity(text: str, *, shown: bool) -> Iterator[Callable[[str], None]]:
    """What a long command is doing, on stderr: a spinner, ``text`` (which the caller may change
    through the function yielded) and the time so far.  It appears once the command has taken
    :data:`ACTIVITY_AFTER_S`, and leaves no trace; rich leaves colour out under NO_COLOR."""
    if not shown:
        yield lambda _text: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task(printable(text), total=None)
    lock, state = threading.Lock(), {"done": False, "started": False}

    def start() -> None:
        with lock:
            if not state["done"]:
                bar.start()
                state["started"] = True

    timer = threading.Timer(ACTIVITY_AFTER_S, start)
    timer.daemon = True
    timer.start()
    try:
        yield lambda now: bar.update(task, description=printable(now))
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if state["started"]:
                bar.stop()


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--axis", metavar="NAME", help="Only this input size variable (e.g. H).")
@click.option("--range", "rng", metavar="LO..HI", help="Values to consider (default: the var's domain).")
@click.option("--near", type=_Number(), metavar="N", help="Also give the valid sizes nearest to N.")
@click.option("--timeout", type=_Finite(min=0.001), default=60.0, show_default=True,
              help="Seconds the solver may take; then exit 3.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (docs/json.md).")
@_memory_options
@_model_options
@handle_errors
def inputs(spec: str, axis: str | None, rng: str | None, near: int | None, timeout: float, as_json: bool,
           batch: int | None, dtype: str | None, model_input: str | None, model_kwargs: str | None,
           no_cache: bool) -> None:
    """Which values of the input's size variables make SPEC valid: a list, a pattern, the nearest.
    SPEC may be a PyTorch model with --input naming its size vars (--input 1,H,W).

    \b
    Example:
      archsolve inputs specs/unet-original-sizes.yaml --range 1..1024 --near 500
      archsolve inputs model.py:UNet --input 1,H,H --range 1..1024
    """
    from archsolve.output.report import inputs_json, inputs_text
    from archsolve.solve.inputs import input_sizes, parse_range

    start = time.monotonic()  # --timeout counts from here: reading a 100,000-layer spec takes seconds
    span = parse_range(rng) if rng else None
    loaded = _with_memory(_load(spec, model_input, model_kwargs, span, no_cache=no_cache), batch, dtype)
    with _activity(f"inputs of {spec}", shown=_shows_progress(as_json)) as say:
        reports = input_sizes(loaded, axis, span, near, max(0.001, timeout - (time.monotonic() - start)),
                              progress=lambda text: say(f"inputs of {spec}: {text}"))
    if as_json:
        click.echo(json.dumps(inputs_json(reports)))
    else:
        click.echo(inputs_text(reports, near))
    if not all(r.complete for r in reports.values()):
        sys.exit(3)  # the time ran out: what was found is shown
    sys.exit(0 if all(r.values for r in reports.values()) else 1)  # no valid size: an invalid network


@main.command("import")
@click.argument("model")
@click.option("--input", "model_input", metavar="C,H,W",
              help="The model's input: channels, then 1, 2 or 3 spatial sizes; a name (1,H,W) is a var.")
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write to FILE (atomically) instead of printing.")
@click.option("--kwargs", "model_kwargs", metavar="JSON",
              help="The keyword arguments MODEL's class or function is called with.")
@click.option("--range", "rng", metavar="LO..HI", help="The domain of a var in --input (default 1..4096).")
@click.option("--no-cache", is_flag=True, help="Import afresh rather than reuse the spec of an unchanged model.")
@handle_errors
def import_(model: str, model_input: str | None, output: str | None, model_kwargs: str | None,
            rng: str | None, no_cache: bool) -> None:
    """Write the spec of a PyTorch model: MODEL is FILE.py:NAME or package.module:NAME, NAME
    an nn.Module class or a function returning one.  This runs MODEL's Python file; the model
    is traced with torch.fx (no forward pass on data).  Needs torch: pip install archsolve[torch].

    \b
    Example:
      archsolve import model.py:UNet --input 1,572,572 -o unet.yaml
      archsolve import mypkg.nets:resnet18 --input 3,H,W --kwargs '{"classes": 10}'
    """
    from archsolve.bridge import DEFAULT_DOMAIN, import_text
    from archsolve.solve.inputs import parse_range

    if ":" not in model:
        raise UsageError(f"{model!r}: expected path/to/file.py:NAME or package.module:NAME")
    text = import_text(model, _input_entries(model, model_input), kwargs=_kwargs(model_kwargs),
                       domain=parse_range(rng) if rng else DEFAULT_DOMAIN, cache=not no_cache)
    _emit(text, output)


def _number_text(v: float) -> str:
    """A float as short as it reads back the same (``0.8``, ``2.5``, ``1``)."""
    return f"{v:g}" if float(f"{v:g}") == v else repr(v)


class _Sizes(click.ParamType):
    """``D,H,W`` or ``H,W``: positive integers (``--shape``)."""

    name = "sizes"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        parts = str(value).split(",")
        if not all(re.fullmatch(r"\s*[0-9]+\s*", p) for p in parts) or any(over_the_largest(p) for p in parts):
            self.fail(f"{value!r} is not sizes like 128,256,256 (whole numbers, comma-separated).", param, ctx)
        sizes = tuple(int(p) for p in parts)
        if any(v < 1 for v in sizes):
            self.fail(f"{value!r}: every size must be at least 1.", param, ctx)
        return sizes


class _Spacings(click.ParamType):
    """``sd,sh,sw``: finite numbers (``--spacing``; zero and negatives are the planner's to refuse)."""

    name = "spacings"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            got = tuple(float(p) for p in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not spacings like 3.0,0.8,0.8 (numbers, comma-separated).", param, ctx)
        if not all(math.isfinite(v) for v in got):
            self.fail(f"{value!r}: every spacing must be a finite number.", param, ctx)
        return got


class _Bytes(click.ParamType):
    """A memory size: bytes, or a number with KiB, MiB, GiB or TiB (``8GiB``, ``1.5 GiB``)."""

    name = "bytes"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from archsolve.errors import ExprError
        from archsolve.lang.expr import parse_bytes

        loose = re.fullmatch(r"([0-9.]+)\s*([KMGT])B?", str(value).strip(), re.IGNORECASE)
        if loose:  # 8G, 8GB: GB is 10^9 to some and 2^30 to others; say which
            self.fail(f"{value!r}: write a binary unit, {loose[1]}{loose[2].upper()}iB (KiB, MiB, GiB, TiB).",
                      param, ctx)
        try:
            return parse_bytes(str(value))
        except ExprError as exc:
            self.fail(f"{exc.bare}.", param, ctx)


# plan's whole-number options: (name, least, default, help), in the order --help lists them
_PLAN_COUNTS = (
    ("channels", 1, 32, "The first stage's channels; each stage below doubles them."),
    ("max-channels", 1, 320, "The most channels a stage has."),
    ("in-channels", 1, 1, "The image's channels (modalities)."),
    ("classes", 1, 2, "The output's channels (classes, background included)."),
    ("batch", 1, 2, "The batch size memory is counted at."),
    ("min-feature", 1, 4, "The smallest size an axis may have at the bottleneck (2 or more)."),
    ("max-pools", 0, 6, "The most times an axis is halved."),
)


def _plan_counts(command: Callable[..., Any]) -> Callable[..., Any]:
    """``plan``'s whole-number options (the planner says why a value no plan comes from fails)."""
    for name, least, default, text in reversed(_PLAN_COUNTS):
        command = click.option(f"--{name}", type=click.IntRange(min=least, max=MAX_VALUE), default=default,
                               show_default=True, help=text)(command)
    return command


@main.command()
@click.option("--shape", required=True, type=_Sizes(), metavar="D,H,W",
              help="The data's median image shape in voxels: D,H,W (3D) or H,W (2D).")
@click.option("--spacing", required=True, type=_Spacings(), metavar="SD,SH,SW",
              help="The voxel spacing per axis (mm or any unit: only the ratios count).")
@click.option("--memory", "budget", required=True, type=_Bytes(), metavar="SIZE",
              help="The memory a training step may take: 8GiB, 11.5GiB, or bytes.")
@_plan_counts
@click.option("--dtype", type=click.Choice([d.value for d in Dtype]), default="float16", show_default=True,
              help="The type memory is counted in (float16: mixed-precision training).")
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write the spec to FILE (atomically) and print the plan; else print the spec.")
@click.option("--timeout", type=_Finite(min=0.001), default=60.0, show_default=True,
              help="Seconds the search for the largest patch may take (exit 3 past it).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (docs/json.md).")
@handle_errors
def plan(shape: tuple[int, ...], spacing: tuple[float, ...], budget: int, channels: int,
         max_channels: int, in_channels: int, classes: int, batch: int, min_feature: int, max_pools: int,
         dtype: str, output: str | None, timeout: float, as_json: bool) -> None:
    """Design a segmentation U-Net from the data's median shape and spacing and a memory
    budget: the largest patch whose exact training memory fits, pooled as nnU-Net's rules say.

    \b
    Example:
      archsolve plan --shape 96,512,512 --spacing 2.5,0.8,0.8 --memory 8GiB -o plan.yaml
      archsolve plan --shape 512,512 --spacing 1,1 --memory 11GiB --batch 12 --json
      archsolve check plan.yaml && archsolve export plan.yaml -o plan.py
    """
    from archsolve.lang.expr import budget_text
    from archsolve.output.plan import plan_json, plan_text
    from archsolve.planning import Design, PlanRequest, plan_network

    until = time.monotonic() + timeout
    ctx = click.get_current_context()
    given = [f"--{name.replace('_', '-')} {value}" for name, value in
             (("channels", channels), ("max_channels", max_channels), ("in_channels", in_channels),
              ("classes", classes), ("batch", batch), ("min_feature", min_feature), ("max_pools", max_pools),
              ("dtype", dtype))
             if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
    command = " ".join([f"archsolve plan --shape {','.join(map(str, shape))}",
                        f"--spacing {','.join(_number_text(v) for v in spacing)}", f"--memory {budget_text(budget)}",
                        *given])
    request = PlanRequest(shape=shape, spacing=spacing, memory=budget,
                          design=Design(channels=channels, max_channels=max_channels, in_channels=in_channels,
                                        classes=classes, min_feature=min_feature),
                          batch=batch, max_pools=max_pools, dtype=Dtype(dtype), command=command)
    with _activity("planning", shown=_shows_progress(as_json)):
        made = plan_network(request, deadline=until)
    if output:
        _emit(made.spec_text, output)
    if as_json:
        click.echo(json.dumps(plan_json(made, output)))
    elif output:
        click.echo(plan_text(made), nl=False)
    else:
        click.echo(made.spec_text, nl=False)


@main.command()
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write to FILE (atomically) instead of printing.")
@handle_errors
def schema(output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of spec files, for editors and CI.

    \b
    Example:
      archsolve schema -o archsolve.schema.json
      # then, first line of a spec:  # yaml-language-server: $schema=archsolve.schema.json
    """
    from archsolve.spec.schema import spec_schema

    _emit(json.dumps(spec_schema(), indent=2) + "\n", output)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--to", "target", type=click.Choice(["torch"]), default="torch", show_default=True,
              help="The framework to write for.")
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write to FILE (atomically) instead of printing.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Give a var a value (repeatable); else its default, else the smallest valid one.")
@click.option("--dynamic", is_flag=True,
              help="Also write dynamic_shapes(): every valid input size, as torch.export.export takes it.")
@click.option("--timeout", type=_Finite(min=0.001), default=60.0, show_default=True,
              help="Seconds for choosing open vars and finding the valid input sizes the module checks (exit 3 past it).")
@handle_errors
def export(spec: str, target: str, output: str | None, sets: tuple[str, ...], dynamic: bool, timeout: float) -> None:
    """Write a PyTorch nn.Module source file that builds SPEC (needs no torch to write).

    Layers are built for one size of each var: --set's, else the var's default, else the
    smallest valid value (said on stderr).

    \b
    Example:
      archsolve export specs/unet-original.yaml --to torch -o unet.py
      archsolve export specs/unet-original-sizes.yaml --set H=572 -o unet.py
      archsolve export specs/unet-padded-sizes.yaml --dynamic -o unet.py
    """
    from archsolve.check.known import export_check
    from archsolve.output.export import size_note, torch_source
    from archsolve.spec.load import load_spec

    until = time.monotonic() + timeout  # from the start: reading the spec counts
    report = export_check(load_spec(spec, _limits()), parse_sets(sets) or None, until)
    text = torch_source(report, dynamic=dynamic, until=until)
    note = size_note(report)
    if note:
        click.echo(f"export: {note}", err=True)
    _emit(text, output)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid", "svg", "png"]), default="dot",
              show_default=True, help="dot and mermaid are text; svg and png need Graphviz's dot program.")
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write to FILE (atomically) instead of printing.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Give a var or unknown a value (repeatable); else a var's default, else as check chooses.")
@click.option("--timeout", type=_Finite(min=0.001), default=60.0, show_default=True,
              help="Seconds for choosing open vars and for Graphviz's layout (exit 3 past it).")
@click.option("--depth", type=click.IntRange(min=0), metavar="N",
              help="Draw each block call or repeat nested N deep as one node (0: the network's own).")
@click.option("--rankdir", type=click.Choice(["TB", "LR"]), default="TB", show_default=True,
              help="Top to bottom, or left to right.")
@_model_options
@handle_errors
def draw(spec: str, fmt: str, output: str | None, sets: tuple[str, ...], timeout: float, depth: int | None,
         rankdir: str, model_input: str | None, model_kwargs: str | None, no_cache: bool) -> None:
    """Draw SPEC's network: layers, shapes on the edges, merges, unknowns.

    \b
    Example:
      archsolve draw specs/unet-original.yaml --format svg -o unet.svg
      archsolve draw specs/unet-original.yaml --format mermaid   # renders in Markdown
      archsolve draw specs/resnet50.yaml --set H=224            # shapes at 224x224
      archsolve draw specs/resnet152.yaml --depth 0 --format svg -o resnet.svg   # a node per block
    """
    from archsolve.check.known import known_shapes
    from archsolve.output.draw import Direction, DrawMode, render

    until = time.monotonic() + timeout  # from the start: reading the spec counts
    known = known_shapes(_load(spec, model_input, model_kwargs, no_cache=no_cache), parse_sets(sets), until)
    out = render(known, fmt, seconds=until - time.monotonic(), mode=DrawMode(depth=depth, direction=Direction(rankdir)))
    if isinstance(out, bytes) and not output:
        if sys.stdout.isatty():
            raise UsageError(f"--format {fmt} is binary: give -o FILE")
        sys.stdout.buffer.write(out)
        return
    _emit(out, output)


@main.command()
@click.argument("kind", type=click.Choice(["unet", "resnet", "dcgan", "autoencoder"]))
@click.option("--dims", type=click.IntRange(1, 3), default=2, show_default=True, help="Spatial dimensions.")
@click.option("--depth", type=click.IntRange(1, 8), default=4, show_default=True, help="Levels or stages.")
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write to FILE (atomically) instead of printing.")
@handle_errors
def new(kind: str, dims: int, depth: int, output: str | None) -> None:
    """Write a commented starter spec with unknowns to solve.

    \b
    Example:
      archsolve new unet --dims 3 --depth 3 -o unet3d.yaml && archsolve solve unet3d.yaml
    """
    from archsolve.output.starters import starter

    _emit(starter(kind, dims, depth), output)


def _emit(out: str | bytes, output: str | None) -> None:
    if not output:
        click.echo(out, nl=not str(out).endswith("\n"))
        return
    from archsolve.output.writeback import atomic_write_bytes

    try:
        atomic_write_bytes(output, out.encode() if isinstance(out, str) else out)
    except OSError as exc:  # a missing folder, a full disk, a read-only file: the user's to fix
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}", err=True)
