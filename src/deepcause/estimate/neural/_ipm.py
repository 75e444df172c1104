"""Integral probability metrics between two samples of representations (CFR's balance term).

Each function takes the representations of the treated ``a`` (n_a, d) and of the controls
``b`` (n_b, d) and returns a differentiable scalar that is zero when the samples coincide.

>>> import torch
>>> a = torch.zeros(4, 2); b = torch.ones(3, 2)
>>> round(float(mmd_linear(a, b)), 4)
2.0
>>> round(float(wasserstein(a, b)), 4)
1.4142
>>> float(mmd_rbf(a, a))
0.0
"""

from __future__ import annotations

import torch

__all__ = ["mmd_linear", "mmd_rbf", "wasserstein", "IPMS"]


def mmd_linear(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared distance between the two means (MMD with a linear kernel)."""
    return torch.sum((a.mean(dim=0) - b.mean(dim=0)) ** 2)


def _sq_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return d.clamp_min(0.0)


def mmd_rbf(a: torch.Tensor, b: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
    """Squared MMD (biased V-statistic) with a Gaussian kernel.

    ``bandwidth=None`` uses the median heuristic: the median pairwise distance of the pooled
    sample (computed without gradient).
    """
    if bandwidth is None:
        with torch.no_grad():
            pooled = torch.cat([a, b])
            d = _sq_dist(pooled, pooled)
            med = d[d > 0].median() if bool((d > 0).any()) else d.new_tensor(1.0)
            gamma = 1.0 / (2.0 * med)
    else:
        gamma = 1.0 / (2.0 * float(bandwidth) ** 2)
    k_aa = torch.exp(-gamma * _sq_dist(a, a)).mean()
    k_bb = torch.exp(-gamma * _sq_dist(b, b)).mean()
    k_ab = torch.exp(-gamma * _sq_dist(a, b)).mean()
    return (k_aa + k_bb - 2.0 * k_ab).clamp_min(0.0)


def wasserstein(
    a: torch.Tensor, b: torch.Tensor, epsilon: float = 0.05, n_iter: int = 50
) -> torch.Tensor:
    """Entropy-regularised Wasserstein-1 distance by Sinkhorn iterations (Cuturi 2013).

    The cost is the Euclidean distance; the regularisation is ``epsilon`` times the mean cost,
    so it does not depend on the scale of the representation. The transport plan is computed
    in double precision without gradient; the gradient flows through the cost (envelope
    theorem), as in Shalit et al.'s implementation.
    """
    cost = torch.sqrt(_sq_dist(a, b) + 1e-10)
    with torch.no_grad():
        c = cost.to(torch.float32 if cost.device.type == "mps" else torch.float64)
        reg = epsilon * c.mean().clamp_min(1e-12)
        # shifting each row by its minimum rescales rows of the kernel, which the scaling
        # vector u absorbs; it keeps every row of the kernel away from underflow
        kernel = torch.exp(-(c - c.min(dim=1, keepdim=True).values) / reg)
        mass_a = torch.full((a.shape[0],), 1.0 / a.shape[0], dtype=c.dtype, device=c.device)
        mass_b = torch.full((b.shape[0],), 1.0 / b.shape[0], dtype=c.dtype, device=c.device)
        v = torch.ones_like(mass_b)
        for _ in range(n_iter):
            u = mass_a / (kernel @ v).clamp_min(1e-300)
            v = mass_b / (kernel.T @ u).clamp_min(1e-300)
        plan = (u[:, None] * kernel * v[None, :]).to(cost.dtype)
    return torch.sum(plan * cost)


IPMS = {"mmd_linear": mmd_linear, "mmd_rbf": mmd_rbf, "wasserstein": wasserstein}
