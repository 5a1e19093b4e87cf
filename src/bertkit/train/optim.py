"""Optimizers: AdamW (PyTorch's fused kernel where the device has one) and LAMB for very large batches."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from bertkit.errors import InvalidArgumentError


def trust_ratio(weight: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
    """LAMB's per-tensor scale ||x|| / ||update||; 1 when either is zero (fresh zero biases must still move).
    A tensor, not a float: `.item()` here would stall a GPU once per parameter tensor per step."""
    w, u = weight.norm(), update.norm()
    return torch.where((w > 0) & (u > 0), w / u, torch.ones_like(w))


class Lamb(torch.optim.Optimizer):
    """LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning", Algorithm 2).

    Adam's bias-corrected update r = m_hat / (sqrt(v_hat) + eps), plus decoupled weight decay, rescaled per
    tensor by the trust ratio ||x|| / ||r + wd * x||, so every layer moves by about lr times its own norm. That
    keeps training stable at batch sizes where plain Adam diverges (BERT in 76 minutes used 64k).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.01,
    ):
        if (
            not lr > 0
            or not 0.0 <= betas[0] < 1.0
            or not 0.0 <= betas[1] < 1.0
            or eps < 0
            or weight_decay < 0
        ):
            raise InvalidArgumentError(
                f"Lamb: invalid hyper-parameters lr={lr} betas={betas} eps={eps} weight_decay={weight_decay}"
            )
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    # step as a tensor, like torch's own optimizers, so the state loads with weights_only=True
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"].item()
                m, v, g = state["exp_avg"], state["exp_avg_sq"], p.grad
                m.mul_(beta1).add_(g, alpha=1 - beta1)  # m = b1 m + (1 - b1) g
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v = b2 v + (1 - b2) g^2
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                update = m_hat / (v_hat.sqrt() + group["eps"])  # Adam's direction
                if group["weight_decay"]:
                    update.add_(p, alpha=group["weight_decay"])
                p.sub_(update * (group["lr"] * trust_ratio(p, update)))
        return loss


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only: BERT (and every recipe since) exempts biases and LayerNorm weights,
    whose scale carries meaning that decay towards zero would erode. Tied weights appear once."""
    decay, no_decay = [], []
    for param in model.parameters():  # parameters() already yields a tied tensor once
        if param.requires_grad:
            (decay if param.dim() >= 2 else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(
    model: nn.Module,
    name: str,
    lr: float,
    weight_decay: float = 0.01,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-6,
) -> torch.optim.Optimizer:
    """AdamW or LAMB over `model`'s parameters, with BERT's weight-decay exemptions."""
    groups = parameter_groups(model, weight_decay)
    if name == "lamb":
        return Lamb(groups, lr=lr, betas=betas, eps=eps)
    if name != "adamw":
        raise InvalidArgumentError(f"unknown optimizer {name!r}; choose adamw or lamb")
    device = next(model.parameters()).device
    # One fused kernel for all tensors (CUDA, and CPU since torch 2.4) beats the per-tensor loop; `foreach`
    # (a handful of batched kernels) is the portable fallback.
    fused = device.type in ("cuda", "cpu") and all(
        p.dtype.is_floating_point for g in groups for p in g["params"]
    )
    return torch.optim.AdamW(
        groups, lr=lr, betas=betas, eps=eps, fused=fused or None, foreach=None if fused else True
    )
