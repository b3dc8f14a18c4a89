"""``pad`` with ``like``: padded to another layer's size, centred, the extra pixel at the end
(milesial/Pytorch-UNet's ``F.pad(x1, [diff // 2, diff - diff // 2, ...])``): check, inputs,
and export, whose module runs at every size and imports back as the same pad."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsolve.check.api import check_spec
from archsolve.solve.inputs import input_sizes
from archsolve.spec.load import load_text

SPEC = """\
input: [3, H, W]
vars: {{H: {{min: 1, max: 40}}, W: {{min: 1, max: 40}}}}
layers:
  - {{name: skip, op: conv, out: 4, kernel: 3, padding: 1}}
  - {{name: down, op: maxpool, kernel: 2}}
  - {{name: up, op: deconv, out: 4, kernel: 2, stride: 2}}
  - {{name: padded, op: pad, {pad}}}
  - {{name: cat, op: concat, from: [skip, padded]}}
"""


def _check(pad: str, **given: int):
    return check_spec(load_text(SPEC.format(pad=pad)), given)


@pytest.mark.parametrize(("pad", "size", "shape"), [
    ("like: skip", (17, 20), (4, 17, 20)),
    ("like: skip", (16, 9), (4, 16, 9)),
    ("like: skip, value: 1.5", (3, 2), (4, 3, 2)),
    ("amount: [[0, 1], [0, 0]]", (17, 20), (4, 17, 20)),
])
def test_pad_like_gives_the_like_layers_size(pad: str, size: tuple[int, int], shape: tuple[int, ...]) -> None:
    report = _check(pad, H=size[0], W=size[1])
    row = next(r for r in report.rows if r.name == "padded")
    assert (report.ok, tuple(row.shape), report.totals["params"]) == (True, shape, 4 * 3 * 9 + 4 + 4 * 4 * 4 + 4)


@pytest.mark.parametrize(("pad", "message"), [
    ("like: down", "cannot pad 16 up to 8 (down) on axis H: the input is larger (8 - 16 = -8)"),
    ("like: skip, amount: 1", "pad needs exactly one of like (a layer) or amount"),
])
def test_a_pad_like_that_cannot_be_is_an_error(pad: str, message: str) -> None:
    report = _check(pad, H=16, W=16)
    assert [p.message for p in report.problems if p.layer == "padded"] == [message]


def test_inputs_of_a_pad_like_are_every_size_the_pool_takes() -> None:
    spec = load_text(SPEC.format(pad="like: skip"))
    assert input_sizes(spec, "H", (1, 40), None, 60)["H"].values == list(range(2, 41))


def test_the_exported_pad_runs_at_every_size_and_imports_back(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from archsolve.bridge import load_model
    from archsolve.check.known import export_check
    from archsolve.output.export import torch_source

    original = export_check(load_text(SPEC.format(pad="like: skip, value: 0.5").replace("max: 40", "max: 64")
                                      .replace("input: [3, H, W]", "input: [3, 17, W]")))
    path = tmp_path / "padnet.py"
    path.write_text(torch_source(original))
    assert "padded = _pad_to(x, skip.shape[2:], value=0.5)  # [4, 17, " in path.read_text()
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 -- the file just written
    model = namespace["Net"]().eval()
    assert [tuple(model(torch.zeros(1, 3, 17, w)).shape) for w in (2, 9, 31)] == [(1, 8, 17, w) for w in (2, 9, 31)]
    back = load_model(f"{path}:Net", [3, 17, 20])
    assert [layer.values.get("like") for layer in back.layers if layer.op == "pad"] == ["skip"]
    assert check_spec(back).output == (8, 17, 20)
