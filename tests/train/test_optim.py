import numpy as np
import pytest
import torch
from torch import nn

from bertkit.errors import InvalidArgumentError
from bertkit.train.optim import Lamb, build_optimizer, parameter_groups


def lamb_reference(x, grads, lr, b1, b2, eps, wd):
    """LAMB as written in You et al. 2019, Algorithm 2 (bias-corrected Adam ratio, phi = identity), in numpy."""
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        r = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        u = r + wd * x
        x = x - lr * np.linalg.norm(x) / np.linalg.norm(u) * u
    return x


def test_lamb_matches_the_papers_formula():
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) for _ in range(5)]
    p = nn.Parameter(torch.tensor(x0))
    opt = Lamb([p], lr=0.05, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.1)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    expected = lamb_reference(x0, grads, 0.05, 0.9, 0.99, 1e-6, 0.1)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-10, atol=1e-12)


def test_lamb_moves_zero_initialised_tensors():
    p = nn.Parameter(torch.zeros(3))
    opt = Lamb([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.step()
    assert torch.all(p < 0)  # trust ratio 1 when ||x|| = 0


def _regression(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 8, generator=g)
    y = x @ torch.randn(8, 1, generator=g) + 0.01 * torch.randn(256, 1, generator=g)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    return x, y, model


@pytest.mark.parametrize("name,lr", [("lamb", 0.02), ("adamw", 0.01)])
def test_optimizers_reduce_the_loss(name, lr):
    x, y, model = _regression()
    opt = build_optimizer(model, name, lr=lr, weight_decay=0.01)
    loss_fn = nn.MSELoss()
    first = loss_fn(model(x), y).item()
    for _ in range(200):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first


def test_weight_decay_spares_biases_and_layernorm():
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    decay, no_decay = parameter_groups(model, 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert [p.shape for p in decay["params"]] == [torch.Size([4, 4])]
    assert len(no_decay["params"]) == 3  # linear bias, LayerNorm weight and bias


def test_adamw_uses_the_fused_kernel_on_cpu():
    opt = build_optimizer(nn.Linear(3, 3), "adamw", lr=1e-3)
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["fused"]


def test_lamb_state_loads_with_weights_only(tmp_path):
    _, _, model = _regression()
    opt = build_optimizer(model, "lamb", lr=0.01)
    model(torch.randn(2, 8)).sum().backward()
    opt.step()
    torch.save(opt.state_dict(), tmp_path / "opt.pt")
    restored = build_optimizer(model, "lamb", lr=0.01)
    restored.load_state_dict(torch.load(tmp_path / "opt.pt", weights_only=True))
    assert restored.state_dict()["state"][0]["step"].item() == 1


def test_bad_optimizer_settings_are_rejected():
    with pytest.raises(InvalidArgumentError, match="unknown optimizer 'sgd'"):
        build_optimizer(nn.Linear(2, 2), "sgd", lr=0.1)
    with pytest.raises(InvalidArgumentError, match="Lamb"):
        Lamb([nn.Parameter(torch.zeros(1))], lr=-1.0)
