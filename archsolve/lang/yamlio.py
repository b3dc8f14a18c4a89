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
import re
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
        if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            # the parser's words ("found character that cannot start any token") name no tab
            problem = "a tab character; YAML indents with spaces only (replace the tab with spaces)"
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


def replace_values(text: str, changes: dict[Path_, str], file: str = "<spec>") -> str:
    """``text`` with the value at each path replaced by the text given for it, every other
    character kept as written (comments, quotes, ``+4``, ``0x10``, directives, layout).

    A block-style collection becomes one value on its key's line (a comment there stays).  A
    value a YAML alias repeats is replaced only where every place it stands for gets the same
    text; else :class:`SpecError`.

        >>> replace_values('a: {k: "?"}   # keep\\nb: +4\\n', {("a", "k"): "3"})
        'a: {k: 3}     # keep\\nb: +4\\n'
    """
    # by hand because no YAML library edits a document in place: ruamel.yaml re-emits every
    # line it round-trips (``+4`` became ``4``; a %YAML 1.1 body was rewritten as YAML 1.1)
    root = yaml.compose(text, Loader=_Loader)
    edits: dict[int, tuple[int, int, str]] = {}
    wanted: dict[int, int] = {}  # node id -> how many of the changed paths lead to it
    for path, new in changes.items():
        node, key = _at_path(root, path, file)
        edit = _edit(text, node, key, new)
        old = edits.setdefault(id(node), edit)
        if old != edit:
            raise SpecError(f"cannot write the solution back: one value in the file (a YAML alias) would have "
                            f"to hold both {old[2].strip()} and {new}", _location(file, text, old[0]))
        wanted[id(node)] = wanted.get(id(node), 0) + 1
    for ident, paths in _paths_to(root, wanted).items():
        if paths > wanted[ident]:
            raise SpecError("cannot write the solution back: a YAML alias repeats this value in a place that "
                            "would change with it", _location(file, text, edits[ident][0]))
    out = text
    for start, end, replacement in sorted(edits.values(), reverse=True):
        shift = 0 if "\n" in out[start:end] else (end - start) - len(replacement)
        out = _keep_comment_column(out[:start] + replacement + out[end:], start + len(replacement), shift)
    return out


def _mark(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _location(file: str, text: str, at: int) -> Location:
    return Location(file, text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at))


def _at_path(root: yaml.Node, path: Path_, file: str) -> tuple[yaml.Node, yaml.Node | None]:
    """The node at ``path`` and its key's node (None for a list item or the root)."""
    node, key = root, None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = [(None, node.value[part])]
        else:
            found = []
        if len(found) != 1:
            raise SpecError(f"cannot write the solution back: {'.'.join(map(str, path))} is not in the file",
                            _mark(file, node))
        key, node = found[0]
    return node, key


_PROPERTIES = re.compile(r"(?:[&!]\S*\s+)*")  # the anchor and tag before a value
_COMMENT = re.compile(r"(?:^|\s)(#.*)$")


def _edit(text: str, node: yaml.Node, key: yaml.Node | None, new: str) -> tuple[int, int, str]:
    """Where ``node``'s text stands and what replaces it: (start, end, replacement); an
    anchor stays, for the aliases that read it."""
    start, end = node.start_mark.index, _content_end(text, node)
    props = _PROPERTIES.match(text, start, end).group(0)
    if not isinstance(node, yaml.CollectionNode) or node.flow_style or key is None:
        return start + len(props), end, new
    # a block collection: the value goes up beside its key, and the lines it took go (with
    # a comment at the end of the last; one on the key's line stays)
    colon = text.index(":", key.end_mark.index) + 1
    comment = _COMMENT.search(text[colon:_line_end(text, colon)])
    shown = " ".join(p for p in (props.strip(), new) if p)
    return colon, _line_end(text, end), f" {shown}" + (f"  {comment.group(1)}" if comment else "")


def _line_end(text: str, at: int) -> int:
    eol = text.find("\n", at)
    return len(text) if eol < 0 else eol


def _content_end(text: str, node: yaml.Node) -> int:
    """Where ``node``'s own text ends: a block collection's end mark lies past the comments
    and blank lines after it."""
    last = node
    while isinstance(last, yaml.CollectionNode) and last.value and not last.flow_style:
        item = last.value[-1]
        last = item if isinstance(item, yaml.Node) else item[1] if item[1].end_mark.index > item[1].start_mark.index \
            else item[0]  # "key:" with nothing after it ends at its key
    end = last.end_mark.index
    while end > node.start_mark.index and text[end - 1] in " \t\n":
        end -= 1
    return end


def _paths_to(root: yaml.Node, wanted: dict[int, int]) -> dict[int, int]:
    """How many paths from the root lead to each node in ``wanted`` (by id): one, unless
    aliases repeat it.  Each node is visited once (a chain of aliases counts, it does not expand)."""
    order: list[yaml.Node] = []  # children before their parents
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    count = {id(root): 1}
    for node in reversed(order):  # parents first: a node's count is whole before it passes it on
        for child in _children(node):
            count[id(child)] = count.get(id(child), 0) + count.get(id(node), 0)
    return {ident: count.get(ident, 0) for ident in wanted}


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [v for _, v in node.value]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _keep_comment_column(text: str, at: int, shift: int) -> str:
    """After an edit ending at ``at`` that made its line ``shift`` characters shorter
    (longer if negative), move the spaces before the line's comment so that the comment
    stays where it was (one space at least); left alone where a quote stands between."""
    m = re.search(r"(\s+)#", text[at:_line_end(text, at)])
    if not shift or m is None or any(q in text[at:at + m.start()] for q in "\"'"):
        return text
    return text[:at + m.start()] + " " * max(1, len(m.group(1)) + shift) + text[at + m.end() - 1:]


def _char_at(text: str, line: int, column: int) -> str:
    """The character at a 0-based line and column of ``text`` ('' past its end)."""
    lines = text.split("\n")
    return lines[line][column:column + 1] if line < len(lines) else ""


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
