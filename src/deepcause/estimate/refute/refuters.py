"""Refuters: change the data in a way whose effect on the estimate is known, refit, compare.

Each refuter takes an estimator (fitted or not; a clone is refitted), the data and the roles
(``treatment=``, ``outcome=``, ``covariates=``) and returns a
:class:`~deepcause.estimate.refute.RefutationResult` that says what passing means, the original
and the new estimates and the verdict with its rule:

=============================  ==============================================  ============
refuter                        what it does                                    passes when
=============================  ==============================================  ============
``placebo_treatment``          permutes the treatment column                   new ≈ 0
``random_common_cause``        adds an independent N(0, 1) covariate           new ≈ original
``data_subsets``               refits on random subsets (80% by default)       new ≈ original
``bootstrap_refuter``          refits on bootstrap resamples                   new ≈ original
``dummy_outcome``              replaces the outcome by noise or by a function  new ≈ 0
                               of the covariates
``negative_control_outcome``   estimates the effect on a variable the          new ≈ 0
                               treatment cannot affect
``negative_control_exposure``  estimates the effect of a variable that cannot  new ≈ 0
                               affect the outcome
=============================  ==============================================  ============

Placebo, random common cause, subsets, bootstrap and dummy outcome check the estimator and its
use of the data; only the negative controls can detect confounding that the covariates miss.

>>> from deepcause.estimate import IPW
>>> from deepcause.simulate import make_confounded_binary
>>> df = make_confounded_binary(800, n_covariates=3, random_state=0, population_truth=False).data
>>> res = placebo_treatment(IPW(), df, treatment="t", outcome="y",
...                         covariates=["x1", "x2", "x3"], n_simulations=5, random_state=0)
>>> res.passed, abs(res.new_value) < 0.3
(True, True)
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..._validation import require_columns, require_dataframe
from ...exceptions import DataValidationError, DeepCauseError, DeepCauseWarning
from ...results import POPULATIONS, EffectEstimate
from .results import RefutationResult

__all__ = [
    "placebo_treatment",
    "random_common_cause",
    "data_subsets",
    "bootstrap_refuter",
    "fit_effect",
]

_RANDOM_COLUMN = "_random_common_cause"


def fit_effect(
    estimator: Any,
    data: pd.DataFrame,
    *,
    contrast: tuple[Any, Any] = (1, 0),
    population: str = "all",
    **roles: Any,
) -> EffectEstimate:
    """Refit a clone of ``estimator`` on ``data`` with ``roles`` and return its effect.

    Works with the estimator contract (``effect(treatment=, control=, population=)``) and
    with the earlier back-door API (``effect(quantity)``).

    Examples
    --------
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(500, n_covariates=2, random_state=0,
    ...                             population_truth=False).data
    >>> e = fit_effect(IPW(), df, treatment="t", outcome="y", covariates=["x1", "x2"])
    >>> e.method.startswith("IPW"), abs(e.value - 2) < 0.5
    (True, True)
    """
    if not hasattr(estimator, "fit"):
        raise DataValidationError(
            f"estimator must be an effect estimator with fit(), got {type(estimator).__name__}; "
            "pass e.g. deepcause.estimate.AIPW()"
        )
    est = clone(estimator).fit(data, **{k: v for k, v in roles.items() if v is not None})
    params = inspect.signature(est.effect).parameters
    if "population" in params:
        return est.effect(treatment=contrast[0], control=contrast[1], population=population)
    if "quantity" in params:  # the earlier back-door API
        return est.effect(POPULATIONS[population])
    return est.effect(treatment=contrast[0], control=contrast[1])


def _check_roles(data: Any, treatment: Any, outcome: Any, covariates: Any) -> pd.DataFrame:
    df = require_dataframe(data)
    if treatment is None or outcome is None:
        raise DataValidationError("a refuter needs treatment= and outcome= column names")
    require_columns(df, [treatment], role="treatment")
    require_columns(df, [outcome], role="outcome")
    require_columns(df, list(covariates or []), role="covariate")
    return df


def _check_int(name: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise DataValidationError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    return int(value)


def _simulate(
    estimator: Any,
    make: Callable[[np.random.Generator], tuple[pd.DataFrame, dict[str, Any]]],
    n_simulations: int,
    rng: np.random.Generator,
    ask: dict[str, Any],
    name: str,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Refit on ``n_simulations`` modified data sets; failed refits count, not crash."""
    values = np.full(n_simulations, np.nan)
    errors = np.full(n_simulations, np.nan)
    with warnings.catch_warnings():  # the original fit already showed its warnings
        warnings.simplefilter("ignore", DeepCauseWarning)
        for i in range(n_simulations):
            frame, roles = make(rng)
            try:
                res = fit_effect(estimator, frame, **ask, **roles)
            except (DeepCauseError, np.linalg.LinAlgError):
                if n_simulations == 1:  # one fit (a negative control): its error is the news
                    raise
                continue
            values[i] = res.value
            errors[i] = np.nan if res.std_error is None else res.std_error
    failures = int(np.isnan(values).sum())
    if failures > 0.1 * n_simulations:
        raise DataValidationError(
            f"{name}: {failures} of {n_simulations} refits failed; the data are too small or "
            "too unbalanced for this refuter"
        )
    return values, errors, failures


@dataclasses.dataclass(frozen=True)
class _Job:
    """What every refuter shares: the estimator, the checked data, its roles and settings."""

    estimator: Any
    df: pd.DataFrame
    base: dict[str, Any]
    n_simulations: int
    random_state: Any
    alpha: float
    contrast: tuple[Any, Any]
    population: str

    def run(
        self,
        name: str,
        expectation: str,
        make: Callable[[np.random.Generator], tuple[pd.DataFrame, dict[str, Any]]],
        *,
        zero: bool,
        notes: Sequence[str] = (),
    ) -> RefutationResult:
        """Fit the original, refit on the data ``make`` draws and compare.

        ``zero``: the expected new effect is 0 (judged on the standardized scale); otherwise
        it is the original estimate (judged against the spread of the refits).
        """
        n_simulations = _check_int("n_simulations", self.n_simulations, 1)
        ask = dict(contrast=self.contrast, population=self.population)
        original = fit_effect(self.estimator, self.df, **ask, **self.base)
        rng = np.random.default_rng(self.random_state)
        values, errors, failures = _simulate(self.estimator, make, n_simulations, rng, ask, name)
        facts = [f"{n_simulations} simulation(s); {failures} refit(s) failed", *notes]
        return RefutationResult(
            refuter=name,
            original=original,
            estimates=values,
            reference=0.0 if zero else original.value,
            expectation=expectation,
            std_errors=errors,
            scale="standardized" if zero else "spread",
            alpha=self.alpha,
            notes=tuple(facts),
        )


def _setup(
    data: Any, treatment: Any, outcome: Any, covariates: Any, roles: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The checked data and the roles to fit with."""
    df = _check_roles(data, treatment, outcome, covariates)
    return df, dict(treatment=treatment, outcome=outcome, covariates=covariates, **roles)


def placebo_treatment(
    estimator: Any,
    data: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] | None = None,
    n_simulations: int = 20,
    alpha: float = 0.05,
    random_state: Any = None,
    contrast: tuple[Any, Any] = (1, 0),
    population: str = "all",
    **roles: Any,
) -> RefutationResult:
    """Replace the treatment by a random permutation of itself: the effect should vanish.

    A permuted treatment is independent of the covariates and of the outcome, so every sound
    estimator gives 0 up to noise. Passing: each placebo effect within its own standard error of 0
    (see :attr:`RefutationResult.rule`).

    Parameters
    ----------
    estimator : effect estimator
        Any estimator with ``fit(data, treatment=, outcome=, covariates=, ...)``; a clone is
        refitted each time.
    data : DataFrame
        The data.
    treatment, outcome : str
        Column names.
    covariates : list of str, optional
        Adjustment covariates.
    n_simulations : int, default 20
        Number of permutations.
    alpha : float, default 0.05
        Level of the check.
    random_state : int, Generator or None
        Seed.
    contrast : (treatment value, control value), default (1, 0)
        The contrast asked of the estimator.
    population : str, default "all"
        ``"all"`` (ATE), ``"treated"``, ``"controls"``, ``"overlap"``.
    **roles
        Further roles passed to ``fit`` (e.g. ``instruments=``).

    Returns
    -------
    RefutationResult

    Examples
    --------
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(600, n_covariates=2, random_state=1,
    ...                             population_truth=False).data
    >>> placebo_treatment(IPW(), df, treatment="t", outcome="y", covariates=["x1", "x2"],
    ...                   n_simulations=4, random_state=0).passed
    True
    """
    df, base = _setup(data, treatment, outcome, covariates, roles)
    job = _Job(estimator, df, base, n_simulations, random_state, alpha, contrast, population)
    column = df[treatment].to_numpy()

    def make(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
        return df.assign(**{treatment: rng.permutation(column)}), base

    expectation = f"the effect of a randomly permuted {treatment!r} is 0"
    return job.run("placebo treatment", expectation, make, zero=True)


def random_common_cause(
    estimator: Any,
    data: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] | None = None,
    n_simulations: int = 10,
    alpha: float = 0.05,
    random_state: Any = None,
    contrast: tuple[Any, Any] = (1, 0),
    population: str = "all",
    **roles: Any,
) -> RefutationResult:
    """Add an independent standard-normal covariate: the estimate should not move.

    A random variable is no confounder, so adjusting for it changes nothing but noise.
    Passing: the original lies inside the refits' prediction interval
    (:attr:`RefutationResult.rule`). Parameters as in :func:`placebo_treatment`.

    Returns
    -------
    RefutationResult

    Examples
    --------
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(600, n_covariates=2, random_state=1,
    ...                             population_truth=False).data
    >>> random_common_cause(IPW(), df, treatment="t", outcome="y", covariates=["x1", "x2"],
    ...                     n_simulations=3, random_state=0).passed
    True
    """
    df, base = _setup(data, treatment, outcome, covariates, roles)
    if _RANDOM_COLUMN in df.columns:
        raise DataValidationError(f"the data already have a column {_RANDOM_COLUMN!r}; rename it")
    job = _Job(estimator, df, base, n_simulations, random_state, alpha, contrast, population)
    extended = {**base, "covariates": [*(covariates or []), _RANDOM_COLUMN]}

    def make(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
        return df.assign(**{_RANDOM_COLUMN: rng.standard_normal(len(df))}), extended

    expectation = "adding an independent random covariate leaves the estimate unchanged"
    return job.run("random common cause", expectation, make, zero=False)


def _resampler(
    df: pd.DataFrame, base: dict[str, Any], size: int, replace: bool, noise: float
) -> Callable[[np.random.Generator], tuple[pd.DataFrame, dict[str, Any]]]:
    covs = list(base.get("covariates") or [])
    numeric = [c for c in covs if pd.api.types.is_float_dtype(df[c])]
    sd = df[numeric].std().to_numpy() if numeric else np.empty(0)

    def make(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
        frame = df.iloc[rng.choice(len(df), size, replace=replace)].reset_index(drop=True)
        if noise > 0 and numeric:
            jitter = rng.standard_normal((size, len(numeric))) * (noise * sd)
            frame[numeric] = frame[numeric].to_numpy() + jitter
        return frame, base

    return make


def data_subsets(
    estimator: Any,
    data: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] | None = None,
    subset_fraction: float = 0.8,
    n_simulations: int = 10,
    alpha: float = 0.05,
    random_state: Any = None,
    contrast: tuple[Any, Any] = (1, 0),
    population: str = "all",
    **roles: Any,
) -> RefutationResult:
    """Refit on random subsets of the rows (without replacement): the estimate should hold.

    Passing: the original lies in the refits' prediction interval
    (:attr:`RefutationResult.rule`). ``subset_fraction`` (default 0.8) is
    the share of rows kept; other parameters as in :func:`placebo_treatment`.

    Returns
    -------
    RefutationResult

    Examples
    --------
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(600, n_covariates=2, random_state=1,
    ...                             population_truth=False).data
    >>> data_subsets(IPW(), df, treatment="t", outcome="y", covariates=["x1", "x2"],
    ...              n_simulations=4, random_state=0).passed
    True
    """
    df, base = _setup(data, treatment, outcome, covariates, roles)
    if not 0 < subset_fraction < 1:
        raise DataValidationError(f"subset_fraction must be in (0, 1), got {subset_fraction!r}")
    job = _Job(estimator, df, base, n_simulations, random_state, alpha, contrast, population)
    size = max(2, int(round(subset_fraction * len(df))))
    make = _resampler(df, base, size, replace=False, noise=0.0)
    expectation = f"refits on random {subset_fraction:.0%} subsets agree with the original estimate"
    notes = (f"subsets of {size} of {len(df)} rows",)
    return job.run("data subsets", expectation, make, zero=False, notes=notes)


def bootstrap_refuter(
    estimator: Any,
    data: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] | None = None,
    covariate_noise: float = 0.0,
    n_simulations: int = 20,
    alpha: float = 0.05,
    random_state: Any = None,
    contrast: tuple[Any, Any] = (1, 0),
    population: str = "all",
    **roles: Any,
) -> RefutationResult:
    """Refit on bootstrap resamples, optionally with noise added to the covariates.

    ``covariate_noise`` adds Gaussian noise with that share of each float covariate's standard
    deviation (a check against small measurement error). Passing: the original lies inside
    the refits' prediction interval (:attr:`RefutationResult.rule`); the note compares the bootstrap standard
    deviation with the estimate's own standard error. Other parameters as in
    :func:`placebo_treatment`.

    Returns
    -------
    RefutationResult

    Examples
    --------
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(600, n_covariates=2, random_state=1,
    ...                             population_truth=False).data
    >>> bootstrap_refuter(IPW(), df, treatment="t", outcome="y", covariates=["x1", "x2"],
    ...                   n_simulations=5, random_state=0).passed
    True
    """
    df, base = _setup(data, treatment, outcome, covariates, roles)
    if not np.isfinite(covariate_noise) or covariate_noise < 0:
        raise DataValidationError(f"covariate_noise must be >= 0, got {covariate_noise!r}")
    job = _Job(estimator, df, base, n_simulations, random_state, alpha, contrast, population)
    make = _resampler(df, base, len(df), replace=True, noise=float(covariate_noise))
    expectation = (
        "refits on bootstrap resamples"
        + (f" with {covariate_noise:g} sd of covariate noise" if covariate_noise else "")
        + " agree with the original estimate"
    )
    res = job.run("bootstrap", expectation, make, zero=False)
    sd = float(np.nanstd(res.estimates, ddof=1)) if res.estimates.size > 1 else np.nan
    if res.original.std_error and np.isfinite(sd):
        note = f"bootstrap sd {sd:.4g} vs reported standard error {res.original.std_error:.4g}"
        return _with_note(res, note)
    return res


def _with_note(res: RefutationResult, note: str) -> RefutationResult:
    return dataclasses.replace(res, notes=(*res.notes, note))
