"""The Python API: a network loaded once, asked what the commands answer.

:func:`load` (a spec file), :func:`loads` (spec text) and :func:`from_torch` (an
``nn.Module``, traced by :mod:`archsolve.bridge`) give a :class:`Net`.  Its methods answer as
the commands do, with the same dataclasses the commands print from: :meth:`Net.check` a
:class:`~archsolve.check.api.CheckReport` (``check --json``'s facts), :meth:`Net.solve` a
:class:`~archsolve.solve.api.SolveResult`, :meth:`Net.inputs`
:class:`~archsolve.solve.inputs.AxisReport`\\ s, and :meth:`Net.graph` the network as a
``networkx.DiGraph`` whose edges carry the symbolic sizes.  Errors are raised, not printed:
:class:`~archsolve.errors.ArchsolveError` and its subclasses, whose ``exit_code`` is the
command's.  Nothing heavy is imported until a method needs it (Z3 for some solves, NetworkX
for the graph, torch for :func:`from_torch`).

Example::

    >>> import archsolve as A
    >>> net = A.load("specs/unet-original.yaml")
    >>> net.check().ok, net.check().output
    (True, (2, 388, 388))
    >>> A.load("specs/unet-original-sizes.yaml").inputs("H", near=500).nearest
    [492, 508]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archsolve.limits import DEFAULT_LIMITS, Limits
from archsolve.spec.load import load_spec, load_text
from archsolve.spec.model import Spec

if TYPE_CHECKING:
    from archsolve.check.api import CheckReport
    from archsolve.planning import Plan
    from archsolve.solve.api import SolveResult
    from archsolve.solve.inputs import AxisReport

DEFAULT_TIMEOUT = 60.0  # seconds, as the commands' --timeout


@dataclass(frozen=True)
class Net:
    """A loaded network (``spec``: the expanded :class:`~archsolve.spec.model.Spec`).

        >>> net = loads("input: [1, 8, 8]\\nlayers: [{name: c, op: conv, out: 4, kernel: 3}]")
        >>> net.check().output, net.check().totals["params"]
        ((4, 6, 6), 40)
    """

    spec: Spec

    def check(self, set: Mapping[str, int] | None = None) -> CheckReport:
        """Shapes, counts and problems, as ``check --set NAME=VALUE``: ``set`` gives vars and
        unknowns values.  The report holds what ``check --json`` prints (``ok``, ``input``,
        ``output``, ``rows``, ``totals``, ``problems``, ``repairs``).

            >>> rep = load("specs/unet-padded-sizes.yaml").check(set={"H": 64, "W": 64})
            >>> rep.ok, rep.output, rep.rows[0].name, rep.rows[0].shape
            (True, (2, 64, 64), 'enc1', [64, 64, 64])
        """
        from archsolve.check.api import check_spec

        return check_spec(self.spec, set)

    def solve(self, minimize: str | None = None, all: bool = False, limit: int = 1000,
              timeout: float | None = DEFAULT_TIMEOUT, first: bool = False) -> SolveResult:
        """Fill every unknown, as ``solve``: the best answer (by ``minimize``, else the spec's
        ``minimize``, else the sum of the unknowns), ``all`` answers up to ``limit``, or the
        ``first`` found.  ``status`` says ``sat``, ``unsat`` (with ``conflict``) or ``unknown``
        (``timeout`` seconds ran out).

            >>> result = load("specs/dcgan-solve.yaml").solve(minimize="params")
            >>> result.status.value, result.solutions[0].values["up2.stride"]
            ('sat', 2)
        """
        from archsolve.solve.api import solve_spec

        return solve_spec(self.spec, all_solutions=all, limit=limit, minimize=minimize, timeout=timeout,
                          first=first)

    def inputs(self, axis: str | None = None, range: tuple[int, int] | str | None = None,
               near: int | None = None, timeout: float | None = DEFAULT_TIMEOUT
               ) -> AxisReport | dict[str, AxisReport]:
        """The valid values of the input's size vars, as ``inputs``: one report for the
        ``axis`` named, else a dict of reports by var.  ``range``: ``(low, high)`` or
        ``"low..high"`` (default: the var's domain); ``near``: also the valid values nearest it.

            >>> h = load("specs/unet-original-sizes.yaml").inputs("H")
            >>> h.pattern, h.describe()
            ({'start': 188, 'step': 16}, '188 + 16k')
            >>> sorted(load("specs/unet-original-sizes.yaml").inputs(range=(180, 210)))
            ['H']
        """
        from archsolve.solve.inputs import input_sizes, parse_range

        rng = parse_range(range) if isinstance(range, str) else range
        reports = input_sizes(self.spec, axis, rng, near, timeout)
        return reports[axis] if axis is not None else reports

    def graph(self) -> Any:
        """The network as a ``networkx.DiGraph``, nodes in graph order (``input`` first).

        Nodes: ``op``, ``fields`` (written values as expression text), ``family`` and
        ``torch`` (the op's facts), ``layer``, ``shape``, and the layer's ``params`` and
        ``macs`` (ints, or Exprs where a size is open: ``.evaluate({"H": 572})``).  Edges: ``shape``, the
        source's output as ints and :class:`~archsolve.lang.expr.Expr`\\ s over the vars and
        unknowns (the sizes the solver constrains), and ``field`` (``from``, or ``like``...).
        See :meth:`~archsolve.shapes.graph.Network.to_networkx`.

            >>> g = load("specs/unet-original-sizes.yaml").graph()
            >>> [str(v) for v in g.edges["enc1/conv1", "enc1/relu1"]["shape"]]
            ['64', 'H - 2', 'H - 2']
            >>> g.nodes["pool1"]["torch"], g.nodes["pool1"]["fields"]
            ('nn.MaxPool2d', {'kernel': '2'})
            >>> g.nodes["enc1/conv1"]["params"], str(g.nodes["enc1/conv1"]["macs"])
            (640, '(H - 2) * (H - 2) * 64 * 9')
        """
        from archsolve.shapes.graph import build_network

        return build_network(self.spec).to_networkx()


def load(path: str, limits: Limits = DEFAULT_LIMITS) -> Net:
    """A spec file as a :class:`Net` (a bad spec raises :class:`~archsolve.errors.SpecError`).

        >>> load("specs/unet-original.yaml").spec.name
        'unet-original'
    """
    return Net(load_spec(path, limits))


def loads(text: str, limits: Limits = DEFAULT_LIMITS) -> Net:
    """Spec text (YAML) as a :class:`Net`.

        >>> loads("input: [1, 8]\\nlayers: [{op: relu}]").check().output
        (1, 8)
    """
    return Net(load_text(text, limits=limits))


def from_torch(module: Any, input: Sequence[int | str] = (3, 572, 572), *,
               name: str | None = None) -> Net:
    """An ``nn.Module`` as a :class:`Net`, traced with ``torch.fx`` (no forward pass, no
    weights).  ``input``: ``(C, *spatial)``, batch left out; a name (``"H"``) instead of a
    number becomes a var with domain 1..4096, for :meth:`Net.inputs`.  Needs torch
    (``pip install archsolve[torch]``); a call it cannot map raises
    :class:`~archsolve.errors.SpecError` naming the node and its source line.

    Example (needs torch)::

        net = from_torch(UNet(), input=(1, "H", "H"))
        net.inputs("H").describe()   # the sizes the module accepts, e.g. '188 + 16k'
    """
    from archsolve.bridge import spec_from_module

    return Net(spec_from_module(module, input, name=name))


def plan(shape: Sequence[int], spacing: Sequence[float], memory: int | str, *, channels: int = 32,
         max_channels: int = 320, in_channels: int = 1, classes: int = 2, batch: int = 2, min_feature: int = 4,
         max_pools: int = 6, dtype: str = "float16", timeout: float = DEFAULT_TIMEOUT) -> Plan:
    """The U-Net ``archsolve plan`` designs: ``memory`` in bytes or as text (``"8GiB"``); the
    :class:`~archsolve.planning.Plan` has the patch, the stages, the memory and the spec text
    (``loads(p.spec_text)`` is the network).

        >>> p = plan((96, 512, 512), (2.5, 0.8, 0.8), "8GiB")
        >>> p.patch, p.topology.pools
        ((48, 256, 224), (3, 6, 5))
    """
    import time

    from archsolve.errors import ExprError, UsageError
    from archsolve.lang.expr import parse_bytes
    from archsolve.ops.autograd import Dtype
    from archsolve.planning import Design, PlanRequest, plan_network

    if isinstance(memory, str):
        try:
            memory = parse_bytes(memory)
        except ExprError as exc:
            raise UsageError(f"memory {exc.bare}") from None
    if dtype not in [d.value for d in Dtype]:
        raise UsageError(f"dtype {dtype!r}: give one of {', '.join(d.value for d in Dtype)}")
    request = PlanRequest(shape=tuple(shape), spacing=tuple(float(s) for s in spacing), memory=memory,
                          batch=batch, max_pools=max_pools, dtype=Dtype(dtype),
                          design=Design(channels=channels, max_channels=max_channels, in_channels=in_channels,
                                        classes=classes, min_feature=min_feature))
    return plan_network(request, deadline=time.monotonic() + timeout)
