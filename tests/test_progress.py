"""Progress on a terminal (issue #20, point 2): a command that takes a while says on stderr
what it is doing and for how long, when stderr is a terminal; nothing when piped or with
``--json``, and no colour under NO_COLOR.  The terminal is a pseudo-terminal made here."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_timeouts import wide_chain

COLOUR = re.compile(r"\x1b\[[0-9;]*3[0-9](;[0-9]+)*m")  # an SGR sequence that sets a foreground colour


def _run(args: list[str], *, terminal: bool, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Exit code, stdout (a pipe) and what stderr showed (a pseudo-terminal, or a pipe)."""
    environ = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    environ.pop("NO_COLOR", None)
    environ.update(env or {})
    if not terminal:
        proc = subprocess.run([sys.executable, "-m", "archsolve", *args], capture_output=True, text=True,
                              cwd=ROOT, env=environ, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr
    main, other = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "archsolve", *args], stdout=subprocess.PIPE, stderr=other,
                            stdin=subprocess.DEVNULL, cwd=ROOT, env=environ)
    os.close(other)
    shown = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the program ended and the terminal closed
            break
        if not chunk:
            break
        shown.append(chunk)
    os.close(main)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    return proc.wait(timeout=60), out, b"".join(shown).decode(errors="replace")


@pytest.fixture()
def slow(tmp_path: Path) -> str:
    """A solve that runs until its --timeout (1.5 s): long enough to show progress."""
    spec = tmp_path / "wide.yaml"
    spec.write_text(wide_chain(40, target="c39.L == 7"))
    return str(spec)


def test_a_long_solve_shows_what_it_does_and_for_how_long_on_a_terminal(slow: str) -> None:
    code, out, shown = _run(["solve", slow, "--timeout", "1.5"], terminal=True)
    assert code == 3 and out.startswith(f"{slow}: UNKNOWN")
    assert f"solving {slow}" in shown and "0:00:01" in shown
    assert COLOUR.search(shown)  # the spinner's colour


def test_no_colour_under_no_color(slow: str) -> None:
    _, _, shown = _run(["solve", slow, "--timeout", "1.5"], terminal=True, env={"NO_COLOR": "1"})
    assert f"solving {slow}" in shown and not COLOUR.search(shown)


@pytest.mark.parametrize(("terminal", "extra"), [(False, []), (True, ["--json"])], ids=["piped", "json"])
def test_nothing_when_piped_or_with_json(slow: str, terminal: bool, extra: list[str]) -> None:
    code, out, shown = _run(["solve", slow, "--timeout", "1.5", *extra], terminal=terminal)
    assert code == 3 and shown == ""


def test_a_quick_command_shows_nothing_on_a_terminal() -> None:
    code, out, shown = _run(["check", str(ROOT / "specs" / "unet-original.yaml")], terminal=True)
    assert code == 0 and shown == ""


def test_inputs_says_which_axis_and_how_far(tmp_path: Path) -> None:
    """A 5,000-layer chain: the inputs of H take long enough (the time runs out at 2 s)."""
    lines = ["input: [8, H, H]", "vars: {H: {min: 1, max: 4096}}", "layers:"]
    lines += [f"  - {{name: c{i}, op: conv, out: 8, kernel: 3, padding: 1}}" for i in range(5000)]
    path = tmp_path / "deep.yaml"
    path.write_text("\n".join(lines) + "\n")
    _, _, shown = _run(["inputs", str(path), "--timeout", "2"], terminal=True)
    assert f"inputs of {path}: H: " in shown  # the axis, then how far it has gone
