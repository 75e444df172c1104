"""The parents' share of an image latent, removed so that the exogenous noise is independent.

In a structural causal model ``x = f(pa, u)`` the noise ``u`` is independent of the parents
``pa``. A conditional VAE asks this only of its prior ``z ~ N(0, I)``: its encoder
``q(z | x, pa)`` is free to spell out in ``z`` what the parents set (the colour of a digit
whose colour group is a parent), and then the decoder learns to read it from ``z`` and to
ignore ``pa``. A counterfactual ``g(z, pa')`` with the abducted ``z`` then keeps the factual
attributes: on the back-door coloured digits a logistic regression read the colour group off
the abducted latents with 80% accuracy (chance 33%) and the counterfactual images kept the
factual colour (``benchmarks/results/bench_counterfactual_images.md``).

:class:`ParentMoments` measures that share after training: the mean and variance of the
aggregate posterior of ``z`` (posterior means plus posterior variances) given the parent
features, both linear in the features (least squares; one mean and variance per level for a
one-hot parent). The unit's exogenous noise is the latent standardised under its parents,
``e = (z - m(pa)) / s(pa)``, and a latent is recovered under any parents as
``z = m(pa) + s(pa) e``: abduction standardises under the factual parents, the counterfactual
restores under the new ones (the latent moves to where units with those parents sit), the
null intervention gives back the factual latent exactly, and sampling ``e ~ N(0, I)`` draws
latents that follow the parents. Until fitted it is the identity (``m = 0``, ``s = 1``).

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> pa = torch.nn.functional.one_hot(torch.randint(0, 2, (2000,), generator=g), 2).float()
>>> z = 3.0 * pa[:, :1] + torch.randn(2000, 1, generator=g)  # the latent carries the parent
>>> moments = ParentMoments(2, 1)
>>> moments.fit(z, torch.zeros_like(z), pa)
>>> e = moments.standardise(z, pa)
>>> round(float(e[pa[:, 0] == 1].mean()), 2), round(float(e[pa[:, 0] == 0].mean()), 2)
(0.0, 0.0)
>>> flipped = moments.restore(e, pa.flip(1))  # the same units under the other parent level
>>> round(float(flipped[pa[:, 0] == 0].mean()), 1)
3.0
"""

from __future__ import annotations

import warnings
from typing import Any

from ..._torch import nn, torch

__all__ = ["NoiseMixture", "ParentAdversary", "ParentMoments"]

_RIDGE = 1e-4  # relative ridge of the least-squares fits (collinear or constant features)
_FLOOR = 1e-3  # variance floor, as a fraction of the latent's overall variance
_MIX_RIDGE = 1e-3  # covariance ridge of NoiseMixture (the noise is standardised: s.d. ~ 1)


class _FittedBuffers(nn.Module):
    """A module of buffers fitted after training: mechanisms saved before the buffers existed
    load with their initial values (the unfitted state) instead of failing on missing keys."""

    def _load_from_state_dict(self, state: dict, prefix: str, *args: Any) -> None:
        missing = [k for k in self._buffers if prefix + k not in state]
        super()._load_from_state_dict(state, prefix, *args)
        keys = args[2]  # missing_keys of nn.Module._load_from_state_dict
        for k in missing:
            if prefix + k in keys:
                keys.remove(prefix + k)


class ParentMoments(_FittedBuffers):
    """Mean and scale of a ``dim``-dimensional latent, linear in ``n_features`` parent features.

    Buffers (saved with the mechanism): ``mean_w`` and ``var_w``, ``(n_features + 1, dim)``
    coefficients of the features and an intercept. See the module docstring.
    """

    def __init__(self, n_features: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean_w", torch.zeros(n_features + 1, dim))
        var_w = torch.zeros(n_features + 1, dim)
        var_w[-1] = 1.0
        self.register_buffer("var_w", var_w)
        self.register_buffer("floor", torch.full((dim,), 1e-8))

    @staticmethod
    def _design(feats: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(feats.shape[0], 1, dtype=feats.dtype, device=feats.device)
        return torch.cat([feats, ones], dim=1)  # features and an intercept

    @torch.no_grad()
    def fit(self, mean: torch.Tensor, var: torch.Tensor, feats: torch.Tensor) -> None:
        """Fit to posterior means and variances ``(n, dim)`` of units with ``feats`` ``(n, p)``."""
        a = self._design(feats).double()
        gram = a.T @ a
        gram = gram + _RIDGE * gram.diagonal().mean() * torch.eye(len(gram), dtype=a.dtype)
        mean_w = torch.linalg.solve(gram, a.T @ mean.double())
        second = (mean.double() - a @ mean_w).pow(2) + var.double()  # aggregate posterior
        var_w = torch.linalg.solve(gram, a.T @ second)
        self.mean_w.copy_(mean_w.to(self.mean_w))
        self.var_w.copy_(var_w.to(self.var_w))
        self.floor.copy_((_FLOOR * second.mean(0)).clamp_min(1e-8).to(self.floor))

    def _moments(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self._design(feats)
        return a @ self.mean_w, (a @ self.var_w).clamp_min(self.floor).sqrt()

    def standardise(self, z: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """The noise ``(z - m(pa)) / s(pa)`` of latents ``z`` under parent features ``feats``."""
        m, s = self._moments(feats)
        return (z - m) / s

    def restore(self, e: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """The latent ``m(pa) + s(pa) e`` of noise ``e`` under parent features ``feats``."""
        m, s = self._moments(feats)
        return m + s * e


class NoiseMixture(_FittedBuffers):
    """Full-covariance Gaussian mixture of ``k`` components over ``dim`` noise values, fitted
    after training to the abducted noise of the training units; fresh noise is drawn from it.

    Abduction returns each unit's posterior mean, standardised (:class:`ParentMoments`); over
    the training units those values do not follow the standard normal the noise is nominally
    drawn from: most latent values barely vary (collapsed dimensions), and the few that carry
    the unit (a centre, a colour) have bounded or multi-modal laws whose Gaussian stand-in
    decodes to shapes outside the image's law (a disc half out of the frame, a blended colour).
    Drawing fresh noise from a density fitted to the abducted noise (ex-post density
    estimation, as for the deterministic autoencoders of Ghosh et al. 2020) samples where the
    decoder was trained and where abduction puts real units; ``decode`` and ``abduct`` do not
    change, so counterfactuals are exactly those of the standard normal noise.

    Buffers (saved with the mechanism): ``weights`` ``(k,)``, ``means`` ``(k, dim)``, ``chol``
    ``(k, dim, dim)`` (Cholesky factors of the covariances) and ``fitted``; until fitted (and
    in mechanisms saved before it existed) :meth:`sample` is the standard normal. The factors
    take ``k dim^2`` values: 0.8 MB for ``image_hvae`` at 28x28 (``dim`` 114, ``k`` 16), 18 MB
    at 64x64 (``dim`` 528); larger images would want a low-rank or diagonal fit.

    >>> g = torch.Generator().manual_seed(0)
    >>> e = torch.randn(2000, 2, generator=g) * 0.1
    >>> e[:1000, 0] += 2.0  # two modes, at (2, 0) and (0, 0)
    >>> mix = NoiseMixture(4, 2).fit(e, random_state=0)
    >>> draw = mix.sample(1000, torch.Generator().manual_seed(1))
    >>> near = torch.minimum((draw[:, 0] - 2).abs(), draw[:, 0].abs()) < 0.4
    >>> round(float(near.float().mean()), 2)  # the standard normal puts 37% there
    1.0
    """

    def __init__(self, k: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("weights", torch.full((k,), 1.0 / k))
        self.register_buffer("means", torch.zeros(k, dim))
        self.register_buffer("chol", torch.eye(dim).repeat(k, 1, 1))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def fit(self, noise: torch.Tensor, random_state: int | None = None) -> NoiseMixture:
        """Fit by EM (scikit-learn's ``GaussianMixture``, covariance ridge ``1e-3``) to
        ``noise`` ``(n, dim)``; at most ``n`` components are used (the rest get weight 0)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        k = min(len(self.weights), noise.shape[0])
        gm = GaussianMixture(
            k, covariance_type="full", reg_covar=_MIX_RIDGE, random_state=random_state
        )
        with warnings.catch_warnings():  # an EM stopped early is still a valid mixture
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(noise.double().cpu().numpy())
        self.weights.zero_()
        self.weights[:k] = torch.as_tensor(gm.weights_)
        self.means[:k] = torch.as_tensor(gm.means_)
        self.chol[:k] = torch.linalg.cholesky(torch.as_tensor(gm.covariances_))
        self.fitted.fill_(True)
        return self

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws ``(n, dim)``: a component by its weight, then its Gaussian."""
        eps = torch.randn((n, self.means.shape[1]), generator=generator, device=self.means.device)
        if not bool(self.fitted):
            return eps
        pick = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        out = torch.empty_like(eps)
        for c in pick.unique():  # one matrix product per component drawn
            rows = pick == c
            out[rows] = self.means[c] + eps[rows] @ self.chol[c].T
        return out


class _Reverse(torch.autograd.Function):
    """Identity forward, negated gradient backward (gradient reversal, Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return -grad


class ParentAdversary(nn.Module):
    """A critic that reads the parent features off the noise; the encoder is trained against it.

    :meth:`forward` is the critic's mean squared error predicting the (detached, batch
    standardised) parent features from the noise, through a gradient reversal: one optimiser
    step lowers it for the critic and raises it for the encoder, which therefore learns noise
    from which the parents cannot be read (the latent adversary of Fader networks, Lample et
    al. 2017). Zero in evaluation mode (validation losses stay the model's own) and without
    parents. Off by default (``independence=0`` in the image VAEs): on the coloured digits
    (1,500 units) weights 0.1 and 1 destabilised training (reconstructions lost the digit), so
    the parents' moments above do the work; kept for experiments (the benchmark's
    ``--independence``).

    >>> adv = ParentAdversary(2, 3)
    >>> loss = adv(torch.randn(8, 2, requires_grad=True), torch.randn(8, 3))
    >>> loss.shape, bool(loss > 0)
    (torch.Size([]), True)
    """

    def __init__(self, dim: int, n_features: int, hidden: int = 64) -> None:
        super().__init__()
        self.n_features = n_features
        self.critic = nn.Sequential(
            nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, max(1, n_features))
        )

    def forward(self, noise: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        if not self.training or self.n_features == 0 or noise.shape[0] < 2:
            return noise.new_zeros(())
        target = feats.detach()
        target = (target - target.mean(0)) / target.std(0).clamp_min(1e-6)
        guess = self.critic(_Reverse.apply(noise.flatten(1)))
        return (guess - target).pow(2).mean()
