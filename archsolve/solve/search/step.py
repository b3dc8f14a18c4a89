"""One step of the search's walk, for the values bound so far: its combinations, its output
shape by the very rules ``check`` runs, its checks and its counts -- each remembered.

A step's output depends only on its input shapes and the values its fields read, so the
walks meet the same (step, inputs, values) again and again -- different earlier choices
often reach the same sizes -- and :meth:`Evaluator.run` works each out once.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.solve.search.plan import Plan
    >>> evaluator = Evaluator(Plan(build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... ''')), "sum"))
    >>> env = {"up.kernel": 3}
    >>> shapes = [evaluator.run(0, env, [None] * 3), None, None]
    >>> evaluator.run(1, env, shapes)
    (1, 17)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from archsolve.errors import ArchsolveError, ExprError, SpecError
from archsolve.lang.expr import Expr
from archsolve.ops.base import Args, Severity, Shape
from archsolve.ops.table import OPS
from archsolve.shapes.propagate import (
    ArgPlan,
    evaluate_constraint,
    fill_args,
    memory_values,
    names_in,
    plan_args,
    propagate,
)
from archsolve.solve.search.plan import Check, NotApplicable, Plan, Step
from archsolve.spec.domains import dependent_bounds, in_field_domains

MISSING = object()
_ERROR = Severity.ERROR  # a module constant: an Enum member's attribute lookup costs 0.1 us per failed condition


class _Valid:
    """A Req that only remembers whether an error-severity condition failed."""

    __slots__ = ("bad",)
    warns = False

    def __init__(self) -> None:
        self.bad = False

    def need(self, cond: Any, rule: str, field: str, message: Any, *, fatal: bool = False,
             severity: Severity = Severity.ERROR) -> None:
        if not cond and severity is _ERROR:
            self.bad = True


class Evaluator:
    """Runs the plan's steps.  ``memo``: everything the search remembers -- outputs, Args,
    ranges, combinations, counts, and the optimum's streams -- in one dict; ``held``: the
    items in its lists (a layer's combinations, ranked) and the walks' dead states.  Its
    ``len`` is both together, which the budget bounds: one memo entry may be a list of a
    million combinations (a layer's, in the making, is at most ``--max-combinations``)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.spec = plan.spec
        self.steps = plan.steps
        self.memo: dict[Any, Any] = {}
        self.held = 0
        self._req = _Valid()  # one for every rule call: a rule only sets ``bad``
        # a step whose fields read names: one Args, refilled for each binding (a rule keeps
        # nothing of them), and how to refill it by plain reads, where that is enough
        self._scratch = [Args(st.arg_plan.static, self.spec.ndim, st.arg_plan.layer.name, st.arg_plan.sources)
                         if st.arg_plan is not None and st.fixed is None else None for st in self.steps]
        self._fills = [self._plain_fills(st.arg_plan) if st.arg_plan is not None and st.fixed is None else None
                       for st in self.steps]

    def __len__(self) -> int:
        return len(self.memo) + self.held

    # -- the step's output --------------------------------------------------------------------------
    def run(self, i: int, env: Mapping[str, int], shapes: list[Shape | None]) -> Shape | None:
        """Step ``i``'s output shape, or None when it is invalid (memoized)."""
        st = self.steps[i]
        inputs = st.gather(shapes)
        key = (i, inputs, st.read(env))
        memo = self.memo
        hit = memo.get(key, MISSING)
        if hit is not MISSING:
            return hit  # type: ignore[no-any-return]
        out = memo[key] = self._output(i, st, env, inputs)
        return out

    def fresh(self, i: int, env: Mapping[str, int], shapes: list[Shape | None]) -> Shape | None:
        """:meth:`run` without the memo: a first solution's walk seldom meets a binding twice
        (the states it left are skipped whole), so it remembers nothing until it runs long."""
        st = self.steps[i]
        return self._output(i, st, env, st.gather(shapes))

    def _output(self, i: int, st: Step, env: Mapping[str, int], inputs: tuple[Shape, ...]) -> Shape | None:
        args = st.fixed
        if args is None:
            if st.layer is None:
                if i == 0:
                    shape = tuple(self.value(e, env, f"input[{k}]") for k, e in enumerate(self.spec.input))
                    return shape if min(shape) >= 1 else None
                return ()
            args = self._refill(i, st, env)
            if args is None:
                return None
        req = self._req
        req.bad = False
        y = st.rule(args, inputs, req)
        return None if req.bad else tuple(y)

    def _refill(self, i: int, st: Step, env: Mapping[str, int]) -> Args | None:
        """The layer's Args for these values, in the step's own Args object, or None as
        :meth:`args` gives it."""
        args = self._scratch[i]
        fills = self._fills[i]
        assert args is not None and st.arg_plan is not None
        if fills is not None:
            for name, get in fills:
                args[name] = get(env)
        else:
            try:
                fill_args(st.arg_plan, env, self.spec, args)
            except ArchsolveError:
                return None
        if st.dependent and not in_field_domains(self.spec, args, {u: env[u] for u in st.dependent}, self.spec.ndim):
            return None
        return args

    def _plain_fills(self, arg_plan: ArgPlan) -> tuple[tuple[str, Any], ...] | None:
        """How to refill a step's Args by plain reads alone: every dynamic field one name per
        axis whose every candidate keeps the field's minimum (a stride's 1..4, not a var
        ranging over -3..3), so nothing is left to check; else None."""
        out = []
        lows = self.plan.lows
        for name, _, v, minimum, plain in arg_plan.dynamic:
            if plain is None:
                return None
            if minimum is not None and any(lows.get(n, minimum - 1) < minimum for n in names_in(v)):
                return None
            out.append((name, plain))
        return tuple(out)

    def args(self, i: int, st: Step, env: Mapping[str, int]) -> Args | None:
        """The layer's Args for these values (the same for every input shape), or None when
        a value is out of its field's range or dependent domain (memoized)."""
        assert st.arg_plan is not None
        if st.fixed is not None:
            return st.fixed
        key = ("args", i, st.read(env))
        hit = self.memo.get(key, MISSING)
        if hit is not MISSING:
            return hit  # type: ignore[no-any-return]
        try:
            args: Args | None = plan_args(st.arg_plan, env, self.spec)
        except ArchsolveError:
            args = None
        if args is not None and st.dependent and not in_field_domains(
                self.spec, args, {u: env[u] for u in st.dependent}, self.spec.ndim):
            args = None
        self.memo[key] = args
        return args

    # -- its checks and counts ------------------------------------------------------------------------
    def holds(self, st: Step, env: Mapping[str, int], shapes: list[Shape | None]) -> bool:
        """Whether every check placed at the step holds."""
        for c in st.checks:
            if c.shape_is is not None:
                if shapes[c.shape_is[0]] != c.shape_is[1]:
                    return False
                continue
            if c.within is not None:
                where, d, members = c.within
                shape = shapes[where]
                if shape is None or d >= len(shape) or shape[d] not in members:
                    return False
                continue
            if c.compare is not None:
                where, d, test, number = c.compare
                shape = shapes[where]
                if shape is None or d >= len(shape) or not test(shape[d], number):
                    return False
                continue
            try:
                value = self.evaluate(c, env, shapes)
            except ExprError:  # a division by zero for these sizes: the constraint fails, as in check
                return False
            if not value:
                return False
        return True

    def evaluate(self, c: Check, env: Mapping[str, int], shapes: list[Shape | None]) -> int | None:
        """A constraint's truth or the objective's value, for the values and shapes so far
        (None: it names an axis the shape lacks, after flatten)."""
        scalars: dict[str, int] = dict(env)
        for name, where, d in c.scalars:
            shape = shapes[where]
            assert shape is not None
            if d >= len(shape):
                return None
            scalars[name] = shape[d]
        for name, parts in c.counts:
            scalars[name] = sum(self._layer_count(where, kind, on, env, shapes) for where, kind, on in parts)
        if c.memory:
            scalars.update(self._memory(env))
        lists = {name: shapes[where] for name, where in c.lists}
        try:
            return evaluate_constraint(c.expr, scalars, lists)  # type: ignore[arg-type]
        except ZeroDivisionError:
            raise ExprError(f"division by zero in {c.expr}") from None
        except KeyError:
            raise NotApplicable(f"{c.expr}") from None

    def _memory(self, env: Mapping[str, int]) -> Mapping[str, int]:
        """``memory`` and ``activations`` at these values of every unknown: the whole network
        propagated once more (memory is no sum of per-layer terms: autograd shares storages)."""
        values = tuple(env[u] for u in self.plan.order)
        key = ("memory", values)
        hit = self.memo.get(key)
        if hit is None:
            got = memory_values(propagate(self.plan.net, dict(zip(self.plan.order, values, strict=True)),
                                          receptive_fields=False))
            if got is None:  # not at a leaf whose every check held: no such network
                raise NotApplicable("memory of a network with a missing shape")
            hit = self.memo[key] = got
        return hit  # type: ignore[no-any-return]

    def count(self, i: int, env: Mapping[str, int], shapes: list[Shape | None], out: Shape) -> int:
        """Step ``i``'s parameters or MACs (the plan's ``kind``), its activations and norms
        included, for the values bound and this output (memoized like :meth:`run`)."""
        st = self.steps[i]
        inputs = st.gather(shapes)
        key = ("count", i, inputs, st.read(env))
        hit = self.memo.get(key)
        if hit is None:
            kind = self.plan.kind
            assert kind is not None
            hit = self._own_count(i, st, kind, env, inputs, out) if st.layer is not None else 0
            for op, fixed in self.plan.passing.get(i, ()):
                hit += int(getattr(op, kind)(fixed, [out], out))
            self.memo[key] = hit
        return hit  # type: ignore[no-any-return]

    def _layer_count(self, i: int, kind: str, on: Any, env: Mapping[str, int], shapes: list[Shape | None]) -> int:
        """One layer's parameters or MACs: step ``i``'s own layer, or ``on`` = (op, Args) of an
        activation or norm whose input is that step's output."""
        out = shapes[i]
        assert out is not None
        if on is not None:
            op, fixed = on
            return int(getattr(op, kind)(fixed, [out], out))
        st = self.steps[i]
        return self._own_count(i, st, kind, env, st.gather(shapes), out)

    def _own_count(self, i: int, st: Step, kind: str, env: Mapping[str, int], inputs: tuple[Shape, ...],
                   out: Shape) -> int:
        """Step ``i``'s own layer's parameters or MACs, for the values bound and these shapes."""
        assert st.layer is not None
        args = self.args(i, st, env)
        assert args is not None  # the step ran: its Args were valid
        return int(getattr(OPS[st.layer.op], kind)(args, list(inputs), out))

    # -- its combinations ------------------------------------------------------------------------------
    def combos(self, st: Step, env: dict[str, int]) -> Iterable[tuple[int, ...]]:
        """Every combination of ``st.new``, ascending, for the names bound before the step.

        Made lazily (a first solution may need only a few of a layer's thousand), and kept
        once a walk has seen them all."""
        key = ("combos", id(st), tuple([env[n] for n in st.before]))
        hit = self.memo.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        return self._combos(st, dict(env), key)

    def _combos(self, st: Step, env: dict[str, int], key: Any) -> Iterator[tuple[int, ...]]:
        new = st.new
        cands = self.plan.cands
        made: list[tuple[int, ...]] = []
        pools: list[list[int] | None] = [None if u in st.exact else cands[u] for u in new]
        k = len(new) - len(st.exact)
        head, tail = new[:k], new[k:]
        if all(p is not None for p in pools):
            for combo in itertools.product(*pools):  # type: ignore[arg-type]
                made.append(combo)
                yield combo
        elif len(tail) == 1 and tail[0] in st.exact and tail[0] not in st.ranges[tail[0]]:
            # the usual case, one padding last whose range reads what comes before it
            (last,) = tail
            for prefix in itertools.product(*pools[:k]):  # type: ignore[arg-type]
                env.update(zip(head, prefix, strict=True))
                for v in self.values(st, last, env):
                    combo = prefix + (v,)
                    made.append(combo)
                    yield combo
        elif all(u in st.exact and not set(st.ranges[u]) & set(tail) for u in tail):
            # the exact ones last, each reading only what comes before them
            for prefix in itertools.product(*pools[:k]):  # type: ignore[arg-type]
                env.update(zip(head, prefix, strict=True))
                for rest in itertools.product(*[self.values(st, u, env) for u in tail]):
                    combo = prefix + rest
                    made.append(combo)
                    yield combo
        else:
            stack = [iter(self.values(st, new[0], env))]
            picked: list[int] = []
            while stack:
                v = next(stack[-1], None)
                if v is None:
                    stack.pop()
                    if picked:
                        picked.pop()
                    continue
                env[new[len(picked)]] = v
                picked.append(v)
                if len(picked) == len(new):
                    combo = tuple(picked)
                    made.append(combo)
                    yield combo
                    picked.pop()
                else:
                    stack.append(iter(self.values(st, new[len(picked)], env)))
        self.held += len(made)  # made whole: kept (those of a walk that stopped early are not)
        self.memo[key] = made

    def values(self, st: Step, u: str, env: Mapping[str, int]) -> list[int]:
        """Candidates for ``u``; a dependent domain (padding 0..kernel-1) from the fields known."""
        cands = self.plan.cands[u]
        if u not in st.exact:
            return cands
        key = ("range", u, st.range_of[u](env))
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = self._range(st, u, env, cands)
        return hit  # type: ignore[no-any-return]

    def _range(self, st: Step, u: str, env: Mapping[str, int], cands: list[int]) -> list[int]:
        assert st.layer is not None
        dom = self.spec.unknowns[u].domain
        fields: dict[str, Any] = {}  # the fields its domain names, for the values bound so far
        for n in dom.names():
            v = st.layer.values[n]
            if isinstance(v, tuple):
                fields[n] = tuple(x.evaluate(env) if isinstance(x, Expr) else x for x in v)
            else:
                fields[n] = v.evaluate(env) if isinstance(v, Expr) else v
        bounds = dependent_bounds(self.spec, u, fields, self.spec.ndim)
        if bounds is None:
            return cands
        return list(range(max(bounds[0], cands[0]), min(bounds[1], cands[-1]) + 1))

    # -- binding its values ------------------------------------------------------------------------------
    def bind(self, st: Step, env: dict[str, int], combo: tuple[int, ...]) -> None:
        """The step's new unknowns set to ``combo``, and the ties known from here on."""
        env.update(zip(st.new, combo, strict=True))
        for n in st.ties:
            env[n] = self.value(self.plan.tied[n], env, f"vars.{n}")

    @staticmethod
    def unbind(st: Step, env: dict[str, int]) -> None:
        for u in st.new:
            env.pop(u, None)
        for n in st.ties:
            env.pop(n, None)

    def value(self, e: Expr, env: Mapping[str, int], field: str) -> int:
        """An input size or tied var for these values; a division by zero names its field."""
        try:
            return e.evaluate(env)
        except ExprError as exc:
            spec = self.spec
            if field.startswith("vars."):
                where = spec.vars[field[len("vars."):]].where
            else:
                where = spec.document.where(("input", int(field[6:-1]))) if spec.document else None
            bound = ", ".join(f"{u} = {env[u]}" for u in sorted(e.names() & env.keys()))
            raise SpecError(f"{exc.bare} (for {bound})", where, field) from None
