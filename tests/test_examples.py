"""The example specs in ``specs/`` against hand-written PyTorch references and known figures.

``tests/torch_reference.py`` builds each network by hand in PyTorch, as its paper or
torchvision does (it never reads the YAML); ``archsolve check --json`` on the spec must
give the same output shape, parameter count and conv/linear MACs. The table of known
figures (from the papers, torchvision and the issue) needs no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import SPECS, check_json
from .torch_reference import REFERENCES

SPEC_NAMES = sorted(REFERENCES)

# Figures every user of these networks knows; double-checked against torch below.
KNOWN_PARAMS = {
    "convnet-seed.yaml": 1_007_590,
    "unet-original.yaml": 31_030_658,
    "resnet50.yaml": 25_557_032,
    "resnet152.yaml": 60_192_808,
    "vgg16.yaml": 138_357_544,
}
KNOWN_OUTPUT = {
    "unet-original.yaml": [2, 388, 388],
}
KNOWN_MACS = {
    "resnet50.yaml": 4_089_184_256,
}


def _row(doc: dict[str, Any], name: str) -> dict[str, Any]:
    rows = [row for row in doc["layers"] if row["name"] == name]
    assert len(rows) == 1, f"expected one row named {name!r}, got {len(rows)}"
    return rows[0]


def _check_ok(name: str) -> dict[str, Any]:
    code, doc = check_json(SPECS / name)
    errors = [p for p in doc.get("problems", []) if p.get("severity") == "error"]
    assert code == 0, f"{name}: exit {code}, errors: {errors}"
    assert doc["ok"] is True, f"{name}: errors: {errors}"
    return doc


# --------------------------------------------------------------------------------------
# Against PyTorch
# --------------------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("name", SPEC_NAMES, ids=SPEC_NAMES)
def test_example_matches_torch(name: str) -> None:
    pytest.importorskip("torch")
    from .torch_reference import reference, reference_macs

    ref_output, ref_params = reference(name)
    ref_macs = reference_macs(name)
    # The known figures hold for the torch references themselves.
    if name in KNOWN_PARAMS:
        assert ref_params == KNOWN_PARAMS[name]
    if name in KNOWN_OUTPUT:
        assert ref_output == KNOWN_OUTPUT[name]
    if name in KNOWN_MACS:
        assert ref_macs == KNOWN_MACS[name]

    doc = _check_ok(name)
    assert doc["output"] == ref_output
    assert doc["totals"]["params"] == ref_params
    assert doc["totals"]["macs"] == ref_macs


@pytest.mark.parametrize("name", SPEC_NAMES, ids=SPEC_NAMES)
def test_example_layer_sums_match_totals(name: str) -> None:
    """Totals count each layer once: the depth-0 rows add up to them."""
    doc = _check_ok(name)
    top = [row for row in doc["layers"] if row["depth"] == 0]
    assert sum(row["params"] for row in top) == doc["totals"]["params"]
    assert sum(row["macs"] for row in top) == doc["totals"]["macs"]
    assert doc["layers"][-1]["shape"] == doc["output"]


# --------------------------------------------------------------------------------------
# Known figures (no torch needed)
# --------------------------------------------------------------------------------------
KNOWN_FIGURES = [
    # (spec, what, expected)
    ("resnet50.yaml", "totals.params", 25_557_032),
    ("resnet50.yaml", "totals.macs", 4_089_184_256),
    ("resnet50.yaml", "output", [1000]),
    ("resnet152.yaml", "totals.params", 60_192_808),
    ("vgg16.yaml", "totals.params", 138_357_544),
    ("vgg16.yaml", "rf:conv5_3", [196, 196]),
    ("vgg16.yaml", "rf:pool5", [212, 212]),
    ("vgg16.yaml", "output", [1000]),
    ("unet-original.yaml", "totals.params", 31_030_658),
    ("unet-original.yaml", "output", [2, 388, 388]),
    ("unet-original.yaml", "totals.macs", 150_428_424_448),
    ("convnet-seed.yaml", "totals.params", 1_007_590),
    ("convnet-seed.yaml", "output", [10]),
    ("dcgan-generator.yaml", "output", [3, 64, 64]),
]


@pytest.mark.parametrize(
    ("name", "what", "expected"),
    KNOWN_FIGURES,
    ids=[f"{name}-{what}" for name, what, _ in KNOWN_FIGURES],
)
def test_known_figure(name: str, what: str, expected: Any) -> None:
    doc = _check_ok(name)
    if what.startswith("rf:"):
        got = _row(doc, what[3:])["rf"]
    else:
        got = doc
        for key in what.split("."):
            got = got[key]
    assert got == expected, f"{name} {what}: expected {expected}, got {got}"


def test_original_unet_has_no_problems() -> None:
    """The paper's 572x572 tile is exact: no pooling drops a pixel, nothing to warn about."""
    doc = _check_ok("unet-original.yaml")
    assert doc["problems"] == []
    assert doc["input"] == [1, 572, 572]
    assert _row(doc, "bottom")["shape"] == [1024, 28, 28]
    assert _row(doc, "crop4")["shape"] == [512, 56, 56]
    assert _row(doc, "cat1")["shape"] == [128, 392, 392]


# --------------------------------------------------------------------------------------
# The spec files themselves
# --------------------------------------------------------------------------------------
def _spec_paths() -> list[Path]:
    return sorted(SPECS.glob("*.yaml"))


def test_every_example_has_a_reference() -> None:
    """Every example spec with concrete sizes is compared against torch above."""
    concrete = {p.name for p in _spec_paths()
                if "vars" not in yaml.safe_load(p.read_text()) and '"?"' not in p.read_text()
                and "mismatch" not in p.name}  # broken on purpose: checked in test_check.py
    assert concrete == set(REFERENCES)


@pytest.mark.parametrize("path", _spec_paths(), ids=lambda p: p.name)
def test_example_starts_with_a_comment_block(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# "), f"{path.name} should open with a comment saying what it shows"


def test_unet_sizes_variant_is_the_same_network() -> None:
    """unet-original-sizes.yaml is unet-original.yaml with the input size left open."""
    fixed = yaml.safe_load((SPECS / "unet-original.yaml").read_text())
    sizes = yaml.safe_load((SPECS / "unet-original-sizes.yaml").read_text())
    assert fixed["input"] == [1, 572, 572]
    assert sizes["input"] == [1, "H", "W"]
    assert sizes["vars"] == {"H": {"min": 1, "max": 1024}, "W": "H"}
    for key in ("input", "vars", "name"):
        fixed.pop(key, None)
        sizes.pop(key, None)
    assert sizes == fixed
