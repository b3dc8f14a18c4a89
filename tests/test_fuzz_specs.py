"""Fuzzing `archsolve check` with random documents: it may accept or refuse them, never crash.

Whatever the file holds, `check` exits 0 (a valid network), 1 (an invalid one) or 2 (a bad
spec), and no traceback or "internal error" reaches the user (docs/exit-codes.md).  Three sources of
documents: random nested YAML data, spec-shaped documents with random field values, and raw
YAML-ish text.  The whole module runs in well under 20 s.

Known crashes are kept out of the generators and pinned by xfail tests in test_bad_specs.py:
explicit scalar tags with bad values (``!!int abc``) and a ``repeat`` of a block whose last
layer is itself a block call or a ``repeat``.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

try:  # tests/ may or may not be a package
    from .conftest import examples, run_cli
except ImportError:
    from conftest import examples, run_cli  # type: ignore[no-redef]

import archsolve.check.advice as advice_module
from archsolve.check import repair as repair_module
from archsolve.ops.base import REQUIRED
from archsolve.ops.table import OPS

FUZZ = settings(max_examples=examples(300), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module", autouse=True)
def _quick_fixes():
    """An invalid network makes `check` scan for the nearest valid input sizes (up to 2 s each);
    the fuzz only looks at exit codes, so cap that scan."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(advice_module, "NEAREST_SECONDS", 0.02)
        mp.setattr(advice_module, "NEAREST_SCAN", 16)
        mp.setattr(repair_module, "REPAIR_SECONDS", 0.05)
        yield


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "spec.yaml"


def _check_text(path: Path, text: str) -> tuple[int, str]:
    path.write_text(text, encoding="utf-8")
    code, out = run_cli("check", str(path))
    assert "Traceback" not in out, f"{out}\n--- spec ---\n{text}"
    assert "internal error" not in out, f"{out}\n--- spec ---\n{text}"
    assert code in (0, 1, 2), f"exit {code}:\n{out}\n--- spec ---\n{text}"
    return code, out


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# -- strategies -----------------------------------------------------------------------------------

WORDS = ["?", "same", "valid", "H", "W", "k", "c", "in", "input", "conv", "relu", "nearest", "bilinear",
         "k // 2", "H - 1", "2 * k + 1", "min(3, k)", "max(1, 2)", "3 // 0", "1 +", "(", "__class__",
         "a.b", "relu1", "conv1", "x", "H + W", "-1", "0", "99999999999999999999", ""]

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=12),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(alphabet=string.ascii_letters + string.digits + " _?+-*/%().,[]<>=!:#&*", max_size=12),
)

KEYS = st.one_of(
    st.sampled_from(["name", "op", "block", "from", "repeat", "input", "layers", "vars", "blocks", "params",
                     "domains", "constraints", "minimize", "exact", "semantics", "kernel", "stride", "padding",
                     "out", "min", "max", "in", "size", "scale", "like", "amount", "mode", "groups"]),
    st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8),
    st.integers(min_value=-2, max_value=5),
)

NESTED = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25,
)


@settings(FUZZ)
@given(doc=NESTED)
def test_random_documents(spec_path: Path, doc: Any) -> None:
    _check_text(spec_path, _dump(doc))


@settings(FUZZ)
@given(doc=st.dictionaries(KEYS, NESTED, max_size=6).map(lambda d: {"input": [3, 8, 8], "layers": [{}], **d}))
def test_random_top_levels(spec_path: Path, doc: dict[Any, Any]) -> None:
    _check_text(spec_path, _dump(doc))


# Plausible values per field: spec-shaped documents are mostly valid, so that the fuzz reaches
# propagation, problems and fixes (exit 0 and 1), not only the loader's refusals.
PLAUSIBLE: dict[str, list[Any]] = {
    "out": [1, 4, 8, "k"], "kernel": [1, 2, 3, 5, "k"], "stride": [1, 2, 3],
    "padding": [0, 1, 2, "same", "valid", "k // 2"], "dilation": [1, 2], "groups": [1, 2, 4],
    "output_padding": [0, 1], "size": [1, 2, 4], "scale": [1, 2, 3], "factor": [1, 2],
    "mode": ["nearest", "bilinear", "linear", "trilinear"], "amount": [0, 1, 2],
    "value": [0, 1.5], "dim": [0, 1, 5], "p": [0.0, 0.5], "negative_slope": [0.1], "eps": [1e-5],
    "momentum": [0.1], "bias": [True, False], "affine": [True, False], "ceil_mode": [True, False],
    "count_include_pad": [True, False], "align_corners": [True, False], "inplace": [True, False],
    "track_running_stats": [True, False],
}
OP_NAMES = sorted(OPS)
TYPO_OPS = ["convtranspose", "conv2d", "maxpol", "Conv", ""]
FIELD_NAMES = sorted(PLAUSIBLE) + ["kernal", "from", "repeat", "name", "like"]

SMALL = st.one_of(
    st.integers(min_value=-1, max_value=9),
    st.sampled_from(["?", "same", "valid", "k", "k // 2", "H", "2 * k", "nearest", "bilinear", "prev", "input"]),
    st.floats(min_value=-2, max_value=4, allow_nan=False),
    st.booleans(),
    st.none(),
)
FIELD_VALUE = st.one_of(SMALL, st.lists(SMALL, max_size=4), st.lists(st.lists(SMALL, max_size=3), max_size=3))


@st.composite
def spec_docs(draw: st.DrawFn) -> dict[str, Any]:
    ndim = draw(st.integers(min_value=1, max_value=3))
    sized = draw(st.sampled_from([1, 2, 5, 8, 16, 33, "H"]))
    doc: dict[str, Any] = {"input": [draw(st.sampled_from([1, 3, 4]))] + [sized] * ndim,
                           "vars": {"k": draw(st.sampled_from([3, 1, {"in": [1, 3]}]))}}
    if sized == "H" or draw(st.booleans()):
        doc["vars"]["H"] = draw(st.sampled_from([{"min": 4, "max": 40}, {"in": [8, 16]}, 16, "k * 4"]))
    if draw(st.integers(0, 3)) == 0:
        doc["exact"] = draw(st.booleans())
    n = draw(st.integers(min_value=1, max_value=6))
    names = [f"l{i}" for i in range(n)]
    layers = []
    for i in range(n):
        op = draw(st.sampled_from(OP_NAMES))
        opdef = OPS[op]
        layer: dict[str, Any] = {"name": names[i], "op": op}
        for f in opdef.fields:
            if f.name in PLAUSIBLE and (f.default is REQUIRED or draw(st.integers(0, 3)) == 0):
                layer[f.name] = draw(st.sampled_from(PLAUSIBLE[f.name]))
        if op == "upsample":
            layer.pop("size" if "scale" in layer or draw(st.booleans()) else "scale", None)
            layer.setdefault("scale", 2) if "size" not in layer else None
        if op == "crop" and "amount" not in layer:
            layer["like"] = draw(st.sampled_from(["input", *names[:i]]))
        if opdef.merge:
            layer["from"] = draw(st.lists(st.sampled_from(["input", *names[:i]]), min_size=2, max_size=3))
        elif draw(st.integers(0, 4)) == 0:
            layer["from"] = draw(st.sampled_from(["input", *names[:i]]))
        if not opdef.merge and draw(st.integers(0, 5)) == 0:
            layer["repeat"] = draw(st.sampled_from([1, 2, 3]))
        layers.append(layer)
    if draw(st.booleans()):
        # one block of plain ops (a repeat of a block ending in a block call or repeat is a known crash)
        inner: list[dict[str, Any]] = []
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["conv", "relu", "maxpool", "batchnorm"]))
            if kind == "conv":
                inner.append({"op": "conv", "out": draw(st.sampled_from([4, "c"])),
                              "kernel": draw(st.sampled_from([1, 3, "kb", "?"])), "padding": "kb // 2"})
            elif kind == "maxpool":
                inner.append({"op": "maxpool", "kernel": draw(st.sampled_from([1, 2]))})
            else:
                inner.append({"op": kind})
        doc["blocks"] = {"b": {"params": {"c": draw(st.sampled_from([4, 8, None])), "kb": 3}, "layers": inner}}
        call: dict[str, Any] = {"name": "call", "block": draw(st.sampled_from(["b", "b", "b", "bb"]))}
        if draw(st.booleans()):
            call["c"] = draw(st.sampled_from([4, 8, "k", "?", 0, 2.5]))
        if draw(st.booleans()):
            call[draw(st.sampled_from(["kb", "kk", "repeat"]))] = draw(st.sampled_from([1, 2, 3, "?"]))
        layers.insert(draw(st.integers(0, len(layers))), call)
    # a third of the time, break one layer
    layer = layers[draw(st.integers(0, n - 1))]
    mutation = draw(st.integers(0, 11))
    if mutation == 0:
        layer[draw(st.sampled_from(FIELD_NAMES))] = draw(FIELD_VALUE)
    elif mutation == 1 and len(layer) > 2:
        del layer[draw(st.sampled_from(sorted(set(layer) - {"name", "op"})))]
    elif mutation == 2:
        layer["op"] = draw(st.sampled_from(TYPO_OPS))
    elif mutation == 3:
        layer["from"] = draw(st.sampled_from(["nope", *names]))
    doc["layers"] = layers
    if draw(st.integers(0, 3)) == 0:
        doc["constraints"] = draw(st.lists(st.sampled_from(
            ["l0.C == 4", "l0.shape == [4, 8]", "params < 1000", "nope.C > 1", "l0.H >= 1 and l0.W >= 1",
             "l0.X == 1", "1 +"]), max_size=2))
    return doc


@settings(FUZZ)
@given(doc=spec_docs())
def test_spec_shaped_documents(spec_path: Path, doc: dict[str, Any]) -> None:
    _check_text(spec_path, _dump(doc))


YAMLISH = st.lists(st.sampled_from([*"abc:- \n[]{},&*!?|>'\"#%@`0123456789.", "input", "layers", "op: relu",
                                     "  ", "\n  - ", "kernel: ", "&x ", "*x"]), max_size=40).map("".join)


@settings(FUZZ)
@given(text=YAMLISH)
def test_raw_yamlish_text(spec_path: Path, text: str) -> None:
    # explicit scalar tags (`!!int x`) with bad values are a known crash, pinned in test_bad_specs.py
    text = text.replace("!!", "!")
    _check_text(spec_path, text)


@settings(FUZZ)
@given(lines=st.lists(st.sampled_from([
    "input: [3, 8, 8]", "layers:", "  - {op: relu}", "  - {op: conv, out: 4, kernel: 3}", "  - op: conv",
    "    out: 4", "    kernel: [3, 3]", "    padding: same", "  - {op: add, from: [input, conv2]}",
    "vars:", "  H: {min: 1, max: 8}", "blocks:", "  b:", "    layers: [{op: relu}]", "  - {block: b}",
    "constraints:", "  - conv2.C == 4", "exact: true", "&a [1, 2]", "x: *a", "  - {op: maxpool, kernel: 2}",
    "\t- {op: relu}", "---", "...", "# comment", "",
]), max_size=12))
def test_shuffled_spec_lines(spec_path: Path, lines: list[str]) -> None:
    _check_text(spec_path, "\n".join(lines) + "\n")


# -- solve gets the same documents, with some values left to the solver ------------------------------

def _solve_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    code, out = run_cli("solve", str(path), "--timeout", "5", "--json")
    assert "Traceback" not in out, f"{out}\n--- spec ---\n{text}"
    assert "internal error" not in out, f"{out}\n--- spec ---\n{text}"
    assert code in (0, 1, 2, 3), f"exit {code}:\n{out}\n--- spec ---\n{text}"


def _with_unknowns(doc: dict[str, Any], picks: list[int]) -> dict[str, Any]:
    layers = doc.get("layers")
    if isinstance(layers, list):
        for i, pick in enumerate(picks):
            if layers and isinstance(layers[pick % len(layers)], dict):
                layer = layers[pick % len(layers)]
                field = ("kernel", "stride", "padding", "out", "scale")[(pick + i) % 5]
                if field in layer:
                    layer[field] = "?"
    return doc


@settings(FUZZ, max_examples=examples(120))
@given(doc=spec_docs(), picks=st.lists(st.integers(0, 50), max_size=3))
def test_solve_on_spec_shaped_documents(spec_path: Path, doc: dict[str, Any], picks: list[int]) -> None:
    _solve_text(spec_path, _dump(_with_unknowns(doc, picks)))


@settings(FUZZ, max_examples=examples(60))
@given(doc=NESTED)
def test_solve_on_random_documents(spec_path: Path, doc: Any) -> None:
    _solve_text(spec_path, _dump(doc))
