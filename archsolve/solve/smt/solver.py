"""Z3: the module that encodes a system for it.  Z3 objects never leave ``solve/smt/``.

:class:`Z3Problem` translates a :class:`~archsolve.solve.smt.system.System` into linear
integer constraints -- floor division and remainders only by constants, each per-layer
effect a guarded implication -- and answers the questions ``solve`` asks: one model, the
optimum (by tightening a bound with incremental solving, not ``z3.Optimize``), every model
(blocking clauses over effects and system unknowns only), and an unsat core naming the
layers and constraints in conflict.  :func:`encode` adds the spec's constraints.

Example::

    >>> from archsolve.spec.load import load_text
    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.solve.smt.system import build_system, constraint_exprs
    >>> system = build_system(build_network(load_text('''
    ... input: [1, 8]
    ... layers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]
    ... constraints: [up.L == 16]
    ... ''')))
    >>> problem = encode(system, constraint_exprs(system), counts=(), timeout=10.0)
    >>> problem.satisfiable(), problem.core()
    (True, [])
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import z3

from archsolve.errors import EncodingLimit, ExprError, SolverTimeout, SpecError, interrupted, placed
from archsolve.lang.expr import Bin, Call, Expr, Name, Num
from archsolve.lang.linear import affine_floor as _affine_floor
from archsolve.solve.smt.system import System, Table, at_constraint, user_names
from archsolve.spec.domains import var_span


class Z3Problem:
    """A system translated to Z3, with labelled (assumable) groups of constraints."""

    def __init__(self, system: System, timeout: float | None = None, bound_sizes: bool = True):
        """``bound_sizes=False``: the sizes the encoding derives are left unbounded (listed in
        ``loose``), for a check that must see a size past the bound as a failure."""
        self.system = system
        self.bound_sizes = bound_sizes
        self.loose: list[Any] = []
        self.deadline = None if timeout is None else time.monotonic() + timeout
        # a context of its own: the same question gets the same answers in every solve of a
        # process (Z3's terms are shared within a context, so a model, a --first answer or an
        # unsat core could differ from the last solve's), and its terms are freed with it
        self.ctx = z3.Context()
        self.solver = z3.SolverFor("QF_LIA", ctx=self.ctx)
        self.vars: dict[str, Any] = {}
        self.labels: dict[str, Any] = {}
        self.label_text: dict[str, str] = {}
        self.guarded: list[Any] = []  # every labelled condition itself (the rules, merges, constraints)
        self.definitions: list[Any] = []  # ... and every labelled size definition (a layer's output)
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.aux = 0
        self.committed = False
        self.last_model: Any = None
        self.cost_floor = 0  # the cheapest the tables can be: a lower bound for the objective
        self.goal: tuple[Any, int | None] | None = None  # the objective solve minimizes, and its floor
        for name in system.variables:
            self.var(name)
        layers = {lay.name: lay for lay in system.spec.layers}
        for n, fact in enumerate(system.facts):
            if not n & 255:  # translating 100,000 layers' facts takes seconds: the clock is read on the way
                self.on_time("translating the rules")
            lay = layers.get(fact.label)  # a refusal names the layer whose rule needs it (or the var)
            var = system.spec.vars.get(fact.label[len("vars."):]) if fact.label.startswith("vars.") else None
            with placed(lay.where if lay is not None else var.where if var is not None else None, fact.label):
                self.add(fact.label, self.bool_term(fact.expr), fact.message, defines=fact.rule == "shape")
        for table in system.tables:
            self.add_table(table)

    # -- variables and labels -------------------------------------------------------------------
    def var(self, name: str) -> Any:
        v = self.vars.get(name)
        if v is not None:
            return v
        dom = self.system.variables.get(name)
        if dom is None:
            raise SpecError(f"{name!r} is not a variable the solver knows")
        v = z3.Int(name, self.ctx)
        self.vars[name] = v
        if dom is not None:
            if dom.listed:
                self.solver.add(z3.Or([v == x for x in dom.values], self.ctx))  # type: ignore[union-attr]
            elif not self.bound_sizes and name in self.system.sizes:
                self.loose.append(v)
            else:
                lo, hi = self.span(name)
                if lo is not None and hi is not None:
                    # a domain naming other vars (p <= k // 2) is a labelled fact; this is
                    # its widest range, so that every integer is bounded
                    self.solver.add(v >= lo, v <= hi)
        return v

    def span(self, name: str) -> tuple[int | None, int | None]:
        """The widest range of a variable with a range domain (ends naming other vars bounded
        by theirs); None for an end that has no bound."""
        dom = self.system.variables[name]
        assert dom.lo is not None and dom.hi is not None
        if not dom.lo.names() and not dom.hi.names():
            return dom.lo.evaluate({}), dom.hi.evaluate({})
        if name not in self.system.spec.vars:
            return None, None
        try:
            return var_span(self.system.spec, name)
        except SpecError:
            return None, None

    def label(self, name: str, text: str = "") -> Any:
        lit = self.labels.get(name)
        if lit is None:
            lit = z3.Bool(f"@{name}", self.ctx)
            self.labels[name] = lit
            self.label_text[name] = text
        return lit

    def add(self, label: str, constraint: Any, text: str = "", defines: bool = False) -> None:
        """A constraint under ``label``; ``defines``: it names a size (``x == e``), not a
        condition on it."""
        self.solver.add(z3.Implies(self.label(label, text), constraint))
        (self.definitions if defines else self.guarded).append(constraint)

    # -- translation ------------------------------------------------------------------------------
    def fresh(self, base: str) -> Any:
        self.aux += 1
        return z3.Int(f"{base}!{self.aux}", self.ctx)

    def term(self, e: Expr) -> Any:
        if isinstance(e, Num):
            return z3.IntVal(e.value, self.ctx)
        if isinstance(e, Name):
            return self.var(e.name)
        if isinstance(e, Call):
            args = [self.term(a) if e.fn != "ite" or i else self.bool_term(a) for i, a in enumerate(e.args)]
            if e.fn == "ite":
                return z3.If(args[0], args[1], args[2])
            if e.fn in ("min", "max"):
                out = args[0]
                for a in args[1:]:
                    out = z3.If(a < out, a, out) if e.fn == "min" else z3.If(a > out, a, out)
                return out
            if e.fn == "not":
                return z3.If(self.bool_term(e.args[0]), 0, 1)
        if isinstance(e, Bin):
            if e.op in ("==", "!=", "<", "<=", ">", ">=", "and", "or"):
                return z3.If(self.bool_term(e), 1, 0)
            if e.op in ("//", "%"):
                return self.divmod(e)
            a, b = self.term(e.left), self.term(e.right)
            if e.op == "+":
                return a + b
            if e.op == "-":
                return a - b
            if e.op == "*":
                if not isinstance(e.left, Num) and not isinstance(e.right, Num):
                    return self.product(e)
                return a * b
        raise SpecError(f"cannot encode {e} for the solver")

    def product(self, e: Bin) -> Any:
        """x * y of two unknowns: split over the one with the smaller finite domain."""
        for small, other in ((e.left, e.right), (e.right, e.left)):
            values = self.finite_values(small)
            if values is not None and len(values) <= 64:
                t = self.term(other)
                s = self.term(small)
                out = z3.IntVal(0, self.ctx)
                for v in values:
                    out = z3.If(s == v, v * t, out)
                return out
        shown = user_names(str(e), self.system.spec)
        if any("#" in n for n in e.names()):  # sizes the encoding derived (a flatten's H * W, MACs, ...)
            raise EncodingLimit(f"{shown} multiplies two sizes that unknowns decide, and the solver keeps "
                                "products linear; fix one of those sizes, or use an expression of the unknowns "
                                "instead")
        raise EncodingLimit(f"{shown} multiplies two unknowns with large domains: the solver keeps products "
                            "linear; give one of them a small domain")

    def finite_values(self, e: Expr) -> list[int] | None:
        """The values a name (or an expression of names, ``d + 4``) can take, when at most 64."""
        if isinstance(e, Name):
            dom = self.system.variables.get(e.name)
            if dom is None:
                return None
            if dom.listed:
                return list(dom.values)  # type: ignore[arg-type]
            lo, hi = self.span(e.name)
            if lo is None or hi is None:
                return None
            return list(range(lo, hi + 1)) if hi - lo < 64 else None
        names = sorted(e.names())
        pools = [self.finite_values(Name(n)) for n in names]
        if not names or any(p is None for p in pools) or math.prod(len(p) for p in pools) > 4096:  # type: ignore[arg-type]
            return None
        try:
            values = sorted({e.evaluate(dict(zip(names, combo, strict=True)))
                             for combo in itertools.product(*pools)})  # type: ignore[arg-type]
        except ExprError:
            return None
        return values if len(values) <= 64 else None

    def divmod(self, e: Bin) -> Any:
        key = (e.left, e.right)
        q = self.memo.get(key)
        n = self.term(e.left)
        if q is None:
            if isinstance(e.right, Num):
                c = e.right.value
                if c == 0:
                    raise SpecError(f"division by {c} in {user_names(str(e), self.system.spec)}")
                q = self.fresh("q")
                if c > 0:
                    self.solver.add(c * q <= n, n <= c * q + (c - 1))
                else:  # Python's floor division by a negative number: n = c*q + r with c < r <= 0
                    self.solver.add(c * q + c < n, n <= c * q)
            else:
                values = self.finite_values(e.right)
                if values is None or any(v <= 0 for v in values):
                    unk = self.system.spec.unknowns.get(e.right.name) if isinstance(e.right, Name) else None
                    spec = self.system.spec
                    hint = (", e.g. domains: {groups: {in: [1, 2, 4, 8]}}" if unk is not None and unk.field == "groups"
                            else "")
                    raise EncodingLimit(f"{user_names(str(e.right), spec)}: the solver divides by it "
                                        f"({user_names(str(e), spec)}), which needs a small domain of positive "
                                        f"values (at most 64){hint}", unk.where if unk is not None else None)
                q = self.fresh("q")
                d = self.term(e.right)
                self.solver.add(z3.Or([z3.And(d == v, v * q <= n, n <= v * q + (v - 1)) for v in values], self.ctx))
            self.memo[key] = q
        if e.op == "//":
            return q
        return n - self.term(e.right) * q if not isinstance(e.right, Num) else n - e.right.value * q

    def bool_term(self, e: Expr) -> Any:
        if isinstance(e, Bin):
            if e.op == "and":
                return z3.And(self.bool_term(e.left), self.bool_term(e.right))
            if e.op == "or":
                return z3.Or(self.bool_term(e.left), self.bool_term(e.right))
            ops = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
                   "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
            if e.op in ops:
                return ops[e.op](self.term(e.left), self.term(e.right))
        if isinstance(e, Call) and e.fn == "not":
            return z3.Not(self.bool_term(e.args[0]))
        if isinstance(e, Num):
            return z3.BoolVal(bool(e.value), self.ctx)
        return self.term(e) != 0

    # -- tables ------------------------------------------------------------------------------------
    def add_table(self, table: Table) -> None:
        sel = self.var(table.selector)
        env = table.env
        lit = self.label(table.layer)
        dims = list(table.effects[0].outputs)
        shared_q: dict[str, tuple[Any, Any]] = {}
        forms: dict[str, list[tuple[int, int, int, int, str] | None]] = {}
        for d in dims:
            fs = [_affine_floor(eff.outputs[d]) for eff in table.effects]
            if all(f is not None for f in fs) and len({f[4] for f in fs if f}) == 1:
                forms[d] = fs
                x = fs[0][4]  # type: ignore[index]
                shared_q[d] = (self.fresh("q"), self.term(env[x]) if x in env else self.var(x))
        for i, eff in enumerate(table.effects):
            if not i & 63:  # a wide layer's thousands of effects take seconds: the clock is read on the way
                self.on_time("translating the tables")
            body = []
            for d in dims:
                if d in forms:
                    a, b, s, k, _ = forms[d][i]  # type: ignore[misc]
                    q, x = shared_q[d]
                    num = a * x + b
                    body += [s * q <= num, num <= s * q + (s - 1), self.var(d) == q + k]
                else:
                    body.append(self.var(d) == self.term(eff.outputs[d].substitute(env)))
            for c in eff.conditions:
                body.append(self.bool_term(c.substitute(env)))
            for u, v in eff.fixed.items():
                body.append(self.var(u) == v)
            self.solver.add(z3.Implies(lit, z3.Implies(sel == i, z3.And(body) if body else z3.BoolVal(True, self.ctx))))

    def table_cost(self, table: Table, kind: str) -> Any:
        """A variable equal to the cheapest cost of the chosen effect."""
        cost = self.fresh(f"cost.{table.layer}")
        sel = self.var(table.selector)
        values = [eff.cost[kind] for eff in table.effects]
        self.solver.add(cost >= min(values), cost <= max(values))
        for i, v in enumerate(values):
            self.solver.add(z3.Implies(sel == i, cost == v))
        self.cost_floor += min(values)
        return cost

    # -- solving -------------------------------------------------------------------------------------
    def on_time(self, doing: str) -> None:
        """Raise SolverTimeout past the deadline; ``doing``: what ran out of time."""
        interrupted()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SolverTimeout(f"the time ran out {doing}")

    def _arm(self) -> None:
        """Z3's own time-out: what is left of the deadline."""
        interrupted()
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise SolverTimeout("the solver ran out of time")
            self.solver.set("timeout", max(1, math.ceil(left * 1000)))

    def check(self, *assumptions: Any) -> Any:
        self._arm()
        all_labels = [] if self.committed else list(self.labels.values())
        res = self._run(*all_labels, *assumptions)
        if res == z3.unknown:
            raise SolverTimeout(f"the solver gave up ({self.solver.reason_unknown()})")
        if res == z3.sat:
            self.last_model = self.solver.model()
        return res

    def _run(self, *assumptions: Any) -> Any:
        """One Z3 check.  Z3 catches a Ctrl-C itself while it runs (Python's handler never
        sees it) and answers "unknown, canceled": that is raised as KeyboardInterrupt here,
        so one press stops every caller, the explaining ones too."""
        res = self.solver.check(*assumptions)
        # Z3 says "canceled" for a Ctrl-C and for its own time-out alike: only well before the
        # deadline is it the user
        if (res == z3.unknown and "cancel" in self.solver.reason_unknown()
                and time.monotonic() < (self.deadline or float("inf")) - 0.05):
            raise KeyboardInterrupt
        return res

    def commit(self) -> None:
        """Assert every label for good: no core is needed once a model exists, and Z3 is
        much faster without assumptions."""
        if not self.committed:
            self.solver.add(*self.labels.values())
            self.committed = True

    def satisfiable(self, *assumptions: Any) -> bool:
        return self.check(*assumptions) == z3.sat

    def model_values(self, names: Sequence[str]) -> dict[str, int]:
        """Values from the last satisfiable check (a time-out leaves no model of its own)."""
        m = self.last_model
        return {n: m.eval(self.vars[n], model_completion=True).as_long() for n in names}

    def objective_term(self, objective: Expr | str) -> tuple[Any, int | None]:
        """The objective as a term, and a lower bound of it when one is easy to see."""
        if isinstance(objective, str):
            parts = []
            floor: int | None = 0
            if objective == "sum":
                for u in self.system.system_unknowns:
                    parts.append(self.var(u))
                    vals = self.finite_values(Name(u))
                    dom = self.system.variables[u]
                    if vals is not None:
                        floor = None if floor is None else floor + min(vals)
                    elif dom.lo is not None and not dom.lo.names():
                        floor = None if floor is None else floor + dom.lo.evaluate({})
                    else:
                        floor = None
            else:
                for costs in self.system.per_layer_cost.values():
                    c = costs[objective]
                    parts.append(self.term(c))
                    floor = floor + c.value if floor is not None and isinstance(c, Num) else None
            before = self.cost_floor
            parts += [self.table_cost(t, objective) for t in self.system.tables if t.effects[0].cost]
            if floor is not None:
                floor += self.cost_floor - before
            return (z3.Sum(parts) if parts else z3.IntVal(0, self.ctx)), floor
        return self.term(objective), None

    def encode_objective(self, objective: Expr | str) -> None:
        """The objective :meth:`optimize` minimizes (see :meth:`objective_term`)."""
        self.goal = self.objective_term(objective)

    def optimize(self) -> tuple[int | None, bool]:
        """The objective's optimum (:meth:`minimize`), kept for good: every later model has
        it.  (optimum, proven optimal)."""
        assert self.goal is not None
        obj, floor = self.goal
        best, proven = self.minimize(obj, floor)
        if best is not None:
            self.solver.add(obj == best)
        return best, proven

    def minimize(self, obj: Any, floor: int | None = None) -> tuple[int | None, bool]:
        """Bisect between ``floor`` (a lower bound) and the best model's value, each step an
        incremental check of ``obj <= mid``: (optimum, proven optimal)."""
        if not self.satisfiable():
            return None, True
        best = self.solver.model().eval(obj, model_completion=True).as_long()
        lo = floor if floor is not None else None
        while lo is None or lo < best:
            mid = best - 1 if lo is None else (lo + best - 1) // 2
            self.solver.push()
            self.solver.add(obj <= mid)
            try:
                sat = self.satisfiable()
            except SolverTimeout:
                self.solver.pop()
                return best, False
            if sat:
                best = self.solver.model().eval(obj, model_completion=True).as_long()
            self.solver.pop()
            if not sat:
                if lo is None:
                    return best, True
                lo = mid + 1
        return best, True

    def lexmin(self, names: Sequence[str]) -> None:
        """Fix each variable in turn to its smallest feasible value (ties broken by name)."""
        for n in names:
            v = self.vars[n]
            dom = self.system.variables.get(n)
            floor = None
            if dom is not None and dom.listed:
                floor = dom.ends()[0]
            elif dom is not None and dom.lo is not None and not dom.lo.names():
                floor = dom.lo.evaluate({})
            best, proven = self.minimize(v, floor)
            if best is None:
                return
            self.solver.add(v == best)
            if not proven:
                raise SolverTimeout("the solver ran out of time while breaking ties")

    def try_selectors(self, table: Table, allowed: Sequence[int]) -> bool:
        """Can the table's effect be one of ``allowed``?  If so, keep it that way."""
        sel = self.var(table.selector)
        current = self.last_model.eval(sel, model_completion=True).as_long() if self.last_model else None
        restriction = z3.Or([sel == i for i in allowed]) if allowed else z3.BoolVal(False, self.ctx)
        if current in set(allowed):
            self.solver.add(restriction)  # the last model already agrees: no check needed
            return True
        self.solver.push()
        self.solver.add(restriction)
        if self.satisfiable():
            model = self.last_model
            self.solver.pop()
            self.solver.add(restriction)
            self.last_model = model
            return True
        self.solver.pop()
        return False

    def models(self, names: Sequence[str]) -> Iterator[dict[str, int]]:
        """Every distinct assignment of ``names`` (blocking clauses)."""
        vars_ = [self.vars[n] for n in names]
        while self.satisfiable():
            m = self.solver.model()
            vals = [m.eval(v, model_completion=True) for v in vars_]
            yield {n: x.as_long() for n, x in zip(names, vals, strict=True)}
            if not vars_:
                return
            self.solver.add(z3.Or([v != x for v, x in zip(vars_, vals, strict=True)], self.ctx))

    def values_in(self, name: str, lo: int, hi: int) -> Iterator[int]:
        """Every value of ``name`` in ``lo..hi`` that some model takes (in no order), by
        splitting the range at each value found: the assertions stay as they are, where
        blocking clauses would pile up, one per value, and slow every later check (10,000
        valid sizes took minutes).  Measured: blocking clauses inside a scope, in batches,
        cost more than this on sparse and dense sets alike."""
        x = self.vars[name]
        stack = [(lo, hi)]
        while stack:
            a, b = stack.pop()
            if a > b:
                continue
            self.solver.push()
            try:
                self.solver.add(x >= a, x <= b)
                v = self.last_model.eval(x, model_completion=True).as_long() if self.satisfiable() else None
            finally:
                self.solver.pop()
            if v is not None:
                yield v
                stack += [(v + 1, b), (a, v - 1)]

    def unsat_with(self, *constraints: Any, assume_labels: bool = True) -> bool:
        """Whether no model satisfies ``constraints`` too (added in a scope of their own), the
        labels assumed or, with ``assume_labels=False``, free to be false: one check (False
        also for a time-out)."""
        self.solver.push()
        try:
            self.solver.add(*constraints)
            self._arm()
            return bool(self._run(*(self.labels.values() if assume_labels and not self.committed else ())) == z3.unsat)
        finally:
            self.solver.pop()

    def core(self) -> list[str]:
        """The labels of a minimal set of layers/constraints that cannot hold together."""
        z3.set_param("smt.core.minimize", True)
        res = self._run(*self.labels.values())
        if res != z3.unsat:
            return []
        core = {str(c) for c in self.solver.unsat_core()}
        return [name for name, lit in self.labels.items() if str(lit) in core]

    def holding(self, kept: Sequence[str], leave: Collection[str] = ()) -> list[str]:
        """``kept`` and every other label that holds with them, ``leave`` aside: where the
        rest cannot all hold (a big spec with conflicts of its own elsewhere), the latest label
        in the core of what does not is set aside, one at a time -- the constraints, then the
        layers from the last, the input and the vars' domains last of all -- so that the sizes
        a conflict starts from stay those the layers before it give.  A conflict's arithmetic
        is worked out under these labels, the same in a big spec as in a small one.  ``kept``
        alone must hold (a part of a minimal core); when the time runs out, ``kept`` alone.

            >>> from archsolve.spec.load import load_text
            >>> from archsolve.shapes.graph import build_network
            >>> from archsolve.solve.smt.system import build_system, constraint_exprs
            >>> system = build_system(build_network(load_text('''
            ... input: [1, 8]
            ... layers: [{name: a, op: deconv, out: 1, kernel: "?", stride: 2}, {name: b, op: conv, out: 1, kernel: 3}]
            ... constraints: [a.L == 30, b.L == 40]
            ... ''')))
            >>> problem = encode(system, constraint_exprs(system), counts=(), timeout=10.0)
            >>> problem.core(), problem.holding(["a"], leave=["constraints[0]"])
            (['a', 'constraints[0]'], ['a', 'b'])
        """
        order = {lay.name: i for i, lay in enumerate(self.system.spec.layers)}

        def lateness(label: str) -> tuple[int, int]:
            if label in order:
                return 1, order[label]
            return (0, 0) if label == "input" or label.startswith("vars.") else (2, 0)

        others = sorted((n for n in self.labels if n not in kept and n not in leave), key=lateness)
        while self.deadline is None or time.monotonic() < self.deadline:
            res = self._run(*(self.labels[n] for n in (*kept, *others)))
            if res == z3.sat:
                return [*kept, *others]
            if res != z3.unsat:
                return list(kept)
            core = {str(c) for c in self.solver.unsat_core()}
            latest = next((n for n in reversed(others) if str(self.labels[n]) in core), None)
            if latest is None:
                return list(kept)
            others.remove(latest)
        return list(kept)

    def values_of(self, e: Expr, assumed: Sequence[str], limit: int = 12) -> list[int] | None:
        """Every value ``e`` can take under the labels ``assumed`` (:meth:`holding`), when at
        most ``limit`` (None: more, or a time-out)."""
        t = self.term(e)
        lits = [self.labels[n] for n in assumed]
        out: list[int] = []
        self.solver.push()
        try:
            while len(out) <= limit:
                res = self._run(*lits)
                if res != z3.sat:
                    return sorted(out) if res == z3.unsat else None
                v = self.solver.model().eval(t, model_completion=True).as_long()
                out.append(v)
                self.solver.add(t != v)
        finally:
            self.solver.pop()
        return None

    def range_of(self, e: Expr, assumed: Sequence[str]) -> tuple[int, int] | None:
        """The smallest and largest value ``e`` can take under the labels ``assumed``
        (:meth:`holding`)."""
        t = self.term(e)
        others = [self.labels[n] for n in assumed]
        if self._run(*others) != z3.sat:
            return None
        start = self.solver.model().eval(t, model_completion=True).as_long()
        ends = []
        for sign in (-1, 1):  # the smallest, then the largest
            best, step, beyond = start, 1, None  # beyond: the first value known to be out of reach
            while beyond is None or abs(beyond - best) > 1:
                # gallop outward until a value is out of reach, then bisect back: exact, in
                # about 2 * log2(range) checks
                probe = best + sign * step if beyond is None else (best + beyond) // 2
                self.solver.push()
                self.solver.add(t <= probe if sign < 0 else t >= probe)
                res = self._run(*others)
                if res == z3.sat:
                    best = self.solver.model().eval(t, model_completion=True).as_long()
                self.solver.pop()
                if res == z3.unknown:
                    break  # out of time: the range found so far
                if res != z3.sat:
                    beyond = probe
                elif beyond is None:
                    step *= 2
                if step > 1 << 62:
                    break  # unbounded (no real size is)
            ends.append(best)
        return ends[0], ends[1]


def encode(system: System, constraints: Sequence[tuple[Expr, str, str]], *, counts: Sequence[str],
           timeout: float | None, bound_sizes: bool = True) -> Z3Problem:
    """The system in Z3 with the spec's ``constraints`` (from
    :func:`~archsolve.solve.smt.system.constraint_exprs`), each under its label, and the
    totals ``counts`` (``params``, ``macs``) that they name as variables of their own."""
    problem = Z3Problem(system, timeout, bound_sizes)
    for kind in counts:
        problem.vars[kind] = problem.objective_term(kind)[0]
    for i, (expr, label, text) in enumerate(constraints):
        with at_constraint(system.spec.constraints[i], i):
            problem.add(label, problem.bool_term(expr), text)
    return problem
