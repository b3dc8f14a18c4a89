"""Every op's rules: its shape, validity conditions, parameters, MACs and receptive field.

The rules are written with the helpers of :mod:`archsolve.lang.expr` (``fdiv``, ``vmax``,
``ite``, ``le`` ...), so one rule runs on

* plain ints -- ``check``'s propagation, fast;
* :class:`~archsolve.lang.expr.Expr` trees -- the arithmetic shown in messages, and the
  symbolic shapes the solver turns into Z3 terms.

A rule states PyTorch's validity conditions through ``req.need(cond, ...)``: with ints
a false condition is recorded as a problem at once, with Exprs it becomes a labelled
constraint.  ``fatal=True`` marks conditions without which the output shape does not exist
(torch raises before producing a tensor and no size can be shown downstream).  The message
is a function that builds the text: a search that only needs to know *whether* a layer is
valid never pays for formatting it.  A Req calls it, if at all, before ``need`` returns, so
a rule may close over its loop variables.  The hot rules (conv, deconv, pooling, merges)
go further: ``if (c := le(...)) is not True: req.need(c, ...)``.  On ints the comparison
helpers give a bool, and a condition that already holds is passed over before its message
closure is even made -- a third of such a rule's time in a search.

The op table (:mod:`archsolve.ops.table`) names each op's rules.

Example::

    >>> from archsolve.ops.base import Args, Collect
    >>> args = Args({"out": 8, "kernel": (3, 3), "stride": (2, 2), "padding": (0, 0), "dilation": (1, 1),
    ...              "groups": 1, "bias": True}, 2)
    >>> conv_shape(args, [(3, 32, 32)], Collect())
    (8, 15, 15)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from archsolve.errors import EncodingLimit
from archsolve.lang.expr import (
    Bin,
    Value,
    both,
    cdiv,
    either,
    eq,
    fdiv,
    ge,
    gt,
    ite,
    le,
    lift,
    lt,
    vmax,
    vmin,
)
from archsolve.ops.base import AXIS_NAMES, EMPTY, Args, Req, Severity, Shape, Window


def _positions(shape: Shape, axis: int) -> int:
    """How many positions a tensor has along spatial ``axis`` (1 once flattened)."""
    return int(shape[axis + 1]) if len(shape) > axis + 1 else 1


def _identity(n: int) -> list[Window]:
    return [(o, o, 1) for o in range(n)]


def _windows(m: int, n: int, stride: int, pad: int, kernel: int, dilation: int) -> list[Window]:
    """Sliding windows of ``kernel`` taps ``dilation`` apart, keeping the taps on real input.

        >>> _windows(4, 3, 1, 1, 2, 1)  # kernel 2, padding 1: the first and last read one pixel
        [(0, 0, 1), (0, 1, 1), (1, 2, 1), (2, 2, 1)]
        >>> _windows(3, 5, 1, 2, 3, 2)  # dilation 2: the first window's taps -2, 0, 2 read 0 and 2
        [(0, 2, 2), (1, 3, 2), (0, 4, 2)]
    """
    if dilation == 1:  # the usual case, for every position of every layer: the taps are a run
        top = n - 1

        def clamped(o: int) -> Window:
            first = max(o * stride - pad, 0)
            last = min(o * stride - pad + kernel - 1, top)
            return (first, last, 1) if first <= last else EMPTY

        def at(o: int) -> int:
            return min(max(o, 0), m)

        # positions [0, c0) and [c1, m) read padding only; [c0, a) and [b, c1) partly; the
        # windows of [a, b) lie wholly on real input and need no clamping
        c0 = at(-((kernel - 1 - pad) // stride))
        a = max(c0, at(-(-pad // stride)))
        b = max(a, at((top + pad - kernel + 1) // stride + 1))
        c1 = max(b, at((top + pad) // stride + 1))
        return ([EMPTY] * c0 + [clamped(o) for o in range(c0, a)]
                + [(f, f + kernel - 1, 1) for f in range(a * stride - pad, b * stride - pad, stride)]
                + [clamped(o) for o in range(b, c1)] + [EMPTY] * (m - c1))
    res = []
    for o in range(m):
        start = o * stride - pad
        first = start if start >= 0 else start + (-start + dilation - 1) // dilation * dilation
        end = start + dilation * (kernel - 1)
        last = end if end <= n - 1 else end - (end - n + 1 + dilation - 1) // dilation * dilation
        res.append((first, last, dilation) if first <= last else EMPTY)
    return res


# -- the shared checks -----------------------------------------------------------------

def _spatial(op: str, args: Args, x: Shape, req: Req) -> bool:
    if len(x) != args.ndim + 1:
        req.need(0, "rank", "from", lambda: (f"{op} needs a [C, {', '.join(AXIS_NAMES[args.ndim])}] input "
                                             f"but gets {_fmt(x)} (after flatten?)"), fatal=True)
        return False
    return True


def _fmt(shape: Sequence[Value]) -> str:
    return "[" + ", ".join(str(v) for v in shape) + "]"


def _axes(args: Args) -> tuple[str, ...]:
    return AXIS_NAMES[args.ndim]


def _channels_divisible(args: Args, cin: Value, req: Req, what: str = "conv") -> None:
    g = args["groups"]
    if isinstance(g, int) and g == 1:
        return  # everything divides by 1, symbolic or not
    req.need(eq(cin % g, 0), "groups", "groups",
             lambda: f"{cin} input channels are not divisible by groups={g}")
    req.need(eq(args["out"] % g, 0), "groups", "groups",
             lambda: f"out={args['out']} is not divisible by groups={g}")


def _window_out(x: Value, k: Value, s: Value, pl: Value, pr: Value, d: Value, ceil: bool) -> Value:
    """PyTorch's pooling_output_shape_pad_lr: floor (or ceil) division, then the
    ceil-mode rule that the last window must start inside the input or left padding."""
    num = x + pl + pr - d * (k - 1) - 1
    if not ceil:
        return num // s + 1
    out = (num + s - 1) // s + 1
    return ite(ge((out - 1) * s, x + pl), out - 1, out)


# -- drops and holes: real positions that no window reads, output positions no input reaches ----

def _last_read(n: int, k: int, s: int, pl: int, d: int, m: int) -> tuple[int, int, int] | None:
    """The last real input position (of ``0..n-1``) that any of ``m`` windows reads, as
    ``(position, window, tap)``; None when every window reads padding only."""
    if d == 1:  # the latest window starting at or before the last position reads furthest
        o = min((n - 1 + pl) // s, m - 1)
        end = o * s - pl + k - 1
        return (min(end, n - 1), o, min(k - 1, n - 1 - o * s + pl)) if end >= 0 else None
    best: tuple[int, int, int] | None = None
    for o in range(m - 1, -1, -1):
        start = o * s - pl
        if best is not None and start + d * (k - 1) <= best[0]:
            break  # windows further left end further left
        t = min(k - 1, (n - 1 - start) // d)
        if t >= 0 and start + t * d >= 0 and (best is None or start + t * d > best[0]):
            best = (start + t * d, o, t)
    return best


def _last_position(n: Value, k: Value, s: Value, pl: Value, d: Value, m: Value) -> Value:
    """The last real position any of ``m`` windows reads (-1 for none), on ints or symbols.
    With dilation the last window's last real tap may fall short of an earlier window's, so
    the windows that can reach furthest are all looked at (the Z3 path has the fields as ints)."""
    if _ints(n, k, s, pl, d, m):
        last = _last_read(n, k, s, pl, d, m)
        return last[0] if last is not None else -1
    # windows after the last one that starts by n - 1 read no real position
    last = vmin(fdiv(n - 1 + pl, s), m - 1)
    if _is1(d):  # that window reads on to its end or the input's (nothing when it ends in the padding)
        end = last * s - pl + k - 1
        return ite(ge(end, 0), vmin(end, n - 1), -1)
    if not _ints(k, s, pl, d):
        raise EncodingLimit("the last position a dilated pool reads needs its kernel, stride and padding as numbers")
    best: Value = -1
    # of the windows before that one, only the few that can end past its start can read further
    for j in range(d * (k - 1) // s + 1):
        start = (last - j) * s - pl
        pos = start + d * vmin(k - 1, fdiv(n - 1 - start, d))
        best = vmax(best, ite(both(ge(last - j, 0), ge(pos, 0)), pos, -1))
    return best


def dropped(n: int, k: int, s: int, pl: int, d: int, m: int) -> int:
    """How many real input positions at the end of an axis no window reads: those past the
    last one read (padding left unread is not a drop).

        >>> dropped(112, 3, 2, 1, 1, 56)  # ResNet's stem pool: its last window reads 111
        0
        >>> dropped(8, 11, 11, 5, 1, 1)   # one window, -5..5: positions 6 and 7 are unread
        2
    """
    last = _last_read(n, k, s, pl, d, m)
    return n - 1 - last[0] if last is not None else n


def _by_size(n: Value, holds: Callable[[int], bool], *, start: int, period: int) -> Value:
    """A condition on a size ``n`` that is periodic from ``start`` on, as an expression: the
    sizes below ``start`` one by one, then the residues modulo ``period``.  A rule whose
    other fields are ints states an exact condition on a symbolic size this way (the Z3
    path enumerates kernels, strides and paddings, so only sizes stay symbolic)."""
    if isinstance(n, int):
        return holds(n)
    cond: Value = False
    for v in range(1, start):
        if holds(v):
            cond = either(cond, eq(n, v))
    tail: Value = False
    for r in range(period):
        if holds(start + r):
            tail = either(tail, eq((n - start) % period, r))
    return either(cond, both(ge(n, start), tail))


def _ints(*values: Value) -> bool:
    return all(isinstance(v, int) for v in values)


def _no_drop(x: Value, k: Value, s: Value, pl: Value, pr: Value, d: Value, ceil: bool, m: Value) -> Value:
    """No real position is left unread on this axis, as a condition on symbols."""
    if _is1(d):  # the last position is read iff the latest window starting at or before it reaches it
        q = x - 1 + pl
        return le(q - vmin(fdiv(q, s), m - 1) * s, k - 1)
    if not _ints(k, s, pl, pr, d):
        raise EncodingLimit("exact: true with a dilation, and a kernel, stride or padding given by an expression, "
                            "is not supported")

    def holds(v: int) -> bool:
        mv = _window_out(v, k, s, pl, pr, d, ceil)
        return mv < 1 or dropped(v, k, s, pl, d, mv) == 0

    return _by_size(x, holds, start=2 * (pl + pr) + d * (k - 1) + 2 * s + 2, period=s)


def _drops(args: Args, req: Req, axes: Sequence[tuple[Value, Value, Value, Value, Value, Value, Value]],
           what: str) -> None:
    """A drop (a real position no window reads, docs/semantics.md: the positions past the last one
    read): an error under ``exact``, a warning otherwise.  ``axes``: per spatial axis the
    input size, kernel, stride, left and right padding, dilation and output size."""
    exact = bool(args.get("_exact", False))
    if not exact and not req.warns:
        return
    ceil = bool(args.get("ceil_mode"))
    cond: Value = True
    for x, k, s, pl, pr, d, m in axes:
        if isinstance(m, int) and m < 1:
            return  # no output: the layer is invalid already
        if _ints(x, k, s, pl, d, m):
            c: Value = dropped(x, k, s, pl, d, m) == 0
        elif not exact:
            continue  # a warning only: the solver states errors
        else:
            c = _no_drop(x, k, s, pl, pr, d, ceil, m)
        if c is not True:
            cond = both(cond, c)
    if cond is True:
        return

    def message() -> str:
        names = _axes(args)
        counts, details = [], []
        for ax, (x, k, s, pl, _pr, d, m) in zip(names, axes, strict=True):
            if not _ints(x, k, s, pl, d, m):
                counts.append(f"? on {ax}")
                details.append(f"on {ax} the last window must read position {x} - 1")
                continue
            last = _last_read(x, k, s, pl, d, m)
            lost = x - 1 - last[0] if last is not None else x
            if not lost:
                continue
            counts.append(f"{lost} on {ax}")
            if last is None:
                details.append(f"on {ax} every window reads padding only")
                continue
            pos, o, t = last
            terms = [f"{o} * {s}"] if o else []
            terms += [f"- {pl}"] if pl else []
            terms += [f"+ {t}" if _is1(d) else f"+ {t} * {d}"] if t else []
            arith = " ".join(terms or ["0"]).removeprefix("+ ").replace("- ", "-", 1 if not o else 0)
            shown = "" if arith == str(pos) else f" = {arith}"
            details.append(f"on {ax} the last position read is {pos}{shown}, of 0..{x - 1}")
        return (f"{what} drops real pixels that no window reads ({', '.join(counts)}): " + "; ".join(details)
                + (" (exact: true requires every real pixel to be read)" if exact else ""))

    req.need(cond, "exact" if exact else "drops", "stride", message,
             severity=Severity.ERROR if exact else Severity.WARNING)


def _covered_upto(x: int, n: int, k: int, s: int) -> int:
    """How many of the positions ``0..x`` the footprints ``[i*s, i*s + k - 1]`` (``i < n``) cover."""
    if x < 0:
        return 0
    if s <= k:  # the footprints overlap: one run 0..(n-1)s + k - 1
        return min(x, (n - 1) * s + k - 1) + 1
    i = x // s
    return n * k if i >= n else i * k + min(k, x - i * s + 1)


def deconv_holes(n: int, k: int, s: int, p: int, d: int, m: int) -> int:
    """How many of a transposed conv's ``m`` output positions no input reaches (they hold
    the bias only): input ``i`` reaches ``i*s - p + t*d`` for each tap ``t``.

        >>> deconv_holes(8, 1, 2, 0, 1, 15)  # kernel 1, stride 2: every other position
        7
        >>> deconv_holes(8, 4, 2, 1, 1, 16)  # DCGAN's 4/2/1 reaches all 16
        0
    """
    if d == 1:
        return m - (_covered_upto(p + m - 1, n, k, s) - _covered_upto(p - 1, n, k, s))
    return sum(1 for x in range(p, p + m)
               if not any((x - t * d) % s == 0 and 0 <= (x - t * d) // s < n for t in range(k)))


def conv_holes(n: int, k: int, s: int, pl: int, d: int, m: int) -> int:
    """How many of a conv's ``m`` output positions read padding only (no real input reaches them).

        >>> conv_holes(4, 1, 1, 1, 1, 6)  # a 1x1 conv with padding 1: both border positions
        2
        >>> conv_holes(1, 3, 1, 2, 2, 1)  # dilation 2 on a 1-pixel input: taps -2, 0, 2 read it
        0
    """
    if n >= d:  # taps d apart cannot skip a run of n >= d real positions: only whole windows off it miss
        span = d * (k - 1)
        before = min(m, max(0, -((span - pl) // s))) if pl > span else 0  # windows ending left of 0
        after = max(0, m - 1 - (n - 1 + pl) // s)  # windows starting right of n - 1
        return before + after
    return sum(1 for o in range(m)
               if not any(0 <= o * s - pl + t * d <= n - 1 for t in range(k)))


def _holes(args: Args, req: Req, axes: Sequence[tuple[Value, ...]], what: str,
           count: Callable[[int, int, int, int, int, int], int], note: str = "") -> None:
    """Output positions no input reaches (a transposed conv's gaps, a conv window on padding
    only): a warning, or an error where the spec forbids holes (``exact: true``, ``holes: false``).
    ``axes``: per spatial axis the input size, kernel, stride, padding (left, and for a
    deconv output_padding last), dilation and output size."""
    allowed = args.get("_holes", True)
    if allowed and not req.warns:
        return
    cond: Value = True
    for x, k, s, p, extra, d, m in axes:
        if isinstance(m, int) and m < 1:
            return  # no output: the layer is invalid already
        if _ints(x, k, s, p, d, m):
            c: Value = count(x, k, s, p, d, m) == 0
        elif allowed:
            continue  # a warning only: the solver states errors, and prefers hole-free answers by itself
        elif count is conv_holes and _is1(d):  # the first window reaches 0, the last starts by n - 1
            c = both(le(p, k - 1), le((m - 1) * s - p, x - 1))
        elif not _ints(k, s, p, extra, d):
            raise EncodingLimit(f"{args.name} ({what}): forbidding holes needs the kernel, stride, padding and "
                                "dilation as numbers, not expressions")
        else:
            c = _by_size(x, functools.partial(_no_holes, what=what, fields=(k, s, p, extra, d), count=count,
                                              ceil=bool(args.get("ceil_mode"))),
                         start=2 * (p + extra) + d * (k - 1) + 2 * s + 2, period=s)
        if c is not True:
            cond = both(cond, c)
    if cond is True:
        return

    def message() -> str:
        counts, details = [], []
        for ax, (x, k, s, p, extra, d, m) in zip(_axes(args), axes, strict=True):
            if not _ints(x, k, s, p, d, m):
                counts.append(f"? on {ax}")
                details.append(f"on {ax} every output position must be reached by an input pixel")
                continue
            lost = count(x, k, s, p, d, m)
            if lost:
                counts.append(f"{lost} on {ax}")
                details.append(f"on {ax} {lost} of the {m} output positions " + _hole_reason(what, k, s, p, extra, d))
        return f"{what} leaves holes that no input reaches ({', '.join(counts)}): " + "; ".join(details) + note

    req.need(cond, "holes", "kernel", message, severity=Severity.WARNING if allowed else Severity.ERROR)


def _no_holes(v: int, *, what: str, fields: tuple[int, ...], count: Callable[..., int], ceil: bool) -> bool:
    k, s, p, extra, d = fields
    if what == "deconv":
        m = (v - 1) * s + d * (k - 1) - 2 * p + extra + 1
    else:
        m = _window_out(v, k, s, p, extra, d, ceil)
    return m < 1 or count(v, k, s, p, d, m) == 0


def _hole_reason(what: str, k: int, s: int, p: int, extra: int, d: int) -> str:
    if what == "deconv":
        if s > d * (k - 1) + 1:
            return f"get no input (stride {s} is wider than the kernel's span {d * (k - 1) + 1})"
        if extra > p:
            return f"get no input (output_padding {extra} is more than padding {p}: the last {extra - p} add nothing)"
        return "get no input"
    if p > d * (k - 1):
        return f"read padding only (padding {p} is more than the kernel's reach {d * (k - 1)})"
    return "read padding only"


# -- conv / deconv -----------------------------------------------------------------------

def _conv_pads(args: Args, i: int) -> tuple[Value, Value]:
    p = args["padding"]
    if p == "valid":
        return 0, 0
    if p == "same":
        total = args["dilation"][i] * (args["kernel"][i] - 1)
        return fdiv(total, 2), total - fdiv(total, 2)
    return p[i], p[i]


def _tf_window(args: Args, x: Shape, req: Req, what: str, dilation: Sequence[Value]) -> list[Value]:
    """TensorFlow/Keras sizes: 'same' gives ceil(in / stride), the extra padding on the right;
    'valid' gives floor((in - span) / stride) + 1 and needs the window to fit."""
    out: list[Value] = []
    axes = []
    for i, ax in enumerate(_axes(args)):
        k, s, d = args["kernel"][i], args["stride"][i], dilation[i]
        span = d * (k - 1) + 1
        if args["padding"] == "same":
            m = cdiv(x[i + 1], s)
            total = vmax((m - 1) * s + span - x[i + 1], 0)
            axes.append((x[i + 1], k, s, fdiv(total, 2), total - fdiv(total, 2), d, m))
            out.append(m)
            continue
        if (c := le(span, x[i + 1])) is not True:
            req.need(c, "kernel-fits", "kernel",
                     lambda: (f"kernel {k} spans {span} but the input on axis {ax} is only {x[i + 1]} (padding 'valid', "
                              "TensorFlow rules)"), fatal=True)
        m = fdiv(x[i + 1] - span, s) + 1
        axes.append((x[i + 1], k, s, 0, 0, d, m))
        out.append(m)
    _drops(args, req, axes, what)
    return out


def _tf_pad_before(args: Args, axis: int, n: int, m: int, span: int) -> int:
    """TensorFlow's 'same' pads (total // 2) before and the rest after."""
    if args["padding"] != "same":
        return 0
    return max((m - 1) * args["stride"][axis] + span - n, 0) // 2


def conv_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    (x,) = inputs
    if not _spatial("conv", args, x, req):
        return (args["out"],)
    _channels_divisible(args, x[0], req)
    if args.get("_tf"):
        return (args["out"], *_tf_window(args, x, req, "conv", args["dilation"]))
    if args["padding"] == "same":
        for i, ax in enumerate(_axes(args)):
            if (c := eq(args["stride"][i], 1)) is not True:
                req.need(c, "same-stride", "padding",
                         lambda: (f"padding 'same' needs stride 1 (torch refuses strided 'same' convolutions), "
                                  f"stride on axis {ax} is {args['stride'][i]}"))
    out: list[Value] = [args["out"]]
    axes = []
    kernel, stride, dilation = args["kernel"], args["stride"], args["dilation"]
    for i, ax in enumerate(_axes(args)):
        k, s, d = kernel[i], stride[i], dilation[i]
        pl, pr = _conv_pads(args, i)
        padded = x[i + 1] + pl + pr
        span = d * (k - 1) + 1
        if (c := le(span, padded)) is not True:
            req.need(c, "kernel-fits", "kernel",
                     lambda: (f"kernel {k}" + (f" with dilation {d} spans {span}" if not _is1(d) else "")
                              + f" but the padded input on axis {ax} is only {padded} ({x[i + 1]} + {pl} + {pr})"),
                     fatal=True)
        m = (padded - span) // s + 1  # floor division, for ints and Exprs alike
        axes.append((x[i + 1], k, s, pl, pr, d, m))
        out.append(m)
    _drops(args, req, axes, "conv")
    _holes(args, req, axes, "conv", conv_holes)
    return tuple(out)


def _plain_ints(values: Mapping[str, Any], names: Sequence[str]) -> bool:
    """Whether each of these fields holds one int per axis (no expression, no ``same``)."""
    return all(isinstance(values.get(n), tuple) and all(type(v) is int for v in values[n]) for n in names)


def conv_effect(values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What a conv's kernel, stride, padding and dilation do to a size, where that is all its
    errors depend on: per axis the stride and ``2 * padding - dilation * (kernel - 1)`` (the
    output is ``(in + that - 1) // stride + 1``, and the kernel fits while ``in + that >= 1``).
    Drops and holes are warnings then; under ``exact: true``, ``holes: false`` or TensorFlow's
    rules they are errors that read the fields apart: None, as for a value the field does not
    take (a var's dilation of 0).  The solver runs the rule once per such effect rather than
    once per combination.

        >>> conv_effect({"kernel": (3,), "stride": (1,), "padding": (1,), "dilation": (1,), "_holes": True})
        ((1, 0),)
        >>> conv_effect({"kernel": (5,), "stride": (1,), "padding": (2,), "dilation": (1,), "_holes": True})
        ((1, 0),)
    """
    if values.get("_exact") or values.get("_tf") or not values.get("_holes", True) or not _plain_ints(
            values, ("kernel", "stride", "padding", "dilation")):
        return None
    axes = list(zip(values["kernel"], values["stride"], values["padding"], values["dilation"], strict=True))
    if any(min(k, s, d) < 1 or p < 0 for k, s, p, d in axes):
        return None  # a value its field does not take (a var's dilation 0): invalid, whatever else
    return tuple((s, 2 * p - d * (k - 1)) for k, s, p, d in axes)


def deconv_effect(values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """:func:`conv_effect` for a transposed conv: per axis the stride, ``dilation * (kernel - 1)
    - 2 * padding + output_padding`` (the output is ``(in - 1) * stride + that + 1``) and whether
    ``output_padding < max(stride, dilation)``; None where holes are errors or the fields are not
    plain ints.

        >>> deconv_effect({"kernel": (4,), "stride": (2,), "padding": (1,), "output_padding": (0,),
        ...                "dilation": (1,), "_holes": True})
        ((2, 1, True),)
    """
    if values.get("_exact") or values.get("_tf") or not values.get("_holes", True) or not _plain_ints(
            values, ("kernel", "stride", "padding", "output_padding", "dilation")):
        return None
    axes = list(zip(values["kernel"], values["stride"], values["padding"], values["output_padding"],
                    values["dilation"], strict=True))
    if any(min(k, s, d) < 1 or min(p, op) < 0 for k, s, p, op, d in axes):
        return None  # a value its field does not take: invalid, whatever else
    return tuple((s, d * (k - 1) - 2 * p + op, op < max(s, d)) for k, s, p, op, d in axes)


def _is1(v: Value) -> bool:
    return isinstance(v, int) and v == 1


def conv_params(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    k = _prod(args["kernel"])
    w = args["out"] * (inputs[0][0] // args["groups"]) * k
    return w + (args["out"] if args["bias"] else 0)


def conv_macs(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    return _prod(out[1:]) * args["out"] * (inputs[0][0] // args["groups"]) * _prod(args["kernel"])


def conv_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    if args.get("_tf"):
        span = args["dilation"][axis] * (args["kernel"][axis] - 1) + 1
        pl = _tf_pad_before(args, axis, inputs[0][axis + 1], _positions(out, axis), span)
    else:
        pl, _ = _conv_pads(args, axis)
    return [_windows(_positions(out, axis), inputs[0][axis + 1], args["stride"][axis], pl, args["kernel"][axis],
                     args["dilation"][axis])]


def deconv_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    (x,) = inputs
    if not _spatial("deconv", args, x, req):
        return (args["out"],)
    _channels_divisible(args, x[0], req)
    out: list[Value] = [args["out"]]
    axes = []
    if args.get("_tf"):
        for i in range(args.ndim):
            k, s, d = args["kernel"][i], args["stride"][i], args["dilation"][i]
            span = d * (k - 1) + 1
            # as torch's rule with a padding and an output_padding: m = (in - 1) s + span - 2p + extra
            if args["padding"] == "same":  # the full output cropped to in * stride, half the extra before
                p = fdiv(vmax(span - s, 0), 2)
                m, extra = x[i + 1] * s, s - span + 2 * p
            else:
                p, m, extra = 0, (x[i + 1] - 1) * s + vmax(span, s), vmax(span, s) - span
            axes.append((x[i + 1], k, s, p, extra, d, m))
            out.append(m)
        _holes(args, req, axes, "deconv", deconv_holes)
        return tuple(out)
    kernel, stride, dilation = args["kernel"], args["stride"], args["dilation"]
    padding, output_padding = args["padding"], args["output_padding"]
    for i, ax in enumerate(_axes(args)):
        k, s, d, p, op = kernel[i], stride[i], dilation[i], padding[i], output_padding[i]
        if (c := lt(op, vmax(s, d))) is not True:
            req.need(c, "output-padding", "output_padding",
                     lambda: f"output_padding {op} on axis {ax} must be smaller than stride {s} or dilation {d}")
        y = (x[i + 1] - 1) * s + (d * (k - 1) - 2 * p + op + 1)
        if (c := ge(y, 1)) is not True:
            req.need(c, "size", "padding",
                     lambda: (f"output size on axis {ax} is {y} = ({x[i + 1]} - 1) * {s} - 2 * {p} + {d} * ({k} - 1) "
                              f"+ {op} + 1, which is not positive"), fatal=True)
        axes.append((x[i + 1], k, s, p, op, d, y))
        out.append(y)
    _holes(args, req, axes, "deconv", deconv_holes)
    return tuple(out)


def deconv_params(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    w = inputs[0][0] * (args["out"] // args["groups"]) * _prod(args["kernel"])
    return w + (args["out"] if args["bias"] else 0)


def deconv_macs(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    # as documented for macs: every input pixel is multiplied by the whole kernel once.
    return (inputs[0][0] // args["groups"]) * args["out"] * _prod(args["kernel"]) * _prod(inputs[0][1:])


def deconv_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    n = inputs[0][axis + 1]
    k, s, d = args["kernel"][axis], args["stride"][axis], args["dilation"][axis]
    if args.get("_tf"):  # 'same' crops the full output's (span - stride) extra by half before
        p = max(d * (k - 1) + 1 - s, 0) // 2 if args["padding"] == "same" else 0
    else:
        p = args["padding"][axis]
    res = []
    for o in range(_positions(out, axis)):
        # input i reaches o through tap t when i * s - p + d * t == o
        hits = [(o + p - d * t) // s for t in range(k)
                if (o + p - d * t) % s == 0 and 0 <= (o + p - d * t) // s < n]
        hits.sort()
        res.append((hits[0], hits[-1], hits[1] - hits[0] if len(hits) > 1 else 1) if hits else EMPTY)
    return [res]


# -- pooling ---------------------------------------------------------------------------------

def avgpool_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    out = pool_shape(args, inputs, req)
    x = inputs[0]
    if args.ndim == 3 and len(x) == 4 and not args.get("_tf"):
        # torch's 3D average pool (only it) wants the unpadded input to hold the kernel
        for i, ax in enumerate(_axes(args)):
            k = args["kernel"][i]
            req.need(ge(x[i + 1], k), "avgpool3d-kernel", "kernel",
                     lambda: (f"a 3D avgpool needs the input ({x[i + 1]} on axis {ax}) to be at least the kernel {k}, "
                              "padding aside (torch's avg_pool3d checks it)"))
    return out


def pool_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    (x,) = inputs
    if not _spatial("pool", args, x, req):
        return x
    if args.get("_tf"):
        return (x[0], *_tf_window(args, x, req, "pool", args.get("dilation") or (1,) * args.ndim))
    out: list[Value] = [x[0]]
    axes = []
    dil = args.get("dilation") or (1,) * args.ndim
    kernel, stride, padding, ceil = args["kernel"], args["stride"], args["padding"], bool(args["ceil_mode"])
    for i, ax in enumerate(_axes(args)):
        k, s, p, d = kernel[i], stride[i], padding[i], dil[i]
        if (c := le(2 * p, k)) is not True:
            req.need(c, "pool-padding", "padding",
                     lambda: f"pool padding {p} on axis {ax} is more than half the kernel {k} (torch needs padding <= kernel // 2)")
        y = _window_out(x[i + 1], k, s, p, p, d, ceil)
        if (c := ge(y, 1)) is not True:
            req.need(c, "size", "kernel",
                     lambda: (f"the pooling window (kernel {k}, dilation {d}) does not fit the input size {x[i + 1]} "
                              f"(padding {p}) on axis {ax}: output size {y}"), fatal=True)
        axes.append((x[i + 1], k, s, p, p, d, y))
        out.append(y)
    _drops(args, req, axes, "pool")
    _holes(args, req, axes, "pool", conv_holes)
    return tuple(out)


def pool_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    d = (args.get("dilation") or (1,) * args.ndim)[axis]
    k, n, m = args["kernel"][axis], inputs[0][axis + 1], _positions(out, axis)
    pad = _tf_pad_before(args, axis, n, m, d * (k - 1) + 1) if args.get("_tf") else args["padding"][axis]
    return [_windows(m, n, args["stride"][axis], pad, k, d)]


def adaptive_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    (x,) = inputs
    if not _spatial("adaptive pool", args, x, req):
        return x
    return (x[0], *args["size"])


def adaptive_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    n, m = inputs[0][axis + 1], _positions(out, axis)
    # torch's window for output j: [floor(j*n/m), ceil((j+1)*n/m))
    return [[((j * n) // m, -((-(j + 1) * n) // m) - 1, 1) for j in range(m)]]


# -- resampling ------------------------------------------------------------------------------

def upsample_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    x = inputs[0]
    if not _spatial("upsample", args, x, req):
        return x
    mode = args.get("mode", "nearest")
    rank = _MODE_RANK.get(mode)
    req.need(int(rank is None or rank == args.ndim), "upsample-mode", "mode",
             lambda: (f"mode {mode!r} works on {rank}D inputs only (torch), this input has {args.ndim} spatial axes"
                      + (f"; use {_RANK_MODE[args.ndim]!r}" if args.ndim in _RANK_MODE else "")))
    req.need(int(args.get("align_corners") is None or mode not in ("nearest", "nearest-exact")),
             "align-corners", "align_corners",
             lambda: f"align_corners can only be set with the interpolating modes, not {mode!r} (torch)")
    size, scale, like = args.get("size"), args.get("scale"), args.get("like")
    if sum(v is not None for v in (size, scale, like)) > 1:
        req.need(0, "upsample-args", "scale", lambda: "give one of scale, size or like, not several", fatal=True)
    if like is not None:  # F.interpolate(x, size=like.shape[2:])
        if len(inputs[1]) != len(x):
            req.need(0, "rank", "like", lambda: (f"upsample takes its size from {like}, which gives {_fmt(inputs[1])}: "
                                                 f"not a [C, {', '.join(_axes(args))}] shape like {_fmt(x)}"), fatal=True)
            return x
        return (x[0], *inputs[1][1:])
    if size is not None:
        return (x[0], *size)
    if scale is None:
        req.need(0, "upsample-args", "scale", lambda: "upsample needs scale or size", fatal=True)
        return x
    return (x[0], *(x[i + 1] * scale[i] for i in range(args.ndim)))


_MODE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_RANK_MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}


def upsample_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    n, m = inputs[0][axis + 1], _positions(out, axis)
    mode, corners = args["mode"], bool(args.get("align_corners"))
    res = []
    for o in range(m):
        if mode == "nearest":
            i = min(o * n // m, n - 1)
            res.append((i, i, 1))
            continue
        if mode == "nearest-exact":
            i = min((2 * o + 1) * n // (2 * m), n - 1)
            res.append((i, i, 1))
            continue
        if corners:
            src = Fraction(o * (n - 1), m - 1) if m > 1 else Fraction(0)
        else:
            src = max(Fraction((2 * o + 1) * n, 2 * m) - Fraction(1, 2), Fraction(0))
        base = math.floor(src)
        if src == base:  # a whole-number source: the neighbours' weights are exactly 0
            res.append((base, base, 1))
            continue
        lo, hi = (base - 1, base + 2) if mode == "bicubic" else (base, base + 1)
        res.append((max(lo, 0), min(hi, n - 1), 1))
    # `like` only lends its size: no position of it reaches the output
    return [res] + [[EMPTY] * len(res) for _ in inputs[1:]]


def pixel_shuffle_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    (x,) = inputs
    r = args["factor"]
    if args.ndim != 2 or len(x) != 3:
        req.need(0, "rank", "factor", lambda: (f"pixel_shuffle works on [C, H, W] inputs (torch.nn.PixelShuffle), "
                                               f"not {_fmt(x)}"), fatal=True)
        return x
    req.need(eq(x[0] % (r * r), 0), "pixel-shuffle", "factor",
             lambda: f"{x[0]} channels are not divisible by factor² = {r}² = {r * r}", fatal=True)
    return (fdiv(x[0], r * r), x[1] * r, x[2] * r)


def pixel_shuffle_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    r = args["factor"]
    return [[(o // r, o // r, 1) for o in range(_positions(out, axis))]]


def crop_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    x = inputs[0]
    if not _spatial("crop", args, x, req):
        return x
    like, amount = args.get("like"), args.get("amount")
    if (like is None) == (amount is None):
        req.need(0, "crop-args", "like", lambda: "crop needs exactly one of like (a layer) or amount", fatal=True)
        return x
    if like is not None and len(inputs[1]) != len(x):
        req.need(0, "rank", "like", lambda: (f"crop takes its size from {like}, which gives {_fmt(inputs[1])}: "
                                             f"not a [C, {', '.join(_axes(args))}] shape like {_fmt(x)}"), fatal=True)
        return x
    out: list[Value] = [x[0]]
    offset = args.get("offset")
    for i, ax in enumerate(_axes(args)):
        if like is not None and offset is not None:  # Caffe's crop: from the offset, not the centre
            target, off = inputs[1][i + 1], offset[i]
            if (c := le(off + target, x[i + 1])) is not True:
                req.need(c, "crop-size", "offset",
                         lambda: (f"cannot crop {target} ({like}) from offset {off} out of {x[i + 1]} on axis {ax}: "
                                  f"{off} + {target} = {off + target} > {x[i + 1]}"), fatal=True)
            out.append(target)
        elif like is not None:
            target = inputs[1][i + 1]
            diff = x[i + 1] - target
            if (c := ge(diff, 0)) is not True:
                req.need(c, "crop-size", "like",
                         lambda: f"cannot crop {x[i + 1]} down to {target} ({like}) on axis {ax}: the input is smaller",
                         fatal=True)
            exact = bool(args.get("_exact", False))
            if (c := eq(diff % 2, 0)) is not True:
                req.need(c, "crop-odd", "like",
                         lambda: (f"cropping {x[i + 1]} to {target} on axis {ax} removes {diff} "
                                  f"pixel{'' if isinstance(diff, int) and diff == 1 else 's'}, an odd number: "
                                  f"{fdiv(diff, 2)} before and {diff - fdiv(diff, 2)} after (the extra pixel comes off the end)"),
                         severity=Severity.ERROR if exact else Severity.WARNING)
            out.append(target)
        else:
            before, after = amount[i]
            y = x[i + 1] - before - after
            if (c := ge(y, 1)) is not True:
                req.need(c, "size", "amount",
                         lambda: f"cropping {before} + {after} pixels from {x[i + 1]} on axis {ax} leaves {y}", fatal=True)
            out.append(y)
    return tuple(out)


def crop_offsets(args: Args, inputs: Sequence[Shape]) -> list[Value]:
    """How many pixels come off the start of each axis (the export slices with this)."""
    if args.get("like") is not None and args.get("offset") is not None:
        return list(args["offset"])
    if args.get("like") is not None:
        return [fdiv(inputs[0][i + 1] - inputs[1][i + 1], 2) for i in range(args.ndim)]
    return [args["amount"][i][0] for i in range(args.ndim)]


def crop_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    off = crop_offsets(args, inputs)[axis]
    main = [(o + off, o + off, 1) for o in range(_positions(out, axis))]
    # `like` only lends its size: no position of it reaches the output
    return [main] + [[EMPTY] * len(main) for _ in inputs[1:]]


def pad_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    x = inputs[0]
    if not _spatial("pad", args, x, req):
        return x
    like, amount = args.get("like"), args.get("amount")
    if (like is None) == (amount is None):
        req.need(0, "pad-args", "like", lambda: "pad needs exactly one of like (a layer) or amount", fatal=True)
        return x
    if like is None:
        return (x[0], *(x[i + 1] + amount[i][0] + amount[i][1] for i in range(args.ndim)))
    if len(inputs[1]) != len(x):
        req.need(0, "rank", "like", lambda: (f"pad takes its size from {like}, which gives {_fmt(inputs[1])}: "
                                             f"not a [C, {', '.join(_axes(args))}] shape like {_fmt(x)}"), fatal=True)
        return x
    out: list[Value] = [x[0]]
    for i, ax in enumerate(_axes(args)):
        target = inputs[1][i + 1]
        if (c := ge(target, x[i + 1])) is not True:
            req.need(c, "pad-size", "like",
                     lambda: (f"cannot pad {x[i + 1]} up to {target} ({like}) on axis {ax}: the input is larger "
                              f"({target} - {x[i + 1]} = {target - x[i + 1]})"), fatal=True)
        out.append(target)
    return tuple(out)


def pad_before(args: Args, inputs: Sequence[Shape]) -> list[Value]:
    """How many pixels go before each axis: with ``like``, half the difference (an odd one:
    the extra pixel at the end, as ``diff // 2, diff - diff // 2`` in PyTorch U-Nets).

        >>> pad_before(Args({"like": "skip"}, 2), [(8, 5, 6), (8, 8, 6)])
        [1, 0]
    """
    if args.get("like") is not None:
        return [fdiv(inputs[1][i + 1] - inputs[0][i + 1], 2) for i in range(args.ndim)]
    return [args["amount"][i][0] for i in range(args.ndim)]


def pad_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    before, n = pad_before(args, inputs)[axis], inputs[0][axis + 1]
    main = [(o - before, o - before, 1) if 0 <= o - before < n else EMPTY for o in range(_positions(out, axis))]
    # `like` only lends its size: no position of it reaches the output
    return [main] + [[EMPTY] * len(main) for _ in inputs[1:]]


# -- merges -----------------------------------------------------------------------------------

def _merge_sizes(args: Args, inputs: Sequence[Shape], req: Req, first_axis: int, what: str) -> None:
    a = inputs[0]
    for j, b in enumerate(inputs[1:], start=1):
        if len(a) != len(b):
            req.need(0, "rank", "from", lambda: (f"{args.sources[0]} gives {_fmt(a)} but {args.sources[j]} gives "
                                                 f"{_fmt(b)}: not the same number of dimensions"), fatal=True)
            continue
        for n in range(first_axis, len(a)):
            if (c := eq(a[n], b[n])) is not True:
                req.need(c, "mismatch", "from",
                         lambda: (f"{args.sources[0]} gives {_dims(a, first_axis)} but "
                                  f"{_others(args, inputs, first_axis, j)}{what}"))
            # one message per pair of branches is enough
            if isinstance(a[n], int) and isinstance(b[n], int) and a[n] != b[n]:
                break


def _others(args: Args, inputs: Sequence[Shape], first_axis: int, j: int) -> str:
    """What the inputs that differ from the first give (``b gives 28x28 and c gives 32x32``):
    one report names every branch of a 3-way merge; from input ``j`` on when not all are known."""
    a = inputs[0]
    known = all(isinstance(v, int) for x in inputs for v in x)
    differ = [k for k in range(1, len(inputs)) if len(inputs[k]) != len(a) or inputs[k][first_axis:] != a[first_axis:]] \
        if known else [j]
    return " and ".join(f"{args.sources[k]} gives {_dims(inputs[k], first_axis)}" for k in differ)


def _dims(shape: Shape, first_axis: int) -> str:
    dims = shape[first_axis:]
    return "x".join(str(v) for v in dims) if first_axis else _fmt(dims)


def concat_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    # flat vectors concatenate along their only axis; any other mix of ranks is torch.cat's
    # "Tensors must have same number of dimensions", which _merge_sizes reports
    _merge_sizes(args, inputs, req, 1, "")
    channels: Value = inputs[0][0]
    for x in inputs[1:]:
        channels = channels + x[0]
    return (channels, *inputs[0][1:])


def add_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    _merge_sizes(args, inputs, req, 0, "")
    return inputs[0]


def merge_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    return [_identity(_positions(out, axis)) for _ in inputs]


# -- flat layers ------------------------------------------------------------------------------

def flatten_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    return (_prod(inputs[0]),)


def linear_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    # nn.Linear acts on the last dimension, whatever comes before it
    return (*inputs[0][:-1], args["out"])


def linear_params(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    return inputs[0][-1] * args["out"] + (args["out"] if args["bias"] else 0)


def linear_macs(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    return _prod(inputs[0]) * args["out"]


def same_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    return inputs[0]


def softmax_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    rank = len(inputs[0]) + 1  # torch sees the batch dimension too
    dim = args["dim"]
    req.need(both(ge(dim, -rank), lt(dim, rank)), "dim", "dim",
             lambda: (f"dim {dim} is out of range for a {rank}-dimensional tensor [N, {', '.join(map(str, inputs[0]))}] "
                      f"(expected {-rank}..{rank - 1})"))
    return inputs[0]


def groupnorm_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    x = inputs[0]
    req.need(eq(x[0] % args["groups"], 0), "groups", "groups",
             lambda: f"{x[0]} channels are not divisible by groups={args['groups']}")
    return x


def channel_norm_params(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    return 2 * inputs[0][0] if args["affine"] else 0


def layernorm_params(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    if not args["affine"]:
        return 0
    n = _prod(inputs[0])
    return 2 * n if args["bias"] else n


def batchnorm_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    return inputs[0]


def instancenorm_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    x = inputs[0]
    if not _spatial("instancenorm", args, x, req):
        return x  # torch's InstanceNorm would read [N, F] as an unbatched [C, L]
    if not args.get("track_running_stats"):
        req.need(gt(_prod(x[1:]), 1), "instancenorm-size", "from",
                 lambda: (f"instancenorm needs more than 1 spatial element, got {_fmt(x[1:])} (torch refuses it even "
                          "in eval mode unless track_running_stats is true)"))
    return x


def no_count(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    return 0


def same_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    return [_identity(_positions(out, axis))]


def whole_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    """Every output position sees every input position along the axis (flatten, layernorm)."""
    return [[(0, _positions(inputs[0], axis) - 1, 1)] * _positions(out, axis)]


def linear_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    """nn.Linear mixes its last dimension only."""
    if len(inputs[0]) == axis + 2:
        return whole_reach(args, axis, inputs, out)
    return same_reach(args, axis, inputs, out)


def _prod(xs: Sequence[Value]) -> Value:
    out: Value = 1
    for x in xs:
        out = out * x
    return out


# -- ops real networks need (issue 16): mul, reshape, maxunpool, prelu -------------------------

def _either(a: Value, b: Value) -> Value:
    return bool(a) or bool(b) if isinstance(a, int) and isinstance(b, int) else Bin("or", lift(a), lift(b))


def mul_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    """torch's broadcasting between tensors of one rank: per dimension, the sizes are equal or
    one of them is 1 (a squeeze-excitation gate [C, 1, 1] scales [C, H, W]); the output takes
    the larger.  Tensors of different ranks are refused: torch would align the batch axis with
    a size, and the result would depend on the batch.

        >>> from archsolve.ops.base import Collect
        >>> mul_shape(Args({}, 2, sources=("x", "gate")), [(8, 5, 5), (8, 1, 1)], Collect())
        (8, 5, 5)
    """
    out = list(inputs[0])
    for j, b in enumerate(inputs[1:], start=1):
        if len(b) != len(out):
            req.need(0, "rank", "from", lambda: (f"{args.sources[0]} gives {_fmt(inputs[0])} but {args.sources[j]} "
                                                 f"gives {_fmt(b)}: not the same number of dimensions"), fatal=True)
            continue
        for n, (a_n, b_n) in enumerate(zip(out, b, strict=True)):
            if (c := _either(eq(a_n, b_n), _either(eq(a_n, 1), eq(b_n, 1)))) is not True:
                req.need(c, "mismatch", "from",
                         lambda: (f"{_fmt(inputs[0])} and {args.sources[j]}'s {_fmt(b)} do not broadcast: "
                                  f"{a_n} and {b_n} in dimension {n} are neither equal nor 1"), fatal=True)
            out[n] = ite(eq(b_n, 1), a_n, b_n)
    return tuple(out)


def mul_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    """An input of size 1 along the axis (broadcast) reaches every output position from its one."""
    m = _positions(out, axis)
    return [[(0, 0, 1)] * m if _positions(x, axis) == 1 else _identity(m) for x in inputs]


def reshape_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    """``x.reshape(N, *shape)``: the same values in a new shape; an entry -1 is worked out from
    the others (torch's rule), every other entry must be positive.

        >>> from archsolve.ops.base import Collect
        >>> reshape_shape(Args({"shape": (-1, 4, 4)}, 2), [(4096,)], Collect())
        (256, 4, 4)
    """
    (x,) = inputs
    dims = args["shape"]
    total = _prod(x)
    inferred = [i for i, v in enumerate(dims) if isinstance(v, int) and v == -1]
    if len(inferred) > 1:
        req.need(0, "reshape-shape", "shape",
                 lambda: f"reshape to {_fmt(dims)}: only one entry may be -1 (torch infers one dimension)", fatal=True)
        return x
    for i, v in enumerate(dims):
        if i not in inferred and (c := ge(v, 1)) is not True:
            req.need(c, "reshape-shape", "shape",
                     lambda: f"reshape to {_fmt(dims)}: entry {i} is {v}, and must be positive (or -1, to be inferred)",
                     fatal=True)
            if c is False:
                return x
    known = _prod([v for i, v in enumerate(dims) if i not in inferred])
    values = " * ".join(str(v) for v in x)
    if inferred:
        req.need(eq(total % known, 0), "reshape-size", "shape",
                 lambda: (f"cannot reshape {_fmt(x)} ({values} = {total} values) to {_fmt(dims)}: {total} is not "
                          f"divisible by {' * '.join(str(v) for i, v in enumerate(dims) if i not in inferred)} "
                          f"= {known}"), fatal=True)
        return tuple(fdiv(total, known) if i in inferred else v for i, v in enumerate(dims))
    req.need(eq(known, total), "reshape-size", "shape",
             lambda: (f"cannot reshape {_fmt(x)} ({values} = {total} values) to {_fmt(dims)} "
                      f"({' * '.join(str(v) for v in dims)} = {known} values)"), fatal=True)
    return tuple(dims)


def maxunpool_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    """torch's MaxUnpoolNd built with its maxpool's kernel, stride and padding, given the pool's
    indices and, as ``output_size``, the pool's input size (or ``size``).  Its inputs: the layer's
    input, the pool's output (the indices' shape) and the pool's input.

        >>> from archsolve.ops.base import Collect
        >>> args = Args({"indices": "p", "kernel": (2,), "stride": (2,), "padding": (0,), "dilation": (1,),
        ...              "size": None}, 1)
        >>> maxunpool_shape(args, [(4, 3), (4, 3), (4, 7)], Collect())
        (4, 7)
    """
    x, pooled, before = inputs
    if not _spatial("maxunpool", args, x, req):
        return x
    pool = args["indices"]
    same: Value = True
    for a, b in zip(x, pooled, strict=True):
        same = both(same, eq(a, b))
    if same is not True:
        req.need(same, "unpool-indices", "indices",
                 lambda: (f"maxunpool takes {pool}'s indices, shaped {_fmt(pooled)}, but its input is {_fmt(x)} "
                          "(torch needs the two alike)"), fatal=True)
    # a window on padding only (a dilated pool's taps straddling a small input) gives an index
    # outside the input, which torch's unpool refuses
    _holes(args.with_values({"_holes": False}), req,
           [(before[i + 1], args["kernel"][i], args["stride"][i], args["padding"][i], args["padding"][i],
             args["dilation"][i], pooled[i + 1]) for i in range(args.ndim)],
           f"the maxpool {pool} whose indices maxunpool takes", conv_holes,
           note=("; their indices point outside the input: torch's maxunpool refuses them, or writes where the "
                 "flat index happens to land"))
    size = args.get("size")
    out = (x[0], *(size if size is not None else before[1:]))
    for i, ax in enumerate(_axes(args)):
        k, s, p, y = args["kernel"][i], args["stride"][i], args["padding"][i], out[i + 1]
        default = (x[i + 1] - 1) * s + k - 2 * p
        # said only of an input shaped like the indices: otherwise that is the error to fix first
        if (c := _either(eq(same, 0), both(lt(default - s, y), lt(y, default + s)))) is not True:
            req.need(c, "unpool-size", "size" if size is not None else "indices",
                     lambda: (f"output size {y} on axis {ax} is out of torch's range for a MaxUnpool with {pool}'s "
                              f"kernel {k}, stride {s}, padding {p}: ({x[i + 1]} - 1) * {s} + {k} - 2 * {p} = "
                              f"{default}, so it must lie between {default - s} and {default + s}, both excluded"),
                     fatal=True)
    if size is not None:
        # the indices count positions of the pool's input, row by row: a smaller plane may not hold them
        last: Value = 0
        for i in range(args.ndim):
            last = last * before[i + 1] + _last_position(before[i + 1], args["kernel"][i], args["stride"][i],
                                                         args["padding"][i], args["dilation"][i], pooled[i + 1])
        req.need(lt(last, _prod(size)), "unpool-size", "size",
                 lambda: (f"{pool}'s windows can pick position {last} of its input ({_fmt(before[1:])}, counted row by "
                          f"row), which a size {_fmt(size)} ({_prod(size)} positions) does not hold (torch raises "
                          "'invalid max index' when a maximum lies there)"))
    return out


def maxunpool_reach(args: Args, axis: int, inputs: Sequence[Shape], out: Shape) -> list[list[Window]]:
    """An output position gets a value from the pooled positions whose windows cover it: a
    transposed conv's geometry.  With a ``size`` of its own the positions are renumbered row by
    row, so any pooled position along the axis may land anywhere."""
    m = _positions(out, axis)
    lent = [[EMPTY] * m, [EMPTY] * m]  # the pool's output and input lend their sizes only
    if args.get("size") is not None:
        return [[(0, _positions(inputs[0], axis) - 1, 1)] * m, *lent]
    return [deconv_reach(args, axis, inputs, out)[0], *lent]


def prelu_params(args: Args, inputs: Sequence[Shape], out: Shape) -> Value:
    """One weight, or one per channel (torch's num_parameters)."""
    return inputs[0][0] if args["per_channel"] else 1


def lrn_shape(args: Args, inputs: Sequence[Shape], req: Req) -> Shape:
    """LocalResponseNorm normalises across channels at each position: torch wants a [C, *spatial] input."""
    (x,) = inputs
    _spatial("lrn", args, x, req)
    return x
