"""ResNet builders: shapes, the paper's parameter counts, and the narrow rebuild matching torchvision."""

from __future__ import annotations

import pytest
import torch
from torchvision.models import resnet18

from impreg.models.resnet import LAYERS, NarrowResNet, build_resnet, count_parameters


@pytest.mark.parametrize(("arch", "millions"), [("resnet18", 11.18), ("resnet34", 21.29)])
def test_standard_parameter_counts(arch: str, millions: float) -> None:
    assert count_parameters(build_resnet(arch)) / 1e6 == pytest.approx(millions, abs=0.01)


def test_output_shape_one_channel_and_narrow() -> None:
    torch.manual_seed(0)
    for model, channels in (
        (build_resnet("resnet18", in_channels=1), 1),
        (build_resnet("resnet34", width=8), 3),
        (build_resnet("resnet18", in_channels=1, width=16), 1),
    ):
        model.eval()
        with torch.no_grad():
            out = model(torch.randn(2, channels, 40, 40))
        assert out.shape == (2, 1)
    assert build_resnet("resnet18", in_channels=1).conv1.weight.shape == (64, 1, 7, 7)


def test_narrow_rebuild_at_width_64_is_torchvisions_architecture() -> None:
    ours = NarrowResNet((2, 2, 2, 2), width=64, num_outputs=1).state_dict()
    theirs = resnet18(weights=None, num_classes=1).state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)


def test_width_scales_parameters_quadratically() -> None:
    full, quarter = (count_parameters(build_resnet(width=w)) for w in (64, 16))
    assert 14 < full / quarter < 17


def test_bad_arch() -> None:
    with pytest.raises(ValueError):
        build_resnet("resnet50")


def test_the_training_loop_knows_every_arch() -> None:
    from impreg.train.locality import ARCHS

    assert ARCHS == tuple(LAYERS)  # the loop validates arch names without importing torchvision
