"""``archsolve new``: commented starter specs with unknowns left to solve.

Example::

    >>> text = starter("unet", dims=2, depth=3)
    >>> "up3" in text and '"?"' in text
    True
"""

from __future__ import annotations

KINDS = ("unet", "resnet", "dcgan", "autoencoder")


def _size(dims: int, n: int) -> str:
    return ", ".join([str(n)] * dims)


def starter(kind: str, dims: int = 2, depth: int = 4) -> str:
    """The starter spec text for ``kind`` (unet, resnet, dcgan, autoencoder)."""
    axes = {1: "L", 2: "H, W", 3: "D, H, W"}[dims]
    if kind == "unet":
        lines = [
            f"# A {depth}-level U-Net ({dims}D), padded convs. The up-convolutions are left unknown:",
            "#   archsolve solve THIS.yaml                # the best kernel/stride/padding",
            "#   archsolve solve THIS.yaml --write out.yaml",
            f"# Input sizes: {axes} must let every skip connection line up. To list those that do, write",
            f"# the input with a var (input: [1, {', '.join(['H'] * dims)}] and vars: {{H: {{min: 1, max: 1024}}}}), drop the",
            "# head.shape constraint, and run archsolve inputs on the file.",
            "name: unet",
            f"input: [1, {_size(dims, 2 ** depth * 16)}]",
            "blocks:",
            "  double_conv:",
            "    params: {c: null}",
            "    layers:",
            "      - {name: a, op: conv, out: c, kernel: 3, padding: 1}",
            "      - {op: relu}",
            "      - {name: b, op: conv, out: c, kernel: 3, padding: 1}",
            "      - {op: relu}",
            "layers:",
        ]
        for i in range(1, depth + 1):
            lines += [f"  - {{name: enc{i}, block: double_conv, c: {16 * 2 ** (i - 1)}}}",
                      f"  - {{name: pool{i}, op: maxpool, kernel: 2}}"]
        lines.append(f"  - {{name: mid, block: double_conv, c: {16 * 2 ** depth}}}")
        for i in range(depth, 0, -1):
            lines += [f'  - {{name: up{i}, op: deconv, out: {16 * 2 ** (i - 1)}, kernel: "?", stride: "?", '
                      'padding: "?"}',
                      f"  - {{name: cat{i}, op: concat, from: [enc{i}, up{i}]}}",
                      f"  - {{name: dec{i}, block: double_conv, c: {16 * 2 ** (i - 1)}}}"]
        lines.append("  - {name: head, op: conv, out: 2, kernel: 1}")
        lines += ["constraints:", f"  - head.shape == [2, {_size(dims, 2 ** depth * 16)}]"]
    elif kind == "resnet":
        lines = [
            f"# A small ResNet ({dims}D) of {depth} stages with two basic blocks each. Each stage's",
            "# first block may downsample; its stride is left unknown, and the last stage must be",
            "# 1/2**min(depth, 3) of the input (so deeper nets keep some stages at full size):",
            "#   archsolve solve THIS.yaml",
            "name: resnet",
            f"input: [3, {_size(dims, 64)}]",
            "domains:",
            "  stride: {min: 1, max: 2}",
            "blocks:",
            "  basic:",
            "    params: {c: null, s: 1}",
            "    layers:",
            "      - {name: conv1, op: conv, out: c, kernel: 3, stride: s, padding: 1, bias: false}",
            "      - {op: batchnorm}",
            "      - {op: relu}",
            "      - {name: conv2, op: conv, out: c, kernel: 3, padding: 1, bias: false}",
            "      - {name: bn2, op: batchnorm}",
            "      - {name: skip, op: conv, out: c, kernel: 1, stride: s, bias: false, from: in}",
            "      - {name: sum, op: add, from: [bn2, skip]}",
            "      - {op: relu}",
            "layers:",
            "  - {name: stem, op: conv, out: 16, kernel: 3, padding: 1, bias: false}",
        ]
        for i in range(1, depth + 1):
            c = 16 * 2 ** (i - 1)
            lines += [f'  - {{name: stage{i}a, block: basic, c: {c}, s: "?"}}',
                      f"  - {{name: stage{i}b, block: basic, c: {c}}}"]
        lines += ["  - {name: pool, op: adaptive_avgpool, size: 1}", "  - {op: flatten}",
                  "  - {name: fc, op: linear, out: 10}", "constraints:",
                  f"  - stage{depth}b.{axes.split(', ')[-1]} == {64 // 2 ** min(depth, 3)}"]
    elif kind == "dcgan":
        chans = [512, 256, 128, 64][: max(depth, 1)]
        side = 4 * 2 ** len(chans)  # the paper's sizes: 1 -> 4, then twice as large per layer (64 at depth 4)
        lines = [
            f"# A DCGAN generator ({dims}D): a 1-pixel latent grown to {side} by transposed convolutions",
            "# whose strides and paddings are left unknown (kernel 4, as in the paper):",
            "#   archsolve solve THIS.yaml --all       # every way to get there",
            "name: dcgan",
            f"input: [100, {_size(dims, 1)}]",
            "domains:",
            "  stride: {min: 1, max: 4}",
            "  padding: {min: 0, max: 3}",
            "layers:",
        ]
        for i, c in enumerate(chans, start=1):
            lines += [f'  - {{name: up{i}, op: deconv, out: {c}, kernel: 4, stride: "?", padding: "?", bias: false}}',
                      "  - {op: batchnorm}", "  - {op: relu}"]
        lines += ['  - {name: out, op: deconv, out: 3, kernel: 4, stride: "?", padding: "?", bias: false}',
                  "  - {op: tanh}", "constraints:", f"  - out.shape == [3, {_size(dims, side)}]"]
    elif kind == "autoencoder":
        lines = [
            f"# A convolutional autoencoder ({dims}D) of depth {depth}: strided convs down, transposed convs",
            "# up. The decoder's kernels, strides and paddings are unknown; the output must match the input:",
            "#   archsolve solve THIS.yaml",
            "name: autoencoder",
            f"input: [1, {_size(dims, 2 ** depth * 8)}]",
            "layers:",
        ]
        for i in range(1, depth + 1):
            lines.append(f"  - {{name: down{i}, op: conv, out: {8 * 2 ** i}, kernel: 3, stride: 2, padding: 1}}")
            lines.append("  - {op: relu}")
        for i in range(depth, 0, -1):
            out = 1 if i == 1 else 8 * 2 ** (i - 1)
            lines.append(f'  - {{name: up{i}, op: deconv, out: {out}, kernel: "?", stride: "?", padding: "?"}}')
        lines += ["constraints:", f"  - up1.shape == [1, {_size(dims, 2 ** depth * 8)}]"]
    else:
        raise ValueError(kind)
    # an editor with the YAML language server completes and checks the file against the schema
    # this line names, once it is written beside it
    head = [MODELINE, "#   archsolve schema -o archsolve.schema.json   # the schema that line names, for an editor"]
    return "\n".join([*head, *lines]) + "\n"


MODELINE = "# yaml-language-server: $schema=archsolve.schema.json"
