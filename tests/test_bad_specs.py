"""Malformed and broken spec files: each is refused with exit 2 and a message a user can act on.

CONTRACT §2: a bad spec exits 2, the message names the file, the line and the field, and no
Python traceback ever reaches the user.  Every case below is a YAML text written out verbatim
(so line numbers are deterministic), the key phrase the message must contain and, where the
problem stands at one place in the file, the line it must point at.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import pytest

try:  # tests/ may or may not be a package
    from .conftest import run_cli
except ImportError:
    from conftest import run_cli  # type: ignore[no-redef]


@dataclass(frozen=True)
class Case:
    text: str | bytes
    phrases: tuple[str, ...]  # each must appear in the output (case-insensitive)
    line: int | tuple[int, ...] | None  # the line (or any of the lines) the message must point at
    args: tuple[str, ...] = ()  # extra arguments to `archsolve check`
    names_file: bool = True  # False for command-line mistakes that are not the file's fault


def case(id_: str, text: str | bytes, phrases: str | tuple[str, ...], line: int | tuple[int, ...] | None,
         args: tuple[str, ...] = (), xfail: str | None = None, names_file: bool = True):
    if isinstance(text, str):
        text = dedent(text)
    if isinstance(phrases, str):
        phrases = (phrases,)
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(Case(text, phrases, line, args, names_file), id=id_, marks=marks)


# A valid head: layers start at line 3.
HEAD = "input: [3, 32, 32]\nlayers:\n"


def one(layer: str) -> str:
    """A spec whose only layer (on line 3) is ``layer`` (a flow mapping)."""
    return HEAD + f"  - {layer}\n"


CASES = [
    # -- malformed YAML -----------------------------------------------------------------------
    case("yaml-unclosed-flow-list", """\
        name: broken
        input: [3, 32, 32
        layers:
          - {op: relu}
        """, "malformed YAML", 3),
    case("yaml-bad-indentation", """\
        input: [3, 32, 32]
        layers:
          - op: conv
            out: 8
           kernel: 3
        """, "malformed YAML", 5),
    case("yaml-mapping-value-in-plain-scalar", """\
        input: [3, 32, 32]
        layers:
          - {op: relu}
        name: a: b
        """, "malformed YAML", 4),
    case("yaml-tab-indentation", "input: [3, 32, 32]\nlayers:\n\t- {op: relu}\n", "malformed YAML", 3),
    case("yaml-duplicate-key", """\
        input: [3, 32, 32]
        layers:
          - op: conv
            out: 8
            kernel: 3
            out: 16
        """, "duplicate key 'out'", 6),
    case("yaml-merge-key", """\
        base: &b {op: relu}
        input: [3, 32, 32]
        layers:
          - <<: *b
            name: r
        """, "merge keys", 4),
    case("yaml-too-deep", "input: [3, 32, 32]\nlayers: " + "[" * 150 + "]" * 150 + "\n", "nested", None),
    # -- the document is not a spec ------------------------------------------------------------
    case("empty-file", "", "empty", None),
    case("only-comments", "# nothing here\n# at all\n", "empty", None),
    case("bare-string", "hello world\n", ("must be a mapping", "text 'hello world'"), 1),
    case("bare-number", "42\n", "must be a mapping", 1),
    case("top-level-list", "- op: relu\n- op: conv\n", ("must be a mapping", "a list"), 1),
    case("missing-input", "layers:\n  - {op: relu}\n", "no 'input'", None),
    case("missing-layers", "input: [3, 32, 32]\n", "no 'layers'", None),
    case("unknown-top-key", """\
        input: [3, 32, 32]
        layers:
          - {op: relu}
        constraint:
          - relu1.C == 3
        """, ("unknown key 'constraint'", "did you mean 'constraints'"), 4),
    case("unknown-top-key-inputs", """\
        name: x
        inputs: [3, 32, 32]
        layers: [{op: relu}]
        """, ("unknown key 'inputs'", "did you mean 'input'"), 2),
    case("layers-empty", "input: [3, 32, 32]\nlayers: []\n", "non-empty list of layers", 2),
    case("layers-mapping", "input: [3, 32, 32]\nlayers:\n  relu: {}\n", "non-empty list of layers", 2),
    case("layer-not-mapping", HEAD + "  - {op: relu}\n  - relu\n", ("layer must be a mapping", "layers[1]"), 4),
    case("layer-without-op", one("{name: x, out: 3}"), "has no 'op'", 3),
    case("layer-op-and-block", """\
        input: [3, 32, 32]
        blocks:
          b: {layers: [{op: relu}]}
        layers:
          - {op: relu, block: b}
        """, "either 'op' or 'block'", 5),
    # -- input ---------------------------------------------------------------------------------
    case("input-empty", "input: []\nlayers: [{op: relu}]\n", ("input", "got 0 values"), 1),
    case("input-one-entry", "input: [3]\nlayers: [{op: relu}]\n", ("input", "got 1 values"), 1),
    case("input-five-entries", "input: [3, 8, 8, 8, 8]\nlayers: [{op: relu}]\n", ("input", "got 5 values"), 1),
    case("input-not-list", "layers: [{op: relu}]\ninput: 3x32x32\n", ("input", "text '3x32x32'"), 2),
    case("input-size-zero", "name: n\ninput: [3, 0, 32]\nlayers: [{op: relu}]\n",
         ("input[1]", "must be positive, got 0"), 2),
    case("input-size-negative", "name: n\ninput: [3, 32, -4]\nlayers: [{op: relu}]\n",
         ("input[2]", "must be positive, got -4"), 2),
    case("input-channels-zero", "input: [0, 32, 32]\nlayers: [{op: relu}]\n", ("input[0]", "positive"), 1),
    case("input-float", "input: [3, 32.5, 32]\nlayers: [{op: relu}]\n", ("input[1]", "expected an integer"), 1),
    # -- numbers where integers belong ---------------------------------------------------------
    case("kernel-float", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: c2, op: conv, out: 8, kernel: 2.5}
        """, ("layers[1] (c2).kernel", "expected an integer, got 2.5"), 4),
    case("kernel-integral-float", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernel: 3.0
        """, ("layers[0] (c1).kernel", "expected an integer", "write 3"), 6),
    case("kernel-bool", one("{name: c1, op: conv, out: 8, kernel: true}"), ("c1).kernel", "boolean"), 3),
    case("out-bool", one("{name: c1, op: conv, out: yes, kernel: 3}"), ("c1).out", "boolean"), 3),
    case("stride-null", one("{name: c1, op: conv, out: 8, kernel: 3, stride: null}"), ("c1).stride", "null"), 3),
    case("out-list", one("{name: c1, op: conv, out: [8, 8], kernel: 3}"), ("c1).out", "got a list"), 3),
    case("kernel-mapping", one("{name: c1, op: conv, out: 8, kernel: {h: 3}}"), ("c1).kernel", "mapping"), 3),
    case("bias-not-bool", one("{name: c1, op: conv, out: 8, kernel: 3, bias: 1}"),
         ("c1).bias", "expected true or false"), 3),
    case("kernel-list-float-element", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernel:
              - 3
              - 1.5
        """, ("kernel[1]", "expected an integer, got 1.5"), 8),
    # -- ops and fields ------------------------------------------------------------------------
    case("unknown-op-conv2d", one("{name: c1, op: conv2d, out: 8, kernel: 3}"),
         ("unknown op 'conv2d'", "did you mean 'conv'"), 3),
    case("unknown-op-maxpol", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - name: p1
            op: maxpol
            kernel: 2
        """, ("unknown op 'maxpol'", "did you mean 'maxpool'"), 5),
    case("op-not-text", one("{op: 3}"), "unknown op", 3),
    case("unknown-field-kernal", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernal: 3
        """, ("has no field 'kernal'", "did you mean 'kernel'"), 6),
    case("conv-without-out", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: c2, op: conv, kernel: 3}
        """, ("needs the field 'out'", "c2"), 4),
    case("maxpool-without-kernel", one("{name: p, op: maxpool}"), "needs the field 'kernel'", 3),
    case("kernel-zero", one("{name: c1, op: conv, out: 8, kernel: 0}"), ("c1).kernel", "positive, got 0"), 3),
    case("stride-zero", one("{name: c1, op: conv, out: 8, kernel: 3, stride: 0}"),
         ("c1).stride", "positive, got 0"), 3),
    case("dilation-zero", one("{name: c1, op: conv, out: 8, kernel: 3, dilation: 0}"),
         ("c1).dilation", "positive"), 3),
    case("groups-zero", one("{name: c1, op: conv, out: 8, kernel: 3, groups: 0}"), ("c1).groups", "positive"), 3),
    case("out-negative", one("{name: c1, op: conv, out: -8, kernel: 3}"), ("c1).out", "positive, got -8"), 3),
    case("padding-negative", one("{name: c1, op: conv, out: 8, kernel: 3, padding: -1}"),
         ("c1).padding", "at least 0, got -1"), 3),
    case("padding-negative-one-axis", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernel: 3
            padding: [1, -2]
        """, ("padding[1]", "at least 0, got -2"), 7),
    case("kernel-list-too-long", one("{name: c1, op: conv, out: 8, kernel: [3, 3, 3]}"),
         ("c1).kernel", "expected 2 values", "got 3"), 3),
    case("stride-list-too-short-3d", "input: [1, 8, 8, 8]\nlayers:\n  - {name: c1, op: conv, out: 8, kernel: 3, "
         "stride: [1, 2]}\n", ("c1).stride", "expected 3 values", "got 2"), 3),
    case("pad-amount-wrong-pair", one("{name: p, op: pad, amount: [[1, 2, 3], 1]}"), "[before, after]", 3),
    case("pad-amount-wrong-length", one("{name: p, op: pad, amount: [1, 2, 3]}"), ("p).amount", "expected 2"), 3),
    case("padding-typo-sme", one("{name: c1, op: conv, out: 8, kernel: 3, padding: sme}"),
         ("c1).padding", "did you mean 'same'"), 3),
    case("upsample-mode-typo", one("{name: u, op: upsample, scale: 2, mode: bilinearr}"),
         ("u).mode", "did you mean 'bilinear'"), 3),
    case("upsample-scale-and-size", one("{name: u, op: upsample, scale: 2, size: 64}"),
         "exactly one of 'scale' or 'size'", 3),
    case("upsample-neither", one("{name: u, op: upsample}"), "exactly one of 'scale' or 'size'", 3),
    case("crop-neither", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: cr, op: crop}
        """, "exactly one of 'like' (a layer) or 'amount'", 4),
    case("question-mark-cannot-be-unknown", one("{name: s, op: softmax, dim: '?'}"),
         ("s).dim", "cannot be unknown"), 3),
    case("question-mark-in-bool", one("{name: c1, op: conv, out: 8, kernel: 3, bias: '?'}"),
         ("c1).bias", "expected true or false"), 3),
    case("repeat-question-mark", one("{name: r, op: relu, repeat: '?'}"), ("r).repeat", "repeat must be"), 3),
    # -- names and wiring ----------------------------------------------------------------------
    case("duplicate-layer-name", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: r, op: relu}
          - {name: c1, op: conv, out: 8, kernel: 3}
        """, ("duplicate layer name 'c1'", "layers[2]"), 5),
    case("invalid-layer-name", one("{name: 'a-b', op: relu}"), "not a valid layer name", 3),
    case("reserved-layer-name", one("{name: input, op: relu}"), "not a valid layer name", 3),
    case("dangling-from", """\
        input: [3, 32, 32]
        layers:
          - {name: conv1, op: conv, out: 8, kernel: 3}
          - {name: r, op: relu, from: conv2}
        """, ("no layer named 'conv2'", "did you mean 'conv1'"), 4),
    case("dangling-from-in-merge", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: b, op: relu}
          - name: cat
            op: concat
            from: [a, nope]
        """, ("no layer named 'nope'", "cat"), 7),
    case("dangling-from-block-style", """\
        input: [3, 32, 32]
        layers:
          - name: conv1
            op: conv
            out: 8
            kernel: 3
          - name: r
            op: relu
            from: conv2
        """, ("no layer named 'conv2'", "did you mean 'conv1'"), 9),
    case("cycle", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: b, op: relu, from: c}
          - {name: c, op: relu, from: b}
        """, ("cycle", "b -> c", "c -> b"), (4, 5)),
    case("cycle-three", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu, from: c}
          - {name: b, op: relu}
          - {name: c, op: relu}
        """, ("cycle", "a -> b", "b -> c", "c -> a"), (3, 4, 5)),
    case("layer-reads-itself", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: b, op: relu, from: b}
        """, ("'b' reads its own output",), 4),
    case("merge-single-from", one("{name: cat, op: concat, from: input}"),
         ("cat).from", "a merge needs 'from' with a list of at least two"), 3),
    case("merge-list-of-one", one("{name: s, op: add, from: [input]}"), "at least two layers", 3),
    case("merge-no-from", one("{name: s, op: add}"), "at least two layers", 3),
    case("non-merge-list-from", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: b, op: relu}
          - {name: c, op: relu, from: [a, b]}
        """, ("c).from", "only merges"), 5),
    case("from-not-text", one("{name: a, op: relu, from: 3}"), ("a).from", "expected a layer name"), 3),
    case("repeat-zero", one("{name: r, op: relu, repeat: 0}"), ("r).repeat", "got 0"), 3),
    case("repeat-true", one("{name: r, op: relu, repeat: true}"), ("r).repeat", "boolean"), 3),
    case("repeat-huge", one("{name: r, op: relu, repeat: 10000000}"), ("r).repeat", "10000000"), 3),
    case("merge-with-repeat", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: s, op: add, from: [input, a], repeat: 2}
        """, ("s).repeat", "merge cannot be repeated"), 4),
    # -- blocks --------------------------------------------------------------------------------
    case("block-calls-itself", """\
        input: [3, 32, 32]
        blocks:
          loop:
            layers:
              - {op: relu}
              - {block: loop}
        layers:
          - {name: l, block: loop}
        """, ("calls itself", "loop -> loop"), 6),
    case("blocks-call-each-other", """\
        input: [3, 32, 32]
        blocks:
          a:
            layers:
              - {block: b}
          b:
            layers:
              - {op: relu}
              - {block: a}
        layers:
          - {name: x, block: a}
        """, ("calls itself", "a -> b -> a"), 9),
    case("unknown-block", """\
        input: [3, 32, 32]
        blocks:
          double_conv:
            layers: [{op: relu}]
        layers:
          - {name: d, block: doubleconv}
        """, ("unknown block 'doubleconv'", "did you mean 'double_conv'"), 6),
    case("block-missing-param", """\
        input: [3, 32, 32]
        blocks:
          dc:
            params: {c: null, k: 3}
            layers:
              - {op: conv, out: c, kernel: k}
        layers:
          - {name: enc, block: dc, k: 5}
        """, ("needs the parameter 'c'", "enc.c"), 8),
    case("block-unknown-param", """\
        input: [3, 32, 32]
        blocks:
          dc:
            params: {c: null, k: 3}
            layers:
              - {op: conv, out: c, kernel: k}
        layers:
          - name: enc
            block: dc
            c: 8
            kk: 5
        """, ("no parameter 'kk'", "did you mean 'k'"), 11),
    case("block-no-layers", """\
        input: [3, 32, 32]
        blocks:
          dc:
            params: {c: 8}
        layers:
          - {name: enc, block: dc}
        """, ("blocks.dc.layers", "non-empty list of layers"), 3),
    case("block-named-like-op", """\
        input: [3, 32, 32]
        blocks:
          conv:
            layers: [{op: relu}]
        layers:
          - {name: enc, block: conv}
        """, "named like the op", 3),
    case("block-bad-field-inside", """\
        input: [3, 32, 32]
        blocks:
          dc:
            params: {c: null}
            layers:
              - {op: conv, out: c, kernel: 2.5}
        layers:
          - {name: enc, block: dc, c: 8}
        """, ("kernel", "expected an integer, got 2.5"), 6),
    # -- vars, domains and expressions ---------------------------------------------------------
    case("var-min-greater-than-max", """\
        input: [3, H, H]
        vars:
          H: {min: 64, max: 32}
        layers: [{op: relu}]
        """, ("vars.H", "empty range: min 64 > max 32"), 3),
    case("var-beyond-the-largest-value", """\
        input: [3, H, H]
        vars:
          H: {min: 1, max: 10000000000000}
        layers: [{op: relu}]
        """, ("vars.H", "10000000000000 is beyond the largest value a domain may hold (10^12)"), 3),
    case("domain-set-beyond-the-largest-value", """\
        input: [3, 8, 8]
        domains: {stride: {in: [1, -10000000000000]}}
        layers: [{op: conv, out: 4, kernel: 3, stride: "?"}]
        """, ("domains.stride", "beyond the largest value"), 2),
    case("domain-below-the-field", """\
        input: [3, 8, 8]
        domains: {kernel: {min: 0, max: 3}}
        layers: [{op: conv, out: 4, kernel: "?"}]
        """, ("domains.kernel", "0 is below the smallest kernel there is (1)"), 2),
    case("var-missing-max", """\
        input: [3, H, H]
        vars:
          H: {min: 64}
        layers: [{op: relu}]
        """, ("vars.H", "'max' is missing"), 3),
    case("var-null", """\
        input: [3, H, H]
        vars:
          H: null
        layers: [{op: relu}]
        """, ("vars.H", "no domain"), 3),
    case("var-domain-typo", """\
        input: [3, H, H]
        vars:
          H: {mn: 1, max: 64}
        layers: [{op: relu}]
        """, ("unknown key 'mn'", "did you mean 'min'"), 3),
    case("var-in-with-float", """\
        input: [3, H, H]
        vars:
          H: {in: [32, 64.5]}
        layers: [{op: relu}]
        """, ("vars.H", "expected an integer"), 3),
    case("var-cycle", """\
        input: [3, a, b]
        vars:
          a: b
          b: a
        layers: [{op: relu}]
        """, ("cycle", "a -> b -> a"), 3),
    case("var-invalid-name", """\
        input: [3, 32, 32]
        vars:
          max: {min: 1, max: 3}
        layers: [{op: relu}]
        """, "not a valid variable name", 3),
    case("domains-unknown-field", """\
        input: [3, 32, 32]
        domains:
          strides: {min: 1, max: 2}
        layers: [{op: relu}]
        """, ("no field 'strides'", "did you mean 'stride'"), 3),
    case("unknown-name-in-expression", """\
        input: [3, 32, 32]
        vars:
          kernel_size: {in: [3, 5]}
        layers:
          - {name: c1, op: conv, out: 8, kernel: kernel_sise}
        """, ("unknown name 'kernel_sise'", "did you mean 'kernel_size'"), 5),
    case("expression-single-slash", one("{name: c1, op: conv, out: 8, kernel: '6 / 2'}"),
         ("c1).kernel", "use // for integer division"), 3),
    case("expression-unbalanced", one("{name: c1, op: conv, out: 8, kernel: '(3 + 1'}"),
         ("c1).kernel", "unexpected end"), 3),
    case("expression-comparison-in-value", one("{name: c1, op: conv, out: 8, kernel: '3 > 2'}"),
         ("c1).kernel", "not allowed here"), 3),
    case("expression-layer-attribute-in-value", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: c2, op: conv, out: c1.C, kernel: 3}
        """, ("c2).out", "only allowed in constraints"), 4),
    case("expression-unknown-function", one("{name: c1, op: conv, out: 8, kernel: 'abs(3)'}"),
         ("c1).kernel", "unknown function 'abs'"), 3),
    case("expression-too-long", one("{name: c1, op: conv, out: 8, kernel: '" + "1+" * 5000 + "1'}"),
         ("c1).kernel", "characters long"), 3),
    case("constraint-syntax", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        constraints:
          - r.C == 3
          - r.H === 32
        """, ("constraints[1]", "unexpected"), 5),
    case("constraint-unknown-layer", """\
        input: [3, 32, 32]
        layers: [{name: relu1, op: relu}]
        constraints:
          - relu2.C == 3
        """, ("no layer named 'relu2'", "did you mean 'relu1'"), 4),
    case("constraint-bad-attribute", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        constraints:
          - r.chanels == 3
        """, ("no attribute 'chanels'",), 4),
    case("minimize-garbage", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        minimize: "params +"
        """, ("minimize", "unexpected end"), 3),
    # -- expression injection: parsed by a whitelist parser, never eval --------------------------
    case("inject-import-os-system", one("""{name: c1, op: conv, out: 8, kernel: "__import__('os').system('true')"}"""),
         ("c1).kernel", "not"), 3),
    case("inject-dunder-class", """\
        input: [3, 32, 32]
        vars:
          k: {in: [3]}
        layers:
          - {name: c1, op: conv, out: 8, kernel: "k.__class__"}
        """, "c1).kernel", 5),
    case("inject-eval-call", one("{name: c1, op: conv, out: 8, kernel: 'eval(1)'}"),
         ("c1).kernel", "unknown function 'eval'"), 3),
    case("inject-conditional-expression", one("{name: c1, op: conv, out: 8, kernel: '1 if 1 else 2'}"),
         ("c1).kernel", "unexpected 'if'"), 3),
    case("inject-lambda", one("{name: c1, op: conv, out: 8, kernel: 'lambda: 1'}"), ("c1).kernel", "unexpected"), 3),
    case("inject-in-constraint", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        constraints:
          - "r.C.__class__.__base__ == 3"
        """, "constraints[0]", 4),
    # -- YAML tags that would build Python objects ---------------------------------------------
    case("tag-python-object-apply", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernel: !!python/object/apply:os.system ["true"]
        """, ("tag", "not allowed"), 6),
    case("tag-python-name", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
        name: !!python/name:os.system
        """, ("tag", "not allowed"), 4),
    case("tag-local", "input: [3, 32, 32]\nlayers: !mylist [{op: relu}]\n", ("tag", "not allowed"), 2),
    # -- top-level settings ------------------------------------------------------------------
    case("semantics-tf-int-padding", """\
        name: n
        semantics: tf
        input: [3, 32, 32]
        layers: [{op: conv, out: 4, kernel: 3, padding: 1}]
        """, ("padding", "with semantics: tf, padding is 'same' or 'valid'"), 4),
    case("semantics-keras", """\
        name: n
        semantics: keras
        input: [3, 32, 32]
        layers: [{op: relu}]
        """, ("semantics", "'torch' or 'tf'", "keras"), 2),
    case("exact-maybe", """\
        input: [3, 32, 32]
        layers: [{op: relu}]
        exact: maybe
        """, ("exact", "expected true or false"), 3),
    # -- specs `check` cannot run, and bad --set values ----------------------------------------
    case("check-with-unknowns", one("{name: c1, op: conv, out: 8, kernel: '?'}"),
         ("unknown", "c1.kernel", "archsolve solve"), None),
    case("set-bad-value", """\
        input: [3, H, H]
        vars:
          H: {min: 8, max: 64}
        layers: [{op: relu}]
        """, ("--set", "NAME=INTEGER"), None, args=("--set", "H=big"), names_file=False),
    case("set-float-value", """\
        input: [3, H, H]
        vars:
          H: {min: 8, max: 64}
        layers: [{op: relu}]
        """, ("--set", "NAME=INTEGER"), None, args=("--set", "H=32.5"), names_file=False),
    case("set-no-equals", """\
        input: [3, H, H]
        vars:
          H: {min: 8, max: 64}
        layers: [{op: relu}]
        """, ("--set", "NAME=INTEGER"), None, args=("--set", "H"), names_file=False),
    case("set-unknown-name", """\
        input: [3, Height, Height]
        vars:
          Height: {min: 8, max: 64}
        layers: [{op: relu}]
        """, ("no var or unknown 'Heigt'", "did you mean 'Height'"), None, args=("--set", "Heigt=32"), names_file=False),
    case("set-non-positive-size", """\
        input: [3, H, H]
        vars:
          H: {min: 8, max: 64}
        layers: [{op: relu}]
        """, ("H", "outside the domain"), None, args=("--set", "H=0")),
    # -- more values and expressions -----------------------------------------------------------
    case("expression-division-by-zero", one("{name: c1, op: conv, out: 8, kernel: '3 // 0'}"),
         ("c1.kernel", "division by zero"), 3),
    case("expression-modulo-zero", one("{name: c1, op: conv, out: 8, kernel: '3 % 0'}"), "division by zero", 3),
    case("expression-evaluates-negative", one("{name: c1, op: conv, out: 8, kernel: '2 - 5'}"),
         ("c1.kernel", "positive", "-3"), 3),
    case("expression-padding-negative", one("{name: c1, op: conv, out: 8, kernel: 3, padding: '0 - 1'}"),
         ("c1.padding", "at least 0", "-1"), 3),
    case("expression-nested-too-deep", one("{name: c1, op: conv, out: 8, kernel: '" + "(" * 400 + "3"
                                            + ")" * 400 + "'}"), ("kernel", "nested"), 3),
    case("kernel-infinity", one("{name: c1, op: conv, out: 8, kernel: .inf}"), ("c1).kernel", "inf"), 3),
    case("kernel-nan", one("{name: c1, op: conv, out: 8, kernel: .nan}"), ("c1).kernel", "nan"), 3),
    case("tag-int-bad-value", one("{name: c1, op: conv, out: 8, kernel: !!int abc}"), "abc", 3),
    case("tag-float-bad-value", one("{name: c1, op: conv, out: 8, kernel: !!float abc}"), "abc", 3),
    case("tag-bool-bad-value", one("{name: c1, op: conv, out: 8, bias: !!bool abc}"), "abc", 3),
    case("tag-set", one("{name: c1, op: conv, out: 8, kernel: !!set {a}}"), ("tag", "not allowed"), 3),
    case("yaml-complex-key", one("{[1, 2]: 3, op: relu}"), "keys must be plain words", 3),
    case("yaml-two-documents", HEAD + "  - {op: relu}\n---\n" + HEAD + "  - {op: relu}\n", "malformed YAML", 4),
    case("yaml-bad-escape", one('{op: "\\ud800"}'), "malformed YAML", 3),
    case("latin1-bytes", b"name: caf\xe9\ninput: [3, 8, 8]\nlayers: [{op: relu}]\n", "not UTF-8", None),
    case("minimize-unknown-name", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        minimize: parms
        """, ("unknown name 'parms'", "did you mean 'params'"), 3),
    case("constraints-not-a-list", HEAD + "  - {op: relu}\nconstraints: relu1.C == 3\n",
         ("constraints", "expected a list"), 4),
    case("crop-like-dangling", one("{name: c, op: crop, like: nope}"), ("c).like", "no layer named 'nope'"), 3),
    case("var-expression-unknown-name", """\
        input: [3, H, W]
        vars:
          H: {min: 8, max: 16}
          W: HH
        layers: [{op: relu}]
        """, ("vars.W", "unknown name 'HH'", "did you mean 'H'"), 4),
    case("var-in-empty", """\
        input: [3, H, H]
        vars:
          H: {in: []}
        layers: [{op: relu}]
        """, ("vars.H", "non-empty list"), 3),
    case("blocks-not-a-mapping", "input: [3, 32, 32]\nblocks: [1]\nlayers: [{op: relu}]\n",
         ("blocks", "expected a mapping"), 2),
    case("block-param-float-default", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {k: 2.5}
            layers: [{op: conv, out: 3, kernel: k}]
        layers:
          - {block: b}
        """, ("blocks.b.params.k", "expected an integer, got 2.5"), 4),
    case("block-param-reserved-name", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {from: 3}
            layers: [{op: relu}]
        layers:
          - {block: b}
        """, "'from' is not a valid parameter name", 4),
    case("block-unknown-name-inside", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {k: 3}
            layers:
              - {op: conv, out: 3, kernel: kk}
        layers:
          - {name: x, block: b}
        """, ("x/conv1.kernel", "unknown name 'kk'", "did you mean 'k'"), 6),
    case("set-unknown-to-zero", one("{name: c1, op: conv, out: 8, kernel: '?'}"), ("c1.kernel", "positive"), 3,
         args=("--set", "c1.kernel=0")),
    # -- not a text file ---------------------------------------------------------------------
    case("binary-file", bytes(range(256)) * 4, "not UTF-8", None),
    case("nul-bytes", b"input: [3, 32, 32]\x00\nlayers: []\n", "NUL", None),
]


def _check(path: Path, *args: str) -> tuple[int, str]:
    return run_cli("check", str(path), *args)


def _assert_refused(code: int, out: str, path: Path | str, phrases: tuple[str, ...],
                    line: int | tuple[int, ...] | None, names_file: bool = True) -> None:
    assert "Traceback" not in out, out
    assert "internal error" not in out, out
    assert code == 2, f"exit {code}, expected 2:\n{out}"
    low = out.lower()
    for phrase in phrases:
        assert phrase.lower() in low, f"{phrase!r} not in:\n{out}"
    if names_file:
        assert str(path) in out, f"the message does not name the file {path}:\n{out}"
    if line is not None:
        lines = (line,) if isinstance(line, int) else line
        assert any(f"{path}:{n}:" in out for n in lines), f"the message does not point at line {line}:\n{out}"


@pytest.mark.parametrize("bad", CASES)
def test_bad_spec_is_refused(bad: Case, tmp_path: Path, spec_file) -> None:
    if isinstance(bad.text, bytes):
        path = tmp_path / "spec.yaml"
        path.write_bytes(bad.text)
    else:
        path = spec_file(bad.text)
    code, out = _check(path, *bad.args)
    _assert_refused(code, out, path, bad.phrases, bad.line, bad.names_file)


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 50


# -- injections must not run: each one would create a file ------------------------------------

INJECTIONS = {
    "import-os-system": ("kernel", "__import__('os').system('touch {p}')", None),
    "builtins-open": ("kernel", "open('{p}', 'w')", None),
    "dunder-chain": ("kernel", "().__class__.__base__.__subclasses__()", None),
    "exec-in-constraint": ("constraint", "exec(\"open('{p}', 'w')\") == 0", None),
    "os-system-in-var": ("var", "__import__('os').system('touch {p}')", None),
}


@pytest.mark.parametrize("where", sorted(INJECTIONS))
def test_injection_runs_nothing(where: str, tmp_path: Path, spec_file) -> None:
    target = Path(f"/tmp/archsolve-pwned-{uuid.uuid4().hex}")
    place, payload, _ = INJECTIONS[where]
    payload = payload.replace("{p}", str(target)).replace('"', '\\"')
    if place == "kernel":
        text = one(f'{{name: c1, op: conv, out: 8, kernel: "{payload}"}}')
    elif place == "constraint":
        text = HEAD + "  - {name: r, op: relu}\nconstraints:\n" + f'  - "{payload}"\n'
    else:
        text = f'input: [3, H, H]\nvars:\n  H: "{payload}"\n' + "layers: [{op: relu}]\n"
    path = spec_file(text)
    try:
        code, out = _check(path)
        assert not target.exists(), f"the injection ran: {target} was created"
        assert code == 2 and "Traceback" not in out, out
        assert str(path) in out
    finally:
        if target.exists():
            target.unlink()


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['touch {p}']",
    "!!python/object/new:os.system ['touch {p}']",
    "!!python/name:os.system",
    "!!python/object:os.system {}",
])
def test_python_tags_build_nothing(tag: str, tmp_path: Path, spec_file) -> None:
    target = Path(f"/tmp/archsolve-pwned-{uuid.uuid4().hex}")
    text = HEAD + "  - name: c1\n    op: conv\n    out: 8\n    kernel: " + tag.replace("{p}", str(target)) + "\n"
    path = spec_file(text)
    try:
        code, out = _check(path)
        assert not target.exists(), f"a YAML tag ran code: {target} was created"
        _assert_refused(code, out, path, ("tag", "not allowed"), 6)
    finally:
        if target.exists():
            target.unlink()


# -- resource limits ----------------------------------------------------------------------------

def _billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines += ["input: [3, 32, 32]", f"layers: *a{levels}"]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly(spec_file) -> None:
    path = spec_file(_billion_laughs())
    start = time.monotonic()
    code, out = _check(path)
    elapsed = time.monotonic() - start
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert code == 2 and "Traceback" not in out, out
    assert str(path) in out
    assert "alias" in out.lower() or "more than" in out.lower(), out


def test_alias_bomb_inside_a_layer_is_refused_quickly(spec_file) -> None:
    text = _billion_laughs().replace("layers: *a9", "layers:\n  - {op: relu, comment: *a9}")
    path = spec_file(text)
    start = time.monotonic()
    code, out = _check(path)
    assert time.monotonic() - start < 10
    assert code == 2 and "Traceback" not in out, out
    assert str(path) in out


def test_huge_garbage_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "garbage.yaml"
    rng = os.urandom(1024 * 1024)
    path.write_bytes(b"".join(bytes((b % 94) + 33 for b in rng) for _ in range(10)))  # 10 MB printable
    start = time.monotonic()
    code, out = _check(path)
    assert time.monotonic() - start < 10
    _assert_refused(code, out, path, ("bytes",), None)


def test_huge_yaml_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(HEAD + "  - {op: relu}\n" * 800_000)  # ~12 MB of valid-looking YAML
    start = time.monotonic()
    code, out = _check(path)
    assert time.monotonic() - start < 10
    _assert_refused(code, out, path, ("bytes",), None)


def test_many_layers_stay_quick(spec_file) -> None:
    """Not an error, but must not hang: a long plain network checks in seconds."""
    path = spec_file(HEAD + "  - {op: relu}\n" * 20_000)
    start = time.monotonic()
    code, out = _check(path)
    assert time.monotonic() - start < 20
    assert code == 0 and "Traceback" not in out, out[-2000:]


def _run_limited(path: Path, limit: float) -> tuple[int, str, float]:
    """`archsolve check PATH` in a child process, killed after ``limit`` seconds."""
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "archsolve", "check", str(path)], capture_output=True,
                              text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"archsolve check {path.name} ran for more than {limit} s")
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def test_repeat_of_a_block_is_not_quadratic(spec_file) -> None:
    path = spec_file("""\
input: [3, 8, 8]
blocks:
  b: {layers: [{op: relu}]}
layers:
  - {block: b, repeat: 10000}
""")
    code, out, _ = _run_limited(path, 5.0)  # linear: 0.5 s; quadratic was 7 s
    assert code == 0 and "Traceback" not in out, out[-2000:]


def test_long_1d_input_is_quick(spec_file) -> None:
    path = spec_file("input: [1, 3000000]\nlayers:\n  - {op: conv, out: 1, kernel: 3}\n  - {op: maxpool, kernel: 2}\n")
    code, out, _ = _run_limited(path, 15.0)
    assert code == 0 and "Traceback" not in out, out[-2000:]


# -- valid specs that must not crash either ------------------------------------------------------

NESTED_REPEATS = {
    "repeat-of-block-ending-in-block-call": """\
input: [3, 8, 8]
blocks:
  inner: {layers: [{op: relu}]}
  outer: {layers: [{block: inner}]}
layers:
  - {name: x, block: outer, repeat: 2}
""",
    "repeat-of-block-ending-in-repeat": """\
input: [3, 8, 8]
blocks:
  inner: {layers: [{op: relu, repeat: 2}]}
  outer: {layers: [{block: inner, repeat: 2}]}
layers:
  - {name: x, block: outer}
""",
}


@pytest.mark.parametrize("name", sorted(NESTED_REPEATS))
def test_nested_repeats_check(name: str, spec_file) -> None:
    code, out = _check(spec_file(NESTED_REPEATS[name]))
    assert "internal error" not in out and "Traceback" not in out, out
    assert code == 0, out


def test_nested_blocks_without_repeat_check(spec_file) -> None:
    """The same nesting without the repeat works: the xfail above is about repeat alone."""
    code, out = _check(spec_file("""\
input: [3, 8, 8]
blocks:
  inner: {layers: [{op: relu, repeat: 2}]}
  outer: {layers: [{block: inner}]}
layers:
  - {name: x, block: outer}
"""))
    assert code == 0, out


# -- the path itself is wrong -------------------------------------------------------------------

def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "no-such-spec.yaml"
    code, out = _check(path)
    assert "Traceback" not in out
    assert code == 2, out
    assert "no-such-spec.yaml" in out
    assert "does not exist" in out.lower() or "no such file" in out.lower(), out


def test_folder_as_spec(tmp_path: Path) -> None:
    folder = tmp_path / "specs.d"
    folder.mkdir()
    code, out = _check(folder)
    assert "Traceback" not in out
    assert code == 2, out
    assert "specs.d" in out
    assert "directory" in out.lower() or "folder" in out.lower(), out


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path, spec_file) -> None:
    path = spec_file(one("{op: relu}"))
    path.chmod(0)
    code, out = _check(path)
    assert code == 2 and "Traceback" not in out, out
    assert "permission" in out.lower()


def test_check_with_unknowns_names_solve_in_json_mode(spec_file) -> None:
    path = spec_file(one("{name: c1, op: conv, out: 8, kernel: '?'}"))
    code, out = _check(path, "--json")
    assert code == 2 and "Traceback" not in out, out
    assert "archsolve solve" in out
