"""Shell completion (issue #20, point 8): click's, under ``_ARCHSOLVE_COMPLETE``, as
docs/commands.md tells a user to install it; and ``draw``'s notes name only its own options."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from archsolve.cli import main

from .conftest import SPECS, run_cli


def _complete(words: str) -> list[str]:
    """What bash completion offers after ``words`` (the last one being typed)."""
    typed = len(words.split()) - (0 if words.endswith(" ") else 1)  # a trailing space starts a new word
    env = {"_ARCHSOLVE_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(typed)}
    result = CliRunner().invoke(main, [], prog_name="archsolve", env=env)
    return [line.split(",", 1)[1] for line in result.output.splitlines()]


@pytest.mark.parametrize(("words", "offered"), [
    ("archsolve ch", ["check"]),
    ("archsolve in", ["inputs"]),
    ("archsolve check x.yaml --co", ["--columns", "--count-bias"]),
    ("archsolve check x.yaml --columns ou", ["output"]),
    ("archsolve check x.yaml --columns input,p", ["input,padding", "input,params"]),
    ("archsolve draw x.yaml --format s", ["svg"]),
    ("archsolve new u", ["unet"]),
    ("archsolve solve x.yaml --engine ", ["auto", "dp", "search", "z3"]),
])
def test_completion_offers(words: str, offered: list[str]) -> None:
    assert _complete(words) == offered


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_is_printed_for_each_shell(shell: str) -> None:
    result = CliRunner().invoke(main, [], prog_name="archsolve", env={"_ARCHSOLVE_COMPLETE": f"{shell}_source"})
    assert result.exit_code == 0 and "_ARCHSOLVE_COMPLETE" in result.output


def test_draws_notes_name_only_options_draw_has() -> None:
    options = {opt for p in main.commands["draw"].params for opt in p.opts}
    for spec in sorted(SPECS.glob("*.yaml")):
        code, out = run_cli("draw", str(spec))
        named = set(re.findall(r"--[a-z][a-z-]*", "\n".join(line for line in out.splitlines() if "//" in line)))
        assert named <= options, (spec.name, named - options)
