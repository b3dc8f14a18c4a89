"""Hand-written PyTorch references for the example specs in ``specs/``.

Each ``build_*`` function constructs, by hand and independently of the spec files (no
YAML is read here), the ``torch.nn.Module`` that the paper or torchvision describes.
:func:`reference` runs one forward pass on a batch of one and returns the output shape
without the batch dimension and the total parameter count.

torch is imported inside the functions, so importing this module never needs torch.
torchvision is not used: ResNet-50 and VGG16 are written out here as torchvision does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------------------
# ConvNet seed: 1x28x28 -> conv5 -> pool2 -> conv3 -> fc 500 -> fc 10
# --------------------------------------------------------------------------------------
def build_convnet_seed() -> Any:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 10, kernel_size=5),  # 28 -> 24
        nn.ReLU(),
        nn.MaxPool2d(2),  # 24 -> 12
        nn.Conv2d(10, 20, kernel_size=3),  # 12 -> 10
        nn.ReLU(),
        nn.Flatten(),  # 20 * 10 * 10 = 2000
        nn.Linear(2000, 500),
        nn.ReLU(),
        nn.Linear(500, 10),
    )


# --------------------------------------------------------------------------------------
# U-Nets
# --------------------------------------------------------------------------------------
def _center_crop(x: Any, like: Any) -> Any:
    """Center-crop every spatial axis of ``x`` to the size of ``like``'s."""
    slices = [slice(None), slice(None)]
    for dim in range(2, x.dim()):
        diff = x.shape[dim] - like.shape[dim]
        lo = diff // 2
        slices.append(slice(lo, lo + like.shape[dim]))
    return x[tuple(slices)]


def _make_unet(
    in_ch: int,
    n_classes: int,
    widths: list[int],
    *,
    dims: int = 2,
    padding: int = 0,
    batchnorm: bool = False,
) -> Any:
    """A U-Net: ``len(widths) - 1`` levels down, then up with copy-(and-crop) + concat."""
    import torch
    from torch import nn

    conv_cls = {2: nn.Conv2d, 3: nn.Conv3d}[dims]
    deconv_cls = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[dims]
    pool_cls = {2: nn.MaxPool2d, 3: nn.MaxPool3d}[dims]
    bn_cls = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dims]

    def double_conv(cin: int, cout: int) -> Any:
        layers: list[Any] = []
        for a, b in ((cin, cout), (cout, cout)):
            layers.append(conv_cls(a, b, kernel_size=3, padding=padding, bias=not batchnorm))
            if batchnorm:
                layers.append(bn_cls(b))
            layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.ModuleList()
            cin = in_ch
            for w in widths:
                self.down.append(double_conv(cin, w))
                cin = w
            self.pool = pool_cls(2)
            self.ups = nn.ModuleList()
            self.dec = nn.ModuleList()
            for w in reversed(widths[:-1]):
                self.ups.append(deconv_cls(cin, w, kernel_size=2, stride=2))
                self.dec.append(double_conv(2 * w, w))
                cin = w
            self.head = conv_cls(cin, n_classes, kernel_size=1)

        def forward(self, x: Any) -> Any:
            skips = []
            for i, block in enumerate(self.down):
                x = block(x)
                if i < len(self.down) - 1:
                    skips.append(x)
                    x = self.pool(x)
            for up, dec, skip in zip(self.ups, self.dec, reversed(skips), strict=True):
                x = up(x)
                x = dec(torch.cat([_center_crop(skip, x), x], dim=1))
            return self.head(x)

    return UNet()


def build_unet_original() -> Any:
    """Ronneberger et al. 2015: valid 3x3 convs, copy-and-crop, 572x572 -> 388x388."""
    return _make_unet(1, 2, [64, 128, 256, 512, 1024], padding=0)


def build_unet_padded() -> Any:
    """A 4-level U-Net with padding-1 convs + BatchNorm (no cropping needed)."""
    return _make_unet(3, 2, [64, 128, 256, 512, 1024], padding=1, batchnorm=True)


def build_unet3d() -> Any:
    """A small 3D U-Net in the style of Cicek et al. 2016, padded convs + BatchNorm."""
    return _make_unet(1, 2, [16, 32, 64, 128], dims=3, padding=1, batchnorm=True)


# --------------------------------------------------------------------------------------
# ResNet-50 / ResNet-152 (torchvision layout, v1.5: stride on the 3x3 conv)
# --------------------------------------------------------------------------------------
def build_resnet50() -> Any:
    """torchvision's resnet50: bottleneck stages [3, 4, 6, 3], 25,557,032 parameters."""
    return _make_resnet([3, 4, 6, 3])


def build_resnet152() -> Any:
    """torchvision's resnet152: bottleneck stages [3, 8, 36, 3], 60,192,808 parameters."""
    return _make_resnet([3, 8, 36, 3])


def _make_resnet(stages: list[int]) -> Any:
    from torch import nn

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, cin: int, width: int, stride: int, downsample: Any) -> None:
            super().__init__()
            cout = width * self.expansion
            self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x: Any) -> Any:
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self, num_classes: int = 1000) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            self.inplanes = 64
            self.layer1 = self._stage(64, stages[0], 1)
            self.layer2 = self._stage(128, stages[1], 2)
            self.layer3 = self._stage(256, stages[2], 2)
            self.layer4 = self._stage(512, stages[3], 2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(512 * 4, num_classes)

        def _stage(self, width: int, blocks: int, stride: int) -> Any:
            cout = width * 4
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout),
            )
            layers = [Bottleneck(self.inplanes, width, stride, downsample)]
            self.inplanes = cout
            layers += [Bottleneck(cout, width, 1, None) for _ in range(blocks - 1)]
            return nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.flatten(self.avgpool(x)))

    return ResNet()


# --------------------------------------------------------------------------------------
# VGG16 (torchvision vgg16, configuration "D", no BatchNorm)
# --------------------------------------------------------------------------------------
def build_vgg16() -> Any:
    from torch import nn

    cfg: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                            512, 512, 512, "M", 512, 512, 512, "M"]  # fmt: skip
    features: list[Any] = []
    cin = 3
    for v in cfg:
        if v == "M":
            features.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            features += [nn.Conv2d(cin, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            cin = int(v)
    return nn.Sequential(
        nn.Sequential(*features),
        nn.AdaptiveAvgPool2d((7, 7)),
        nn.Flatten(),
        nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(4096, 1000),
        ),
    )


# --------------------------------------------------------------------------------------
# DCGAN generator (PyTorch DCGAN tutorial: nz=100, ngf=64, nc=3)
# --------------------------------------------------------------------------------------
def build_dcgan_generator() -> Any:
    from torch import nn

    nz, ngf, nc = 100, 64, 3
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


# --------------------------------------------------------------------------------------
# Registry: spec file name -> (builder, input shape without batch)
# --------------------------------------------------------------------------------------
REFERENCES: dict[str, tuple[Callable[[], Any], tuple[int, ...]]] = {
    "convnet-seed.yaml": (build_convnet_seed, (1, 28, 28)),
    "unet-original.yaml": (build_unet_original, (1, 572, 572)),
    "unet-padded.yaml": (build_unet_padded, (3, 256, 256)),
    "resnet50.yaml": (build_resnet50, (3, 224, 224)),
    "resnet152.yaml": (build_resnet152, (3, 224, 224)),
    "vgg16.yaml": (build_vgg16, (3, 224, 224)),
    "dcgan-generator.yaml": (build_dcgan_generator, (100, 1, 1)),
    "unet3d.yaml": (build_unet3d, (1, 64, 128, 128)),
}


def forward_shape(model: Any, input_shape: tuple[int, ...]) -> list[int]:
    """Shape (without batch) of ``model``'s output for one sample shaped ``input_shape``.

    The model and the input are put on the ``meta`` device: shapes are computed with
    PyTorch's own rules, with no memory and no arithmetic.
    """
    import torch

    model = model.to("meta").eval()
    with torch.no_grad():
        out = model(torch.empty((1, *input_shape), device="meta"))
    return list(out.shape[1:])


def conv_linear_macs(model: Any, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of every Conv*, ConvTranspose* and Linear layer (batch of one).

    A conv: Cin/groups * Cout * prod(kernel) * prod(output spatial size); a deconv the
    same with the *input* spatial size (docs/json.md); a linear: in * out.
    """
    import math

    from torch import nn

    total = 0

    def hook(mod: Any, inputs: Any, output: Any) -> None:
        nonlocal total
        x = inputs[0]
        if isinstance(mod, nn.Linear):
            total += mod.in_features * mod.out_features
        elif isinstance(mod, nn.modules.conv._ConvTransposeNd):
            cin = mod.in_channels // mod.groups
            total += cin * mod.out_channels * math.prod(mod.kernel_size) * math.prod(x.shape[2:])
        elif isinstance(mod, nn.modules.conv._ConvNd):
            cin = mod.in_channels // mod.groups
            total += cin * mod.out_channels * math.prod(mod.kernel_size) * math.prod(output.shape[2:])

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.Linear | nn.modules.conv._ConvNd)
    ]
    try:
        forward_shape(model, input_shape)
    finally:
        for h in handles:
            h.remove()
    return total


def build(spec_name: str) -> Any:
    """The reference module for a spec, its parameters on the meta device (no memory)."""
    import torch

    builder, _ = REFERENCES[spec_name]
    with torch.device("meta"):
        return builder()


def reference(spec_name: str) -> tuple[list[int], int]:
    """(output shape without batch, total parameter count) of the reference for a spec."""
    model = build(spec_name)
    params = _count(model)
    return forward_shape(model, REFERENCES[spec_name][1]), params


def reference_macs(spec_name: str) -> int:
    """Conv/deconv/linear multiply-accumulates of the reference for a spec (batch of one)."""
    return conv_linear_macs(build(spec_name), REFERENCES[spec_name][1])
