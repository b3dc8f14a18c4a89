"""A loaded spec as data: frozen values the later stages read, never change.

:class:`Spec` holds the expanded layers (blocks inlined, ``repeat`` unrolled), each field an
:class:`~archsolve.lang.expr.Expr` over vars and unknowns, with the vars, the ``"?"`` unknowns
and their :class:`Domain`, the constraints and the objective.  :mod:`archsolve.spec.load` makes
them from a YAML document.

    >>> d = Domain(values=(3, 5, 7))
    >>> str(d), d.contains(5)
    ('{3, 5, 7}', True)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from archsolve.errors import Location, SpecError
from archsolve.lang.expr import Bin, Call, Expr, ListExpr, parse
from archsolve.lang.yamlio import Document
from archsolve.limits import DEFAULT_LIMITS, Limits
from archsolve.ops.autograd import MemoryMode
from archsolve.ops.base import AXIS_NAMES, Kind
from archsolve.ops.table import OPS, OpDef

UNKNOWN = "?"
MAX_TIE_TERMS = 10_000  # a tied var written out over the vars it names: ten expressions at the length limit
MAX_VALUE = 10**12  # the largest number a domain may hold: far past any tensor, and it keeps the solver exact
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z: a name ending in a newline is no name
_NO_NAMES: Mapping[str, int] = MappingProxyType({})
TOTALS = ("params", "macs", "memory", "activations")  # names a constraint or objective may use for the whole network
MEMORY_TOTALS = ("memory", "activations")  # the totals counted in bytes, at the spec's batch and dtype
RESERVED = frozenset({"input", "in", *TOTALS, "and", "or", "not", "min", "max"})


# what ``name.X`` means for any layer or block call: its output's sizes, shape and counts
ATTRIBUTES = ("C", "D", "H", "W", "L", "shape", "params", "macs")
TF_PADDED = frozenset({"conv", "deconv", "maxpool", "avgpool"})
TOP_KEYS = ("name", "semantics", "exact", "holes", "input", "vars", "domains", "blocks", "layers",
            "constraints", "minimize", "description", "batch", "dtype")
LAYER_KEYS = ("name", "op", "block", "from", "repeat", "comment")


class Semantics(enum.Enum):
    TORCH = "torch"
    TF = "tf"


@dataclass(frozen=True)
class Domain:
    """An integer range (both ends included; ends may be expressions) or a finite set.

        >>> d = Domain(lo=parse("0"), hi=parse("k - 1"))
        >>> str(d), sorted(d.names()), d.ends({"k": 3}), d.contains(3, {"k": 3})
        ('0..k - 1', ['k'], (0, 2), False)
        >>> Domain(values=(3, 5, 7)).ends()
        (3, 7)
    """

    lo: Expr | None = None
    hi: Expr | None = None
    values: tuple[int, ...] | None = None

    def __str__(self) -> str:
        if self.values is not None:
            return "{" + ", ".join(map(str, self.values)) + "}"
        return f"{self.lo}..{self.hi}"

    @property
    def listed(self) -> bool:
        """Whether it is a finite set (``{in: [...]}``) rather than a range."""
        return self.values is not None

    def names(self) -> frozenset[str]:
        """The names its ends depend on (vars, or the layer's fields for a ``"?"``)."""
        if self.values is not None:
            return frozenset()
        assert self.lo is not None and self.hi is not None
        return frozenset(self.lo.names() | self.hi.names())

    def ends(self, env: Mapping[str, int] = _NO_NAMES) -> tuple[int, int]:
        """Its smallest and largest value with the names bound in ``env`` (a KeyError where
        an end names an unbound name)."""
        if self.values is not None:
            return min(self.values), max(self.values)
        assert self.lo is not None and self.hi is not None
        return self.lo.evaluate(env), self.hi.evaluate(env)

    def contains(self, value: int, env: Mapping[str, int] = _NO_NAMES) -> bool:
        """Whether ``value`` lies in it, with the names bound in ``env``."""
        if self.values is not None:
            return value in self.values
        lo, hi = self.ends(env)
        return lo <= value <= hi
_DEFAULTS: dict[tuple[str, str], Domain] = {}


def default_domain(ends: tuple[str, str]) -> Domain:
    """A field's default domain (docs/spec-format.md), one object for every unknown of the field:
    the search works out each domain's values once, by identity."""
    dom = _DEFAULTS.get(ends)
    if dom is None:
        dom = _DEFAULTS[ends] = Domain(lo=parse(ends[0]), hi=parse(ends[1]))
    return dom


@dataclass(frozen=True)
class Var:
    """A named unknown with a domain, or a name tied to an expression (``W: H``).

    ``default``: the value ``check``, ``draw`` and ``export`` take when ``--set`` gives none
    (``solve`` and ``inputs`` range over the domain).
    """

    name: str
    where: Location
    domain: Domain | None = None
    expr: Expr | None = None
    default: int | None = None


@dataclass(frozen=True)
class ListArg:
    """A block argument with one value per spatial axis (``k: [1, 7]``): where the block
    writes the parameter in a per-axis field, each axis takes its own entry.

        >>> arg = ListArg(values=(parse("1"), parse("k1 + 6")), call="b1", param="k")
        >>> arg.shown()
        '[1, k1 + 6]'
    """

    values: tuple[Expr, ...]
    call: str
    param: str

    def shown(self) -> str:
        return "[" + ", ".join(map(str, self.values)) + "]"


@dataclass(frozen=True)
class LayerArg:
    """A block argument that names a layer (``skip: enc3``), for the block's ``from`` and
    ``like``: ``layer`` is the full name it resolves to (or a forward reference's token)."""

    layer: str
    call: str
    param: str


@dataclass(frozen=True)
class Unknown:
    """A ``"?"``: named after where it stands (``up1.stride``, ``mid.k``, ``enc1/a.kernel``)."""

    name: str
    field: str
    layer: str
    where: Location
    domain: Domain
    path: tuple[Any, ...] = ()  # where the "?" stands in the YAML document (for write-back)

    def of_any(self, layers: Collection[str]) -> bool:
        """Whether it is a field of one of ``layers``, or an argument of the block call
        they come from (``a.s`` for ``a/d``)."""
        return self.layer in layers or any(n.startswith(self.layer + "/") for n in layers)


@dataclass(frozen=True)
class Layer:
    """One expanded layer.

    ``values`` maps field names to: an Expr (INT), a tuple of Exprs per axis (AXES),
    a tuple of (before, after) Expr pairs per axis (SIDES), or a plain str / bool / float.
    ``written`` records which values the spec wrote (the rest are defaults), with the
    place each was written, for repairs and write-back.
    """

    name: str
    op: str
    values: Mapping[str, Any]
    sources: tuple[str, ...]
    depth: int
    where: Location
    group: str | None = None
    written: Mapping[str, str] = field(default_factory=dict)
    refs: tuple[str, ...] = ()  # ``sources`` as the spec names them (a block call, not its last layer)

    @property
    def opdef(self) -> OpDef:
        return OPS[self.op]


@dataclass(frozen=True)
class Group:
    """A row for a block call, or for a ``repeat`` (its copies follow it)."""

    name: str
    op: str  # "block:NAME" or "repeat:OP"
    depth: int
    where: Location
    output: str  # the layer whose output is the group's output
    members: tuple[str, ...]  # every layer inside it, transitively
    group: str | None = None


@dataclass(frozen=True)
class Constraint:
    expr: Expr
    text: str
    where: Location


@dataclass(frozen=True)
class Spec:
    """A loaded, validated, expanded spec."""

    file: str
    name: str | None
    semantics: Semantics
    exact: bool
    input: tuple[Expr, ...]
    vars: Mapping[str, Var]
    domains: Mapping[str, Domain]
    layers: tuple[Layer, ...]
    groups: tuple[Group, ...]
    rows: tuple[str, ...]  # layer and group names in report order
    unknowns: Mapping[str, Unknown]
    constraints: tuple[Constraint, ...]
    minimize: Expr | None
    aliases: Mapping[str, str]  # group name -> its output layer
    document: Document = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    written_values: WrittenValues = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    minimize_text: str | None = None  # ``minimize`` as written (``c.kernel``, where ``minimize`` has its 3)
    # made by writeback.writable: a "?" standing for several unknowns gives them one value, and
    # a spec edited from it (a relaxation) is to be made so too
    ties_calls: bool = False
    # ``holes: false``: an output position no input reaches (a transposed conv's gap) is an
    # error, not a warning; ``exact: true`` forbids them too.  ``hole_free``: layers that may
    # not have holes whatever the spec says (solve's second try for an answer without them)
    holes: bool = True
    hole_free: frozenset[str] = frozenset()
    limits: Limits = field(repr=False, compare=False, default=DEFAULT_LIMITS)  # the bounds it was loaded under
    memory: MemoryMode = MemoryMode()  # ``batch:`` and ``dtype:``, what ``memory`` in a constraint is counted at

    def allows_holes(self, layer: str) -> bool:
        """Whether ``layer`` may have holes: a warning then, else an error."""
        return self.holes and not self.exact and layer not in self.hole_free

    def rule_flags(self, layer: str) -> dict[str, bool]:
        """The spec-wide settings an op's rule reads besides its fields, for ``layer``: ``_exact``,
        ``_tf`` (TensorFlow's padding rules), ``_holes`` (holes allowed).  Check, the solver and
        the symbolic graph all pass these.
        """
        return {"_exact": self.exact, "_tf": self.semantics is Semantics.TF, "_holes": self.allows_holes(layer)}

    @property
    def ndim(self) -> int:
        return len(self.input) - 1

    @property
    def axis_names(self) -> tuple[str, ...]:
        return AXIS_NAMES[self.ndim]

    def tied(self) -> dict[str, Expr]:
        """Every tied var (``W: H``, ``D: W``) as an expression over free names only (made
        once: many stages ask)."""
        cache = self.__dict__.get("_tied_cache")
        if cache is None:
            cache = resolve_ties(self.vars)
            object.__setattr__(self, "_tied_cache", cache)  # frozen: set once, a function of vars
        return dict(cache)

    def layer(self, name: str) -> Layer:
        return self._by_name[self.aliases.get(name, name)]

    @property
    def _by_name(self) -> dict[str, Layer]:
        cache = self.__dict__.get("_layer_cache")
        if cache is None:
            cache = {lay.name: lay for lay in self.layers}
            object.__setattr__(self, "_layer_cache", cache)
        return cache


@dataclass(frozen=True)
class WrittenValues:
    """``s1.k`` (a block call's argument; ``s1.k[1]``, an entry of a list argument) and
    ``c.kernel`` (a layer's integer field, one axis
    as ``c.stride[1]``; a ``repeat``'s copies are named as written, ``c``) stand for what is
    written there: the unknown while it is ``"?"``, the number once it is filled in -- so a
    spec that ``solve --write`` filled keeps its constraints' meaning."""

    calls: Mapping[str, Mapping[str, Expr | ListArg]]
    items: Mapping[str, tuple[str, Mapping[str, Any]]]

    def resolve(self, e: Expr, known: set[str]) -> Expr:
        """``e`` with such names replaced; ``known`` (vars, unknowns) stay. ValueError: a name
        that cannot stand for one value."""
        found: dict[str, Expr] = {}
        for n in e.names():
            if n in known:
                continue
            base, _, attr = n.rpartition(".")
            fname, _, axis = attr.partition("[")
            if fname in ATTRIBUTES:
                continue
            args = self.calls.get(base)
            if args is not None and fname in args:
                found[n] = _call_arg(n, base, fname, args[fname], axis.rstrip("]"))
                continue
            entry = self.items.get(base)
            fdef = OPS[entry[0]].field_map.get(fname) if entry is not None else None
            if entry is None or fdef is None or fdef.kind not in (Kind.INT, Kind.AXES, Kind.SIDES):
                continue
            v = entry[1].get(fname)
            if axis:
                k = axis.rstrip("]")
                if not isinstance(v, tuple):
                    continue
                if not k.isdigit() or int(k) >= len(v):
                    raise ValueError(f"{n!r}: {base}.{fname} has {len(v)} axes (0..{len(v) - 1})")
                v = v[int(k)]
            leaves = _leaves_of(v)
            if not leaves or not all(isinstance(x, Expr) for x in leaves):
                continue  # a word (padding 'same'), or nothing written
            if any(x != leaves[0] for x in leaves):
                shown = ", ".join(map(str, leaves))
                raise ValueError(f"{n!r} differs per axis or side ({shown}): name one axis, as {base}.{fname}[0]"
                                 if not axis else f"{n!r} differs before and after ({shown})")
            found[n] = leaves[0]
        return e.substitute(found) if found else e


def layer_name(item: Mapping[str, Any], i: int, seen: Collection[str]) -> str:
    """The name of item ``i`` of a list of layers as written: its ``name``, else its op (or
    block) and place, with ``_`` added while an earlier item of the list has that name. One
    rule for the loader and for what a repair names.

        >>> layer_name({"op": "conv"}, 1, set()), layer_name({"op": "conv"}, 1, {"conv2"})
        ('conv2', 'conv2_')
    """
    written = item.get("name")
    if isinstance(written, str):
        return written
    kind = item.get("op") if "op" in item else item.get("block")
    written = f"{kind if isinstance(kind, str) else 'layer'}{i + 1}".replace("-", "_")
    while written in seen:
        written += "_"
    return written


def _call_arg(n: str, call: str, param: str, v: Expr | ListArg, axis: str) -> Expr:
    """What ``call.param`` (``axis``: ``call.param[1]``) stands for. ValueError: no one value."""
    if not isinstance(v, ListArg):
        if axis:
            raise ValueError(f"{n!r}: {call}.{param} is one value, not a list: write {call}.{param}")
        return v
    if not axis:
        if any(x != v.values[0] for x in v.values):
            raise ValueError(f"{n!r} differs per axis ({v.shown()}): name one axis, as {call}.{param}[0]")
        return v.values[0]
    if not axis.isdigit() or int(axis) >= len(v.values):
        raise ValueError(f"{n!r}: {call}.{param} has {len(v.values)} axes (0..{len(v.values) - 1})")
    return v.values[int(axis)]


def _leaves_of(v: Any) -> list[Any]:
    if isinstance(v, tuple):
        return [x for item in v for x in _leaves_of(item)]
    return [v] if v is not None else []


def written_values(spec: Spec, e: Expr) -> Expr:
    """``e`` with the names of written values replaced (see :class:`WrittenValues`), for an
    expression from outside the spec (``--minimize``). SpecError: a name that cannot."""
    if spec.written_values is None:
        return e
    try:
        return spec.written_values.resolve(e, set(spec.vars) | set(spec.unknowns))
    except ValueError as exc:
        raise SpecError(str(exc)) from None


def resolve_ties(variables: Mapping[str, Var]) -> dict[str, Expr]:
    """Each tied var's expression with the tied vars it names written out, each substituted
    once, in the order they depend on one another (a var in a cycle keeps its names: the
    loader reports the cycle).  The expressions share what they substitute, so a chain of
    squares (``b: a * a``, ``c: b * b``) takes linear memory; its written-out *tree* doubles
    with each link, which :func:`tie_size` measures.

        >>> from archsolve.lang.expr import parse
        >>> from archsolve.errors import Location
        >>> vs = {"W": Var("W", Location("x"), expr=parse("H")), "D": Var("D", Location("x"), expr=parse("W + 1"))}
        >>> {n: str(e) for n, e in resolve_ties(vs).items()}
        {'W': 'H', 'D': 'H + 1'}
    """
    exprs = {n: v.expr for n, v in variables.items() if v.expr is not None}
    done: dict[str, Expr] = {}
    pending = dict(exprs)
    while pending:
        progressed = False
        for n, e in list(pending.items()):
            deps = [m for m in e.names() if m in exprs]
            if all(m in done for m in deps):
                done[n] = e.substitute({m: done[m] for m in deps}) if deps else e
                del pending[n]
                progressed = True
        if not progressed:
            break
    done.update(pending)  # a cycle: left as written
    return {n: done[n] for n in exprs}


def tie_size(e: Expr, memo: dict[int, int]) -> int:
    """The number of nodes ``e`` has written out as a tree (shared parts counted each time
    they occur), counted once per shared node (``memo``, by identity)."""
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in memo:
            continue
        kids: tuple[Expr, ...] = ((node.left, node.right) if isinstance(node, Bin) else node.args
                                  if isinstance(node, Call) else node.items if isinstance(node, ListExpr) else ())
        if ready or not kids:
            memo[id(node)] = 1 + sum(memo[id(k)] for k in kids)
            continue
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in memo)
    return memo[id(e)]
