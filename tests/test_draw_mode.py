"""Pictures people would rather look at (issue #20, point 7): each shape once (on its layer),
``--depth`` folds blocks into one node each, ``--rankdir LR``, params and MACs on the layers
with weights, the exact figures in SVG tooltips, and the U of a U-Net kept when folded."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from archsolve.check.api import check_file
from archsolve.check.known import known_shapes
from archsolve.output.draw import Direction, DrawMode, dot_source, mermaid_source
from archsolve.spec.load import load_spec

from .conftest import SPECS, run_cli
from .test_draw import _NODE, _dot_edges


def _known(name: str):
    return known_shapes(load_spec(str(SPECS / name)))


def _node(src: str, name: str) -> str:
    return next(line for line in src.splitlines() if line.strip().startswith(f'"{name}" [label=<'))


def test_each_shape_is_said_once() -> None:
    """On the edge it flows along; a skip connection's edge does not repeat it; a node says
    its own only where no edge does (the output)."""
    src = dot_source(_known("unet-original.yaml"))
    labels = [(a, info["label"]) for a, b, info in _dot_edges(src) if info["label"] not in (None, "size of")]
    assert len({a for a, _ in labels}) == len(labels)  # one labelled edge a tensor
    assert all(info["label"] is None for _, _, info in _dot_edges(src)
               if info["color"] == "#808080" and info["style"] != "dotted")  # skips; dotted: references
    assert ">2x388x388<" in _node(src, "head") and ">64x570x570<" not in _node(src, "enc1/conv1")


@pytest.mark.parametrize("name", ["unet-original.yaml", "resnet50.yaml", "unet3d.yaml", "vgg16.yaml"])
def test_depth_0_draws_each_block_call_as_one_node_with_its_rows_figures(name: str) -> None:
    src = dot_source(_known(name), DrawMode(depth=0))
    report = check_file(str(SPECS / name))
    top = [r for r in report.rows if r.depth == 0]
    nodes = {m.group(1) for line in src.splitlines() if (m := _NODE.match(line))}
    assert nodes == {"input", *(r.name for r in top)}
    assert "subgraph" not in src
    for r in top:
        line = _node(src, r.name)
        assert f'output {"x".join(map(str, r.shape))};' in line  # the tooltip
        if r.params:  # the exact sums of the check's block row, in the tooltip
            assert f"params {r.params:,}, MACs {r.macs:,}" in line
        assert ('peripheries="2"' in line) == r.op.startswith(("block:", "repeat:"))
    edges = [(a, b) for a, b, _ in _dot_edges(src)]
    assert len(edges) == len(set(edges))  # the edges inside a block went, the ones into it are one


def test_a_folded_u_net_is_still_a_u() -> None:
    src = dot_source(_known("unet-original.yaml"), DrawMode(depth=0))
    back = {(a, b) for a, b, info in _dot_edges(src) if info["dir"] == "back"}
    assert {("dec1", "head"), ("cat1", "dec1"), ("up1", "cat1")} <= back  # the decoder comes back up
    skips = {(a, b) for a, b, info in _dot_edges(src) if info["color"] == "#808080"}
    assert ("enc1", "crop1") in skips


def test_depth_1_keeps_the_outer_clusters() -> None:
    """unet-original's blocks are one level deep: depth 1 draws every layer, as no depth does."""
    assert dot_source(_known("unet-original.yaml"), DrawMode(depth=1)) == dot_source(_known("unet-original.yaml"))


def test_layers_with_weights_show_params_and_macs_in_units() -> None:
    src = dot_source(_known("unet-original.yaml"))
    assert "37.6 k params" not in _node(src, "enc1/relu1")
    assert ">640 params, 187 M MACs<" in _node(src, "enc1/conv1")
    assert 'tooltip="enc1/conv1; conv out=64 k=3; output 64x570x570; params 640, MACs 187,142,400"' in \
        _node(src, "enc1/conv1")


def test_left_to_right() -> None:
    assert 'rankdir="LR"' in dot_source(_known("vgg16.yaml"), DrawMode(direction=Direction.LR))
    assert mermaid_source(_known("vgg16.yaml"), DrawMode(direction=Direction.LR)).startswith("flowchart LR\n")


def test_the_cli_takes_depth_and_rankdir() -> None:
    code, out = run_cli("draw", str(SPECS / "resnet50.yaml"), "--depth", "0", "--rankdir", "LR")
    assert code == 0 and 'rankdir="LR"' in out and 'peripheries="2"' in out
    code, out = run_cli("draw", str(SPECS / "resnet50.yaml"), "--format", "mermaid", "--depth", "0")
    top = [r for r in check_file(str(SPECS / "resnet50.yaml")).rows if r.depth == 0]
    assert code == 0 and len(re.findall(r"^\s*n\d+\[", out, flags=re.M)) == 1 + len(top)  # and the input


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_tooltips_and_a_picture_that_is_not_a_strip() -> None:
    """ResNet-50 at depth 0 is a picture (it was 581 x 18,170 px with every layer)."""
    svg = subprocess.run(["dot", "-Tsvg"], input=dot_source(_known("resnet50.yaml"), DrawMode(depth=0)).encode(),
                         capture_output=True, check=True).stdout.decode()
    assert 'xlink:title="conv1; conv out=64 k=7 s=2 p=3' in svg
    width, height = (float(v) for v in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    assert height < 2000 and height / width < 6


def test_the_readmes_picture_is_the_drawing_of_today() -> None:
    """docs/images/unet-original-depth0.svg (the README's) has the nodes and labels that
    `draw --depth 0` gives now (`make` does not redraw it: Graphviz is optional)."""
    from .conftest import ROOT

    svg = (ROOT / "docs" / "images" / "unet-original-depth0.svg").read_text()
    titles = set(re.findall(r'<g id="node\d+" class="node">\s*<title>(.*?)</title>', svg))
    src = dot_source(_known("unet-original.yaml"), DrawMode(depth=0))
    assert titles == {m.group(1) for line in src.splitlines() if (m := _NODE.match(line))}
    for counts in re.findall(r'COLOR="#555555">(.*?)</FONT>', src):
        assert counts in svg
