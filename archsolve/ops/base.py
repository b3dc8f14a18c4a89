"""The vocabulary of the op table: fields, the arguments a rule reads, and the receivers of its conditions.

A rule (:mod:`archsolve.ops.rules`) reads a layer's :class:`Args` and states PyTorch's
validity conditions to a :class:`Req`: :class:`Collect` records the false ones (ints),
:class:`Record` keeps every one as a labelled constraint (symbols), :class:`Ignore` drops
them (the arithmetic of messages).

Example::

    >>> req = Collect()
    >>> req.need(False, "size", "kernel", lambda: "the window does not fit", fatal=True)
    >>> req.fatal, req.failures[0].message
    (True, 'the window does not fit')
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from archsolve.lang.expr import Value

Shape = tuple[Value, ...]
"""``(C, *spatial)`` or, after ``flatten``, ``(features,)``."""

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


class Kind(enum.Enum):
    """How a field's value is written in a spec."""

    INT = "int"  # one integer expression (out, groups, factor)
    AXES = "axes"  # one integer expression per spatial axis, or one for all
    SIDES = "sides"  # per axis: one amount for both sides, or [before, after]
    CHOICE = "choice"  # one of a fixed set of words
    BOOL = "bool"
    NUMBER = "number"  # any number; irrelevant to shapes (dropout p, eps)
    LAYER = "layer"  # the name of another layer, whose size (not its data) the op reads
    DIMS = "dims"  # a list of integer expressions of any length: a whole shape (reshape's)

    # members are singletons: hash by identity, in C (the walk tests kinds in sets often)
    __hash__ = object.__hash__


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


REQUIRED = object()


@dataclass(frozen=True)
class FieldDef:
    """One field of an op.

    ``minimum``: the smallest literal that is not a bad spec (the field's basic range).
    ``domain``: the default domain of a ``"?"`` in this field, as expression text over the
    layer's other fields (``("0", "kernel - 1")``).
    ``default``: a value, :data:`REQUIRED`, or ``"=kernel"`` to copy another field.
    """

    name: str
    kind: Kind
    default: Any = REQUIRED
    minimum: int | None = None
    domain: tuple[str, str] | None = None
    choices: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # words an AXES field also accepts (padding: same/valid)
    maximum: float | None = None  # NUMBER fields: the largest value torch accepts
    doc: str = ""
    # LAYER fields: the op the named layer must be, the fields copied from it, and whether its
    # input's size is read too (a maxunpool gives back its maxpool's input size)
    of_op: str = ""
    borrows: tuple[str, ...] = ()
    reads_input: bool = False
    borrowed: bool = False  # copied from the layer a LAYER field names (its ``borrows``): never written


Message = Callable[[], str]


class Req(Protocol):
    """Receives an op's validity conditions.  ``warns``: whether it keeps warnings at all; a
    rule may skip working out a warning's condition for one that does not (a search)."""

    warns: bool

    def need(self, cond: Value, rule: str, field: str, message: Message, *,
             fatal: bool = False, severity: Severity = Severity.ERROR) -> None: ...


@dataclass
class Failure:
    rule: str
    field: str
    message: str
    fatal: bool
    severity: Severity


class Collect:
    """A :class:`Req` for concrete ints: records every false condition (with ``warns=False``,
    the errors alone: a yes-or-no check, where warnings and their words are not read)."""

    __slots__ = ("failures", "warns")

    def __init__(self, warns: bool = True) -> None:
        self.failures: list[Failure] = []
        self.warns = warns

    def need(self, cond: Value, rule: str, field: str, message: Message, *,
             fatal: bool = False, severity: Severity = Severity.ERROR) -> None:
        if not cond and (self.warns or severity is not Severity.WARNING):
            # one report per rule and field: a square input breaks H and W alike
            if any(f.rule == rule and f.field == field for f in self.failures):
                return
            self.failures.append(Failure(rule, field, message(), fatal, severity))

    @property
    def fatal(self) -> bool:
        return any(f.fatal for f in self.failures)


class Record:
    """A :class:`Req` for symbolic values: keeps every condition as a labelled constraint.

    The solver turns ``conditions`` into Z3 assertions, each labelled by layer, rule and field.
    """

    warns = True

    def __init__(self) -> None:
        self.conditions: list[tuple[Value, Failure]] = []

    def need(self, cond: Value, rule: str, field: str, message: Message, *,
             fatal: bool = False, severity: Severity = Severity.ERROR) -> None:
        self.conditions.append((cond, Failure(rule, field, message(), fatal, severity)))


class Ignore:
    """A :class:`Req` that drops every condition (used to explain arithmetic)."""

    warns = False

    def need(self, cond: Value, rule: str, field: str, message: Message, *,
             fatal: bool = False, severity: Severity = Severity.ERROR) -> None:
        return None


class HasFields(Protocol):
    """An op as :meth:`Args.of` reads it: its fields (an :class:`~archsolve.ops.table.OpDef`)."""

    @property
    def fields(self) -> tuple[FieldDef, ...]: ...


class Args(dict[str, Any]):
    """A layer's field values, resolved: ints (check) or Exprs (solve), by field name.

    AXES fields hold one value per spatial axis, SIDES fields one ``(before, after)``
    pair per axis.  ``sources`` names the layers it reads, for messages.  A dict, so that
    the rules' many ``args["kernel"]`` run in C (the search calls rules millions of times).
    A rule keeps nothing of its Args (the search refills one per layer in place for each
    binding, ``_Search.refill``); everyone else makes them once and leaves them.

        >>> Args({"out": 8, "kernel": (3, 3)}, 2, "c1")["kernel"]
        (3, 3)
    """

    __slots__ = ("ndim", "name", "sources")

    def __init__(self, values: Mapping[str, Any], ndim: int, name: str = "layer",
                 sources: tuple[str, ...] = ()) -> None:
        super().__init__(values)
        self.ndim = ndim
        self.name = name
        self.sources = sources

    def __repr__(self) -> str:
        return f"Args({dict(self)!r}, ndim={self.ndim}, name={self.name!r}, sources={self.sources!r})"

    def with_values(self, change: Mapping[str, Any]) -> Args:
        """A copy with some fields changed."""
        return Args({**self, **change}, self.ndim, self.name, self.sources)

    @staticmethod
    def of(op: HasFields, given: Mapping[str, Any], ndim: int, name: str = "layer",
           sources: tuple[str, ...] = ()) -> Args:
        """Fill defaults (and broadcast scalars over axes) for a direct call."""
        vals: dict[str, Any] = {}
        for f in op.fields:
            if f.name in given:
                v = given[f.name]
            elif isinstance(f.default, str) and f.default.startswith("="):
                v = vals[f.default[1:]]
            elif f.default is REQUIRED:
                continue
            else:
                v = f.default
            if f.kind is Kind.AXES and v is not None and not isinstance(v, (tuple, str)):
                v = (v,) * ndim
            if f.kind is Kind.SIDES and v is not None and not isinstance(v, tuple):
                v = ((v, v),) * ndim
            vals[f.name] = v
        return Args(vals, ndim, name, sources)


Window = tuple[int, int, int]
"""The input positions (along one axis) that reach one output position: the taps
``first, first + step, ... <= last``.  Only real taps count: a dilated kernel's gaps and
the padding reach nothing."""
EMPTY: Window = (1, 0, 1)
