"""DeepIV (Hartford, Lewis, Leyton-Brown & Taddy, ICML 2017).

Two supervised stages:

1. *treatment network*: a mixture density network (``n_components`` Gaussians with diagonal
   covariance) for the conditional distribution ``F(T | Z, X)``, trained by maximum likelihood;
2. *response network*: ``h(t, x)`` minimising the IV loss ``E[(Y - E_{T ~ F(.|Z,X)} h(T, X))^2]``,
   with the inner expectation over treatments sampled from the fitted stage 1.

The loss has an expectation inside a square, so a single sample gives a biased gradient.
``gradient="two_sample"`` (default, the paper's unbiased estimator) draws two independent
groups of ``n_samples`` treatments per row and minimises
``(y - mean_A h(t_a, x)) (y - mean_B h(t_b, x))``, whose expectation and gradient are those of
the IV loss. ``gradient="averaged"`` minimises ``(y - mean_S h(t_s, x))^2`` over one group of
draws: lower variance but biased towards the regression on ``E[T | Z, X]`` (the bias shrinks as
``1 / n_samples``).

Both networks train for at most ``max_epochs`` epochs each and stop early on a held-out
``validation_fraction`` of the rows (stage-1 negative log-likelihood; stage-2
one-sample-group loss), keeping the best epoch. The defaults (two groups
of 4 draws, 100 epochs, learning rate 3e-3, response network 128-64) were chosen on the demand
design of :mod:`deepcause.simulate.iv` (on-support MSE about 870 at n = 5000, rho = 0.5 and 0.9,
against about 4,000 with 50 epochs at learning rate 1e-3 and one draw per group). ``effect``
has no analytic standard error; use :meth:`bootstrap` for an interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from ..._parameters import Interval, StrOptions
from ..._progress import Verbose
from ..._torch import check_hidden_sizes, fit_adam, mlp, seed_from, seeded, tensor, torch
from ._base import IVData
from ._neural import NeuralIVEstimator
from ._torch import IV_CONSTRAINTS, scaled_inputs, standardized_tensors

__all__ = ["DeepIV"]


class _MixtureDensity(torch.nn.Module):
    """Mixture of ``k`` diagonal Gaussians over ``d`` treatments given the inputs."""

    def __init__(self, n_in: int, hidden: Sequence[int], k: int, d: int, act: str) -> None:
        super().__init__()
        self.k, self.d = k, d
        self.body = mlp(n_in, hidden, None, act)
        width = int(hidden[-1]) if len(hidden) else n_in
        self.head = torch.nn.Linear(width, k + 2 * k * d)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.head(self.body(inputs))
        k, d = self.k, self.d
        logits = torch.log_softmax(out[:, :k], dim=1)
        means = out[:, k : k + k * d].reshape(-1, k, d)
        log_sd = out[:, k + k * d :].reshape(-1, k, d).clamp(-7.0, 3.0)
        return logits, means, log_sd

    def nll(self, inputs: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        logits, means, log_sd = self(inputs)
        z = (t[:, None, :] - means) / log_sd.exp()
        comp = (-0.5 * z**2 - log_sd - 0.5 * math.log(2 * math.pi)).sum(2)
        return -torch.logsumexp(logits + comp, dim=1).mean()

    def sample(self, inputs: torch.Tensor, n: int) -> torch.Tensor:
        """``n`` draws per row, shape ``(n, rows, d)`` (from the global torch RNG)."""
        logits, means, log_sd = self(inputs)
        rows = len(inputs)
        comp = torch.multinomial(logits.exp(), n, replacement=True).T  # (n, rows)
        idx = comp[:, :, None, None].expand(n, rows, 1, self.d)
        mu = torch.gather(means.expand(n, *means.shape), 2, idx)[:, :, 0]
        sd = torch.gather(log_sd.expand(n, *log_sd.shape), 2, idx)[:, :, 0].exp()
        return mu + sd * torch.randn_like(mu)


class DeepIV(NeuralIVEstimator):
    """DeepIV: mixture-density first stage, sampled-treatment second stage (see module docs).

    Parameters
    ----------
    n_components : Gaussians in the mixture density network.
    treatment_hidden_sizes, response_hidden_sizes : hidden widths of the treatment (stage 1,
        mixture density) and response (stage 2) networks.
    max_epochs : maximum epochs of each stage (early stopping on validation).
    gradient : ``"two_sample"`` (unbiased) or ``"averaged"`` (biased, lower variance).
    n_samples : treatment draws per row and group.
    batch_size, learning_rate, weight_decay, dropout : optimisation settings (Adam).
    validation_fraction : held-out rows for early stopping (0 disables it).
    patience : epochs without validation improvement before stopping.
    activation : ``"relu"``, ``"elu"`` or ``"tanh"``.
    random_state, device, verbose : seed (same seed, same fit on the CPU), ``"auto"`` (a
        CUDA GPU when present), ``"cpu"`` or ``"cuda"``, and progress bars.

    Fitted attributes: ``first_stage_loss_``, ``second_stage_loss_`` (validation loss per
    epoch), ``epochs_`` (epochs run by each stage).

    Examples
    --------
    >>> from deepcause.simulate.iv import make_demand, demand_test_points
    >>> ds = make_demand(500, rho=0.5, random_state=0)
    >>> est = DeepIV(max_epochs=5, random_state=0, verbose=False)
    >>> est = est.fit(ds.data, treatment="p", outcome="y", instruments=["c"], covariates=["t", "s"])
    >>> test = demand_test_points(300, random_state=1)
    >>> mse = float(((est.predict(test[["p"]], test[["t", "s"]]) - test["h"]) ** 2).mean())
    >>> bool(mse < test["h"].var())
    True
    """

    method_name: ClassVar[str] = "DeepIV"
    _networks: ClassVar[tuple[str, ...]] = ("treatment_net_", "response_net_")
    _fitted_values: ClassVar[tuple[str, ...]] = (
        "first_stage_loss_",
        "second_stage_loss_",
        "epochs_",
    )
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **IV_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "gradient": [StrOptions({"two_sample", "averaged"})],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "validation_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components: int = 10,
        treatment_hidden_sizes: tuple[int, ...] = (64, 32),
        response_hidden_sizes: tuple[int, ...] = (128, 64),
        max_epochs: int = 100,
        gradient: str = "two_sample",
        n_samples: int = 4,
        batch_size: int = 256,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-5,
        dropout: float = 0.0,
        validation_fraction: float = 0.1,
        patience: int = 20,
        activation: str = "relu",
        random_state: int | None = None,
        device: str = "auto",
        verbose: Verbose = "auto",
    ) -> None:
        self.n_components = n_components
        self.treatment_hidden_sizes = treatment_hidden_sizes
        self.response_hidden_sizes = response_hidden_sizes
        self.max_epochs = max_epochs
        self.gradient = gradient
        self.n_samples = n_samples
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.activation = activation
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _train(self, net, step_loss, n_train: int, val_loss, desc: str, gen):
        """Adam over shuffled batches; the weights of the best validation epoch are kept."""
        result = fit_adam(
            net,
            step_loss,
            val_loss,
            n_train,
            learning_rate=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
            batch_size=int(self.batch_size),
            max_epochs=int(self.max_epochs),
            patience=int(self.patience),
            generator=gen,
            verbose=self.verbose,
            desc=desc,
        )
        return list(result.history)

    # ------------------------------------------------------------------ fit
    def _validate_params(self) -> None:
        super()._validate_params()
        check_hidden_sizes(self, "treatment_hidden_sizes", "response_hidden_sizes")

    def _fit_prepared(self, data: IVData) -> None:
        kt, kx, kz = data.T.shape[1], data.X.shape[1], data.Z.shape[1]
        T, X, ZX, y_std = standardized_tensors(self, data, "DeepIV")
        y = tensor(y_std, device=self.device_)
        seed = seed_from(self.random_state)
        perm = torch.as_tensor(np.random.default_rng(seed).permutation(data.n))
        n_val = int(round(float(self.validation_fraction) * data.n))
        tr, va = (perm[n_val:], perm[:n_val]) if n_val else (perm, perm)
        s = int(self.n_samples)
        gen = torch.Generator().manual_seed(seed)
        with seeded(seed, self.device_):
            self.treatment_net_ = mdn = self._mixture_net(kt, kx, kz)
            self.first_stage_loss_ = self._train(
                mdn,
                lambda idx: mdn.nll(ZX[tr[idx]], T[tr[idx]]),
                len(tr),
                lambda: mdn.nll(ZX[va], T[va]),
                "DeepIV stage 1",
                gen,
            )
            for p in mdn.parameters():
                p.requires_grad_(False)
            self.response_net_ = net = self._response_net(kt, kx)

            def group_mean(rows: torch.Tensor) -> torch.Tensor:
                draws = mdn.sample(ZX[rows], s)  # (s, rows, kt)
                xs = X[rows].expand(s, *X[rows].shape)
                return net(torch.cat([draws, xs], dim=2))[..., 0].mean(0)

            def loss(idx: torch.Tensor) -> torch.Tensor:
                rows = tr[idx]
                if self.gradient == "two_sample":
                    return ((y[rows] - group_mean(rows)) * (y[rows] - group_mean(rows))).mean()
                return ((y[rows] - group_mean(rows)) ** 2).mean()

            self.second_stage_loss_ = self._train(
                net,
                loss,
                len(tr),
                lambda: ((y[va] - group_mean(va)) ** 2).mean(),
                "DeepIV stage 2",
                gen,
            )
        self.epochs_ = (len(self.first_stage_loss_), len(self.second_stage_loss_))

    def _mixture_net(self, kt: int, kx: int, kz: int) -> _MixtureDensity:
        hidden, k = tuple(self.treatment_hidden_sizes), int(self.n_components)
        return _MixtureDensity(kz + kx, hidden, k, kt, self.activation).to(self.device_)

    def _response_net(self, kt: int, kx: int) -> torch.nn.Module:
        hidden, act = tuple(self.response_hidden_sizes), self.activation
        return mlp(kt + kx, hidden, 1, act, float(self.dropout)).to(self.device_)

    def _build_networks(self, kt: int, kx: int, kz: int) -> None:
        self.treatment_net_ = self._mixture_net(kt, kx, kz)
        self.response_net_ = self._response_net(kt, kx)

    # ------------------------------------------------------------------ predict
    def _predict(self, T: np.ndarray, X: np.ndarray) -> np.ndarray:
        Tt, Xt = scaled_inputs(self, T, X)
        with torch.no_grad():
            out = self.response_net_(torch.cat([Tt, Xt], dim=1))[:, 0].cpu().double().numpy()
        return self.y_mean_ + self.y_scale_ * out

    def _effect_diagnostics(self) -> dict[str, Any]:
        return {
            "gradient": self.gradient,
            "epochs": self.epochs_,
            "first_stage_val_nll": min(self.first_stage_loss_, default=None),
            "second_stage_val_loss": min(self.second_stage_loss_, default=None),
        }
