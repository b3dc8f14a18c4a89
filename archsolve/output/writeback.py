"""Write a solved spec back, keeping its comments, key order, flow style and layout.

Only the values that change are edited, where they stand in the text: every ``"?"`` becomes
its value and every var with a domain becomes the number chosen; every other character stays
as written.  Every command that writes a
file writes it by :func:`atomic_write_bytes`: atomic for a regular file, and as the shell's
``>`` for a device or a pipe, which it never replaces.

Example::

    >>> write_solution("unet.yaml", "unet-solved.yaml", spec, {"up1.kernel": 2})  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from archsolve.errors import SpecError, UsageError
from archsolve.lang.yamlio import replace_values
from archsolve.spec.model import Spec


def atomic_write(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` (UTF-8) by :func:`atomic_write_bytes`'s rules."""
    atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` as the shell's ``>`` would, but never half-written:

    - a symlink is followed, and the file it names is replaced (the link stays a link);
    - a path that is no regular file (a device, a FIFO, ``/dev/stdout``) is written to
      directly, as ``>`` does: no temporary file, no rename, nothing replaced;
    - a file with other hard links is rewritten in place: a rename would split them;
    - else a temporary file in the same folder, fsync, rename: on any failure, SIGTERM
      included, the original is untouched and no temporary file is left behind;
    - a new file gets the mode the umask gives (0644 under 022), a replaced one keeps its mode
      and, where the process may set it, its owner;
    - an existing file no one may write (no ``w`` in its mode) is refused (PermissionError),
      even for root, who could: a read-only spec is a decision the user made.

        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "out.yaml"
        >>> atomic_write_bytes(p, b"a: 1\\n"); p.read_text()
        'a: 1\\n'
    """
    path = Path(os.path.realpath(target))  # every link followed: the file the user means
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(target))
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "wb") as fh:  # a device or a pipe: replacing it would break the system
            fh.write(data)
        return
    if st is not None and not st.st_mode & 0o222:
        raise PermissionError(errno.EACCES, "it is read-only (chmod u+w lets archsolve write it)", str(target))
    if st is not None and st.st_nlink > 1:
        with _terminable(), open(path, "r+b") as fh:
            fh.write(data)
            fh.truncate()
            fh.flush()
            os.fsync(fh.fileno())
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with _terminable():
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if st is None:
                os.chmod(tmp, 0o666 & ~_umask())
            else:
                os.chmod(tmp, st.st_mode & 0o7777)
                if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                    with contextlib.suppress(PermissionError):  # only root may give a file away
                        os.chown(tmp, st.st_uid, st.st_gid)
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    # the umask can only be read by setting it: set it back at once
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _terminable() -> Iterator[None]:
    """SIGTERM during a write raises SystemExit (exit 143, as a killed process), so that the
    write's own clean-up runs; outside the main thread signals are left alone."""
    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def filled_text(spec: Spec, values: Mapping[str, int]) -> str:
    """The spec file's text with every unknown replaced by its value, in the file's own
    line endings; a JSON spec stays JSON, with its indentation."""
    with open(spec.file, encoding="utf-8", newline="") as fh:
        raw = fh.read()
    newline = "\r\n" if "\r\n" in raw else "\r" if "\r" in raw else "\n"  # CR alone: an old Mac's
    bom = "\ufeff" if raw.startswith("\ufeff") else ""  # kept as it was
    source = raw[len(bom):].replace("\r\n", "\n").replace("\r", "\n")
    text = _filled_json(spec, values, source) if source.lstrip().startswith("{") else None
    if text is None:
        text = _filled_yaml(spec, values, source)
    return bom + (text.replace("\n", newline) if newline != "\n" else text)


def _filled_json(spec: Spec, values: Mapping[str, int], source: str) -> str | None:
    """A JSON spec with each filled value's text replaced where it stands, so the layout
    (indentation, one-line objects, tabs) stays as written (None: the text is YAML after all)."""
    import json

    try:
        json.loads(source)  # the spans below assume JSON
        spans = _json_spans(source)
    except ValueError:
        return None
    changes = _changes(spec, values)
    text = source
    for path in sorted(changes, key=lambda p: spans[p][0], reverse=True):
        start, end = spans[path]
        text = text[:start] + str(changes[path]) + text[end:]
    return text


_JSON_ATOM = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null")


def _json_spans(text: str) -> dict[tuple[Any, ...], tuple[int, int]]:
    """Where each value of a JSON document stands in its text: path -> (start, end)."""
    from json.decoder import scanstring

    spans: dict[tuple[Any, ...], tuple[int, int]] = {}

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def value(i: int, path: tuple[Any, ...]) -> int:
        i = skip(i)
        start = i
        if text[i] == "{":
            i = skip(i + 1)
            while text[i] != "}":
                key, i = scanstring(text, i + 1)
                i = value(skip(i) + 1, (*path, key))  # past the ':'
                i = skip(i)
                i = skip(i + 1) if text[i] == "," else i
            i += 1
        elif text[i] == "[":
            i, k = skip(i + 1), 0
            while text[i] != "]":
                i = skip(value(i, (*path, k)))
                i = skip(i + 1) if text[i] == "," else i
                k += 1
            i += 1
        elif text[i] == '"':
            _, i = scanstring(text, i + 1)
        else:
            m = _JSON_ATOM.match(text, i)
            if m is None:
                raise ValueError(f"not JSON at {i}")
            i = m.end()
        spans[path] = (start, i)
        return i

    value(0, ())
    return spans


def _changes(spec: Spec, values: Mapping[str, int]) -> dict[tuple[Any, ...], int]:
    """What the write changes, path -> value: every unknown's place, every var with a domain."""
    # several unknowns can stand at one place: a "?" inside a block belongs to every call
    at: dict[tuple[Any, ...], dict[str, int]] = {}
    for name, unk in spec.unknowns.items():
        if name in values and unk.path:
            at.setdefault(tuple(unk.path), {})[name] = values[name]
    changes: dict[tuple[Any, ...], int] = {}
    for path, found in at.items():
        distinct = set(found.values())
        if len(distinct) > 1:
            detail = ", ".join(f"{n} = {v}" for n, v in sorted(found.items()))
            raise UsageError(f"cannot write the solution back: one '?' in the file stands for {detail}; "
                             "give each call its own unknown (a block parameter) to write different values")
        changes[path] = distinct.pop()
    for name, var in spec.vars.items():
        if var.domain is not None and name in values:
            changes[("vars", name)] = values[name]
    return changes


def _filled_yaml(spec: Spec, values: Mapping[str, int], source: str) -> str:
    return replace_values(source, {path: str(v) for path, v in _changes(spec, values).items()}, spec.file)


def write_solution(spec: Spec, values: Mapping[str, int], out: str | None, in_place: bool) -> str:
    """Write the filled spec to ``out`` (or over the spec with ``in_place``); return the path."""
    source = Path(spec.file).resolve()
    if in_place:
        target = source
    else:
        assert out is not None
        target = Path(out)
        if target.resolve() == source:
            raise UsageError(f"--write {out} is the spec itself; use --in-place to overwrite it")
        if target.is_dir():
            raise UsageError(f"--write {out}: is a folder")
    try:
        text = filled_text(spec, values)
    except (KeyError, IndexError, TypeError) as exc:
        raise SpecError(f"cannot write the solution back into {spec.file}: {exc}") from None
    try:
        atomic_write(target, text)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    return str(target)
