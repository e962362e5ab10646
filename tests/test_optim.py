import math

import pytest
import torch

from impreg.optim import NormalizedGradRMSprop


def test_two_steps_worked_by_hand():
    # L = 0.5 * ||p||^2, so g = p.  lr 0.1, alpha 0.99, eps 0.
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    opt = NormalizedGradRMSprop([p], lr=0.1, alpha=0.99, eps=0.0)
    (0.5 * p.pow(2).sum()).backward()
    opt.step()
    # s1 = 0.01 * 5 = 0.05, s_hat = 0.05 / 0.01 = 5 -> p <- p - 0.1 p / sqrt(5)
    expected = torch.tensor([1.0, 2.0], dtype=torch.float64) * (1 - 0.1 / math.sqrt(5))
    torch.testing.assert_close(p.detach(), expected)
    p.grad = None
    (0.5 * p.pow(2).sum()).backward()
    opt.step()
    g2 = expected.pow(2).sum().item()
    s2 = 0.99 * 0.05 + 0.01 * g2
    s_hat = s2 / (1 - 0.99**2)
    torch.testing.assert_close(p.detach(), expected * (1 - 0.1 / math.sqrt(s_hat)))


def test_step_is_along_the_joint_gradient():
    """One shared scale for every parameter: the update is -c * (whole gradient)."""
    a = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    b = torch.nn.Parameter(torch.tensor([[2.0]]))
    opt = NormalizedGradRMSprop([a, b], lr=0.01)
    before = [a.detach().clone(), b.detach().clone()]
    loss = (a * torch.tensor([3.0, 5.0])).sum() + 7 * b.sum()
    loss.backward()
    grads = [a.grad.clone(), b.grad.clone()]
    opt.step()
    ratios = torch.cat(
        [((x0 - x.detach()) / g).flatten() for x0, x, g in zip(before, [a, b], grads)]
    )
    assert torch.allclose(ratios, ratios[0].expand_as(ratios))
    norm = math.sqrt(9 + 25 + 49)
    assert ratios[0].item() == pytest.approx(0.01 / (norm + 1e-6), rel=1e-5)


def test_rejects_bad_settings():
    with pytest.raises(ValueError):
        NormalizedGradRMSprop([torch.nn.Parameter(torch.zeros(1))], lr=-1.0)
