"""Shared helpers: run the CLI the way a user does and read its JSON; scale the property tests.

How many examples the hypothesis tests draw is one knob, the environment variable
``ARCHSOLVE_EXAMPLES``: a factor (default 1) on every test's own count.  A test writes its
count as ``@settings(max_examples=examples(200), ...)``; a test that gives none gets
hypothesis's 100, scaled the same way.  ``make test-fast`` runs with 0.1, and without the few
slowest cases, which ``SLOW`` below names; for a long soak::

    ARCHSOLVE_EXAMPLES=10 python -m pytest tests/test_differential_torch.py
"""

from __future__ import annotations

import itertools
import json
import os
import stat
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import settings

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


def _example_factor() -> float:
    text = os.environ.get("ARCHSOLVE_EXAMPLES", "1")
    try:
        factor = float(text)
    except ValueError:
        raise pytest.UsageError(f"ARCHSOLVE_EXAMPLES={text!r}: expected a number, e.g. 0.1 or 10") from None
    if not factor > 0:
        raise pytest.UsageError(f"ARCHSOLVE_EXAMPLES={text!r}: expected a number above 0")
    return factor


def examples(n: int) -> int:
    """A property test's example count ``n``, scaled by ``ARCHSOLVE_EXAMPLES`` (at least 1)."""
    return max(1, round(n * _example_factor()))


if _example_factor() != 1:  # the tests that set no count of their own: hypothesis's 100, scaled
    settings.register_profile("scaled", settings.default, max_examples=examples(100))
    settings.load_profile("scaled")


# The slowest cases, which `make test-fast` leaves out (-m "not slow"): each has siblings in
# the fast run that exercise the same code on smaller inputs.  Named here rather than marked
# in place so that this list is the whole story of what the fast loop skips.
SLOW = frozenset({
    "tests/test_check.py::test_a_crop_or_pad_fix_does_what_it_says[padded-unet]",
    "tests/test_export.py::test_example_spec_builds_and_matches_check[resnet152]",
    "tests/test_export.py::test_example_spec_builds_and_matches_check[unet-original]",
    "tests/test_export.py::test_example_spec_builds_and_matches_check[unet-padded]",
    "tests/test_export.py::test_example_spec_builds_and_matches_check[unet3d]",
    "tests/test_inputs.py::test_a_wide_range_gives_what_one_check_per_size_gives[a-pattern-that-breaks-once]",
    "tests/test_search.py::test_a_first_solutions_walk_answers_alike_with_and_without_its_memo[aniso3d-plan]",
    "tests/test_search.py::test_an_optimum_out_of_budget_can_answer_its_best_so_far",
    "tests/test_solve_brute.py::test_brute_force_agrees_with_torch[channels-groups-misc-ops]",
    "tests/test_solve_brute.py::test_limit_at_the_number_of_solutions[z3-channels-groups-misc-ops]",
    "tests/test_timeouts.py::test_a_layer_of_a_million_combinations_stops_at_the_memory_budget",
})


@pytest.hookimpl(tryfirst=True)  # before -m deselects by mark
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    found = set()
    for item in items:
        if item.nodeid in SLOW:
            item.add_marker(pytest.mark.slow)
            found.add(item.nodeid)
    # a renamed test would quietly rejoin the fast run: the whole suite's collection must find every name
    if config.args_source is pytest.Config.ArgsSource.TESTPATHS and found != SLOW:
        warnings.warn(pytest.PytestWarning(f"tests/conftest.py: SLOW names no test: {sorted(SLOW - found)}"),
                      stacklevel=1)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    factor = _example_factor()
    if factor != 1:
        terminalreporter.write_line(f"hypothesis example counts scaled by {factor:g} (ARCHSOLVE_EXAMPLES)")


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


@pytest.fixture(autouse=True)
def _relaxations_have_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Which relaxations an unsatisfiable answer offers is bounded by wall-clock time (0.6 s
    in all, 0.3 s a try), which a loaded test machine can run out of: the tests ask which
    edits work, so they get more of it. (A test of the bound sets it itself.)"""
    from archsolve.solve import relax

    monkeypatch.setattr(relax, "RELAX_SECONDS", 3.0)
    monkeypatch.setattr(relax, "TRY_SECONDS", 1.0)


@pytest.fixture(autouse=True)
def _private_import_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The import cache of every test is a temporary folder of its own, never the user's."""
    monkeypatch.setenv("ARCHSOLVE_CACHE_DIR", str(tmp_path_factory.mktemp("import-cache")))


# Linux's character devices by (major, minor): the tests make private nodes of them in their
# own temporary folders, never writing to the system's
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7)}


def private_device(folder: Path, kind: str) -> Path:
    """A character device node of ``kind`` (null, zero, full) of the test's own in ``folder``;
    the test is skipped where this user may not make one."""
    node = folder / kind
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(*DEVICES[kind]))
    except PermissionError:
        pytest.skip("this user may not make a device node")
    return node
