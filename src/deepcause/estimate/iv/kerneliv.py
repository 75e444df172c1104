"""Kernel instrumental-variable regression (KernelIV; Singh, Sahani & Gretton, NeurIPS 2019).

Stage 1 learns the conditional mean embedding ``mu(z) = E[phi(T, X) | Z, X]`` by kernel ridge
regression; stage 2 regresses ``Y`` on the predicted embeddings, giving
``h(t, x) = <alpha, phi(t, x)>``. Both stages are closed form. To scale, the kernels are
approximated with ``n_components`` Nyström landmarks (default) or random Fourier features, so a
fit costs O(n m^2) time and O(n m) memory.

Hyper-parameters follow the paper's sample-splitting criteria (Singh et al. 2019, App. A.5),
with every embedding used for training or validation predicted out of sample: the data are
split in halves ``a`` and ``b``; a stage-1 ridge is fitted on each half, its ``lambda``
minimising the held-out embedding error on the other half. Stage 2 is trained on half ``b``
with embeddings from half ``a``'s stage 1, and its ridge ``xi`` minimises the held-out error
``|y - mu(z) alpha|^2`` on half ``a`` with embeddings from half ``b``'s stage 1 (an estimate of
the projected risk ``E[(Y - E[h(T, X) | Z, X])^2]``). With ``cross_fit=True`` (default) the
roles are also swapped, ``xi`` minimises the summed loss and the two fits are averaged.

Kernels are Gaussian on standardized columns with one lengthscale per column (a covariate's
lengthscale is shared by both kernels). The default ``lengthscales="median"`` is the median
heuristic of the paper: each kernel's lengthscale is the median distance between its input
rows. ``lengthscales="auto"`` runs a coordinate search over ``lengthscale_grid`` instead: the
stage-2 criterion for the columns of ``h`` (treatments and covariates) and the stage-1
criterion for the instrument-only columns, on at most ``search_rows`` rows with
``search_components`` features (the final fit uses all). The search tunes prediction, not
inference: on the linear design below it often picked a wiggly or an over-smoothed ``h`` whose
average effect was off by several standard errors.

Interval: the final stage 2 is *undersmoothed* (its ridge is the validated ``xi`` divided by
``undersmooth``) so that the ridge bias is small against the standard error, and the standard
error is the influence-function (sandwich) one of both stages: every row's effect on stage 2
(through its structural residual) and on the stage-1 embedding that the other half's stage 2
uses, with lengthscales and penalties held fixed. On 60 simulated datasets per design
(``benchmarks/bench_coverage.py --family latent``) the nominal 95% interval of the average
effect covered the truth 95% (linear IV, two instruments, n = 1000), 90% (one instrument,
heteroskedastic) and 93% (the nonlinear demand design) of the time. With one instrument the
problem is ill-posed and the interval is wide: prefer 2SLS when ``h`` is linear.
Undersmoothing and the median heuristic serve the average effect; to *predict* a wiggly ``h``
(``predict``) use ``lengthscales="auto", undersmooth=1`` (on the sine design of the tests the
prediction MSE was 0.38 with the defaults' lengthscales and below 0.1 with the search).

>>> from deepcause.simulate.iv import make_demand, demand_test_points
>>> ds = make_demand(1000, rho=0.5, random_state=0)
>>> kiv = KernelIV(n_components=100, lengthscales=[4.0, 0.2, 4.0, 4.0], random_state=0)
>>> kiv = kiv.fit(ds.data, treatment="p", outcome="y", instruments=["c"], covariates=["t", "s"])
>>> test = demand_test_points(500, random_state=1)
>>> mse = float(((kiv.predict(test[["p"]], test[["t", "s"]]) - test["h"]) ** 2).mean())
>>> bool(mse < 0.1 * test["h"].var())
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from ..._parameters import Interval, StrOptions
from ...exceptions import DataValidationError, InvalidParameterError
from ._base import BaseIVEstimator, IVData
from ._strength import partial_f, warn_weak_instruments

__all__ = ["KernelIV"]

_DEFAULT_GRID = (0.1, 0.2, 0.35, 0.6, 1.0, 2.0, 4.0)


def _sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


class _FeatureMap:
    """Nyström or random-Fourier features of a Gaussian kernel with per-column lengthscales."""

    def __init__(
        self, kind: str, rows: np.ndarray, lengthscales: np.ndarray, m: int, seed: int
    ) -> None:
        rng = np.random.default_rng(seed)
        self.kind, self.ls = kind, lengthscales
        d = rows.shape[1]
        if kind == "nystrom":
            idx = rng.choice(len(rows), size=min(m, len(rows)), replace=False)
            self.landmarks = rows[idx] / lengthscales
            K = np.exp(-0.5 * _sqdist(self.landmarks, self.landmarks))
            w, V = np.linalg.eigh(K)
            keep = w > 1e-10 * w.max()
            self.proj = V[:, keep] / np.sqrt(w[keep])
        else:
            self.omega = rng.normal(size=(d, m)) / lengthscales[:, None]
            self.phase = rng.uniform(0.0, 2.0 * np.pi, size=m)
            self.scale = np.sqrt(2.0 / m)

    def __call__(self, A: np.ndarray) -> np.ndarray:
        if self.kind == "nystrom":
            return np.exp(-0.5 * _sqdist(A / self.ls, self.landmarks)) @ self.proj
        return self.scale * np.cos(A @ self.omega + self.phase)


@dataclass
class _Stage:
    """One fitted KIV split: h(a) = y_mean + (phi(a) - phi_mean) @ alpha."""

    y_mean: float
    phi_mean: np.ndarray
    alpha: np.ndarray
    lam: float
    xi: float
    loss: float
    stage1_loss: float


def _influence_rows(
    fit: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    stage1: tuple[np.ndarray, np.ndarray, float],
    alpha: np.ndarray,
    xi: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row influence on ``[alpha, y_mean]`` of one split, stage 1 included.

    ``fit = (Q2, P2, W, yc)`` are stage 2's instrument and structural features, the stage-1
    weights and centered outcomes; ``stage1 = (Q1, P1, lam)`` the stage-1 half. Stage 2 is a
    ridge 2SLS on the predicted embeddings ``M = Q2 W``: a training row moves ``alpha`` by
    ``H m_i u_i`` (``u = y - h(t, x)``, ``H = (M'M + n2 xi)^-1``) and ``y_mean`` by
    ``u_i / n2``. A stage-1 row moves ``W`` by ``G q_i E_i`` (``G = (Q1'Q1 + n1 lam)^-1``,
    ``E`` its embedding residuals) and so ``alpha`` by ``-H M' Q2 G q_i e_i`` with
    ``e = E alpha``, the residual of the projected structural function."""
    Q2, P2, W, yc = fit
    Q1, P1, lam = stage1
    n2, n1 = len(Q2), len(Q1)
    M = Q2 @ W
    H = np.linalg.pinv(M.T @ M + n2 * xi * np.eye(M.shape[1]), hermitian=True)
    u = yc - P2 @ alpha
    G = np.linalg.pinv(Q1.T @ Q1 + n1 * lam * np.eye(Q1.shape[1]), hermitian=True)
    e = (P1 - Q1 @ W) @ alpha
    rows2 = np.hstack([(M @ H) * u[:, None], u[:, None] / n2])
    rows1 = -(Q1 @ (G @ (Q2.T @ M) @ H)) * e[:, None]
    return rows2, np.hstack([rows1, np.zeros((n1, 1))])


def _ridge_path_stage1(
    Q1: np.ndarray, P1: np.ndarray, Q2: np.ndarray, P2: np.ndarray, grid: np.ndarray
) -> tuple[float, np.ndarray, float]:
    """Stage-1 ridge W(lambda) = (Q1'Q1 + n1 lambda)^-1 Q1'P1; lambda by held-out |P2 - Q2 W|^2."""
    n1 = len(Q1)
    s, U = np.linalg.eigh(Q1.T @ Q1)
    s = np.clip(s, 0.0, None)
    C = U.T @ (Q1.T @ P1)
    A = U.T @ (Q2.T @ P2)
    B = U.T @ (Q2.T @ Q2) @ U
    CA = np.sum(C * A, axis=1)
    CC = C @ C.T
    losses = []
    for lam in grid:
        d = 1.0 / (s + n1 * lam)
        losses.append(-2.0 * d @ CA + d @ (B * CC) @ d)
    i = int(np.argmin(losses))
    lam = float(grid[i])
    return lam, U @ (C / (s + n1 * lam)[:, None]), float(losses[i])


def _ridge_path_stage2(
    M2: np.ndarray, y2: np.ndarray, M1: np.ndarray, y1: np.ndarray, grid: np.ndarray
) -> tuple[np.ndarray, Callable[[float], np.ndarray]]:
    """Stage-2 ridge alpha(xi) on (M2, y2): held-out losses mean |y1 - M1 alpha|^2 over
    ``grid`` and the solver ``xi -> alpha``."""
    n2 = len(M2)
    e, V = np.linalg.eigh(M2.T @ M2)
    e = np.clip(e, 0.0, None)
    b = V.T @ (M2.T @ y2)
    M1V = M1 @ V
    losses = np.array([np.mean((y1 - M1V @ (b / (e + n2 * xi))) ** 2) for xi in grid])
    return losses, lambda xi: V @ (b / (e + n2 * xi))


def _influence_gram(
    P: np.ndarray, Q: np.ndarray, y: np.ndarray, runs: list, stages: list[_Stage]
) -> np.ndarray:
    """Gram matrix ``L'L`` of the rows' influence ``L`` on the average over the splits of
    ``[alpha, y_mean]``; a row serves stage 2 of one split and stage 1 of the other, so its
    two terms are summed before squaring."""
    L = np.zeros((len(y), P.shape[1] + 1))
    for stage, (tr, va, W_tr, _, lam) in zip(stages, runs):
        fit = (Q[tr], P[tr], W_tr, y[tr] - stage.y_mean)
        rows2, rows1 = _influence_rows(fit, (Q[va], P[va], lam), stage.alpha, stage.xi)
        L[tr] += rows2 / len(stages)
        L[va] += rows1 / len(stages)
    return L.T @ L


class KernelIV(BaseIVEstimator):
    """KernelIV with Nyström or random-Fourier features (see the module docstring).

    Parameters
    ----------
    n_components : int, default 1000
        Nyström landmarks or random features per kernel.
    approximation : {"nystrom", "rff"}, default "nystrom"
        Kernel approximation.
    lengthscales : "median", "auto", float or sequence of float, default "median"
        ``"median"`` (median heuristic), ``"auto"`` (coordinate search by the KIV criteria), a
        number, or one value per input column in the order treatments, covariates,
        instruments — in units of each column's standard deviation.
    lengthscale_grid : sequence of float
        Candidate lengthscales for the search.
    n_search_passes : int, default 2
        Passes of the coordinate search over the columns.
    search_rows, search_components : int
        The search runs on at most this many random rows with at most this many features (the
        final fit uses all rows and ``n_components``).
    lambda_grid, xi_grid : sequence of float, optional
        Candidate stage-1 and stage-2 ridge penalties (``None``: 10^-8..1 and 10^-10..1 on a
        half-decade grid).
    cross_fit : bool, default True
        Average the fits with the two halves' roles swapped.
    undersmooth : float, default 10
        The final stage-2 ridge is the validated ``xi`` divided by this (1: no undersmoothing),
        which keeps the regularisation bias of ``effect()`` small against its standard error.
    weak_instrument_threshold : float, default 10
        Warn (``WeakInstrumentWarning``, as 2SLS) when the first-stage F is below this.
    random_state : int, Generator or None, default None
        Seed for the split, landmarks or random features.

    Attributes
    ----------
    lengthscales_ : dict
        Column -> chosen lengthscale.
    lambda_, xi_ : list of float
        Chosen ridge penalties per split (``xi_`` after undersmoothing).
    validation_loss_ : float
        Stage-2 held-out loss of the chosen setting.
    first_stage_f_ : dict
        Treatment -> cross-fitted first-stage F: each treatment is predicted out of sample
        from the stage-1 instrument features (ridge, halves swapped) and the F statistic of
        that prediction given the covariates is reported (F(1, n - k) when the instruments
        are irrelevant, so Stock-Yogo's 10 applies as for one instrument).

    search_path_ : list
        ``(lengthscales, loss)`` of every setting the search tried (``"auto"`` only).
    influence_gram_ : ndarray
        ``L'L`` of the rows' influence on the structural weights and intercept, behind the
        standard errors of ``effect()`` and ``mean()``.

    Notes
    -----
    ``effect()`` and ``mean()`` carry the two-stage influence-function standard error of the
    undersmoothed fit (module docstring); it holds the lengthscales and ridge penalties fixed,
    and so does ``bootstrap()``, which refits with the chosen lengthscales.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> z, u = rng.normal(size=(2, 800))
    >>> t = z + u
    >>> df = pd.DataFrame({"z": z, "t": t, "y": np.sin(t) + 2 * u + 0.1 * rng.normal(size=800)})
    >>> kiv = KernelIV(n_components=100, random_state=0)
    >>> kiv = kiv.fit(df, treatment="t", outcome="y", instruments=["z"])
    >>> lo, hi = kiv.effect(treatment=1, control=-1).conf_int()
    >>> bool(lo < 2 * np.sin(1) < hi)
    True
    """

    method_name: ClassVar[str] = "KernelIV"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_components": [Interval(Integral, 2, None, closed="left")],
        "approximation": [StrOptions({"nystrom", "rff"})],
        "lengthscales": [
            StrOptions({"auto", "median"}),
            Interval(Real, 0, None, closed="neither"),
            list,
            tuple,
            np.ndarray,
        ],
        "lengthscale_grid": [list, tuple, np.ndarray],
        "n_search_passes": [Interval(Integral, 1, None, closed="left")],
        "search_rows": [Interval(Integral, 20, None, closed="left")],
        "search_components": [Interval(Integral, 2, None, closed="left")],
        "lambda_grid": [None, list, tuple, np.ndarray],
        "xi_grid": [None, list, tuple, np.ndarray],
        "cross_fit": ["boolean"],
        "undersmooth": [Interval(Real, 1, None, closed="left")],
        "weak_instrument_threshold": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components: int = 1000,
        approximation: str = "nystrom",
        lengthscales: str | float | Sequence[float] = "median",
        lengthscale_grid: Sequence[float] = _DEFAULT_GRID,
        n_search_passes: int = 2,
        search_rows: int = 5000,
        search_components: int = 400,
        lambda_grid: Sequence[float] | None = None,
        xi_grid: Sequence[float] | None = None,
        cross_fit: bool = True,
        undersmooth: float = 10.0,
        weak_instrument_threshold: float = 10.0,
        random_state: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.approximation = approximation
        self.lengthscales = lengthscales
        self.lengthscale_grid = lengthscale_grid
        self.n_search_passes = n_search_passes
        self.search_rows = search_rows
        self.search_components = search_components
        self.lambda_grid = lambda_grid
        self.xi_grid = xi_grid
        self.cross_fit = cross_fit
        self.undersmooth = undersmooth
        self.weak_instrument_threshold = weak_instrument_threshold
        self.random_state = random_state

    # ------------------------------------------------------------------ helpers
    def _fixed_lengthscales(self, n_inputs: int) -> np.ndarray | None:
        """The given lengthscales, one per input column; ``None`` with ``"auto"``/``"median"``."""
        if isinstance(self.lengthscales, str):
            if len(self.lengthscale_grid) == 0 or min(self.lengthscale_grid) <= 0:
                raise InvalidParameterError("KernelIV: lengthscale_grid must hold positive numbers")
            return None
        ls = np.atleast_1d(np.asarray(self.lengthscales, dtype=float)).ravel()
        if ls.size == 1:
            ls = np.repeat(ls, n_inputs)
        if ls.size != n_inputs or np.any(ls <= 0):
            raise InvalidParameterError(
                f"KernelIV: lengthscales must be positive, one per column (treatments, "
                f"covariates, instruments: {n_inputs} in all), got {self.lengthscales!r}"
            )
        return ls

    def _median_lengthscales(self, A: np.ndarray, B: np.ndarray, seed: int) -> np.ndarray:
        """Median heuristic: each kernel's lengthscale is the median distance between its
        standardized input rows (on at most 1,000 rows); covariates take the structural
        kernel's value, instrument-only columns the instrument kernel's."""
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(A), size=min(len(A), 1000), replace=False)

        def median_distance(M: np.ndarray) -> float:
            d = np.sqrt(_sqdist(M[idx], M[idx]))[np.triu_indices(len(idx), 1)]
            return float(np.median(d[d > 0])) if np.any(d > 0) else 1.0

        kz = B.shape[1] - self.n_covariates_
        return np.concatenate(
            [np.full(A.shape[1], median_distance(A)), np.full(kz, median_distance(B))]
        )

    def _grids(self) -> tuple[np.ndarray, np.ndarray]:
        lam = 10.0 ** np.arange(-8, 0.01, 0.5) if self.lambda_grid is None else self.lambda_grid
        xi = 10.0 ** np.arange(-10, 0.01, 0.5) if self.xi_grid is None else self.xi_grid
        return np.asarray(lam, dtype=float), np.asarray(xi, dtype=float)

    def _split_ls(self, ls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lengthscales of the structural inputs [t, x] and instrument inputs [z, x]."""
        kt, kx = self.n_treatments_, self.n_covariates_
        tx = ls[: kt + kx]
        zx = np.concatenate([ls[kt + kx :], ls[kt : kt + kx]])
        return tx, zx

    def _run(
        self,
        A: np.ndarray,
        B: np.ndarray,
        y: np.ndarray,
        ls: np.ndarray,
        seed: int,
        cross_fit: bool,
        m: int,
        final: bool = False,
    ) -> tuple[_FeatureMap, list[_Stage]]:
        """Fit KIV with fixed lengthscales on standardized inputs; one or two splits.

        ``final``: also the rows' influence Gram matrix and the first-stage strength."""
        rng = np.random.default_rng(seed)
        n = len(y)
        perm = rng.permutation(n)
        halves = (perm[: n // 2], perm[n // 2 :])
        ls_a, ls_b = self._split_ls(ls)
        fa = _FeatureMap(self.approximation, A, ls_a, m, seed + 1)
        fb = _FeatureMap(self.approximation, B, ls_b, m, seed + 2)
        P, Q = fa(A), fb(B)
        lam_grid, xi_grid = self._grids()
        pm, qm = P.mean(0), Q.mean(0)
        P, Q = P - pm, Q - qm
        a, b = halves
        lam_a, W_a, loss1_a = _ridge_path_stage1(Q[a], P[a], Q[b], P[b], lam_grid)
        lam_b, W_b, loss1_b = _ridge_path_stage1(Q[b], P[b], Q[a], P[a], lam_grid)
        # stage 2 trains on one half with embeddings predicted by the other half's stage 1,
        # and is validated on the other half with embeddings predicted out of sample too
        runs = [(b, a, W_a, W_b, lam_a)]
        if cross_fit:
            runs.append((a, b, W_b, W_a, lam_b))
        paths = [
            _ridge_path_stage2(
                Q[tr] @ W_tr, y[tr] - y[tr].mean(), Q[va] @ W_va, y[va] - y[tr].mean(), xi_grid
            )
            for tr, va, W_tr, W_va, _ in runs
        ]
        # one xi for all runs, by their summed held-out loss (a less noisy criterion); the
        # final fit undersmooths it so that the ridge bias is small against the standard error
        i = int(np.argmin(sum(losses for losses, _ in paths)))
        xi = float(xi_grid[i]) / (float(self.undersmooth) if final else 1.0)
        stages = [
            _Stage(float(y[tr].mean()), pm, solve(xi), lam, xi, float(losses[i]), loss1_a + loss1_b)
            for (tr, _, _, _, lam), (losses, solve) in zip(runs, paths)
        ]
        if final:
            self.influence_gram_ = _influence_gram(P, Q, y, runs, stages)
            self._first_stage_strength(Q, A, halves, lam_grid)
        return fa, stages

    def _search(self, A: np.ndarray, B: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
        """Coordinate search of the lengthscales by the held-out KIV criteria."""
        rng = np.random.default_rng(seed)
        if len(y) > self.search_rows:
            idx = rng.choice(len(y), size=int(self.search_rows), replace=False)
            A, B, y = A[idx], B[idx], y[idx]
        k = A.shape[1] + B.shape[1] - self.n_covariates_
        grid = sorted(float(g) for g in self.lengthscale_grid)
        ls = np.full(k, min(grid, key=lambda g: abs(g - 1.0)))
        cache: dict[tuple[float, ...], tuple[float, float]] = {}
        m = min(int(self.search_components), int(self.n_components))
        n_structural = self.n_treatments_ + self.n_covariates_

        def losses(values: np.ndarray) -> tuple[float, float]:
            key = tuple(values)
            if key not in cache:
                _, stages = self._run(A, B, y, values, seed, cross_fit=False, m=m)
                cache[key] = (stages[0].loss, stages[0].stage1_loss)
            return cache[key]

        for _ in range(int(self.n_search_passes)):
            start = ls.copy()
            for j in range(k):
                trials = []
                for g in grid:
                    trial = ls.copy()
                    trial[j] = g
                    trials.append(trial)
                # instrument-only columns: the stage-1 criterion (held-out error of the
                # embedding, comparable while the structural kernel is fixed); columns of the
                # structural function: the stage-2 criterion
                crit = 1 if j >= n_structural else 0
                ls = min(trials, key=lambda v: (losses(v)[crit], -float(v[j])))
            if np.array_equal(start, ls):
                break
        self.search_path_ = [(dict(zip(self.input_names_, key)), v[0]) for key, v in cache.items()]
        return ls

    def _first_stage_strength(
        self, Q: np.ndarray, A: np.ndarray, halves: tuple[np.ndarray, np.ndarray], grid: np.ndarray
    ) -> None:
        """Cross-fitted first-stage F per treatment (``first_stage_f_``).

        Each treatment is predicted out of sample from the stage-1 instrument features ``Q``
        (ridge on one half, penalty by held-out error on the other, and the roles swapped);
        the F statistic of that prediction, partialled on the covariates, is the first-stage F
        of 2SLS with it as the one instrument (F(1, n - k) under irrelevant instruments)."""
        kt = self.n_treatments_
        T, X = A[:, :kt] - A[:, :kt].mean(0), A[:, kt:]
        a, b = halves
        T_hat = np.empty_like(T)
        for fit_on, held_out in ((a, b), (b, a)):
            _, W, _ = _ridge_path_stage1(Q[fit_on], T[fit_on], Q[held_out], T[held_out], grid)
            T_hat[held_out] = Q[held_out] @ W
        self.first_stage_f_ = {
            name: partial_f(T[:, j], T_hat[:, j], X) for j, name in enumerate(self.treatment_names_)
        }

    # ------------------------------------------------------------------ fit / predict
    def _fit_prepared(self, data: IVData) -> None:
        self.n_treatments_ = data.T.shape[1]
        self.n_covariates_ = data.X.shape[1]
        self.treatment_names_ = data.treatment_names
        self.input_names_ = (*data.treatment_names, *data.covariate_names, *data.instrument_names)
        fixed = self._fixed_lengthscales(len(self.input_names_))
        if data.n < 20:
            raise DataValidationError(f"KernelIV needs at least 20 rows, got {data.n}")
        TX = np.hstack([data.T, data.X])
        ZX = np.hstack([data.Z, data.X])
        self.tx_mean_, self.tx_scale_ = TX.mean(0), TX.std(0)
        zx_mean, zx_scale = ZX.mean(0), ZX.std(0)
        A = (TX - self.tx_mean_) / self.tx_scale_
        B = (ZX - zx_mean) / zx_scale
        seed = int(np.random.default_rng(self.random_state).integers(2**31 - 1))
        self.search_path_: list = []
        if fixed is not None:
            ls = fixed
        elif self.lengthscales == "median":
            ls = self._median_lengthscales(A, B, seed)
        else:
            ls = self._search(A, B, data.y, seed)
        self.feature_map_, self.stages_ = self._run(
            A, B, data.y, ls, seed, bool(self.cross_fit), int(self.n_components), final=True
        )
        warn_weak_instruments(
            self.first_stage_f_, self.weak_instrument_threshold, "KernelIV", stacklevel=4
        )
        self.lengthscales_ = dict(zip(self.input_names_, map(float, ls)))
        self.lambda_ = [s.lam for s in self.stages_]
        self.xi_ = [s.xi for s in self.stages_]
        self.validation_loss_ = float(np.mean([s.loss for s in self.stages_]))

    def _features(self, T: np.ndarray, X: np.ndarray) -> np.ndarray:
        return self.feature_map_((np.hstack([T, X]) - self.tx_mean_) / self.tx_scale_)

    def _stage_std_error(self, g: np.ndarray, with_intercept: bool) -> float:
        """Standard error of the average over the splits of ``g @ alpha`` (+ ``y_mean``), from
        the rows' influence (both stages; hyper-parameters held fixed)."""
        phi_mean = self.stages_[0].phi_mean
        v = np.append(g - phi_mean, 1.0) if with_intercept else np.append(g, 0.0)
        return float(np.sqrt(max(float(v @ self.influence_gram_ @ v), 0.0)))

    def _effect_std_error(self, T0: np.ndarray, T1: np.ndarray, X: np.ndarray) -> float:
        g = (self._features(T1, X) - self._features(T0, X)).mean(0)
        return self._stage_std_error(g, with_intercept=False)

    def _mean_std_error(self, T: np.ndarray, X: np.ndarray) -> float:
        return self._stage_std_error(self._features(T, X).mean(0), with_intercept=True)

    def _effect_diagnostics(self) -> dict[str, Any]:
        return {
            "first_stage_f": min(self.first_stage_f_.values()),
            "first_stage_f_by_treatment": dict(self.first_stage_f_),
            "lengthscales": dict(self.lengthscales_),
            "lambda": list(self.lambda_),
            "xi": list(self.xi_),
            "validation_loss": self.validation_loss_,
        }

    def _bootstrap_params(self) -> dict[str, Any]:
        return {"lengthscales": list(self.lengthscales_.values())}

    def _predict(self, T: np.ndarray, X: np.ndarray) -> np.ndarray:
        P = self._features(T, X)
        preds = [s.y_mean + (P - s.phi_mean) @ s.alpha for s in self.stages_]
        return np.mean(preds, axis=0)
