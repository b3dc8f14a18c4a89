"""Memory, counted exactly from the shapes: each layer's output, and the totals a training
run needs (``check --batch N --dtype D``).

- ``activations``: the sum of every layer's output (torchinfo's "forward pass size" counts
  the layers with weights only, twice; docs/memory.md);
- ``params``: the weights' bytes;
- ``saved``: the bytes autograd keeps for the backward pass, as PyTorch keeps them (the op
  table's :mod:`~archsolve.ops.autograd` facts), each storage once: a ReLU's output that the
  next conv keeps too is counted once, a crop keeps its whole uncropped input's storage alive;
- ``training``: ``saved`` and the weights four times (the weights, their gradients and
  Adam's two moments).

    >>> from archsolve.shapes.graph import build_network
    >>> from archsolve.shapes.propagate import propagate
    >>> from archsolve.spec.load import load_spec
    >>> mem = memory_of(propagate(build_network(load_spec("specs/unet-original.yaml")), {}), MemoryMode(batch=2))
    >>> mem.layers["enc1/conv1"], mem.params
    (166348800, 124122632)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from archsolve.ops.autograd import ADAM_COPIES, INT64, Keep, MemoryMode, output_bytes
from archsolve.ops.base import Shape
from archsolve.ops.table import OPS
from archsolve.shapes.graph import Network


class Propagated(Protocol):
    """What memory reads of a propagation (propagate's own :class:`Propagation`, which reads
    memory for the constraints that name it: a protocol keeps the two modules apart)."""

    network: Network
    input: Shape
    layers: Mapping[str, Any]

    def shape_of(self, name: str) -> Shape | None: ...


@dataclass(frozen=True)
class Memory:
    """The figures of :func:`memory_of`, in bytes; ``layers``: each layer's output (None
    where its shape is not known, and then the totals are lower bounds: ``complete`` false)."""

    layers: Mapping[str, int | None]
    activations: int
    params: int
    saved: int
    training: int
    complete: bool


def memory_of(prop: Propagated, mode: MemoryMode = MemoryMode()) -> Memory:  # noqa: B008 (frozen)
    """The memory of a propagated network at ``mode``'s batch and type."""
    size = mode.dtype.itemsize

    def nbytes(shape: Shape) -> int:
        return output_bytes(shape, batch=mode.batch, itemsize=size)

    # a tensor is named by the storage it lives in: a layer's own, or (a view, an in-place
    # op) the storage of the tensor it reads
    storage: dict[str, str] = {"input": "input"}
    contiguous: dict[str, bool] = {"input": True}  # a crop's slice is not; a copy of it is
    held: dict[str, int] = {"input": nbytes(prop.input)}  # storage -> its bytes
    saved: dict[str, int] = {}
    layers: dict[str, int | None] = {}
    # autograd records a layer only once a tensor that needs a gradient reaches it: the input
    # does not, a layer with weights does (a ReLU straight on the input keeps nothing)
    graded: dict[str, bool] = {"input": False}
    readers: dict[str, list[str]] = {}
    for lay in prop.network.order:
        for src in lay.sources:
            readers.setdefault(src, []).append(lay.name)
    complete = True
    for lay in prop.network.order:
        res = prop.layers[lay.name]
        facts = OPS[lay.op].autograd
        sources = OPS[lay.op].data_sources(lay.sources, lay.values)
        if res.shape is None or res.args is None:
            layers[lay.name] = None
            storage[lay.name] = lay.name
            graded[lay.name] = True
            complete = False
            continue
        layers[lay.name] = nbytes(res.shape)
        graded[lay.name] = bool(res.params) or any(graded.get(s, False) for s in lay.sources)
        src = sources[0] if sources else "input"
        inplace = (facts.inplace is not None and bool(res.args.get(facts.inplace))
                   and runs_in_place(lay.name, src, None if src == "input" else prop.layers[src].layer.op, readers))
        first = sources[0] if sources else "input"
        copied = facts.reshapes and not contiguous.get(first, True)  # a reshape of a slice copies it
        if (facts.view or inplace) and sources and not copied:
            storage[lay.name] = storage[first]
            whole = res.inputs is not None and tuple(res.inputs[0]) == tuple(res.shape)
            contiguous[lay.name] = contiguous.get(first, True) and (whole or not facts.slices)
        else:
            storage[lay.name] = lay.name
            held[lay.name] = nbytes(res.shape)
            contiguous[lay.name] = True
        if not graded[lay.name]:
            continue
        keeps = facts.inplace_keeps if inplace and facts.inplace_keeps is not None else facts.keeps
        kept = list(sources) if keeps is Keep.INPUTS else [lay.name] if keeps is Keep.OUTPUT else []
        if facts.keeps_when is not None and not facts.keeps_when(res.args, res.inputs or [], res.shape):
            kept = []
        if keeps is Keep.COPY:
            saved[f"{lay.name}#copy"] = nbytes(res.shape)  # an element-wise op: its input's size
        if facts.contiguous_input:  # a slice is kept as a contiguous copy of itself
            for name in [n for n in kept if not contiguous.get(n, True)]:
                kept.remove(name)
                saved[f"{lay.name}#contiguous {name}"] = nbytes(prop.shape_of(name) or ())
        for name in kept:
            where = storage[name]
            if where in held:
                saved[where] = held[where]
            else:
                complete = False  # a tensor whose size is not known
        if facts.pairwise:
            _pairwise(lay.name, sources, res.inputs or [], storage=storage, held=held, saved=saved, graded=graded,
                      nbytes=nbytes)
        if facts.indices_of is not None:  # the pool's indices, kept here even where the pool kept none
            pool = str(lay.values[facts.indices_of])
            pooled = prop.layers[pool].shape
            if pooled is not None:
                saved[f"{pool}#0"] = output_bytes(pooled, batch=mode.batch, itemsize=INT64)
        if facts.extra is not None:
            inputs = res.inputs or []
            for k, (elements, itemsize, per_sample) in enumerate(facts.extra(res.args, inputs, res.shape)):
                saved[f"{lay.name}#{k}"] = elements * (itemsize or size) * (mode.batch if per_sample else 1)
    params = sum(r.params or 0 for r in prop.layers.values()) * size
    total_saved = sum(saved.values())
    return Memory(layers=layers, activations=sum(v or 0 for v in layers.values()), params=params,
                  saved=total_saved, training=total_saved + ADAM_COPIES * params, complete=complete)


def runs_in_place(name: str, src: str, src_op: str | None, readers: Mapping[str, list[str]]) -> bool:
    """Whether layer ``name`` with ``inplace: true`` really overwrites its input ``src``: only
    a tensor nothing else reads, which is neither the network's input (``src_op`` None) nor a
    view of another tensor.  Elsewhere ``export`` writes it without ``inplace`` (the other
    reader would see the overwritten values), and it makes a tensor of its own.

        >>> runs_in_place("r", "c", "conv", {"c": ["r"]}), runs_in_place("r", "c", "conv", {"c": ["r", "s"]})
        (True, False)
    """
    if src_op is None or OPS[src_op].torch.view:
        return False
    return readers.get(src, []) == [name]


def _pairwise(name: str, sources: tuple[str, ...], inputs: list[Shape], *, storage: dict[str, str],
              held: dict[str, int], saved: dict[str, int], graded: Mapping[str, bool],
              nbytes: Callable[[Shape], int]) -> None:
    """What ``a * b * c`` keeps: each product keeps its right operand where its left one needs
    a gradient, and its left one (the partial product, a tensor of its own) where its right
    one does."""
    acc, acc_grad, acc_shape = storage[sources[0]], graded[sources[0]], tuple(inputs[0])
    for j in range(1, len(sources)):
        src = sources[j]
        if acc_grad and storage[src] in held:
            saved[storage[src]] = held[storage[src]]
        if graded[src] and acc in held:
            saved[acc] = held[acc]
        acc_shape = tuple(max(int(a), int(b)) for a, b in zip(acc_shape, inputs[j], strict=True))  # broadcast
        if j < len(sources) - 1:
            acc = f"{name}#product{j}"
            held[acc] = nbytes(acc_shape)
        acc_grad = acc_grad or graded[src]
