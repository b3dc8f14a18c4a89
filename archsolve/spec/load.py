"""Spec files: validation, the value language, blocks, ``repeat`` and unknowns.

:func:`load_spec` turns a YAML file into a frozen :class:`Spec` whose layers are already
expanded (blocks inlined with scoped names, ``repeat`` unrolled), whose field values are
:class:`~archsolve.expr.Expr` trees over vars and unknowns, and whose every problem is
reported as a :class:`~archsolve.errors.SpecError` naming the file, line, layer and field.

Example::

    >>> spec = load_text('''
    ... input: [3, 32, 32]
    ... layers:
    ...   - {name: c1, op: conv, out: 8, kernel: "?", padding: 1}
    ... ''')
    >>> [l.name for l in spec.layers], sorted(spec.unknowns)
    (['c1'], ['c1.kernel'])
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from archsolve.errors import ExprError, LimitPassed, Location, SpecError, SpecErrors
from archsolve.lang.expr import COMPARISONS, CONSTRAINT, Bin, Call, Expr, Name, Num, fold, parse
from archsolve.lang.yamlio import Document, parse_document, read_document
from archsolve.limits import DEFAULT_LIMITS, Limits
from archsolve.ops.autograd import Dtype, MemoryMode
from archsolve.ops.base import AXIS_NAMES, REQUIRED, FieldDef, Kind
from archsolve.ops.table import ALIASES, OPS
from archsolve.spec.model import (
    ATTRIBUTES,
    LAYER_KEYS,
    MAX_TIE_TERMS,
    MAX_VALUE,
    NAME_PATTERN,
    RESERVED,
    TF_PADDED,
    TOP_KEYS,
    TOTALS,
    UNKNOWN,
    Constraint,
    Domain,
    Group,
    Layer,
    LayerArg,
    ListArg,
    Semantics,
    Spec,
    Unknown,
    Var,
    WrittenValues,
    default_domain,
    layer_name,
    resolve_ties,
    tie_size,
)

Scope = Mapping[str, Expr | ListArg | LayerArg]
"""A block call's parameters by name: a value, a value per axis, or a layer."""

# -- helpers -------------------------------------------------------------------------------

def suggest(word: str, options: Sequence[str]) -> str:
    """`` (did you mean X?)`` when a close match exists."""
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, float):
        return f"a decimal number ({v})"
    if isinstance(v, str):
        return f"text {v!r}"
    if isinstance(v, int):
        return f"the number {v}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


MAX_ERRORS = 20  # the most problems one run reports; the count of the rest follows them


class _Loader:
    def __init__(self, doc: Document, limits: Limits):
        self.doc = doc
        self.limits = limits
        self.file = doc.file
        self._layer_params: dict[str, frozenset[str]] = {}

    @contextlib.contextmanager
    def collecting(self) -> Iterator[None]:
        """Keep a problem found in the block and go on with the next part of the spec: the
        parts a stage reads one by one (the top-level keys, the layers, the constraints) are
        independent, so each of their problems is worth reporting in one run."""
        try:
            yield
        except LimitPassed:
            raise
        except SpecErrors as exc:
            self.errors.extend(exc.errors)
        except SpecError as exc:
            # a block definition's mistake is one place in the file, said once for all its calls
            if all((exc.where, exc.bare) != (e.where, e.bare) for e in self.errors):
                self.errors.append(exc)

    def settle(self) -> None:
        """End a stage: its problems, if any, are raised together (the next stages would read
        what failed, and report it again in other words)."""
        if self.errors:
            raise SpecErrors(self.errors[:MAX_ERRORS], more=max(0, len(self.errors) - MAX_ERRORS)) \
                if len(self.errors) > 1 else self.errors[0]

    def err(self, message: str, path: Sequence[Any], field: str | None = None) -> SpecError:
        return SpecError(message, self.doc.where(tuple(path)), field)

    # -- top level ----------------------------------------------------------------------
    def load(self) -> Spec:
        data = self.doc.data
        if not isinstance(data, dict):
            raise self.err(f"a spec must be a mapping with 'input' and 'layers', not {_type_name(data)}", ())
        self.errors: list[SpecError] = []
        for key in data:
            with self.collecting():
                if key not in TOP_KEYS:
                    raise self.err(f"unknown key {key!r}{suggest(key, TOP_KEYS)}", (key,), str(key))
        unknown = [str(k) for k in data if k not in TOP_KEYS]
        for key in ("input", "layers"):
            with self.collecting():
                # a misspelt key ("inputs") is the mistake, said above: its missing key is not another
                if key not in data and all(suggest(k, TOP_KEYS) != f" (did you mean {key!r}?)" for k in unknown):
                    raise self.err(f"the spec has no {key!r}", (), key)
        name = data.get("name")
        with self.collecting():
            if name is not None and not isinstance(name, (str, int, float)):
                raise self.err(f"expected text, got {_type_name(name)}", ("name",), "name")
        sem = data.get("semantics", "torch")
        with self.collecting():
            if sem not in ("torch", "tf"):
                raise self.err(f"expected 'torch' or 'tf', got {_type_name(sem)}", ("semantics",), "semantics")
        semantics = Semantics(sem) if sem in ("torch", "tf") else Semantics.TORCH
        self.semantics = semantics
        exact = data.get("exact", False)
        with self.collecting():
            if not isinstance(exact, bool):
                raise self.err(f"expected true or false, got {_type_name(exact)}", ("exact",), "exact")
        holes = data.get("holes", True)
        with self.collecting():
            if not isinstance(holes, bool):
                raise self.err(f"expected true or false, got {_type_name(holes)}", ("holes",), "holes")
        batch, dtype = 1, Dtype.FLOAT32
        with self.collecting():
            batch = self.load_batch(data.get("batch", 1))
        with self.collecting():
            dtype = self.load_dtype(data.get("dtype", dtype.value))
        before = len(self.errors)
        with self.collecting():
            self.vars = self.load_vars(data.get("vars") or {})
            self.check_ties()
        with self.collecting():
            self.domains = self.load_domains(data.get("domains") or {})
        if len(self.errors) > before or "input" not in data or "layers" not in data:
            self.settle()  # the layers read the vars and domains, and need an input: not without them
        self.unknowns: dict[str, Unknown] = {}
        self.call_args: dict[str, dict[str, Expr]] = {}  # block call -> its parameters' values
        self.items: dict[str, tuple[str, dict[str, Any]]] = {}  # a layer as written (no copy index) -> op, fields
        self._written: WrittenValues | None = None
        inp = data["input"]
        if not isinstance(inp, list) or not 2 <= len(inp) <= 4:
            raise self.err("expected [channels, then 1, 2 or 3 spatial sizes], e.g. [3, 224, 224], got "
                           + (f"{len(inp)} values" if isinstance(inp, list) else _type_name(inp)),
                           ("input",), "input")
        self.ndim = len(inp) - 1
        axes = ("C", *AXIS_NAMES[self.ndim])
        self.input = tuple(
            self.value(v, ("input", i), f"input[{i}]", scope={}, unknown=f"input.{axes[i]}",
                       minimum=1, domain=("1", "4096"), layer="input", base="size")
            for i, v in enumerate(inp))

        self.blocks = data.get("blocks") or {}
        if not isinstance(self.blocks, dict):
            raise self.err(f"expected a mapping of block names to blocks, got {_type_name(self.blocks)}",
                           ("blocks",), "blocks")
        before = len(self.errors)
        for bname, block in self.blocks.items():
            with self.collecting():
                self.check_block(str(bname), block)
        if len(self.errors) > before:
            self.settle()  # the layers call the blocks

        layers = data["layers"]
        if not isinstance(layers, list) or not layers:
            raise self.err("expected a non-empty list of layers", ("layers",), "layers")
        self.layers: list[Layer] = []
        self.groups: list[Group] = []
        self.rows: list[str] = []
        self.aliases: dict[str, str] = {}
        self.names: set[str] = {"input"}
        self.pending: dict[str, tuple[str, tuple[Any, ...], str]] = {}
        self.lenders: dict[str, tuple[tuple[Any, ...], str]] = {}  # a borrowing layer's LAYER field: its place
        self.expand_list(layers, ("layers",), prefix="", scope={}, first_source="input", depth=0,
                         group=None, stack=(), visible={})
        self.settle()  # the graph and the constraints read every layer
        self.resolve_sources()
        self.borrow_fields()

        constraints = tuple(self.load_constraints(data.get("constraints") or []))
        minimize = minimize_text = None
        if data.get("minimize") is not None:
            minimize, shown = self.parse_written(data["minimize"], ("minimize",), "minimize", logic=False)
            minimize_text = str(shown)
        return Spec(
            file=self.file, name=None if name is None else str(name), semantics=semantics, exact=exact,
            input=self.input, vars=self.vars, domains=self.domains, layers=tuple(self.layers),
            groups=tuple(self.groups), rows=tuple(self.rows), unknowns=self.unknowns,
            constraints=constraints, minimize=minimize, aliases=self.aliases, document=self.doc,
            written_values=self.written(), minimize_text=minimize_text, holes=holes, limits=self.limits,
            memory=MemoryMode(batch=batch, dtype=dtype))

    def load_batch(self, batch: Any) -> int:
        """``batch:``, the batch size ``memory`` and ``activations`` are counted at."""
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_VALUE:
            raise self.err(f"expected a batch size from 1 to {MAX_VALUE:,}, got {_type_name(batch)}", ("batch",), "batch")
        return batch

    def load_dtype(self, dtype: Any) -> Dtype:
        """``dtype:``, the type ``memory`` and ``activations`` are counted in."""
        names = [d.value for d in Dtype]
        if not isinstance(dtype, str) or dtype not in names:
            raise self.err(f"expected one of {', '.join(names)}, got {_type_name(dtype)}{suggest(str(dtype), names)}",
                           ("dtype",), "dtype")
        return Dtype(dtype)

    # -- vars and domains -----------------------------------------------------------------
    def check_ties(self) -> None:
        """Refuse a tied var whose expression, written out over the vars it names, passes
        :data:`MAX_TIE_TERMS` terms: a chain of squares (``b: a * a``, ``c: b * b``, ...)
        doubles it with each link, and every stage that reads it would run without end."""
        memo: dict[int, int] = {}
        for n, e in resolve_ties(self.vars).items():
            if tie_size(e, memo) > MAX_TIE_TERMS:
                raise self.err(f"{n}, written out over the vars it names, is over {MAX_TIE_TERMS:,} terms "
                               f"long ({self.vars[n].expr} ...); tie it to fewer vars", ("vars", n), f"vars.{n}")

    def load_vars(self, raw: Any) -> dict[str, Var]:
        if not isinstance(raw, dict):
            raise self.err(f"expected a mapping of names to domains, got {_type_name(raw)}", ("vars",), "vars")
        out: dict[str, Var] = {}
        self.var_names = {n for n in raw if isinstance(n, str)}
        for name, spec in raw.items():
            path = ("vars", name)
            fieldname = f"vars.{name}"
            if not isinstance(name, str) or not NAME_PATTERN.match(name) or name in RESERVED:
                raise self.err(f"{name!r} is not a valid variable name", path, fieldname)
            where = self.doc.where(path)
            if isinstance(spec, dict) and set(spec) == {"default"}:
                raise self.err(f"variable {name!r} has a default but no domain: give {{min: .., max: .., default: "
                               "..} or {in: [..], default: ..}", path, fieldname)
            if isinstance(spec, dict):
                dom = self.domain({k: v for k, v in spec.items() if k != "default"}, path, fieldname,
                                  extra=("default",))
                default = self.var_default(spec, dom, path, fieldname) if "default" in spec else None
                out[name] = Var(name, where, domain=dom, default=default)
            elif spec is None:
                raise self.err(f"variable {name!r} has no domain: give {{min: .., max: ..}}, {{in: [..]}} "
                               "or an expression", path, fieldname)
            else:
                out[name] = Var(name, where, expr=self.expr(spec, path, fieldname, set(raw) - {name}))
        self._check_var_cycles(out)
        return out

    def _check_var_cycles(self, vars_: dict[str, Var]) -> None:
        state: dict[str, int] = {}

        def visit(n: str, trail: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cycle = trail[trail.index(n):] + [n]
                raise self.err(f"variables depend on each other in a cycle: {' -> '.join(cycle)}",
                               ("vars", n), f"vars.{n}")
            state[n] = 1
            v = vars_[n]
            if v.expr is not None:
                for m in sorted(v.expr.names()):
                    if m in vars_:
                        visit(m, [*trail, n])
            state[n] = 2

        for n in vars_:
            visit(n, [])

    def var_default(self, spec: dict[str, Any], dom: Domain, path: tuple[Any, ...], fieldname: str) -> int:
        """A var's ``default``: an integer in its domain (where the domain names other vars, that
        is checked once their values are known: ``check`` binds them)."""
        raw = spec["default"]
        dpath, dname = (*path, "default"), f"{fieldname}.default"
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise self.err(f"expected an integer, got {_type_name(raw)}", dpath, dname)
        if not dom.names() and not dom.contains(raw):
            raise self.err(f"the default {raw} of {path[-1]!r} is outside its domain {dom}", dpath, dname)
        return raw

    def domain(self, spec: dict[str, Any], path: tuple[Any, ...], fieldname: str,
               extra: tuple[str, ...] = ()) -> Domain:
        """``{min: A, max: B}`` or ``{in: [...]}``; ``extra``: the other keys the caller reads
        (a var's ``default``), for did-you-mean."""
        keys = set(spec)
        if keys == {"in"}:
            vals = spec["in"]
            if not isinstance(vals, list) or not vals:
                raise self.err("'in' needs a non-empty list of integers", (*path, "in"), fieldname)
            for i, v in enumerate(vals):
                if isinstance(v, bool) or not isinstance(v, int):
                    raise self.err(f"expected an integer, got {_type_name(v)}", (*path, "in", i), fieldname)
                self.within(v, (*path, "in", i), fieldname)
            return Domain(values=tuple(sorted(set(vals))))
        if keys <= {"min", "max"} and keys:
            if keys != {"min", "max"}:
                missing = ({"min", "max"} - keys).pop()
                raise self.err(f"the range needs both min and max ({missing!r} is missing)", path, fieldname)
            names = self.__dict__.get("var_names", set())
            lo = self.expr(spec["min"], (*path, "min"), fieldname, names)
            hi = self.expr(spec["max"], (*path, "max"), fieldname, names)
            if isinstance(lo, Num) and isinstance(hi, Num) and lo.value > hi.value:
                raise self.err(f"empty range: min {lo.value} > max {hi.value}", path, fieldname)
            for end, e in (("min", lo), ("max", hi)):
                if isinstance(e, Num):
                    self.within(e.value, (*path, end), fieldname)
            return Domain(lo=lo, hi=hi)
        bad = sorted(keys - {"min", "max", "in"}, key=str)
        hint = f"unknown key {bad[0]!r}{suggest(bad[0], ['min', 'max', 'in', *extra])}; " if bad else ""
        more = "".join(f", with an optional {k}: N" for k in extra)
        raise self.err(f"{hint}a domain is {{min: A, max: B}} or {{in: [..]}}{more}", path, fieldname)

    def within(self, v: int, path: tuple[Any, ...], fieldname: str) -> None:
        if abs(v) > MAX_VALUE:
            raise self.err(f"{v} is beyond the largest value a domain may hold (10^12)", path, fieldname)

    def load_domains(self, raw: Any) -> dict[str, Domain]:
        if not isinstance(raw, dict):
            raise self.err(f"expected a mapping of field names to domains, got {_type_name(raw)}",
                           ("domains",), "domains")
        known = sorted({f.name for d in OPS.values() for f in d.fields if f.domain is not None})
        out = {}
        for key, spec in raw.items():
            if key not in known:
                raise self.err(f"no field {key!r} takes unknowns{suggest(key, known)}", ("domains", key),
                               f"domains.{key}")
            if not isinstance(spec, dict):
                raise self.err("a domain is {min: A, max: B} or {in: [..]}", ("domains", key), f"domains.{key}")
            dom = out[key] = self.domain(spec, ("domains", key), f"domains.{key}")
            least = min(f.minimum for d in OPS.values() for f in d.fields
                        if f.name == key and f.domain is not None and f.minimum is not None)
            low = min(dom.values) if dom.listed else (  # type: ignore[type-var]
                dom.lo.value if isinstance(dom.lo, Num) else None)
            if low is not None and low < least:
                raise self.err(f"{low} is below the smallest {key} there is ({least})",
                               ("domains", key, "in" if dom.listed else "min"), f"domains.{key}")
        return out

    # -- values --------------------------------------------------------------------------
    def expr(self, raw: Any, path: tuple[Any, ...], fieldname: str, names: set[str] | Mapping[str, Any],
             scope: Scope | None = None, axis: int | None = None) -> Expr:
        """A number or an expression over ``names`` (vars) and ``scope`` (block params); a list
        argument stands for its entry on ``axis`` (a bad spec where one integer belongs)."""
        if isinstance(raw, bool) or raw is None or isinstance(raw, (list, dict)):
            raise self.err(f"expected an integer or an expression, got {_type_name(raw)}", path, fieldname)
        if isinstance(raw, float):
            if raw.is_integer():
                raise self.err(f"expected an integer, got {raw} (write {int(raw)})", path, fieldname)
            raise self.err(f"expected an integer, got {raw}", path, fieldname)
        if isinstance(raw, int):
            return Num(raw)
        text = str(raw)
        try:
            e = parse(text, max_length=self.limits.expr_length)
        except ExprError as exc:
            raise self.err(exc.bare, path, fieldname) from None
        scope = scope or {}
        per_axis: dict[str, Expr] = {}
        for n in sorted(e.names()):
            v = scope.get(n)
            if v is None and n not in names:
                options = [*scope, *names]
                raise self.err(f"unknown name {n!r} in {text!r}{suggest(n, options)}", path, fieldname)
            if isinstance(v, ListArg):
                if axis is None:
                    raise self.err(f"{v.call}.{n} is a list ({v.shown()}: one value per axis), but {fieldname} "
                                   "takes one integer", path, fieldname)
                per_axis[n] = v.values[axis]
            elif isinstance(v, LayerArg):
                raise self.err(f"{v.call}.{n} names a layer ({n!r} is read in 'from' or 'like'), but "
                               f"{fieldname} takes an integer", path, fieldname)
        if per_axis:
            return e.substitute({**scope, **per_axis})  # type: ignore[dict-item]
        return e.substitute(scope) if scope else e  # type: ignore[arg-type]

    def list_names(self, raw: Any, scope: Scope) -> list[str]:
        """The list arguments (``k: [1, 7]``) that text written in a block mentions."""
        if not isinstance(raw, str) or raw == UNKNOWN or not any(isinstance(v, ListArg) for v in scope.values()):
            return []
        try:
            e = parse(raw, max_length=self.limits.expr_length)
        except ExprError:
            return []  # reported where the value is read
        return sorted(n for n in e.names() if isinstance(scope.get(n), ListArg))

    def value(self, raw: Any, path: tuple[Any, ...], fieldname: str, *, scope: Scope,
              unknown: str, minimum: int | None, domain: tuple[str, str] | None, layer: str,
              base: str, axis: int | None = None) -> Expr:
        """One integer value: a literal, ``"?"``, or an expression.

        ``unknown`` names a ``"?"`` found here; ``base`` is the field it belongs to, whose
        default domain (or ``domains:`` override) it gets; ``axis``: the spatial axis it is
        for, where a list argument gives one value per axis.
        """
        if raw == UNKNOWN:
            if domain is None:
                raise self.err("cannot be unknown ('?'): the field has no domain for solve to choose from", path,
                               fieldname)
            if unknown not in self.unknowns:
                dom = self.domains.get(base) or default_domain(domain)
                self.unknowns[unknown] = Unknown(unknown, base, layer, self.doc.where(path), dom, tuple(path))
            return Name(unknown)
        e = self.expr(raw, path, fieldname, self.vars, scope, axis)
        if minimum is not None and isinstance(e, Num) and e.value < minimum:
            what = "positive" if minimum == 1 else f"at least {minimum}"
            raise self.err(f"must be {what}, got {e.value}", path, fieldname)
        return e

    # -- blocks ----------------------------------------------------------------------------
    def check_block(self, bname: str, block: Any) -> None:
        path = ("blocks", bname)
        if not NAME_PATTERN.match(bname):
            raise self.err(f"{bname!r} is not a valid block name", path, f"blocks.{bname}")
        if bname in OPS or bname in ALIASES:
            raise self.err(f"a block cannot be named like the op {bname!r}", path, f"blocks.{bname}")
        if not isinstance(block, dict):
            raise self.err(f"expected a mapping with 'layers' (and 'params'), got {_type_name(block)}", path,
                           f"blocks.{bname}")
        for key in block:
            if key not in ("params", "layers", "description"):
                raise self.err(f"unknown key {key!r}{suggest(key, ['params', 'layers'])}", (*path, key),
                               f"blocks.{bname}.{key}")
        params = block.get("params") or {}
        if not isinstance(params, dict):
            raise self.err(f"expected a mapping of parameter names to defaults, got {_type_name(params)}",
                           (*path, "params"), f"blocks.{bname}.params")
        for p in params:
            if p in ATTRIBUTES:  # s1.H is the call's output height
                raise self.err(f"{p!r} is not a valid parameter name: a call's {p} is its output's "
                               f"({', '.join(ATTRIBUTES)} name a layer's or call's output)",
                               (*path, "params", p), f"blocks.{bname}.params.{p}")
            if not isinstance(p, str) or not NAME_PATTERN.match(p) or p in RESERVED or p in LAYER_KEYS:
                raise self.err(f"{p!r} is not a valid parameter name", (*path, "params", p),
                               f"blocks.{bname}.params")
        layers = block.get("layers")
        if not isinstance(layers, list) or not layers:
            raise self.err("a block needs a non-empty list of layers", (*path, "layers"), f"blocks.{bname}.layers")
        for i, item in enumerate(layers):
            op = item.get("op") if isinstance(item, dict) else None
            if op is not None and (not isinstance(op, str) or (op not in OPS and op not in ALIASES)):
                raise self.err(f"unknown op {op!r}{suggest(str(op), [*OPS, *ALIASES])}",
                               (*path, "layers", i, "op"), f"blocks.{bname}.layers[{i}].op")

    def call_scope(self, bname: str, call: dict[str, Any], path: tuple[Any, ...], call_name: str,
                   outer: Scope, local: Mapping[str, str]) -> dict[str, Expr | ListArg | LayerArg]:
        """The values of a call's parameters: a value, a :class:`ListArg` (one per axis), or a
        :class:`LayerArg` for a parameter the block reads as a layer (the name is looked up
        among the layers the call can see, ``local``)."""
        block = self.blocks[bname]
        params = block.get("params") or {}
        scope: dict[str, Expr | ListArg | LayerArg] = {}
        for key in call:
            if key not in LAYER_KEYS and key not in params:
                raise self.err(f"block {bname!r} has no parameter {key!r}{suggest(key, list(params))}",
                               (*path, key), f"{call_name}.{key}")
        layer_params = self.layer_params(bname, ())
        for p, default in params.items():
            if p in call:
                raw, ppath, pname, pscope = call[p], (*path, p), f"{call_name}.{p}", outer
            elif default is None:
                raise self.err(f"block {bname!r} needs the parameter {p!r}", path, f"{call_name}.{p}")
            else:  # a default may use the parameters before it
                raw, ppath, pname, pscope = default, ("blocks", bname, "params", p), f"blocks.{bname}.params.{p}", scope
            if p in layer_params:
                if not isinstance(raw, str) or not NAME_PATTERN.match(raw):
                    raise self.err(f"expected a layer name (block {bname!r} reads {p!r} in 'from' or 'like'), got "
                                   f"{_type_name(raw)}", ppath, pname)
                scope[p] = LayerArg(self.ref(raw, ppath, pname, local), call_name, p)
                continue
            base, dom = self.param_field(block, p)
            one: dict[str, Any] = dict(minimum=None, domain=dom, layer=call_name, base=base)
            if isinstance(raw, list):
                if len(raw) != self.ndim:
                    raise self.err(f"expected {self.ndim} values (a list argument has one per spatial axis: "
                                   f"{', '.join(AXIS_NAMES[self.ndim])}), got {len(raw)}", ppath, pname)
                scope[p] = ListArg(tuple(self.value(v, (*ppath, i), f"{pname}[{i}]", scope=pscope,
                                                    unknown=f"{call_name}.{p}[{i}]", **one)
                                         for i, v in enumerate(raw)), call_name, p)
            elif self.list_names(raw, pscope):  # passed on from a list argument of the caller: per axis too
                scope[p] = ListArg(tuple(self.value(raw, ppath, pname, scope=pscope, unknown=f"{call_name}.{p}",
                                                    axis=i, **one) for i in range(self.ndim)), call_name, p)
            else:
                scope[p] = self.value(raw, ppath, pname, scope=pscope, unknown=f"{call_name}.{p}", **one)
        return scope

    def layer_params(self, bname: str, stack: tuple[str, ...]) -> frozenset[str]:
        """The parameters a block reads as layers: named in a ``from``, a layer field (``like``),
        or passed on to such a parameter of a block it calls."""
        known = self._layer_params
        if bname in known:
            return known[bname]
        block = self.blocks.get(bname)
        params = set((block.get("params") or {}) if isinstance(block, dict) else ())
        found: set[str] = set()
        for item in (block.get("layers") or []) if isinstance(block, dict) else []:
            if not isinstance(item, dict):
                continue
            raw = item.get("from")
            found.update(n for n in (raw if isinstance(raw, list) else [raw]) if isinstance(n, str) and n in params)
            opdef = OPS.get(ALIASES.get(str(item.get("op")), str(item.get("op"))))
            if opdef is not None:
                found.update(v for k, v in item.items() if isinstance(v, str) and v in params
                             and k in opdef.field_map and opdef.field_map[k].kind is Kind.LAYER)
            inner = item.get("block")
            if isinstance(inner, str) and inner in self.blocks and inner not in stack and inner != bname:
                passed = self.layer_params(inner, (*stack, bname))
                found.update(v for k, v in item.items() if k in passed and isinstance(v, str) and v in params)
        known[bname] = frozenset(found)
        return known[bname]

    def param_field(self, block: dict[str, Any], param: str) -> tuple[str, tuple[str, str]]:
        """The field a block parameter stands for, when it is written as a whole value
        (``kernel: k``): a ``"?"`` passed for it gets that field's domain."""
        uses: dict[str, list[tuple[str, str]]] = {}  # field -> the domains of the ops it stands in
        for item in block.get("layers") or []:
            if not isinstance(item, dict):
                continue
            opdef = OPS.get(ALIASES.get(str(item.get("op")), str(item.get("op"))))
            for key, value in item.items():
                values = value if isinstance(value, list) else [value]
                if any(isinstance(v, str) and v.strip() == param for v in values):
                    fdef = opdef.field_map.get(str(key)) if opdef is not None else None
                    if fdef is None:  # a nested block call, or no op: any op's field of that name
                        fdef = next((d.field_map[str(key)] for d in OPS.values() if str(key) in d.field_map), None)
                    if fdef is not None and fdef.domain is not None:
                        uses.setdefault(str(key), []).append(fdef.domain)
                    else:
                        uses.setdefault(str(key), [])
        if len(uses) == 1:
            (name, domains), = uses.items()
            if domains:
                lows, highs = sorted({d[0] for d in domains}), sorted({d[1] for d in domains})
                # conv padding and pool padding at once: the widest; each layer's rule still holds
                lo = lows[0] if len(lows) == 1 else f"min({', '.join(lows)})"
                hi = highs[0] if len(highs) == 1 else f"max({', '.join(highs)})"
                return name, (lo, hi)
        return param, ("1", "11")

    # -- layers ------------------------------------------------------------------------------
    def expand_list(self, items: list[Any], path: tuple[Any, ...], *, prefix: str, scope: Scope,
                    first_source: str, depth: int, group: str | None, stack: tuple[str, ...],
                    visible: Mapping[str, str], uprefix: str | None = None) -> str:
        """Expand a list of layers; return the name of the last one's output.

        ``uprefix`` scopes the names of unknowns: like ``prefix`` without the copy numbers
        of a ``repeat``, whose copies share every unknown."""
        uprefix = prefix if uprefix is None else uprefix
        prev = first_source
        local: dict[str, str] = dict(visible)  # written name -> full name
        seen: set[str] = set()
        for i, item in enumerate(items):
            ipath = (*path, i)
            if not isinstance(item, dict):
                raise self.err(f"a layer must be a mapping like {{op: conv, ...}}, got {_type_name(item)}",
                               ipath, f"{path[-1]}[{i}]")
            written = item.get("name")
            if written is not None and (not isinstance(written, str) or not NAME_PATTERN.match(written)
                                        or written in RESERVED):
                raise self.err(f"{written!r} is not a valid layer name (letters, digits and _; not "
                               f"{', '.join(sorted(RESERVED))})", (*ipath, "name"), "name")
            if written is None:
                written = layer_name(item, i, seen)
            if written in seen:
                raise self.err(f"duplicate layer name {written!r}", (*ipath, "name"),
                               f"{path[-1]}[{i}] ({prefix + written}).name")
            seen.add(written)
            full = prefix + written
            label = f"layers[{i}] ({full})" if not prefix else full
            # the network's own layers are independent: each one's problem is kept and the next
            # one read (inside a block call, the call's first problem stands for it)
            with self.collecting() if path == ("layers",) else contextlib.nullcontext():
                prev = self.expand_item(item, ipath, full, label, scope=scope, prev=prev, depth=depth,
                                        group=group, stack=stack, local=local, ufull=uprefix + written)
            local[written] = full
        return prev

    def sources_of(self, item: dict[str, Any], ipath: tuple[Any, ...], label: str, prev: str,
                   local: Mapping[str, str], merge: bool) -> tuple[str, ...]:
        raw = item.get("from")
        if raw is None:
            if merge:
                raise self.err("a merge needs 'from' with a list of at least two layers", ipath, f"{label}.from")
            return (prev,)
        names = raw if isinstance(raw, list) else [raw]
        if merge and (not isinstance(raw, list) or len(raw) < 2):
            raise self.err("a merge needs 'from' with a list of at least two layers", (*ipath, "from"),
                           f"{label}.from")
        if not merge and isinstance(raw, list) and len(raw) != 1:
            raise self.err(f"only merges (concat, add) read several layers; got {len(raw)}", (*ipath, "from"),
                           f"{label}.from")
        out = []
        for k, n in enumerate(names):
            npath = (*ipath, "from", k) if isinstance(raw, list) else (*ipath, "from")
            if not isinstance(n, str):
                raise self.err(f"expected a layer name, got {_type_name(n)}", npath, f"{label}.from")
            out.append(self.ref(n, npath, f"{label}.from", local))
        return tuple(out)

    def ref(self, n: str, ipath: tuple[Any, ...], fieldname: str, local: Mapping[str, str]) -> str:
        if n in ("input", "in"):
            return local.get(n, "input")
        if n in local:
            return local[n]
        # a forward reference: resolved (or reported as dangling) once every layer is known
        token = f"\0{len(self.pending)}"
        self.pending[token] = (n, ipath, fieldname)
        return token

    def expand_item(self, item: dict[str, Any], ipath: tuple[Any, ...], full: str, label: str, *,
                    scope: Scope, prev: str, depth: int, group: str | None,
                    stack: tuple[str, ...], local: dict[str, str], ufull: str) -> str:
        if "op" in item and "block" in item:
            raise self.err("a layer has either 'op' or 'block', not both", ipath, label)
        repeat = self.repeat_count(item.get("repeat", 1), (*ipath, "repeat"), f"{label}.repeat", scope, full)
        if "block" in item:
            bname = item["block"]
            if not isinstance(bname, str) or bname not in self.blocks:
                raise self.err(f"unknown block {bname!r}{suggest(str(bname), list(self.blocks))}",
                               (*ipath, "block"), f"{label}.block")
            if bname in stack:
                raise self.err(f"block {bname!r} calls itself ({' -> '.join([*stack, bname])})", (*ipath, "block"),
                               f"{label}.block")
            sources = self.sources_of(item, ipath, label, prev, local, merge=False)
            call_scope = self.call_scope(bname, item, ipath, ufull, scope, local)
            self.call_args[ufull] = {k: v for k, v in call_scope.items() if not isinstance(v, LayerArg)}
            layer_args = {k: v.layer for k, v in call_scope.items() if isinstance(v, LayerArg)}
            opname = f"block:{bname}"
        else:
            op = item.get("op")
            if op is None:
                raise self.err("the layer has no 'op' (or 'block')", ipath, label)
            if not isinstance(op, str) or (op not in OPS and op not in ALIASES):
                raise self.err(f"unknown op {op!r}{suggest(str(op), [*OPS, *ALIASES, *self.blocks])}",
                               (*ipath, "op"), f"{label}.op")
            op = ALIASES.get(op, op)
            opdef = OPS[op]
            if opdef.merge and repeat != 1:
                raise self.err("a merge cannot be repeated", (*ipath, "repeat"), f"{label}.repeat")
            sources = self.sources_of(item, ipath, label, prev, local, merge=opdef.merge)
            opname = f"repeat:{op}"

        where = self.doc.where(ipath)
        first_layer = len(self.layers)
        if repeat > 1 or "block" in item:
            self.rows.append(full)
        copies = [f"{full}/{c}" for c in range(repeat)] if repeat > 1 else [full]
        source = sources
        inner_group = full if (repeat > 1 or "block" in item) else group
        for copy in copies:
            copy_first = len(self.layers)
            if "block" in item:
                copy_group = copy if repeat > 1 else None
                if repeat > 1:
                    self.rows.append(copy)
                out = self.expand_list(self.blocks[bname]["layers"], ("blocks", bname, "layers"),
                                       prefix=copy + "/", uprefix=ufull + "/", scope=call_scope,
                                       first_source=source[0],
                                       depth=depth + (2 if repeat > 1 else 1),
                                       group=copy_group or inner_group, stack=(*stack, bname),
                                       visible={**local, **layer_args, "in": source[0]})
                if repeat > 1:
                    self.add_group(copy, opname, depth + 1, where, out, full, copy_first)
                    out = copy  # the next copy reads this one, by its name
            else:
                out = self.make_layer(item, ipath, copy, label, op, scope, source,
                                      depth + (1 if repeat > 1 else 0), where,
                                      inner_group if repeat > 1 else group, unknown_prefix=ufull, local=local)
            source = (out,)
        if repeat > 1 or "block" in item:
            self.add_group(full, opname, depth, where, source[0], group, first_layer, (*ipath, "name"), label)
        return full if (repeat > 1 or "block" in item) else source[0]

    def repeat_count(self, raw: Any, path: tuple[Any, ...], fieldname: str, scope: Scope, full: str) -> int:
        """``repeat``: an integer, or inside a block a parameter (or an expression of them)
        that each call makes a whole number."""
        limit = self.limits.repeat
        if raw == UNKNOWN:
            raise self.err("repeat cannot be unknown ('?'): the number of copies is part of the network, "
                           "not a size to solve for", path, fieldname)
        if isinstance(raw, str) and scope:
            try:
                e = fold(self.expr(raw, path, fieldname, self.vars, scope))
            except ExprError as exc:
                raise self.err(f"repeat {raw!r}: {exc.bare}", path, fieldname) from None
            call = full.rpartition("/")[0]
            if not isinstance(e, Num):
                names = ", ".join(sorted(e.names()))
                raise self.err(f"repeat {raw!r} must be a whole number at each call, but at the call {call} it is "
                               f"{e}, which names {names} (a var or '?' is only known when solved)", path, fieldname)
            if not 1 <= e.value <= limit:
                raise self.err(f"repeat {raw!r} is {e.value} at the call {call}: it must be in 1..{limit}",
                               path, fieldname)
            return e.value
        if isinstance(raw, bool) or not isinstance(raw, int):
            hint = " (or, inside a block, a parameter)" if isinstance(raw, str) else ""
            raise self.err(f"repeat must be an integer in 1..{limit}{hint}, got {_type_name(raw)}", path, fieldname)
        if not 1 <= raw <= limit:
            raise self.err(f"repeat must be in 1..{limit}, got {raw}", path, fieldname)
        return raw

    def add_group(self, name: str, op: str, depth: int, where: Location, output: str, group: str | None,
                  first_layer: int, path: tuple[Any, ...] = (), label: str = "name") -> None:
        """Register a block call or repeat; its members are the layers made since ``first_layer``."""
        members = tuple(lay.name for lay in self.layers[first_layer:])
        # groups nest (a block ending in a block call): alias straight to a layer
        output = self.aliases.get(output, output)
        self.groups.append(Group(name, op, depth, where, output, members, group))
        self.aliases[name] = output
        if name in self.names:
            raise self.err(f"duplicate layer name {name!r}", path, f"{label}.name" if path else label)
        self.names.add(name)

    def make_layer(self, item: dict[str, Any], ipath: tuple[Any, ...], name: str, label: str, op: str,
                   scope: Scope, sources: tuple[str, ...], depth: int, where: Location,
                   group: str | None, unknown_prefix: str, local: Mapping[str, str]) -> str:
        opdef = OPS[op]
        for key in item:
            if key not in LAYER_KEYS and (key not in opdef.field_map or opdef.field_map[key].borrowed):
                options = [*(f.name for f in opdef.fields if not f.borrowed), *LAYER_KEYS]
                raise self.err(f"{op} has no field {key!r}{suggest(str(key), options)}", (*ipath, key),
                               f"{label}.{key}")
        values: dict[str, Any] = {}
        written: dict[str, str] = {}
        extra: list[str] = []
        for f in opdef.fields:
            fpath = (*ipath, f.name)
            fname = f"{label}.{f.name}"
            if f.borrowed:
                continue  # copied from the layer a LAYER field names, once every layer is known
            if f.name in item:
                values[f.name] = self.field_value(f, item[f.name], fpath, fname, scope, unknown_prefix, label, op)
                written[f.name] = f.name
            elif isinstance(f.default, str) and f.default.startswith("="):
                values[f.name] = values.get(f.default[1:])
            elif f.default is REQUIRED:
                raise self.err(f"{op} needs the field {f.name!r}", ipath, fname)
            elif f.name == "padding" and self.tf_padding(op):
                values[f.name] = "valid"  # Keras's default
            else:
                values[f.name] = self.default_value(f)
            if f.kind is Kind.LAYER and values[f.name] is not None:
                extra.append(self.ref(values[f.name], fpath, fname, local))
                values[f.name] = extra[-1]
                if f.of_op:
                    self.lenders[name] = (fpath, fname)
        if op == "upsample" and sum(values.get(k) is not None for k in ("scale", "size", "like")) != 1:
            raise self.err("upsample needs exactly one of 'scale', 'size' or 'like' (a layer)", ipath, label)
        if op == "crop" and (values.get("like") is None) == (values.get("amount") is None):
            raise self.err("crop needs exactly one of 'like' (a layer) or 'amount'", ipath, label)
        if op == "crop" and values.get("offset") is not None and values.get("like") is None:
            raise self.err("crop's 'offset' goes with 'like' (a layer): with 'amount', the amount before each axis "
                           "is the offset", (*ipath, "offset"), f"{label}.offset")
        if name in self.names:
            raise self.err(f"duplicate layer name {name!r}", (*ipath, "name"), f"{label}.name")
        self.names.add(name)
        if len(self.layers) >= self.limits.layers:
            raise LimitPassed(f"the network has more than {self.limits.layers} layers", self.doc.where(ipath), label)
        self.layers.append(Layer(name, op, values, (*sources, *extra), depth, where, group, written))
        self.items[unknown_prefix] = (op, values)  # `repeat` copies share it: c/0, c/1 are item c
        self.rows.append(name)
        return name

    def tf_padding(self, op: str | None) -> bool:
        """Whether this op's padding follows TensorFlow's same/valid words."""
        return self.semantics is Semantics.TF and op in TF_PADDED

    def default_value(self, f: FieldDef) -> Any:
        d = f.default
        if f.kind is Kind.AXES and d is not None and not isinstance(d, str):
            return (Num(d),) * self.ndim
        if f.kind is Kind.SIDES and d is not None:
            return ((Num(d), Num(d)),) * self.ndim
        if f.kind is Kind.INT and d is not None:
            return Num(d)
        return d

    def field_value(self, f: FieldDef, raw: Any, path: tuple[Any, ...], fname: str,
                    scope: Scope, unknown_prefix: str, label: str, op: str = "") -> Any:
        kind = f.kind
        if kind is Kind.BOOL:
            if not isinstance(raw, bool):
                raise self.err(f"expected true or false, got {_type_name(raw)}", path, fname)
            return raw
        if kind is Kind.NUMBER:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise self.err(f"expected a number, got {_type_name(raw)}", path, fname)
            if (f.minimum is not None and raw < f.minimum) or (f.maximum is not None and raw > f.maximum):
                raise self.err(f"must be between {f.minimum} and {f.maximum}, got {raw}", path, fname)
            return raw
        if kind is Kind.CHOICE:
            if raw not in f.choices:
                raise self.err(f"expected one of {', '.join(f.choices)}; got {_type_name(raw)}"
                               f"{suggest(str(raw), f.choices)}", path, fname)
            return raw
        if kind is Kind.LAYER:
            if not isinstance(raw, str):
                raise self.err(f"expected a layer name, got {_type_name(raw)}", path, fname)
            return raw
        one: dict[str, Any] = dict(scope=scope, minimum=f.minimum, domain=f.domain, layer=unknown_prefix,
                                   base=f.name)
        if kind is Kind.DIMS:
            return self.dims_value(raw, path, fname, one)
        if kind is Kind.INT:
            if isinstance(raw, list):
                raise self.err("expected one integer, got a list", path, fname)
            return self.value(raw, path, fname, unknown=f"{unknown_prefix}.{f.name}", **one)
        if f.name == "padding" and self.tf_padding(op):
            if raw not in ("same", "valid"):
                raise self.err(f"with semantics: tf, padding is 'same' or 'valid' (TensorFlow/Keras), "
                               f"got {_type_name(raw)}", path, fname)
            return raw
        if kind is Kind.AXES:
            if isinstance(raw, str) and raw in f.words:
                return raw
            if isinstance(raw, str) and raw.strip().isalpha() and raw not in f.words and f.words \
                    and raw.strip() not in self.vars and raw.strip() not in scope:
                raise self.err(f"expected an integer, an expression or one of {', '.join(f.words)}; "
                               f"got {raw!r}{suggest(raw, f.words)}", path, fname)
            if isinstance(raw, list):
                if len(raw) != self.ndim:
                    raise self.err(f"expected {self.ndim} values (one per spatial axis: "
                                   f"{', '.join(AXIS_NAMES[self.ndim])}), got {len(raw)}", path, fname)
                return tuple(self.value(v, (*path, i), f"{fname}[{i}]", unknown=f"{unknown_prefix}.{f.name}[{i}]",
                                        **one) for i, v in enumerate(raw))
            if self.list_names(raw, scope):  # a list argument: each axis its own entry
                return tuple(self.value(raw, path, fname, unknown=f"{unknown_prefix}.{f.name}", axis=i, **one)
                             for i in range(self.ndim))
            v = self.value(raw, path, fname, unknown=f"{unknown_prefix}.{f.name}", **one)
            return (v,) * self.ndim
        # SIDES: one amount, or one per axis, each a value or [before, after]
        items = raw if isinstance(raw, list) else [raw] * self.ndim
        if len(items) != self.ndim:
            raise self.err(f"expected {self.ndim} values (one per spatial axis), got {len(items)}", path, fname)
        out = []
        for i, it in enumerate(items):
            ip = (*path, i) if isinstance(raw, list) else path
            if isinstance(it, list):
                if len(it) != 2:
                    raise self.err("expected [before, after]", ip, f"{fname}[{i}]")
                out.append(tuple(self.value(v, (*ip, j), f"{fname}[{i}][{j}]",
                                            unknown=f"{unknown_prefix}.{f.name}[{i}][{j}]", **one)
                                 for j, v in enumerate(it)))
            else:
                suffix = f"[{i}]" if isinstance(raw, list) else ""
                v = self.value(it, ip, fname + suffix, unknown=f"{unknown_prefix}.{f.name}{suffix}",
                               axis=None if isinstance(raw, list) else i, **one)
                out.append((v, v))
        return tuple(out)

    def dims_value(self, raw: Any, path: tuple[Any, ...], fname: str, one: dict[str, Any]) -> tuple[Expr, ...]:
        """A whole shape (reshape's): [C, *spatial] or [features], each entry a value; one may
        be a written -1.  No '?': every size follows from the input and the other entries."""
        axes = ", ".join(("C", *AXIS_NAMES[self.ndim]))
        if not isinstance(raw, list) or len(raw) not in (1, self.ndim + 1):
            got = f"{len(raw)} values" if isinstance(raw, list) else _type_name(raw)
            raise self.err(f"expected a shape: [{axes}] or [features], got {got}", path, fname)
        out = []
        for i, v in enumerate(raw):
            if v == UNKNOWN:
                raise self.err("a shape takes no '?': its sizes follow from the input; write -1 for the one "
                               "entry to work out", (*path, i), f"{fname}[{i}]")
            e = self.value(v, (*path, i), f"{fname}[{i}]", unknown="", **{**one, "minimum": None})
            if isinstance(e, Num) and e.value < 1 and e.value != -1:
                raise self.err(f"must be positive, or -1 for the entry to work out, got {e.value}", (*path, i),
                               f"{fname}[{i}]")
            out.append(e)
        minus = [i for i, e in enumerate(out) if isinstance(e, Num) and e.value == -1]
        if len(minus) > 1:
            raise self.err(f"only one entry may be -1 (torch works out one size), got -1 at {minus[0]} and {minus[1]}",
                           (*path, minus[1]), f"{fname}[{minus[1]}]")
        return tuple(out)

    def borrow_fields(self) -> None:
        """Copy the fields a layer borrows from the layer a LAYER field names (a maxunpool's
        kernel, stride, padding and dilation are its maxpool's), and read that layer's input
        too where the field says so (the size a maxunpool gives back)."""
        by_name = {lay.name: lay for lay in self.layers}
        for k, lay in enumerate(self.layers):
            if lay.name not in self.lenders:
                continue
            path, fname = self.lenders[lay.name]
            f = next(f for f in OPS[lay.op].fields if f.of_op)
            lender = by_name.get(lay.sources[-1])
            if lender is None or lender.op != f.of_op:
                what = f"a {lender.op}" if lender is not None else "the network's input"
                raise self.err(f"{lay.op} takes the indices of a {f.of_op}, but {lay.refs[-1]!r} is {what}",
                               path, fname)
            if self.semantics is Semantics.TF:
                raise self.err(f"{lay.op} is torch's (MaxUnpool): there is none with semantics: tf", path, fname)
            values = {**lay.values, f.name: lender.name, **{b: lender.values[b] for b in f.borrows}}
            extra = (lender.sources[0],) if f.reads_input else ()
            self.layers[k] = replace(lay, values=values, sources=(*lay.sources, *extra),
                                     refs=(*lay.refs, *(lender.refs[:1] if f.reads_input else ())))

    def resolve_sources(self) -> None:
        """Turn forward references into layer names, or report them as dangling."""
        known = {lay.name for lay in self.layers}
        fixed = []
        for lay in self.layers:
            srcs = []
            refs = []
            for s in lay.sources:
                if s in self.pending:
                    n, ipath, fieldname = self.pending[s]
                    target = self.aliases.get(n, n)
                    if target not in known:
                        options = sorted(k for k in known | set(self.aliases) if "/" not in k)
                        raise self.err(f"no layer named {n!r}{suggest(n, options)}", ipath, fieldname)
                    s = n if n in self.aliases else target
                refs.append(s)
                srcs.append(self.aliases.get(s, s))
            values = lay.values
            named = [f.name for f in OPS[lay.op].fields if f.kind is Kind.LAYER and isinstance(values.get(f.name), str)]
            if named:  # the layers its LAYER fields name are its last sources, in field order
                values = {**values, **dict(zip(named, srcs[len(srcs) - len(named):], strict=True))}
            fixed.append(Layer(lay.name, lay.op, values, tuple(srcs), lay.depth, lay.where, lay.group, lay.written,
                               tuple(refs)))
        self.layers = fixed

    # -- constraints ------------------------------------------------------------------------
    def parse_constraint(self, raw: Any, path: tuple[Any, ...], fieldname: str, logic: bool = True) -> Expr:
        """A constraint (``logic``: a comparison or and/or/not of them) or an objective."""
        return self.parse_written(raw, path, fieldname, logic)[0]

    def parse_written(self, raw: Any, path: tuple[Any, ...], fieldname: str, logic: bool = True
                      ) -> tuple[Expr, Expr]:
        """:meth:`parse_constraint`'s expression, and the expression as written (``c.kernel``
        where the first has the 3 written there), for showing it."""
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise self.err(f"expected an expression, got {_type_name(raw)}", path, fieldname)
        try:
            e = parse(str(raw), CONSTRAINT if logic else frozenset({"attr", "units"}), self.limits.expr_length)
        except ExprError as exc:
            raise self.err(exc.bare, path, fieldname) from None
        if logic and not _is_condition(e):
            raise self.err(f"{raw!r} is not a condition: compare with == != < <= > >=, e.g. 'head.H == 64'",
                           path, fieldname)
        shown = e
        try:
            e = self.written().resolve(e, set(self.vars) | set(self.unknowns))
        except ValueError as exc:
            raise self.err(str(exc), path, fieldname) from None
        zero = _divides_by_zero(e)
        if zero is not None:  # a literal zero divisor never holds for any size: a mistake in the spec
            raise self.err(f"division by zero in {zero}", path, fieldname)
        self.check_names(e, path, fieldname)
        return e, shown

    def written(self) -> WrittenValues:
        """The names of written values (made once the layers are all loaded)."""
        if self._written is None:
            self._written = WrittenValues(self.call_args, {**{lay.name: (lay.op, lay.values) for lay in self.layers},
                                                            **self.items})
        return self._written

    def load_constraints(self, raw: Any) -> list[Constraint]:
        if not isinstance(raw, list):
            raise self.err(f"expected a list of expressions, got {_type_name(raw)}", ("constraints",), "constraints")
        out = []
        for i, c in enumerate(raw):
            e = self.parse_constraint(c, ("constraints", i), f"constraints[{i}]")
            out.append(Constraint(e, str(c), self.doc.where(("constraints", i))))
        return out

    def check_names(self, e: Expr, path: tuple[Any, ...], fieldname: str) -> None:
        layer_names = {lay.name for lay in self.layers} | set(self.aliases) | {"input"}
        for n in sorted(e.names()):
            if n in TOTALS or n in self.vars or n in self.unknowns:
                continue
            base, _, attr = n.rpartition(".")
            if base and base in layer_names:
                allowed = ("C", *AXIS_NAMES[self.ndim], "shape", "params", "macs")
                if attr not in allowed:
                    entry = self.written().items.get(base)
                    fields = [f.name for f in OPS[entry[0]].fields if f.kind in (Kind.INT, Kind.AXES, Kind.SIDES)
                              and f.name in entry[1]] if entry is not None else []
                    more = f"; and its integer fields: {', '.join(fields)}" if fields else ""
                    raise self.err(f"{n!r}: a layer has no attribute {attr!r} (it has {', '.join(allowed)}{more})"
                                   f"{suggest(attr, [*allowed, *fields])}", path, fieldname)
                continue
            if base:
                raise self.err(f"{n!r}: no layer named {base!r}{suggest(base, sorted(layer_names))}", path, fieldname)
            options = [*self.vars, *self.unknowns, *TOTALS]
            raise self.err(f"unknown name {n!r}{suggest(n, options)}", path, fieldname)








def _divides_by_zero(e: Expr) -> Expr | None:
    """The part of ``e`` that divides by a literal 0 (``a.L // 0``), if any."""
    if isinstance(e, Bin):
        if e.op in ("//", "%") and isinstance(e.right, Num) and e.right.value == 0:
            return e
        return _divides_by_zero(e.left) or _divides_by_zero(e.right)
    if isinstance(e, Call):
        for a in e.args:
            found = _divides_by_zero(a)
            if found is not None:
                return found
    return None


def _is_condition(e: Expr) -> bool:
    if isinstance(e, Bin):
        if e.op in ("and", "or"):
            return _is_condition(e.left) and _is_condition(e.right)
        return e.op in COMPARISONS
    return isinstance(e, Call) and e.fn == "not" and _is_condition(e.args[0])


def load_document(doc: Document, limits: Limits = DEFAULT_LIMITS) -> Spec:
    """Validate and expand a parsed :class:`Document`."""
    return _Loader(doc, limits).load()


def load_spec(path: str, limits: Limits = DEFAULT_LIMITS) -> Spec:
    """Load a spec file.

    >>> spec = load_spec("specs/unet-original.yaml")
    >>> spec.name, len(spec.layers)
    ('unet-original', 53)
    """
    return load_document(read_document(path, limits), limits)


def load_edited(spec: Spec, data: Any) -> Spec:
    """The spec of ``data``, an edit of ``spec``'s document (a repair, a relaxation), read as
    ``spec`` was: under its limits, and counting memory at its batch and dtype (``--batch``
    and ``--dtype`` replace the document's own)."""
    doc = spec.document
    return replace(load_document(Document(data, doc.file, doc.marks), spec.limits), memory=spec.memory)


def load_text(text: str, file: str = "<spec>", limits: Limits = DEFAULT_LIMITS) -> Spec:
    """Load a spec from YAML text (handy in tests and notebooks)."""
    return load_document(parse_document(text, file, limits), limits)
