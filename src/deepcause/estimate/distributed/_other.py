"""PlugIn and two-stage least squares on a Dask DataFrame.

* PlugIn: the counts of every combination of the estimand's (discrete) variables are reduced
  across partitions into a probability table, which PlugIn evaluates exactly as it evaluates
  the empirical distribution of a sample in memory.
* 2SLS (linear structural function ``[1, T, X]``, instruments ``[1, Z, X]``): coefficients,
  classical errors, the first-stage F, the Cragg-Donald F and the Sargan test come from the Gram
  matrix of ``[1, T, X, Z, y]`` (one pass); robust (HC0/HC1) errors, the robust first-stage F
  and Hansen's J from a second pass reducing ``sum u_i^2 w_i w_i'`` for the residuals of the
  structural and first-stage equations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ...exceptions import DataValidationError, EstimandNotSupportedError
from ...graph.causal_graph import CausalGraph
from ..iv._base import IVData, _check_against_graph, _resolve_roles
from ..plugin import PlugInData
from ._data import check_frame_columns
from ._engine import partitions_of, run_pass

__all__ = ["fit_plugin", "fit_tsls"]


@dataclass(frozen=True)
class _TablePlugInData(PlugInData):
    """A probability table reduced from ``rows`` rows of a Dask DataFrame."""

    rows: int = 0

    @property
    def n(self) -> int:
        """Number of rows of the Dask DataFrame."""
        return self.rows


def fit_plugin(est: Any, frame: Any, estimand: Any, roles: dict[str, Any]) -> Any:
    """PlugIn on the probability table of the estimand's variables, counted out of core."""
    estimand = est._estimand(frame, estimand, roles)
    variables = [str(v) for v in getattr(estimand, "variables", ())]
    missing = [v for v in variables if v not in frame.columns]
    if missing:
        raise DataValidationError(f"estimand variable(s) {missing} are not columns of the data")
    counts = frame[variables].groupby(variables, dropna=False).size().compute()
    table = counts.rename("probability").reset_index()
    rows = int(table["probability"].sum())
    table["probability"] = table["probability"] / rows
    data = est._prepare(table, estimand)
    est.data_ = _TablePlugInData(data.frame, data.estimand, True, rows)
    est._fit_prepared(est.data_)
    return est


# ----------------------------------------------------------------------------- 2SLS
def _inv(A: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(A)


@dataclass(frozen=True)
class _Blocks:
    """Cross products of the blocks of ``[1, T, X, Z, y]`` (D = [1, T, X], W = [1, Z, X])."""

    G: np.ndarray
    kt: int
    kx: int
    kz: int

    def idx(self, *names: str) -> list[int]:
        kt, kx, kz = self.kt, self.kx, self.kz
        where = {
            "1": [0],
            "T": list(range(1, 1 + kt)),
            "X": list(range(1 + kt, 1 + kt + kx)),
            "Z": list(range(1 + kt + kx, 1 + kt + kx + kz)),
            "y": [1 + kt + kx + kz],
        }
        return [i for name in names for i in where[name]]

    def cross(self, a: str, b: str) -> np.ndarray:
        """``A' B`` for the blocks ``a`` and ``b`` (strings of block letters such as "1TX")."""
        return self.G[np.ix_(self.idx(*a), self.idx(*b))]


def _gram_pass(part: Any, index: int) -> dict[str, Any]:
    A = np.column_stack([np.ones(len(part)), part.to_numpy(dtype=float)])
    return {"gram": A.T @ A, "nonfinite": int((~np.isfinite(A)).sum())}


def _meat_pass(part: Any, index: int, jobs: list[tuple[list[int], np.ndarray]]) -> dict[str, Any]:
    """``sum r^2 m m'`` for each job (columns ``m`` of ``[1, T, X, Z, y]``, residual ``A c``)."""
    A = np.column_stack([np.ones(len(part)), part.to_numpy(dtype=float)])
    out = {}
    for i, (cols, c) in enumerate(jobs):
        M, r2 = A[:, cols], (A @ c) ** 2
        out[f"meat{i}"] = (M * r2[:, None]).T @ M
    return out


def _residual(B: _Blocks, target: str, regressors: str, coef: np.ndarray, j: int = 0) -> np.ndarray:
    """Coefficients ``c`` over ``[1, T, X, Z, y]`` with ``A c`` = target_j - regressors @ coef."""
    c = np.zeros(B.G.shape[0])
    c[B.idx(target)[j]] = 1.0
    c[B.idx(*regressors)] -= coef
    return c


def _lstsq(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(A, b, rcond=None)[0]


def _sandwich(bread: np.ndarray, meat: np.ndarray, cov_type: str, n: int, k: int) -> np.ndarray:
    V = bread @ meat @ bread
    return V * n / (n - k) if cov_type == "HC1" else V


def _first_stage(B: _Blocks, n: int, cov_type: str, meats: list[np.ndarray], names) -> dict:
    FF, EE = B.cross("1XZ", "1XZ"), B.cross("1X", "1X")
    l_full = int(np.linalg.matrix_rank(FF))
    out = {}
    for j, name in enumerate(names):
        tt = B.cross("T", "T")[j, j]
        Ft, Et = B.cross("1XZ", "T")[:, j], B.cross("1X", "T")[:, j]
        g = _lstsq(FF, Ft)
        euu = tt - 2 * g @ Ft + g @ FF @ g
        if cov_type == "nonrobust":
            err = tt - _lstsq(EE, Et) @ Et
            out[name] = float(((err - euu) / B.kz) / (euu / (n - l_full)))
            continue
        V = _sandwich(_inv(FF), meats[j], cov_type, n, l_full)
        gz, Vz = g[-B.kz :], V[-B.kz :, -B.kz :]
        out[name] = float(gz @ _inv(Vz) @ gz) / B.kz
    partial = B.cross("1X", "TZ")
    P = B.cross("TZ", "TZ") - partial.T @ _lstsq(EE, partial)  # [T, Z] residualized on [1, X]
    TT, TZ, ZZ = P[: B.kt, : B.kt], P[: B.kt, B.kt :], P[B.kt :, B.kt :]
    fitted = TZ @ _lstsq(ZZ, TZ.T)
    w, V = np.linalg.eigh((TT - fitted) / (n - l_full))
    inv_half = V @ np.diag(1 / np.sqrt(np.clip(w, 1e-300, None))) @ V.T
    cragg = float(np.linalg.eigvalsh(inv_half @ fitted @ inv_half / B.kz).min())
    return {"first_stage_f_": out, "cragg_donald_f_": cragg}


def _overid(B: _Blocks, n: int, beta: np.ndarray, uu: float, meat: np.ndarray, dof: int) -> dict:
    WW, WD, Wy = B.cross("1ZX", "1ZX"), B.cross("1ZX", "1TX"), B.cross("1ZX", "y")[:, 0]
    Wu = Wy - WD @ beta
    ee = uu - Wu @ _lstsq(WW, Wu)
    su = B.cross("1", "y")[0, 0] - B.cross("1", "1TX")[0] @ beta
    sargan = n * (1 - ee / (uu - su**2 / n))
    S_inv = _inv(meat / n)
    A = WD.T @ S_inv
    b_gmm = _lstsq(A @ WD, A @ Wy)
    g = (Wy - WD @ b_gmm) / n
    j = n * float(g @ S_inv @ g)
    test = lambda x: {"statistic": float(x), "df": dof, "pvalue": float(stats.chi2.sf(x, dof))}  # noqa: E731
    return {"sargan": test(sargan), "hansen_j": test(j)}


def _tsls_frame(est: Any, frame: Any, estimand: Any, roles: dict[str, Any]):
    if estimand is not None or est.features is not None or est.instrument_features is not None:
        raise DataValidationError(
            "2SLS on the Dask engine takes roles by keyword (treatment=, outcome=, instruments=, "
            "covariates=, graph=) and the linear design (features=None, instrument_features=None)"
        )
    treatment, outcome = roles.get("treatment"), roles.get("outcome")
    if treatment is None or outcome is None:
        raise DataValidationError("TwoStageLeastSquares.fit needs treatment= and outcome=")
    tnames = [treatment] if isinstance(treatment, str) else list(treatment)
    graph = roles.get("graph")
    znames, xnames = _resolve_roles(
        tnames, outcome, roles.get("instruments"), roles.get("covariates"), graph
    )
    for names, role in ((tnames, "treatment"), ([outcome], "outcome"), (znames, "instrument")):
        check_frame_columns(frame, names, role)
    check_frame_columns(frame, xnames, "covariate")
    if graph is not None:
        _check_against_graph(graph, tnames, outcome, znames, xnames)
    return tnames, str(outcome), znames, xnames, graph


def _refuse_mean(**kwargs: Any) -> Any:
    raise EstimandNotSupportedError(
        "2SLS on the Dask engine estimates effects (effect(treatment=, control=)); mean() needs "
        "the covariate rows in memory"
    )


def fit_tsls(est: Any, frame: Any, estimand: Any, roles: dict[str, Any]) -> Any:
    """Linear 2SLS out of core: one Gram pass, and a second for robust errors and Hansen's J."""
    if isinstance(roles.get("graph"), str):
        roles = {**roles, "graph": CausalGraph(roles["graph"])}
    tnames, outcome, znames, xnames, graph = _tsls_frame(est, frame, estimand, roles)
    parts = partitions_of(frame, [*tnames, *xnames, *znames, outcome])
    res = run_pass(parts, _gram_pass, desc="2SLS Gram")
    if res["nonfinite"]:
        raise DataValidationError(
            f"the data have {res['nonfinite']} missing or infinite values; drop or impute them"
        )
    B = _Blocks(res["gram"], len(tnames), len(xnames), len(znames))
    n, k = int(B.G[0, 0]), 1 + B.kt + B.kx
    WW, WD = B.cross("1ZX", "1ZX"), B.cross("1ZX", "1TX")
    rank_w, rank_d = np.linalg.matrix_rank(WW), np.linalg.matrix_rank(B.cross("1TX", "1TX"))
    if rank_w < rank_d:
        raise DataValidationError(
            f"TwoStageLeastSquares: the structural features have rank {rank_d} but the "
            f"instruments only {rank_w}; use more instruments"
        )
    if n <= k:
        raise DataValidationError(f"{n} rows are too few for {k} regressors")
    A = _lstsq(WW, WD)  # the first-stage projection: Dhat = W A
    HH, Hy = A.T @ WW @ A, A.T @ B.cross("1ZX", "y")[:, 0]
    beta = _lstsq(HH, Hy)
    DD, Dy = B.cross("1TX", "1TX"), B.cross("1TX", "y")[:, 0]
    uu = float(B.cross("y", "y")[0, 0] - 2 * beta @ Dy + beta @ DD @ beta)
    overid = rank_w > k
    jobs = []
    if est.cov_type != "nonrobust" or overid:
        jobs.append((B.idx("1", "Z", "X"), _residual(B, "y", "1TX", beta)))
    if est.cov_type != "nonrobust":
        FF, FT = B.cross("1XZ", "1XZ"), B.cross("1XZ", "T")
        for j in range(B.kt):
            jobs.append((B.idx("1", "X", "Z"), _residual(B, "T", "1XZ", _lstsq(FF, FT[:, j]), j)))
    meats = run_pass(parts, _meat_pass, jobs, desc="2SLS errors") if jobs else {}
    meats = [meats[f"meat{i}"] for i in range(len(jobs))]
    bread = _inv(HH)
    if est.cov_type == "nonrobust":
        cov = bread * uu / (n - k)
    else:
        cov = _sandwich(bread, A.T @ meats[0] @ A, est.cov_type, n, k)
    names = ["const", *tnames, *xnames]
    est.features_, est.instrument_features_, est.add_const_ = None, None, True
    est.coef_ = pd.Series(beta, index=names, name="coef")
    est.cov_ = pd.DataFrame(cov, index=names, columns=names)
    est.std_error_ = pd.Series(np.sqrt(np.clip(np.diag(cov), 0, None)), index=names)
    est.df_resid_ = n - k
    first = _first_stage(B, n, est.cov_type, meats[1:], tnames)
    est.first_stage_f_, est.cragg_donald_f_ = first["first_stage_f_"], first["cragg_donald_f_"]
    dof = int(rank_w - k)
    est.overid_test_ = _overid(B, n, beta, uu, meats[0], dof) if overid else None
    means = B.G[0] / n  # one row of column means stands for the rows (the design is linear)
    row = lambda name: means[B.idx(name)][None, :]  # noqa: E731
    data = IVData(
        row("Z"),
        row("T"),
        means[-1:],
        row("X"),
        tuple(znames),
        tuple(tnames),
        tuple(xnames),
        outcome,
        graph,
    )
    est.data_ = _TableIVData(**{f: getattr(data, f) for f in data.__dataclass_fields__}, rows=n)
    est._mean = _refuse_mean
    est._warn_weak()
    return est


@dataclass(frozen=True)
class _TableIVData(IVData):
    """IV data summarized by one row of column means of ``rows`` rows (linear 2SLS only)."""

    rows: int = 0

    @property
    def n(self) -> int:
        """Number of rows of the Dask DataFrame."""
        return self.rows
