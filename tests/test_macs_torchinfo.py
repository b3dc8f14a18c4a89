"""The MAC convention against torchinfo (issue #20, point 5): with ``--count-bias`` the MACs of
a network of convs, linears, pools and activations are torchinfo's total mult-adds exactly;
a transposed conv and a norm differ by the documented conventions, and the test says by how
much."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torchinfo = pytest.importorskip("torchinfo")
nn = torch.nn

from archsolve.check.api import check_spec  # noqa: E402
from archsolve.output.view import TableMode  # noqa: E402
from archsolve.spec.load import load_text  # noqa: E402

SAME = [
    # (name, torch module, input shape, spec layers)
    ("conv relu conv linear", lambda: nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, bias=False), nn.Flatten(),
        nn.Linear(8 * 15 * 15, 10)), (3, 32, 32),
     ["{op: conv, out: 8, kernel: 3, padding: 1}", "{op: relu}", "{op: conv, out: 8, kernel: 3, stride: 2, bias: false}",
      "{op: flatten}", "{op: linear, out: 10}"]),
    ("resnet stem", lambda: nn.Sequential(
        nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1)),
     (3, 224, 224),
     ["{op: conv, out: 64, kernel: 7, stride: 2, padding: 3, bias: false}", "{op: relu}",
      "{op: maxpool, kernel: 3, stride: 2, padding: 1}"]),
    ("grouped dilated", lambda: nn.Sequential(nn.Conv2d(4, 8, 3, groups=2, dilation=2)), (4, 16, 16),
     ["{op: conv, out: 8, kernel: 3, groups: 2, dilation: 2}"]),
    ("1d and avgpool", lambda: nn.Sequential(nn.Conv1d(2, 6, 5, stride=3), nn.AvgPool1d(2)), (2, 100),
     ["{op: conv, out: 6, kernel: 5, stride: 3}", "{op: avgpool, kernel: 2}"]),
    ("3d", lambda: nn.Sequential(nn.Conv3d(1, 4, 3, padding=1)), (1, 8, 8, 8),
     ["{op: conv, out: 4, kernel: 3, padding: 1}"]),
]


def _spec(shape: tuple[int, ...], layers: list[str]) -> str:
    return f"input: {list(shape)}\nlayers:\n" + "".join(f"  - {x}\n" for x in layers)


def _torchinfo(module: object, shape: tuple[int, ...]) -> int:
    return int(torchinfo.summary(module, input_size=(1, *shape), verbose=0).total_mult_adds)


@pytest.mark.parametrize(("name", "make", "shape", "layers"), SAME, ids=[c[0] for c in SAME])
def test_macs_with_bias_adds_are_torchinfos(name: str, make: object, shape: tuple[int, ...],
                                            layers: list[str]) -> None:
    report = check_spec(load_text(_spec(shape, layers)))
    counted = TableMode(count_bias=True).compute(report.totals["macs"], report.totals["bias_adds"])
    assert counted == _torchinfo(make(), shape)  # type: ignore[operator]


def test_a_transposed_conv_counts_what_it_computes_where_torchinfo_counts_its_output() -> None:
    """Each input pixel times the whole kernel once; torchinfo multiplies the kernel by every
    output pixel, stride**2 times as many here (plus the bias adds both count with --count-bias)."""
    report = check_spec(load_text(_spec((3, 16, 16), ["{op: deconv, out: 8, kernel: 2, stride: 2}"])))
    kernel = 3 * 8 * 2 * 2
    assert report.totals["macs"] == 16 * 16 * kernel
    assert report.totals["bias_adds"] == 8 * 32 * 32
    assert _torchinfo(nn.ConvTranspose2d(3, 8, 2, stride=2), (3, 16, 16)) == 32 * 32 * kernel + 8 * 32 * 32


def test_a_norm_has_no_macs_where_torchinfo_counts_its_params() -> None:
    report = check_spec(load_text(_spec((8, 16, 16), ["{op: batchnorm}"])))
    assert (report.totals["macs"], report.totals["bias_adds"]) == (0, 0)
    assert _torchinfo(nn.BatchNorm2d(8), (8, 16, 16)) == 2 * 8  # its weight and bias, once each, whatever the input
