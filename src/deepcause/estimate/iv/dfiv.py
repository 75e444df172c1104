"""Deep Feature Instrumental Variable regression (DFIV; Xu, Chen, Srinivasan, de Freitas,
Doucet & Gretton, ICLR 2021).

The structural function is linear in learned features,
``h(t, x) = u' [psi_T(t, x), 1] (x) [psi_X(x), 1]`` (``(x)`` the outer product; without
controls only the treatment features). Both stages are ridge regressions solved in closed form:

* stage 1, on half 1 of the data: ``V = ridge(phi(z, x) -> [psi_T(t, x), 1])`` predicts the
  treatment features from learned instrument features ``phi``;
* stage 2, on half 2: ``u = ridge((phi V) (x) [psi_X, 1] -> y)``.

Training alternates (the paper's Algorithm 1): ``stage1_steps`` Adam steps on the instrument
network minimising the stage-1 ridge loss with the treatment features fixed, then
``stage2_steps`` Adam steps on the treatment and control networks minimising the stage-2 ridge
loss, back-propagated through both closed-form solutions. All rows of a half enter each step
(full batch), so an epoch costs a few passes over the data: 50,000 rows fit in well under two
minutes on two CPU cores with the defaults (about 40 s of CPU time on one core; on a busy
machine set ``torch.set_num_threads(1)`` or ``OMP_NUM_THREADS=1``, as torch's thread pool spins
when cores are oversubscribed). The defaults (``lambda_1 = 0.01``, ``lambda_2 = 1e-4``, 100
epochs of 10 + 1 steps) were tuned on the demand design of :mod:`deepcause.simulate.iv`.

``effect`` reports a sandwich standard error of ``u`` (2SLS-style, with the structural residual
``y - h(t, x)``) *conditional on the learned features*: it ignores the uncertainty of the
feature learning, so treat it as a lower bound and use :meth:`bootstrap` for a full interval.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from ..._parameters import Interval
from ..._progress import Verbose, progress
from ..._torch import check_hidden_sizes, mlp, seed_from, seeded, tensor, torch
from ._base import IVData
from ._neural import NeuralIVEstimator
from ._torch import (
    IV_CONSTRAINTS,
    ridge,
    scaled_inputs,
    standardized_tensors,
)

__all__ = ["DFIV"]


def _with_const(F: torch.Tensor) -> torch.Tensor:
    return torch.cat([F, torch.ones(len(F), 1, dtype=F.dtype, device=F.device)], dim=1)


def _outer(A: torch.Tensor, B: torch.Tensor | None) -> torch.Tensor:
    """Row-wise outer product ``A (x) B`` flattened (``A`` when ``B`` is None)."""
    if B is None:
        return A
    return (A[:, :, None] * B[:, None, :]).reshape(len(A), -1)


class DFIV(NeuralIVEstimator):
    """Deep Feature IV regression (see module docstring).

    Parameters
    ----------
    treatment_hidden_sizes, treatment_features : hidden widths and output width of the
        treatment feature network ``psi_T`` (input: the treatments, and the controls when
        ``control_hidden_sizes`` is None).
    control_hidden_sizes, control_features : the control feature network ``psi_X`` (input:
        the controls) combined with ``psi_T`` by an outer product; ``None`` feeds the controls
        to ``psi_T`` instead.
    instrument_hidden_sizes : widths of the instrument feature network ``phi`` (input:
        instruments and controls); the last width is the number of instrument features.
    stage1_ridge, stage2_ridge : ridge penalties ``lambda_1``, ``lambda_2`` (per row).
    max_epochs, stage1_steps, stage2_steps : alternating optimisation schedule (every epoch
        runs; the epochs are full-batch and there is no early stopping).
    learning_rate, weight_decay : Adam settings of both optimisers.
    split : share of the rows used by stage 1 (the rest fit stage 2).
    activation : ``"relu"``, ``"elu"`` or ``"tanh"``.
    random_state : seed of the split and the network weights (same seed, same fit, bit for
        bit on the CPU).
    device : ``"auto"`` (a CUDA GPU when present), ``"cpu"`` or ``"cuda"``.
    verbose : progress bar over epochs (``"auto"``: only on a terminal).

    Fitted attributes: ``stage1_loss_``, ``stage2_loss_`` (per epoch, standardized units),
    ``coef_`` (``u``), ``n_features_``.

    Examples
    --------
    >>> from deepcause.simulate.iv import make_demand, demand_test_points
    >>> ds = make_demand(1000, rho=0.5, random_state=0)
    >>> est = DFIV(max_epochs=20, random_state=0, verbose=False)
    >>> est = est.fit(ds.data, treatment="p", outcome="y", instruments=["c"], covariates=["t", "s"])
    >>> test = demand_test_points(500, random_state=1)
    >>> mse = float(((est.predict(test[["p"]], test[["t", "s"]]) - test["h"]) ** 2).mean())
    >>> bool(mse < 0.5 * test["h"].var())
    True
    """

    method_name: ClassVar[str] = "DFIV"
    _networks: ClassVar[tuple[str, ...]] = ("treatment_net_", "control_net_", "instrument_net_")
    _fitted_arrays: ClassVar[tuple[str, ...]] = ("coef_", "coef_cov_")
    _fitted_values: ClassVar[tuple[str, ...]] = ("n_features_", "stage1_loss_", "stage2_loss_")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **IV_CONSTRAINTS,
        "treatment_features": [Interval(Integral, 1, None, closed="left")],
        "control_features": [Interval(Integral, 1, None, closed="left")],
        "stage1_ridge": [Interval(Real, 0, None, closed="neither")],
        "stage2_ridge": [Interval(Real, 0, None, closed="neither")],
        "stage1_steps": [Interval(Integral, 0, None, closed="left")],
        "stage2_steps": [Interval(Integral, 0, None, closed="left")],
        "split": [Interval(Real, 0.1, 0.9, closed="both")],
    }

    def __init__(
        self,
        treatment_hidden_sizes: tuple[int, ...] = (16,),
        treatment_features: int = 1,
        control_hidden_sizes: tuple[int, ...] | None = (64, 32),
        control_features: int = 16,
        instrument_hidden_sizes: tuple[int, ...] = (64, 32, 16),
        stage1_ridge: float = 0.01,
        stage2_ridge: float = 1e-4,
        max_epochs: int = 100,
        stage1_steps: int = 10,
        stage2_steps: int = 1,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        split: float = 0.5,
        activation: str = "relu",
        random_state: int | None = None,
        device: str = "auto",
        verbose: Verbose = "auto",
    ) -> None:
        self.treatment_hidden_sizes = treatment_hidden_sizes
        self.treatment_features = treatment_features
        self.control_hidden_sizes = control_hidden_sizes
        self.control_features = control_features
        self.instrument_hidden_sizes = instrument_hidden_sizes
        self.stage1_ridge = stage1_ridge
        self.stage2_ridge = stage2_ridge
        self.max_epochs = max_epochs
        self.stage1_steps = stage1_steps
        self.stage2_steps = stage2_steps
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.split = split
        self.activation = activation
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _validate_params(self) -> None:
        super()._validate_params()
        check_hidden_sizes(self, "treatment_hidden_sizes", "instrument_hidden_sizes")
        if self.control_hidden_sizes is not None:
            check_hidden_sizes(self, "control_hidden_sizes")

    # ------------------------------------------------------------------ features
    def _psi(self, T: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """Stage-2 features [psi_T, 1] (x) [psi_X, 1] of standardized inputs."""
        if self.control_net_ is None:
            return _with_const(self.treatment_net_(torch.cat([T, X], dim=1)).double())
        return _outer(
            _with_const(self.treatment_net_(T).double()),
            _with_const(self.control_net_(X).double()),
        )

    def _psi_t(self, T: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        if self.control_net_ is None:
            return _with_const(self.treatment_net_(torch.cat([T, X], dim=1)).double())
        return _with_const(self.treatment_net_(T).double())

    def _psi_x(self, X: torch.Tensor) -> torch.Tensor | None:
        return None if self.control_net_ is None else _with_const(self.control_net_(X).double())

    def _stage2_design(
        self, phi1: torch.Tensor, phi2: torch.Tensor, T1, X1, X2
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Stage-1 coefficients V and the predicted stage-2 design on half 2."""
        V = ridge(phi1, self._psi_t(T1, X1), float(self.stage1_ridge))
        return V, _outer(phi2 @ V, self._psi_x(X2))

    # ------------------------------------------------------------------ fit
    def _fit_prepared(self, data: IVData) -> None:
        kt, kx, kz = data.T.shape[1], data.X.shape[1], data.Z.shape[1]
        T, X, ZX, y_std = standardized_tensors(self, data, "DFIV")
        y = tensor(y_std, torch.float64, device=self.device_)[:, None]
        seed = seed_from(self.random_state)
        perm = np.random.default_rng(seed).permutation(data.n)
        n1 = int(round(float(self.split) * data.n))
        i1 = torch.as_tensor(perm[:n1], device=self.device_)
        i2 = torch.as_tensor(perm[n1:], device=self.device_)
        with seeded(seed, self.device_):
            self._build_networks(kt, kx, kz)
            self._train(T, X, ZX, y, i1, i2)
        self._finalize(T, X, ZX, y, i1, i2)

    def _build_networks(self, kt: int, kx: int, kz: int) -> None:
        act = self.activation
        use_controls = kx > 0 and self.control_hidden_sizes is not None
        t_in = kt if use_controls else kt + kx
        self.treatment_net_ = mlp(
            t_in, tuple(self.treatment_hidden_sizes), int(self.treatment_features), act
        )
        self.control_net_ = (
            mlp(kx, tuple(self.control_hidden_sizes), int(self.control_features), act)
            if use_controls
            else None
        )
        self.instrument_net_ = mlp(kz + kx, tuple(self.instrument_hidden_sizes), None, act)
        for net in (self.treatment_net_, self.control_net_, self.instrument_net_):
            if net is not None:
                net.to(self.device_)

    def _train(self, T, X, ZX, y, i1, i2) -> None:
        lr, wd = float(self.learning_rate), float(self.weight_decay)
        inst_opt = torch.optim.Adam(self.instrument_net_.parameters(), lr=lr, weight_decay=wd)
        params = list(self.treatment_net_.parameters())
        if self.control_net_ is not None:
            params += list(self.control_net_.parameters())
        treat_opt = torch.optim.Adam(params, lr=lr, weight_decay=wd)
        T1, X1, ZX1, X2, ZX2, y2 = T[i1], X[i1], ZX[i1], X[i2], ZX[i2], y[i2]
        lam1, lam2 = float(self.stage1_ridge), float(self.stage2_ridge)
        self.stage1_loss_, self.stage2_loss_ = [], []
        for _ in progress(range(int(self.max_epochs)), verbose=self.verbose, desc="DFIV"):
            with torch.no_grad():
                target = self._psi_t(T1, X1)
            for _ in range(int(self.stage1_steps)):
                phi1 = self.instrument_net_(ZX1).double()
                V = ridge(phi1, target, lam1)
                loss1 = ((target - phi1 @ V) ** 2).sum(1).mean() + lam1 * (V**2).sum()
                inst_opt.zero_grad()
                loss1.backward()
                inst_opt.step()
            with torch.no_grad():
                phi1 = self.instrument_net_(ZX1).double()
                phi2 = self.instrument_net_(ZX2).double()
            for _ in range(int(self.stage2_steps)):
                _, design = self._stage2_design(phi1, phi2, T1, X1, X2)
                u = ridge(design, y2, lam2)
                loss2 = ((y2 - design @ u) ** 2).mean() + lam2 * (u**2).sum()
                treat_opt.zero_grad()
                loss2.backward()
                treat_opt.step()
            if int(self.stage1_steps):
                self.stage1_loss_.append(float(loss1.detach()))
            if int(self.stage2_steps):
                self.stage2_loss_.append(float(loss2.detach()))

    def _finalize(self, T, X, ZX, y, i1, i2) -> None:
        for net in (self.treatment_net_, self.control_net_, self.instrument_net_):
            if net is not None:
                net.eval()
        with torch.no_grad():
            phi1 = self.instrument_net_(ZX[i1]).double()
            phi2 = self.instrument_net_(ZX[i2]).double()
            _, design = self._stage2_design(phi1, phi2, T[i1], X[i1], X[i2])
            lam2 = float(self.stage2_ridge)
            u = ridge(design, y[i2], lam2)
            # sandwich covariance of u with the structural residual on half 2
            resid = y[i2] - self._psi(T[i2], X[i2]) @ u
            m = len(design)
            eye = torch.eye(design.shape[1], dtype=design.dtype, device=design.device)
            bread = torch.linalg.inv(design.T @ design + m * lam2 * eye)
            meat = (design * resid**2).T @ design
            cov = bread @ meat @ bread
        self.coef_ = u.cpu().numpy().ravel()
        self.coef_cov_ = cov.cpu().numpy()
        self.n_features_ = int(len(self.coef_))

    # ------------------------------------------------------------------ predict
    def _features(self, T: np.ndarray, X: np.ndarray) -> np.ndarray:
        Tt, Xt = scaled_inputs(self, T, X)
        with torch.no_grad():
            return self._psi(Tt, Xt).cpu().numpy()

    def _predict(self, T: np.ndarray, X: np.ndarray) -> np.ndarray:
        return self.y_mean_ + self.y_scale_ * (self._features(T, X) @ self.coef_)

    def _effect_std_error(self, T0: np.ndarray, T1: np.ndarray, X: np.ndarray) -> float | None:
        g = (self._features(T1, X) - self._features(T0, X)).mean(0)
        return float(self.y_scale_ * np.sqrt(max(g @ self.coef_cov_ @ g, 0.0)))

    def _effect_diagnostics(self) -> dict[str, Any]:
        return {
            "std_error": "sandwich, conditional on the learned features (use bootstrap())",
            "stage1_loss": self.stage1_loss_[-1] if self.stage1_loss_ else None,
            "stage2_loss": self.stage2_loss_[-1] if self.stage2_loss_ else None,
        }
