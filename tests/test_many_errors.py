"""Every independent mistake in one run (issue #20, point 6), as ruff and mypy report them:
each with file:line:col, in the file's order, capped; under ``--json`` one JSON document on
stdout with the same exit code; a tab gets plain words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli_split

THREE = """\
input: [1, 8, 8]
layers:
  - {op: conv, out: 4, kernal: 3}
  - {op: relu}
  - {op: convv, out: 2}
  - {op: maxpool, kernel: 0}
constraint: []
"""


def _spec(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return str(path)


def test_every_mistake_in_one_run_in_the_files_order(tmp_path: Path) -> None:
    spec = _spec(tmp_path, THREE)
    code, out, err = run_cli_split("check", spec)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"archsolve: error: {spec}:3:32: layers[0] (conv1).kernal: conv has no field 'kernal' (did you mean 'kernel'?)",
        f"archsolve: error: {spec}:5:10: layers[2] (convv3).op: unknown op 'convv' (did you mean 'conv'?)",
        f"archsolve: error: {spec}:6:27: layers[3] (maxpool4).kernel: must be positive, got 0",
        f"archsolve: error: {spec}:7:1: constraint: unknown key 'constraint' (did you mean 'constraints'?)",
    ]


def test_json_errors_are_one_document_on_stdout_with_the_same_exit_code(tmp_path: Path) -> None:
    spec = _spec(tmp_path, THREE)
    for command in ("check", "solve", "inputs"):
        code, out, err = run_cli_split(command, spec, "--json")
        assert (code, err) == (2, "")
        doc = json.loads(out)
        assert (doc["ok"], doc["exit_code"], doc["more"]) == (False, 2, 0)
        assert doc["errors"][0] == {"message": "conv has no field 'kernal' (did you mean 'kernel'?)",
                                    "field": "layers[0] (conv1).kernal", "file": spec, "line": 3, "column": 32}
        assert [e["line"] for e in doc["errors"]] == [3, 5, 6, 7]


def test_one_mistake_is_one_error_as_before(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "input: [1, 8, 8]\nlayers:\n  - {op: relu, bogus: 1}\n")
    code, _, err = run_cli_split("check", spec, "--json")
    assert code == 2
    code, out, err = run_cli_split("check", spec)
    assert (code, err) == (2, f"archsolve: error: {spec}:3:23: layers[0] (relu1).bogus: relu has no field 'bogus'\n")


def test_the_count_is_capped_and_the_rest_counted(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "input: [1, 8, 8]\nlayers:\n" + "  - {op: relu, bogus: 1}\n" * 25)
    code, _, err = run_cli_split("check", spec)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 21
    assert lines[-1] == "archsolve: error: ... and 5 more (the first 20 are shown)"


def test_a_block_definitions_mistake_is_said_once_for_all_its_calls(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "input: [1, 8, 8]\nblocks:\n  b:\n    layers:\n      - {op: conv, out: 2, kernel: -1}\n"
                           "layers:\n  - {block: b}\n  - {block: b}\n  - {block: b}\n")
    code, _, err = run_cli_split("check", spec)
    assert (code, err) == (2, f"archsolve: error: {spec}:5:36: b1/conv1.kernel: must be positive, got -1\n")


@pytest.mark.parametrize(("text", "shown"), [
    # a broken var: the layers that read it are not checked (their errors would only repeat it)
    ("input: [1, H, H]\nvars: {H: {min: 9, max: 1}}\nlayers:\n  - {op: relu, bogus: 1}\n",
     "2:8: vars.H: empty range: min 9 > max 1"),
    # a broken layer: a later one that reads it is not reported as reading an unknown layer
    ("input: [1, 8, 8]\nlayers:\n  - {name: a, op: relu, bogus: 1}\n  - {op: relu, from: a}\n",
     "3:32: layers[0] (a).bogus: relu has no field 'bogus'"),
])
def test_a_mistake_is_not_repeated_by_what_depends_on_it(tmp_path: Path, text: str, shown: str) -> None:
    spec = _spec(tmp_path, text)
    code, _, err = run_cli_split("check", spec)
    assert (code, err) == (2, f"archsolve: error: {spec}:{shown}\n")


@pytest.mark.parametrize("text", [
    "input: [1, 8, 8]\nlayers:\n\t- {op: relu}\n",
    "input: [1, 8, 8]\nlayers:\n  - op: relu\n  \tname: x\n",
])
def test_a_tab_is_named(tmp_path: Path, text: str) -> None:
    code, _, err = run_cli_split("check", _spec(tmp_path, text))
    assert code == 2
    assert err.endswith("malformed YAML: a tab character; YAML indents with spaces only (replace the tab with "
                        "spaces)\n")
