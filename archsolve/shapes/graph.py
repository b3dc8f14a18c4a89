"""The network as a directed acyclic graph of layers.

:func:`build_network` orders the expanded layers topologically (keeping the spec's order
wherever it is already valid) and rejects cycles.  The propagation, the solver and the
drawings walk that order (``Network.order``), which is all they need.
:meth:`Network.to_networkx` gives the same network as a NetworkX ``DiGraph`` -- nodes are
layers, each edge carries the shape flowing along it -- for graph algorithms and for users of
the library.  NetworkX is imported only there: importing it costs about 0.1 s, more than a
whole ``check`` of ResNet-152 needs.

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

from archsolve.errors import SpecError
from archsolve.ops.base import Kind
from archsolve.ops.table import OPS
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
        """A ``networkx.DiGraph``: node attributes ``layer``, edge attribute ``shape``.

        ``shapes`` maps layer names (and ``"input"``) to their output shapes -- ints from
        ``check`` or symbolic terms from the solver.
        """
        import networkx as nx

        g = nx.DiGraph()
        g.add_node("input", layer=None, shape=shapes.get("input") if shapes else None)
        for lay in self.order:
            g.add_node(lay.name, layer=lay, shape=shapes.get(lay.name) if shapes else None)
            for src in lay.sources:
                g.add_edge(src, lay.name, shape=shapes.get(src) if shapes else None)
        return g


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
    """Walk back along ``from`` inside the stuck set until a name repeats."""
    name = min(stuck, key=index.__getitem__)
    trail: list[str] = []
    while name not in trail:
        trail.append(name)
        name = next(s for s in spec.layers[index[name]].sources if s in stuck)
    flow = list(reversed(trail[trail.index(name):]))  # in the direction data flows
    first = min(range(len(flow)), key=lambda i: index[flow[i]])
    flow = flow[first:] + flow[:first]
    return [*flow, flow[0]]
