"""`archsolve draw`: DOT and Mermaid sources, SVG/PNG through Graphviz, unknowns vs solved values."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archsolve.check.api import check_spec
from archsolve.check.known import known_shapes
from archsolve.errors import UsageError
from archsolve.output.draw import dot_source, mermaid_source, render
from archsolve.spec.load import load_spec, load_text
from archsolve.spec.model import Spec

from .conftest import SPECS

ALL_SPECS = sorted(p.name for p in SPECS.glob("*.yaml"))
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")

UNET_SOLVED = {f"up{i}.{f}": v for i in (1, 2, 3) for f, v in (("kernel", 2), ("stride", 2), ("padding", 0))}
RED, GREEN = "#d00000", "#007a1f"

_EDGE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[(.*)\];$')
_NODE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" \[label=<')


def _spec(name: str) -> Spec:
    return load_spec(str(SPECS / name))


def _fmt(shape) -> str:
    return "x".join(str(int(v)) for v in shape)


def _attr(attrs: str, key: str) -> str | None:
    m = re.search(rf'(?:^|, ){key}="((?:[^"\\]|\\.)*)"', attrs)
    return m.group(1) if m else None


def _dot_edges(src: str) -> list[tuple[str, str, dict[str, str | None]]]:
    """Edges in data-flow direction (``dir=back`` ones turned round), with their attributes."""
    out = []
    for line in src.splitlines():
        m = _EDGE.match(line)
        if not m:
            continue
        a, b, attrs = m.groups()
        info = {k: _attr(attrs, k) for k in ("label", "dir", "minlen", "style", "color", "tooltip")}
        # a data edge shows no shape (its source's node does) but says it in its tooltip
        tip = info["tooltip"]
        info["shape"] = tip.rpartition(": ")[2] if tip else None
        if info["dir"] == "back":
            a, b = b, a
        out.append((a, b, info))
    return out


def _balanced(text: str, open_: str, close: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == open_
        depth -= ch == close
        if depth < 0:
            return False
    return depth == 0


def _expected_edges(spec: Spec, shapes: dict[str, str]) -> list[tuple[str, str, str]]:
    """Each edge with its label and the shape its tooltip says: a tensor's first reader's
    edge says its shape, a later reader's (a skip) is unlabelled, a crop's reference says
    "size of" (and its tooltip nothing)."""
    out = []
    first: set[str] = set()
    for lay in spec.layers:
        for j, src in enumerate(lay.sources):
            if lay.op == "crop" and j > 0:
                out.append((src, lay.name, "size of", ""))
                continue
            out.append((src, lay.name, "" if src in first else shapes[src], shapes[src]))
            first.add(src)
    return out


def _check_shapes(spec: Spec, values=None) -> dict[str, str]:
    prop = check_spec(spec, values, repairs=False).prop
    shapes = {"input": _fmt(prop.input)}
    shapes.update({n: ("?" if r.shape is None else _fmt(r.shape)) for n, r in prop.layers.items()})
    return shapes


def _dot_to(fmt: str, source: str) -> subprocess.CompletedProcess:
    return subprocess.run(["dot", f"-T{fmt}"], input=source.encode(), capture_output=True, check=False, timeout=300)


# -- DOT: structure, without Graphviz ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["unet-original.yaml", "resnet50.yaml", "unet-skip-mismatch.yaml", "vgg16.yaml",
                                  "unet3d.yaml", "dcgan-generator.yaml"])
def test_dot_has_every_layer_and_every_edge_shape(name: str) -> None:
    spec = _spec(name)
    src = dot_source(known_shapes(spec))
    assert src.startswith("digraph ") and src.rstrip().endswith("}")
    assert _balanced(src, "{", "}") and _balanced(src, "[", "]")
    nodes = {m.group(1) for line in src.splitlines() if (m := _NODE.match(line))}
    assert nodes == {"input"} | {lay.name for lay in spec.layers}
    shapes = _check_shapes(spec)
    got = sorted((a, b, info["label"] or "", info["shape"] or "") for a, b, info in _dot_edges(src))
    assert got == sorted(_expected_edges(spec, shapes))
    read = {a for a, _, info in _dot_edges(src) if info["label"] not in (None, "size of")}
    for lay in spec.layers:  # a node shows its shape where no edge says it (the output)
        line = next(li for li in src.splitlines() if li.strip().startswith(f'"{lay.name}" [label=<'))
        label = line.split("tooltip=")[0]
        assert (f">{shapes[lay.name]}<" in label) == (lay.name not in read), lay.name
    for g in spec.groups:  # block calls and repeats are clusters
        assert f'_{g.name}" {{' in src and f'label="{g.name}: ' in src


def test_dot_labels_show_key_hyperparameters_and_merges_stand_out() -> None:
    src = dot_source(known_shapes(_spec("resnet50.yaml")))
    lines = src.splitlines()

    def node(name: str) -> str:
        return next(li for li in lines if li.strip().startswith(f'"{name}" [label=<'))

    assert "conv out=64 k=7 s=2 p=3" in node("conv1")
    assert "maxpool k=3 s=2 p=1" in node("maxpool")
    assert "64x112x112" in node("conv1")
    residual = node("layer1/0/residual")
    assert 'shape="ellipse"' in residual and "fillcolor=" in residual
    assert 'shape="box"' in node("conv1")
    # the identity shortcut (a second reader of a tensor) is drawn apart from the main path
    shortcut = [info for a, b, info in _dot_edges(src) if (a, b) == ("layer1_0/relu3", "layer1/0/residual")]
    assert shortcut and shortcut[0]["color"] is not None


def test_unet_is_drawn_as_a_u() -> None:
    """Decoder edges point up (ranked reversed); each skip connection stays on one rank."""
    src = dot_source(known_shapes(_spec("unet-original.yaml")))
    edges = {(a, b): info for a, b, info in _dot_edges(src)}
    assert edges[("enc4/relu2", "crop4")]["minlen"] == "0"  # the copy-and-crop, across
    assert edges[("bottom/relu2", "up4")]["minlen"] == "0"  # the turn at the bottom
    assert edges[("cat4", "dec4/conv1")]["dir"] == "back"  # the decoder goes up
    assert edges[("dec1/relu2", "head")]["dir"] == "back"
    assert edges[("enc1/conv1", "enc1/relu1")]["dir"] is None  # the encoder goes down
    assert edges[("up4", "crop4")]["style"] == "dotted" and edges[("up4", "crop4")]["label"] == "size of"
    # a network that only goes down is drawn top to bottom
    assert ' dir="back"' not in dot_source(known_shapes(_spec("resnet50.yaml")))


@needs_dot
def test_unet_layout_encoder_left_decoder_right_skips_across() -> None:
    done = _dot_to("plain", dot_source(known_shapes(_spec("unet-original.yaml"))))
    assert done.returncode == 0, done.stderr.decode()
    pos: dict[str, tuple[float, float]] = {}
    for line in done.stdout.decode().splitlines():
        parts = line.split()
        if parts and parts[0] == "node":
            name = parts[1].strip('"')
            pos[name] = (float(parts[2]), float(parts[3]))  # y grows upwards in plain output
    for level in ("1", "2", "3", "4"):
        enc, dec = pos[f"enc{level}/conv1"], pos[f"dec{level}/conv1"]
        assert enc[0] < dec[0], f"level {level}: the encoder should be left of the decoder"
        assert abs(pos[f"enc{level}/relu2"][1] - pos[f"crop{level}"][1]) < 1e-6, "skip not across"
    bottom = pos["bottom/relu2"][1]
    assert all(y >= bottom for name, (_, y) in pos.items()), "the bottom of the U is lowest"
    assert pos["enc1/conv1"][1] > pos["enc4/conv1"][1]  # encoder going down
    assert pos["head"][1] > pos["dec4/conv1"][1]  # decoder going up


# -- DOT: Graphviz accepts it ------------------------------------------------------------------------

@needs_dot
@pytest.mark.parametrize("name", ALL_SPECS)
def test_dot_is_valid_for_graphviz(name: str) -> None:
    done = _dot_to("svg", dot_source(known_shapes(_spec(name))))
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "error" not in err.lower() and "warning" not in err.lower(), err
    assert b"<svg" in done.stdout


def test_awkward_text_is_quoted() -> None:
    spec = load_text('name: \'odd "name" <x> & {y} \\\\ [z]\'\ninput: [3, 8, 8]\n'
                     "layers: [{op: conv, out: 4, kernel: 3}, {name: s, op: add, from: [conv1, conv1]}]")
    src = dot_source(known_shapes(spec))
    assert 'label="odd \\"name\\" <x> & {y} \\\\\\\\ [z]' in src
    assert len(_dot_edges(src)) == 3  # the add reads conv1 twice: two edges
    if HAS_DOT:
        done = _dot_to("svg", src)
        assert done.returncode == 0, done.stderr.decode()
        assert "odd" in done.stdout.decode()
    mer = mermaid_source(known_shapes(spec))
    assert '"name"' not in mer and "#quot;name#quot;" in mer


# -- Mermaid ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["unet-original.yaml", "resnet50.yaml", "unet3d.yaml"])
def test_mermaid_names_every_layer_with_its_shape(name: str) -> None:
    spec = _spec(name)
    src = mermaid_source(known_shapes(spec))
    assert src.startswith("flowchart TB\n")
    shapes = _check_shapes(spec)
    ids: dict[str, str] = {}
    for line in src.splitlines():
        m = re.match(r'^\s*([A-Za-z_][A-Za-z0-9_]*)(\[/?|\(\[)"<b>(.*?)</b>(<br/>.*)?"(/?\]|\]\))$', line)
        if m:
            ids[m.group(3)] = m.group(1)
    assert set(ids) == {"input"} | {lay.name for lay in spec.layers}
    assert all(re.fullmatch(r"n\d+", i) for i in ids.values())
    edges = re.findall(r'^\s*(n\d+) (?:-->|==>|-\.->)(?:\|"(.*?)"\|)? (n\d+)$', src, flags=re.M)
    names = {v: k for k, v in ids.items()}
    got = sorted((names[a], names[b], label) for a, label, b in edges)
    assert got == sorted(e[:3] for e in _expected_edges(spec, shapes))
    said = {names[a] for a, label, _ in edges if label and label != "size of"}
    for line in src.splitlines():  # the output's shape is on its node, the others on their edges
        m = re.match(r'^\s*(n\d+)(?:\[/?|\(\[)"<b>(.*?)</b>(.*)"', line)
        if m and m.group(2) != "input":
            assert (shapes[m.group(2)] in m.group(3).split("<br/>")) == (m.group(2) not in said), m.group(2)
    assert src.count("subgraph ") == sum(line.strip() == "end" for line in src.splitlines()) == len(spec.groups)
    assert '""' not in src


# -- unknowns and solved values --------------------------------------------------------------------------

def test_unknowns_are_red_and_shapes_that_need_them_are_unknown() -> None:
    spec = _spec("unet-solve.yaml")
    src = dot_source(known_shapes(spec))
    up3 = next(li for li in src.splitlines() if li.strip().startswith('"up3" [label=<'))
    for short in ("k", "s", "p"):
        assert f'<FONT COLOR="{RED}"><B>{short}=?</B></FONT>' in up3
    assert "output ?" in up3  # its shape cannot be computed: a red "?" on its edge
    assert f'color="{RED}"' in up3 and "dashed" in up3
    edges = {(a, b): info for a, b, info in _dot_edges(src)}
    assert edges[("enc1/a", "enc1/relu2")]["shape"] == "16x128x128"  # known before the unknowns
    assert edges[("up3", "cat3")]["shape"] == edges[("up3", "cat3")]["label"] == "?"  # said on its edge, in red
    assert GREEN not in src
    mer = mermaid_source(known_shapes(spec))
    assert "<b>k=?</b>" in mer and "class " in mer and "unknown" in mer and "✓" not in mer


def test_solved_values_are_green_and_shapes_follow() -> None:
    spec = _spec("unet-solve.yaml")
    src = dot_source(known_shapes(spec, UNET_SOLVED))
    up3 = next(li for li in src.splitlines() if li.strip().startswith('"up3" [label=<'))
    for short, v in (("k", 2), ("s", 2), ("p", 0)):
        assert f'<FONT COLOR="{GREEN}"><B>{short}={v}</B></FONT>' in up3
    assert "=?" not in src and f'color="{GREEN}"' in up3
    edges = {(a, b): info for a, b, info in _dot_edges(src)}
    assert edges[("up3", "cat3")]["shape"] == "64x32x32"
    head = next(li for li in src.splitlines() if li.strip().startswith('"head" [label=<'))
    assert "2x128x128" in head
    mer = mermaid_source(known_shapes(spec, UNET_SOLVED))
    assert "<b>k=2 ✓</b>" in mer and "<b>k=?</b>" not in mer
    solved_ids = re.search(r"^\s*class (\S+) solved$", mer, flags=re.M)
    assert solved_ids is not None and len(solved_ids.group(1).split(",")) == 3
    # the two pictures differ exactly where the values went in
    assert dot_source(known_shapes(spec)) != src


def test_partly_given_unknowns_draw_what_they_can() -> None:
    spec = _spec("unet-solve.yaml")
    values = {k: v for k, v in UNET_SOLVED.items() if k.startswith("up3.")}
    src = dot_source(known_shapes(spec, values))
    edges = {(a, b): info for a, b, info in _dot_edges(src)}
    assert edges[("up3", "cat3")]["shape"] == "64x32x32"
    assert edges[("up2", "cat2")]["shape"] == "?"
    assert '<B>k=2</B>' in src and "<B>k=?</B>" in src


def test_input_size_vars_and_given_values(tmp_path: Path) -> None:
    spec = _spec("unet-original-sizes.yaml")
    src = dot_source(known_shapes(spec, {"H": 572}))
    assert f'<FONT COLOR="{GREEN}"><B>H=572</B></FONT>' in src
    head = next(li for li in src.splitlines() if li.strip().startswith('"head" [label=<'))
    assert "2x388x388" in head
    # an unknown input size: the input reads 3xHx?
    spec = load_text('input: [3, H, "?"]\nvars: {H: {min: 8, max: 64}}\n'
                     'layers: [{name: c, op: conv, out: 4, kernel: "?"}]')
    src = dot_source(known_shapes(spec))
    assert "3xHx?" in src and f'<FONT COLOR="{RED}"><B>W=?</B></FONT>' in src


def test_merge_errors_are_marked() -> None:
    src = dot_source(known_shapes(_spec("unet-skip-mismatch.yaml")))
    cat2 = next(li for li in src.splitlines() if li.strip().startswith('"cat2" [label=<'))
    assert "error: mismatch" in cat2 and f'color="{RED}"' in cat2


# -- render ----------------------------------------------------------------------------------------------

def test_render_text_formats_need_no_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    spec = _spec("unet-original.yaml")
    assert render(known_shapes(spec), "dot") == dot_source(known_shapes(spec))
    assert render(known_shapes(spec), "mermaid") == mermaid_source(known_shapes(spec))


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_missing_dot_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(UsageError) as exc:
        render(known_shapes(_spec("unet-original.yaml")), fmt)
    message = str(exc.value)
    assert "dot program" in message and "apt-get install graphviz" in message
    assert "--format dot or mermaid" in message


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        render(known_shapes(_spec("unet-original.yaml")), "jpeg")


@needs_dot
def test_svg_and_png_render() -> None:
    spec = _spec("unet-solve.yaml")
    svg = render(known_shapes(spec, UNET_SOLVED), "svg")
    assert isinstance(svg, bytes) and b"<svg" in svg and b"up3" in svg
    png = render(known_shapes(_spec("unet-original.yaml")), "png")
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n")
