"""A spec is read with a bound whatever the path is (issue #19, point 2).

A regular file says its size, a device or a pipe does not (0 to ``stat``): every read takes
at most ``--max-file-mb`` and one byte.  ``-`` is standard input, bounded too.  A FIFO no one
writes to is waited for (ten seconds), then refused.  Devices are private nodes made in a temporary folder.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from archsolve.cli import main
from archsolve.lang import yamlio

from .conftest import private_device

SPEC = 'input: [1, 8]\nlayers: [{name: c, op: conv, out: 1, kernel: 3}]\n'
LIMIT = "0.001"  # --max-file-mb: 1048 bytes
OVER = "archsolve: error: {name}: more than 1048 bytes; spec files over 1048 bytes are refused\n"


def _stdin(text: bytes, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args], input=text, prog_name="archsolve", catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("text", "args", "expected"), [
    (SPEC.encode(), ("check", "-"), (0, "", "")),
    (b"x: 1\n" * 1000, ("--max-file-mb", LIMIT, "check", "-"), (2, "", OVER.format(name="<stdin>"))),
    (b"", ("check", "-"), (2, "", "archsolve: error: <stdin>: the file is empty; a spec needs at least "
                                  "'input' and 'layers'\n")),
], ids=["a-spec", "too-long", "empty"])
def test_standard_input_is_a_spec_read_with_a_bound(text: bytes, args: tuple[str, ...],
                                                    expected: tuple[int, str, str]) -> None:
    code, out, err = _stdin(text, *args)
    assert (code, err) == expected[::2] and (out.startswith("<stdin>") if code == 0 else out == "")


def test_write_back_needs_a_file_not_standard_input() -> None:
    solvable = SPEC.replace("kernel: 3", 'kernel: "?"')
    assert _stdin(solvable.encode(), "solve", "-", "--in-place") == (
        2, "", "archsolve: error: --write and --in-place fill in a spec file, and standard input (-) is none: "
               "save it to a file first\n")


def test_a_fifo_no_one_writes_to_is_waited_for_then_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "FIFO_WAIT_S", 0.2)
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    result = CliRunner().invoke(main, ["check", str(fifo)], catch_exceptions=False)
    assert (result.exit_code, result.stderr) == (2, f"archsolve: error: {fifo}: a FIFO no one wrote to in 0.2 s\n")


def test_a_fifo_written_late_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)

    def late() -> None:
        time.sleep(0.3)
        with open(fifo, "w") as fh:
            fh.write(SPEC)

    writer = threading.Thread(target=late)
    writer.start()
    result = CliRunner().invoke(main, ["check", str(fifo)], catch_exceptions=False)
    writer.join(timeout=30)
    assert result.exit_code == 0 and result.stdout.startswith(f"{fifo}: input [1, 8]")


def test_a_fifo_that_never_ends_is_read_up_to_the_limit(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)

    def endless() -> None:
        try:
            with open(fifo, "wb") as fh:
                for _ in range(100_000):  # 2.4 MB: it stops at the reader's limit, long before
                    fh.write(b"# a comment line\n")
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=endless)
    writer.start()
    result = CliRunner().invoke(main, ["--max-file-mb", LIMIT, "check", str(fifo)], catch_exceptions=False)
    writer.join(timeout=30)
    assert (result.exit_code, result.stderr) == (2, OVER.format(name=fifo))


def test_a_device_that_never_ends_is_read_up_to_the_limit(tmp_path: Path) -> None:
    """A private zero device (made here, never the system's)."""
    zero = private_device(tmp_path, "zero")
    result = CliRunner().invoke(main, ["--max-file-mb", LIMIT, "check", str(zero)], catch_exceptions=False)
    assert (result.exit_code, result.stderr) == (2, OVER.format(name=zero))
