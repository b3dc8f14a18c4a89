"""Each op's rule is written once: run on ints and on symbolic trees, it must agree.

The solver will feed the rules Z3-bound symbols; here every integer of a random layer is
replaced by a name, the rule builds expression trees, and evaluating those trees with the
original numbers must give exactly the concrete shape and the same failed conditions.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsolve.errors import EncodingLimit
from archsolve.lang.expr import Expr, Name
from archsolve.ops.base import Args, Collect, Record, Severity
from archsolve.ops.table import OPS

from .conftest import examples


def _symbolize(value: Any, env: dict[str, int], prefix: str) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int) and value != -1:  # a written -1 stays itself: reshape's entry to work out
        name = f"{prefix}{len(env)}"
        env[name] = value
        return Name(name)
    if isinstance(value, tuple):
        return tuple(_symbolize(v, env, prefix) for v in value)
    return value


def _value(v: Any, env: dict[str, int]) -> int:
    return v.evaluate(env) if isinstance(v, Expr) else int(v)


small = st.integers(min_value=1, max_value=6)


@st.composite
def layers(draw: st.DrawFn) -> tuple[str, dict[str, Any], int, list[tuple[int, ...]]]:
    ndim = draw(st.integers(min_value=1, max_value=3))
    op = draw(st.sampled_from(["conv", "deconv", "maxpool", "avgpool", "adaptive_avgpool", "upsample",
                               "crop", "pad", "concat", "add", "flatten", "linear", "groupnorm",
                               "pixel_shuffle", "layernorm", "batchnorm", "mul", "reshape", "maxunpool", "lrn",
                               "prelu"]))
    axes = st.tuples(*[small] * ndim)
    x = (draw(small), *draw(st.tuples(*[st.integers(1, 24)] * ndim)))
    given_: dict[str, Any] = {}
    inputs = [x]
    if op in ("conv", "deconv"):
        given_ = {"out": draw(small), "kernel": draw(axes), "stride": draw(axes), "dilation": draw(axes),
                  "groups": draw(st.integers(1, 3)), "bias": draw(st.booleans()),
                  "padding": draw(st.tuples(*[st.integers(0, 4)] * ndim))}
        if op == "deconv":
            given_["output_padding"] = draw(st.tuples(*[st.integers(0, 3)] * ndim))
        elif draw(st.booleans()):
            given_["padding"] = draw(st.sampled_from(["same", "valid"]))
    elif op in ("maxpool", "avgpool"):
        given_ = {"kernel": draw(axes), "stride": draw(axes), "padding": draw(st.tuples(*[st.integers(0, 3)] * ndim)),
                  "ceil_mode": draw(st.booleans())}
        if op == "maxpool":
            given_["dilation"] = draw(axes)
    elif op in ("adaptive_avgpool",):
        given_ = {"size": draw(axes)}
    elif op == "upsample":
        given_ = {"scale": draw(axes)} if draw(st.booleans()) else {"size": draw(axes)}
    elif op in ("crop", "pad"):
        given_ = {"amount": tuple((draw(st.integers(0, 6)), draw(st.integers(0, 6))) for _ in range(ndim))}
    elif op in ("concat", "add"):
        inputs = [x, (draw(small), *[v + draw(st.integers(-1, 1)) for v in x[1:]])]
    elif op == "linear":
        given_ = {"out": draw(small)}
    elif op == "groupnorm":
        given_ = {"groups": draw(small)}
    elif op == "pixel_shuffle":
        given_ = {"factor": draw(st.integers(1, 3))}
    elif op == "mul":
        inputs = [x, tuple(draw(st.sampled_from([1, v, v + 1])) for v in x)]
    elif op == "reshape":
        dims = [draw(st.integers(1, 6)) for _ in range(draw(st.sampled_from([1, ndim + 1])))]
        if draw(st.booleans()):
            dims[draw(st.integers(0, len(dims) - 1))] = -1
        given_ = {"shape": tuple(dims)}
    elif op == "maxunpool":
        given_ = {"indices": "p", "kernel": draw(axes), "stride": draw(axes), "dilation": draw(axes),
                  "padding": draw(st.tuples(*[st.integers(0, 3)] * ndim)), "ceil_mode": draw(st.booleans()),
                  "size": draw(axes) if draw(st.booleans()) else None}
        before = (x[0], *draw(st.tuples(*[st.integers(1, 24)] * ndim)))
        # the pool's output, as in a network (the indices' shape follows from the pool's input)
        pool = Collect()
        pooled = OPS["maxpool"].shape(Args.of(OPS["maxpool"], {k: given_[k] for k in (
            "kernel", "stride", "dilation", "padding", "ceil_mode")}, ndim), [before], pool)
        if pool.fatal:
            return op, given_, ndim, [x, x, before]
        x = tuple(v + draw(st.integers(-1, 1)) if draw(st.integers(0, 3)) == 0 else v for v in pooled)
        inputs = [x, pooled, before]
    elif op == "lrn":
        given_ = {"size": draw(small)}
        if draw(st.booleans()):
            inputs = [(x[0],)]
    elif op == "prelu":
        given_ = {"per_channel": draw(st.booleans())}
    return op, given_, ndim, inputs


def _pool_fails(op: str, given_: dict[str, Any], ndim: int, inputs: list[tuple[int, ...]]) -> bool:
    """Whether an unpool's maxpool fails on its input (the network stops there)."""
    if op != "maxunpool":
        return False
    pool = Collect()
    OPS["maxpool"].shape(Args.of(OPS["maxpool"], {k: given_[k] for k in (
        "kernel", "stride", "dilation", "padding", "ceil_mode")}, ndim), [inputs[2]], pool)
    return pool.fatal


def _errors(failures: Any) -> set[tuple[str, str]]:
    return {(f.rule, f.field) for f in failures if f.severity is Severity.ERROR}


@settings(max_examples=examples(600), deadline=None)
@given(layers(), st.booleans(), st.booleans(), st.booleans())
def test_one_rule_for_ints_and_trees(case: tuple[str, dict[str, Any], int, list[tuple[int, ...]]], exact: bool,
                                     holes: bool, sizes_only: bool) -> None:
    """Symbolic trees state the errors (drops under ``exact``, holes where forbidden); a
    warning is the check's, on ints, and is not stated.  ``sizes_only``: only the input
    sizes are symbols, as in the Z3 path, which enumerates kernels, strides and paddings."""
    op, given_, ndim, inputs = case
    opdef = OPS[op]
    if exact and not sizes_only and "dilation" in given_:
        given_ = {**given_, "dilation": (1,) * ndim}  # exact drops on symbolic dilations are not encoded
    sources = tuple(f"src{i}" for i in range(len(inputs)))
    concrete_args = Args.of(opdef, given_, ndim, "l", sources).with_values({"_exact": exact, "_holes": holes})
    concrete = Collect()
    out = opdef.shape(concrete_args, inputs, concrete)

    env: dict[str, int] = {}
    # an error on symbols needs the dilation as an int (the Z3 path enumerates it)
    keep = {"dilation"} if exact or not holes or op == "maxunpool" else set()  # an unpool forbids its pool's holes
    sym_args = concrete_args if sizes_only else Args(
        {k: v if k in keep else _symbolize(v, env, "a") for k, v in concrete_args.items()}, ndim, "l", sources)
    sym_inputs = [tuple(_symbolize(v, env, "x") for v in shape) for shape in inputs]
    record = Record()
    dilated = set(given_.get("dilation", (1,))) != {1}
    if not sizes_only and (not holes and (op == "deconv" or op in ("conv", "maxpool") and dilated)
                           or op == "maxunpool" and dilated):
        with pytest.raises(EncodingLimit):  # forbidding holes needs the fields as ints (undilated windows aside)
            opdef.shape(sym_args, sym_inputs, record)
        return
    sym_out = opdef.shape(sym_args, sym_inputs, record)

    assert [_value(v, env) for v in sym_out] == list(out)
    failed = {(f.rule, f.field) for cond, f in record.conditions if f.severity is Severity.ERROR
              and not _value(cond, env)}
    if concrete.fatal or _pool_fails(op, given_, ndim, inputs):
        # no output (or, for an unpool, no pool output to take the indices of): the drops and
        # holes of a window that does not fit are moot
        moot = {("exact", "stride"), ("holes", "kernel")}
        assert failed - moot == _errors(concrete.failures) - moot
    else:
        assert failed == _errors(concrete.failures)
    if not concrete.fatal:
        assert _value(opdef.params(sym_args, sym_inputs, sym_out), env) == opdef.params(concrete_args, inputs, out)
        assert _value(opdef.macs(sym_args, sym_inputs, sym_out), env) == opdef.macs(concrete_args, inputs, out)


@settings(max_examples=examples(400), deadline=None)
@given(n=st.integers(1, 12), k=st.integers(1, 4), s=st.integers(1, 4), pl=st.integers(0, 3), d=st.integers(1, 4),
       m=st.integers(1, 16))
def test_the_last_position_read_on_a_symbolic_size_is_the_ints(n: int, k: int, s: int, pl: int, d: int, m: int) -> None:
    """The last real position ``m`` windows read, stated over a symbolic input size, is what
    the windows read one by one (a window past the input's end reads nothing of it)."""
    from archsolve.ops.rules import _last_position, _last_read

    last = _last_read(n, k, s, pl, d, m)
    assert _value(_last_position(Name("x"), k, s, pl, d, m), {"x": n}) == (-1 if last is None else last[0])


def _windows_by_taps(m: int, n: int, stride: int, pad: int, kernel: int, dilation: int) -> list[Any]:
    """Each output position's taps on real input, listed one by one: (first, last, step)."""
    from archsolve.ops.rules import EMPTY

    out = []
    for o in range(m):
        taps = [o * stride - pad + t * dilation for t in range(kernel)]
        real = [x for x in taps if 0 <= x < n]
        out.append((real[0], real[-1], dilation) if real else EMPTY)
    return out


def test_the_windows_of_every_small_layer_are_its_taps() -> None:
    """The receptive fields' windows (dilation 1 has a fast path of its own) against the taps
    themselves, for every small size, stride, padding, kernel and dilation."""
    import itertools

    from archsolve.ops.rules import _windows

    cases = itertools.product(range(0, 10), range(1, 9), range(1, 5), range(0, 6), range(1, 7), range(1, 4))
    wrong = [c for c in cases if _windows(*c) != _windows_by_taps(*c)]
    assert wrong == []
