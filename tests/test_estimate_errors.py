"""Bad input to the back-door estimators and estimate_effect gets a clear error, never a number."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

from deepcause.estimate import AIPW, IPW, Matching, estimate_effect, plot_balance, plot_overlap
from deepcause.estimate.registry import available_methods, get_estimator_class
from deepcause.exceptions import (
    DataValidationError,
    DeepCauseWarning,
    EstimandNotSupportedError,
    InvalidParameterError,
    NotFittedError,
    UnknownNodeError,
)

matplotlib.use("Agg")

ESTIMATORS = [AIPW(n_folds=2), IPW(), Matching()]
IDS = ["aipw", "ipw", "matching"]


@pytest.fixture
def df():
    rng = np.random.default_rng(0)
    n = 300
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-x1))).astype(int)
    y = t + x1 + x2 + rng.normal(size=n)
    return pd.DataFrame({"T": t, "Y": y, "x1": x1, "x2": x2})


def fit(est, data, **kw):
    return est.fit(data, treatment="T", outcome="Y", **kw)


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_missing_column_names_it_and_suggests(est, df):
    with pytest.raises(DataValidationError, match=r"covariate 'x3' is not a column.*'x1'"):
        fit(est, df, covariates=["x1", "x3"])
    with pytest.raises(DataValidationError, match=r"outcome 'YY'.*did you mean 'Y'"):
        est.fit(df, treatment="T", outcome="YY")


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_nan_and_inf_name_columns_and_rows(est, df):
    df.loc[[1, 2], "x1"] = np.nan
    df.loc[5, "Y"] = np.inf
    with pytest.raises(DataValidationError, match=r"'Y' \(1 rows\), 'x1' \(2 rows\); 3 rows"):
        fit(est, df)


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_non_binary_treatment_shows_values(est, df):
    df["T"] = df["T"] * 2
    with pytest.raises(DataValidationError, match=r"values seen: \['0', '2'\]"):
        fit(est, df)


def test_constant_and_duplicated_columns(df):
    df["c"] = 1.0
    with pytest.raises(DataValidationError, match=r"\['c'\] are constant"):
        fit(AIPW(), df)
    df = df.drop(columns="c").assign(x1_copy=df["x1"])
    with pytest.raises(DataValidationError, match=r"\[\['x1', 'x1_copy'\]\] hold identical"):
        fit(IPW(), df)


def test_categorical_covariate_is_encoded_with_warning(df):
    df["site"] = np.where(df["x2"] > 0, "a", "b")
    with pytest.warns(DeepCauseWarning, match=r"\['site'\] were one-hot encoded"):
        est = fit(IPW(), df)
    assert "site_b" in est.data_.covariate_names


def test_too_few_units_in_a_group(df):
    df["T"] = 0
    df.loc[0, "T"] = 1
    with pytest.raises(DataValidationError, match="group 1 has 1 unit"):
        fit(AIPW(), df)


def test_too_few_units_for_folds(df):
    df["T"] = 0
    df.loc[[0, 1, 2], "T"] = 1
    with pytest.raises(ValueError, match="fewer than n_folds=5"):
        fit(AIPW(n_folds=5), df)


def test_wrong_estimand_kind_names_alternative(df):
    fake = SimpleNamespace(kind="frontdoor", treatment=("T",), outcome=("Y",))
    with pytest.raises(EstimandNotSupportedError, match="use PlugIn or FrontDoor"):
        AIPW().fit(df, fake)


def test_unsupported_quantity_and_not_fitted(df):
    with pytest.raises(NotFittedError, match="call fit"):
        AIPW().ate()
    est = fit(Matching(), df)
    with pytest.raises(EstimandNotSupportedError, match="not 'overlap'"):
        est.effect(population="overlap")


@pytest.mark.parametrize(
    "est, match",
    [
        (IPW(clip="sometimes"), "'clip' parameter of IPW must be"),
        (IPW(clip=0.7), "'clip' parameter"),
        (IPW(trim=0.9), "'trim' parameter"),
        (Matching(distance="cosine"), "'distance' parameter of Matching must be a str among"),
        (Matching(n_neighbors=0), "'n_neighbors' parameter"),
        (AIPW(n_folds=0), "'n_folds' parameter"),
        (IPW(random_state="seed"), "'random_state' parameter"),
    ],
)
def test_bad_hyper_parameters(df, est, match):
    with pytest.raises(InvalidParameterError, match=match):
        fit(est, df)


def test_caliper_with_no_match_is_an_error(df):
    est = fit(Matching(caliper=1e-12), df)
    with pytest.raises(ValueError, match="no unit found a match"):
        est.att()


def test_registry_unknown_method_suggests():
    assert "aipw" in available_methods()
    with pytest.raises(DataValidationError, match=r"did you mean 'aipw'"):
        get_estimator_class("apiw")


GRAPH = "x1 -> T; x2 -> T; x1 -> Y; x2 -> Y; T -> Y"


def test_estimate_effect_defaults_to_aipw(df):
    res = estimate_effect(df, GRAPH, "T", "Y")
    assert res.method == "AIPW"
    assert res.estimand is not None and res.estimand.kind == "backdoor"
    assert abs(res.value - 1.0) < 4 * res.std_error
    assert res.diagnostics.extra["ignored_columns"] == []


def test_estimate_effect_graph_node_missing_from_data(df):
    with pytest.raises(DataValidationError, match=r"graph node\(s\) 'x22'.*did you mean 'x2'"):
        estimate_effect(df, "x1 -> T; x22 -> T; x1 -> Y; T -> Y", "T", "Y")


def test_estimate_effect_extra_columns_ignored_or_rejected(df):
    df["noise"] = np.arange(len(df), dtype=float)
    res = estimate_effect(df, GRAPH, "T", "Y", method="ipw", population="treated")
    assert res.diagnostics.extra["ignored_columns"] == ["noise"]
    assert res.quantity == "ATT"
    with pytest.raises(DataValidationError, match=r"\['noise'\] are not in the graph"):
        estimate_effect(df, GRAPH, "T", "Y", extra_columns="error")


def test_estimate_effect_unknown_treatment(df):
    with pytest.raises(UnknownNodeError):
        estimate_effect(df, GRAPH, "Z", "Y")


def test_estimate_effect_frontdoor_default_and_quantity_error():
    rng = np.random.default_rng(1)
    n = 2000
    u = rng.normal(size=n)
    x = (u + rng.normal(size=n) > 0).astype(int)
    m = 2 * x + rng.normal(size=n)
    y = 1.5 * m + 2 * u + rng.normal(size=n)
    data = pd.DataFrame({"X": x, "M": m, "Y": y})
    graph = "X -> M -> Y; X <-> Y"
    res = estimate_effect(data, graph, "X", "Y", bootstrap=20)
    assert res.method == "FrontDoor" and abs(res.value - 3.0) < 0.3
    with pytest.raises(EstimandNotSupportedError, match="not 'treated'"):
        estimate_effect(data, graph, "X", "Y", population="treated")


def test_plots_with_agg_backend(df):
    est = fit(IPW(), df)
    ax = plot_overlap(est.ate())
    assert ax.get_xlabel() == "propensity score"
    with pytest.raises(TypeError, match="expected an EffectEstimate"):
        plot_overlap(est)  # the fitted estimator: plot one of its results
    ax = plot_balance(est.att())
    assert len(ax.get_yticklabels()) == 2
    with pytest.raises(TypeError, match="expected an EffectEstimate"):
        plot_overlap(42)
