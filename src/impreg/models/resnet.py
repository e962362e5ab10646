"""ImageNet-style ResNet18/34 with one output logit (spec 2.2-2.3), randomly initialized.

``width=64`` is torchvision's model itself. Narrower CPU-scale versions (stage widths w, 2w, 4w, 8w)
need a rebuild: torchvision hard-codes 64..512, and its ``width_per_group`` is refused by BasicBlock
(it only scales Bottleneck's inner width), so it cannot serve as a width multiplier here.
"""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet as tv

LAYERS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}


def _stem(in_channels: int, width: int) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")  # torchvision's init
    return conv


class NarrowResNet(tv.ResNet):
    """torchvision's ResNet (its layer builder, forward and init) with stage widths w, 2w, 4w, 8w."""

    def __init__(
        self, layers: tuple[int, ...], width: int, in_channels: int = 3, num_outputs: int = 1
    ) -> None:
        nn.Module.__init__(self)  # tv.ResNet.__init__ would build the 64-wide stages
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups = width, 1, 1
        self.base_width = 64  # BasicBlock's required "width per group", not the stage width
        self.conv1 = _stem(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(tv.BasicBlock, width, layers[0])
        self.layer2 = self._make_layer(tv.BasicBlock, 2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(tv.BasicBlock, 4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(tv.BasicBlock, 8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * width, num_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def build_resnet(
    arch: str = "resnet18", in_channels: int = 3, width: int = 64, num_outputs: int = 1
) -> nn.Module:
    """ResNet18/34 (weights=None) with ``num_outputs`` logits; ``in_channels=1`` for Pathfinder."""
    if arch not in LAYERS:
        raise ValueError(f"unknown arch {arch!r}; choose from {sorted(LAYERS)}")
    if width < 1 or in_channels < 1 or num_outputs < 1:
        raise ValueError(
            f"width, in_channels and num_outputs must be >= 1, got {width}, {in_channels}, {num_outputs}"
        )
    if width != 64:
        return NarrowResNet(LAYERS[arch], width, in_channels, num_outputs)
    model = getattr(tv, arch)(weights=None, num_classes=num_outputs)
    if in_channels != 3:
        model.conv1 = _stem(in_channels, 64)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
