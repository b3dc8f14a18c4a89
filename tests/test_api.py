"""The Python API (archsolve.api): the same answers as the commands, and the graph with symbolic sizes."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import pytest

import archsolve as A
from archsolve.errors import SpecError, UsageError
from archsolve.output.report import check_json, inputs_json
from archsolve.output.view import check_view

from .conftest import ROOT, SPECS, run_cli_split


@pytest.mark.parametrize(("spec", "sets"), [
    ("unet-original.yaml", {}),
    ("unet-skip-mismatch.yaml", {}),
    ("dcgan-generator.yaml", {}),
    ("unet3d.yaml", {}),
    ("unet-padded-sizes.yaml", {"H": 572, "W": 572}),
])
def test_check_gives_what_check_json_prints(spec: str, sets: dict[str, int]) -> None:
    args = [a for name, value in sets.items() for a in ("--set", f"{name}={value}")]
    code, out, _ = run_cli_split("check", str(SPECS / spec), "--json", *args)
    report = A.load(str(SPECS / spec)).check(set=sets)
    assert check_json(check_view(report)) == json.loads(out)
    assert (report.ok, code) in {(True, 0), (False, 1)}


@pytest.mark.parametrize(("spec", "kwargs", "flags"), [
    ("dcgan-solve.yaml", {}, []),
    ("dcgan-solve.yaml", {"minimize": "params"}, ["--minimize", "params"]),
    ("unet-solve.yaml", {"all": True, "limit": 5}, ["--all", "--limit", "5"]),
    ("decoder-unsat.yaml", {}, []),
    ("unet-original.yaml", {}, []),
])
def test_solve_gives_what_solve_json_prints(spec: str, kwargs: dict[str, object], flags: list[str]) -> None:
    _, out, _ = run_cli_split("solve", str(SPECS / spec), "--json", *flags)
    assert A.load(str(SPECS / spec)).solve(**kwargs).to_json() == json.loads(out)


@pytest.mark.parametrize(("spec", "kwargs", "flags"), [
    ("unet-original-sizes.yaml", {"near": 500}, ["--near", "500"]),
    ("unet-original-sizes.yaml", {"range": "100..400"}, ["--range", "100..400"]),
    ("unet-original-sizes.yaml", {"range": (100, 400)}, ["--range", "100..400"]),
    ("unet-padded-sizes.yaml", {}, []),
])
def test_inputs_gives_what_inputs_json_prints(spec: str, kwargs: dict[str, object], flags: list[str]) -> None:
    _, out, _ = run_cli_split("inputs", str(SPECS / spec), "--json", *flags)
    reports = A.load(str(SPECS / spec)).inputs(**kwargs)
    assert isinstance(reports, dict)
    assert inputs_json(reports) == json.loads(out)


def test_inputs_of_one_axis_is_one_report() -> None:
    h = A.load(str(SPECS / "unet-original-sizes.yaml")).inputs("H", range=(180, 210), near=200)
    assert (h.name, h.low, h.high, h.values, h.nearest) == ("H", 180, 210, [188, 204], [204])


def test_loads_is_load_of_the_text() -> None:
    path = SPECS / "unet-skip-mismatch.yaml"
    from_text, from_file = A.loads(path.read_text()).check(), A.load(str(path)).check()
    assert (from_text.output, from_text.totals, from_text.repairs) == (from_file.output, from_file.totals,
                                                                       from_file.repairs)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: A.loads("input: [1, 8]\nlayers: [{op: relu, kernal: 3}]"), SpecError,
     "<spec>:2:29: layers[0] (relu1).kernal: relu has no field 'kernal'"),
    (lambda: A.load(str(SPECS / "unet-original.yaml")).inputs(), UsageError,
     f"{SPECS / 'unet-original.yaml'}: the input has no size variable; write e.g. input: [1, H, W] with "
     "vars: {H: {min: 1, max: 1024}, W: H}"),
])
def test_errors_are_raised_with_the_commands_messages(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message


UNET = A.load(str(SPECS / "unet-original-sizes.yaml"))


@pytest.mark.parametrize(("source", "layer", "field", "shape"), [
    ("input", "enc1/conv1", "from", ["1", "H", "H"]),
    ("enc1/conv1", "enc1/relu1", "from", ["64", "H - 2", "H - 2"]),
    ("enc1/relu2", "pool1", "from", ["64", "H - 4", "H - 4"]),
    ("pool1", "enc2/conv1", "from", ["64", "(H - 6) // 2 + 1", "(H - 6) // 2 + 1"]),
    ("enc4/relu2", "crop4", "from", ["512"] + ["(((H - 6) // 2 - 5) // 2 - 5) // 2 - 3"] * 2),
    ("up4", "crop4", "like", ["512"] + ["(((((H - 6) // 2 - 5) // 2 - 5) // 2 - 5) // 2 - 4) * 2 + 2"] * 2),
    ("crop4", "cat4", "from", ["512"] + ["(((((H - 6) // 2 - 5) // 2 - 5) // 2 - 5) // 2 - 4) * 2 + 2"] * 2),
])
def test_graph_edges_carry_the_symbolic_sizes(source: str, layer: str, field: str, shape: list[str]) -> None:
    edge = UNET.graph().edges[source, layer]
    assert (edge["field"], [str(v) for v in edge["shape"]]) == (field, shape)


def test_graph_symbolic_sizes_agree_with_check_at_a_valid_size() -> None:
    g = UNET.graph()
    report = UNET.check(set={"H": 572})
    for row in report.rows:
        if row.name in g:
            assert [v if isinstance(v, int) else v.evaluate({"H": 572}) for v in g.nodes[row.name]["shape"]] \
                == row.shape, row.name


def test_graph_nodes_carry_the_layer_and_its_op_facts() -> None:
    g = UNET.graph()
    assert {k: g.nodes["up4"][k] for k in ("op", "fields", "torch")} == {
        "op": "deconv", "fields": {"out": "512", "kernel": "2", "stride": "2"}, "torch": "nn.ConvTranspose2d"}
    assert str(g.nodes["up4"]["family"]) == "Family.UP"
    assert (g.nodes["cat4"]["torch"], g.nodes["crop4"]["fields"]) == ("torch.cat(dim=1)", {"like": "up4"})
    assert g.nodes["input"]["op"] == "input" and g.nodes["input"]["layer"] is None


def test_graph_names_the_unknowns_of_a_question_mark() -> None:
    g = A.loads("input: [1, 8]\nlayers: [{name: p, op: maxpool, kernel: \"?\"}, {name: c, op: conv, out: \"?\", "
                "kernel: 3}]").graph()
    assert [str(v) for v in g.edges["p", "c"]["shape"]] == ["1", "(8 - (p.kernel - 1) - 1) // p.kernel + 1"]
    assert [str(v) for v in g.nodes["c"]["shape"]] == ["c.out", "(8 - (p.kernel - 1) - 1) // p.kernel - 1"]
    assert g.nodes["c"]["fields"] == {"out": "c.out", "kernel": "3"}


@pytest.mark.parametrize("spec", ["unet-original-sizes.yaml", "resnet50.yaml", "unet3d.yaml", "dcgan-solve.yaml"])
def test_graph_is_a_dag_in_the_networks_order(spec: str) -> None:
    net = A.load(str(SPECS / spec))
    g = net.graph()
    assert nx.is_directed_acyclic_graph(g)
    order = list(g.nodes)
    assert order == ["input", *(lay.name for lay in net.spec.layers)]
    position = {name: i for i, name in enumerate(order)}
    assert all(position[u] < position[v] for u, v in g.edges)


def test_import_archsolve_loads_no_heavy_dependency() -> None:
    """Only what a method needs: networkx for graph(), never z3 for a check, torch only for from_torch."""
    code = ("import sys\nimport archsolve as A\nheavy = lambda: sorted(m for m in ('z3', 'networkx', 'torch') "
            "if m in sys.modules)\nfirst = heavy()\nnet = A.load('specs/unet-original.yaml')\nnet.check()\n"
            "second = heavy()\nnet.graph()\nprint(first, second, heavy())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[] [] ['networkx']"


def test_from_torch_reads_a_module() -> None:
    pytest.importorskip("archsolve.bridge")
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    report = A.from_torch(module, input=(3, 32, 32)).check()
    assert (report.ok, report.output, report.totals["params"]) == (True, (8, 15, 15), 224)
