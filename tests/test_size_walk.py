"""The size walk (``--engine dp``, issue #18), tested apart from its own code.

1. hypothesis: random 1D/2D chains of conv/deconv/maxpool/avgpool/upsample (some joined at
   the end by a concat or an add to an open conv of the input), 1-4 open fields a layer
   (some per axis) from small domains (padding and output_padding now and then on their
   dependent defaults), a final-size constraint and sometimes a middle one.  The walk must
   agree with the exact search and with a brute force written here over the cartesian
   product of the domains (plain propagation decides each assignment): the status, the
   optimum and its values (the smallest sum, then no holes in the open layers, then the
   smallest values in name order), the count, the set and order of every solution,
   ``--first`` a real solution, and ``--minimize params``.
2. A table of exact answers: DCGAN, the benchmark chain (``benchmarks/scale_bench.py``), its
   unsat twin and the message that explains it, and the questions the walk does not take.
3. ``--engine dp --timeout 1`` on 40 wide layers ends on time.
4. The preference for an answer without holes, at an equal sum.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsolve.lang.expr import Name, parse
from archsolve.shapes.graph import build_network
from archsolve.shapes.propagate import propagate
from archsolve.solve.api import SolveResult, solve_spec
from archsolve.solve.outcome import SolveStatus
from archsolve.solve.smt.sizedp import _BIG as BIG
from archsolve.solve.smt.sizedp import _SIZE as SIZE
from archsolve.solve.smt.sizedp import Sizes, _linear_bounds, _periodic, _where
from archsolve.solve.solution import open_layers
from archsolve.spec.load import load_text

from .conftest import ROOT, Domain, assignments, examples, run_cli_split, write_spec

sys.path.insert(0, str(ROOT / "benchmarks"))
from scale_bench import chain_spec, unet_spec, unsat_chain_spec  # noqa: E402

Key = tuple[int, ...]
NOT_APPLIED = "the size walk does not apply to this question"
TIMED_OUT = "the solver timed out before finding any solution"


# ==========================================================================================
# the brute force
# ==========================================================================================

@dataclass(frozen=True)
class Brute:
    """Every valid assignment of a spec's unknowns, keyed by its values in name order."""

    names: tuple[str, ...]
    solutions: dict[Key, dict[str, int]]
    params: dict[Key, int]
    holes: dict[Key, bool]  # an output position no input reaches, in a layer the unknowns decide

    def best(self, objective: str, *, holes: bool = True) -> dict[str, int]:
        """The optimum as solve defines it: the smallest objective (``sum``, ``params`` or a
        var's name), then no holes (unless not ``holes``), then the smallest values in
        unknown-name order."""
        cost = {"sum": lambda k: sum(k), "params": lambda k: self.params[k]}.get(
            objective, lambda k: k[self.names.index(objective)])
        return self.solutions[min(self.solutions, key=lambda k: (cost(k), holes and self.holes[k], k))]


def brute_force(text: str, domains: Mapping[str, Domain]) -> Brute:
    spec = load_text(text)
    net = build_network(spec)
    names = tuple(sorted(domains))
    decided = open_layers(spec)
    sols: dict[Key, dict[str, int]] = {}
    params: dict[Key, int] = {}
    holes: dict[Key, bool] = {}
    cache: dict[Any, Any] = {}
    for values in assignments(domains):
        prop = propagate(net, values, receptive_fields=False, cache=cache)
        if prop.ok:
            k = tuple(values[n] for n in names)
            sols[k] = values
            params[k] = sum(int(r.params or 0) for r in prop.layers.values())
            holes[k] = any(p.kind == "holes" and p.layer in decided for p in prop.problems)
    return Brute(names=names, solutions=sols, params=params, holes=holes)


def keys(res: SolveResult, names: tuple[str, ...]) -> list[Key]:
    return [tuple(s.values[n] for n in names) for s in res.solutions]


# ==========================================================================================
# 1. random chains against the search and the brute force
# ==========================================================================================

OP_FIELDS = {
    "conv": ("kernel", "stride", "padding", "dilation"),
    "deconv": ("kernel", "stride", "padding", "output_padding", "dilation"),
    "maxpool": ("kernel", "stride", "padding", "dilation"),
    "avgpool": ("kernel", "stride", "padding"),
    "upsample": ("scale",),
}
FIELD_RANGES = {"kernel": (1, 5), "stride": (1, 3), "padding": (0, 2), "dilation": (1, 3),
                "output_padding": (0, 1), "scale": (1, 3)}
DEPENDENT = ("padding", "output_padding")  # with no domains: entry, their domain follows the layer's other fields
MAX_ASSIGNMENTS = 3000  # the brute force's cost a chain


def _field(lay: Mapping[str, Any], name: str, fname: str, default: int, values: Mapping[str, int]) -> int:
    raw = lay.get(fname, default)
    return values[f"{name}.{fname}"] if raw == "?" else raw


def _dependent_domain(lay: Mapping[str, Any], fname: str) -> Domain:
    """docs/spec-format.md's defaults: conv/deconv padding 0..dilation*(kernel-1), pool padding
    0..kernel//2, output_padding 0..max(stride, dilation)-1."""
    name = lay["name"]
    if fname == "padding" and lay["op"] in ("maxpool", "avgpool"):
        return lambda v: range(_field(lay, name, "kernel", 1, v) // 2 + 1)
    if fname == "padding":
        return lambda v: range(_field(lay, name, "dilation", 1, v) * (_field(lay, name, "kernel", 1, v) - 1) + 1)
    return lambda v: range(max(_field(lay, name, "stride", 1, v), _field(lay, name, "dilation", 1, v)))


@st.composite
def chains(draw: Any) -> dict[str, Any]:
    """A spec (as a dict, constraints still to add) and its unknowns' domains."""
    ndim = draw(st.sampled_from([1, 2]))
    cin = draw(st.integers(1, 3))
    spec: dict[str, Any] = {"input": [cin, *(draw(st.integers(5, 24)) for _ in range(ndim))]}
    domains: dict[str, Domain] = {}
    if draw(st.integers(0, 3)) == 0:  # the input's sizes a var over a few values (all axes: a square)
        lo = draw(st.integers(3, 20))
        hi = draw(st.integers(lo, lo + 4))
        spec["vars"] = {"H": {"min": lo, "max": hi}}
        spec["input"] = [cin, *(["H"] * ndim)]
        domains["H"] = list(range(lo, hi + 1))
    written: dict[str, list[int]] = {}
    for fname, (lo, hi) in FIELD_RANGES.items():
        if fname in DEPENDENT and draw(st.booleans()):
            continue  # the dependent default
        a = draw(st.integers(lo, hi))
        written[fname] = list(range(a, draw(st.integers(min(hi, a + 1), min(hi, a + 2))) + 1))
    spec["domains"] = {f: {"min": v[0], "max": v[-1]} for f, v in written.items()}
    layers: list[dict[str, Any]] = []
    for i in range(draw(st.integers(2, 4))):
        op = draw(st.sampled_from(sorted(OP_FIELDS)))
        lay: dict[str, Any] = {"name": f"l{i}", "op": op}
        if op in ("conv", "deconv"):
            lay["out"] = cin  # the channels stay: an add skip can join any two layers
        fields = OP_FIELDS[op]
        n_open = draw(st.integers(1, min(4, len(fields))))
        opened = draw(st.permutations(fields))[:n_open]
        if "kernel" not in opened and "kernel" in fields:
            lay["kernel"] = draw(st.integers(1, 3))
        if "scale" not in opened and "scale" in fields:
            lay["scale"] = 2
        per_axis = ndim == 2 and draw(st.integers(0, 3)) == 0
        for fname in opened:
            if fname in DEPENDENT and fname not in written:
                continue  # below, once the fields its default domain reads are written
            if per_axis and fname != "padding":  # one padding "?" per axis only with a written domain
                lay[fname] = draw(st.sampled_from([["?", "?"], ["?", 1], [1, "?"]]))
                for j, x in enumerate(lay[fname]):
                    if x == "?":
                        domains[f"{lay['name']}.{fname}[{j}]"] = written[fname]
                continue
            lay[fname] = "?"
            domains[f"{lay['name']}.{fname}"] = written[fname]
        for fname in opened:
            # the contract gives no default domain to a padding "?" whose layer's fields differ per axis
            if fname in DEPENDENT and fname not in written and not per_axis:
                lay[fname] = "?"
                domains[f"{lay['name']}.{fname}"] = _dependent_domain(lay, fname)
        layers.append(lay)
    skip = draw(st.sampled_from(["none", "none", "concat", "add"]))
    if skip != "none":  # a branch from the input, its own kernel, stride and padding open, joins the chain's end
        branch = {"name": "b", "from": "input", "op": "conv", "out": cin, "kernel": "?", "stride": "?",
                  "padding": "?"}
        for fname in ("kernel", "stride", "padding"):
            domains[f"b.{fname}"] = written[fname] if fname in written else _dependent_domain(branch, fname)
        layers += [branch, {"name": "j", "op": skip, "from": ["b", layers[-1]["name"]]}]
    spec["layers"] = layers
    middle = draw(st.one_of(st.none(), st.integers(0, len(layers) - 1)))
    return {"spec": spec, "domains": domains, "ndim": ndim, "middle": middle,
            "pick": draw(st.integers(0, 10**9)), "random": draw(st.integers(0, 3)) == 0,
            "target": [draw(st.integers(1, 40)) for _ in range(ndim)]}


def _constraints(chain: dict[str, Any], text: str) -> list[str]:
    """A final size (a solution's, or a random one) and sometimes a middle one (the same
    solution's there), from one brute force of the spec without constraints."""
    spec = chain["spec"]
    axes = ("L",) if chain["ndim"] == 1 else ("H", "W")
    last = spec["layers"][-1]["name"]
    net = build_network(load_text(text))
    valid = [v for v in assignments(chain["domains"]) if propagate(net, v, receptive_fields=False).ok]
    if chain["random"] or not valid:
        return [" and ".join(f"{last}.{a} == {t}" for a, t in zip(axes, chain["target"], strict=True))]
    prop = propagate(net, valid[chain["pick"] % len(valid)], receptive_fields=False)
    shape = [int(x) for x in prop.layers[last].shape]
    out = [f"{last}.shape == {shape}"]
    if chain["middle"] is not None:
        name = spec["layers"][chain["middle"]]["name"]
        out.append(f"{name}.{axes[-1]} == {int(prop.layers[name].shape[-1])}")
    return out


def _bucket(n: int) -> str:
    return "0" if n == 0 else "1" if n == 1 else f"{10 ** (len(str(n)) - 1)}+"


@settings(max_examples=examples(400), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(chain=chains())
def test_the_walk_agrees_with_the_search_and_the_brute_force(chain: dict[str, Any]) -> None:
    domains = chain["domains"]
    total = sum(1 for _, _ in zip(assignments(domains), range(MAX_ASSIGNMENTS + 1), strict=False))
    hypothesis.event("skipped: too many assignments" if total > MAX_ASSIGNMENTS else f"assignments: {_bucket(total)}")
    if total > MAX_ASSIGNMENTS:
        return  # too many for the brute force; hypothesis draws smaller ones as often
    spec = chain["spec"]
    spec["constraints"] = _constraints(chain, yaml.safe_dump(spec, sort_keys=False))
    text = yaml.safe_dump(spec, sort_keys=False)
    brute = brute_force(text, domains)
    hypothesis.event(f"solutions: {_bucket(len(brute.solutions))}")

    def solve(engine: str, **kw: Any) -> SolveResult:
        return solve_spec(load_text(text), engine=engine, timeout=None, **kw)

    listed = {e: solve(e, all_solutions=True, count=True, limit=10**6) for e in ("dp", "search")}
    optimum = {e: solve(e) for e in ("dp", "search")}
    first = solve("dp", first=True)
    if not brute.solutions:
        for res in (listed["search"], optimum["search"]):
            assert res.status is SolveStatus.UNSAT, (res.status, res.message)
        for res in (listed["dp"], optimum["dp"], first):
            assert (res.status, res.message) == (SolveStatus.UNSAT, ""), (res.status, res.message)
        conflict = optimum["dp"].conflict
        if conflict is not None and conflict.message.endswith(" from any input size"):  # the walk's own words
            hypothesis.event("unsat, explained by the walk")
            assert len(conflict.layers) == 1 and conflict.layers[0] in {lay["name"] for lay in spec["layers"]}, \
                conflict
            assert conflict.message.startswith(f"{conflict.layers[0]} "), conflict.message
        return
    assert [s.values for s in listed["dp"].solutions] == [s.values for s in listed["search"].solutions]  # best first
    # the walk judges no holes in a layer split per axis (test_the_walk_prefers_no_holes_per_axis_too)
    per_axis_tie = any("[" in n for n in brute.names) and brute.best("sum") != brute.best("sum", holes=False)
    hypothesis.event(f"per-axis hole tie: {per_axis_tie}")
    for e in ("dp", "search"):
        assert listed[e].status is SolveStatus.SAT and listed[e].complete, e
        assert (listed[e].count, sorted(keys(listed[e], brute.names))) == (len(brute.solutions), sorted(brute.solutions)), e
        assert optimum[e].status is SolveStatus.SAT and optimum[e].optimal, e
        assert optimum[e].solutions[0].objective == sum(brute.best("sum").values()), e
        if not (per_axis_tie and e == "dp"):
            assert optimum[e].solutions[0].values == brute.best("sum"), e
    assert first.status is SolveStatus.SAT and keys(first, brute.names)[0] in brute.solutions
    if "H" in brute.names:  # the smallest input, then solve's tie-break
        hypothesis.event("an input var")
        smallest = {e: solve(e, minimize="H") for e in ("dp", "search")}
        for e in smallest:
            assert smallest[e].status is SolveStatus.SAT and smallest[e].optimal, e
            assert smallest[e].solutions[0].values["H"] == brute.best("H")["H"], e
            if not (per_axis_tie and e == "dp"):
                assert smallest[e].solutions[0].values == brute.best("H"), e
    params = {e: solve(e, minimize="params") for e in ("dp", "search")}
    best = brute.best("params")
    per_axis_tie = any("[" in n for n in brute.names) and best != brute.best("params", holes=False)
    if any("[" in n for n in brute.names) and params["dp"].message == NOT_APPLIED:
        hypothesis.event("params per axis: the walk does not apply")
        del params["dp"]  # a layer split per axis has no parameter count a table of one axis could carry
    for e in params:
        assert params[e].status is SolveStatus.SAT and params[e].optimal, e
        assert params[e].solutions[0].objective == brute.params[keys(params[e], brute.names)[0]], e
        assert brute.params[keys(params[e], brute.names)[0]] == brute.params[tuple(best[n] for n in brute.names)], e
        if not (per_axis_tie and e == "dp"):
            assert params[e].solutions[0].values == best, e


# ==========================================================================================
# 2. exact answers
# ==========================================================================================

def _dcgan_unplanned() -> str:
    """specs/dcgan-solve.yaml without the classic plan's upN.H constraints: its 3,520 solutions."""
    text = (ROOT / "specs" / "dcgan-solve.yaml").read_text()
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("- up")) + "\n"


@pytest.mark.parametrize(("text", "count"), [
    (_dcgan_unplanned(), 3520),
    ((ROOT / "specs" / "dcgan-solve.yaml").read_text(), 4),
    (chain_spec(depth=4, size=64), 275958144),
], ids=["dcgan", "dcgan-planned", "chain4-64"])
def test_the_walk_counts_every_solution(tmp_path: Path, text: str, count: int) -> None:
    code, out, err = run_cli_split("solve", str(write_spec(tmp_path, text)), "--engine", "dp", "--all", "--count",
                                   "--limit", "10", "--json")
    doc = yaml.safe_load(out)
    assert (code, err, doc["status"], doc["count"], len(doc["solutions"])) == (0, "", "sat", count, min(count, 10))


def test_the_walks_optimum_of_the_benchmark_chain_is_the_searchs() -> None:
    text = chain_spec(depth=4, size=64)
    walked, searched = (solve_spec(load_text(text), engine=e) for e in ("dp", "search"))
    assert (walked.status, walked.optimal, walked.solutions[0].objective) == (SolveStatus.SAT, True, 28)
    assert walked.solutions[0].values == searched.solutions[0].values


def test_the_walk_explains_the_unsat_chain(tmp_path: Path) -> None:
    path = write_spec(tmp_path, unsat_chain_spec(depth=4, size=64))
    for engine in ("dp", "auto"):
        code, out, err = run_cli_split("solve", str(path), "--engine", engine, "--json")
        doc = yaml.safe_load(out)
        assert (code, err, doc["status"], doc["conflict"]["layers"], doc["conflict"]["message"]) == (
            1, "", "unsat", ["u2"],
            "u2 cannot meet u2.shape == [3, 65, 65]; no value of u2.dilation, u2.kernel, u2.padding, u2.stride "
            "gives u2.H = 65 from any input size"), engine


def test_an_unsat_is_explained_under_its_own_constraints_only(tmp_path: Path) -> None:
    """The output's parity breaks at the last deconv: that layer and that constraint alone,
    not the constraints on the middle and the bottleneck (each is left out in turn, and the
    walk is asked again under those it needs)."""
    code, out, _ = run_cli_split("solve", str(write_spec(tmp_path, unsat_chain_spec(depth=8, size=64))), "--json")
    doc = yaml.safe_load(out)
    assert (code, doc["conflict"]["layers"], doc["conflict"]["constraints"], doc["conflict"]["message"]) == (
        1, ["u4"], ["u4.shape == [3, 65, 65]"],
        "u4 cannot meet u4.shape == [3, 65, 65]; no value of u4.dilation, u4.kernel, u4.padding, u4.stride "
        "gives u4.H = 65 from any input size")


def test_an_unsat_the_walk_cannot_place_is_left_to_z3(tmp_path: Path) -> None:
    """The bottleneck out of reach of the convs before it: no domain breaks off at one layer,
    and Z3 names a conflict (the walk proved there is none)."""
    text = chain_spec(depth=4, size=64).replace("c2.H == 4", "c2.H == 300")
    assert solve_spec(load_text(text), engine="dp").conflict is None  # proven, not placed
    code, out, _ = run_cli_split("solve", str(write_spec(tmp_path, text)), "--json")
    doc = yaml.safe_load(out)
    assert (code, doc["status"], doc["conflict"]["layers"], doc["conflict"]["constraints"]) == (
        1, "unsat", ["u1", "u2"], ["c2.H == 300", "u2.shape == [3, 64, 64]"])


OUT_OF_REACH = [  # the walk takes none of these; auto hands them on and answers
    ("var-kernel", "input: [1, 8]\nvars: {k: {min: 1, max: 7}}\n"
                   'layers: [{name: c1, op: conv, out: 1, kernel: k, stride: "?"}]\nconstraints: [c1.L == 2]\n',
     {"k": 1, "c1.stride": 4}),
    ("var-channels-params", "input: [1, 8]\nvars: {C: {min: 1, max: 3}}\n"
                            'layers: [{name: c1, op: conv, out: C, kernel: "?"}, {name: c2, op: conv, out: 2, kernel: "?"}]\n'
                            "constraints: [c2.L == 2]\nminimize: params\n",
     {"C": 1, "c1.kernel": 7, "c2.kernel": 1}),
    ("var-domain-names-a-var", "input: [1, H]\nvars: {H: {min: 4, max: 8}, W: {min: 1, max: H}}\n"
                               'layers: [{name: c1, op: conv, out: 1, kernel: "?"}]\nconstraints: [c1.L == W]\n',
     {"H": 4, "W": 1, "c1.kernel": 4}),
    ("constraint-names-an-unknown", 'input: [1, 8]\nlayers: [{name: c1, op: conv, out: 1, kernel: "?", stride: "?"}]\n'
                                    "constraints: [c1.kernel == 3, c1.L == 6]\n",
     {"c1.kernel": 3, "c1.stride": 1}),
    ("minimize-macs", 'input: [1, 8]\nlayers: [{name: c1, op: conv, out: 1, kernel: "?", stride: "?"}]\n'
                      "constraints: [c1.L == 4]\nminimize: macs\n",
     {"c1.kernel": 1, "c1.stride": 2}),
]


@pytest.mark.parametrize(("text", "values"), [c[1:] for c in OUT_OF_REACH], ids=[c[0] for c in OUT_OF_REACH])
def test_where_the_walk_does_not_apply_it_says_so_and_auto_answers(tmp_path: Path, text: str,
                                                                   values: dict[str, int]) -> None:
    path = write_spec(tmp_path, text)
    code, out, err = run_cli_split("solve", str(path), "--engine", "dp")
    assert (code, out, err) == (3, f"{path}: UNKNOWN: {NOT_APPLIED}\n", "")
    code, out, err = run_cli_split("solve", str(path), "--json")
    doc = yaml.safe_load(out)
    assert (code, err, doc["status"], doc["optimal"], doc["solutions"][0]["values"]) == (0, "", "sat", True, values)


def test_past_its_state_limit_the_walk_says_so_and_auto_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A walk that would hold more states than it may (a U-Net's count over every input size
    at full scale; here the limit is made small) says so under ``--engine dp``; ``auto``
    hands the question on and answers it."""
    from archsolve.solve.api import solve_spec
    from archsolve.solve.outcome import Engine
    from archsolve.solve.smt import sizedp
    from archsolve.spec.load import load_text

    monkeypatch.setattr(sizedp, "MAX_STATES", 3)
    monkeypatch.setattr("archsolve.solve.api.MAX_STATES", 3)
    spec = load_text('input: [1, 16]\nlayers: [{name: c1, op: conv, out: 1, kernel: "?", stride: "?"},\n'
                     '  {name: c2, op: conv, out: 1, kernel: "?", stride: "?"}]\nconstraints: [c2.L == 2]\n')
    walked = solve_spec(spec, engine=Engine.DP, all_solutions=True, limit=3, count=True)
    assert (walked.status.value, walked.message) == ("unknown", (
        "the size walk would hold more than 3 states for this question (about 100 MB); --engine auto hands such "
        "a question to the search and Z3"))
    listed = solve_spec(spec, all_solutions=True, limit=3, count=True)
    assert listed.status.value == "sat" and len(listed.solutions) == 3 and listed.count is not None
    # Z3 alone lists the first three and says why there is no count
    from archsolve.solve.api import NOT_COUNTED

    modelled = solve_spec(spec, engine=Engine.Z3, all_solutions=True, limit=3, count=True)
    assert (len(modelled.solutions), modelled.count, modelled.message) == (3, None, NOT_COUNTED)
    assert modelled.to_json()["message"] == NOT_COUNTED


def test_a_layer_with_no_valid_value_is_unsat_by_the_walk(tmp_path: Path) -> None:
    path = write_spec(tmp_path, 'input: [1, 3]\ndomains: {kernel: {min: 4, max: 4}}\n'
                                'layers: [{name: l0, op: avgpool, kernel: "?"}]\n')
    code, out, err = run_cli_split("solve", str(path), "--engine", "dp")
    assert (code, out, err) == (1, f"{path}: UNSATISFIABLE\n", "")


@pytest.mark.parametrize("engine", ["dp", "auto"])
def test_the_walk_prefers_no_holes_per_axis_too(engine: str) -> None:
    text = ('input: [1, 2, 2]\ndomains: {kernel: {min: 1, max: 6}, stride: {min: 1, max: 6}}\n'
            'layers: [{name: up, op: deconv, out: 1, kernel: ["?", "?"], stride: ["?", "?"]}]\n'
            "constraints: [up.H == 6, up.W == 6]\n")
    res = solve_spec(load_text(text), engine=engine)
    assert (res.status, res.solutions[0].values, res.solutions[0].holes, res.solutions[0].objective) == (
        SolveStatus.SAT, {"up.kernel[0]": 3, "up.kernel[1]": 3, "up.stride[0]": 3, "up.stride[1]": 3}, (), 12)


# ==========================================================================================
# 3. the time-out
# ==========================================================================================

def wide_chain(layers: int, *, target: str) -> str:
    """A chain of 1-d convs, kernel 1..40, stride 1..10 and dilation 1..10 all open (as tests/test_timeouts.py's)."""
    lines = ["input: [3, 4096]", "domains:", "  kernel: {min: 1, max: 40}", "  stride: {min: 1, max: 10}",
             "  dilation: {min: 1, max: 10}", "layers:"]
    lines += [f'  - {{name: c{i}, op: conv, out: 4, kernel: "?", stride: "?", dilation: "?"}}' for i in range(layers)]
    return "\n".join([*lines, f"constraints: [{target}]"]) + "\n"


@pytest.mark.parametrize("args", [(), ("--first",), ("--all", "--count")], ids=["optimum", "first", "count"])
def test_the_walk_stops_at_its_timeout(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = write_spec(tmp_path, wide_chain(40, target="c39.L == 7"))
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "archsolve", "--version"], cwd=ROOT, check=True, capture_output=True)
    start_s = time.perf_counter() - began
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "archsolve", "solve", str(path), "--engine", "dp", "--timeout", "1",
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    took = time.perf_counter() - began
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, f"{path}: UNKNOWN: {TIMED_OUT}\n", "")
    assert took < 1.2 * 1 + 1 + start_s + 1.5  # 1.5 s: a loaded two-core machine, as test_timeouts.py allows


# ==========================================================================================
# 4. no holes where an equal sum allows
# ==========================================================================================

HOLES = """
input: [1, 2]
domains: {kernel: {min: 1, max: 6}, stride: {min: 1, max: 6}}
layers:
  - {name: up1, op: deconv, out: 1, kernel: "?", stride: "?"}
  - {name: up2, op: deconv, out: 1, kernel: "?", stride: "?"}
constraints: [up1.L == 6, up2.L == 12]
"""


def test_the_walk_prefers_an_answer_without_holes_at_an_equal_sum() -> None:
    """From 2 to 6, kernel + stride is 6 whatever the pair: (1, 5) and (2, 4) leave holes
    (stride past kernel), (3, 3) does not; name order alone would pick (1, 5)."""
    listed = solve_spec(load_text(HOLES), engine="dp", all_solutions=True)
    cheapest = sorted(((s.values, s.holes) for s in listed.solutions if s.objective == 10),
                      key=lambda c: tuple(c[0].values()))
    assert cheapest == [
        ({"up1.kernel": 1, "up1.stride": 5, "up2.kernel": 2, "up2.stride": 2}, ("up1",)),
        ({"up1.kernel": 2, "up1.stride": 4, "up2.kernel": 2, "up2.stride": 2}, ("up1",)),
        ({"up1.kernel": 3, "up1.stride": 3, "up2.kernel": 2, "up2.stride": 2}, ()),
        ({"up1.kernel": 4, "up1.stride": 2, "up2.kernel": 2, "up2.stride": 2}, ()),
        ({"up1.kernel": 5, "up1.stride": 1, "up2.kernel": 2, "up2.stride": 2}, ()),
    ]
    for engine in ("dp", "search", "auto"):
        res = solve_spec(load_text(HOLES), engine=engine)
        assert (res.status, res.solutions[0].values, res.solutions[0].holes) == (
            SolveStatus.SAT, {"up1.kernel": 3, "up1.stride": 3, "up2.kernel": 2, "up2.stride": 2}, ()), engine


# ==========================================================================================
# 5. what a review found
# ==========================================================================================

def test_a_split_layer_makes_the_hole_preference_all_or_nothing() -> None:
    """No optimal answer is free of holes here, so the holes tie and name order decides, as in
    the search: a walk that preferred answers without holes in ``b`` alone (the split ``a``
    unjudged) answered a.stride[0] = 3."""
    text = ('input: [1, 4, 3]\ndomains: {kernel: {min: 1, max: 3}, stride: {min: 1, max: 3}, padding: {min: 0, max: 1}}\n'
            'layers:\n  - {name: a, op: deconv, out: 1, kernel: [1, "?"], stride: ["?", "?"], padding: 0}\n'
            '  - {name: b, op: deconv, out: 1, kernel: "?", stride: ["?", "?"], padding: "?"}\n'
            "constraints: [b.H == 11, b.W == 10]\n")
    got = {engine: solve_spec(load_text(text), engine=engine).solutions[0].values for engine in ("dp", "search", "z3")}
    assert got["dp"] == got["search"] == got["z3"] == {
        "a.kernel[1]": 1, "a.stride[0]": 1, "a.stride[1]": 2, "b.kernel": 2, "b.padding": 0, "b.stride[0]": 3,
        "b.stride[1]": 2}


def test_a_listing_the_time_cuts_before_its_first_solution_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not "unsat": the walk had counted solutions, and only the listing ran out of time."""
    import archsolve.solve.dppath

    monkeypatch.setattr(archsolve.solve.dppath, "list_by_dp", lambda *a, **k: ([], 5, True))
    text = 'input: [1, 8]\nlayers: [{name: up, op: deconv, out: 1, kernel: "?", stride: 2}]\n'
    res = solve_spec(load_text(text), engine="dp", all_solutions=True)
    assert (res.status, res.solutions, res.message) == (
        SolveStatus.UNKNOWN, [], "the solver timed out before finding any solution")


def test_two_branches_wanting_different_sizes_are_not_blamed_on_one(tmp_path: Path) -> None:
    """``a`` and ``b`` read c0's output and need sizes of it that do not meet: the walk does not
    say "b gives 16 from no input" (kernel 3 does, from 18), and Z3 names both."""
    text = ('input: [1, 20]\ndomains: {kernel: {min: 1, max: 3}, stride: {min: 1, max: 2}}\nlayers:\n'
            '  - {name: c0, op: conv, out: 1, kernel: "?", stride: "?"}\n'
            '  - {name: a, op: conv, out: 1, kernel: "?", from: c0}\n'
            '  - {name: b, op: conv, out: 1, kernel: "?", from: c0}\nconstraints: [a.L == 9, b.L == 16]\n')
    assert solve_spec(load_text(text), engine="dp").conflict is None
    res = solve_spec(load_text(text))
    assert (res.status, res.conflict.layers, res.conflict.constraints) == (  # type: ignore[union-attr]
        SolveStatus.UNSAT, ("a", "b"), ("a.L == 9", "b.L == 16"))


def test_a_table_read_by_two_sizes_agrees_with_the_search() -> None:
    """H and W apart (a 64x48 input): each effect bounds and gives each size by its own rule."""
    text = ('input: [3, 64, 48]\nlayers:\n'
            '  - {name: c1, op: conv, out: 8, kernel: "?", stride: "?", padding: "?"}\n'
            '  - {name: c2, op: conv, out: 8, kernel: "?", stride: "?", padding: "?"}\n'
            '  - {name: u1, op: deconv, out: 3, kernel: "?", stride: "?", padding: "?"}\n'
            'constraints: [c2.H == 8, c2.W == 6, "u1.shape == [3, 32, 24]"]\n')
    got = {}
    for engine in ("dp", "search"):
        best = solve_spec(load_text(text), engine=engine)
        listed = solve_spec(load_text(text), engine=engine, all_solutions=True, limit=3, count=True)
        got[engine] = (best.solutions[0].objective, best.solutions[0].values, listed.count)
    assert got["dp"] == got["search"] and got["dp"][0] == 16 and got["dp"][2] == 12968


@pytest.mark.parametrize("args", [(), ("--all",), ("--first",)], ids=["optimum", "all", "first"])
def test_a_spec_with_no_unknown_is_the_walks_as_the_searchs(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = write_spec(tmp_path, "input: [1, 5, 5]\nlayers:\n  - {name: l0, op: avgpool, kernel: 1}\n")
    got = [run_cli_split("solve", str(path), "--json", "--engine", engine, *args) for engine in ("dp", "search")]
    assert got[0] == got[1] and got[0][0] == 0


@pytest.mark.parametrize(("target", "status"), [("[1, 5, 5]", "sat"), ("[1, 1, 1]", "unsat")])
def test_a_constraint_on_constant_sizes_is_the_walks_too(tmp_path: Path, target: str, status: str) -> None:
    """No unknown, no item to place the constraint after: it is checked first."""
    path = write_spec(tmp_path, f'input: [1, 5, 5]\nlayers:\n  - {{name: l0, op: avgpool, kernel: 1}}\n'
                                f'constraints: ["l0.shape == {target}"]\n')
    code, out, _ = run_cli_split("solve", str(path), "--json", "--engine", "dp", "--all")
    assert (code, yaml.safe_load(out)["status"]) == (0 if status == "sat" else 1, status)


# ==========================================================================================
# 5. U-Nets, the input a var, and what the backward pass knows
# ==========================================================================================

@pytest.mark.parametrize("depth", [3, 4])
def test_the_walks_smallest_unet_input_is_the_searchs(depth: int) -> None:
    """The bench's U-Net (``minimize: H``, H in 1..4096): the walk chooses H first, among the
    sizes the backward pass leaves (8 * 2**depth - 3 and up), and breaks the tie as the
    search does."""
    text = unet_spec(depth)
    got = {e: solve_spec(load_text(text), engine=e, timeout=None) for e in ("dp", "search")}
    assert got["dp"].solutions[0].values == got["search"].solutions[0].values
    assert (got["dp"].status, got["dp"].optimal, got["dp"].solutions[0].values["H"]) == (
        SolveStatus.SAT, True, 8 * 2 ** depth - 3)


def test_a_var_no_value_of_which_the_layers_allow_is_unsat(tmp_path: Path) -> None:
    """H in 1..60, and the U-Net needs 61 at least: the backward pass leaves the var no value,
    so the walk fails at once; Z3 names the layers."""
    path = write_spec(tmp_path, unet_spec(3).replace("H: {min: 1, max: 4096}", "H: {min: 1, max: 60}"))
    assert run_cli_split("solve", str(path), "--engine", "dp") == (1, "unet3: UNSATISFIABLE\n", "")
    code, out, _ = run_cli_split("solve", str(path))
    assert (code, out.splitlines()[:2]) == (1, [
        "unet3: UNSATISFIABLE",
        "  layers in conflict: enc1/a, enc1/b, enc2/a, enc2/b, enc3/a, enc3/b, mid/a, mid/b, pool1, pool2, pool3"])


@pytest.mark.parametrize(("condition", "runs"), [
    ("x >= 3", {"x": [(3, BIG)]}),
    ("(x - 1) // 2 + 1 >= 5", {"x": [(9, BIG)]}),
    ("x == 1 or x >= 6", {"x": [(1, 1), (6, BIG)]}),
    ("x <= 57 and x >= 5", {"x": [(5, 57)]}),
    ("3 < x", {"x": [(4, BIG)]}),
    ("x >= 3 and y <= 4", {"x": [(3, BIG)], "y": [(-BIG, 4)]}),
    ("x >= 3 and x % 2 == 0", {"x": [(3, BIG)]}),  # the parity says nothing a run can
    ("x % 2 == 0", None),
    ("x == 1 or y >= 6", None),
    ("x * x >= 9", None),
])
def test_what_a_condition_says_of_each_size(condition: str, runs: dict[str, list[tuple[int, int]]] | None) -> None:
    got = _where(parse(condition, frozenset({"logic"})))
    assert (None if got is None else {n: s.runs() for n, s in got.items()}) == runs


@pytest.mark.parametrize(("condition", "known", "bounds"), [
    ("enc - up >= 0", {"up": (5, BIG)}, [("enc", (5, BIG))]),  # a crop: the encoder at least the up-conv
    ("enc - up >= 0", {"up": (5, BIG), "enc": (3, 40)}, [("enc", (5, BIG)), ("up", (-BIG, 40))]),
    ("a + 2 > b", {"b": (10, 20)}, [("a", (9, BIG))]),
    ("a - b <= 3", {"b": (1, 4)}, [("a", (-BIG, 7))]),
    ("2 * a >= b", {"b": (1, 4)}, []),  # a coefficient other than 1: left alone
    ("enc - up >= 0", {}, []),
])
def test_what_a_comparison_of_sizes_says_given_the_others(condition: str, known: dict[str, tuple[int, int]],
                                                          bounds: list[tuple[str, tuple[int, int]]]) -> None:
    domains = {n: Sizes.of([run]) for n, run in known.items()}
    assert sorted(_linear_bounds(parse(condition, frozenset({"logic"})), domains)) == sorted(bounds)


def _tests(draw: Any, depth: int) -> str:
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        a, b, s = draw(st.integers(1, 3)), draw(st.integers(-9, 9)), draw(st.integers(1, 4))
        if draw(st.booleans()):
            return f"((({a} * x + {b}) // {s}) % {draw(st.integers(1, 5))}) {draw(st.sampled_from(['==', '!=']))} " \
                   f"{draw(st.integers(0, 4))}"
        return f"(({a} * x + {b}) // {s} + {draw(st.integers(-3, 3))}) " \
               f"{draw(st.sampled_from(['==', '!=', '<', '<=', '>', '>=']))} {draw(st.integers(-20, 20))}"
    return f"({_tests(draw, depth - 1)}) {draw(st.sampled_from(['and', 'or']))} ({_tests(draw, depth - 1)})"


@settings(max_examples=examples(300), deadline=None)
@given(data=st.data())
def test_a_periodic_test_is_its_condition_at_every_size(data: Any) -> None:
    """A hole condition's lookup (the walk's) against the condition itself, far past its
    table's ends both ways."""
    text = _tests(data.draw, data.draw(st.integers(0, 3)))
    test = parse(text, frozenset({"logic"})).substitute({"x": Name(SIZE)})
    lookup = _periodic(test)
    hypothesis.event("periodic" if lookup is not None else "not periodic")
    if lookup is not None:
        assert [v for v in range(-400, 400) if lookup(v)] == [v for v in range(-400, 400) if test.evaluate({SIZE: v})]


def test_a_fixed_input_unet_the_walk_could_not_hold_is_its_own_now(tmp_path: Path) -> None:
    """A valid U-Net of depth 5 at its smallest input, every pool and up-conv open: the
    encoder's states were over 200k before a check's bounds narrowed the sizes (each level
    at least 8 * 2**level - 3); now they are one per level."""
    text = unet_spec(5).replace("input: [1, H, H]", "input: [1, 253, 253]").replace(
        "vars:\n  H: {min: 1, max: 4096}\n", "").replace("minimize: H\n", "")
    got = {e: solve_spec(load_text(text), engine=e, timeout=None) for e in ("dp", "search")}
    assert got["dp"].message == "" and got["dp"].solutions[0].values == got["search"].solutions[0].values


@st.composite
def small_unets(draw: Any) -> str:
    """A U-Net of depth 1-2 (valid or same convs, crop or not before the concat), its pools
    and up-convs partly open over small domains, the input H a var over a few values or a
    number, and one of the walk's objectives."""
    depth = draw(st.integers(1, 2))
    valid = draw(st.booleans())
    pad = 0 if valid else 1
    lo = draw(st.integers(4, 40))
    lines = [f"exact: {str(draw(st.booleans())).lower()}"]
    if draw(st.booleans()):
        lines += ["input: [1, H, H]", f"vars: {{H: {{min: {lo}, max: {lo + draw(st.integers(0, 12))}}}}}"]
        objective = draw(st.sampled_from(["H", None, "params"]))
    else:
        lines.append(f"input: [1, {lo}, {lo}]")
        objective = draw(st.sampled_from([None, "params"]))
    lines += ["domains: {kernel: {min: 1, max: 4}, stride: {min: 1, max: 3}, padding: {min: 0, max: 1}}", "layers:"]

    def field(value: int) -> str:
        return '"?"' if draw(st.booleans()) else str(value)

    for i in range(1, depth + 1):
        lines += [f"  - {{name: e{i}, op: conv, out: 2, kernel: 3, padding: {pad}}}",
                  f"  - {{name: p{i}, op: maxpool, kernel: {field(2)}, stride: {field(2)}}}"]
    lines.append(f"  - {{name: mid, op: conv, out: 2, kernel: 3, padding: {pad}}}")
    for i in range(depth, 0, -1):
        lines.append(f"  - {{name: u{i}, op: deconv, out: 2, kernel: {field(2)}, stride: {field(2)}, "
                     f"padding: {field(0)}}}")
        if valid:
            lines += [f"  - {{name: c{i}, op: crop, from: e{i}, like: u{i}}}",
                      f"  - {{name: j{i}, op: concat, from: [c{i}, u{i}]}}"]
        else:
            lines.append(f"  - {{name: j{i}, op: concat, from: [e{i}, u{i}]}}")
    if objective:
        lines.append(f"minimize: {objective}")
    return "\n".join(lines) + "\n"


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=small_unets())
def test_the_walk_agrees_with_the_search_on_small_unets(text: str) -> None:
    """Skips carried in the state, crops that tie them to the up-convs, an input var: the
    walk's optimum, count and listing are the search's."""
    got = {}
    for engine in ("dp", "search"):
        best = solve_spec(load_text(text), engine=engine, timeout=None)
        listed = solve_spec(load_text(text), engine=engine, all_solutions=True, limit=10**5, count=True, timeout=None)
        got[engine] = (best.status, best.optimal, [s.values for s in best.solutions], listed.status, listed.count,
                       [s.values for s in listed.solutions])
    hypothesis.event(f"status: {got['search'][0].value}")
    assert got["dp"] == got["search"], text
