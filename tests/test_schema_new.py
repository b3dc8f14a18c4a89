"""`archsolve schema` (one source of truth with the loader) and `archsolve new` starters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from archsolve.cli import main

from .conftest import ROOT, SPECS, run_cli, run_cli_split

jsonschema = pytest.importorskip("jsonschema")


@pytest.fixture(scope="module")
def validator():
    code, out, _ = run_cli_split("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


ALL_SPECS = sorted([*SPECS.glob("*.yaml"), *(ROOT / "benchmarks" / "specs").glob("*.yaml")])


@pytest.mark.parametrize("path", ALL_SPECS, ids=lambda p: p.name)
def test_every_example_validates(validator, path: Path) -> None:
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
    assert not errors, errors[0].message


@pytest.mark.parametrize(
    "doc",
    [
        {"input": [1, 8], "layers": [{"op": "conv2d", "out": 1}]},
        {"input": [1, 8], "layers": [{"op": "conv", "out": 1, "kernal": 3}]},
        {"input": [1, 8], "layers": [{"op": "conv", "kernel": 3}]},
        {"input": [1, 8], "layers": [{"op": "upsample", "mode": "bilinearr", "scale": 2}]},
        {"input": [1, 8], "layers": [], "semantics": "keras"},
        {"layers": [{"op": "relu"}]},
    ],
    ids=["unknown-op", "unknown-field", "missing-out", "bad-choice", "bad-semantics", "no-input"],
)
def test_broken_specs_do_not_validate(validator, doc: dict) -> None:
    assert list(validator.iter_errors(doc))


@pytest.mark.parametrize("doc", [
    {"input": [2, 4, 4], "layers": [{"name": "p1", "op": "maxpool", "kernel": 2},
                                    {"name": "u1", "op": "maxunpool", "indices": "p1"}]},
    {"input": [16, 1, 1], "layers": [{"op": "flatten"}, {"op": "reshape", "shape": [4, 2, -1]}]},
    {"input": [4, 8, 8], "layers": [{"name": "g", "op": "adaptive_avgpool", "size": 1},
                                    {"op": "mul", "from": ["input", "g"]}, {"op": "prelu", "per_channel": True},
                                    {"op": "lrn", "size": 2}]},
    {"input": [3, "H", "H"], "vars": {"H": {"min": 8, "max": 64, "default": 32}}, "holes": False,
     "blocks": {"b": {"params": {"k": [3, 3], "skip": None, "n": 1},
                      "layers": [{"name": "c", "op": "conv", "out": 3, "kernel": "k", "padding": "k // 2",
                                  "repeat": "n"},
                                 {"name": "s", "op": "add", "from": ["c", "skip"]}]}},
     "layers": [{"name": "a", "op": "identity"}, {"name": "x", "block": "b", "k": [1, 7], "skip": "a", "n": 2},
                {"name": "u", "op": "upsample", "like": "input"},
                {"name": "cr", "op": "crop", "like": "a", "offset": [0, 0]}]},
], ids=["maxunpool", "reshape", "mul-prelu-lrn", "spec-features"])
def test_specs_with_the_new_ops_and_fields_validate(validator, doc: dict) -> None:
    errors = list(validator.iter_errors(doc))
    assert not errors, errors[0].message


def test_schema_knows_every_op_and_field(validator) -> None:
    from archsolve.ops.table import ALIASES, OPS

    schema = validator.schema
    ops = {k.removeprefix("op:") for k in schema["$defs"] if k.startswith("op:")}
    assert set(OPS) <= ops
    assert schema["$defs"]["layer"]["properties"]["op"]["enum"] == [*OPS, *ALIASES]
    for name, op in OPS.items():
        props = schema["$defs"][f"op:{name}"]["properties"]
        assert {f.name for f in op.fields if not f.borrowed} <= set(props)  # borrowed: never written


@pytest.mark.parametrize(("doc", "message"), [
    ({"input": [1, 8], "layers": [{"op": "conv", "out": 1, "kernal": 3}]},
     "'kernal' is not one of ['op', 'name', 'from', 'repeat', 'comment', 'out', 'kernel', 'stride', 'padding', "
     "'dilation', 'groups', 'bias']"),
    ({"input": [1, 8], "layers": [{"op": "maxpool", "out": 3, "kernel": 2}]},
     "'out' is not one of ['op', 'name', 'from', 'repeat', 'comment', 'kernel', 'stride', 'padding', 'dilation', "
     "'ceil_mode']"),
    ({"input": [1, 8], "layers": [{"op": "conv", "kernel": 3}]}, "'out' is a required property"),
    ({"input": [1, 8], "layers": [{"name": "x"}]}, "'op' is a required property"),
    ({"input": [1, 8], "layers": [{"op": "upsample", "mode": "bilinearr", "scale": 2}]},
     "'bilinearr' is not one of ['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear']"),
])
def test_best_match_names_the_ops_own_fields(validator, doc: dict, message: str) -> None:
    """The layer schema is picked by its op: jsonschema's best error is about that op's fields,
    not "is not valid under any of the given schemas"."""
    from jsonschema.exceptions import best_match

    assert best_match(validator.iter_errors(doc)).message == message


@pytest.mark.parametrize("kind", ["unet", "resnet", "dcgan", "autoencoder"])
@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("depth", [1, 2, 4, 8])  # depth 1 of dcgan asked for 64 from two layers: unsat
def test_new_starters_validate_and_solve(validator, tmp_path: Path, kind: str, dims: int, depth: int) -> None:
    path = tmp_path / f"{kind}.yaml"
    code, _ = run_cli("new", kind, "--dims", str(dims), "--depth", str(depth), "-o", str(path))
    assert code == 0
    assert not list(validator.iter_errors(yaml.safe_load(path.read_text())))
    code, out, _ = run_cli_split("solve", str(path), "--json")
    assert code == 0 and json.loads(out)["status"] == "sat"


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help_with_an_example(command: str) -> None:
    code, out = run_cli(command, "--help")
    assert code == 0
    assert "\n  Example:\n" in out, out


_SUGGESTED = re.compile(r"^#   (archsolve [^#]*?)\s*(?:#.*)?$", re.M)


@pytest.mark.parametrize("kind", ["unet", "resnet", "dcgan", "autoencoder"])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_every_command_a_starter_suggests_works_on_it(tmp_path: Path, kind: str, dims: int) -> None:
    """The comment lines that give a command (``#   archsolve ...``) are run as written, on
    the starter itself (THIS.yaml), writing into the test's folder."""
    path = tmp_path / "THIS.yaml"
    assert run_cli("new", kind, "--dims", str(dims), "-o", str(path))[0] == 0
    commands = _SUGGESTED.findall(path.read_text())
    assert commands, "a starter says how to use it"
    for command in commands:
        args = [str(path) if a == "THIS.yaml" else str(tmp_path / a) if a.endswith((".yaml", ".json")) else a
                for a in command.split()[1:]]
        code, out = run_cli(*args)
        assert code == 0, (command, out)
