"""Read a spec file safely, remembering where every value stands in it.

PyYAML only *composes* the document (no Python objects are ever built from tags), and
:func:`read_document` turns the node tree into plain dicts, lists and scalars while
recording the line and column of every value under its path (``("layers", 3, "kernel")``).
Aliases are followed with a budget, so a "billion laughs" file is refused quickly.

Example::

    >>> doc = parse_document("layers:\\n  - {op: relu}\\n", "net.yaml")
    >>> doc.data["layers"][0]["op"], str(doc.where(("layers", 0, "op")))
    ('relu', 'net.yaml:2:10')
"""

from __future__ import annotations

import os
import select
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from archsolve.errors import Location, SpecError
from archsolve.limits import DEFAULT_LIMITS, Limits, over_the_largest

try:  # the C loader is many times faster; fall back when libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path_ = tuple[Any, ...]

_STANDARD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_STANDARD}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "binary")}


@dataclass
class Document:
    """Plain data plus the location of each value, keyed by its path."""

    data: Any
    file: str
    marks: dict[Path_, Location] = field(default_factory=dict)

    def where(self, path: Path_) -> Location:
        """The location of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.marks:
                return self.marks[p]
            p = p[:-1]
        return self.marks.get((), Location(self.file))


def set_at(data: Any, path: Path_, value: Any) -> None:
    """Set the value at ``path`` (keys and list indices) in a document's data, plain or
    round-trip (ruamel) alike."""
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


class _Builder:
    def __init__(self, file: str, max_values: int):
        self.file = file
        self.max_values = max_values
        self.marks: dict[Path_, Location] = {}
        self.count = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def loc(self, node: yaml.Node) -> Location:
        m = node.start_mark
        return Location(self.file, m.line + 1, m.column + 1)

    def build(self, node: yaml.Node, path: Path_, depth: int = 0) -> Any:
        self.count += 1
        if self.count > self.max_values:
            raise SpecError(f"the document expands to more than {self.max_values} values "
                            "(YAML aliases nested too deep?); refusing it", self.loc(node))
        if depth > 100:
            raise SpecError("the document is nested more than 100 levels deep", self.loc(node))
        self.marks.setdefault(path, self.loc(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag != f"{_STANDARD}map":
                raise SpecError(f"YAML tag {node.tag!r} is not allowed in a spec", self.loc(node))
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise SpecError("mapping keys must be plain words", self.loc(key_node))
                if key_node.tag == f"{_STANDARD}merge":
                    raise SpecError("YAML merge keys (<<) are not supported; use blocks", self.loc(key_node))
                key = self.scalar(key_node)
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    key = str(key_node.value)
                if key in out:
                    raise SpecError(f"duplicate key {key!r}", self.loc(key_node))
                # a scalar is best located by its value, a collection by its key
                nested = isinstance(value_node, (yaml.MappingNode, yaml.SequenceNode))
                self.marks[(*path, key)] = self.loc(key_node if nested else value_node)
                out[key] = self.build(value_node, (*path, key), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != f"{_STANDARD}seq":
                raise SpecError(f"YAML tag {node.tag!r} is not allowed in a spec", self.loc(node))
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise SpecError(f"YAML tag {node.tag!r} is not allowed in a spec (only plain values)", self.loc(node))
        if node.tag in (f"{_STANDARD}timestamp", f"{_STANDARD}binary"):
            return str(node.value)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError):
            kind = node.tag.rsplit(":", 1)[-1]
            over = over_the_largest(str(node.value)) if kind == "int" and str(node.value).lstrip("+-").isdigit() \
                else None  # too long for Python to read
            if over:
                raise SpecError(f"{over}, the largest number a spec may write", self.loc(node)) from None
            raise SpecError(f"{node.value!r} is not a valid {kind}", self.loc(node)) from None
        if isinstance(value, int) and not isinstance(value, bool):
            over = over_the_largest(str(abs(value)))
            if over:
                raise SpecError(f"{over}, the largest number a spec may write", self.loc(node))
        return value


def parse_document(text: str, file: str = "<spec>", limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse YAML text into a :class:`Document`; raise :class:`SpecError` on any problem
    (``limits.yaml_values``: the most values it may expand to)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = exc.problem or exc.context or "malformed YAML"
        raise SpecError(f"malformed YAML: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"malformed YAML: {exc}", Location(file)) from None
    except RecursionError:
        raise SpecError("the document is nested too deep", Location(file)) from None
    if node is None:
        raise SpecError("the file is empty; a spec needs at least 'input' and 'layers'", Location(file))
    builder = _Builder(file, limits.yaml_values)
    data = builder.build(node, ())
    return Document(data, file, builder.marks)


STDIN = "<stdin>"  # the name a spec read from standard input (``-``) goes by in messages


def read_document(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Read and parse a spec file (UTF-8, at most ``limits.file_bytes``); ``-`` is standard
    input.  Whatever the path is (a device, a pipe), at most the limit and one byte are read."""
    name = STDIN if str(path) == "-" else str(path)
    try:
        if name == STDIN:
            if sys.stdin is None:  # started with it closed (<&-)
                raise SpecError("standard input is closed", Location(name))
            raw = sys.stdin.buffer.read(limits.file_bytes + 1)
        else:
            p = Path(path)
            st = p.stat()
            if p.is_dir():
                raise SpecError("is a folder, not a spec file", Location(name))
            if st.st_size > limits.file_bytes:  # a regular file says its size: no need to read it
                raise SpecError(f"the file is {st.st_size} bytes; spec files over {limits.file_bytes} bytes "
                                "are refused", Location(name))
            raw = _read_at_most(p, limits.file_bytes + 1)
        if len(raw) > limits.file_bytes:  # a device or a pipe (its size is 0 to stat)
            raise SpecError(f"more than {limits.file_bytes} bytes; spec files over {limits.file_bytes} bytes "
                            "are refused", Location(name))
    except FileNotFoundError:
        raise SpecError("no such file", Location(name)) from None
    except PermissionError:
        raise SpecError("permission denied", Location(name)) from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror}", Location(name)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})", Location(name)) from None
    if "\x00" in text:
        raise SpecError("not a text file (it contains NUL bytes)", Location(name))
    return parse_document(text, name, limits)


FIFO_WAIT_S = 10.0  # how long a FIFO no one writes to is waited for, as a writer may come late


def _read_at_most(path: Path, n: int) -> bytes:
    """The first ``n`` bytes of ``path``.  Opened without blocking (a FIFO's open would wait
    for a writer forever), then read blocking once there is something to read: a FIFO no one
    writes to within :data:`FIFO_WAIT_S` is an error, one being written is read as its
    writer goes."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            waiting = select.poll()
            waiting.register(fd, select.POLLIN)
            if not waiting.poll(int(FIFO_WAIT_S * 1000)):
                raise SpecError(f"a FIFO no one wrote to in {FIFO_WAIT_S:g} s", Location(str(path)))
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        left = n
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
