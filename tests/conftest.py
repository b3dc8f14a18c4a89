"""Shared helpers: run the CLI the way a user does and read its JSON."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from archsolve.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

Values = dict[str, int]
# a domain: the values themselves, or a function of the values already chosen (dependent defaults)
Domain = Sequence[int] | Callable[[Mapping[str, int]], Sequence[int]]


def assignments(domains: Mapping[str, Domain]) -> Iterator[Values]:
    """Every assignment of the cartesian product, for brute-force oracles; a callable domain
    is evaluated on the values chosen so far (independent domains are chosen first, so
    dependent ones can see them)."""
    fixed = [n for n, d in domains.items() if not callable(d)]
    dependent = [n for n, d in domains.items() if callable(d)]

    def rest(values: Values, names: list[str]) -> Iterator[Values]:
        if not names:
            yield dict(values)
            return
        name, more = names[0], names[1:]
        dom = domains[name]
        assert callable(dom)
        for v in dom(values):
            values[name] = v
            yield from rest(values, more)
        del values[name]

    for combo in itertools.product(*(list(domains[n]) for n in fixed)):  # type: ignore[arg-type]
        yield from rest(dict(zip(fixed, combo, strict=True)), dependent)


def run_cli(*args: str) -> tuple[int, str]:
    """Run ``archsolve ARGS``; return (exit code, what a terminal shows: stdout and stderr)."""
    result = CliRunner().invoke(main, list(args), prog_name="archsolve", catch_exceptions=False)
    return result.exit_code, result.output


def run_cli_split(*args: str) -> tuple[int, str, str]:
    """Run ``archsolve ARGS``; return (exit code, stdout, stderr) separately."""
    result = CliRunner().invoke(main, list(args), prog_name="archsolve", catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_spec(tmp_path: Path, spec: dict[str, Any] | str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    text = spec if isinstance(spec, str) else yaml.safe_dump(spec, sort_keys=False)
    path.write_text(text)
    return path


def check_json(path: Path | str) -> tuple[int, dict[str, Any]]:
    """``archsolve check PATH --json`` -> (exit code, parsed document)."""
    code, out, err = run_cli_split("check", str(path), "--json")
    assert code in (0, 1), f"exit {code}: {out}{err}"
    return code, json.loads(out)


@pytest.fixture
def spec_file(tmp_path: Path):
    """Write a spec (dict or YAML text) to a temporary file and return its path."""

    def make(spec: dict[str, Any] | str, name: str = "spec.yaml") -> Path:
        return write_spec(tmp_path, spec, name)

    return make
