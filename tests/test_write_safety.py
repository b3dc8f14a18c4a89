"""Every command that writes a file writes it by one rule (issue #19, point 1).

A regular file is replaced atomically (a temporary file beside it, fsync, rename); a symlink
is followed and the file it names replaced; a path that is no regular file (a device, a
FIFO) is written to directly, as the shell's ``>`` does, and never replaced; a file with
other hard links is rewritten in place; a new file gets the umask's mode and a replaced one
keeps its own; a read-only file, a folder, a missing folder are exit 2 with the reason.
Every test works in its own temporary folder: the devices are private nodes made there.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archsolve.output import writeback
from archsolve.output.writeback import atomic_write_bytes

from .conftest import private_device, run_cli_split, write_spec

SOLVABLE = 'input: [1, 8]\nlayers: [{name: c, op: conv, out: 1, kernel: "?"}]\nconstraints: [c.L == 6]\n'
SOLVED = SOLVABLE.replace('"?"', "3")  # export writes only a spec with no unknown left
# the commands that write, each as (args before the output path, the option that names it)
WRITERS = {
    "new -o": lambda spec: ["new", "dcgan", "-o"],
    "export -o": lambda spec: ["export", str(spec.with_name("solved.yaml")), "-o"],
    "draw -o": lambda spec: ["draw", str(spec), "--format", "svg", "-o"],
    "solve --write": lambda spec: ["solve", str(spec), "--write"],
}


@pytest.fixture()
def spec(tmp_path: Path) -> Path:
    write_spec(tmp_path, SOLVED, "solved.yaml")
    return write_spec(tmp_path, SOLVABLE)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_a_symlink_is_followed_and_stays_a_link(tmp_path: Path, spec: Path, writer: str) -> None:
    real = tmp_path / "real.out"
    real.write_text("old\n")
    link = tmp_path / "link.out"
    link.symlink_to(real.name)
    code, out, err = run_cli_split(*WRITERS[writer](spec), str(link))
    assert (code, (out + err).splitlines()[-1]) == (0, f"wrote {link}")
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_text() != "old\n" and _leftovers(tmp_path) == []


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_a_fifo_is_written_to_not_replaced(tmp_path: Path, spec: Path, writer: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _, _ = run_cli_split(*WRITERS[writer](spec), str(fifo))
    reader.join(timeout=10)
    plain = tmp_path / "plain.out"  # what the same command writes to a regular file
    assert run_cli_split(*WRITERS[writer](spec), str(plain))[0] == 0
    assert code == 0 and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got == [plain.read_bytes()] and _leftovers(tmp_path) == []


def test_a_character_device_is_written_to_not_replaced(tmp_path: Path) -> None:
    """A private null device (made here, never the system's): written through, still a device."""
    node = private_device(tmp_path, "null")
    code, _, _ = run_cli_split("new", "dcgan", "-o", str(node))
    assert code == 0 and stat.S_ISCHR(os.lstat(node).st_mode) and _leftovers(tmp_path) == []


def test_a_new_file_gets_the_umask_mode_and_a_replaced_one_keeps_its_own(tmp_path: Path) -> None:
    fresh, kept = tmp_path / "fresh.yaml", tmp_path / "kept.yaml"
    kept.write_text("old\n")
    kept.chmod(0o640)
    for path in (fresh, kept):
        assert run_cli_split("new", "unet", "-o", str(path))[0] == 0
    assert (stat.S_IMODE(fresh.stat().st_mode), stat.S_IMODE(kept.stat().st_mode)) == (0o644, 0o640)


def test_a_hard_link_is_not_split(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("old\n")
    second = tmp_path / "b.yaml"
    os.link(first, second)
    assert run_cli_split("new", "unet", "-o", str(first))[0] == 0
    assert os.path.samefile(first, second) and second.read_text() == first.read_text() != "old\n"


@pytest.mark.parametrize(("make", "name", "reason"), [
    (lambda p: None, "missing/out.yaml", "No such file or directory"),
    (lambda p: (p / "file").write_text("x"), "file/out.yaml", "Not a directory"),
    (lambda p: ((p / "ro.yaml").write_text("x"), (p / "ro.yaml").chmod(0o444)), "ro.yaml",
     "it is read-only (chmod u+w lets archsolve write it)"),
], ids=["missing-folder", "under-a-file", "read-only"])
def test_what_cannot_be_written_is_exit_2_with_its_reason(tmp_path: Path, make: Callable[[Path], object],
                                                          name: str, reason: str) -> None:
    make(tmp_path)
    target = tmp_path / name
    for args in (["new", "unet", "-o", str(target)], ["export", str(write_spec(tmp_path, SOLVED)), "-o", str(target)]):
        assert run_cli_split(*args) == (2, "", f"archsolve: error: cannot write {target}: {reason}\n")
    assert _leftovers(tmp_path) == []


def test_a_folder_is_no_output(tmp_path: Path) -> None:
    code, _, err = run_cli_split("new", "unet", "-o", str(tmp_path))
    assert (code, err.splitlines()[-1]) == (2, f"Error: Invalid value for '-o' / '--output': File '{tmp_path}' is "
                                               "a directory.")


def test_in_place_on_a_read_only_spec_is_refused(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, SOLVABLE)
    spec.chmod(0o444)
    code, _, err = run_cli_split("solve", str(spec), "--in-place")
    assert (code, err.splitlines()[-1]) == (
        2, f"archsolve: error: cannot write {spec}: it is read-only (chmod u+w lets archsolve write it)")
    assert spec.read_text() == SOLVABLE


def test_sigterm_during_a_write_leaves_the_original_and_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n")

    def killed(fd: int) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(writeback.os, "fsync", killed)
    with pytest.raises(SystemExit) as exc:
        atomic_write_bytes(target, b"new\n")
    assert exc.value.code == 128 + signal.SIGTERM
    assert (target.read_text(), _leftovers(tmp_path)) == ("old\n", [])
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is the caller's again


ALIASED = ('input: [1, 16, 16]\nlayers:\n  - {name: a, op: conv, out: 1, kernel: 3, padding: &p ["?", 0]}\n'
           '  - {name: b, op: conv, out: 1, kernel: 3, padding: *p}\nconstraints: [a.H == 16, b.H == {target}]\n')


def test_an_aliased_question_mark_is_written_back_as_one_value(tmp_path: Path) -> None:
    """A YAML alias is the anchored node: the file has one place for its "?", so --write solves
    its unknowns as one, and writes a file that checks as the answer did."""
    spec = write_spec(tmp_path, ALIASED.replace("{target}", "16"))
    out = tmp_path / "out.yaml"
    assert run_cli_split("solve", str(spec), "--write", str(out))[0] == 0
    assert out.read_text() == ALIASED.replace("{target}", "16").replace('["?", 0]', "[1, 0]")
    assert run_cli_split("check", str(out))[0] == 0


def test_an_aliased_question_mark_two_values_cannot_fill_is_unsat_to_write(tmp_path: Path) -> None:
    """Solved apart, a.padding[0] is 1 and b.padding[0] is 2; the file can hold one of them."""
    spec = write_spec(tmp_path, ALIASED.replace("{target}", "18"))
    assert run_cli_split("solve", str(spec))[0] == 0
    code, out, _ = run_cli_split("solve", str(spec), "--write", str(tmp_path / "out.yaml"))
    assert code == 1 and "a.padding[0] == b.padding[0] (one '?' in the file: written back, it takes one value)" in out
    assert not (tmp_path / "out.yaml").exists()


def test_a_spec_with_cr_line_endings_keeps_them(tmp_path: Path) -> None:
    """An old Mac's line endings (CR alone) stay CR on every line of the written file."""
    spec = tmp_path / "cr.yaml"
    spec.write_bytes(SOLVABLE.replace("\n", "\r").replace("input", "# a comment\rinput").encode())
    out = tmp_path / "out.yaml"
    assert run_cli_split("solve", str(spec), "--write", str(out))[0] == 0
    assert out.read_bytes() == SOLVED.replace("\n", "\r").replace("input", "# a comment\rinput").encode()


def test_signs_bases_and_quotes_are_kept_as_written(tmp_path: Path) -> None:
    """Only the "?" changes: `+1`, `0x1`, a quoted name and the comment's column stay."""
    text = ("name: 'signs'\ninput: [1, 0x8]\n"
            'layers: [{name: c, op: conv, out: +1, kernel: "?", padding: +0}]   # one\nconstraints: [c.L == 6]\n')
    spec = write_spec(tmp_path, text)
    out = tmp_path / "out.yaml"
    assert run_cli_split("solve", str(spec), "--write", str(out))[0] == 0
    assert out.read_text() == text.replace('"?"', "3").replace("   # one", "     # one")


def test_a_yaml_1_1_directive_keeps_the_file_as_written(tmp_path: Path) -> None:
    """Read as YAML 1.1, `on` would be written back as true and the directive's document lose
    its '---': the directive is kept as written, and only the "?" changes."""
    text = '%YAML 1.1\n---\n# keep me\nname: on   # a name\n' + SOLVABLE
    spec = write_spec(tmp_path, text)
    out = tmp_path / "out.yaml"
    assert run_cli_split("solve", str(spec), "--write", str(out))[0] == 0
    assert out.read_text() == text.replace('"?"', "3")


def test_concurrent_writers_leave_one_whole_file_and_readers_never_see_half(tmp_path: Path) -> None:
    """Eight writers replace one file twenty times each while a reader reads it: every read and
    the file at the end is one writer's whole text, and no temporary file is left."""
    target = tmp_path / "out.yaml"
    payloads = [bytes([ord("a") + i]) * (256 * 1024) for i in range(8)]
    atomic_write_bytes(target, payloads[0])
    stop = threading.Event()
    seen: set[bytes] = set()

    def read() -> None:
        while not stop.is_set():
            seen.add(target.read_bytes())

    def write(data: bytes) -> None:
        for _ in range(20):
            atomic_write_bytes(target, data)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert seen <= set(payloads)
    assert target.read_bytes() in payloads
    assert _leftovers(tmp_path) == []
