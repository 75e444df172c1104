"""Stable learning under selection bias: the simulation of Kuang et al. (2018, 2020) and
Shen et al. (2020), with OLS, Lasso, the oracle and each reweighting method.

Train at bias rate r = 2.5 (n = 2000); test on 10 environments r in
{-3, -2, -1.7, -1.5, -1.3, 1.3, 1.5, 1.7, 2, 3} with 2000 rows each. Reported per method (means
over seeds): average RMSE over the environments (true root mean squared error, not MSE),
stability error (std of the RMSE over the environments), ||beta_S_hat - beta_S||_1, seed-to-seed
sd and worst seed of the average RMSE, effective sample size of the weights, seconds per fit
(wall clock), CPU seconds per fit (process time; the machine may be shared) and the number of
seeds whose fit warned that the reweighting cannot help (``StableLearningWarning``).

Run: ``python benchmarks/bench_stable.py [--seeds 10] [--settings poly:10,poly:20,linear:10,exp:10]``

``wide:100`` (p = 100, the scale check of issue 12): the simulator's rejection sampling cannot
draw p >= 40 in reasonable time, so the p = 20 "poly" design is widened with p - 20 unstable
columns ``0.7 S_{1..10} M + 0.7 noise`` (M a fixed random 10 x (p - 20) mixing); their relation
to S is the same in every environment, the selection bias acts through the original V_b.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.linear_model import LassoCV, LinearRegression

from deepcause.simulate import TEST_RATES, make_covariate_shift
from deepcause.stable import (
    DeepGlobalBalancingWeights,
    DWRWeights,
    GlobalBalancingWeights,
    NonlinearDecorrelationWeights,
    SRDOWeights,
    StableLearningWarning,
    StableRegressor,
)


class _Oracle:
    """OLS on the stable variables only (not available in practice)."""

    def __init__(self, stable: np.ndarray) -> None:
        self.stable = stable

    def fit(self, X, y):
        self.m = LinearRegression().fit(X[:, self.stable], y)
        self.coef_ = np.zeros(X.shape[1])
        self.coef_[self.stable] = self.m.coef_
        return self

    def predict(self, X):
        return self.m.predict(X[:, self.stable])


METHODS = {
    "OLS": lambda info: LinearRegression(),
    "Lasso (CV)": lambda info: LassoCV(cv=5, random_state=0),
    "DWR": lambda info: StableRegressor(random_state=0, weighting=DWRWeights()),
    "GBR": lambda info: StableRegressor(random_state=0, weighting=GlobalBalancingWeights()),
    "DGBR (autoencoder global balancing)": lambda info: StableRegressor(
        random_state=0, weighting=DeepGlobalBalancingWeights()
    ),
    "SRDO": lambda info: StableRegressor(random_state=0, weighting=SRDOWeights(random_state=0)),
    "ours: nonlinear decorrelation": lambda info: StableRegressor(
        random_state=0, weighting=NonlinearDecorrelationWeights(random_state=0)
    ),
    "ours + do-no-harm test": lambda info: StableRegressor(
        random_state=0, weighting=NonlinearDecorrelationWeights(random_state=0), do_no_harm=True
    ),
    "ours: stable variable selection + OLS refit": lambda info: StableRegressor(
        random_state=0, select_variables=True
    ),
    "oracle: OLS on S only": lambda info: _Oracle(info["stable"]),
}


def _shift(n: int, p: int, r: float, kind: str, seed: int):
    """``make_covariate_shift`` as arrays: covariates X, outcome y and the truth."""
    ds = make_covariate_shift(n, p=p, r=r, kind=kind, random_state=seed)
    return ds.data[list(ds.covariates)].to_numpy(), ds.data[ds.outcome].to_numpy(), ds.truth


def _draw(kind: str, p: int, r: float, seed: int):
    """One training or test sample; ``wide`` widens the p = 20 design with correlated noise
    columns (the rejection sampler of the covariate-shift design cannot reach p >= 40)."""
    if kind != "wide":
        return _shift(2000, p, r, kind, seed)
    X, y, info = _shift(2000, 20, r, "poly", seed)
    mix = np.random.default_rng(1).normal(size=(10, p - 20)) / np.sqrt(10)
    noise = np.random.default_rng(seed + 1).normal(size=(len(y), p - 20))
    extra = 0.7 * X[:, :10] @ mix + 0.7 * noise
    info = dict(info, stable=np.r_[info["stable"], np.zeros(p - 20, dtype=bool)])
    return np.hstack([X, extra]), y, info


def run_setting(kind: str, p: int, seeds: int, methods: list[str]) -> dict[str, np.ndarray]:
    out: dict[str, list[tuple[float, ...]]] = {m: [] for m in methods}
    for seed in range(seeds):
        X, y, info = _draw(kind, p, 2.5, seed)
        tests = [_draw(kind, p, r, 10_000 * (seed + 1) + k) for k, r in enumerate(TEST_RATES)]
        for name in methods:
            model = METHODS[name](info)
            t0, c0 = time.perf_counter(), time.process_time()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(X, y)
            warned = any(issubclass(c.category, StableLearningWarning) for c in caught)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            rmse = [np.sqrt(np.mean((model.predict(Xt) - yt) ** 2)) for Xt, yt, _ in tests]
            beta_err = float(np.abs(model.coef_[info["stable"]] - info["beta_s"]).sum())
            ess = getattr(model, "effective_sample_size_", float(len(y)))
            out[name].append((np.mean(rmse), np.std(rmse), beta_err, ess, dt, dc, warned))
    return {k: np.array(v) for k, v in out.items()}


def table(kind: str, p: int, seeds: int, methods: list[str]) -> str:
    res = run_setting(kind, p, seeds, methods)
    lines = [
        f"### f(S) = {'S beta_S + S1 S2 S3' if kind in ('poly', 'wide') else 'S beta_S + exp(S1 S2 S3)' if kind == 'exp' else 'S beta_S (linear)'}, p = {p}, {seeds} seeds",
        "",
        "| method | avg RMSE | stability error | beta_S L1 error | seed sd | worst seed | ESS "
        "| seconds | CPU s | warned |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, a in res.items():
        lines.append(
            f"| {name} | {a[:, 0].mean():.3f} | {a[:, 1].mean():.3f} | {a[:, 2].mean():.3f} | "
            f"{a[:, 0].std(ddof=1) if len(a) > 1 else 0.0:.3f} | {a[:, 0].max():.3f} | "
            f"{a[:, 3].mean():.0f} | {a[:, 4].mean():.2f} | {a[:, 5].mean():.2f} | "
            f"{int(a[:, 6].sum())}/{len(a)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--settings", default="poly:10,poly:20,linear:10,exp:10")
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # DGBR needs torch; the other rows do not
        pass
    methods = [m for m in METHODS if m in args.methods.split(",")]
    print("## Stable learning under selection bias (train r = 2.5, n = 2000)\n")
    for setting in args.settings.split(","):
        kind, p = setting.split(":")
        print(table(kind, int(p), args.seeds, methods), "\n", flush=True)


if __name__ == "__main__":
    main()
