"""``archsolve draw``: the network as a picture, shapes on the edges, each once.

:func:`archsolve.check.known.known_shapes` works out what a drawing shows: each layer's
output shape, where it can be computed.  From it, :func:`dot_source` writes Graphviz DOT, :func:`mermaid_source` a
Mermaid flowchart and :func:`render` either of those, or SVG / PNG through Graphviz's
``dot`` program.

* one node per layer: its name, op, key hyperparameters (``out=64 k=3 s=2 p=1``) and, for
  a layer with weights, its params and MACs, filled in the colour of its op's
  family (the op table's); merges (``concat``, ``add``) are ellipses; in SVG, a node's
  tooltip has the exact figures;
* each shape is shown once, on the edge the tensor flows along (``64x284x284``), or on its
  layer's node where no edge leaves it (the output); a second consumer of a tensor (a skip
  connection, a shortcut) gets a thick grey edge that does not repeat it, and a crop's
  ``like`` reference a dotted one ("size of"), as are a maxunpool's references to its
  maxpool ("indices") and to that pool's input;
* block calls and ``repeat`` groups are clusters (boxes around their layers); with
  ``DrawMode.depth`` those nested deeper are one node each (a double border);
* a ``"?"`` not given a value shows as a red ``k=?``, a value given in ``values``
  (a solution) as a bold green ``k=2``; shapes that cannot be computed show as ``?``.

Layout: top to bottom, or left to right (``DrawMode.direction``).  An encoder-decoder (a network that both down- and up-samples, like
U-Net) is drawn as a U, as in the U-Net paper: the encoder on the left going down, the
decoder on the right coming back up (its edges point upwards), and each skip connection
straight across, its two ends on one rank.

Example::

    >>> from archsolve.check.known import known_shapes
    >>> from archsolve.spec.load import load_text
    >>> spec = load_text("input: [3, 8, 8]\\nlayers: [{op: conv, out: 4, kernel: 3}]")
    >>> print(dot_source(known_shapes(spec)))
    ... # doctest: +ELLIPSIS
    digraph archsolve {
    ...
"""

from __future__ import annotations

import enum
import html
import math
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archsolve.check.known import KnownShapes
from archsolve.errors import ArchsolveError, SolverTimeout, UsageError, printable
from archsolve.lang.expr import Expr, Name
from archsolve.ops.base import Kind
from archsolve.ops.table import OPS, Family
from archsolve.output.view import number_text, unit_text
from archsolve.shapes.graph import Network
from archsolve.spec.model import Group, Layer, Spec

FORMATS = ("dot", "mermaid", "svg", "png")


class Direction(enum.Enum):
    """Where the network goes: top to bottom, or left to right (Graphviz's and Mermaid's words)."""

    TB = "TB"
    LR = "LR"


@dataclass(frozen=True)
class DrawMode:
    """How a drawing is laid out, passed down to each format's writer: ``depth`` as
    ``check --depth`` (groups nested deeper are one node each; None: every layer), and the
    ``direction``.

        >>> DrawMode(depth=0).direction
        <Direction.TB: 'TB'>
    """

    depth: int | None = None
    direction: Direction = Direction.TB
NO_DOT = ("drawing svg/png needs Graphviz's dot program: apt-get install graphviz "
          "(or use --format dot or mermaid)")

# how a field is abbreviated in a node's label; fields not listed are shown by their name
_SHORT = {"kernel": "k", "stride": "s", "padding": "p", "dilation": "d", "groups": "g",
          "output_padding": "outpad", "scale": "x", "factor": "r"}
_ALWAYS = ("out", "kernel", "size", "scale", "factor", "amount", "like", "indices", "shape")  # shown even when not written
# the dotted edges of references, by kind: a crop's `like`, a maxunpool's maxpool (its indices)
_REFERENCES = {"like": "size of", "indices": "indices"}
_HIDDEN_KINDS = (Kind.NUMBER,)  # dropout p, eps, momentum: irrelevant to shapes


@dataclass(frozen=True)
class _Look:
    """How a family's nodes are drawn: ``small``, a small rounded box; ``mermaid``, the class."""

    fill: str
    small: bool = False
    mermaid: str = ""


# after the U-Net paper's arrows (pool red, up-conv green, copy grey)
_LOOKS = {
    Family.CONV: _Look("#dbe8f7", mermaid="conv"),
    Family.UP: _Look("#d7f0d4", mermaid="up"),
    Family.POOL: _Look("#f8d7d3", mermaid="pool"),
    Family.BORDER: _Look("#e6e6e6"),
    Family.CONCAT: _Look("#ffe2a8", mermaid="merge"),
    Family.SUM: _Look("#d9ccf0", mermaid="merge"),
    Family.NORM: _Look("#f5f5f5", small=True),
    Family.ACTIVATION: _Look("#ffffff", small=True),
    Family.OTHER: _Look("#ffffff"),
}
_INPUT_FILL = "#ffffff"
_FOLDED_FILL = "#e8e8e8"  # a block call or repeat drawn as one node
_UNKNOWN_COLOUR = "#d00000"
_SOLVED_COLOUR = "#007a1f"
_SKIP_COLOUR = "#808080"


# -- what is drawn -------------------------------------------------------------------------------

class Shown(enum.IntEnum):
    """How a value stands out in a label; a field of several values shows the most."""

    WRITTEN = 0  # as the spec writes it
    SOLVED = 1  # a value given for an unknown (a solution's): bold green
    UNKNOWN = 2  # a "?" with no value: red


@dataclass
class _Token:
    """One hyperparameter shown in a label: ``k=3``, and how it is shown."""

    text: str
    state: Shown = Shown.WRITTEN


@dataclass
class _Node:
    name: str
    op: str
    tokens: list[_Token]
    shape: str
    problem: str | None = None  # the kind of an error reported at this layer
    params: int | None = None
    macs: int | None = None
    folded: bool = False  # a block call or repeat drawn as one node
    shape_here: bool = True  # its shape is shown on it: no edge carries it (the output)

    @property
    def counts(self) -> str:
        """``37.6 k params, 12.1 G MACs`` for a layer with weights; '' for one without."""
        if not self.params and not self.macs:
            return ""
        return f"{unit_text(self.params)} params, {unit_text(self.macs)} MACs"

    @property
    def tooltip(self) -> str:
        """Everything a node says, with the exact figures (an SVG shows it on hover)."""
        what = " ".join([*([self.op] if self.op != "input" else []), *(t.text for t in self.tokens)])
        parts = [self.name, *([what] if what else []), f"output {self.shape}"]
        if self.params is not None:
            parts.append(f"params {number_text(self.params)}, MACs {number_text(self.macs)}")
        if self.problem:
            parts.append(f"error: {self.problem}")
        return "; ".join(parts)

    @property
    def unknown(self) -> bool:
        return any(t.state is Shown.UNKNOWN for t in self.tokens)

    @property
    def solved(self) -> bool:
        return any(t.state is Shown.SOLVED for t in self.tokens)

    @property
    def merge(self) -> bool:
        return self.op in OPS and OPS[self.op].merge

    @property
    def look(self) -> _Look | None:
        """None for the input."""
        return _LOOKS[OPS[self.op].family] if self.op in OPS else None


@dataclass
class _Edge:
    src: str
    dst: str
    shape: str
    kind: str = "data"  # data | skip (a second consumer of a tensor) | a key of _REFERENCES


@dataclass
class _Picture:
    title: str
    nodes: dict[str, _Node]  # in graph order, "input" first
    edges: list[_Edge]
    groups: list[Group]
    group_of: dict[str, str | None]  # layer -> its innermost group
    decoder: set[str] | None  # for an encoder-decoder: the nodes of its decoder
    notes: list[str] = field(default_factory=list)
    has_unknowns: bool = False
    has_solved: bool = False
    counts: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)  # KnownShapes.counts

    @property
    def position(self) -> dict[str, int]:
        cache = self.__dict__.get("_position")
        if cache is None:
            cache = self.__dict__["_position"] = {name: i for i, name in enumerate(self.nodes)}
        return cache


def _fmt_shape(shape: Sequence[Any] | None) -> str:
    if shape is None:
        return "?"
    return "x".join(str(int(v)) for v in shape)








class _Values:
    """Shows a field value: evaluated when possible, ``?`` for open unknowns."""

    def __init__(self, spec: Spec, env: Mapping[str, int], values: Mapping[str, int]):
        self.unknowns = set(spec.unknowns)
        self.given = set(values) & (self.unknowns | set(spec.vars))
        self.env = {**env, **values}

    def one(self, e: Any) -> tuple[str, Shown]:
        """(text, state) for one value."""
        if not isinstance(e, Expr):
            return (str(e).lower() if isinstance(e, bool) else str(e)), Shown.WRITTEN
        names = set(e.names())
        if names & (self.unknowns - self.given):
            return "?", Shown.UNKNOWN
        state = Shown.SOLVED if names & self.given else Shown.WRITTEN
        try:
            return str(e.evaluate(self.env)), state
        except (KeyError, ArchsolveError, ArithmeticError):
            return str(e), state

    def field(self, v: Any, kind: Kind) -> tuple[str, Shown]:
        if kind is Kind.DIMS:  # a whole shape: every entry, even equal ones
            parts = [self.one(x) for x in v]
            return "x".join(t for t, _ in parts), max(s for _, s in parts)
        if kind is Kind.AXES and isinstance(v, tuple):
            parts = [self.one(x) for x in v]
        elif kind is Kind.SIDES and isinstance(v, tuple):
            parts = []
            for a, b in v:
                ta, sa = self.one(a)
                tb, sb = self.one(b)
                parts.append((ta if ta == tb else f"{ta}/{tb}", max(sa, sb)))
        else:
            return self.one(v)
        texts = [t for t, _ in parts]
        state = max(s for _, s in parts)
        if len(set(texts)) == 1:
            return texts[0], state
        return "x".join(texts), state

    def number(self, v: Any) -> int | None:
        """An integer value (the largest over axes), or None when it is not known."""
        items = v if isinstance(v, tuple) else (v,)
        out = []
        for x in items:
            if isinstance(x, tuple):
                return None
            text, state = self.one(x)
            if state is Shown.UNKNOWN:
                return None
            try:
                out.append(int(text))
            except ValueError:
                return None
        return max(out) if out else None


def _tokens(lay: Layer, shown: _Values) -> list[_Token]:
    opdef = OPS[lay.op]
    out: list[_Token] = []
    for f in opdef.fields:
        if f.kind in _HIDDEN_KINDS or f.borrowed or f.name not in lay.values:  # borrowed: shown on their layer
            continue
        v = lay.values[f.name]
        if v is None:
            continue
        text, state = shown.field(v, f.kind)
        if f.kind is Kind.BOOL:
            if f.name == "ceil_mode" and v is True:
                out.append(_Token("ceil"))
            continue
        if f.name not in lay.written and f.name not in _ALWAYS and state is Shown.WRITTEN:
            continue
        out.append(_Token(f"{_SHORT.get(f.name, f.name)}={text}", state))
    return out


def _delta(lay: Layer, shown: _Values) -> int:
    """How many resolution levels a layer goes down (+) or up (-)."""
    resample = OPS[lay.op].resample
    if resample is None:
        return 0
    v = lay.values.get(resample.field)
    n = shown.number(v) if v is not None else None
    steps = resample.unknown if n is None else round(math.log2(n)) if n > 1 else 0
    return -steps if resample.up else steps


def _data_sources(lay: Layer) -> tuple[str, ...]:
    return OPS[lay.op].data_sources(lay.sources, lay.values)


def _picture(known: KnownShapes, mode: DrawMode) -> _Picture:
    spec, shapes, problems, order = known.spec, known.shapes, known.problems, known.order
    shown = _Values(spec, known.env, known.values)

    input_names: list[str] = []  # the input's size vars: H=572
    for e in spec.input:
        input_names += [n for n in sorted(e.names()) if n not in input_names]
    input_tokens = [_Token(f"{n.removeprefix('input.')}={'?' if text == n else text}", state)
                    for n in input_names for text, state in [shown.one(Name(n))]]
    input_shape = _fmt_shape(shapes.get("input"))
    if shapes.get("input") is None:  # some size is open: 3xHx? (a free var, an unknown)
        input_shape = "x".join(text for e in spec.input for text, _ in [shown.one(e)])
    nodes: dict[str, _Node] = {"input": _Node("input", "input", input_tokens, input_shape)}
    for lay in order:
        params, macs = known.counts.get(lay.name, (None, None))
        nodes[lay.name] = _Node(lay.name, lay.op, _tokens(lay, shown), _fmt_shape(shapes.get(lay.name)),
                                problems.get(lay.name), params, macs)

    # the main consumer of a tensor is its first reader in spec order; the others are skips
    main: dict[str, str] = {}
    for lay in spec.layers:
        for src in _data_sources(lay):
            main.setdefault(src, lay.name)
    edges: list[_Edge] = []
    for lay in order:
        data = _data_sources(lay)
        lends = next((f for f in OPS[lay.op].fields if f.of_op), None)
        for j, src in enumerate(lay.sources):
            if j >= len(data):
                kind = "indices" if lends is not None and j == len(data) else "like"
            elif main.get(src) != lay.name:
                kind = "skip"
            else:
                kind = "data"
            edges.append(_Edge(src, lay.name, nodes[src].shape, kind))

    # an encoder-decoder (it goes down in resolution and comes back up) is drawn as a U: its
    # decoder -- what reads an up-sampling's output, or is sized like it (a crop) -- goes upwards
    deltas = [_delta(lay, shown) for lay in order]
    decoder: set[str] | None = None
    if any(d > 0 for d in deltas) and any(d < 0 for d in deltas):
        import networkx as nx

        g = Network(spec, order).to_networkx(shapes)
        ups = [lay.name for lay, d in zip(order, deltas, strict=True) if d < 0]
        decoder = set(ups).union(*(nx.descendants(g, up) for up in ups))
    # the spec's name, its file's and the notes are the user's words: shown literally (a
    # control character would be invalid SVG, and a command to a terminal reading the DOT)
    title = printable(spec.name or spec.file)
    title += "    input " + nodes["input"].shape
    pic = _Picture(title, nodes, edges, list(spec.groups), {lay.name: lay.group for lay in spec.layers},
                   decoder, [printable(n) for n in known.notes],
                   any(n.unknown for n in nodes.values()), any(n.solved for n in nodes.values()), known.counts)
    return _shapes_once(pic if mode.depth is None else _folded(pic, mode.depth))


def _shapes_once(pic: _Picture) -> _Picture:
    """Each shape is shown once: on the main edge that carries it (a second reader's edge, a
    skip connection, does not repeat it), or on its node where no such edge leaves it."""
    carried = {e.src for e in pic.edges if e.kind == "data"}
    for name, node in pic.nodes.items():
        node.shape_here = name not in carried
    return pic


def _folded(pic: _Picture, depth: int) -> _Picture:
    """The picture with each group nested ``depth`` deep drawn as one node where its first
    layer was: its output's shape, its params and MACs (check's row of it), its first problem.
    Edges inside it go; edges in and out of it meet the one node."""
    into: dict[str, Group] = {}
    for g in pic.groups:
        if g.depth == depth:
            into.update((m, g) for m in g.members)
    nodes: dict[str, _Node] = {}
    for name, node in pic.nodes.items():
        g = into.get(name)
        if g is None:
            nodes[name] = node
        elif g.name not in nodes:
            inside = [pic.nodes[m] for m in g.members if m in pic.nodes]
            params, macs = pic.counts.get(g.name, (None, None))
            nodes[g.name] = _Node(g.name, g.op, [], pic.nodes[g.output].shape,
                                  next((n.problem for n in inside if n.problem), None), params, macs, folded=True)
    edges: dict[tuple[str, str], _Edge] = {}
    for e in pic.edges:
        src = into[e.src].name if e.src in into else e.src
        dst = into[e.dst].name if e.dst in into else e.dst
        old = edges.get((src, dst))
        # a block that reads its input twice (a residual's shortcut) is one edge from it, a data one
        if src != dst and (old is None or (old.kind == "skip" and e.kind == "data")):
            edges[(src, dst)] = _Edge(src, dst, nodes[src].shape, e.kind)
    group_of = {**pic.group_of, **{g.name: g.group for g in into.values()}}
    decoder = None if pic.decoder is None else {into[n].name if n in into else n for n in pic.decoder}
    return _Picture(pic.title, nodes, list(edges.values()), [g for g in pic.groups if g.depth < depth], group_of,
                    decoder, pic.notes, pic.has_unknowns, pic.has_solved, pic.counts)


def _group_tree(pic: _Picture) -> tuple[dict[str | None, list[Group]], dict[str | None, list[str]]]:
    """Child groups and direct member layers of each group (None: the top level)."""
    children: dict[str | None, list[Group]] = {}
    for g in pic.groups:
        children.setdefault(g.group, []).append(g)
    layers: dict[str | None, list[str]] = {}
    for name in pic.nodes:
        layers.setdefault(pic.group_of.get(name), []).append(name)
    return children, layers


def _members_in_order(pic: _Picture, group: str | None, children: Mapping[str | None, list[Group]],
                      members: Mapping[str | None, list[str]]) -> list[Group | str]:
    """The child groups and layers of ``group``, in graph order (a group where its first layer is)."""
    position = pic.position

    def first(g: Group) -> int:
        return min((position[m] for m in g.members if m in position), default=len(position))

    items: list[tuple[int, Group | str]] = [(first(g), g) for g in children.get(group, [])]
    items += [(position[n], n) for n in members.get(group, [])]
    items.sort(key=lambda t: t[0])
    return [item for _, item in items]


# -- DOT -------------------------------------------------------------------------------------------

def _q(text: str) -> str:
    """A DOT quoted ID."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _token_line(node: _Node, escape: Callable[[str], str], marks: Mapping[Shown, str]) -> list[str]:
    """A label's second line, in one format's escaping: the op and its hyperparameters, each
    value that stands out (an open ``"?"``, a solved one) in the format's ``marks``; none for
    an input with nothing to show."""
    if node.op == "input" and not node.tokens:
        return []
    parts = [] if node.op == "input" else [escape(node.op)]
    parts += [marks.get(t.state, "{}").format(escape(t.text)) for t in node.tokens]
    return [" ".join(parts)]


def _dot_label(node: _Node) -> str:
    lines = [f"<B>{_h(node.name)}</B>"]
    marks = {Shown.UNKNOWN: f'<FONT COLOR="{_UNKNOWN_COLOUR}"><B>{{}}</B></FONT>',
             Shown.SOLVED: f'<FONT COLOR="{_SOLVED_COLOUR}"><B>{{}}</B></FONT>'}
    lines += _token_line(node, _h, marks)
    shape_colour = _UNKNOWN_COLOUR if node.shape == "?" else "#333333"
    if node.shape_here:
        lines.append(f'<FONT POINT-SIZE="10" COLOR="{shape_colour}">{_h(node.shape)}</FONT>')
    if node.counts:
        lines.append(f'<FONT POINT-SIZE="9" COLOR="#555555">{_h(node.counts)}</FONT>')
    if node.problem:
        lines.append(f'<FONT POINT-SIZE="10" COLOR="{_UNKNOWN_COLOUR}">error: {_h(node.problem)}</FONT>')
    return _Raw("<" + "<BR/>".join(lines) + ">")


def _dot_node_attrs(node: _Node) -> dict[str, str]:
    look = node.look
    attrs: dict[str, str] = {"label": _dot_label(node), "tooltip": node.tooltip}
    style = ["filled"]
    if node.folded:
        attrs["shape"] = "box"
        attrs["peripheries"] = "2"  # a double border: a block drawn as one node
    elif node.merge:
        attrs["shape"] = "ellipse"
        attrs["penwidth"] = "1.5"
    elif look is None:
        attrs["shape"] = "box"
        style.append("bold")
    elif look.small:
        attrs["shape"] = "box"
        attrs["fontsize"] = "10"
        style.append("rounded")
    else:
        attrs["shape"] = "box"
    attrs["fillcolor"] = _FOLDED_FILL if node.folded else _INPUT_FILL if look is None else look.fill
    if node.problem:
        attrs["color"] = _UNKNOWN_COLOUR
        attrs["penwidth"] = "2.5"
    elif node.unknown:
        attrs["color"] = _UNKNOWN_COLOUR
        attrs["penwidth"] = "2"
        style.append("dashed")
    elif node.solved:
        attrs["color"] = _SOLVED_COLOUR
        attrs["penwidth"] = "2.5"
    attrs["style"] = ",".join(style)
    return attrs


class _Raw(str):
    """An attribute value written as is (an HTML label ``<...>``)."""


def _attrs(attrs: Mapping[str, str]) -> str:
    return "[" + ", ".join(f"{k}={v if isinstance(v, _Raw) else _q(v)}" for k, v in attrs.items()) + "]"


def dot_source(known: KnownShapes, mode: DrawMode = DrawMode()) -> str:  # noqa: B008 (frozen)
    """Graphviz DOT of the network (see the module's docstring for what is drawn)."""
    pic = _picture(known, mode)
    children, members = _group_tree(pic)
    lines = ["digraph archsolve {"]
    label = pic.title
    legend = []
    if pic.has_unknowns:
        legend.append("red ? = unknown")
    if pic.has_solved:
        legend.append("green bold = given by --set")
    if legend:
        label += "    (" + ", ".join(legend) + ")"
    lines.append(f"  graph {_attrs({'rankdir': mode.direction.value, 'label': label, 'labelloc': 't', 'fontname': 'Helvetica', 'fontsize': '16', 'nodesep': '0.25', 'ranksep': '0.4'})};")
    lines += [f"  // {note}".replace("\n", " ") for note in pic.notes]
    lines.append('  node [fontname="Helvetica", fontsize="11", margin="0.08,0.04"];')
    lines.append('  edge [fontname="Helvetica", fontsize="9", fontcolor="#444444", arrowsize="0.7"];')

    counter = [0]

    def emit(group: str | None, indent: str) -> None:
        for item in _members_in_order(pic, group, children, members):
            if isinstance(item, Group):
                g = item
                counter[0] += 1
                kind = g.op.partition(":")[2] if ":" in g.op else g.op
                style = "rounded,dashed" if children.get(g.name) else "rounded"
                lines.append(f"{indent}subgraph {_q('cluster_' + str(counter[0]) + '_' + g.name)} {{")
                lines.append(f"{indent}  graph {_attrs({'label': f'{g.name}: {kind}', 'style': style, 'color': '#7f7f7f', 'fontsize': '10', 'labeljust': 'l'})};")
                emit(g.name, indent + "  ")
                lines.append(f"{indent}}}")
            else:
                lines.append(f"{indent}{_q(item)} {_attrs(_dot_node_attrs(pic.nodes[item]))};")

    emit(None, "  ")

    for e in pic.edges:
        attrs: dict[str, str] = {}
        if e.kind in _REFERENCES:
            attrs.update({"style": "dotted", "arrowhead": "odot", "label": _REFERENCES[e.kind], "color": _SKIP_COLOUR})
        else:
            attrs["tooltip"] = f"{e.src} -> {e.dst}: {e.shape}"
            if e.kind == "skip":  # the same tensor as its main edge's: its shape is said there
                attrs.update({"color": _SKIP_COLOUR, "penwidth": "2.2"})
            else:
                attrs["label"] = e.shape
                if e.shape == "?":
                    attrs["fontcolor"] = _UNKNOWN_COLOUR
        src, dst = e.src, e.dst
        if pic.decoder is not None:
            # the U: the encoder goes down on the left, the decoder comes up on the right
            # (its edges are ranked reversed and drawn backwards), and each skip connection
            # goes across, keeping its two ends on one rank
            if src in pic.decoder and dst in pic.decoder:
                src, dst = dst, src
                attrs["dir"] = "back"
            elif dst in pic.decoder:
                attrs["minlen"] = "0"
                attrs["weight"] = "5"
        lines.append(f"  {_q(src)} -> {_q(dst)} {_attrs(attrs)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Mermaid ---------------------------------------------------------------------------------------

def _m(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    out = []
    for ch in text:
        if ch == '"':
            out.append("#quot;")
        elif ch == "<":
            out.append("#lt;")
        elif ch == ">":
            out.append("#gt;")
        elif ch == "&":
            out.append("#amp;")
        elif ch == "#":
            out.append("#35;")
        elif ch in "\n\r":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


_ID = re.compile(r"[^A-Za-z0-9_]")


def mermaid_source(known: KnownShapes, mode: DrawMode = DrawMode()) -> str:  # noqa: B008 (frozen)
    """A Mermaid flowchart with the same nodes and edges.

        >>> from archsolve.check.known import known_shapes
        >>> from archsolve.spec.load import load_text
        >>> print(mermaid_source(known_shapes(load_text("input: [3, 8, 8]\\nlayers: [{op: relu}]"))))
        ... # doctest: +ELLIPSIS
        flowchart TB
        ...
    """
    pic = _picture(known, mode)
    children, members = _group_tree(pic)
    ids = {name: f"n{i}" for i, name in enumerate(pic.nodes)}
    lines = [f"flowchart {mode.direction.value}"]
    lines += [f"  %% {_m(text)}" for text in (pic.title, *pic.notes)]
    counter = [0]

    def label(node: _Node) -> str:
        parts = [f"<b>{_m(node.name)}</b>", *_token_line(node, _m, {Shown.UNKNOWN: "<b>{}</b>",
                                                                      Shown.SOLVED: "<b>{} ✓</b>"})]
        if node.shape_here:
            parts.append(_m(node.shape))
        if node.counts:
            parts.append(_m(node.counts))
        if node.problem:
            parts.append("error: " + _m(node.problem))
        return "<br/>".join(parts)

    def emit(group: str | None, indent: str) -> None:
        for item in _members_in_order(pic, group, children, members):
            if isinstance(item, Group):
                counter[0] += 1
                kind = item.op.partition(":")[2] if ":" in item.op else item.op
                lines.append(f'{indent}subgraph g{counter[0]}["{_m(item.name)}: {_m(kind)}"]')
                emit(item.name, indent + "  ")
                lines.append(f"{indent}end")
                continue
            name = item
            node = pic.nodes[name]
            text = label(node)
            if node.merge:
                lines.append(f'{indent}{ids[name]}(["{text}"])')
            elif node.op == "input":
                lines.append(f'{indent}{ids[name]}[/"{text}"/]')
            else:
                lines.append(f'{indent}{ids[name]}["{text}"]')

    emit(None, "  ")
    link_styles: list[tuple[int, str]] = []
    for i, e in enumerate(pic.edges):
        if e.kind in _REFERENCES:
            lines.append(f'  {ids[e.src]} -.->|"{_REFERENCES[e.kind]}"| {ids[e.dst]}')
            link_styles.append((i, f"stroke:{_SKIP_COLOUR}"))
        else:
            if e.kind == "skip":
                lines.append(f"  {ids[e.src]} ==> {ids[e.dst]}")
            else:
                lines.append(f'  {ids[e.src]} -->|"{_m(e.shape)}"| {ids[e.dst]}')
            if e.kind == "skip":
                link_styles.append((i, f"stroke:{_SKIP_COLOUR}"))
    for i, style in link_styles:
        lines.append(f"  linkStyle {i} {style}")
    lines.append("  classDef merge fill:#ffe2a8,stroke:#a07000")
    lines.append("  classDef pool fill:#f8d7d3")
    lines.append("  classDef up fill:#d7f0d4")
    lines.append("  classDef conv fill:#dbe8f7")
    lines.append(f"  classDef unknown stroke:{_UNKNOWN_COLOUR},stroke-width:2px,stroke-dasharray:4 2")
    lines.append(f"  classDef solved stroke:{_SOLVED_COLOUR},stroke-width:3px")
    lines.append(f"  classDef problem stroke:{_UNKNOWN_COLOUR},stroke-width:3px")
    classes: dict[str, list[str]] = {}
    for name, node in pic.nodes.items():
        if node.problem:
            classes.setdefault("problem", []).append(ids[name])
        elif node.unknown:
            classes.setdefault("unknown", []).append(ids[name])
        elif node.solved:
            classes.setdefault("solved", []).append(ids[name])
        if node.look is not None and node.look.mermaid:
            classes.setdefault(node.look.mermaid, []).append(ids[name])
    for cls in ("merge", "pool", "up", "conv", "unknown", "solved", "problem"):
        if cls in classes:
            lines.append(f"  class {','.join(classes[cls])} {cls}")
    return "\n".join(lines) + "\n"


# -- rendering ---------------------------------------------------------------------------------------

def render(known: KnownShapes, fmt: str, seconds: float | None = None,
           mode: DrawMode = DrawMode()) -> bytes | str:  # noqa: B008 (frozen)
    """``dot`` and ``mermaid``: the source text; ``svg`` and ``png``: the picture's bytes (needs
    Graphviz, given at most ``seconds``: its layout of a network of thousands of layers can
    take minutes)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown drawing format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "mermaid":
        return mermaid_source(known, mode)
    source = dot_source(known, mode)
    if fmt == "dot":
        return source
    exe = shutil.which("dot")
    if exe is None:
        raise UsageError(NO_DOT)
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                              check=False, timeout=None if seconds is None else max(0.001, seconds))
    except subprocess.TimeoutExpired:
        raise SolverTimeout(f"Graphviz's dot did not finish its {len(known.order):,}-layer layout in time; give a "
                            "longer --timeout, or write --format dot and lay it out with other options") from None
    except OSError as exc:
        raise ArchsolveError(f"Graphviz's dot failed: {exc}") from None
    if done.returncode != 0 or not done.stdout:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise ArchsolveError(f"Graphviz's dot failed (exit {done.returncode}): {err}")
    return done.stdout
