"""Each op's rule is written once: run on ints and on symbolic trees, it must agree.

The solver will feed the rules Z3-bound symbols; here every integer of a random layer is
replaced by a name, the rule builds expression trees, and evaluating those trees with the
original numbers must give exactly the concrete shape and the same failed conditions.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from archsolve.lang.expr import Expr, Name
from archsolve.ops.base import Args, Collect, Record
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
                  "padding": draw(st.tuples(*[st.integers(0, 3)] * ndim)),
                  "size": draw(axes) if draw(st.booleans()) else None}
        pooled = tuple(v + draw(st.integers(-1, 1)) if draw(st.integers(0, 3)) == 0 else v for v in x)
        inputs = [x, pooled, (x[0], *draw(st.tuples(*[st.integers(1, 24)] * ndim)))]
    elif op == "lrn":
        given_ = {"size": draw(small)}
        if draw(st.booleans()):
            inputs = [(x[0],)]
    elif op == "prelu":
        given_ = {"per_channel": draw(st.booleans())}
    return op, given_, ndim, inputs


@settings(max_examples=examples(600), deadline=None)
@given(layers())
def test_one_rule_for_ints_and_trees(case: tuple[str, dict[str, Any], int, list[tuple[int, ...]]]) -> None:
    op, given_, ndim, inputs = case
    opdef = OPS[op]
    sources = tuple(f"src{i}" for i in range(len(inputs)))
    concrete_args = Args.of(opdef, given_, ndim, "l", sources)
    concrete = Collect()
    out = opdef.shape(concrete_args, inputs, concrete)

    env: dict[str, int] = {}
    sym_args = Args({k: _symbolize(v, env, "a") for k, v in concrete_args.items()}, ndim, "l", sources)
    sym_inputs = [tuple(_symbolize(v, env, "x") for v in shape) for shape in inputs]
    record = Record()
    sym_out = opdef.shape(sym_args, sym_inputs, record)

    assert [_value(v, env) for v in sym_out] == list(out)
    failed = {(f.rule, f.field) for cond, f in record.conditions if not _value(cond, env)}
    assert failed == {(f.rule, f.field) for f in concrete.failures}
    if not concrete.fatal:
        assert _value(opdef.params(sym_args, sym_inputs, sym_out), env) == opdef.params(concrete_args, inputs, out)
        assert _value(opdef.macs(sym_args, sym_inputs, sym_out), env) == opdef.macs(concrete_args, inputs, out)
