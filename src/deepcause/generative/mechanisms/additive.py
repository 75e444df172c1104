"""Additive-noise mechanism: ``x = f(parents) + e`` with a learned noise distribution.

``f`` is an MLP fitted with a Gaussian likelihood (learned scale per component). The noise
``e`` is then modelled as

* ``noise="empirical"`` (default): the training residuals ``x - f(parents)``, resampled (rows
  jointly for vector nodes), so any noise shape is captured exactly; densities use a Gaussian
  kernel estimate on (at most 1000 of) the residuals;
* ``noise="gaussian"``: Gaussian with the learned scale.

``scale=True`` (scalar nodes with empirical noise; what ``mechanisms="auto"`` trains as its
additive candidate) adds a parent-dependent noise scale shrunk toward a constant:
``x = f(pa) + sigma(pa) * e`` with ``log sigma(pa)`` linear in ``[pa, f(pa)]``, fitted
after the mean to the training rows' absolute residuals (Laplace quasi-likelihood, robust to
heavy-tailed noise). The slopes are kept only when their Wald statistic ``W`` (sandwich
covariance, ``k`` directions) is significant at ``SCALE_LEVEL`` (1%), and then multiplied by
``max(0, 1 - k / W)``, the empirical-Bayes estimate of the fraction of the fitted variation that
is signal. A scale the rows do not support is a constant (the plain additive model); a clear
one is kept almost whole. (Without the test, the shrunk slopes of homoscedastic nodes, from
mean misfit and noise, kept 0.2-0.8 of a spurious variation and cost up to 0.005 s.d. of
counterfactual RMSE on the suite's homoscedastic cases.) The training residuals
divided by ``sigma(pa)`` are the empirical noise. At 1,000 rows the held-out likelihood cannot
tell a 1.7-fold scale variation from a constant one, yet a constant scale there biases
counterfactuals by about 0.2 s.d. (benchmarks/results/bench_generative.md, runs 8 and 9).

(For non-additive noise, or a scale that is not log-linear in those features, use
:class:`FlowMechanism`.)

Abduction is exact in every case: ``e = (x - f(parents)) / sigma(parents)``.

>>> import torch
>>> torch.manual_seed(0) and None
>>> pa = torch.randn(500, 1)
>>> x = 2 * pa + 0.5 * torch.randn(500, 1)
>>> m = AdditiveNoiseMechanism(noise="gaussian", max_epochs=60).fit(x, pa, random_state=0)
>>> round(float(m.decode(torch.zeros(1, 1), torch.ones(1, 1)).detach()), 0)
2.0
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from functools import partial
from numbers import Integral
from typing import Any, ClassVar

from scipy import stats
from torch.distributions import (
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    Normal,
)
from zuko.flows.gaussianization import ElementWiseTransform
from zuko.lazy import LazyComposedTransform
from zuko.transforms import MonotonicRQSTransform

from ..._parameters import Interval, StrOptions
from ..._torch import mlp, nn, torch
from ...exceptions import NotFittedError
from .base import Mechanism

__all__ = [
    "AdditiveNoiseMechanism",
    "additive_log_lik",
    "element_wise_splines",
    "kernel_points",
]

SCALE_LEVEL = 0.01  # test level of the scale's slopes (scale=True)

_NOISES = ("empirical", "gaussian")
_MEAN_LOSSES = ("gaussian", "spline")


def kernel_points(residuals: torch.Tensor, max_points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The residuals a kernel density is centred on (every ``m // max_points``-th) and their
    per-dimension bandwidth by Silverman's rule.

    >>> pts, bw = kernel_points(torch.arange(10.0)[:, None], 5)
    >>> pts.shape, round(float(bw), 3)
    (torch.Size([5, 1]), 2.429)
    """
    pts = residuals[:: max(1, residuals.shape[0] // max_points)]
    bw = 1.06 * pts.std(0).clamp_min(1e-6) * pts.shape[0] ** (-0.2)
    return pts, bw


def element_wise_splines(d: int, transforms: int = 3, bins: int = 8) -> LazyComposedTransform:
    """``transforms`` element-wise monotone rational-quadratic spline steps of ``d`` components
    (``bins`` per spline), not initialised: the noise flow of
    :class:`~deepcause.generative.mechanisms.FlowMechanism` without parents, and the learned
    noise density of ``AdditiveNoiseMechanism(mean_loss="spline")``.

    >>> element_wise_splines(2)(None)(torch.zeros(4, 2)).shape
    torch.Size([4, 2])
    """
    univariate = partial(MonotonicRQSTransform, slope=1e-3)
    shapes = [(bins,), (bins,), (bins - 1,)]
    return LazyComposedTransform(
        *(
            ElementWiseTransform(d, 0, univariate=univariate, shapes=shapes)
            for _ in range(transforms)
        )
    )


def _spline_density(d: int) -> LazyComposedTransform:
    """:func:`element_wise_splines` initialised to the identity (a standard normal density)."""
    flow = element_wise_splines(d)
    with torch.no_grad():
        for p in flow.parameters():
            p.zero_()
    return flow


class ContextNet(nn.Module):
    """An MLP from the context to ``d_out`` outputs; a learned constant when there is no context.

    With ``n_members > 1`` (and a context) it holds that many MLPs (``members``) and returns the
    average of their outputs: one fixed function of the parents, so a mechanism built on it
    abducts as exactly as with one network. The members are trained apart (cross-fitting,
    :func:`deepcause.generative.selection.select_mechanism`) and loaded with
    :meth:`load_members`.

    >>> import torch
    >>> net = ContextNet(2, 1, (8,), n_members=3)
    >>> c = torch.randn(4, 2)
    >>> outs = torch.stack([m(c) for m in net.members])
    >>> bool(torch.allclose(net(c), outs.mean(0)))
    True
    """

    def __init__(
        self, context_dim: int, d_out: int, hidden_sizes: tuple[int, ...], n_members: int = 1
    ) -> None:
        super().__init__()
        self.d_out = d_out
        self.net: nn.Module | None = None
        self.members: nn.ModuleList | None = None
        self.const: nn.Parameter | None = None
        if context_dim > 0 and n_members > 1:
            self.members = nn.ModuleList(
                mlp(context_dim, hidden_sizes, d_out, activation="silu") for _ in range(n_members)
            )
        elif context_dim > 0:
            self.net = mlp(context_dim, hidden_sizes, d_out, activation="silu")
        else:
            self.const = nn.Parameter(torch.zeros(d_out))

    def load_members(self, nets: list[ContextNet]) -> None:
        """Copy the weights of one-network ``nets`` (one per member) into the members."""
        if self.members is None or len(nets) != len(self.members):
            raise ValueError("load_members needs a ContextNet with one member per network given")
        for member, net in zip(self.members, nets):
            member.load_state_dict(net.net.state_dict())

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        if self.members is not None:
            return torch.stack([m(context) for m in self.members]).mean(0)
        if self.net is not None:
            return self.net(context)
        return self.const.expand(context.shape[0], self.d_out)


class AdditiveNoiseMechanism(Mechanism):
    """``x = f(parents) + e``: MLP mean plus ``empirical`` (default) or ``gaussian`` noise.

    Examples
    --------
    >>> import torch
    >>> x, c = torch.randn(200, 1), torch.randn(200, 2)
    >>> m = AdditiveNoiseMechanism(max_epochs=2).build(1, 2)
    >>> _ = m.fit(x, c, random_state=0, verbose=False)
    >>> bool(torch.allclose(m.decode(m.encode(x, c), c), x, atol=1e-4))  # exact abduction
    True
    >>> m(c).sample().shape
    torch.Size([200, 1])

    ``mean_loss="spline"`` fits ``f`` under a learned element-wise spline noise density
    instead of a Gaussian one (for non-Gaussian noise; ``mechanisms="auto"`` keeps the Gaussian
    loss: ``selection.ADDITIVE_MEAN_LOSS``); the noise is still the empirical residuals and
    abduction stays exact:

    >>> y = c[:, :1] + torch.distributions.Laplace(0.0, 0.3).sample((200, 1))
    >>> m = AdditiveNoiseMechanism(mean_loss="spline", max_epochs=3)
    >>> _ = m.fit(y, c, random_state=0, verbose=False)
    >>> bool(torch.allclose(m.decode(m.encode(y, c), c), y, atol=1e-4))
    True

    A noise scale that doubles over the parent's range is kept, a constant one shrinks away:

    >>> torch.manual_seed(0) and None
    >>> pa = torch.randn(1000, 1)
    >>> x = torch.tanh(pa) + 0.4 * torch.exp(0.35 * pa) * torch.randn(1000, 1)
    >>> m = AdditiveNoiseMechanism(scale=True, max_epochs=30).fit(x, pa, random_state=0)
    >>> ends = m.log_sigma(torch.tensor([[-1.0], [1.0]])).detach()
    >>> 0.4 < float(ends[1] - ends[0]) < 1.0  # true log-ratio 0.7
    True
    >>> bool(torch.allclose(m.decode(m.encode(x, pa), pa), x, atol=1e-4))
    True
    """

    name = "additive"
    invertible = True
    inverse_atol = 1e-3
    _KDE_POINTS = 1000
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **Mechanism._parameter_constraints,
        "noise": [StrOptions(set(_NOISES))],
        "scale": ["boolean"],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "mean_loss": [StrOptions(set(_MEAN_LOSSES))],
    }
    _size_parameters = ("hidden_sizes",)

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        hidden_sizes: tuple[int, ...] = (64, 64),
        noise: str = "empirical",
        scale: bool = False,
        n_members: int = 1,
        mean_loss: str = "gaussian",
        **train: Any,
    ) -> None:
        super().__init__(dim, context_dim, **train)
        self.hidden_sizes = hidden_sizes
        self.noise = noise
        self.scale = scale
        self.n_members = n_members
        self.mean_loss = mean_loss
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "hidden_sizes": self.hidden_sizes,
            "noise": self.noise,
            "scale": self.scale,
            "n_members": self.n_members,
            "mean_loss": self.mean_loss,
        }

    def _build(self) -> None:
        d = int(self.dim)
        self.mean = ContextNet(
            int(self.context_dim), d, tuple(self.hidden_sizes), int(self.n_members)
        )
        # log-scale = 10 * raw: preconditioning so Adam moves the scale as fast as the weights
        self.log_scale_raw = nn.Parameter(torch.zeros(d))
        self.register_buffer("residuals", torch.zeros((0, d)))
        # log sigma(pa) = features(pa) @ scale_coef (shrunk slopes, centred on the training rows)
        k = int(self.context_dim) + 2 if self.scale and d == 1 else 0
        self.register_buffer("scale_coef", torch.zeros(k))
        # mean_loss="spline": f is fitted under a learned element-wise spline noise density
        self.noise_density = _spline_density(d) if self.mean_loss == "spline" else None

    def _scale_features(self, context: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """``[1, parents, f(pa)]``: the log-scale's regressors (scalar nodes; no squares, whose
        exponential would run away for counterfactual parents beyond the data)."""
        return torch.cat([torch.ones_like(f[:, :1]), context, f[:, :1]], 1)

    def log_sigma(self, context: torch.Tensor, f: torch.Tensor | None = None) -> torch.Tensor:
        """The fitted log noise scale, shape ``(n, 1)``; zero unless ``scale`` was fitted."""
        if self.scale_coef.shape[0] == 0:
            return torch.zeros((context.shape[0], 1), device=context.device)
        f = self.mean(context) if f is None else f
        return self._scale_features(context, f) @ self.scale_coef[:, None]

    @property
    def log_scale(self) -> torch.Tensor:
        return 10.0 * self.log_scale_raw

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        key = prefix + "residuals"
        if key in state_dict and self.is_built:  # the residual table's length is data-dependent
            self.residuals = torch.zeros_like(state_dict[key], device=self.residuals.device)
        key = prefix + "scale_coef"
        if key not in state_dict and self.is_built:  # saved before the scale existed: constant
            state_dict[key] = torch.zeros_like(self.scale_coef)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def after_training(
        self, x: torch.Tensor, context: torch.Tensor, train_rows: torch.Tensor | None = None
    ) -> None:
        if self.noise != "empirical":
            return
        with torch.no_grad():
            f = self.mean(context)
            if self.scale_coef.shape[0] > 0 and x.shape[1] == 1:
                self._fit_scale(x, context, f, train_rows)
            self.residuals = ((x - f) * torch.exp(-self.log_sigma(context, f))).detach().clone()

    @torch.no_grad()
    def load_average(
        self, members: list[AdditiveNoiseMechanism], x: torch.Tensor, context: torch.Tensor
    ) -> None:
        """Make this mechanism (built with ``n_members = len(members)``) the average of the
        fitted one-network ``members``: ``f`` the mean of their ``f``, then the residuals, the
        noise scale and the empirical noise of that average on every row of ``(x, context)``.

        >>> x, c = torch.randn(200, 1), torch.randn(200, 1)
        >>> fits = [AdditiveNoiseMechanism(max_epochs=2).fit(x, c, random_state=k, verbose=False)
        ...         for k in range(2)]
        >>> m = AdditiveNoiseMechanism(n_members=2).build(1, 1)
        >>> m.load_average(fits, x, c)
        >>> avg = (fits[0].mean(c) + fits[1].mean(c)) / 2
        >>> bool(torch.allclose(m.mean(c), avg)), bool(torch.allclose(m.encode(x, c), x - avg))
        (True, True)
        """
        self.mean.load_members([m.mean for m in members])
        self.log_scale_raw.copy_(torch.stack([m.log_scale_raw for m in members]).mean(0))
        self.eval()
        self.after_training(x, context)

    @contextlib.contextmanager
    def constant_scale(self, x: torch.Tensor, context: torch.Tensor) -> Iterator[None]:
        """Inside the block the mechanism is the constant-scale additive model fitted to
        ``(x, context)`` (same mean, unscaled residuals); its scale is restored afterwards.

        >>> m = AdditiveNoiseMechanism(scale=True, max_epochs=2)
        >>> x, c = torch.randn(100, 1), torch.randn(100, 1)
        >>> _ = m.fit(x, c, random_state=0, verbose=False)
        >>> with m.constant_scale(x, c):
        ...     float(m.log_sigma(c).detach().abs().max())
        0.0
        """
        coef, residuals = self.scale_coef.clone(), self.residuals
        try:
            with torch.no_grad():
                self.scale_coef.zero_()
                self.residuals = (x - self.mean(context)).detach().clone()
            yield
        finally:
            self.scale_coef.copy_(coef)
            self.residuals = residuals

    def _fit_scale(
        self,
        x: torch.Tensor,
        context: torch.Tensor,
        f: torch.Tensor,
        train_rows: torch.Tensor | None,
    ) -> None:
        """Fit ``log sigma(pa)``, linear in the features, to the absolute residuals of the
        training rows (Laplace quasi-likelihood); keep its slopes when their robust Wald
        statistic ``W`` on ``k`` directions is significant, shrunk by ``max(0, 1 - k / W)``."""
        self.scale_coef.zero_()
        n = x.shape[0]
        if n < 50:
            return
        train = torch.arange(n, device=x.device) if train_rows is None else train_rows
        a = (x - f)[train, 0].double().abs()
        feats = self._scale_features(context[train], f[train]).double()[:, 1:]
        mu, sd = feats.mean(0), feats.std(0).clamp_min(1e-6)
        # principal directions of the standardised regressors, those below 1% of the largest
        # singular value dropped (f(pa) is nearly collinear with the parents when f is linear)
        _, sv, vh = torch.linalg.svd((feats - mu) / sd, full_matrices=False)
        basis = vh[sv > 1e-2 * sv[0]].T  # (features, k)
        k = basis.shape[1]
        design = torch.cat([torch.ones_like(a)[:, None], (feats - mu) / sd @ basis], 1)
        beta = torch.zeros(k + 1, dtype=a.dtype, device=a.device)
        beta[0] = torch.log(a.mean().clamp_min(1e-12))

        def objective(b: torch.Tensor) -> torch.Tensor:
            eta = design @ b
            return (eta + a * torch.exp(-eta)).sum()

        for _ in range(50):  # Newton on a convex objective, step halved until it descends
            w = a * torch.exp(-(design @ beta))
            grad = design.T @ (1.0 - w)
            hess = design.T @ (w[:, None] * design)
            step = torch.linalg.solve(hess, grad)
            current, t = objective(beta), 1.0
            while t > 1e-4 and bool(objective(beta - t * step) > current):
                t *= 0.5
            beta = beta - t * step
            if float(step.abs().max()) * t < 1e-8:
                break
        w = a * torch.exp(-(design @ beta))
        h_inv = torch.linalg.inv(design.T @ (w[:, None] * design))
        meat = design.T @ ((1.0 - w).pow(2)[:, None] * design)
        cov = (h_inv @ meat @ h_inv)[1:, 1:]  # sandwich: robust to the noise's shape
        slopes = beta[1:]
        wald = float(slopes @ torch.linalg.solve(cov, slopes)) if k > 0 else 0.0
        # kept only when the slopes are significant at SCALE_LEVEL, then shrunk by the
        # empirical-Bayes fraction of their variation that is signal
        significant = k > 0 and wald > float(stats.chi2.ppf(1.0 - SCALE_LEVEL, k))
        shrink = max(0.0, 1.0 - k / wald) if significant else 0.0
        raw = shrink * (basis @ slopes) / sd  # in the raw regressors
        coef = torch.cat([-(raw * mu).sum()[None], raw])  # centred on the training rows
        self.scale_coef.copy_(coef.to(self.scale_coef.dtype))
        self.scale_shrinkage_ = shrink
        self.scale_wald_ = wald

    def _require_residuals(self) -> None:
        self._require_built()
        if self.noise == "empirical" and self.residuals.shape[0] == 0:
            raise NotFittedError(
                "the empirical noise distribution is empty; fit the mechanism first"
            )

    # ------------------------------------------------------------------ noise <-> residual
    def _residual_to_noise(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Standard-normal noise and log|det| of the map residual -> noise (Gaussian noise)."""
        z = e * torch.exp(-self.log_scale)
        return z, (-self.log_scale).sum().expand(e.shape[0])

    def _noise_to_residual(self, z: torch.Tensor) -> torch.Tensor:
        return z if self.noise == "empirical" else z * torch.exp(self.log_scale)

    # ------------------------------------------------------------------ Mechanism API
    def forward(self, context: torch.Tensor) -> Distribution:
        self._require_residuals()
        f = self.mean(context)
        if self.noise == "empirical":
            pts, bw = kernel_points(self.residuals, self._KDE_POINTS)
            k = pts.shape[0]
            s = torch.exp(self.log_sigma(context, f))[:, None, :]
            comp = Independent(Normal(f[:, None, :] + s * pts[None], s * bw), 1)
            weights = Categorical(logits=torch.zeros(f.shape[0], k, device=f.device))
            return MixtureSameFamily(weights, comp)
        return Independent(Normal(f, torch.exp(self.log_scale).expand_as(f)), 1)

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        z, ladj = self._residual_to_noise(x - self.mean(context))
        if self.noise_density is not None:
            z, spline_ladj = self.noise_density(None).call_and_ladj(z)
            ladj = ladj + spline_ladj
        return (0.5 * z.pow(2).sum(-1) - ladj).mean()

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.noise != "empirical":
            return super().sample_noise(n, generator)
        self._require_residuals()
        device = self.residuals.device
        idx = torch.randint(0, self.residuals.shape[0], (n,), generator=generator, device=device)
        return self.residuals[idx]

    def encode(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        f = self.mean(context)
        if self.noise == "empirical":
            return (x - f) * torch.exp(-self.log_sigma(context, f))
        return self._residual_to_noise(x - f)[0]

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        f = self.mean(context)
        if self.noise == "empirical":
            return f + torch.exp(self.log_sigma(context, f)) * noise
        return f + self._noise_to_residual(noise)


def additive_log_lik(
    mech: AdditiveNoiseMechanism,
    x: torch.Tensor,
    context: torch.Tensor,
    train: torch.Tensor,
    val: torch.Tensor,
) -> torch.Tensor:
    """Held-out log-density of the additive mechanism, with a fair density for vector nodes.

    The mechanism samples its noise from the training residuals (exact whatever their shape),
    but its density is a kernel estimate with Silverman's bandwidth, a poor density estimate in
    many dimensions: on the suite's 16-dimensional mediator it scores 30 nats below the
    location-scale flow for Gaussian noise that it reproduces exactly. Scored so, the choice
    would reward the flexible candidates for a density-estimation artefact. For vector nodes a
    full-covariance Gaussian fitted to the residuals of the ``train`` rows replaces the kernel
    estimate when it has the higher likelihood on those rows (the kernel one left-one-out);
    scalar nodes keep the kernel estimate (its bias is a few thousandths of a nat on peaked
    noise). Returns the log-densities of the ``val`` rows, shape ``(len(val),)``.

    >>> g = torch.Generator().manual_seed(0)
    >>> pa = torch.randn(2000, 1, generator=g)
    >>> x = torch.tanh(pa * torch.linspace(-1, 1, 16)) + 0.3 * torch.randn(2000, 16, generator=g)
    >>> m = AdditiveNoiseMechanism(max_epochs=20).fit(x, pa, random_state=0)
    >>> tr, va = torch.arange(1700), torch.arange(1700, 2000)
    >>> with torch.no_grad():
    ...     fair = float(additive_log_lik(m, x, pa, tr, va).mean())
    ...     kde = float(m.log_prob(x[va], pa[va]).mean())  # Silverman's kernel estimate in 16-d
    >>> fair - kde > 5.0  # nats per row
    True
    """
    with torch.no_grad():
        kde = mech.log_prob(x[val], context[val]).double()
        if x.shape[1] == 1:
            return kde
        res_tr = (x[train] - mech.mean(context[train])).double()
        pts, bw = kernel_points(res_tr, mech._KDE_POINTS)  # the mechanism's kernel density
        k, d = pts.shape
        sq = torch.cdist(pts / bw, pts / bw).pow(2).fill_diagonal_(math.inf)
        norm = torch.log(bw).sum() + 0.5 * d * math.log(2 * math.pi) + math.log(k - 1)
        kde_fit = float((torch.logsumexp(-0.5 * sq, 1) - norm).mean())
        cov = torch.cov(res_tr.T) + 1e-9 * torch.eye(d, dtype=res_tr.dtype, device=res_tr.device)
        gauss = torch.distributions.MultivariateNormal(res_tr.mean(0), cov)
        if float(gauss.log_prob(pts).mean()) <= kde_fit:
            return kde
        return gauss.log_prob((x[val] - mech.mean(context[val])).double())
