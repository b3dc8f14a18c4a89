"""The op table's ``effect`` (issue #18): combinations of a conv's or a transposed conv's
fields with the same effect share one run of the rule while the solver groups a layer's
combinations, so the effect must decide everything the solver keeps of a run.  Checked over
every combination of the default domains (and output paddings), on a symbolic input size and
on integer sizes: the same effect gives the same output and the same errors, rule by rule."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import pytest

from archsolve.lang.expr import Name
from archsolve.ops.base import Args, Collect, Record, Severity
from archsolve.ops.table import OPS
from archsolve.solve.smt.system import _fold, canonical

FLAGS = {"_exact": False, "_tf": False, "_holes": True}


def _combos(op: str) -> list[dict[str, Any]]:
    """Every combination of the default domains: kernel 1..11, stride 1..4, dilation 1..4,
    padding 0..dilation * (kernel - 1), a transposed conv's output_padding 0..max(stride, dilation)
    (its last value is out of range: the broken combinations must agree too)."""
    out = []
    for k, s, d in itertools.product(range(1, 12), range(1, 5), range(1, 5)):
        for p in range(d * (k - 1) + 1):
            extra = range(max(s, d) + 1) if op == "deconv" else [None]
            for o in extra:
                values = {"kernel": (k,), "stride": (s,), "padding": (p,), "dilation": (d,)}
                if o is not None:
                    values["output_padding"] = (o,)
                out.append(values)
    return out


def _square(values: dict[str, Any]) -> dict[str, Any]:
    """The same fields on both axes of a square 2D layer."""
    return {k: v * 2 for k, v in values.items()}


def _symbolic(op: str, values: dict[str, Any], ndim: int = 1) -> tuple[Any, ...]:
    """What the solver keeps of a run on a symbolic size (square in 2D, as the solver's
    placeholders make it): the output and the error conditions with their rules (canonical)."""
    args = Args({"out": 4, "groups": 1, "bias": True, **values, **FLAGS}, ndim, "l", ("a",))
    rec = Record()
    out = OPS[op].shape(args, [(3, *[Name("x")] * ndim)], rec)
    kept = []
    for cond, f in rec.conditions:
        if f.severity is Severity.ERROR:
            kept.append((str(canonical(_fold(cond))) if not isinstance(cond, bool) else str(cond), f.rule))
    return tuple(str(canonical(_fold(v))) if not isinstance(v, int) else str(v) for v in out), tuple(sorted(set(kept)))


def _concrete(op: str, values: dict[str, Any], x: int) -> tuple[Any, ...]:
    args = Args({"out": 4, "groups": 1, "bias": True, **values, **FLAGS}, 1, "l", ("a",))
    req = Collect()
    out = OPS[op].shape(args, [(3, x)], req)
    return tuple(out), tuple(sorted({f.rule for f in req.failures if f.severity is Severity.ERROR}))


@pytest.mark.parametrize("op", ["conv", "deconv"])
def test_alike_combinations_run_alike(op: str) -> None:
    """In 1D, on a symbolic size and on integer sizes; in 2D on a square symbolic one."""
    classes: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for values in _combos(op):
        classes[OPS[op].effect({**values, **FLAGS})].append(values)
    assert None not in classes
    assert len(classes) < len(_combos(op)) / 4  # the point: far fewer runs
    for members in classes.values():
        first = members[0]
        seen = _symbolic(op, first)
        square = _symbolic(op, _square(first), 2)
        assert OPS[op].effect({**_square(first), **FLAGS}) == OPS[op].effect({**first, **FLAGS}) * 2
        sizes = {x: _concrete(op, first, x) for x in (1, 2, 3, 5, 8, 13, 64)}
        for values in members[1:]:
            assert _symbolic(op, values) == seen, (first, values)
            assert _symbolic(op, _square(values), 2) == square, (first, values)
            for x, got in sizes.items():
                assert _concrete(op, values, x) == got, (first, values, x)


@pytest.mark.parametrize("op", ["conv", "deconv"])
@pytest.mark.parametrize("flags", [{"_exact": True}, {"_holes": False}, {"_tf": True}])
def test_no_sharing_where_drops_or_holes_are_errors(op: str, flags: dict[str, bool]) -> None:
    """Under exact, holes: false or TensorFlow's rules the fields matter apart: every
    combination runs its own rule."""
    values = {"kernel": (3,), "stride": (1,), "padding": (1,), "dilation": (1,), "output_padding": (0,)}
    assert OPS[op].effect({**values, **FLAGS, **flags}) is None


@pytest.mark.parametrize("op", ["conv", "deconv"])
@pytest.mark.parametrize("field", ["kernel", "stride", "dilation", "padding", "output_padding"])
def test_no_sharing_for_a_value_the_field_does_not_take(op: str, field: str) -> None:
    """A var may range over values a field does not take (dilation 0): such a combination is
    invalid whatever its effect would be, so it shares no run (a dilation of 0 once took the
    effect of kernel 1 and dilation 1, and Z3 answered it)."""
    if op == "conv" and field == "output_padding":
        return
    values = {"kernel": (3,), "stride": (1,), "padding": (1,), "dilation": (1,), "output_padding": (0,),
              **FLAGS, field: (-1,) if field in ("padding", "output_padding") else (0,)}
    assert OPS[op].effect(values) is None


def test_a_var_dilation_of_zero_is_no_solution() -> None:
    """The case a hypothesis run found: ``b`` ranges over 0..a + 1 and is a conv's dilation."""
    import archsolve as A
    from archsolve.solve.api import solve_spec
    from archsolve.solve.outcome import Engine

    net = A.loads('input: [1, 4]\nvars:\n  a: {min: 0, max: 1}\n  b: {min: "0", max: "a + 1"}\nlayers:\n'
                  '  - {name: l0, op: deconv, out: 2, kernel: 2}\n  - {name: l1, op: deconv, out: 2, kernel: a}\n'
                  '  - {name: l2, op: conv, out: 2, kernel: a + 1, dilation: b}\n')
    for engine in ("z3", "search", "auto"):
        got = solve_spec(net.spec, all_solutions=True, engine=Engine(engine))
        assert sorted(tuple(sorted(s.values.items())) for s in got.solutions) == [
            (("a", 1), ("b", 1)), (("a", 1), ("b", 2))], engine


def test_a_var_that_is_a_kernel_and_the_groups_too() -> None:
    """``a`` is c's kernel and its groups: combinations alike in effect but not in ``a`` do not
    share a run (a = 3 does not divide 4 channels)."""
    import archsolve as A
    from archsolve.solve.api import solve_spec
    from archsolve.solve.outcome import Engine

    spec = A.loads("input: [4, 12]\nvars:\n  a: {min: 1, max: 4}\nlayers:\n"
                   "  - {name: c, op: conv, out: a, kernel: a, groups: a}\n"
                   '  - {name: d, op: conv, out: 2, kernel: "?"}\n').spec
    got = {e: sorted((s.values["a"], s.values["d.kernel"]) for s in
                     solve_spec(spec, all_solutions=True, engine=Engine(e)).solutions) for e in ("z3", "auto", "search")}
    assert got["z3"] == got["auto"] == got["search"]
    assert {a for a, _ in got["z3"]} == {1, 2, 4}


def test_no_sharing_for_expressions_or_same() -> None:
    base = {"kernel": (3,), "stride": (1,), "dilation": (1,), **FLAGS}
    assert OPS["conv"].effect({**base, "padding": "same"}) is None
    assert OPS["conv"].effect({**base, "padding": (Name("p"),)}) is None
