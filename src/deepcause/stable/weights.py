"""Sample weights that decorrelate covariates, for prediction that survives covariate shift.

Every weighting is a small scikit-learn style object: ``fit(X)`` learns ``weights_`` (one per
row, mean 1) and ``effective_sample_size_`` (Kish: ``(sum w)^2 / sum w^2``); the weights go to
any estimator's ``fit(X, y, sample_weight=...)`` (see :class:`~deepcause.stable.StableRegressor`).

* :class:`DWRWeights` — decorrelated weighted regression weights (Kuang et al. 2020): minimise
  the squared off-diagonal weighted covariances (of moments up to ``order``).
* :class:`GlobalBalancingWeights` — GBR (Kuang et al. 2018): every variable in turn is a
  "treatment" (split at its median) and the weights balance the means of all other variables
  between its two groups.
* :class:`DeepGlobalBalancingWeights` — DGBR's weights (Kuang et al. 2018): global
  balancing of a learned autoencoder representation, trained jointly with the weights (torch).
* :class:`SRDOWeights` — sample reweighting decorrelation operator (Shen et al. 2020): a
  classifier tells the data from column-wise permuted copies (independent columns); the
  cross-fitted odds, tempered to keep the effective sample size, estimate the density ratio
  ``prod_j p(x_j) / p(x)`` (in :mod:`deepcause.stable.srdo`, re-exported here).
* :class:`NonlinearDecorrelationWeights` — ours: DWR's loss extended with the covariance of
  each variable with a cross-fitted nonlinear prediction of it from the other variables (so
  dependence that is not linear is removed too), and an explicit effective-sample-size
  penalty (weight control matters more than matching the density ratio exactly).

The free-weight objectives are optimised over log-weights (``w = n softmax(theta)``) by
L-BFGS with analytic gradients.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy import linalg, optimize
from scipy.special import softmax
from sklearn.base import clone

from .._parameters import Interval, ParameterValidationMixin, StrOptions
from .._progress import progress
from ..exceptions import DataValidationError
from ._base import BaseWeights, check_X, effective_sample_size
from ._features import BoundedPolynomialFeatures
from .srdo import SRDOWeights

__all__ = [
    "effective_sample_size",
    "DWRWeights",
    "GlobalBalancingWeights",
    "SRDOWeights",
    "NonlinearDecorrelationWeights",
    "DeepGlobalBalancingWeights",
]

MAX_FEATURES = 2000  # polynomial columns of the default regressions (exact degree 3 up to p = 20)


def _standardize(F: np.ndarray) -> np.ndarray:
    return (F - F.mean(0)) / F.std(0)


def _optimize_weights(
    loss_grad: Any, n: int, ess_penalty: float, max_iter: int
) -> tuple[np.ndarray, optimize.OptimizeResult]:
    """Minimise ``loss(w) + ess_penalty * n * sum(p^2)`` over ``p = softmax(theta)``.

    ``loss_grad(p)`` returns the loss and its gradient w.r.t. the probabilities ``p``
    (weights summing to one); ``n * sum(p^2) = n / ESS``. Returns weights with mean 1.
    """

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p = softmax(theta)
        val, g = loss_grad(p)
        val += ess_penalty * n * float(p @ p)
        g = g + 2.0 * ess_penalty * n * p
        return float(val), p * (g - p @ g)

    res = optimize.minimize(
        objective,
        np.zeros(n),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": 1e-9, "ftol": 1e-12},
    )
    return softmax(res.x) * n, res


def _covariance_loss(F: np.ndarray, mask: np.ndarray) -> Any:
    """Sum of squared weighted covariances of the feature pairs selected by ``mask``."""
    mask = np.triu(mask, 1)
    mask = mask + mask.T

    def loss_grad(p: np.ndarray) -> tuple[float, np.ndarray]:
        mu = p @ F
        C = (F * p[:, None]).T @ F - np.outer(mu, mu)
        Cm = C * mask
        val = float(np.sum(Cm * Cm))
        FC = F @ (Cm * mask)
        grad = 2.0 * (np.sum(FC * F, axis=1) - 2.0 * FC @ mu)
        return val, grad

    return loss_grad


def _poly_ridge_drop_one_predictions(
    X: np.ndarray,
    targets: list[np.ndarray],
    columns: Any = None,
    degree: int = 3,
    alpha: float = 10.0,
    n_folds: int = 5,
    random_state: Any = 0,
    max_features: int = MAX_FEATURES,
) -> list[np.ndarray]:
    """Out-of-fold ridge predictions of ``targets[i]`` from a polynomial of ``X`` minus column
    ``columns[i]``.

    Equal to ``cross_val_predict(make_pipeline(PolynomialFeatures(degree,
    include_bias=False), StandardScaler(), Ridge(alpha)), np.delete(X, j, 1), target)`` but the
    polynomial features, their per-fold standardization and the inverse ``B`` of the full
    ridge system ``Z'Z + alpha I`` are computed once per fold for all ``j``. The monomials
    without ``x_j`` (set ``K``) are a subset of all monomials; the inverse of the sub-system
    follows from ``B`` (Schur complement): ``A_KK^{-1} = B_KK - B_KJ B_JJ^{-1} B_JK`` with
    ``J`` the monomials that contain ``x_j``. ``targets[i]`` is ``(n, m)``; returns a list of
    ``(n, m)`` arrays. With more than ``max_features`` monomials the expansion is reduced
    (:class:`BoundedPolynomialFeatures`: no cubic cross terms, then no cross terms at all), so
    memory stays ``O(n max_features + max_features^2)`` whatever the number of columns.
    """
    from sklearn.model_selection import KFold

    n, p = X.shape
    columns = list(range(p)) if columns is None else list(columns)
    poly = BoundedPolynomialFeatures(int(degree), max_features=max_features).fit(X)
    Phi = poly.transform(X)
    keep = [poly.powers_[:, j] == 0 for j in columns]
    out = [np.empty_like(np.asarray(t, dtype=float)) for t in targets]
    folds = KFold(int(n_folds), shuffle=True, random_state=random_state)
    for train, test in folds.split(Phi):
        mean = Phi[train].mean(0)
        scale = Phi[train].std(0)
        scale[scale == 0] = 1.0
        Z = (Phi[train] - mean) / scale
        Zt = (Phi[test] - mean) / scale
        a = Z.T @ Z
        a[np.diag_indices_from(a)] += float(alpha)
        B = linalg.cho_solve(linalg.cho_factor(a, check_finite=False), np.eye(len(a)))
        for i, k in enumerate(keep):
            t = np.asarray(targets[i], dtype=float)
            t_mean = t[train].mean(0)
            v = B[:, k] @ (Z[:, k].T @ (t[train] - t_mean))
            drop = ~k
            coef = v[k] - B[np.ix_(k, drop)] @ linalg.solve(
                B[np.ix_(drop, drop)], v[drop], assume_a="pos", check_finite=False
            )
            out[i][test] = Zt[:, k] @ coef + t_mean
    return out


def _column_treatments(X: np.ndarray) -> np.ndarray:
    """Global balancing's treatments: column ``j`` split at its median (binary columns as they
    are), as a 0/1 matrix; a column that cannot be split is an error."""
    binary = np.array([np.unique(X[:, j]).size == 2 for j in range(X.shape[1])])
    cut = np.where(binary, X.min(0), np.median(X, axis=0))
    treat = (cut < X).astype(float)
    counts = treat.sum(0)
    bad = np.flatnonzero((counts == 0) | (counts == len(X)))
    if bad.size:
        raise DataValidationError(
            f"column(s) {bad.tolist()} cannot be split in two groups (constant); drop them"
        )
    return treat


class DWRWeights(BaseWeights):
    """Decorrelation weights of DWR (Kuang et al. 2020).

    Minimises ``sum_{j != k} Cov_w(x_j^a, x_k^b)^2`` over moments ``a, b <= order`` of the
    standardized columns, plus ``ess_penalty * n / ESS`` (the paper's ``sum w^2`` term).

    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(300, 1))
    >>> X = np.hstack([z + 0.5 * rng.normal(size=(300, 1)), z + 0.5 * rng.normal(size=(300, 1))])
    >>> dw = DWRWeights(ess_penalty=1e-3).fit(X)
    >>> c = np.cov(X.T, aweights=dw.weights_)
    >>> bool(abs(c[0, 1]) < 0.1 * abs(np.cov(X.T)[0, 1])), dw.effective_sample_size_ < 300
    (True, True)
    """

    def __init__(self, order: int = 1, ess_penalty: float = 1e-3, max_iter: int = 300) -> None:
        self.order = order
        self.ess_penalty = ess_penalty
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any = None) -> DWRWeights:
        X = check_X(X)
        n, p = X.shape
        F = _standardize(np.hstack([X**a for a in range(1, int(self.order) + 1)]))
        var = np.tile(np.arange(p), int(self.order))
        mask = (var[:, None] != var[None, :]).astype(float)
        w, self.optimize_result_ = _optimize_weights(
            _covariance_loss(F, mask), n, float(self.ess_penalty), int(self.max_iter)
        )
        self._store(w)
        return self


class GlobalBalancingWeights(BaseWeights):
    """Global balancing weights of GBR (Kuang et al. 2018).

    Each column ``j`` in turn is a binary "treatment" ``x_j > median(x_j)`` (binary columns
    are used as they are); the loss is the squared difference of the weighted means of all
    other standardized columns between the two groups, summed over ``j``, plus
    ``ess_penalty * n / ESS``.

    >>> rng = np.random.default_rng(1)
    >>> a = rng.integers(0, 2, 400)
    >>> X = np.column_stack([a, a * 0.8 + rng.normal(size=400)])
    >>> gb = GlobalBalancingWeights().fit(X)
    >>> w = gb.weights_
    >>> gap = lambda w: abs(np.average(X[a == 1, 1], weights=w[a == 1])
    ...                     - np.average(X[a == 0, 1], weights=w[a == 0]))
    >>> bool(gap(w) < 0.2 * gap(np.ones(400)))
    True
    """

    def __init__(self, ess_penalty: float = 1e-3, max_iter: int = 300) -> None:
        self.ess_penalty = ess_penalty
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any = None) -> GlobalBalancingWeights:
        X = check_X(X)
        n, p = X.shape
        F = _standardize(X)
        treat = _column_treatments(X)
        off = 1.0 - np.eye(p)

        def loss_grad(q: np.ndarray) -> tuple[float, np.ndarray]:
            W1 = q @ treat  # (p,) weight mass of the "treated" group of each column
            W0 = q @ (1.0 - treat)
            M1 = (treat * q[:, None]).T @ F / W1[:, None]  # (p, p): row j = treated means
            M0 = ((1.0 - treat) * q[:, None]).T @ F / W0[:, None]
            D = (M1 - M0) * off
            val = float(np.sum(D * D))
            FD = F @ D.T  # (n, p): x_i . D_j
            g1 = treat * (FD - np.sum(M1 * D, axis=1)) / W1
            g0 = (1.0 - treat) * (FD - np.sum(M0 * D, axis=1)) / W0
            return val, 2.0 * np.sum(g1 - g0, axis=1)

        w, self.optimize_result_ = _optimize_weights(
            loss_grad, n, float(self.ess_penalty), int(self.max_iter)
        )
        self._store(w)
        return self


class NonlinearDecorrelationWeights(BaseWeights):
    """Decorrelation of every variable from the others, linearly and nonlinearly (ours).

    For each column ``j`` a ``regressor`` (default: ridge regression, ``alpha=10``, on the
    standardized degree-3 polynomial of the other columns, computed for all ``j`` at once;
    beyond 2,000 monomials, about ``p > 20``, the cubic and then all cross terms are left out,
    see :class:`~deepcause.stable._features.BoundedPolynomialFeatures`)
    predicts ``x_j`` from the others out of fold
    (``n_folds``-fold cross-fitting): ``g_j``. The weights minimise the squared weighted
    covariances of all pairs ``(x_j, x_k)`` and of every ``(x_j, g_j)`` — zero when, under
    the weights, no variable can be predicted from the others — plus
    ``ess_penalty * n / ESS``. The penalty keeps the effective sample size from collapsing.

    >>> rng = np.random.default_rng(3)
    >>> s = rng.normal(size=(400, 2))
    >>> v = s[:, 0] * s[:, 1] + 0.3 * rng.normal(size=400)   # uncorrelated, but dependent
    >>> X = np.column_stack([s, v])
    >>> nw = NonlinearDecorrelationWeights(ess_penalty=1e-2).fit(X)
    >>> dep = lambda w: abs(np.cov(v, s[:, 0] * s[:, 1], aweights=w)[0, 1])
    >>> bool(dep(nw.weights_) < 0.5 * dep(np.ones(400)))
    True
    """

    def __init__(
        self,
        regressor: Any = None,
        ess_penalty: float = 3e-2,
        nonlinear_weight: float = 1.0,
        n_folds: int = 5,
        max_iter: int = 500,
        random_state: int | None = None,
    ) -> None:
        self.regressor = regressor
        self.ess_penalty = ess_penalty
        self.nonlinear_weight = nonlinear_weight
        self.n_folds = n_folds
        self.max_iter = max_iter
        self.random_state = random_state

    def _nonlinear_predictions(self, X: np.ndarray) -> np.ndarray:
        from sklearn.model_selection import KFold, cross_val_predict

        if self.regressor is None:  # the default model, with shared features and Gram matrix
            preds = _poly_ridge_drop_one_predictions(
                X,
                [X[:, [j]] for j in range(X.shape[1])],
                n_folds=int(self.n_folds),
                random_state=self.random_state,
            )
            return np.column_stack([g[:, 0] for g in preds])
        reg = self.regressor
        folds = KFold(int(self.n_folds), shuffle=True, random_state=self.random_state)
        G = np.empty_like(X)
        for j in range(X.shape[1]):
            others = np.delete(X, j, axis=1)
            G[:, j] = cross_val_predict(clone(reg), others, X[:, j], cv=folds)
        return G

    def fit(self, X: Any, y: Any = None) -> NonlinearDecorrelationWeights:
        X = check_X(X)
        n, p = X.shape
        G = self._nonlinear_predictions(X)
        sd = G.std(0)
        G = np.where(sd > 0, G, 0.0)
        F = _standardize(np.column_stack([X, G + (sd == 0) * X]))
        mask = np.zeros((2 * p, 2 * p))
        mask[:p, :p] = 1.0 - np.eye(p)
        idx = np.arange(p)
        mask[idx, p + idx] = mask[p + idx, idx] = np.sqrt(float(self.nonlinear_weight))
        w, self.optimize_result_ = _optimize_weights(
            _covariance_loss(F, mask), n, float(self.ess_penalty), int(self.max_iter)
        )
        self._store(w)
        return self


class DeepGlobalBalancingWeights(ParameterValidationMixin, BaseWeights):
    """Global balancing weights learned jointly with an autoencoder representation: the
    weighting part of DGBR (deep global balancing regression, Kuang et al. 2018).

    As in :class:`GlobalBalancingWeights`, every column ``j`` in turn is a binary treatment
    ``x_j > median(x_j)``, but what is balanced between its two groups is a learned
    nonlinear representation ``phi`` of the other columns (the encoder applied to the
    standardized ``X`` with column ``j`` set to its mean; each of the ``dim`` outputs is
    standardized so that the balance cannot be bought by shrinking it). The encoder (tanh
    layers of widths ``hidden_sizes``) and a mirrored decoder are trained together with the
    weights on the joint loss

    ``sum_j ||mean_w(phi_-j | T_j = 1) - mean_w(phi_-j | T_j = 0)||^2
    + reconstruction_weight * weighted mean ||x - decoder(phi(x))||^2 + ess_penalty n / ESS``

    (full-batch Adam in float32, ``max_epochs`` steps at ``learning_rate``, on ``device``). The
    reconstruction term keeps ``phi`` informative, so balancing it balances nonlinear
    functions of the covariates, not only their means. DGBR's third term, the weighted loss of
    a predictor on ``phi``, is left to the estimator that receives the weights
    (:class:`~deepcause.stable.StableRegressor`), so that the weights serve any estimator.
    Needs PyTorch (``pip install deepcause[deep]``).

    >>> rng = np.random.default_rng(4)
    >>> z = rng.normal(size=(400, 1))
    >>> X = np.hstack([z + 0.5 * rng.normal(size=(400, 2)), rng.normal(size=(400, 1))])
    >>> dg = DeepGlobalBalancingWeights(max_epochs=200, random_state=0).fit(X)
    >>> bool(abs(np.cov(X.T, aweights=dg.weights_)[0, 1]) < 0.7 * abs(np.cov(X.T)[0, 1]))
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "dim": [Interval(Integral, 1, None, closed="left"), None],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "ess_penalty": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": [Interval(Integral, 0, None, closed="left"), np.random.Generator, None],
        "device": [str],
        "verbose": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        hidden_sizes: tuple[int, ...] = (32,),
        dim: int | None = None,
        reconstruction_weight: float = 1.0,
        ess_penalty: float = 1e-3,
        max_epochs: int = 300,
        learning_rate: float = 0.05,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool | str = "auto",
    ) -> None:
        self.hidden_sizes = hidden_sizes
        self.dim = dim
        self.reconstruction_weight = reconstruction_weight
        self.ess_penalty = ess_penalty
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def fit(self, X: Any, y: Any = None) -> DeepGlobalBalancingWeights:
        from .._torch import (
            check_hidden_sizes,
            mlp,
            resolve_device,
            seed_from,
            seeded,
            tensor,
            torch,
        )

        self._validate_params()
        check_hidden_sizes(self, "hidden_sizes")
        X = check_X(X)
        n, p = X.shape
        sizes, device = tuple(self.hidden_sizes), resolve_device(self.device)
        with seeded(seed_from(self.random_state)):
            encoder = mlp(p, sizes, p if self.dim is None else self.dim, activation="tanh")
            decoder = mlp(encoder[-1].out_features, sizes[::-1], p, activation="tanh")
        encoder, decoder = encoder.to(device), decoder.to(device)
        F = tensor(_standardize(X), device=device)
        treat = tensor(_column_treatments(X), device=device)
        theta = torch.zeros(n, requires_grad=True, device=device)
        params = [theta, *encoder.parameters(), *decoder.parameters()]
        opt = torch.optim.Adam(params, lr=float(self.learning_rate))
        first, rest = encoder[0], encoder[1:]

        def loss_fn() -> Any:
            q = torch.softmax(theta, 0)
            pre = first(F)  # (n, first width)
            code = rest(pre)
            mu, sd = code.mean(0), code.std(0) + 1e-6
            # encoder of X with column j set to its mean (0 after standardizing), all j at once
            pre_masked = pre.unsqueeze(0) - F.T.unsqueeze(2) * first.weight.T.unsqueeze(1)
            phi = (rest(pre_masked) - mu) / sd  # (p, n, dim)
            w1 = q[:, None] * treat  # (n, p)
            w0 = q[:, None] * (1.0 - treat)
            m1 = torch.einsum("nj,jnd->jd", w1, phi) / w1.sum(0)[:, None]
            m0 = torch.einsum("nj,jnd->jd", w0, phi) / w0.sum(0)[:, None]
            balance = ((m1 - m0) ** 2).sum()
            recon = (q * ((decoder(code) - F) ** 2).sum(1)).sum()
            return (
                balance
                + float(self.reconstruction_weight) * recon
                + float(self.ess_penalty) * n * (q * q).sum()
            )

        for _ in progress(range(int(self.max_epochs)), verbose=self.verbose, desc="DGBR"):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            opt.step()
        self.loss_ = float(loss.detach())
        self._store(torch.softmax(theta.detach(), 0).cpu().double().numpy() * n)
        return self
