"""The network as a directed acyclic graph of layers.

:func:`build_network` orders the expanded layers topologically (keeping the spec's order
wherever it is already valid) and rejects cycles.  The propagation, the solver and the
drawings walk that order (``Network.order``), which is all they need.
:meth:`Network.to_networkx` gives the same network as a NetworkX ``DiGraph`` -- nodes are
layers with their op's facts and counts, each edge carries the shape flowing along it, by default as the
expressions of :func:`symbolic_shapes` -- for graph algorithms and for the Python API
(``archsolve.load(...).graph()``), for explaining a merge mismatch (where its branches part)
and for the U of a drawing.  NetworkX is imported only on those paths and for a cycle in the
spec: importing it costs about 0.1 s, more than a whole ``check`` of ResNet-152 needs.

Example::

    >>> from archsolve.spec.load import load_text
    >>> net = build_network(load_text("input: [1, 8]\\nlayers: [{op: relu}, {op: flatten}]"))
    >>> [lay.name for lay in net.order]
    ['relu1', 'flatten2']
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archsolve.errors import ArchsolveError, SpecError
from archsolve.lang.expr import Value, folded, lift
from archsolve.ops.base import Args, Failure, Ignore, Kind, Record
from archsolve.ops.table import OPS
from archsolve.ops.torchform import NNModule
from archsolve.spec.model import Layer, Spec


@dataclass(frozen=True)
class Network:
    spec: Spec
    order: tuple[Layer, ...]
    # per-layer caches of later stages (argument plans), kept with the network they describe
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def output(self) -> Layer:
        """The network's output: its last layer in spec order."""
        return self.spec.layers[-1]

    def to_networkx(self, shapes: Mapping[str, Sequence[Any] | None] | None = None) -> Any:
        """The network as a ``networkx.DiGraph``, nodes added in :attr:`order` (``input`` first).

        Node attributes: ``layer`` (the :class:`~archsolve.spec.model.Layer`; ``None`` for
        ``input``), ``op``, ``fields`` (the fields the spec writes, as expression text, after
        block arguments are filled in), ``family`` and ``torch`` (the op's facts from the op
        table), ``shape``, and ``params`` and ``macs``: with the symbolic sizes, the layer's
        counts by :func:`symbolic_counts` (ints, or Exprs where a size is open); None when
        ``shapes`` is given.  Edge attributes: ``shape``, the source's output shape, and ``field``:
        ``"from"``, or the LAYER field (``like``, ``indices``) by which the layer reads only
        the source's size.  ``shapes`` maps layer names (and ``"input"``) to their shapes:
        ints from ``check``; by default the symbolic sizes, Exprs over vars and unknowns.

            >>> from archsolve.spec.load import load_text
            >>> spec = load_text("input: [1, H]\\nvars: {H: {min: 8, max: 64}}\\n"
            ...                  "layers: [{name: c, op: conv, out: 4, kernel: 3, stride: 2}]")
            >>> g = build_network(spec).to_networkx()
            >>> [str(e) for e in g.edges["input", "c"]["shape"]], g.nodes["c"]["torch"]
            (['1', 'H'], 'nn.Conv1d')
            >>> [str(e) for e in g.nodes["c"]["shape"]], g.nodes["c"]["params"], str(g.nodes["c"]["macs"])
            (['4', '(H - 3) // 2 + 1'], 16, '((H - 3) // 2 + 1) * 4 * 3')
        """
        import networkx as nx

        counts: Mapping[str, tuple[Value | None, Value | None]] = {}
        if shapes is None:
            shapes = symbolic_shapes(self)
            counts = symbolic_counts(self, shapes)
        g = nx.DiGraph()
        g.add_node("input", layer=None, op="input", fields={}, family=None, torch=None, shape=shapes.get("input"),
                   params=0, macs=0)
        for lay in self.order:
            opdef = OPS[lay.op]
            params, macs = counts.get(lay.name, (None, None))
            g.add_node(lay.name, layer=lay, op=lay.op, fields={f: _text(lay.values[f]) for f in lay.written},
                       family=opdef.family, torch=_torch_name(lay.op, self.spec.ndim), shape=shapes.get(lay.name),
                       params=params, macs=macs)
            data = opdef.data_sources(lay.sources, lay.values)
            by_size = {lay.values[f.name]: f.name for f in opdef.fields
                       if f.kind is Kind.LAYER and lay.values.get(f.name) is not None}
            for i, src in enumerate(lay.sources):
                # a maxunpool reads its pool's input size too: named after the same field
                field_name = "from" if i < len(data) else by_size.get(src, next(iter(by_size.values()), "from"))
                if not g.has_edge(src, lay.name):  # concat [x, x]: one edge
                    g.add_edge(src, lay.name, shape=shapes.get(src), field=field_name)
        return g


def symbolic_shapes(net: Network, conditions: dict[str, list[tuple[Value, Failure]]] | None = None
                    ) -> dict[str, tuple[Value, ...]]:
    """Each layer's output shape (and the input's) as ints and Exprs over the vars and unknowns
    the spec leaves open: each op's shape rule run on expressions, in graph order.  Tied vars
    (``W: H``) are replaced by what they stand for.  A rule's validity conditions are dropped:
    these are the sizes where the network is valid; but for each layer ``conditions`` names,
    its rule's conditions are put there.

        >>> from archsolve.spec.load import load_text
        >>> spec = load_text("input: [1, 8]\\nlayers: [{name: p, op: maxpool, kernel: \\"?\\"}]")
        >>> [str(v) for v in symbolic_shapes(build_network(spec))["p"]]
        ['1', '(8 - (p.kernel - 1) - 1) // p.kernel + 1']
    """
    spec = net.spec
    tied = spec.tied()
    shapes: dict[str, tuple[Value, ...]] = {"input": tuple(folded(e, tied) for e in spec.input)}
    for lay in net.order:
        values = {**{k: folded(v, tied) for k, v in lay.values.items()}, **spec.rule_flags(lay.name)}
        args = Args(values, spec.ndim, lay.name, lay.refs or lay.sources)
        req = Record() if conditions is not None and lay.name in conditions else Ignore()
        out = OPS[lay.op].shape(args, [shapes[s] for s in lay.sources], req)
        if isinstance(req, Record):
            conditions[lay.name] = req.conditions  # type: ignore[index]
        shapes[lay.name] = tuple(folded(lift(v), {}) for v in out)
    return shapes


def symbolic_counts(net: Network, shapes: Mapping[str, Sequence[Value]]
                    ) -> dict[str, tuple[Value | None, Value | None]]:
    """Each layer's (params, MACs) from its :func:`symbolic_shapes`: ints where the sizes are
    concrete, Exprs over the vars and unknowns where they are not (the MACs of a layer on an
    ``H``-sized input), None where the op's count cannot be written as an expression.

        >>> from archsolve.spec.load import load_text
        >>> net = build_network(load_text("input: [1, H]\\nvars: {H: {min: 8, max: 64}}\\n"
        ...                               "layers: [{name: c, op: conv, out: 4, kernel: 3}]"))
        >>> [str(v) for v in symbolic_counts(net, symbolic_shapes(net))["c"]]
        ['16', '(H - 2) * 4 * 3']
    """
    spec = net.spec
    tied = spec.tied()
    out: dict[str, tuple[Value | None, Value | None]] = {}
    for lay in net.order:
        values = {**{k: folded(v, tied) for k, v in lay.values.items()}, **spec.rule_flags(lay.name)}
        args = Args(values, spec.ndim, lay.name, lay.refs or lay.sources)
        ins, shape = [shapes[s] for s in lay.sources], shapes[lay.name]
        opdef = OPS[lay.op]
        counted: list[Value | None] = []
        for count in (opdef.params, opdef.macs):
            try:
                counted.append(folded(lift(count(args, ins, shape)), {}))
            except (ArchsolveError, TypeError, ValueError, ArithmeticError):  # a count that needs numbers
                counted.append(None)
        out[lay.name] = (counted[0], counted[1])
    return out


def _text(v: Any) -> str:
    """A field's value as a spec writes it: one value for all axes where they agree."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, tuple):
        parts = [_text(x) for x in v]
        return parts[0] if len(set(parts)) == 1 else f"[{', '.join(parts)}]"
    return str(v)


def _torch_name(op: str, ndim: int) -> str:
    """The op's class in ``torch.nn`` (``nn.Conv2d``), or how ``forward`` writes it (``torch.cat(dim=1)``)."""
    form = OPS[op].torch
    return form.how.cls.format(rank=ndim) if isinstance(form.how, NNModule) else form.title


def build_network(spec: Spec) -> Network:
    """Order the layers so every layer comes after those it reads; reject cycles."""
    seen = {"input"}
    for lay in spec.layers:  # most specs are written in order already: nothing to sort
        if not all(src in seen for src in lay.sources):
            break
        seen.add(lay.name)
    else:
        return Network(spec, tuple(spec.layers))
    index = {lay.name: i for i, lay in enumerate(spec.layers)}
    users: dict[str, list[int]] = {lay.name: [] for lay in spec.layers}
    missing = [0] * len(spec.layers)
    for i, lay in enumerate(spec.layers):
        for src in set(lay.sources):
            if src == "input":
                continue
            if src == lay.name:
                # named by `from`, or by a field that borrows another layer's size (like, indices)
                field = next((f.name for f in OPS[lay.op].fields if f.kind is Kind.LAYER
                              and lay.values.get(f.name) == src), "from")
                raise SpecError(f"layer {lay.name!r} reads its own output", lay.where, f"{lay.name}.{field}")
            users[src].append(i)
            missing[i] += 1
    ready = [i for i, m in enumerate(missing) if m == 0]
    heapq.heapify(ready)
    order: list[Layer] = []
    while ready:
        i = heapq.heappop(ready)
        lay = spec.layers[i]
        order.append(lay)
        for j in users[lay.name]:
            missing[j] -= 1
            if missing[j] == 0:
                heapq.heappush(ready, j)
    if len(order) < len(spec.layers):
        stuck = {spec.layers[i].name for i, m in enumerate(missing) if m}
        cycle = _find_cycle(spec, stuck, index)
        first = spec.layers[index[cycle[0]]]
        raise SpecError(f"the layers form a cycle: {' -> '.join(cycle)}", first.where, f"{first.name}.from")
    return Network(spec, tuple(order))


def _find_cycle(spec: Spec, stuck: set[str], index: dict[str, int]) -> list[str]:
    """A cycle among the layers that could not be ordered, in the direction data flows, from
    its layer first in the spec.  Only a bad spec comes here, so NetworkX may be imported.

    Every stuck layer reads one that is stuck too, so walking back along the sources (edges
    from a layer to what it reads, in the order ``from`` lists them) from the first stuck
    layer in the spec finds a cycle."""
    import networkx as nx

    reads = nx.DiGraph()
    for name in sorted(stuck, key=index.__getitem__):
        reads.add_edges_from((name, src) for src in spec.layers[index[name]].sources if src in stuck)
    flow = [src for src, _ in reversed(nx.find_cycle(reads, source=min(stuck, key=index.__getitem__)))]
    first = min(range(len(flow)), key=lambda i: index[flow[i]])
    flow = flow[first:] + flow[:first]
    return [*flow, flow[0]]
