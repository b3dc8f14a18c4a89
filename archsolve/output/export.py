"""``archsolve export --to torch``: a spec as the source of a PyTorch ``nn.Module``.

:func:`archsolve.check.known.export_check` checks the spec (every field evaluated to an
int, vars at the values ``check`` chooses); from its report :func:`torch_source` writes one
readable Python file:
an ``nn.Module`` subclass named after the spec (``unet-original`` -> ``UnetOriginal``,
default ``Net``) whose ``__init__`` builds one attribute per layer that has a module
(scoped names with ``/`` turned into ``__``: ``enc1/conv1`` -> ``self.enc1__conv1``, see
:func:`_identifiers`) and whose ``forward(self, x)`` follows the graph.
Each layer is written as the op table's torch form says (:mod:`archsolve.ops.torchform`):
a module, or inline in ``forward`` (merges, crops, pads and flatten: ``torch.cat``, ``+``,
slicing with the concrete offsets, ``F.pad``, ``torch.flatten``).  Writing the source
needs no torch; running it does.

The module builds with no arguments; ``forward`` takes ``[N, *input]`` and returns
``[N, *output]`` with exactly the parameters ``check`` counts.

Example::

    >>> from archsolve.check.known import export_check
    >>> from archsolve.spec.load import load_text
    >>> spec = load_text("name: tiny\\ninput: [3, 8, 8]\\nlayers: [{op: conv, out: 4, kernel: 3}]")
    >>> src = torch_source(export_check(spec))
    >>> "class Tiny(nn.Module):" in src and "nn.Conv2d(3, 4, kernel_size=3)" in src
    True
"""

from __future__ import annotations

import keyword
import math
import re
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archsolve.check.api import CheckReport
from archsolve.check.bindings import Why
from archsolve.errors import InvalidNetwork, SolverTimeout, UsageError
from archsolve.lang.expr import Expr, Name, Num
from archsolve.lang.linear import affine_floor
from archsolve.ops.base import AXIS_NAMES, Severity
from archsolve.ops.table import OPS
from archsolve.ops.torchform import (
    CHECK_INPUT,
    PAD_TO,
    Call,
    CropLike,
    Index,
    Infix,
    NNModule,
    PerAxis,
    Slot,
    Tensor,
    Written,
)
from archsolve.output.classes import BlockClass, Code, Plan, Wiring, plan_modules
from archsolve.shapes.memory import runs_in_place
from archsolve.shapes.propagate import LayerResult
from archsolve.solve.inputs import input_sizes, size_vars
from archsolve.spec.model import Group, Layer, Spec

MAX_LINE = 109  # generated lines stay shorter than 110 characters
INDENT = "    "

# attributes of torch.nn.Module (torch 2.x) that a layer attribute must not shadow
_MODULE_ATTRS = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children",
    "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward",
    "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "load_state_dict",
    "modules", "mtia", "named_buffers", "named_children", "named_modules", "named_parameters",
    "parameters", "register_backward_hook", "register_buffer", "register_forward_hook",
    "register_forward_pre_hook", "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook", "register_module",
    "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook",
    "requires_grad_", "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty",
    "train", "training", "type", "xpu", "zero_grad",
})
# names the generated forward uses itself
_RESERVED_LOCALS = frozenset({"self", "x", "x_in", "torch", "nn", "F"})


# -- names ----------------------------------------------------------------------------------------

def class_name(spec: Spec) -> str:
    """The generated class's name: the spec's name in CamelCase (``Net`` without one)."""
    words = re.findall(r"[A-Za-z0-9]+", spec.name or "")
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name:
        return "Net"
    if name[0].isdigit():
        name = "Net" + name
    return name + "Net" if keyword.iskeyword(name) else name  # `none` -> NoneNet, not None


def _identifiers(names: Sequence[str], taken: frozenset[str]) -> dict[str, str]:
    """A Python identifier per scoped layer name, by one rule that does not depend on the
    other names (so a user can predict it): ``/`` -> ``__``, any other character that cannot
    stand in a name -> ``_``; a name that would still collide gets ``_2``, ``_3``, ...

        >>> _identifiers(["layer1_0/conv1", "layer1/0/conv1", "train", "a-b", "a_b"], frozenset({"train"}))
        {'layer1_0/conv1': 'layer1_0__conv1', 'layer1/0/conv1': 'layer1__0__conv1', 'train': 'train_', 'a-b': 'a_b', 'a_b': 'a_b_2'}
    """
    used: set[str] = set()
    out: dict[str, str] = {}
    for n in names:
        ident = re.sub(r"\W", "_", n.replace("/", "__"))
        if ident.startswith("_"):
            ident = "layer" + ident
        if ident[0].isdigit():
            ident = "layer_" + ident
        if keyword.iskeyword(ident) or ident in taken:
            ident += "_"
        unique, k = ident, 2
        while unique in used:
            unique, k = f"{ident}_{k}", k + 1
        out[n] = unique
        used.add(unique)
    return out


# -- formatting -----------------------------------------------------------------------------------

def _py(v: Any) -> str:
    """A Python literal for an int, float, bool, str, or a tuple or list of them."""
    if isinstance(v, PerAxis):
        return _axes(v)
    if isinstance(v, Code):
        return v.text
    if isinstance(v, Call):
        return _render(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(_py(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(_py(x) for x in v) + "]"
    if isinstance(v, slice):  # an index item: 2:17, or : for a whole dimension
        return ":" if v.start is None and v.stop is None else f"{v.start}:{v.stop}"
    if isinstance(v, float) and not math.isfinite(v):
        return f"float({str(v)!r})"  # inf, -inf, nan have no literal
    return repr(v)


def _axes(v: Sequence[int]) -> str:
    """One value per axis: a single int when every axis has the same (as torch takes it)."""
    vals = tuple(int(x) for x in v)
    return str(vals[0]) if len(set(vals)) == 1 else _py(vals)


def _shape(shape: Sequence[Any]) -> str:
    return "[" + ", ".join(str(int(v)) for v in shape) + "]"


def _wrap(prefix: str, items: Sequence[str], suffix: str, indent: str, sep: str = ", ",
          comment: str = "") -> list[str]:
    """``prefix item, item suffix`` on one line if it fits, else items packed onto lines below
    (``sep`` an operator: ``a + b``, parenthesised when it does not fit)."""
    line = indent + prefix + sep.join(items) + suffix
    if len(line) <= MAX_LINE:
        if comment and len(line) + 2 + len(comment) <= MAX_LINE:
            line += "  " + comment
        return [line]
    inner = indent + INDENT
    if sep.strip() == ",":
        out = [indent + prefix.rstrip()]
        cur = ""
        for it in items:
            piece = it + ","
            if cur and len(inner) + len(cur) + 1 + len(piece) > MAX_LINE:
                out.append(inner + cur)
                cur = piece
            else:
                cur = f"{cur} {piece}" if cur else piece
        if cur:
            out.append(inner + cur)
        out.append(indent + suffix.lstrip())
        return out
    # an operator: the expression goes in parentheses, continuation lines start with the operator
    out = [indent + prefix + "("]
    op = sep.strip()
    cur = items[0]
    for it in items[1:]:
        piece = f"{op} {it}"
        if len(inner) + len(cur) + 1 + len(piece) > MAX_LINE:
            out.append(inner + cur)
            cur = piece
        else:
            cur = f"{cur} {piece}"
    out.append(inner + cur)
    out.append(indent + ")" + suffix)
    return out


def _fill(text: str, indent: str, opening: str = "") -> list[str]:
    """Text wrapped at :data:`MAX_LINE` (paths and other long words are not broken)."""
    return textwrap.wrap(text, MAX_LINE, initial_indent=indent + opening, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent]


def _doc(text: str) -> str:
    """Text safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


# -- one layer ------------------------------------------------------------------------------------

def _arguments(call: Call, tensors: Sequence[str]) -> list[str]:
    """A call's arguments as source; a :class:`Tensor` stands for the layer's input variables."""
    def text(v: Any) -> str:
        if v is Tensor.FIRST:
            return tensors[0]
        if v is Tensor.ALL:
            return "[" + ", ".join(tensors) + "]"
        if v is Tensor.LIKE_SIZE:  # the layer `like` names comes last among the inputs
            return f"{tensors[-1]}.shape[2:]"
        if isinstance(v, tuple) and Tensor.BATCH in v:  # a shape that keeps the batch: (x.shape[0], 256, 4, 4)
            return "(" + ", ".join(f"{tensors[0]}.shape[0]" if d is Tensor.BATCH else _py(d) for d in v) + ")"
        return _py(v)

    return [text(v) for v in call.args] + [f"{k}={text(v)}" for k, v in call.keywords]


def _layout(w: Written, tensors: Sequence[str]) -> tuple[str, list[str], str, str]:
    """``(head, items, tail, separator)``: how :func:`_wrap` writes an expression."""
    if isinstance(w, Infix):
        return "", list(tensors), "", f" {w.operator} "
    if isinstance(w, Index):
        return f"{tensors[0]}[", [_py(item) for item in w.items], "]", ", "
    if isinstance(w, CropLike):
        if w.offsets is None:
            return f"{_CENTER_CROP}(", [tensors[0], tensors[-1]], ")", ", "
        return f"{tensors[0]}[", [":", ":", *(f"{o}:{o} + {tensors[-1]}.shape[{i + 2}]" if o else
                                             f":{tensors[-1]}.shape[{i + 2}]" for i, o in enumerate(w.offsets))], "]", ", "
    if w.args and w.args[0] is Tensor.ALL:  # the list of inputs is what wraps: torch.cat([a, b], dim=1)
        rest = _arguments(Call(w.fn, w.args[1:], w.keywords), tensors)
        return f"{w.fn}([", list(tensors), "]" + "".join(", " + r for r in rest) + ")", ", "
    return f"{w.fn}(", _arguments(w, tensors), ")", ", "


# -- the source file ------------------------------------------------------------------------------

_CENTER_CROP = "_center_crop"


def _center_crop_source(rank: int) -> list[str]:
    """Written once in a file that crops to another layer's size, centred: the sizes are the
    tensors' own, so the module runs at every input size the network allows.  Axis by axis, with
    no loop over a shape: torch.fx traces it (``archsolve import`` reads the file back).

        >>> _center_crop_source(1)[-1]
        '    return x[:, :, l0:l0 + l]'
    """
    axes = [a.lower() for a in AXIS_NAMES[rank]]
    return [f"def {_CENTER_CROP}(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:",
            f'{INDENT}"""``x`` cropped to ``like``\'s spatial size, centred (an odd difference: the extra pixel '
            'off the end)."""',
            f"{INDENT}{', '.join(axes)} = {', '.join(f'like.shape[{i + 2}]' for i in range(rank))}",
            f"{INDENT}{', '.join(a + '0' for a in axes)} = "
            + ", ".join(f"(x.shape[{i + 2}] - {a}) // 2" for i, a in enumerate(axes)),
            f"{INDENT}return x[:, :, {', '.join(f'{a}0:{a}0 + {a}' for a in axes)}]"]


def _pad_to_source(rank: int) -> list[str]:
    """Written once in a file that pads to another layer's size (``pad`` with ``like``), centred
    with the extra pixel at the end, as PyTorch U-Nets pad the upsampled tensor to the skip's
    (``diff // 2, diff - diff // 2``).  The size is read at run time, axis by axis: torch.fx
    traces it, and ``archsolve import`` reads it back as the same pad.

        >>> _pad_to_source(1)[-1]
        '    return F.pad(x, [dl // 2, dl - dl // 2], value=value)'
    """
    axes = [a.lower() for a in AXIS_NAMES[rank]]
    return [f"def {PAD_TO}(x: torch.Tensor, size: torch.Size, value: float = 0.0) -> torch.Tensor:",
            f'{INDENT}"""``x`` padded to the spatial ``size``, centred (an odd difference: the extra pixel at '
            'the end)."""',
            f"{INDENT}{', '.join('d' + a for a in axes)} = "
            + ", ".join(f"size[{i}] - x.shape[{i + 2}]" for i in range(rank)),
            f"{INDENT}return F.pad(x, [{', '.join(f'd{a} // 2, d{a} - d{a} // 2' for a in reversed(axes))}], "
            "value=value)"]


# the input's axes as the docs name them, by spatial rank
# names the guard's own code uses: a var named so is renamed in it
_GUARD_NAMES = frozenset({"x", "torch", "nn", "F", "ValueError", "list", "min", "max", "any"})


@dataclass(frozen=True, kw_only=True)
class SizeRule:
    """The sizes one input size var may take in the exported module: ``start + step*k`` up to
    ``last`` (``step`` 0: ``start`` only), or the listed ``values`` where they form no single
    progression; ``axis`` is the input dimension it is read from (2: the first spatial one)."""

    var: str
    axis: int
    start: int
    step: int
    last: int
    words: str  # as ``inputs`` says it: "188 + 16k"
    values: tuple[int, ...] = ()
    scale: int = 1  # the axis is ``scale * var + offset`` where no axis is the var alone ([1, 2 * H + 1])
    offset: int = 0


def _names_in(value: Any) -> set[str]:
    if isinstance(value, Expr):
        return set(value.names())
    if isinstance(value, tuple | list):
        return set().union(*(_names_in(v) for v in value)) if value else set()
    return set()


def size_rules(report: CheckReport, until: float | None = None) -> list[SizeRule]:
    """The valid sizes of each input size var the exported module reads from its input, as
    ``archsolve inputs`` finds them over the var's domain (by ``until``, ``time.monotonic()``:
    else :class:`SolverTimeout`, as the module would check less than it says).  A var a
    layer's field depends on (``out: H // 4``) is built into the module at its value: that
    value only.

        >>> from archsolve.check.known import export_check
        >>> from archsolve.spec.load import load_spec
        >>> [(r.var, r.axis, r.start, r.step, r.last, r.words)
        ...  for r in size_rules(export_check(load_spec("specs/unet-original-sizes.yaml")))]
        [('H', 2, 188, 16, 1020, '188 + 16k')]
    """
    spec = report.spec
    names = size_vars(spec)
    if not names:
        return []
    tied = spec.tied()
    axes = [e.substitute(tied) for e in spec.input[1:]]
    frozen = set().union(*(_names_in(v) for lay in spec.layers for v in lay.values.values()))
    built = report.prop.env
    found = input_sizes(spec, timeout=None if until is None else max(0.001, until - time.monotonic()))
    unfinished = [v for v in names if not found[v].complete]
    if unfinished:
        raise SolverTimeout(f"the time ran out while finding the valid sizes of {', '.join(unfinished)}, which the "
                            "module checks its input against; give a longer --timeout")
    rules = []
    for var in names:
        axis = next((i + 2 for i, e in enumerate(axes) if e == Name(var)), None)
        scale, offset = 1, 0
        if axis is None:  # read through an expression: 2 * H + 1 gives H back where it is a whole number
            for i, e in enumerate(axes):
                form = affine_floor(e)
                if form is not None and form[4] == var and form[0] >= 1 and form[2] == 1:
                    axis, scale, offset = i + 2, form[0], form[1] + form[3]
                    break
        report_ = found[var]
        if axis is None:
            continue  # a size no axis gives back (input [1, H // 2])
        if var in frozen:
            value = int(built[var])
            rules.append(SizeRule(var=var, axis=axis, start=value, step=0, last=value,
                                  words=f"only {value}, the size a layer of this module is built for",
                                  scale=scale, offset=offset))
            continue
        pattern = report_.pattern
        values = report_.values
        if not values:
            continue
        rules.append(SizeRule(var=var, axis=axis, start=values[0], step=pattern["step"] if pattern else 0,
                              last=values[-1], words=report_.describe(),
                              values=() if pattern else tuple(values), scale=scale, offset=offset))
    return rules


def _guard_source(report: CheckReport, rules: Sequence[SizeRule]) -> list[str]:
    """A function ``forward`` calls first: the input's rank, channels, fixed sizes, and each
    size var's valid sizes, so a wrong size is a ``ValueError`` naming the valid ones rather than
    an error deep in some layer (plain arithmetic: the file needs nothing but torch)."""
    spec = report.spec
    tied = spec.tied()
    axes = [e.substitute(tied) for e in spec.input[1:]]
    rank = len(axes)
    words = AXIS_NAMES[rank]
    local = {r.var: r.var + "_" if r.var in _GUARD_NAMES or keyword.iskeyword(r.var) else r.var
             for r in rules}
    channels = int(spec.input[0].substitute(tied).evaluate(report.prop.env))
    expected = [str(channels), *(str(e) for e in spec.input[1:])]
    ind, ind2 = INDENT, INDENT * 2
    wanted = "[N, " + ", ".join(expected) + "]"
    lines = [f"def {CHECK_INPUT}(x: torch.Tensor) -> None:",
             *_fill(f"Raise ValueError unless ``x`` is {_doc(wanted)} at a size the network takes "
                    '(as `archsolve inputs` lists them)."""', ind, '"""')]
    fixed = [f"x.dim() != {rank + 2}", f"x.shape[1] != {channels}"] + [
        f"x.shape[{i + 2}] != {e.value}" for i, e in enumerate(axes) if isinstance(e, Num)]
    lines += _wrap("if ", fixed, ":", ind, sep=" or ")
    lines.append(f'{ind2}raise ValueError(f"expected an input {wanted}, got {{list(x.shape)}}")')
    read = {r.var for r in rules}
    for r in rules:
        v = local[r.var]
        if (r.scale, r.offset) == (1, 0):
            lines.append(f"{ind}{v} = x.shape[{r.axis}]")
        else:
            form = str(axes[r.axis - 2])
            size = f"x.shape[{r.axis}]" + (f" - {r.offset}" if r.offset > 0 else f" + {-r.offset}" if r.offset else "")
            size = f"({size})" if r.offset else size
            lines.append(f"{ind}if {size} % {r.scale} != 0:")
            lines.append(f'{ind2}raise ValueError(f"input {words[r.axis - 2]} = {{x.shape[{r.axis}]}}: '
                         f'must be {_doc(form)} for a whole {r.var}")')
            lines.append(f"{ind}{v} = {size} // {r.scale}")
        if r.values:
            test = f"{v} not in {_py(r.values)}"
        elif r.step == 0:
            test = f"{v} != {r.start}"
        else:
            test = f"not ({r.start} <= {v} <= {r.last} and ({v} - {r.start}) % {r.step} == 0)"
        span = "" if r.step == 0 and not r.values else f", {r.start}..{r.last}"
        lines += _wrap("if ", [test], ":", ind)
        said = (f"input {words[r.axis - 2]} = {{{v}}}" if (r.scale, r.offset) == (1, 0) else
                f"input {words[r.axis - 2]} = {{x.shape[{r.axis}]}} = {_doc(str(axes[r.axis - 2]))} with {r.var} = {{{v}}}")
        lines.append(f'{ind2}raise ValueError(f"{said}: valid {r.var} are {_doc(r.words)}{span}")')
    for i, e in enumerate(axes):
        # a size tied to the vars read above (W: H): it must be their value
        if isinstance(e, Num) or any(r.axis == i + 2 for r in rules) or not e.names() <= read:
            continue
        value = str(e.substitute({n: Name(local[n]) for n in e.names()}))
        lines.append(f"{ind}if x.shape[{i + 2}] != {value}:")
        lines.append(f'{ind2}raise ValueError(f"input {words[i]} = {{x.shape[{i + 2}]}}: '
                     f'must be {_doc(str(e))} = {{{value}}}")')
    # torch.fx records the check as one call rather than tracing its branches (which it cannot),
    # so the module still traces: `archsolve import` of an exported file gives its spec back
    return [*lines, "", "", f'torch.fx.wrap("{CHECK_INPUT}")']


DYNAMIC_SHAPES = "dynamic_shapes"


def _dynamic_source(report: CheckReport, rules: Sequence[SizeRule]) -> list[str]:
    """``dynamic_shapes()``, written after the class with ``--dynamic``: the dict
    ``torch.export.export(model, (x,), dynamic_shapes=dynamic_shapes())`` takes, one ``Dim``
    per input size var that takes more than one value, shared by the axes it sizes.

    A var with a step is ``step * n + b`` over a root ``n`` that no input axis reads (torch's
    derived dim).  ``n`` starts at 2, not 0: torch.export turns a size of 0 or 1 into a constant,
    and cannot find the root of an example input at ``n = 0``; so any valid size can be the example.

        >>> from archsolve.check.known import export_check
        >>> from archsolve.spec.load import load_spec
        >>> report = export_check(load_spec("specs/unet-original-sizes.yaml"))
        >>> print("\\n".join(_dynamic_source(report, size_rules(report))[-3:]))
            # H: 188 + 16k, 188..1020, as 16 * n + 156 with n from 2 (torch.export makes a size of 0 or 1 a constant)
            H = 16 * torch.export.Dim("H_n", min=2, max=54) + 156
            return {"x": {2: H, 3: H}}
    """
    spec = report.spec
    moving = [r for r in rules if r.step or r.values]
    if not moving:
        first = AXIS_NAMES[spec.ndim][0]
        if not size_vars(spec):
            raise UsageError(f"{spec.file} has no input size var: nothing is dynamic; write the input as "
                             f"[C, {', '.join(AXIS_NAMES[spec.ndim])}] with a var {first}")
        fixed = "; ".join(f"{r.var} takes {r.words}" for r in rules) or "no input axis is a var alone"
        raise UsageError(f"{spec.file}: nothing is dynamic for torch.export: {fixed}")
    tied = spec.tied()
    axes = [e.substitute(tied) for e in spec.input[1:]]
    local = {r.var: r.var + "_" if r.var in _GUARD_NAMES or keyword.iskeyword(r.var) else r.var
             for r in moving}
    body: list[str] = []
    dims: dict[int, str] = {}
    for r in moving:
        v = local[r.var]
        if r.values or r.step == 1:  # no step to say (or none that torch.export can)
            body += _fill(f"{r.var}: {_doc(r.words)}" + ("; torch.export takes the range only" if r.values else ""),
                          INDENT + "# ")
            body.append(f'{INDENT}{v} = torch.export.Dim("{r.var}", min={r.start}, max={r.last})')
        else:
            top = (r.last - r.start) // r.step + 2
            offset = r.start - 2 * r.step
            tail = f" + {offset}" if offset > 0 else f" - {-offset}" if offset else ""
            body += _fill(f"{r.var}: {_doc(r.words)}, {r.start}..{r.last}, as {r.step} * n{tail} with n from 2 "
                          "(torch.export makes a size of 0 or 1 a constant)", INDENT + "# ")
            body.append(f'{INDENT}{v} = {r.step} * torch.export.Dim("{r.var}_n", min=2, max={top}){tail}')
    for i, e in enumerate(axes):
        names = e.names()
        if isinstance(e, Num) or not names <= set(local):
            continue  # a fixed size, or one sized by a var that takes one value: static
        form = affine_floor(e)
        if form is None or form[0] <= 0 or form[2] != 1:
            raise UsageError(f"{spec.file}: input {AXIS_NAMES[spec.ndim][i]} = {e}: torch.export takes a size "
                             "that is a var, or a * var + b, only")
        a, b, _, _, name = form
        term = local[name] if a == 1 else f"{a} * {local[name]}"
        dims[i + 2] = term + (f" + {b}" if b > 0 else f" - {-b}" if b else "")
    # backed_size_oblivious (as torch.onnx's exporter sets it): else torch.export makes a layer
    # whose size can be 1 (the padded U-Net's bottom at H = 16) a guard, that size or never
    lines = [f"def {DYNAMIC_SHAPES}() -> dict[str, dict[int, torch.export.Dim]]:",
             *_fill("The dynamic shapes of ``forward``'s ``x`` for torch.export: every input size "
                    "`archsolve inputs` finds valid, any of them the example ``x``. The program checks "
                    "them as ``_check_input`` does. Size-oblivious tracing keeps a layer whose size may "
                    "be 1 from being fixed at the example's size:", INDENT, '"""'),
             "",
             f"{INDENT}    with torch.fx.experimental._config.patch(backed_size_oblivious=True):",
             f"{INDENT}        program = torch.export.export(model, (x,), dynamic_shapes={DYNAMIC_SHAPES}())",
             f'{INDENT}"""',
             *body]
    lines += _wrap("return {\"x\": {", [f"{k}: {v}" for k, v in dims.items()], "}}", INDENT)
    return lines


def size_note(report: CheckReport) -> str | None:
    """Which values the module is built at for the vars ``--set`` left open, and why (``export``
    says it on stderr): the layers' sizes come from them.

        >>> from archsolve.check.known import export_check
        >>> from archsolve.spec.load import load_spec
        >>> size_note(export_check(load_spec("specs/unet-original-sizes.yaml")))
        'built at H=188 (the smallest valid H; give --set H=N or a default)'
    """
    parts = []
    for choice in report.chosen:
        names = [n for n, _ in choice.values]
        values = ", ".join(f"{n}={v}" for n, v in choice.values)
        both = " and ".join(names)
        if choice.why is Why.DEFAULT:
            parts += [f"{n}={v} (the default of {n})" for n, v in choice.values]
        elif choice.why is Why.SMALLEST:
            parts.append(f"{values} (the smallest valid {both}; give --set {names[0]}=N or a default)")
        elif choice.why is Why.SMALLEST_COMMON:
            parts.append(f"{values} (the smallest value valid for {both}; give --set NAME=N or defaults)")
        elif choice.why is Why.SMALLEST_SUM:
            parts.append(f"{values} (the valid values of {both} with the smallest sum; give --set NAME=N or defaults)")
        else:
            parts.append(f"{values} (no valid value found)")
    return "built at " + ", ".join(parts) if parts else None


def _refuse_invalid(report: CheckReport) -> None:
    spec = report.spec
    if not report.ok:
        errors = [p for p in report.problems if p.severity is Severity.ERROR]
        shown = "; ".join(f"{p.layer}: {p.message}" for p in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise InvalidNetwork(f"{spec.file}: cannot export an invalid network: {shown}{more}; "
                             f"'archsolve check {spec.file}' shows every problem and its fixes")


@dataclass(frozen=True, kw_only=True)
class _Layers:
    """What ``export`` writes for each layer, worked out once for the whole network."""

    written: Mapping[str, Written]
    sources: Mapping[str, tuple[str, ...]]  # the tensors a layer's source reads
    calls: Mapping[str, Call]  # a module layer's constructor call, as written
    slots: Mapping[str, tuple[Slot, ...]]  # ... and every argument it could be written with
    pools: Mapping[str, str]  # a maxunpool -> the maxpool whose indices it takes
    dropped: frozenset[str]  # layers whose inplace=True is left out (their input is read elsewhere too)


def _layers(report: CheckReport) -> _Layers:
    prop = report.prop
    results = prop.layers
    order = prop.network.order
    written = {lay.name: _written(results[lay.name]) for lay in order}
    pools: dict[str, str] = {}

    # who reads each tensor at run time: a crop's or upsample's `like` lends its size, read
    # from the tensor (torch's own shapes, at any input size)
    def runtime_sources(lay: Layer) -> tuple[str, ...]:
        if lay.values.get("like") is not None and _reads_like(written[lay.name]):
            return lay.sources
        data = OPS[lay.op].data_sources(lay.sources, lay.values)
        how = OPS[lay.op].torch.how
        if isinstance(how, NNModule) and how.unpool:
            pools[lay.name] = lay.values[how.unpool]
            if lay.values.get("size") is None:
                return (*data, lay.sources[-1])  # the pool's input: its size is the output's
        return data

    sources = {lay.name: runtime_sources(lay) for lay in order}
    readers: dict[str, list[str]] = {}
    for lay in order:
        for s in sources[lay.name]:
            readers.setdefault(s, []).append(lay.name)
    calls: dict[str, Call] = {}
    slots: dict[str, tuple[Slot, ...]] = {}
    dropped = set()
    with_indices = set(pools.values())
    for lay in order:
        res = results[lay.name]
        form = OPS[lay.op].torch.form(lay.values)
        if not isinstance(form, NNModule):
            continue
        assert res.args is not None and res.inputs is not None
        found = form.slots(OPS[lay.op].field_map, res.args, res.inputs)
        if lay.name in with_indices:
            found += (Slot("return_indices", "return_indices", True),)
        src = lay.sources[0]
        if any(s.keyword == "inplace" and s.value is True for s in found) and not runs_in_place(
                lay.name, src, None if src == "input" else results[src].layer.op, readers):
            found = tuple(s for s in found if s.keyword != "inplace")
            dropped.add(lay.name)
        slots[lay.name] = found
        calls[lay.name] = Call(form.class_for(res.inputs), tuple(s.value for s in found if s.keyword is None),
                               tuple((s.keyword, s.value) for s in found if s.keyword is not None and not s.default))
    return _Layers(written=written, sources=sources, calls=calls, slots=slots, pools=pools,
                   dropped=frozenset(dropped))


def runtime_wiring(report: CheckReport) -> Wiring:
    """The layers' run-time reads and constructor arguments, for :func:`plan_modules`."""
    return _wiring(_layers(report), report)


def _wiring(layers: _Layers, report: CheckReport) -> Wiring:
    def signature(name: str) -> Any:
        if name in layers.slots:
            return (layers.calls[name].fn, tuple((s.keyword, s.origin) for s in layers.slots[name]),
                    name in layers.dropped)
        return layers.written[name]

    sources = {n: (*s, layers.pools[n]) if n in layers.pools else s for n, s in layers.sources.items()}
    taken = frozenset({class_name(report.spec), "torch", "nn", "F", CHECK_INPUT, _CENTER_CROP, PAD_TO,
                       DYNAMIC_SHAPES})
    return Wiring(order=tuple(lay.name for lay in report.prop.network.order), sources=sources,
                  slots=layers.slots.get, signature=signature, pools=layers.pools, taken=taken)


@dataclass(frozen=True, kw_only=True)
class _Scope:
    """One ``forward`` to write: the network's, or a class's (from its template call)."""

    name: str | None
    units: tuple[str, ...]
    attrs: Mapping[str, str]  # unit -> its attribute
    output: str  # the layer whose tensor it returns
    inputs: Mapping[str, str]  # a tensor read from outside -> its name in forward
    top: bool


def torch_source(report: CheckReport, *, dynamic: bool = False, until: float | None = None) -> str:
    """The source of a PyTorch module file that builds the checked spec (torch itself is not
    imported); ``report`` comes from :func:`archsolve.check.known.export_check`.  Raises :class:`InvalidNetwork`
    when ``check`` found an error.  ``dynamic``: the file also has ``dynamic_shapes()`` for
    ``torch.export`` (:func:`_dynamic_source`); :class:`UsageError` when no input size can vary.
    ``until``: when the search for the valid input sizes must be done (:func:`size_rules`).
    """
    _refuse_invalid(report)
    spec = report.spec
    prop = report.prop
    order = prop.network.order
    cls = class_name(spec)
    layers = _layers(report)
    plan = plan_modules(report, _wiring(layers, report))

    # -- header ---------------------------------------------------------------------------------
    title = " ".join((spec.name or cls).split())
    params = report.totals["params"]
    inp, out = report.input, report.output
    assert out is not None
    summary = (f"Input [N, {', '.join(map(str, inp))}] -> output [N, {', '.join(map(str, out))}]; "
               f"{params:,} parameters.")
    bound = {k: v for k, v in prop.env.items() if k in spec.vars or k in spec.unknowns}
    paragraphs = [
        f"{title}: a PyTorch module generated by archsolve from {spec.file}.",
        summary + (" Built at " + ", ".join(f"{k} = {v}" for k, v in bound.items()) + "." if bound else ""),
        f"Regenerate it with `archsolve export {spec.file} --to torch` rather than editing it; "
        "`python THIS_FILE` builds the module and prints its output shape and parameter count.",
    ]
    lines: list[str] = []
    for i, para in enumerate(paragraphs):
        lines += _fill(_doc(para), "", '"""' if i == 0 else "") + [""]
    warnings = [p for p in report.problems if p.severity is Severity.WARNING]
    if warnings:
        lines.append("check's warnings:")
        for p in warnings[:5]:
            lines += textwrap.wrap(_doc(f"{p.layer}: {p.message}"), MAX_LINE, initial_indent="- ",
                                   subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)
        if len(warnings) > 5:
            lines.append(f"- and {len(warnings) - 5} more")
        lines.append("")
    lines[-1] = '"""'
    imports = sorted({line for lay in order for line in OPS[lay.op].torch.imports})
    lines += ["", "import torch", *imports, "from torch import nn"]
    if any(isinstance(w, CropLike) and w.offsets is None for w in layers.written.values()):
        lines += ["", "", *_center_crop_source(spec.ndim)]
    if any(isinstance(w, Call) and w.fn == PAD_TO for w in layers.written.values()):
        lines += ["", "", *_pad_to_source(spec.ndim)]
    rules = size_rules(report, until)  # `inputs` over each var's domain: once, for the guard and --dynamic
    lines += ["", "", *_guard_source(report, rules)]

    # -- a class per block (nested ones first) ------------------------------------------------------
    made: dict[str, BlockClass] = {}
    for c in plan.classes.values():
        made.setdefault(c.name, c)
    taken = frozenset({cls, *made})
    for block_class in made.values():
        lines += ["", "", *_class_source(block_class, report, layers, plan, taken)]

    # -- the network's class ------------------------------------------------------------------------
    lines += ["", ""]
    lines.append(f"class {cls}(nn.Module):")
    doc = _fill(_doc(f"{title}. {summary}"), INDENT, '"""')
    if len(doc[-1]) + 3 <= MAX_LINE:
        doc[-1] += '"""'
    else:
        doc.append(INDENT + '"""')
    lines += doc
    lines.append("")
    lines.append(f"{INDENT}def __init__(self) -> None:")
    lines.append(f"{INDENT * 2}super().__init__()")
    units = plan.units[None]
    attrs = _identifiers(list(units), _MODULE_ATTRS)
    scope = _Scope(name=None, units=units, attrs=attrs, output=spec.layers[-1].name, inputs={"input": "x"}, top=True)
    comments = _group_comments(spec, plan, None)
    for u in units:
        lines += [INDENT * 2 + c for c in comments.get(u, [])]
        lines += _constructor(u, f"self.{attrs[u]} = ", report, layers, plan, values=None)
    lines.append("")
    lines.append(f"{INDENT}def forward(self, x: torch.Tensor) -> torch.Tensor:")
    lines.append(f"{INDENT * 2}{CHECK_INPUT}(x)")
    lines += _forward(scope, report, layers, plan, comments)

    if dynamic:
        lines += ["", "", *_dynamic_source(report, rules)]

    # -- a self-check --------------------------------------------------------------------------------
    lines += [
        "",
        "",
        'if __name__ == "__main__":',
        f"{INDENT}model = {cls}().eval()",
        f"{INDENT}with torch.no_grad():",
        f"{INDENT * 2}y = model(torch.zeros(1, {', '.join(map(str, inp))}))",
        f"{INDENT}params = sum(p.numel() for p in model.parameters())",
        f'{INDENT}print("output", list(y.shape[1:]), "parameters", params)',
    ]
    return "\n".join(lines) + "\n"


def _group_comments(spec: Spec, plan: Plan, scope: str | None) -> dict[str, list[str]]:
    """``# enc1: block double_conv`` before the first unit of each block call or repeat written
    open in ``scope`` (one written as a module says what it is itself)."""
    position = {lay.name: i for i, lay in enumerate(spec.layers)}
    groups = {g.name: g for g in spec.groups}

    def home(g: Group) -> str | None:
        """The module a group's layers are written in."""
        up = g.group
        while up is not None and not plan.is_module(up):
            up = groups[up].group
        return up

    units = plan.units[scope]
    out: dict[str, list[str]] = {}
    for g in sorted(spec.groups, key=lambda g: g.depth):
        if not g.members or plan.is_module(g.name) or home(g) != scope or _inside_module(g, groups, plan):
            continue
        kind = g.op.split(":", 1)
        what = f"block {kind[1]}" if kind[0] == "block" else f"{kind[1]} x {len(g.members)}"
        copy = re.compile(rf"{re.escape(g.name)}/\d+")
        copies = sum(1 for o in spec.groups if o.group == g.name and copy.fullmatch(o.name))
        if kind[0] == "block" and copies:
            what += f" x {copies}"
        first = min(g.members, key=position.__getitem__)
        unit = next(u for u in units if u == first or (u in groups and first in groups[u].members))
        out.setdefault(unit, []).append(f"# {g.name}: {what}")
    return out


def _inside_module(g: Group, groups: Mapping[str, Group], plan: Plan) -> bool:
    up = g.group
    while up is not None:
        if plan.is_module(up):
            return True
        up = groups[up].group
    return False


def _constructor(unit: str, prefix: str, report: CheckReport, layers: _Layers, plan: Plan, *,
                 values: Sequence[tuple[str | None, Any]] | None, indent: str = INDENT * 2) -> list[str]:
    """``self.attr = Module(...)`` for one unit: a layer's module, a class's instance with its
    call's arguments (or ``values``, inside a class: source text), an ``nn.Sequential``."""
    groups = {g.name: g for g in report.spec.groups}
    if unit in plan.sequential:
        elements = []
        for c in sorted((g.name for g in report.spec.groups if g.group == unit),
                        key=lambda n: int(n.rsplit("/", 1)[1])) or [
                lay.name for lay in report.spec.layers if lay.group == unit]:
            elements.append(_render(_instance(c, layers, plan)))
        one = f"{indent}{prefix}nn.Sequential({', '.join(elements)})"
        if len(one) <= MAX_LINE:
            return [one]
        return [f"{indent}{prefix}nn.Sequential(", *(f"{indent}{INDENT}{e}," for e in elements), f"{indent})"]
    if unit in groups:
        block_class = plan.classes[unit]
        args = values if values is not None else tuple(zip(block_class.params, plan.values[unit], strict=True))
        call = Call(block_class.name, (), tuple((k, v) for k, v in args if k is not None))
    elif unit in layers.calls:
        if values is None:
            call = layers.calls[unit]
        else:
            call = Call(layers.calls[unit].fn, tuple(v for k, v in values if k is None),
                        tuple((k, v) for k, v in values if k is not None))
    else:
        return []
    lines = [f"{indent}# {unit.rsplit('/', 1)[-1]}: inplace dropped, its input is read elsewhere too"] \
        if unit in layers.dropped else []
    head, items, tail, _ = _layout(call, [])
    return lines + _wrap(prefix + head, items, tail, indent)


def _instance(name: str, layers: _Layers, plan: Plan) -> Call:
    """An element of an ``nn.Sequential`` at its own values."""
    if name in plan.classes:
        block_class = plan.classes[name]
        return Call(block_class.name, (), tuple(zip(block_class.params, plan.values[name], strict=True)))
    return layers.calls[name]


def _render(call: Call) -> str:
    head, items, tail, _ = _layout(call, [])
    return head + ", ".join(items) + tail


def _annotation(values: Sequence[Any]) -> str:
    kinds = {type(v) for v in values}
    if kinds == {int}:
        return ": int"
    if kinds == {bool}:
        return ": bool"
    if kinds <= {int, float}:
        return ": float"
    if kinds == {str}:
        return ": str"
    if kinds == {tuple}:
        return ": tuple[int, ...]"
    if kinds <= {int, tuple, PerAxis}:
        return ": int | tuple[int, ...]"  # one value for every axis, or one per axis
    return ""


def _class_source(block_class: BlockClass, report: CheckReport, layers: _Layers, plan: Plan,
                  taken: frozenset[str]) -> list[str]:
    """``class Bottleneck(nn.Module)``: the layers of a block, built from its arguments."""
    spec = report.spec
    calls = [g for g, c in plan.classes.items() if c.name == block_class.name]
    template = block_class.template
    units = plan.units[template]
    rel = {u: u[len(template) + 1:] for u in units}
    attrs = _identifiers([rel[u] for u in units], _MODULE_ATTRS)
    shown = ", ".join(calls[:4]) + (f" and {len(calls) - 4} more" if len(calls) > 4 else "")
    lines = [f"class {block_class.name}(nn.Module):"]
    doc = _fill(_doc(f"Block {block_class.block} of {spec.name or 'the network'}, called as {shown}."),
                INDENT, '"""')
    lines += doc[:-1] + [doc[-1] + '"""' if len(doc[-1]) + 3 <= MAX_LINE else doc[-1], *(
        [] if len(doc[-1]) + 3 <= MAX_LINE else [INDENT + '"""'])]
    lines.append("")
    params = []
    for i, p in enumerate(block_class.params):
        params.append(p + _annotation([plan.values[c][i] for c in calls]))
    lines += _wrap("def __init__(self, ", ["*", *params], ") -> None:", INDENT) if params else [
        f"{INDENT}def __init__(self) -> None:"]
    lines.append(f"{INDENT * 2}super().__init__()")
    comments = _group_comments(spec, plan, template)
    for u in units:
        lines += [INDENT * 2 + c for c in comments.get(u, [])]
        lines += _constructor(u, f"self.{attrs[rel[u]]} = ", report, layers, plan,
                              values=block_class.arguments.get(rel[u], ()))
    lines.append("")
    outside = plan.outside[template]
    inputs = dict(zip(outside, block_class.inputs, strict=True))
    args = ", ".join(f"{n}: torch.Tensor" for n in block_class.inputs)
    lines.append(f"{INDENT}def forward(self, {args}) -> torch.Tensor:")
    group = next(g for g in spec.groups if g.name == template)
    scope = _Scope(name=template, units=units, attrs={u: attrs[rel[u]] for u in units}, output=group.output,
                   inputs=inputs, top=False)
    lines += _forward(scope, report, layers, plan, comments)
    return lines


def _forward(scope: _Scope, report: CheckReport, layers: _Layers, plan: Plan,
             comments: Mapping[str, list[str]]) -> list[str]:
    """The body of a ``forward``: one line per unit, a tensor read once by the very next unit
    kept in ``x``."""
    spec = report.spec
    results = report.prop.layers
    groups = {g.name: g for g in spec.groups}
    ind2 = INDENT * 2
    units = scope.units
    out_of = {u: groups[u].output if u in groups else u for u in units}
    unit_of = {out_of[u]: u for u in units}
    position = {u: i for i, u in enumerate(units)}

    def reads(u: str) -> tuple[str, ...]:
        return plan.outside[u] if u in groups else layers.sources[u]

    readers: dict[str, list[str]] = {}
    for u in units:
        for s in reads(u):
            readers.setdefault(unit_of.get(s, s), []).append(u)
    output = unit_of[scope.output]

    def merge(u: str) -> bool:
        return u not in groups and OPS[results[u].layer.op].merge

    def in_x(key: str, pos: int) -> bool:
        users = readers.get(key, [])
        if key == output:
            return not users and pos == len(units) - 1
        return len(users) == 1 and position[users[0]] == pos + 1 and not merge(users[0])

    # names: a unit's own (an open block call's output is named after the call), relative in a class
    called = {u: u for u in units}
    for g in sorted(spec.groups, key=lambda g: -g.depth):
        if g.output in unit_of and g.output not in groups and not plan.is_module(g.name) and (
                scope.name is None or g.name.startswith(scope.name + "/")):
            called[unit_of[g.output]] = g.name
    start = 0 if scope.name is None else len(scope.name) + 1
    taken = _RESERVED_LOCALS | set(scope.inputs.values())
    idents = _identifiers([called[u][start:] for u in units], taken)
    var: dict[str, str] = {}
    first = next(iter(scope.inputs))
    for key, name in scope.inputs.items():
        var[key] = name
    lines: list[str] = []
    if not in_x(first, -1) and readers.get(first):
        var[first] = "x_in"
        lines.append(f"{ind2}x_in = x")
    for i, u in enumerate(units):
        if in_x(u, i):
            var[u] = "x"
        elif not readers.get(u) and u != output:
            var[u] = "_"  # read by no unit: computed all the same
        else:
            var[u] = idents[called[u][start:]]
    indices = {}
    for u in units:
        if u in layers.pools.values():
            name = var[u] + "_indices" if var[u] not in ("x", "_") else idents[called[u][start:]] + "_indices"
            while name in var.values():
                name += "_"
            indices[u] = name

    for u in units:
        lines += [ind2 + c for c in comments.get(u, [])]
        target = var[u]
        srcs = [var[unit_of.get(s, s)] for s in reads(u)]
        note = ""
        if scope.top:
            shape = results[out_of[u]].shape
            assert shape is not None
            note = "# " + _shape(shape)
        if u in groups:
            lines += _wrap(f"{target} = self.{scope.attrs[u]}(", srcs, ")", ind2, comment=note)
            continue
        lay = results[u].layer
        if u in layers.pools:  # the pool's indices, and the size to give back
            res = results[u]
            assert res.shape is not None
            size = (f"{srcs.pop()}.shape[2:]" if lay.values.get("size") is None
                    else _py(tuple(int(v) for v in res.shape[1:])))
            srcs += [indices[layers.pools[u]], f"output_size={size}"]
        if u in indices:
            target = f"{target}, {indices[u]}"
        if u in layers.calls:
            lines += _wrap(f"{target} = self.{scope.attrs[u]}(", srcs, ")", ind2, comment=note)
        else:
            head, items, tail, sep = _layout(layers.written[u], srcs)
            lines += _wrap(f"{target} = {head}", items, tail, ind2, sep=sep, comment=note)
    lines.append(f"{ind2}return {var[output]}")
    return lines


def _written(res: LayerResult) -> Written:
    assert res.args is not None and res.inputs is not None and res.shape is not None
    return OPS[res.layer.op].written(res.args, res.inputs, res.shape)


def _reads_like(w: Written) -> bool:
    """Whether the layer's source reads the tensor of the layer ``like`` names (its size)."""
    return isinstance(w, CropLike) or (isinstance(w, Call) and any(
        v is Tensor.LIKE_SIZE for v in (*w.args, *(kw[1] for kw in w.keywords))))


