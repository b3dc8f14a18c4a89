"""``archsolve import``: PyTorch models read back as specs, checked against torch's own forward.

The reference models are written here (torchvision is not installable beside the CPU torch).
For each: the imported spec's per-layer shapes (layers that are torch modules), its output
shape and its parameter count equal torch's at three input sizes; ``inputs`` on an import with
a var input agrees with trying sizes in torch.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import yaml  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from archsolve.bridge import load_model, spec_from_module  # noqa: E402
from archsolve.bridge.fxmap import spec_text  # noqa: E402
from archsolve.check.api import check_spec  # noqa: E402
from archsolve.cli import main  # noqa: E402
from archsolve.errors import SpecError, UsageError  # noqa: E402
from archsolve.ops.table import OPS  # noqa: E402
from archsolve.solve.inputs import input_sizes  # noqa: E402

pytestmark = pytest.mark.torch


# -- the reference models -----------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class ResNet18(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, cin, stages = (64, 128, 256, 512), 64, []
        for i, w in enumerate(widths):
            stages.append(nn.Sequential(BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w)))
            cin = w
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class VGGish(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Dropout(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


def _center_crop(enc, x):
    _, _, h, w = x.shape
    dh, dw = (enc.shape[2] - h) // 2, (enc.shape[3] - w) // 2
    return enc[:, :, dh:dh + h, dw:dw + w]


class UNet(nn.Module):
    """The original U-Net's shape, two levels: valid convs, crops from .shape, torch.cat skips."""

    def __init__(self):
        super().__init__()
        def double(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.Conv2d(cout, cout, 3), nn.ReLU())
        self.enc1, self.enc2, self.mid = double(1, 8), double(8, 16), double(16, 32)
        self.pool = nn.MaxPool2d(2)
        self.up2, self.dec2 = nn.ConvTranspose2d(32, 16, 2, 2), double(32, 16)
        self.up1, self.dec1 = nn.ConvTranspose2d(16, 8, 2, 2), double(16, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        u2 = self.up2(m)
        d2 = self.dec2(torch.cat([_center_crop(e2, u2), u2], dim=1))
        u1 = self.up1(d2)
        d1 = self.dec1(torch.cat([_center_crop(e1, u1), u1], dim=1))
        return self.head(d1)


class DCGANGenerator(nn.Module):
    def __init__(self, nz: int = 16, ngf: int = 8):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.main(z)


class UNet3D(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.LeakyReLU(0.1))
        self.down = nn.MaxPool3d(2)
        self.mid = nn.Sequential(nn.Conv3d(4, 8, 3, padding=1), nn.InstanceNorm3d(8, affine=True), nn.ELU())
        self.up = nn.Upsample(scale_factor=2, mode="trilinear", align_corners=False)
        self.dec = nn.Conv3d(12, 4, 3, padding=1)
        self.head = nn.Conv3d(4, 2, 1)

    def forward(self, x):
        e = self.enc(x)
        u = self.up(self.mid(self.down(e)))
        return self.head(F.relu(self.dec(torch.cat((e, u), 1))))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2ish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
        self.blocks = nn.Sequential(InvertedResidual(16, 16, 1, 1), InvertedResidual(16, 24, 2, 6),
                                    InvertedResidual(24, 24, 1, 6))
        self.head = nn.Linear(24, 5)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1)
        return self.head(x.flatten(1))


class Inception(nn.Module):
    def __init__(self, cin: int = 8):
        super().__init__()
        self.b1 = nn.Conv2d(cin, 4, 1)
        self.b3 = nn.Sequential(nn.Conv2d(cin, 4, 1), nn.Conv2d(4, 6, 3, padding=1))
        self.b5 = nn.Sequential(nn.Conv2d(cin, 2, 1), nn.Conv2d(2, 3, 5, padding=2))
        self.bp = nn.Conv2d(cin, 3, 1)

    def forward(self, x):
        pooled = F.max_pool2d(x, 3, stride=1, padding=1)
        return F.relu(torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(pooled)], 1))


class WaveNet(nn.Module):
    """Dilated causal convs (F.pad on the left), tanh-sigmoid gates (mul), residual sums."""

    def __init__(self, channels: int = 8, layers: int = 4):
        super().__init__()
        self.dilations = [2 ** i for i in range(layers)]
        self.inp = nn.Conv1d(1, channels, 1)
        self.filters = nn.ModuleList(nn.Conv1d(channels, channels, 2, dilation=d) for d in self.dilations)
        self.gates = nn.ModuleList(nn.Conv1d(channels, channels, 2, dilation=d) for d in self.dilations)
        self.res = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in self.dilations)
        self.out = nn.Conv1d(channels, 4, 1)

    def forward(self, x):
        x = self.inp(x)
        for d, f, g, r in zip(self.dilations, self.filters, self.gates, self.res, strict=True):
            padded = F.pad(x, (d, 0))
            x = x + r(torch.tanh(f(padded)) * torch.sigmoid(g(padded)))
        return self.out(F.relu(x))


class InterpolateSize(nn.Module):
    """A decoder that upsamples to the skip's size (F.interpolate(size=skip.shape[2:]))."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(3, 8, 3, padding=1)
        self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.fuse = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        skip = F.relu(self.enc(x))
        low = self.down(skip)
        up = F.interpolate(low, size=skip.shape[2:], mode="bilinear", align_corners=False)
        return self.fuse(torch.cat([skip, up], dim=1))


class SegNetish(nn.Module):
    """MaxUnpool with the pool's indices, a PixelShuffle, an nn.Flatten-free head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):
        y, idx = self.pool(self.conv(x))
        return self.shuffle(self.unpool(y, idx))


class DoubleConv(nn.Module):
    """milesial/Pytorch-UNet's parts, small: (conv, BN, ReLU) twice, Down, Up padding to the skip."""

    def __init__(self, cin: int, cout: int, mid: int | None = None):
        super().__init__()
        mid = mid or cout
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, mid, 3, padding=1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(cin, cout))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, cin: int, cout: int, bilinear: bool):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(cin, cout, cin // 2)
        else:
            self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
            self.conv = DoubleConv(cin, cout)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UpShape(Up):
    """The same pad, its sizes read as x.shape[i] and x.size(i), the end written (diff + 1) // 2."""

    def forward(self, x1, x2):
        x1 = self.up(x1)
        dh, dw = x2.shape[2] - x1.shape[2], x2.size(3) - x1.size(3)
        return self.conv(torch.cat([x2, F.pad(x1, (dw // 2, (dw + 1) // 2, dh // 2, dh - dh // 2))], dim=1))


class UNetMilesial(nn.Module):
    def __init__(self, bilinear: bool = False, up: type = Up, w: int = 4):
        super().__init__()
        factor = 2 if bilinear else 1
        self.inc = DoubleConv(3, w)
        self.down1, self.down2, self.down3 = Down(w, 2 * w), Down(2 * w, 4 * w), Down(4 * w, 8 * w // factor)
        self.up1 = up(8 * w, 4 * w // factor, bilinear)
        self.up2 = up(4 * w, 2 * w // factor, bilinear)
        self.up3 = up(2 * w, w, bilinear)
        self.outc = nn.Conv2d(w, 2, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(self.down3(x3), x3)
        return self.outc(self.up3(self.up2(x, x2), x1))


def UNetMilesialBilinear():  # noqa: N802 -- a model's name, as the test ids show it
    return UNetMilesial(bilinear=True)


def UNetMilesialShape():  # noqa: N802
    return UNetMilesial(up=UpShape)


class Scaled(nn.Module):
    """Arithmetic with numbers: each an identity whose comment is the expression."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)

    def forward(self, x):
        x = self.conv(x * 0.5 + 1)
        x = (1 - x / 2).mul(2).clamp_(0, 1)
        return -torch.add(torch.clamp(x, min=0.1) ** 2, 0.5, alpha=2)


class TwoConvs(nn.Module):
    def __init__(self, cin: int, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))))


class Widths(nn.Module):
    def __init__(self):
        super().__init__()
        self.stages = nn.Sequential(TwoConvs(3, 16), TwoConvs(16, 32), TwoConvs(32, 64))

    def forward(self, x):
        return self.stages(x)


class CatNegative(nn.Module):
    """torch.cat along the channels spelled from the end (dim=-3 of [N, C, H, W])."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(3, 5, 1)

    def forward(self, x):
        return torch.cat((self.a(x), self.b(x)), dim=-3)


class Zoo(nn.Module):
    """The other ops and forms import maps: norms, activations, functional pools, reshapes, crops."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding="same", dilation=2)
        self.ln = nn.LayerNorm([8, 12, 12])
        self.acts = nn.Sequential(nn.GELU(), nn.SiLU(), nn.LeakyReLU(0.2), nn.SELU(), nn.Hardswish(),
                                  nn.Hardsigmoid(), nn.Mish(), nn.Softplus(beta=2.0), nn.PReLU(8),
                                  nn.ReLU6(), nn.ELU(alpha=0.5), nn.Dropout2d(0.1), nn.LocalResponseNorm(3))
        self.pool = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
        self.amax = nn.AdaptiveMaxPool2d((4, 3))
        self.up = nn.UpsamplingNearest2d(scale_factor=2)
        self.gn = nn.GroupNorm(4, 8)
        self.fc = nn.Linear(8 * 6 * 3, 6)

    def forward(self, x):
        x = self.conv(x)
        x = self.acts(self.ln(x))
        x = torch.add(self.pool(x), F.max_pool2d(x, 3, 2, 1, dilation=1, ceil_mode=True))
        x = torch.mul(self.amax(x).relu(), self.amax(x).sigmoid())
        x = F.interpolate(self.up(x), scale_factor=2, mode="bilinear", align_corners=True)
        x = self.gn(x)[:, :, 2:-2, 3:-3]
        x = F.avg_pool2d(F.softmax(x, dim=1), 2)
        x = x.reshape(x.size(0), x.size(1) * x.size(2) * x.size(3)).reshape(-1, 144)
        return self.fc(x.view(x.size(0), -1))


MODELS = [  # (model, three inputs)
    (ResNet18, [(3, 64, 64), (3, 97, 97), (3, 224, 160)]),
    (VGGish, [(3, 32, 32), (3, 30, 37), (3, 36, 33)]),
    (UNet, [(1, 92, 92), (1, 108, 108), (1, 140, 124)]),
    (DCGANGenerator, [(16, 1, 1), (16, 2, 2), (16, 3, 5)]),
    (UNet3D, [(1, 8, 8, 8), (1, 16, 12, 10), (1, 4, 6, 8)]),
    (MobileNetV2ish, [(3, 32, 32), (3, 45, 61), (3, 8, 8)]),
    (Inception, [(8, 7, 7), (8, 16, 9), (8, 1, 1)]),
    (WaveNet, [(1, 16), (1, 100), (1, 3)]),
    (InterpolateSize, [(3, 16, 16), (3, 15, 21), (3, 5, 2)]),
    (SegNetish, [(3, 8, 8), (3, 16, 10), (3, 6, 4)]),
    (Zoo, [(3, 12, 12)]),
    (UNetMilesial, [(3, 16, 16), (3, 17, 23), (3, 45, 30)]),
    (UNetMilesialBilinear, [(3, 16, 16), (3, 17, 23), (3, 45, 30)]),
    (UNetMilesialShape, [(3, 8, 8), (3, 15, 9), (3, 31, 40)]),
    (Scaled, [(3, 3, 3), (3, 8, 5), (3, 33, 64)]),
    (CatNegative, [(3, 1, 1), (3, 8, 5), (3, 17, 30)]),
]


def _torch_shapes(model: nn.Module, size: tuple[int, ...]) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
    """Each leaf module's output shape (batch left out), by the name import gives its layer."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(
        name.replace(".", "_"), tuple((o[0] if isinstance(o, tuple) else o).shape[1:])))
        for name, m in model.named_modules() if name and not list(m.children())]
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, *size))
    for h in hooks:
        h.remove()
    return shapes, tuple(out.shape[1:])


@pytest.mark.parametrize(("cls", "sizes"), MODELS, ids=[m[0].__name__ for m in MODELS])
def test_imported_spec_checks_as_torch_runs(cls, sizes) -> None:
    model = cls()
    params = sum(p.numel() for p in model.parameters())
    for size in sizes:
        report = check_spec(spec_from_module(model, size))
        layers, out = _torch_shapes(model, size)
        rows = {row.name.replace("/", "_"): tuple(row.shape) for row in report.rows if row.shape is not None}
        compared = {name: rows.get(name) for name in layers if name in rows}
        assert (report.ok, report.output, report.totals["params"]) == (True, out, params), size
        # a module called more than once (ResNet's relu) has its last call in the hook
        assert {n: s for n, s in compared.items() if s != layers[n] and f"{n}_1" not in rows} == {}, size
        assert len(compared) >= len(layers) // 2, size


INPUTS = [  # (model, input with a var, the range inputs is asked about)
    (UNet, (1, "H", "H"), (60, 160)),
    (VGGish, (3, "H", "H"), (1, 64)),
    (InterpolateSize, (3, "H", 8), (1, 40)),
    (WaveNet, (1, "L"), (1, 40)),
    (DCGANGenerator, (16, "H", "H"), (1, 12)),
    (Zoo, (3, "H", "H"), (1, 30)),
    (MobileNetV2ish, (3, "H", "H"), (1, 20)),
    (UNetMilesial, (3, "H", 16), (1, 30)),
    (UNetMilesialShape, (3, 16, "W"), (1, 30)),
    (Scaled, (3, "H", 5), (1, 12)),
]


def _torch_accepts(model: nn.Module, size: tuple[int, ...]) -> bool:
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *size))
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize(("cls", "entries", "span"), INPUTS, ids=[m[0].__name__ for m in INPUTS])
def test_inputs_of_an_import_agrees_with_torch(cls, entries, span) -> None:
    model = cls()
    var = next(e for e in entries if isinstance(e, str))
    report = input_sizes(spec_from_module(model, entries), var, span, None, 60)[var]
    accepted = [n for n in range(span[0], span[1] + 1)
                if _torch_accepts(model, tuple(n if e == var else e for e in entries))]
    assert report.values == accepted


def test_arithmetic_with_a_number_is_an_identity_that_keeps_the_expression() -> None:
    spec = yaml.safe_load(spec_text(Scaled(), (3, 9, 9), name="Scaled", domain=(1, 64)))
    assert [(layer["op"], layer.get("comment")) for layer in spec["layers"]] == [
        ("identity", "x * 0.5"), ("identity", "x + 1"), ("conv", None), ("identity", "x / 2"), ("identity", "1 - x"),
        ("identity", "x.mul(2)"), ("identity", "x.clamp_(0, 1)"), ("identity", "torch.clamp(x, min=0.1)"),
        ("identity", "x ** 2"), ("identity", "torch.add(x, 0.5, alpha=2)"), ("identity", "-x")]
    report = check_spec(spec_from_module(Scaled(), (3, 9, 9)))
    assert [(row.shape, row.params, row.macs) for row in report.rows if row.op == "identity"] == [
        ([3, 9, 9], 0, 0)] * 2 + [([4, 4, 4], 0, 0)] * 8
    assert (report.totals["params"], report.totals["macs"]) == (112, 4 * 16 * 27)


# -- the command line ----------------------------------------------------------------------------

MODEL_FILE = textwrap.dedent('''\
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self, classes=10):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(8 * 32 * 32, classes)

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


    class Custom(nn.Module):
        def forward(self, x):
            return torch.fft.fft(x)


    class Branchy(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            return -x


    def make(width):
        return nn.Sequential(nn.Conv1d(2, width, 3), nn.ReLU())


    class PadReversed(nn.Module):
        def forward(self, x):
            y = torch.nn.functional.max_pool1d(x, 2)
            d = x.shape[2] - y.shape[2]
            return torch.nn.functional.pad(y, [d - d // 2, d // 2])


    class PadOneAxis(nn.Module):
        def forward(self, x):
            y = torch.nn.functional.max_pool2d(x, 2)
            d = x.shape[3] - y.shape[3]
            return torch.nn.functional.pad(y, [d // 2, d - d // 2])


    class TwoInputs(nn.Module):
        def forward(self, image, mask):
            return torch.cat([image, mask], dim=1)


    class TwoOutputs(nn.Module):
        def forward(self, x):
            return torch.relu(x), torch.sigmoid(x)


    class CatSpatial(nn.Module):
        def forward(self, x):
            return torch.cat([x, torch.relu(x)], dim=-1)
    ''')

NET_SPEC = textwrap.dedent('''\
    name: Net
    input: [3, 64, 64]
    layers:
      - {name: conv, op: conv, out: 8, kernel: 3, stride: 1, padding: 1, dilation: 1, groups: 1, bias: true}
      - {name: relu, op: relu}
      - {name: pool, op: maxpool, kernel: 2, stride: 2, padding: 0, dilation: 1, ceil_mode: false}
      - {name: flatten, op: flatten}
      - {name: fc, op: linear, out: 10, bias: true}
    constraints:
      - input.C == 3
      - flatten.C == 8192
    ''')


@pytest.fixture
def model_py(tmp_path: Path) -> str:
    path = tmp_path / "model.py"
    path.write_text(MODEL_FILE)
    return str(path)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_writes_the_spec(model_py: str, tmp_path: Path) -> None:
    out = tmp_path / "net.yaml"
    assert _run("import", f"{model_py}:Net", "--input", "3,64,64", "-o", str(out)) == (0, "", f"wrote {out}\n")
    assert out.read_text() == NET_SPEC
    code, stdout, _ = _run("check", str(out), "--exact")
    assert code == 0 and "output [10]   params 82,154   MACs 966,656" in stdout.splitlines()


@pytest.mark.parametrize(("args", "code", "last"), [
    (["check", "{m}:Net", "--input", "3,64,64"], 0, "OK"),
    (["check", "{m}:Net", "--input", "3,62,64"], 1, "INVALID: 1 error(s), 0 warning(s)"),
    (["inputs", "{m}:Net", "--input", "3,H,H", "--range", "1..100"], 0, "  64, 65"),
    (["inputs", "{m}:make", "--input", "2,L", "--kwargs", '{"width": 4}', "--range", "1..5"], 0, "  3, 4, 5"),
    (["draw", "{m}:Net", "--input", "3,64,64", "--format", "mermaid"], 0, None),
    (["solve", "{m}:Net", "--input", "3,H,64"], 0, None),
])
def test_a_model_stands_where_a_spec_goes(model_py: str, args: list[str], code: int, last: str | None) -> None:
    got, stdout, stderr = _run(*(a.replace("{m}", model_py) for a in args))
    assert (got, stderr) == (code, "")
    if last is not None:
        assert stdout.splitlines()[-1] == last


@pytest.mark.parametrize(("args", "message"), [
    (["import", "{m}:Custom", "--input", "3,8,8"],
     "{m}:18: cannot import node fft_fft (call_function torch._C._fft.fft_fft): archsolve has no layer for it"),
    (["import", "{m}:Branchy", "--input", "3,8,8"],
     "{m}:23: torch.fx cannot trace Branchy (if x.sum() > 0:): TraceError: symbolically traced variables cannot "
     "be used as inputs to control flow"),
    (["import", "{m}:Net"], "{m}:Net is a model: give its input with --input, channels then spatial sizes "
     "(--input 3,224,224; a name is a var: --input 3,H,W)"),
    (["check", "{m}:Net"], "{m}:Net is a model: give its input with --input, channels then spatial sizes "
     "(--input 3,224,224; a name is a var: --input 3,H,W)"),
    (["import", "{m}:Net", "--input", "3,64"], "{m}:13: cannot import node conv (call_module conv): nn.Conv2d "
     "takes 2 spatial axes, and its input has 1: give --input the channels, then 2 spatial sizes"),
    (["import", "{m}:Net", "--input", "3"], "--input 3: give the channels and 1, 2 or 3 spatial sizes "
     "(C,L or C,H,W or C,D,H,W)"),
    (["import", "{m}:Net", "--input", "3,6.5,4"], "--input entry '6.5': expected a whole number or a name (1,H,W)"),
    (["import", "{m}:Nett", "--input", "3,8,8"], "{m}:Nett: {m} has no 'Nett' (did you mean 'Net'?)"),
    (["import", "{m}:Net", "--input", "3,8,8", "--kwargs", "[1]"],
     "--kwargs '[1]': expected a JSON object of keyword arguments"),
    (["import", "{m}:Net", "--input", "3,8,8", "--kwargs", '{"klasses": 3}'],
     "{m}:Net: building Net(**{'klasses': 3}) failed: TypeError: Net.__init__() got an unexpected keyword "
     "argument 'klasses'"),
    (["import", "nosuchpackage.models:Net", "--input", "3,8,8"],
     "nosuchpackage.models:Net: cannot import nosuchpackage.models: ModuleNotFoundError: No module named "
     "'nosuchpackage'"),
    (["--max-layers", "2", "check", "{m}:Net", "--input", "3,64,64"],
     "<import {m}:Net>:6:5: layers[2] (pool): the network has more than 2 layers"),
    # the extra pixel before: archsolve's pad like puts it at the end, as milesial's U-Net does
    (["import", "{m}:PadReversed", "--input", "3,9"], "{m}:36: cannot import node pad (call_function "
     "torch.nn.functional.pad): F.pad by [input.L - max_pool1d.L - floor(input.L/2 - max_pool1d.L/2), "
     "floor(input.L/2 - max_pool1d.L/2)] on axis L: archsolve pads to another layer's size centred, diff // 2 "
     "before and diff - diff // 2 after (diff: that layer's size less this one's)"),
    (["import", "{m}:PadOneAxis", "--input", "3,9,9"], "{m}:43: cannot import node pad (call_function "
     "torch.nn.functional.pad): F.pad with amounts read from sizes on 1 of 2 spatial axes: archsolve pads to "
     "another layer's size on every axis"),
    (["import", "{m}:TwoInputs", "--input", "3,8,8"], "TwoInputs.forward takes 2 inputs (image, mask): archsolve "
     "imports a model of one input tensor (wrap it in a module whose forward takes one)"),
    (["import", "{m}:TwoOutputs", "--input", "3,8,8"], "TwoOutputs.forward returns 2 values: archsolve "
     "imports a model that returns one tensor (import each output's model on its own)"),
    (["import", "{m}:CatSpatial", "--input", "3,8,8"], "{m}:58: cannot import node cat (call_function torch.cat): "
     "torch.cat along dim -1 (W of [N, C, H, W]): archsolve concatenates along the channels only (dim=1 or dim=-3)"),
    (["solve", "{m}:Net", "--input", "3,H,64", "--in-place"], "--write and --in-place fill in a spec file; write "
     "{m}:Net's spec first: archsolve import {m}:Net --input ... -o SPEC.yaml"),
])
def test_what_cannot_be_imported_is_exit_2(model_py: str, args: list[str], message: str) -> None:
    assert _run(*(a.replace("{m}", model_py) for a in args)) == (
        2, "", f"archsolve: error: {message.replace('{m}', model_py)}\n")


def test_without_torch_import_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, model_py: str) -> None:
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # `import torch` raises ImportError
    assert _run("import", f"{model_py}:Net", "--input", "3,8,8") == (
        2, "", "archsolve: error: importing a PyTorch model needs torch: pip install archsolve[torch]\n")


def test_the_api_entry_points() -> None:
    spec = load_model("torch.nn:PixelShuffle", (8, "H", 4), kwargs={"upscale_factor": 2}, domain=(1, 64))
    assert [(layer.name, layer.op) for layer in spec.layers] == [("pixel_shuffle_0", "pixel_shuffle")]
    with pytest.raises(UsageError):
        spec_from_module(nn.Conv2d(3, 4, 3), (3, 8))
    with pytest.raises(SpecError):
        spec_from_module(nn.LSTM(3, 4), (3, 8))


@pytest.mark.parametrize(("cls", "size", "blocks"), [
    # a block's convs share one width: one parameter, named after the first
    (ResNet18, (3, 64, 64), {"BasicBlock": (["conv1_out"], 5), "BasicBlock_1": (["downsample_0_out"], 3)}),
    # the two blocks with a residual sum; the stride-2 one without stays flat; the depthwise
    # conv's width and groups are the expansion's width
    (MobileNetV2ish, (3, 32, 32), {"InvertedResidual": (["conv_0_out", "conv_6_out"], 2)}),
    (Widths, (3, 8, 8), {"TwoConvs": (["conv1_out"], 3)}),
    (UNet, (1, 92, 92), {}),  # no module class of its own
])
def test_a_class_called_more_than_once_becomes_a_block(cls, size, blocks) -> None:
    spec = yaml.safe_load(spec_text(cls(), size, name=cls.__name__, domain=(1, 4096)))
    calls = [name for layer in spec["layers"] for name in [layer.get("block")] * layer.get("repeat", 1)]
    assert {name: (list(block["params"]), calls.count(name))
            for name, block in spec.get("blocks", {}).items()} == blocks


def test_a_sequential_of_one_block_is_a_repeat() -> None:
    """torchvision's `layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))` reads back as
    one `repeat`, so its layers keep torch's names: `layer1.0.conv1` is `layer1/0/conv1`."""
    spec = yaml.safe_load(spec_text(ResNet18(), (3, 64, 64), name="ResNet18", domain=(1, 4096)))
    assert [(layer["name"], layer.get("repeat")) for layer in spec["layers"] if "block" in layer][:2] == [
        ("layer1", 2), ("layer2_0", None)]
    report = check_spec(spec_from_module(ResNet18(), (3, 64, 64)))
    names = [row.name for row in report.rows]
    assert "layer1/0/conv1" in names and "layer1/1/bn2" in names and "layer1" in names


def test_equal_block_values_are_one_parameter() -> None:
    spec = yaml.safe_load(spec_text(Widths(), (3, 8, 8), name="Widths", domain=(1, 4096)))
    assert [(layer["name"], layer.get("out")) for layer in spec["blocks"]["TwoConvs"]["layers"]] == [
        ("conv1", "conv1_out"), ("relu", None), ("conv2", "conv1_out"), ("relu_1", None)]
    assert [(layer["name"], layer["conv1_out"]) for layer in spec["layers"]] == [
        ("stages_0", 16), ("stages_1", 32), ("stages_2", 64)]
    model = Widths()
    report = check_spec(spec_from_module(model, (3, 8, 8)))
    assert (report.ok, report.output, report.totals["params"]) == (True, (64, 8, 8), sum(
        p.numel() for p in model.parameters()))


@pytest.mark.parametrize("name", ["unet-original", "dcgan-generator", "resnet50", "unet3d", "vgg16",
                                  "unet-original-sizes"])
def test_an_exported_file_imports_back_to_the_same_check(tmp_path: Path, name: str) -> None:
    """Round trip: `export` then `import` gives a spec with the original's output, parameters
    and MACs (names may differ: `enc1/conv1` is exported as `enc1__conv1`, imported as `enc1_conv1`)."""
    from archsolve.check.known import export_check
    from archsolve.output.export import torch_source
    from archsolve.spec.load import load_spec

    original = export_check(load_spec(str(Path("specs") / f"{name}.yaml")))
    path = tmp_path / f"{name.replace('-', '_')}.py"
    path.write_text(torch_source(original))
    *_, cls = [line.split()[1].split("(")[0] for line in path.read_text().splitlines() if line.startswith("class ")]
    back = check_spec(load_model(f"{path}:{cls}", list(original.input)))
    assert back.ok
    assert (back.output, back.totals) == (original.output, original.totals)
    # row by row the same shapes and counts; the same names too, but for the layers written
    # inline (torch.cat, +, a crop), which torch.fx names after the function (`cat_1`)
    assert [(r.shape, r.params, r.macs) for r in back.rows] == [(r.shape, r.params, r.macs) for r in original.rows]
    inline = {lay.name for lay in original.spec.layers if not OPS[lay.op].torch.module_for(lay.values)}
    named = [r.name for r in original.rows if r.name not in inline]
    assert [r.name for r in back.rows if r.name in set(named)] == named
