"""One exception hierarchy; the CLI alone maps it to exit codes.

=====================  ==========================================  =====
class                  meaning                                     exit
=====================  ==========================================  =====
``SpecError``          the spec file (or the command line) is bad    2
``SpecErrors``         several such problems in one spec             2
``LimitPassed``        a limit on the whole spec (--max-layers)      2
``InvalidNetwork``     a valid spec describing a broken network      1
``SolverTimeout``      the solver gave up (time-out / unknown)       3
``SolverBug``          an answer failed re-verification (a bug)      4
=====================  ==========================================  =====
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with each control character (C0, DEL, C1) written as its ``\\xNN`` escape, so that
    what a spec says reaches a terminal as characters, never as a command to it.

    >>> printable("unet\\x1b[2J\\n")
    'unet\\\\x1b[2J\\\\x0a'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass(frozen=True)
class Location:
    """Where a value came from: the file and the 1-based line and column."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


class ArchsolveError(Exception):
    """Base of every error archsolve raises on purpose."""

    exit_code = 2


class SpecError(ArchsolveError):
    """The spec is malformed: bad YAML, a wrong type, an unknown op or field, a cycle...

    The message is prefixed by the location and the field when they are known::

        unet.yaml:12:5: layers[3] (up1).kernel: expected an integer, got 2.5
    """

    exit_code = 2

    def __init__(self, message: str, where: Location | None = None, field: str | None = None):
        self.bare = message
        self.where = where
        self.field = field
        prefix = ""
        # the file's path and the field's (names the user wrote): shown literally, one line
        if where is not None:
            prefix = f"{printable(str(where))}: "
        if field:
            prefix += f"{printable(field)}: "
        super().__init__(prefix + message)


class SpecErrors(SpecError):
    """Several independent problems in one spec, reported in one run (as ruff and mypy report
    them): each a :class:`SpecError` with its place.  ``more``: how many were left out past
    the cap."""

    def __init__(self, errors: list[SpecError], more: int = 0):
        # in the file's order, as a reader goes through it
        self.errors = tuple(sorted(errors, key=lambda e: (e.where is None, e.where.line or 0 if e.where else 0,
                                                          e.where.column or 0 if e.where else 0)))
        self.more = more
        lines = [str(e) for e in self.errors]
        if more:
            lines.append(f"... and {more} more (the first {len(errors)} are shown)")
        super().__init__("\n".join(lines))


class LimitPassed(SpecError):
    """A limit on the whole document (``--max-layers``) is passed: the reading stops there,
    with no other problem reported after it (each further layer would repeat it)."""


class EncodingLimit(SpecError):
    """Z3's linear encoding cannot take this question (a product of two unknown sizes, ...);
    the exact search may still answer it."""


class ExprError(SpecError):
    """An expression could not be parsed or evaluated (a kind of bad spec)."""


class UsageError(SpecError):
    """Bad command-line usage that click itself cannot detect."""


class InvalidNetwork(ArchsolveError):
    """The spec is well-formed but breaks a shape rule (exit 1)."""

    exit_code = 1


class SolverTimeout(ArchsolveError):
    """The solver ran out of time, or answered unknown (exit 3)."""

    exit_code = 3


class Interrupt:
    """Ctrl-C, remembered.  Python swallows a KeyboardInterrupt raised inside a finalizer
    (Z3's objects free themselves in ``__del__``), so the CLI's handler also sets ``pending``
    and long loops call :func:`interrupted`."""

    pending = False


def interrupted() -> None:
    """Raise KeyboardInterrupt if Ctrl-C came and was lost on the way."""
    if Interrupt.pending:
        raise KeyboardInterrupt



@contextlib.contextmanager
def placed(where: Location | None, field: str) -> Iterator[None]:
    """A SpecError raised inside without a place gets this one: the solver's encoding of a
    constraint or objective knows the expression, its caller knows where it was written."""
    try:
        yield
    except SpecError as exc:
        if exc.where is not None or exc.field is not None:
            raise
        raise type(exc)(exc.bare, where, field) from None


class SolverBug(ArchsolveError):
    """A solver answer failed re-verification: a bug in archsolve, never shown as an answer."""

    exit_code = 4
