"""Every command shown in the README and docs/ runs, and prints what the docs say it prints."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from archsolve.spec.schema import reference_markdown

from .conftest import ROOT, run_cli

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _examples() -> list[tuple[str, str, list[str]]]:
    """(file, command, the output lines shown under it) for each `$ archsolve ...` in a console block."""
    out = []
    for doc in DOCS:
        for block in re.findall(r"```console\n(.*?)```", doc.read_text(), re.S):
            parts = re.split(r"^\$ ", block, flags=re.M)
            for part in parts[1:]:
                command, *shown = part.rstrip("\n").split("\n")
                out.append((doc.name, command, shown))
    return out


EXAMPLES = _examples()


def test_the_docs_show_commands() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize(("doc", "command", "shown"), EXAMPLES, ids=[f"{d}:{c}" for d, c, _ in EXAMPLES])
def test_doc_command_runs_and_prints_what_is_shown(monkeypatch, doc: str, command: str, shown: list[str]) -> None:
    monkeypatch.chdir(ROOT)
    words = shlex.split(command)
    assert words[0] == "archsolve"
    code, out = run_cli(*words[1:])
    assert code in (0, 1), out
    lines = out.splitlines()
    for line in shown:
        if line.strip() in ("", "...") or line.rstrip().endswith("..."):
            continue
        assert line.rstrip() in (x.rstrip() for x in lines), f"{doc}: {command!r} no longer prints:\n{line}"


def test_spec_reference_is_current() -> None:
    path = Path(ROOT / "docs" / "spec.md")
    assert path.read_text() == reference_markdown(), "regenerate docs/spec.md from archsolve.spec.schema"
