"""Resource and solver limits: refused quickly with a clear message, overridable by flags."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from archsolve.errors import SpecError

from .conftest import SPECS, run_cli, run_cli_split


@pytest.mark.parametrize(
    ("flags", "spec", "message"),
    [
        (("--max-layers", "10"), "input: [1, 8]\nlayers: [{op: relu, repeat: 50}]\n", "more than 10 layers"),
        (("--max-repeat", "5"), "input: [1, 8]\nlayers: [{op: relu, repeat: 6}]\n", "repeat must be in 1..5"),
        (("--max-expr", "10"), "input: [1, 8]\nlayers: [{op: conv, out: 1, kernel: '1 + 1 + 1 + 1 + 1'}]\n",
         "the limit is 10"),
        (("--max-values", "20"), "a: &a [1, 1, 1, 1, 1]\nb: [*a, *a, *a, *a, *a]\n", "more than 20 values"),
        (("--max-file-mb", "0.001"), "input: [1, 8]\nlayers: [{op: relu}]\n" + "# padding\n" * 200,
         "spec files over 1048 bytes are refused"),
    ],
    ids=["layers", "repeat", "expression", "alias-expansion", "file-size"],
)
def test_limits_are_flags(spec_file, flags: tuple[str, ...], spec: str, message: str) -> None:
    path = spec_file(spec)
    code, out = run_cli(*flags, "check", str(path))
    assert code == 2 and message in out and "Traceback" not in out


def test_a_hundred_million_repeats_is_refused_at_once(spec_file) -> None:
    start = time.monotonic()
    code, out = run_cli("check", str(spec_file("input: [1, 8]\nlayers: [{op: relu, repeat: 100000000}]\n")))
    assert code == 2 and "repeat must be in 1..10000" in out
    assert time.monotonic() - start < 2


def test_too_many_combinations_to_enumerate(spec_file) -> None:
    path = spec_file("""
input: [1, 64, 64]
domains: {kernel: {min: 1, max: 200}, stride: {min: 1, max: 200}}
layers: [{name: c, op: conv, out: 1, kernel: "?", stride: "?", padding: "?", dilation: "?"}]
""")
    code, out = run_cli("solve", str(path))
    assert (code, out) == (2, f"archsolve: error: {path}:4:10: c: 127,520,000 combinations of c.dilation, c.kernel, "
                              "c.padding, c.stride to try (the limit is 200,000); narrow their domains\n")


def test_a_billion_wide_domain_answers_within_the_time_limit(spec_file) -> None:
    path = spec_file("""
input: [1, H]
vars: {H: {min: 1, max: 1000000000}}
layers:
  - {name: c, op: conv, out: 1, kernel: "?", stride: 2}
  - {name: d, op: conv, out: 1, kernel: 3, stride: "?"}
constraints: ["d.L == 123456789"]
""")
    start = time.monotonic()
    code, out, _ = run_cli_split("solve", str(path), "--timeout", "5", "--json")
    assert time.monotonic() - start < 10
    assert code in (0, 3)
    doc = json.loads(out)
    if code == 0:
        assert doc["solutions"][0]["output"] == [1, 123456789]


@pytest.mark.parametrize(
    ("args", "fmt"),
    [(("export", str(SPECS / "convnet-seed.yaml"), "--to", "torch"), "py"),
     (("draw", str(SPECS / "convnet-seed.yaml"), "--format", "dot"), "dot"),
     (("new", "unet", "--depth", "2"), "yaml")],
    ids=["export", "draw", "new"],
)
def test_output_files_are_written_atomically(tmp_path: Path, args: tuple[str, ...], fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    target.write_text("old")
    code, _ = run_cli(*args, "-o", str(target))
    assert code == 0 and target.read_text() != "old"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left behind


def test_failed_export_leaves_the_target_alone(tmp_path: Path) -> None:
    target = tmp_path / "net.py"
    target.write_text("keep me")
    code, out = run_cli("export", str(SPECS / "unet-skip-mismatch.yaml"), "-o", str(target))
    assert code == 1 and target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["net.py"]


@pytest.mark.parametrize("engine, args", [
    ("z3", ("--all", "--limit", "100000")),  # 11,264 solutions: about 5 s in Z3
    ("search", ()),  # the search alone takes minutes on it
], ids=["in-z3", "in-search"])
def test_ctrl_c_stops_cleanly(engine: str, args: tuple[str, ...]) -> None:
    import signal
    import subprocess
    import sys

    from .conftest import ROOT

    proc = subprocess.Popen([sys.executable, "-m", "archsolve", "solve", "benchmarks/specs/aniso3d-plan.yaml",
                             "--engine", engine, *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)
    # like a user: Ctrl-C, and again if it is still running (Z3 turns a Ctrl-C that lands in
    # its own code into a cancel, which a call that was finishing anyway can drop)
    for _ in range(3):
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=3)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        out, err = proc.communicate(timeout=30)
    if proc.returncode == 0:
        pytest.skip("the solve finished before the signal")
    assert proc.returncode == 130 and "Traceback" not in out + err and "interrupted" in err


def test_a_calls_limits_do_not_outlive_it(tmp_path: Path) -> None:
    """The --max-* flags of one CLI call are a value of that call: a library call after it
    loads and solves under the default limits (they were module globals, and a 3-layer spec
    failed with "more than 2 layers" after one `--max-layers 2`)."""
    from archsolve.solve.api import solve_spec
    from archsolve.spec.load import load_text

    tiny = ("--max-layers", "2", "--max-repeat", "2", "--max-expr", "5", "--max-values", "30",
            "--max-combinations", "2", "--max-file-mb", "0.001")
    path = tmp_path / "spec.yaml"
    path.write_text("input: [1, 8]\nlayers: [{op: relu}, {op: relu}, {op: relu}]\n")
    code, out = run_cli(*tiny, "check", str(path))
    assert (code, out) == (2, f"archsolve: error: {path}:2:34: layers[2] (relu3): the network has more than 2 layers\n")
    spec = load_text("""
input: [1, 8]
layers:
  - {op: relu, repeat: 3}
  - {name: c, op: conv, out: 1, kernel: "?", padding: '1 + 1 + 1 + 1 + 1 - 5'}
constraints: [c.L == 8]
""" + "# a comment long enough to pass the file limit of the call before\n" * 20)
    assert len(spec.layers) == 4
    assert solve_spec(spec).solutions[0].values == {"c.kernel": 1}


def test_limits_given_to_the_loader_hold(tmp_path: Path) -> None:
    """The same bounds, given to the library as one value."""
    from archsolve.limits import Limits
    from archsolve.spec.load import load_spec

    path = tmp_path / "spec.yaml"
    path.write_text("input: [1, 8]\nlayers: [{op: relu, repeat: 3}]\n")
    with pytest.raises(SpecError) as exc:
        load_spec(str(path), Limits(repeat=2))
    assert str(exc.value) == f"{path}:2:29: layers[0] (relu1).repeat: repeat must be in 1..2, got 3"
    assert len(load_spec(str(path)).layers) == 3


def test_the_z3_engine_keeps_the_timeout_while_building_its_tables(spec_file) -> None:
    """Enumerating a layer's 160,000 combinations for the effect tables takes many seconds;
    --timeout covers it (until then only Z3's own checks were timed)."""
    path = spec_file("""
input: [1, 64, 64]
domains: {kernel: {min: 1, max: 40}, stride: {min: 1, max: 10}, dilation: {min: 1, max: 10}, padding: {min: 0, max: 39}}
layers: [{name: c, op: conv, out: 1, kernel: "?", stride: "?", dilation: "?", padding: "?"}]
constraints: [c.H == 31]
""")
    start = time.monotonic()
    code, out = run_cli("solve", str(path), "--engine", "z3", "--timeout", "0.5", "--json")
    assert code == 3 and json.loads(out)["status"] == "unknown"
    assert time.monotonic() - start < 5


def test_a_reader_that_goes_away_is_no_error(tmp_path: Path) -> None:
    """``archsolve check big.yaml | head``: the pipe closes mid-output; exit 141 as a shell
    reports it, no "internal error" and no traceback."""
    import subprocess
    import sys

    from .conftest import ROOT

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gen_deep import write_deep_spec

    spec = tmp_path / "deep.yaml"
    write_deep_spec(spec, 200)
    proc = subprocess.Popen([sys.executable, "-m", "archsolve", "check", str(spec)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before it writes anything (it is still importing): every write fails
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""


def test_a_network_that_grows_past_the_receptive_field_limit_is_checked(spec_file) -> None:
    """Receptive fields list each position's taps: 4200 x 16^4 positions would take all the
    memory there is (exit 4, MemoryError); they stop where a layer grows past the limit."""
    code, out = run_cli("check", str(spec_file(
        "input: [1, 4200]\nlayers:\n  - {name: u, op: upsample, scale: 16, repeat: 4}\n"
        "  - {name: c, op: conv, out: 1, kernel: 1}\n")))
    assert code == 0 and "receptive fields are not computed from u/0 on: it is longer than 65536" in out, out


def test_an_error_message_writes_control_characters_literally(tmp_path: Path) -> None:
    """A file name with an escape sequence reaches the terminal as text, not as a command."""
    path = tmp_path / "a\x1b[2Jb.yaml"
    path.write_text("input: [1, 8]\n")
    code, out, err = run_cli_split("check", str(path))
    shown = str(path).replace("\x1b", "\\x1b")
    assert (code, out, err) == (2, "", f"archsolve: error: {shown}:1:1: layers: the spec has no 'layers'\n")
