"""Imported specs kept between runs, so that asking again about an unchanged model costs
neither torch's import nor a trace.

Importing torch alone takes over a second, most of what ``archsolve check model.py:Net``
costs; a designer asks ``check``, then ``inputs``, then ``check`` again about the same file.
An entry is the spec text ``import`` wrote, kept under a key made of what the text depends on:
archsolve's and torch's versions, the target, ``--input``, ``--kwargs``, the vars' domain, the
working folder and ``PYTHONPATH`` (where Python finds the model's imports).  It is used only
while every Python file that was loaded when it was made, but torch's and the standard
library's, has the same size and modification time -- the model's own file the same content
too: the model's modules, the libraries it uses, and archsolve's own importer.  Anything else
is a miss, and the model is imported afresh.
A model whose constructor reads other files or the environment should be imported with
``--no-cache`` (or ``ARCHSOLVE_NO_CACHE=1``).

The folder is ``$ARCHSOLVE_CACHE_DIR``, else ``$XDG_CACHE_HOME/archsolve``, else
``~/.cache/archsolve``.  A cache that cannot be read or written is no cache: nothing fails.

Example::

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> model = folder / "m.py"
    >>> _ = model.write_text("x = 1\\n")
    >>> key = entry_key(f"{model}:Net", ("3", "8", "8"), {}, (1, 4096))
    >>> store(folder, key, "name: Net\\n", [str(model)], model=str(model))
    >>> lookup(folder, key)
    'name: Net\\n'
    >>> _ = model.write_text("x = 2\\n")
    >>> lookup(folder, key) is None
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

MAX_ENTRIES = 64  # the oldest go first: a cache of a few dozen models stays small (tens of kB each)
_FORMAT = 1


def folder() -> Path | None:
    """The cache folder, or None where the cache is switched off."""
    if os.environ.get("ARCHSOLVE_NO_CACHE"):
        return None
    if os.environ.get("ARCHSOLVE_CACHE_DIR"):
        return Path(os.environ["ARCHSOLVE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "archsolve"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def entry_key(target: str, input: Sequence[Any], kwargs: Mapping[str, Any], domain: tuple[int, int]) -> str | None:
    """The key of an import, or None where there is none to have (torch not installed)."""
    torch_version = _version("torch")
    if torch_version is None:
        return None
    where, _, name = target.rpartition(":")
    try:
        # where Python finds the model's imports (and a package.module target) is part of it too
        what = json.dumps([_FORMAT, _version("archsolve"), torch_version,
                           os.path.abspath(where) if where.endswith(".py") else where, name,
                           [str(v) for v in input], kwargs, list(domain), os.getcwd(),
                           os.environ.get("PYTHONPATH", "")], sort_keys=True)
    except (TypeError, ValueError):
        return None  # kwargs JSON cannot say again: no cache for them
    return hashlib.sha256(what.encode()).hexdigest()[:32]


def _stamp(path: str, *, content: bool) -> list[Any] | None:
    try:
        st = os.stat(path)
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest() if content else ""
    except OSError:
        return None
    return [path, st.st_size, st.st_mtime_ns, digest]


def lookup(where: Path, key: str) -> str | None:
    """The spec text kept under ``key``, if every file it came from is unchanged."""
    try:
        entry = json.loads((where / f"{key}.json").read_text(encoding="utf-8"))
        files = entry["files"]
        text = entry["text"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        for path, size, mtime, digest in files:
            if _stamp(path, content=bool(digest)) != [path, size, mtime, digest]:
                return None
    except (TypeError, ValueError):  # an entry of another shape: written by another version
        return None
    return text if isinstance(text, str) else None


def store(where: Path, key: str, text: str, files: Iterable[str], *, model: str | None) -> None:
    """Keep ``text`` under ``key`` with the stamps of ``files`` (``model``'s with its content)."""
    stamps = []
    for path in sorted(set(files)):
        stamp = _stamp(path, content=path == model)
        if stamp is None:
            return  # a file that cannot be read now could not be checked later
        stamps.append(stamp)
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".entry-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"files": stamps, "text": text}, out)
        os.replace(tmp, where / f"{key}.json")
        entries = sorted(where.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[:-MAX_ENTRIES]:
            old.unlink(missing_ok=True)
    except OSError:
        return


def loaded_files(skip: Sequence[str]) -> list[str]:
    """The files of every module loaded now, except those under the folders ``skip`` (torch's
    own and the standard library: their versions are in the key): the model's own modules,
    and archsolve's, so that an edit to either is a miss."""
    out = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        # a relative or missing __file__ is no file (torch.ops names "_ops.py"): nothing to watch
        if isinstance(path, str) and os.path.isabs(path) and os.path.isfile(path) and not any(
                path.startswith(s) for s in skip):
            out.append(path)
    return out
