"""Malformed and broken spec files: each is refused with exit 2 and a message a user can act on.

docs/exit-codes.md: a bad spec exits 2, the message names the file, the line and the field, and no
Python traceback ever reaches the user.  Every case below is a YAML text written out verbatim
(so line numbers are deterministic) and the whole message ``check`` must print for it: where
it points ("LINE:COLUMN" after the file's path) and what it says.  The YAML parser's own
words are libyaml's (PyYAML's wheels bundle it; the project reads specs with its C loader).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import pytest

try:  # tests/ may or may not be a package
    from .conftest import run_cli, run_cli_split
except ImportError:
    from conftest import run_cli, run_cli_split  # type: ignore[no-redef]


@dataclass(frozen=True)
class Case:
    text: str | bytes
    # where the message points after the file's path: "LINE:COLUMN", "" for the file as a
    # whole, None for a command-line mistake that names no file
    at: str | None
    message: str  # the rest of the message, exactly; {path} stands for the spec's path
    args: tuple[str, ...] = ()  # extra arguments to `archsolve check`


def case(id_: str, text: str | bytes, at: str | None, message: str, args: tuple[str, ...] = ()):
    return pytest.param(Case(dedent(text) if isinstance(text, str) else text, at, message, args), id=id_)


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
        """, "3:7", "malformed YAML: did not find expected ',' or ']'"),
    case("yaml-bad-indentation", """\
        input: [3, 32, 32]
        layers:
          - op: conv
            out: 8
           kernel: 3
        """, "5:4", "malformed YAML: did not find expected '-' indicator"),
    case("yaml-mapping-value-in-plain-scalar", """\
        input: [3, 32, 32]
        layers:
          - {op: relu}
        name: a: b
        """, "4:8", "malformed YAML: mapping values are not allowed in this context"),
    case("yaml-tab-indentation", "input: [3, 32, 32]\nlayers:\n\t- {op: relu}\n",
         "3:1", "malformed YAML: a tab character; YAML indents with spaces only (replace the tab with spaces)"),
    case("yaml-duplicate-key", """\
        input: [3, 32, 32]
        layers:
          - op: conv
            out: 8
            kernel: 3
            out: 16
        """, "6:5", "duplicate key 'out'"),
    case("yaml-merge-key", """\
        base: &b {op: relu}
        input: [3, 32, 32]
        layers:
          - <<: *b
            name: r
        """, "4:5", "YAML merge keys (<<) are not supported; use blocks"),
    case("yaml-too-deep", "input: [3, 32, 32]\nlayers: " + "[" * 150 + "]" * 150 + "\n",
         "2:109", "the document is nested more than 100 levels deep"),
    # -- the document is not a spec ------------------------------------------------------------
    case("empty-file", "", "", "the file is empty; a spec needs at least 'input' and 'layers'"),
    case("only-comments", "# nothing here\n# at all\n",
         "", "the file is empty; a spec needs at least 'input' and 'layers'"),
    case("bare-string", "hello world\n",
         "1:1", "a spec must be a mapping with 'input' and 'layers', not text 'hello world'"),
    case("bare-number", "42\n",
         "1:1", "a spec must be a mapping with 'input' and 'layers', not the number 42"),
    case("top-level-list", "- op: relu\n- op: conv\n",
         "1:1", "a spec must be a mapping with 'input' and 'layers', not a list"),
    case("missing-input", "layers:\n  - {op: relu}\n", "1:1", "input: the spec has no 'input'"),
    case("missing-layers", "input: [3, 32, 32]\n", "1:1", "layers: the spec has no 'layers'"),
    case("unknown-top-key", """\
        input: [3, 32, 32]
        layers:
          - {op: relu}
        constraint:
          - relu1.C == 3
        """, "4:1", "constraint: unknown key 'constraint' (did you mean 'constraints'?)"),
    case("unknown-top-key-inputs", """\
        name: x
        inputs: [3, 32, 32]
        layers: [{op: relu}]
        """, "2:1", "inputs: unknown key 'inputs' (did you mean 'input'?)"),
    case("layers-empty", "input: [3, 32, 32]\nlayers: []\n",
         "2:1", "layers: expected a non-empty list of layers"),
    case("layers-mapping", "input: [3, 32, 32]\nlayers:\n  relu: {}\n",
         "2:1", "layers: expected a non-empty list of layers"),
    case("layer-not-mapping", HEAD + "  - {op: relu}\n  - relu\n",
         "4:5", "layers[1]: a layer must be a mapping like {op: conv, ...}, got text 'relu'"),
    case("layer-without-op", one("{name: x, out: 3}"),
         "3:5", "layers[0] (x): the layer has no 'op' (or 'block')"),
    case("layer-op-and-block", """\
        input: [3, 32, 32]
        blocks:
          b: {layers: [{op: relu}]}
        layers:
          - {op: relu, block: b}
        """, "5:5", "layers[0] (relu1): a layer has either 'op' or 'block', not both"),
    # -- input ---------------------------------------------------------------------------------
    case("input-empty", "input: []\nlayers: [{op: relu}]\n",
         "1:1", "input: expected [channels, then 1, 2 or 3 spatial sizes], e.g. [3, 224, 224], got 0 values"),
    case("input-one-entry", "input: [3]\nlayers: [{op: relu}]\n",
         "1:1", "input: expected [channels, then 1, 2 or 3 spatial sizes], e.g. [3, 224, 224], got 1 values"),
    case("input-five-entries", "input: [3, 8, 8, 8, 8]\nlayers: [{op: relu}]\n",
         "1:1", "input: expected [channels, then 1, 2 or 3 spatial sizes], e.g. [3, 224, 224], got 5 values"),
    case("input-not-list", "layers: [{op: relu}]\ninput: 3x32x32\n",
         "2:8", "input: expected [channels, then 1, 2 or 3 spatial sizes], e.g. [3, 224, 224], "
                "got text '3x32x32'"),
    case("input-size-zero", "name: n\ninput: [3, 0, 32]\nlayers: [{op: relu}]\n",
         "2:12", "input[1]: must be positive, got 0"),
    case("input-size-negative", "name: n\ninput: [3, 32, -4]\nlayers: [{op: relu}]\n",
         "2:16", "input[2]: must be positive, got -4"),
    case("input-channels-zero", "input: [0, 32, 32]\nlayers: [{op: relu}]\n",
         "1:9", "input[0]: must be positive, got 0"),
    case("input-float", "input: [3, 32.5, 32]\nlayers: [{op: relu}]\n",
         "1:12", "input[1]: expected an integer, got 32.5"),
    # -- numbers where integers belong ---------------------------------------------------------
    case("kernel-float", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: c2, op: conv, out: 8, kernel: 2.5}
        """, "4:42", "layers[1] (c2).kernel: expected an integer, got 2.5"),
    case("kernel-integral-float", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernel: 3.0
        """, "6:13", "layers[0] (c1).kernel: expected an integer, got 3.0 (write 3)"),
    case("kernel-bool", one("{name: c1, op: conv, out: 8, kernel: true}"),
         "3:42", "layers[0] (c1).kernel: expected an integer or an expression, got a boolean (true)"),
    case("out-bool", one("{name: c1, op: conv, out: yes, kernel: 3}"),
         "3:31", "layers[0] (c1).out: expected an integer or an expression, got a boolean (true)"),
    case("stride-null", one("{name: c1, op: conv, out: 8, kernel: 3, stride: null}"),
         "3:53", "layers[0] (c1).stride: expected an integer or an expression, got nothing (null)"),
    case("out-list", one("{name: c1, op: conv, out: [8, 8], kernel: 3}"),
         "3:26", "layers[0] (c1).out: expected one integer, got a list"),
    case("kernel-mapping", one("{name: c1, op: conv, out: 8, kernel: {h: 3}}"),
         "3:34", "layers[0] (c1).kernel: expected an integer or an expression, got a mapping"),
    case("bias-not-bool", one("{name: c1, op: conv, out: 8, kernel: 3, bias: 1}"),
         "3:51", "layers[0] (c1).bias: expected true or false, got the number 1"),
    case("kernel-list-float-element", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernel:
              - 3
              - 1.5
        """, "8:9", "layers[0] (c1).kernel[1]: expected an integer, got 1.5"),
    # -- ops and fields ------------------------------------------------------------------------
    case("unknown-op-conv2d", one("{name: c1, op: conv2d, out: 8, kernel: 3}"),
         "3:20", "layers[0] (c1).op: unknown op 'conv2d' (did you mean 'conv'?)"),
    case("unknown-op-maxpol", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - name: p1
            op: maxpol
            kernel: 2
        """, "5:9", "layers[1] (p1).op: unknown op 'maxpol' (did you mean 'maxpool'?)"),
    case("op-not-text", one("{op: 3}"), "3:10", "layers[0] (layer1).op: unknown op 3"),
    case("unknown-field-kernal", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernal: 3
        """, "6:13", "layers[0] (c1).kernal: conv has no field 'kernal' (did you mean 'kernel'?)"),
    case("conv-without-out", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: c2, op: conv, kernel: 3}
        """, "4:5", "layers[1] (c2).out: conv needs the field 'out'"),
    case("maxpool-without-kernel", one("{name: p, op: maxpool}"),
         "3:5", "layers[0] (p).kernel: maxpool needs the field 'kernel'"),
    case("kernel-zero", one("{name: c1, op: conv, out: 8, kernel: 0}"),
         "3:42", "layers[0] (c1).kernel: must be positive, got 0"),
    case("stride-zero", one("{name: c1, op: conv, out: 8, kernel: 3, stride: 0}"),
         "3:53", "layers[0] (c1).stride: must be positive, got 0"),
    case("dilation-zero", one("{name: c1, op: conv, out: 8, kernel: 3, dilation: 0}"),
         "3:55", "layers[0] (c1).dilation: must be positive, got 0"),
    case("groups-zero", one("{name: c1, op: conv, out: 8, kernel: 3, groups: 0}"),
         "3:53", "layers[0] (c1).groups: must be positive, got 0"),
    case("out-negative", one("{name: c1, op: conv, out: -8, kernel: 3}"),
         "3:31", "layers[0] (c1).out: must be positive, got -8"),
    case("padding-negative", one("{name: c1, op: conv, out: 8, kernel: 3, padding: -1}"),
         "3:54", "layers[0] (c1).padding: must be at least 0, got -1"),
    case("padding-negative-one-axis", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernel: 3
            padding: [1, -2]
        """, "7:18", "layers[0] (c1).padding[1]: must be at least 0, got -2"),
    case("kernel-list-too-long", one("{name: c1, op: conv, out: 8, kernel: [3, 3, 3]}"),
         "3:34", "layers[0] (c1).kernel: expected 2 values (one per spatial axis: H, W), got 3"),
    case("stride-list-too-short-3d", "input: [1, 8, 8, 8]\nlayers:\n  - {name: c1, op: conv, out: 8, kernel: 3, "
         "stride: [1, 2]}\n",
         "3:45", "layers[0] (c1).stride: expected 3 values (one per spatial axis: D, H, W), got 2"),
    case("pad-amount-wrong-pair", one("{name: p, op: pad, amount: [[1, 2, 3], 1]}"),
         "3:33", "layers[0] (p).amount[0]: expected [before, after]"),
    case("pad-amount-wrong-length", one("{name: p, op: pad, amount: [1, 2, 3]}"),
         "3:24", "layers[0] (p).amount: expected 2 values (one per spatial axis), got 3"),
    # -- the ops of issue 16 ----------------------------------------------------------------------
    case("op-typo-prleu", one("{name: p, op: prleu}"),
         "3:19", "layers[0] (p).op: unknown op 'prleu' (did you mean 'prelu'?)"),
    case("prelu-per-chanel", one("{name: p, op: prelu, per_chanel: true}"),
         "3:38", "layers[0] (p).per_chanel: prelu has no field 'per_chanel' (did you mean 'per_channel'?)"),
    case("softplus-treshold", one("{name: s, op: softplus, treshold: 10}"),
         "3:39", "layers[0] (s).treshold: softplus has no field 'treshold' (did you mean 'threshold'?)"),
    case("elu-alpha-text", one("{name: e, op: elu, alpha: big}"),
         "3:31", "layers[0] (e).alpha: expected a number, got text 'big'"),
    case("lrn-without-size", one("{name: n, op: lrn}"), "3:5", "layers[0] (n).size: lrn needs the field 'size'"),
    case("reshape-question-mark", one("{name: r, op: reshape, shape: ['?', 4, 8]}"),
         "3:36", "layers[0] (r).shape[0]: a shape takes no '?': its sizes follow from the input; write -1 for the "
                 "one entry to work out"),
    case("reshape-two-minus-ones", one("{name: r, op: reshape, shape: [-1, -1, 8]}"),
         "3:40", "layers[0] (r).shape[1]: only one entry may be -1 (torch works out one size), got -1 at 0 and 1"),
    case("reshape-zero", one("{name: r, op: reshape, shape: [3, 0, 8]}"),
         "3:39", "layers[0] (r).shape[1]: must be positive, or -1 for the entry to work out, got 0"),
    case("reshape-minus-two", one("{name: r, op: reshape, shape: [-2, 4, 8]}"),
         "3:36", "layers[0] (r).shape[0]: must be positive, or -1 for the entry to work out, got -2"),
    case("reshape-two-entries-in-2d", one("{name: r, op: reshape, shape: [3, 64]}"),
         "3:28", "layers[0] (r).shape: expected a shape: [C, H, W] or [features], got 2 values"),
    case("reshape-not-a-list", one("{name: r, op: reshape, shape: 64}"),
         "3:35", "layers[0] (r).shape: expected a shape: [C, H, W] or [features], got the number 64"),
    case("maxunpool-without-indices", one("{name: u, op: maxunpool}"),
         "3:5", "layers[0] (u).indices: maxunpool needs the field 'indices'"),
    case("maxunpool-indices-unknown-layer", one("{name: u, op: maxunpool, indices: pool}"),
         "3:39", "layers[0] (u).indices: no layer named 'pool'"),
    case("maxunpool-indices-of-input", one("{name: u, op: maxunpool, indices: input}"),
         "3:39", "layers[0] (u).indices: maxunpool takes the indices of a maxpool, but 'input' is the network's "
                 "input"),
    case("maxunpool-indices-of-conv", HEAD + "  - {name: c, op: conv, out: 3, kernel: 1}\n"
         "  - {name: u, op: maxunpool, indices: c}\n",
         "4:39", "layers[1] (u).indices: maxunpool takes the indices of a maxpool, but 'c' is a conv"),
    case("maxunpool-kernel-written", HEAD + "  - {name: p, op: maxpool, kernel: 2}\n"
         "  - {name: u, op: maxunpool, indices: p, kernel: 2}\n",
         "4:50", "layers[1] (u).kernel: maxunpool has no field 'kernel'"),
    case("maxunpool-tf", "semantics: tf\n" + HEAD + "  - {name: p, op: maxpool, kernel: 2}\n"
         "  - {name: u, op: maxunpool, indices: p}\n",
         "5:39", "layers[1] (u).indices: maxunpool is torch's (MaxUnpool): there is none with semantics: tf"),
    case("padding-typo-sme", one("{name: c1, op: conv, out: 8, kernel: 3, padding: sme}"),
         "3:54", "layers[0] (c1).padding: expected an integer, an expression or one of same, valid; "
                 "got 'sme' (did you mean 'same'?)"),
    case("upsample-mode-typo", one("{name: u, op: upsample, scale: 2, mode: bilinearr}"),
         "3:45", "layers[0] (u).mode: expected one of nearest, nearest-exact, linear, bilinear, "
                 "bicubic, trilinear; got text 'bilinearr' (did you mean 'bilinear'?)"),
    case("upsample-scale-and-size", one("{name: u, op: upsample, scale: 2, size: 64}"),
         "3:5", "layers[0] (u): upsample needs exactly one of 'scale', 'size' or 'like' (a layer)"),
    case("upsample-neither", one("{name: u, op: upsample}"),
         "3:5", "layers[0] (u): upsample needs exactly one of 'scale', 'size' or 'like' (a layer)"),
    case("crop-neither", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: cr, op: crop}
        """, "4:5", "layers[1] (cr): crop needs exactly one of 'like' (a layer) or 'amount'"),
    # wording to improve: the field is named twice
    case("question-mark-cannot-be-unknown", one("{name: s, op: softmax, dim: '?'}"),
         "3:33", "layers[0] (s).dim: cannot be unknown ('?'): the field has no domain for solve to choose from"),
    case("question-mark-in-bool", one("{name: c1, op: conv, out: 8, kernel: 3, bias: '?'}"),
         "3:51", "layers[0] (c1).bias: expected true or false, got text '?'"),
    case("repeat-question-mark", one("{name: r, op: relu, repeat: '?'}"),
         "3:33", "layers[0] (r).repeat: repeat cannot be unknown ('?'): the number of copies is part of the "
                 "network, not a size to solve for"),
    # -- names and wiring ----------------------------------------------------------------------
    case("duplicate-layer-name", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: r, op: relu}
          - {name: c1, op: conv, out: 8, kernel: 3}
        """, "5:12", "layers[2] (c1).name: duplicate layer name 'c1'"),
    # wording to improve: names the field but not the layer (layers[0])
    case("invalid-layer-name", one("{name: 'a-b', op: relu}"),
         "3:12", "name: 'a-b' is not a valid layer name "
                 "(letters, digits and _; not activations, and, in, input, macs, max, memory, min, not, or, params)"),
    case("reserved-layer-name", one("{name: input, op: relu}"),
         "3:12", "name: 'input' is not a valid layer name "
                 "(letters, digits and _; not activations, and, in, input, macs, max, memory, min, not, or, params)"),
    case("dangling-from", """\
        input: [3, 32, 32]
        layers:
          - {name: conv1, op: conv, out: 8, kernel: 3}
          - {name: r, op: relu, from: conv2}
        """, "4:31", "layers[1] (r).from: no layer named 'conv2' (did you mean 'conv1'?)"),
    case("dangling-from-in-merge", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: b, op: relu}
          - name: cat
            op: concat
            from: [a, nope]
        """, "7:15", "layers[2] (cat).from: no layer named 'nope'"),
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
        """, "9:11", "layers[1] (r).from: no layer named 'conv2' (did you mean 'conv1'?)"),
    case("cycle", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: b, op: relu, from: c}
          - {name: c, op: relu, from: b}
        """, "4:5", "b.from: the layers form a cycle: b -> c -> b"),
    case("cycle-three", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu, from: c}
          - {name: b, op: relu}
          - {name: c, op: relu}
        """, "3:5", "a.from: the layers form a cycle: a -> b -> c -> a"),
    case("layer-reads-itself", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: b, op: relu, from: b}
        """, "4:5", "b.from: layer 'b' reads its own output"),
    case("upsample-like-itself", """\
        input: [3, 32, 32]
        layers:
          - {name: r, op: upsample, like: r}
        """, "3:5", "r.like: layer 'r' reads its own output"),
    case("merge-single-from", one("{name: cat, op: concat, from: input}"),
         "3:35", "layers[0] (cat).from: a merge needs 'from' with a list of at least two layers"),
    case("merge-list-of-one", one("{name: s, op: add, from: [input]}"),
         "3:24", "layers[0] (s).from: a merge needs 'from' with a list of at least two layers"),
    case("merge-no-from", one("{name: s, op: add}"),
         "3:5", "layers[0] (s).from: a merge needs 'from' with a list of at least two layers"),
    case("non-merge-list-from", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: b, op: relu}
          - {name: c, op: relu, from: [a, b]}
        """, "5:25", "layers[2] (c).from: only merges (concat, add) read several layers; got 2"),
    case("from-not-text", one("{name: a, op: relu, from: 3}"),
         "3:31", "layers[0] (a).from: expected a layer name, got the number 3"),
    case("repeat-zero", one("{name: r, op: relu, repeat: 0}"),
         "3:33", "layers[0] (r).repeat: repeat must be in 1..10000, got 0"),
    case("repeat-true", one("{name: r, op: relu, repeat: true}"),
         "3:33", "layers[0] (r).repeat: repeat must be an integer in 1..10000, got a boolean (true)"),
    case("repeat-huge", one("{name: r, op: relu, repeat: 10000000}"),
         "3:33", "layers[0] (r).repeat: repeat must be in 1..10000, got 10000000"),
    case("merge-with-repeat", """\
        input: [3, 32, 32]
        layers:
          - {name: a, op: relu}
          - {name: s, op: add, from: [input, a], repeat: 2}
        """, "4:50", "layers[1] (s).repeat: a merge cannot be repeated"),
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
        """, "6:17", "l/loop2.block: block 'loop' calls itself (loop -> loop)"),
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
        """, "9:17", "x/b1/a2.block: block 'a' calls itself (a -> b -> a)"),
    case("unknown-block", """\
        input: [3, 32, 32]
        blocks:
          double_conv:
            layers: [{op: relu}]
        layers:
          - {name: d, block: doubleconv}
        """, "6:22", "layers[0] (d).block: unknown block 'doubleconv' (did you mean 'double_conv'?)"),
    case("block-missing-param", """\
        input: [3, 32, 32]
        blocks:
          dc:
            params: {c: null, k: 3}
            layers:
              - {op: conv, out: c, kernel: k}
        layers:
          - {name: enc, block: dc, k: 5}
        """, "8:5", "enc.c: block 'dc' needs the parameter 'c'"),
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
        """, "11:9", "enc.kk: block 'dc' has no parameter 'kk' (did you mean 'k'?)"),
    case("block-no-layers", """\
        input: [3, 32, 32]
        blocks:
          dc:
            params: {c: 8}
        layers:
          - {name: enc, block: dc}
        """, "3:3", "blocks.dc.layers: a block needs a non-empty list of layers"),
    case("block-named-like-op", """\
        input: [3, 32, 32]
        blocks:
          conv:
            layers: [{op: relu}]
        layers:
          - {name: enc, block: conv}
        """, "3:3", "blocks.conv: a block cannot be named like the op 'conv'"),
    case("block-bad-field-inside", """\
        input: [3, 32, 32]
        blocks:
          dc:
            params: {c: null}
            layers:
              - {op: conv, out: c, kernel: 2.5}
        layers:
          - {name: enc, block: dc, c: 8}
        """, "6:36", "enc/conv1.kernel: expected an integer, got 2.5"),
    # -- vars, domains and expressions ---------------------------------------------------------
    case("var-min-greater-than-max", """\
        input: [3, H, H]
        vars:
          H: {min: 64, max: 32}
        layers: [{op: relu}]
        """, "3:3", "vars.H: empty range: min 64 > max 32"),
    case("var-beyond-the-largest-value", """\
        input: [3, H, H]
        vars:
          H: {min: 1, max: 10000000000000}
        layers: [{op: relu}]
        """, "3:20", "vars.H: 10000000000000 is beyond the largest value a domain may hold (10^12)"),
    # wording to improve: a negative value "beyond the largest value"
    case("domain-set-beyond-the-largest-value", """\
        input: [3, 8, 8]
        domains: {stride: {in: [1, -10000000000000]}}
        layers: [{op: conv, out: 4, kernel: 3, stride: "?"}]
        """, "2:28", "domains.stride: -10000000000000 is beyond the largest value a domain may hold (10^12)"),
    case("domain-below-the-field", """\
        input: [3, 8, 8]
        domains: {kernel: {min: 0, max: 3}}
        layers: [{op: conv, out: 4, kernel: "?"}]
        """, "2:25", "domains.kernel: 0 is below the smallest kernel there is (1)"),
    case("var-missing-max", """\
        input: [3, H, H]
        vars:
          H: {min: 64}
        layers: [{op: relu}]
        """, "3:3", "vars.H: the range needs both min and max ('max' is missing)"),
    case("var-null", """\
        input: [3, H, H]
        vars:
          H: null
        layers: [{op: relu}]
        """, "3:6", "vars.H: variable 'H' has no domain: "
                    "give {min: .., max: ..}, {in: [..]} or an expression"),
    case("var-domain-typo", """\
        input: [3, H, H]
        vars:
          H: {mn: 1, max: 64}
        layers: [{op: relu}]
        """, "3:3", "vars.H: unknown key 'mn' (did you mean 'min'?); "
                    "a domain is {min: A, max: B} or {in: [..]}, with an optional default: N"),
    case("var-in-with-float", """\
        input: [3, H, H]
        vars:
          H: {in: [32, 64.5]}
        layers: [{op: relu}]
        """, "3:16", "vars.H: expected an integer, got a decimal number (64.5)"),
    case("var-cycle", """\
        input: [3, a, b]
        vars:
          a: b
          b: a
        layers: [{op: relu}]
        """, "3:6", "vars.a: variables depend on each other in a cycle: a -> b -> a"),
    case("var-invalid-name", """\
        input: [3, 32, 32]
        vars:
          max: {min: 1, max: 3}
        layers: [{op: relu}]
        """, "3:3", "vars.max: 'max' is not a valid variable name"),
    case("domains-unknown-field", """\
        input: [3, 32, 32]
        domains:
          strides: {min: 1, max: 2}
        layers: [{op: relu}]
        """, "3:3", "domains.strides: no field 'strides' takes unknowns (did you mean 'stride'?)"),
    case("unknown-name-in-expression", """\
        input: [3, 32, 32]
        vars:
          kernel_size: {in: [3, 5]}
        layers:
          - {name: c1, op: conv, out: 8, kernel: kernel_sise}
        """, "5:42", "layers[0] (c1).kernel: unknown name 'kernel_sise' in 'kernel_sise' "
                     "(did you mean 'kernel_size'?)"),
    case("expression-single-slash", one("{name: c1, op: conv, out: 8, kernel: '6 / 2'}"),
         "3:42", "layers[0] (c1).kernel: unexpected '/' at column 3 of '6 / 2' "
                 "(use // for integer division)"),
    case("expression-unbalanced", one("{name: c1, op: conv, out: 8, kernel: '(3 + 1'}"),
         "3:42", "layers[0] (c1).kernel: unexpected end of '(3 + 1': expected ')'"),
    case("expression-comparison-in-value", one("{name: c1, op: conv, out: 8, kernel: '3 > 2'}"),
         "3:42", "layers[0] (c1).kernel: comparisons and and/or/not are not allowed here: '3 > 2'"),
    case("expression-layer-attribute-in-value", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
          - {name: c2, op: conv, out: c1.C, kernel: 3}
        """, "4:31", "layers[1] (c2).out: 'c1.C' in 'c1.C': "
                     "layer attributes are only allowed in constraints"),
    case("expression-unknown-function", one("{name: c1, op: conv, out: 8, kernel: 'abs(3)'}"),
         "3:42", "layers[0] (c1).kernel: unknown function 'abs' in 'abs(3)' (only min and max)"),
    case("expression-too-long", one("{name: c1, op: conv, out: 8, kernel: '" + "1+" * 5000 + "1'}"),
         "3:42", "layers[0] (c1).kernel: expression is 10001 characters long (the limit is 1000)"),
    case("constraint-syntax", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        constraints:
          - r.C == 3
          - r.H === 32
        """, "5:5", "constraints[1]: unexpected '=' at column 7 of 'r.H === 32'"),
    case("constraint-unknown-layer", """\
        input: [3, 32, 32]
        layers: [{name: relu1, op: relu}]
        constraints:
          - relu2.C == 3
        """, "4:5", "constraints[0]: 'relu2.C': no layer named 'relu2' (did you mean 'relu1'?)"),
    case("constraint-bad-attribute", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        constraints:
          - r.chanels == 3
        """, "4:5", "constraints[0]: 'r.chanels': a layer has no attribute 'chanels' "
                    "(it has C, H, W, shape, params, macs)"),
    case("minimize-garbage", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        minimize: "params +"
        """, "3:11", "minimize: unexpected end of 'params +'"),
    # -- expression injection: parsed by a whitelist parser, never eval --------------------------
    case("inject-import-os-system", one("""{name: c1, op: conv, out: 8, kernel: "__import__('os').system('true')"}"""),
         "3:42", "layers[0] (c1).kernel: unexpected \"'\" at column 12 of "
                 "\"__import__('os').system('true')\" (strings are not expressions)"),
    case("inject-dunder-class", """\
        input: [3, 32, 32]
        vars:
          k: {in: [3]}
        layers:
          - {name: c1, op: conv, out: 8, kernel: "k.__class__"}
        """, "5:42", "layers[0] (c1).kernel: 'k.__class__' in 'k.__class__': "
                     "layer attributes are only allowed in constraints"),  # wording to improve: k is a var
    case("inject-eval-call", one("{name: c1, op: conv, out: 8, kernel: 'eval(1)'}"),
         "3:42", "layers[0] (c1).kernel: unknown function 'eval' in 'eval(1)' (only min and max)"),
    case("inject-conditional-expression", one("{name: c1, op: conv, out: 8, kernel: '1 if 1 else 2'}"),
         "3:42", "layers[0] (c1).kernel: unexpected 'if' at column 3 of '1 if 1 else 2'"),
    case("inject-lambda", one("{name: c1, op: conv, out: 8, kernel: 'lambda: 1'}"),
         "3:42", "layers[0] (c1).kernel: unexpected ':' at column 7 of 'lambda: 1'"),
    case("inject-in-constraint", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        constraints:
          - "r.C.__class__.__base__ == 3"
        """, "4:5", "constraints[0]: 'r.C.__class__.__base__' in 'r.C.__class__.__base__ == 3' "
                    "is not a valid name"),
    # -- YAML tags that would build Python objects ---------------------------------------------
    case("tag-python-object-apply", """\
        input: [3, 32, 32]
        layers:
          - name: c1
            op: conv
            out: 8
            kernel: !!python/object/apply:os.system ["true"]
        """, "6:13", "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed in a spec"),
    case("tag-python-name", """\
        input: [3, 32, 32]
        layers:
          - {name: c1, op: conv, out: 8, kernel: 3}
        name: !!python/name:os.system
        """, "4:7", "YAML tag 'tag:yaml.org,2002:python/name:os.system' is not allowed in a spec "
                    "(only plain values)"),
    case("tag-local", "input: [3, 32, 32]\nlayers: !mylist [{op: relu}]\n",
         "2:9", "YAML tag '!mylist' is not allowed in a spec"),
    # -- top-level settings ------------------------------------------------------------------
    case("semantics-tf-int-padding", """\
        name: n
        semantics: tf
        input: [3, 32, 32]
        layers: [{op: conv, out: 4, kernel: 3, padding: 1}]
        """, "4:49", "layers[0] (conv1).padding: "
                     "with semantics: tf, padding is 'same' or 'valid' (TensorFlow/Keras), got the number 1"),
    case("semantics-keras", """\
        name: n
        semantics: keras
        input: [3, 32, 32]
        layers: [{op: relu}]
        """, "2:12", "semantics: expected 'torch' or 'tf', got text 'keras'"),
    case("exact-maybe", """\
        input: [3, 32, 32]
        layers: [{op: relu}]
        exact: maybe
        """, "3:8", "exact: expected true or false, got text 'maybe'"),
    # -- specs `check` cannot run, and bad --set values ----------------------------------------
    case("check-with-unknowns", one("{name: c1, op: conv, out: 8, kernel: '?'}"),
         "", "the spec has 1 unknown value(s) ('?'): c1.kernel; "
             "'archsolve solve {path}' fills them in (or give them with --set NAME=VALUE)"),
    case("set-bad-value", """\
        input: [3, H, H]
        vars:
          H: {min: 8, max: 64}
        layers: [{op: relu}]
        """, None, "--set 'H=big': expected NAME=INTEGER, e.g. --set H=572", args=("--set", "H=big")),
    case("set-float-value", """\
        input: [3, H, H]
        vars:
          H: {min: 8, max: 64}
        layers: [{op: relu}]
        """, None, "--set 'H=32.5': expected NAME=INTEGER, e.g. --set H=572", args=("--set", "H=32.5")),
    case("set-no-equals", """\
        input: [3, H, H]
        vars:
          H: {min: 8, max: 64}
        layers: [{op: relu}]
        """, None, "--set 'H': expected NAME=INTEGER, e.g. --set H=572", args=("--set", "H")),
    case("set-unknown-name", """\
        input: [3, Height, Height]
        vars:
          Height: {min: 8, max: 64}
        layers: [{op: relu}]
        """, "", "--set Heigt: the spec has no var or unknown 'Heigt' (did you mean 'Height'?)",
         args=("--set", "Heigt=32")),
    case("set-non-positive-size", """\
        input: [3, H, H]
        vars:
          H: {min: 8, max: 64}
        layers: [{op: relu}]
        """, "", "--set H=0 is outside the domain of H (8..64)", args=("--set", "H=0")),
    # -- more values and expressions -----------------------------------------------------------
    case("expression-division-by-zero", one("{name: c1, op: conv, out: 8, kernel: '3 // 0'}"),
         "3:5", "c1.kernel: division by zero in 3 // 0"),
    case("expression-modulo-zero", one("{name: c1, op: conv, out: 8, kernel: '3 % 0'}"),
         "3:5", "c1.kernel: division by zero in 3 % 0"),
    case("expression-evaluates-negative", one("{name: c1, op: conv, out: 8, kernel: '2 - 5'}"),
         "3:5", "c1.kernel: must be positive, but evaluates to -3"),
    case("expression-padding-negative", one("{name: c1, op: conv, out: 8, kernel: 3, padding: '0 - 1'}"),
         "3:5", "c1.padding: must be at least 0, but evaluates to -1"),
    case("expression-nested-too-deep", one("{name: c1, op: conv, out: 8, kernel: '" + "(" * 400 + "3"
                                            + ")" * 400 + "'}"),
         "3:42", "layers[0] (c1).kernel: parentheses nested more than 50 deep in '" + "(" * 40 + "'..."),
    case("kernel-infinity", one("{name: c1, op: conv, out: 8, kernel: .inf}"),
         "3:42", "layers[0] (c1).kernel: expected an integer, got inf"),
    case("kernel-nan", one("{name: c1, op: conv, out: 8, kernel: .nan}"),
         "3:42", "layers[0] (c1).kernel: expected an integer, got nan"),
    # wording to improve: these three name no field (layers[0] (c1).kernel)
    case("tag-int-bad-value", one("{name: c1, op: conv, out: 8, kernel: !!int abc}"),
         "3:42", "'abc' is not a valid int"),
    case("tag-float-bad-value", one("{name: c1, op: conv, out: 8, kernel: !!float abc}"),
         "3:42", "'abc' is not a valid float"),
    case("tag-bool-bad-value", one("{name: c1, op: conv, out: 8, bias: !!bool abc}"),
         "3:40", "'abc' is not a valid bool"),
    case("tag-set", one("{name: c1, op: conv, out: 8, kernel: !!set {a}}"),
         "3:42", "YAML tag 'tag:yaml.org,2002:set' is not allowed in a spec"),
    case("yaml-complex-key", one("{[1, 2]: 3, op: relu}"), "3:6", "mapping keys must be plain words"),
    case("yaml-two-documents", HEAD + "  - {op: relu}\n---\n" + HEAD + "  - {op: relu}\n",
         "4:1", "malformed YAML: but found another document"),
    case("yaml-bad-escape", one('{op: "\\ud800"}'),
         "3:13", "malformed YAML: found invalid Unicode character escape code"),
    case("latin1-bytes", b"name: caf\xe9\ninput: [3, 8, 8]\nlayers: [{op: relu}]\n",
         "", "not UTF-8 text (byte 9)"),
    case("minimize-unknown-name", """\
        input: [3, 32, 32]
        layers: [{name: r, op: relu}]
        minimize: parms
        """, "3:11", "minimize: unknown name 'parms' (did you mean 'params'?)"),
    case("constraints-not-a-list", HEAD + "  - {op: relu}\nconstraints: relu1.C == 3\n",
         "4:14", "constraints: expected a list of expressions, got text 'relu1.C == 3'"),
    case("crop-like-dangling", one("{name: c, op: crop, like: nope}"),
         "3:31", "layers[0] (c).like: no layer named 'nope'"),
    case("var-expression-unknown-name", """\
        input: [3, H, W]
        vars:
          H: {min: 8, max: 16}
          W: HH
        layers: [{op: relu}]
        """, "4:6", "vars.W: unknown name 'HH' in 'HH' (did you mean 'H'?)"),
    case("var-in-empty", """\
        input: [3, H, H]
        vars:
          H: {in: []}
        layers: [{op: relu}]
        """, "3:7", "vars.H: 'in' needs a non-empty list of integers"),
    case("blocks-not-a-mapping", "input: [3, 32, 32]\nblocks: [1]\nlayers: [{op: relu}]\n",
         "2:1", "blocks: expected a mapping of block names to blocks, got a list"),
    case("block-param-float-default", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {k: 2.5}
            layers: [{op: conv, out: 3, kernel: k}]
        layers:
          - {block: b}
        """, "4:17", "blocks.b.params.k: expected an integer, got 2.5"),
    case("block-param-reserved-name", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {from: 3}
            layers: [{op: relu}]
        layers:
          - {block: b}
        """, "4:20", "blocks.b.params: 'from' is not a valid parameter name"),
    case("block-unknown-name-inside", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {k: 3}
            layers:
              - {op: conv, out: 3, kernel: kk}
        layers:
          - {name: x, block: b}
        """, "6:36", "x/conv1.kernel: unknown name 'kk' in 'kk' (did you mean 'k'?)"),
    case("set-unknown-to-zero", one("{name: c1, op: conv, out: 8, kernel: '?'}"),
         "3:5", "c1.kernel: must be positive, but evaluates to 0", args=("--set", "c1.kernel=0")),
    # -- block arguments that are lists or layers, repeat from a parameter (#16) -----------
    case("list-argument-where-one-integer-belongs", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {k: 3}
            layers:
              - {name: c, op: conv, out: k, kernel: 3}
        layers:
          - {name: b1, block: b, k: [1, 7]}
        """, "6:34", "b1/c.out: b1.k is a list ([1, 7]: one value per axis), but b1/c.out takes one integer"),
    case("list-argument-inside-a-list", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {k: 3}
            layers:
              - {name: c, op: conv, out: 4, kernel: [k, 3]}
        layers:
          - {name: b1, block: b, k: [1, 7]}
        """, "6:46", "b1/c.kernel[0]: b1.k is a list ([1, 7]: one value per axis), but b1/c.kernel[0] takes "
                     "one integer"),
    case("list-argument-wrong-length", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {k: 3}
            layers:
              - {name: c, op: conv, out: 4, kernel: k}
        layers:
          - {name: b1, block: b, k: [1, 7, 7]}
        """, "8:26", "b1.k: expected 2 values (a list argument has one per spatial axis: H, W), got 3"),
    case("list-argument-entry-not-an-integer", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {k: 3}
            layers:
              - {name: c, op: conv, out: 4, kernel: k}
        layers:
          - {name: b1, block: b, k: [1, 2.5]}
        """, "8:33", "b1.k[1]: expected an integer, got 2.5"),
    case("layer-argument-unknown-layer", """\
        input: [3, 32, 32]
        blocks:
          dec:
            params: {skip: null}
            layers:
              - {name: cat, op: concat, from: [in, skip]}
        layers:
          - {name: enc3, op: conv, out: 4, kernel: 1}
          - {name: d, block: dec, skip: enc4}
        """, "9:33", "d.skip: no layer named 'enc4' (did you mean 'enc3'?)"),
    case("layer-argument-not-a-name", """\
        input: [3, 32, 32]
        blocks:
          dec:
            params: {skip: null}
            layers:
              - {name: cut, op: crop, like: skip}
        layers:
          - {name: d, block: dec, skip: 3}
        """, "8:33", "d.skip: expected a layer name (block 'dec' reads 'skip' in 'from' or 'like'), got "
                     "the number 3"),
    case("layer-argument-used-as-a-number", """\
        input: [3, 32, 32]
        blocks:
          dec:
            params: {skip: null}
            layers:
              - {name: cat, op: concat, from: [in, skip]}
              - {name: c, op: conv, out: skip, kernel: 1}
        layers:
          - {name: e, op: conv, out: 4, kernel: 1}
          - {name: d, block: dec, skip: e}
        """, "7:34", "d/c.out: d.skip names a layer ('skip' is read in 'from' or 'like'), but d/c.out takes "
                     "an integer"),
    case("layer-argument-missing", """\
        input: [3, 32, 32]
        blocks:
          dec:
            params: {skip: null}
            layers:
              - {name: cat, op: concat, from: [in, skip]}
        layers:
          - {name: d, block: dec}
        """, "8:5", "d.skip: block 'dec' needs the parameter 'skip'"),
    case("repeat-parameter-zero", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {n: 1}
            layers:
              - {name: r, op: relu, repeat: n}
        layers:
          - {name: b1, block: b, n: 0}
        """, "6:37", "b1/r.repeat: repeat 'n' is 0 at the call b1: it must be in 1..10000"),
    case("repeat-parameter-unknown", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {n: 1}
            layers:
              - {name: r, op: relu, repeat: n + 1}
        layers:
          - {name: b1, block: b, n: '?'}
        """, "6:37", "b1/r.repeat: repeat 'n + 1' must be a whole number at each call, but at the call b1 it is "
                     "b1.n + 1, which names b1.n (a var or '?' is only known when solved)"),
    case("repeat-parameter-misspelt", """\
        input: [3, 32, 32]
        blocks:
          b:
            params: {count: 1}
            layers:
              - {name: r, op: relu, repeat: cuont}
        layers:
          - {name: b1, block: b}
        """, "6:37", "b1/r.repeat: unknown name 'cuont' in 'cuont' (did you mean 'count'?)"),
    case("repeat-name-at-top-level", one("{name: r, op: relu, repeat: n}"),
         "3:33", "layers[0] (r).repeat: repeat must be an integer in 1..10000 (or, inside a block, a parameter), "
                 "got text 'n'"),
    # -- crop offset and upsample like (#16) -------------------------------------------------
    case("crop-offset-without-like", one("{name: cr, op: crop, amount: 2, offset: 1}"),
         "3:45", "layers[0] (cr).offset: crop's 'offset' goes with 'like' (a layer): with 'amount', the amount "
                 "before each axis is the offset"),
    case("crop-offset-negative", """\
        input: [3, 32, 32]
        layers:
          - {name: c, op: conv, out: 4, kernel: 3}
          - {name: cr, op: crop, like: c, offset: -1}
        """, "4:43", "layers[1] (cr).offset: must be at least 0, got -1"),
    case("crop-offset-unknown", """\
        input: [3, 32, 32]
        layers:
          - {name: c, op: conv, out: 4, kernel: 3}
          - {name: cr, op: crop, like: c, offset: '?'}
        """, "4:43", "layers[1] (cr).offset: cannot be unknown ('?'): the field has no domain for solve to choose from"),
    case("crop-offset-misspelt", """\
        input: [3, 32, 32]
        layers:
          - {name: c, op: conv, out: 4, kernel: 3}
          - {name: cr, op: crop, like: c, ofset: 1}
        """, "4:42", "layers[1] (cr).ofset: crop has no field 'ofset' (did you mean 'offset'?)"),
    case("upsample-like-and-scale", """\
        input: [3, 32, 32]
        layers:
          - {name: c, op: conv, out: 4, kernel: 3}
          - {name: u, op: upsample, like: input, scale: 2}
        """, "4:5", "layers[1] (u): upsample needs exactly one of 'scale', 'size' or 'like' (a layer)"),
    case("upsample-like-unknown-layer", """\
        input: [3, 32, 32]
        layers:
          - {name: conv1, op: conv, out: 4, kernel: 3}
          - {name: u, op: upsample, like: conv2}
        """, "4:35", "layers[1] (u).like: no layer named 'conv2' (did you mean 'conv1'?)"),
    # -- var defaults (#16) -------------------------------------------------------------------
    case("var-default-outside-domain", """\
        input: [3, H, H]
        vars:
          H: {min: 64, max: 1024, default: 32}
        layers:
          - {op: relu}
        """, "3:36", "vars.H.default: the default 32 of 'H' is outside its domain 64..1024"),
    case("var-default-outside-set", """\
        input: [3, 32, 32]
        vars:
          k: {in: [3, 5], default: 4}
        layers:
          - {op: conv, out: 4, kernel: k}
        """, "3:28", "vars.k.default: the default 4 of 'k' is outside its domain {3, 5}"),
    case("var-default-not-an-integer", """\
        input: [3, H, H]
        vars:
          H: {min: 64, max: 1024, default: 'big'}
        layers:
          - {op: relu}
        """, "3:36", "vars.H.default: expected an integer, got text 'big'"),
    case("var-default-misspelt", """\
        input: [3, H, H]
        vars:
          H: {min: 64, max: 1024, defualt: 224}
        layers:
          - {op: relu}
        """, "3:3", "vars.H: unknown key 'defualt' (did you mean 'default'?); a domain is {min: A, max: B} or "
                    "{in: [..]}, with an optional default: N"),
    case("var-default-without-domain", """\
        input: [3, H, H]
        vars:
          H: {default: 224}
        layers:
          - {op: relu}
        """, "3:3", "vars.H: variable 'H' has a default but no domain: give {min: .., max: .., default: ..} or "
                    "{in: [..], default: ..}"),
    case("var-default-outside-a-domain-naming-another-var", """\
        input: [3, H, W]
        vars:
          H: {min: 64, max: 1024, default: 100}
          W: {min: 8, max: H, default: 200}
        layers:
          - {op: relu}
        """, "4:32", "vars.W.default: the default 200 of 'W' is outside its domain 8..H with H = 100"),
    case("default-in-field-domains", """\
        input: [3, 32, 32]
        domains:
          kernel: {min: 1, max: 5, default: 3}
        layers:
          - {op: conv, out: 4, kernel: '?'}
        """, "3:3", "domains.kernel: unknown key 'default'; a domain is {min: A, max: B} or {in: [..]}"),
    # -- not a text file ---------------------------------------------------------------------
    case("binary-file", bytes(range(256)) * 4, "", "not UTF-8 text (byte 128)"),
    case("nul-bytes", b"input: [3, 32, 32]\x00\nlayers: []\n", "", "not a text file (it contains NUL bytes)"),
]


def _check(path: Path, *args: str) -> tuple[int, str]:
    return run_cli("check", str(path), *args)


def _refusal(path: Path, at: str | None, message: str) -> str:
    """All that `archsolve check` prints when it refuses the spec at ``path``: one line."""
    where = "" if at is None else f"{path}:{at}: " if at else f"{path}: "
    return f"archsolve: error: {where}{message.replace('{path}', str(path))}\n"


@pytest.mark.parametrize("bad", CASES)
def test_bad_spec_is_refused(bad: Case, tmp_path: Path, spec_file) -> None:
    if isinstance(bad.text, bytes):
        path = tmp_path / "spec.yaml"
        path.write_bytes(bad.text)
    else:
        path = spec_file(bad.text)
    assert _check(path, *bad.args) == (2, _refusal(path, bad.at, bad.message))


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 50


# -- injections must not run: each one would create a file ------------------------------------

# where each payload goes, the payload ({p}: the file it would create) and where the
# refusal points with what it says
INJECTIONS = {
    "import-os-system": ("kernel", "__import__('os').system('touch {p}')", "3:42",
                         "layers[0] (c1).kernel: unexpected \"'\" at column 12 of "
                         "\"__import__('os').system('touch {p}')\" (strings are not expressions)"),
    "builtins-open": ("kernel", "open('{p}', 'w')", "3:42",
                      "layers[0] (c1).kernel: unexpected \"'\" at column 6 of \"open('{p}', 'w')\" "
                      "(strings are not expressions)"),
    "dunder-chain": ("kernel", "().__class__.__base__.__subclasses__()", "3:42",
                     "layers[0] (c1).kernel: unexpected '.' at column 3 of "
                     "'().__class__.__base__.__subclasses__()'"),
    "exec-in-constraint": ("constraint", "exec(\"open('{p}', 'w')\") == 0", "5:5",
                           "constraints[0]: unexpected '\"' at column 6 of "
                           "'exec(\"open(\\'{p}\\', \\'w\\')\") == 0' (strings are not expressions)"),
    "os-system-in-var": ("var", "__import__('os').system('touch {p}')", "3:6",
                         "vars.H: unexpected \"'\" at column 12 of \"__import__('os').system('touch {p}')\" "
                         "(strings are not expressions)"),
}


@pytest.mark.parametrize("where", sorted(INJECTIONS))
def test_injection_runs_nothing(where: str, tmp_path: Path, spec_file) -> None:
    target = tmp_path / "pwned"
    place, payload, at, message = (part.replace("{p}", str(target)) for part in INJECTIONS[where])
    quoted = payload.replace('"', '\\"')
    if place == "kernel":
        text = one(f'{{name: c1, op: conv, out: 8, kernel: "{quoted}"}}')
    elif place == "constraint":
        text = HEAD + "  - {name: r, op: relu}\nconstraints:\n" + f'  - "{quoted}"\n'
    else:
        text = f'input: [3, H, H]\nvars:\n  H: "{quoted}"\n' + "layers: [{op: relu}]\n"
    path = spec_file(text)
    result = _check(path)
    assert not target.exists(), f"the injection ran: {target} was created"
    assert result == (2, _refusal(path, at, message))


@pytest.mark.parametrize(("tag", "message"), [
    ("!!python/object/apply:os.system ['touch {p}']",
     "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed in a spec"),
    ("!!python/object/new:os.system ['touch {p}']",
     "YAML tag 'tag:yaml.org,2002:python/object/new:os.system' is not allowed in a spec"),
    ("!!python/name:os.system",
     "YAML tag 'tag:yaml.org,2002:python/name:os.system' is not allowed in a spec (only plain values)"),
    ("!!python/object:os.system {}",
     "YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed in a spec"),
])
def test_python_tags_build_nothing(tag: str, message: str, tmp_path: Path, spec_file) -> None:
    target = tmp_path / "pwned"
    text = HEAD + "  - name: c1\n    op: conv\n    out: 8\n    kernel: " + tag.replace("{p}", str(target)) + "\n"
    path = spec_file(text)
    result = _check(path)
    assert not target.exists(), f"a YAML tag ran code: {target} was created"
    assert result == (2, _refusal(path, "6:13", message))


# -- resource limits ----------------------------------------------------------------------------

def _billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines += ["input: [3, 32, 32]", f"layers: *a{levels}"]
    return "\n".join(lines) + "\n"


# the node over the budget is the shared leaf, "lol" on line 1
ALIAS_BOMB = "the document expands to more than 200000 values (YAML aliases nested too deep?); refusing it"


def test_alias_bomb_is_refused_quickly(spec_file) -> None:
    path = spec_file(_billion_laughs())
    start = time.monotonic()
    result = _check(path)
    elapsed = time.monotonic() - start
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert result == (2, _refusal(path, "1:5", ALIAS_BOMB))


def test_alias_bomb_inside_a_layer_is_refused_quickly(spec_file) -> None:
    text = _billion_laughs().replace("layers: *a9", "layers:\n  - {op: relu, comment: *a9}")
    path = spec_file(text)
    start = time.monotonic()
    result = _check(path)
    assert time.monotonic() - start < 10
    assert result == (2, _refusal(path, "1:5", ALIAS_BOMB))


def test_huge_garbage_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "garbage.yaml"
    rng = os.urandom(1024 * 1024)
    path.write_bytes(b"".join(bytes((b % 94) + 33 for b in rng) for _ in range(10)))  # 10 MB printable
    start = time.monotonic()
    result = _check(path)
    assert time.monotonic() - start < 10
    message = "the file is 10485760 bytes; spec files over 2097152 bytes are refused"
    assert result == (2, _refusal(path, "", message))


def test_huge_yaml_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(HEAD + "  - {op: relu}\n" * 800_000)  # ~12 MB of valid-looking YAML
    start = time.monotonic()
    result = _check(path)
    assert time.monotonic() - start < 10
    message = "the file is 12000027 bytes; spec files over 2097152 bytes are refused"
    assert result == (2, _refusal(path, "", message))


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
    """The same nesting without the repeat checks too."""
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

def _bad_argument(detail: str) -> str:
    """click refuses a SPEC argument that is no readable file before archsolve reads it."""
    return ("Usage: archsolve check [OPTIONS] SPEC\nTry 'archsolve check --help' for help.\n\n"
            f"Error: Invalid value for 'SPEC': {detail}\n")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "no-such-spec.yaml"
    assert _check(path) == (2, _refusal(path, "", "no such file"))


def test_folder_as_spec(tmp_path: Path) -> None:
    folder = tmp_path / "specs.d"
    folder.mkdir()
    assert _check(folder) == (2, _bad_argument(f"File '{folder}' is a directory."))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path, spec_file) -> None:
    path = spec_file(one("{op: relu}"))
    path.chmod(0)
    assert _check(path) == (2, _bad_argument(f"File '{path}' is not readable."))


def test_check_with_unknowns_names_solve_in_json_mode(spec_file) -> None:
    path = spec_file(one("{name: c1, op: conv, out: 8, kernel: '?'}"))
    message = ("the spec has 1 unknown value(s) ('?'): c1.kernel; 'archsolve solve {path}' fills them in "
               "(or give them with --set NAME=VALUE)")
    code, out, err = run_cli_split("check", str(path), "--json")
    assert (code, err) == (2, "")
    assert json.loads(out) == {"ok": False, "exit_code": 2, "more": 0, "errors": [
        {"message": f"{path}: " + message.replace("{path}", str(path)), "field": None, "file": None, "line": None,
         "column": None}]}
