"""The import cache: an unchanged model is not imported again; any change to its files is a miss."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from archsolve.bridge.cache import MAX_ENTRIES, entry_key, loaded_files, lookup, store

KEY_ARGS = ("3", "H", "H")


def _model(tmp_path: Path) -> tuple[Path, Path]:
    helper = tmp_path / "helpers.py"
    helper.write_text("WIDTH = 8\n")
    model = tmp_path / "model.py"
    model.write_text("from helpers import WIDTH\n")
    return model, helper


def _stored(tmp_path: Path) -> tuple[Path, str, Path, Path]:
    model, helper = _model(tmp_path)
    where = tmp_path / "cache"
    key = entry_key(f"{model}:Net", KEY_ARGS, {}, (1, 4096))
    assert key is not None
    store(where, key, "name: Net\n", [str(model), str(helper)], model=str(model))
    return where, key, model, helper


def test_an_unchanged_model_is_a_hit(tmp_path: Path) -> None:
    where, key, _, _ = _stored(tmp_path)
    assert lookup(where, key) == "name: Net\n"


@pytest.mark.parametrize("change", ["model content", "model same size", "helper", "helper removed"])
def test_a_changed_file_is_a_miss(tmp_path: Path, change: str) -> None:
    where, key, model, helper = _stored(tmp_path)
    if change == "model content":
        model.write_text("from helpers import WIDTH  # wider\n")
    elif change == "model same size":  # same size and time, other bytes: the model's content is hashed
        st = model.stat()
        model.write_text("from helpers import WIDTX\n")
        os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif change == "helper":
        st = helper.stat()
        helper.write_text("WIDTH = 16\n")
        os.utime(helper, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    else:
        helper.unlink()
    assert lookup(where, key) is None


@pytest.mark.parametrize(("target", "input", "kwargs", "domain"), [
    ("other.py:Net", KEY_ARGS, {}, (1, 4096)),
    ("model.py:Other", KEY_ARGS, {}, (1, 4096)),
    ("model.py:Net", ("3", "224", "224"), {}, (1, 4096)),
    ("model.py:Net", KEY_ARGS, {"classes": 10}, (1, 4096)),
    ("model.py:Net", KEY_ARGS, {}, (1, 512)),
])
def test_the_key_holds_everything_the_text_depends_on(tmp_path: Path, target: str, input: tuple[str, ...],
                                                      kwargs: dict[str, int], domain: tuple[int, int]) -> None:
    base = entry_key(f"{tmp_path / 'model.py'}:Net", KEY_ARGS, {}, (1, 4096))
    assert entry_key(f"{tmp_path / target.split(':')[0]}:{target.split(':')[1]}", input, kwargs, domain) != base


def test_a_broken_entry_is_a_miss_and_an_unwritable_folder_no_error(tmp_path: Path) -> None:
    where, key, model, _ = _stored(tmp_path)
    (where / f"{key}.json").write_text("{not json")
    assert lookup(where, key) is None
    (where / f"{key}.json").write_text(json.dumps({"files": [[str(model), 1, 2]], "text": "x"}))
    assert lookup(where, key) is None
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    store(blocked / "cache", key, "name: Net\n", [str(model)], model=str(model))  # no exception
    assert lookup(blocked / "cache", key) is None


def test_the_oldest_entries_go(tmp_path: Path) -> None:
    model, _ = _model(tmp_path)
    where = tmp_path / "cache"
    for i in range(MAX_ENTRIES + 3):
        store(where, f"k{i:03d}", "name: Net\n", [str(model)], model=str(model))
        os.utime(where / f"k{i:03d}.json", ns=(i * 10**9, i * 10**9))
    kept = sorted(p.stem for p in where.glob("*.json"))
    assert len(kept) <= MAX_ENTRIES + 1 and "k000" not in kept and f"k{MAX_ENTRIES + 2:03d}" in kept


MODEL = """
from torch import nn


class Net(nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)

    def forward(self, x):
        return self.conv(x)
"""

RUN = """
import sys
from click.testing import CliRunner
from archsolve.cli import main
result = CliRunner().invoke(main, [*sys.argv[1:]])
print(result.output, end="")
print("torch imported" if "torch" in sys.modules else "torch not imported", "(z3 imported)" * ("z3" in sys.modules))
"""


def _check(tmp_path: Path, *args: str) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", RUN, "check", f"{tmp_path / 'model.py'}:Net", "--input", "3,8,8",
                           "--json", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ARCHSOLVE_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.torch
def test_a_second_check_of_an_unchanged_model_does_not_import_torch(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    (tmp_path / "model.py").write_text(MODEL)
    first = _check(tmp_path)
    assert first.endswith("torch imported \n") and '"output": [8, 6, 6]' in first
    again = _check(tmp_path)
    assert again == first.replace("torch imported", "torch not imported")
    assert _check(tmp_path, "--no-cache").endswith("torch imported \n")
    (tmp_path / "model.py").write_text(MODEL.replace("width: int = 8", "width: int = 4"))
    changed = _check(tmp_path)
    assert changed.endswith("torch imported \n") and '"output": [4, 6, 6]' in changed


def test_the_key_holds_where_python_finds_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`nets:Net` is another model in another folder (or with another PYTHONPATH)."""
    monkeypatch.chdir(tmp_path)
    here = entry_key("nets:Net", KEY_ARGS, {}, (1, 4096))
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    assert entry_key("nets:Net", KEY_ARGS, {}, (1, 4096)) != here
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    assert entry_key("nets:Net", KEY_ARGS, {}, (1, 4096)) not in (here, None)


def test_every_loaded_module_file_is_watched() -> None:
    """Not only the modules a model loads: one already loaded (a helper imported before, or
    archsolve's own importer) is watched too; torch's and the standard library's are not."""
    import json as stdlib_module

    import archsolve.bridge.fxmap

    files = loaded_files([os.path.dirname(stdlib_module.__file__) + os.sep])
    assert archsolve.bridge.fxmap.__file__ in files
    assert stdlib_module.__file__ not in files
    assert all(os.path.isabs(f) for f in files)


@pytest.mark.parametrize("flags", [["--no-cache"], ["--input", "1,8,8"], ["--kwargs", "{}"]])
def test_model_options_with_a_spec_file_are_refused(flags: list[str]) -> None:
    from click.testing import CliRunner

    from archsolve.cli import main

    result = CliRunner().invoke(main, ["check", "specs/unet-original.yaml", *flags])
    assert (result.exit_code, result.output) == (2, "archsolve: error: --input, --kwargs and --no-cache are for a "
                                                    "model (FILE.py:NAME), and specs/unet-original.yaml is a spec file\n")
