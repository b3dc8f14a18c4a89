"""NetworkX as the model of the network: the graph's facts, and the graph algorithms the
explanations, the cycle check and the drawings use (off the path of a plain ``check``)."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

import archsolve as A
from archsolve.errors import SpecError
from archsolve.shapes.graph import build_network
from archsolve.spec.load import load_text

from .conftest import ROOT, SPECS, check_json

SKIP_MISMATCH = ("enc2 gives 32x32 but up2 gives 33x33 (32 = floor((64 - 2) / 2) + 1 at pool1; "
                 "33 = (16 - 1) * 2 + 3 at up2; the branches part at enc2 (32x32): enc2 unchanged, "
                 "up2 by pool2 -> 16x16 then up2 -> 33x33)")


@pytest.mark.parametrize(("layers", "message"), [
    # one branch changes the size twice after the input: origin() names only the last
    ("  - {name: a, op: conv, out: 4, kernel: 3}\n  - {name: b, op: conv, out: 4, kernel: 3}\n"
     "  - {name: c, op: conv, out: 4, kernel: 3, from: input}\n  - {name: m, op: add, from: [b, c]}\n",
     "b gives [4, 28, 28] but c gives [4, 30, 30] (28 = 30 - 2 at b; 30 = 32 - 2 at c; the branches part at "
     "input (32x32): b by a -> 30x30 then b -> 28x28, c by c -> 30x30)"),
    # three branches part at a layer; one keeps the size it had there
    ("  - {name: s, op: conv, out: 4, kernel: 3}\n  - {name: a, op: conv, out: 4, kernel: 3}\n"
     "  - {name: b, op: conv, out: 4, kernel: 5, from: s}\n  - {name: c, op: conv, out: 4, kernel: 1, from: s}\n"
     "  - {name: m, op: concat, from: [a, b, c]}\n",
     "a gives 28x28 but b gives 26x26 and c gives 30x30 (28 = 30 - 2 at a; 26 = 30 - 4 at b; 30 = 32 - 2 at s; "
     "the branches part at s (30x30): a by a -> 28x28, b by b -> 26x26, c unchanged)"),
    # each branch changed once, right after the input: the origins say it all
    ("  - {name: a, op: conv, out: 4, kernel: 3}\n  - {name: c, op: conv, out: 4, kernel: 5, from: input}\n"
     "  - {name: m, op: add, from: [a, c]}\n",
     "a gives [4, 30, 30] but c gives [4, 28, 28] (30 = 32 - 2 at a; 28 = 32 - 4 at c)"),
    # a branch read twice is one branch
    ("  - {name: a, op: conv, out: 4, kernel: 3}\n  - {name: b, op: conv, out: 4, kernel: 3}\n"
     "  - {name: c, op: conv, out: 4, kernel: 3, from: input}\n  - {name: m, op: concat, from: [c, b, input, b]}\n",
     "c gives 30x30 but b gives 28x28 and input gives 32x32 and b gives 28x28 (30 = 32 - 2 at c; 28 = 30 - 2 at b; "
     "32 from the input; the branches part at input (32x32): c by c -> 30x30, b by a -> 30x30 then b -> 28x28, "
     "input unchanged)"),
], ids=["changed-twice", "three-part-at-a-layer", "once-each-from-the-input", "a-branch-read-twice"])
def test_a_merge_mismatch_says_where_the_branches_part(spec_file, layers: str, message: str) -> None:
    code, doc = check_json(spec_file("input: [3, 32, 32]\nlayers:\n" + layers))
    assert code == 1 and [p["message"] for p in doc["problems"]] == [message]


def test_the_unet_skip_mismatch_names_the_split_and_the_up_path() -> None:
    code, doc = check_json(SPECS / "unet-skip-mismatch.yaml")
    assert code == 1 and [(p["layer"], p["message"]) for p in doc["problems"]] == [("cat2", SKIP_MISMATCH)]


@pytest.mark.parametrize(("layers", "message"), [
    ("[{name: a, op: relu, from: c}, {name: b, op: relu, from: a}, {name: c, op: relu, from: b}]",
     "<spec>:2:10: a.from: the layers form a cycle: a -> b -> c -> a"),
    # a layer reading the cycle is stuck too, but not part of it
    ("[{name: d, op: relu, from: b}, {name: a, op: relu, from: b}, {name: b, op: relu, from: a}]",
     "<spec>:2:40: a.from: the layers form a cycle: a -> b -> a"),
    # a merge: the walk goes back along the first source in `from`
    ("[{name: m, op: add, from: [y, x]}, {name: x, op: relu, from: m}, {name: y, op: relu, from: x}]",
     "<spec>:2:10: m.from: the layers form a cycle: m -> x -> y -> m"),
    ("[{name: p, op: relu}, {name: q, op: add, from: [p, r]}, {name: r, op: relu, from: s}, "
     "{name: s, op: relu, from: q}]",
     "<spec>:2:31: q.from: the layers form a cycle: q -> s -> r -> q"),
], ids=["three", "reader-of-a-cycle", "merge-in-a-cycle", "cycle-after-a-valid-layer"])
def test_a_cycle_is_named_from_its_first_layer_in_the_spec(layers: str, message: str) -> None:
    with pytest.raises(SpecError) as exc:
        build_network(load_text(f"input: [1, 8]\nlayers: {layers}\n"))
    assert str(exc.value) == message


@pytest.mark.parametrize(("spec", "at"), [
    ("unet-original.yaml", {}),
    ("unet-original-sizes.yaml", {"H": 572}),
], ids=["concrete", "symbolic-at-572"])
def test_graph_counts_add_up_to_checks_totals(spec: str, at: dict[str, int]) -> None:
    g = A.load(str(SPECS / spec)).graph()

    def value(v: object) -> int:
        return v if isinstance(v, int) else v.evaluate(at)  # type: ignore[attr-defined]

    totals = {k: sum(value(d[k]) for _, d in g.nodes(data=True)) for k in ("params", "macs")}
    assert totals == {"params": 31_030_658, "macs": 150_428_424_448}


def test_graph_nodes_carry_op_facts_and_counts() -> None:
    g = A.load(str(SPECS / "unet-original-sizes.yaml")).graph()
    node = g.nodes["up1"]
    assert (node["op"], node["torch"], node["fields"], node["params"]) == (
        "deconv", "nn.ConvTranspose2d", {"out": "64", "kernel": "2", "stride": "2"}, 32_832)
    assert [str(v) for v in g.edges["pool1", "enc2/conv1"]["shape"]] == ["64", "(H - 6) // 2 + 1",
                                                                         "(H - 6) // 2 + 1"]


def test_api_doc_examples_run(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False, verbose=False)
    assert (result.failed, result.attempted >= 6) == (0, True)


@pytest.mark.parametrize("spec", ["resnet50.yaml", "unet-original.yaml"])
def test_a_plain_check_does_not_import_networkx(spec: str) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "archsolve", "check", str(SPECS / spec)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert (done.returncode, [line for line in done.stderr.splitlines() if "networkx" in line]) == (0, [])
