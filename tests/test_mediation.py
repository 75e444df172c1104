"""Mediation: identification by the mediation formula and the natural-effect estimators, against
truth from nested counterfactuals computed on SCMs (the same unit noises in every world)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression

from deepcause.estimate.mediation import MediationAnalysis
from deepcause.exceptions import (
    DataValidationError,
    EstimandNotSupportedError,
    InvalidParameterError,
    NotFittedError,
    NotIdentifiableError,
    QueryError,
    UnknownNodeError,
)
from deepcause.identification import identify
from deepcause.identification.mediation import MediationEstimand, identify_mediation
from deepcause.simulate import SCM, Node

# ------------------------------------------------------------------ nested counterfactual truth


def nested_means(scm: SCM, noise: dict, mediators=("M",)) -> dict[tuple[int, int], np.ndarray]:
    """Per unit Y(x, M(x')) for x, x' in {0, 1}: M under do(X=x'), then Y under do(X=x, M=m)."""
    out = {}
    for x, xm in itertools.product((0, 1), repeat=2):
        under = scm.propagate(noise, {"X": float(xm)})
        do = {"X": float(x), **{m: under[m] for m in mediators}}
        out[(x, xm)] = scm.propagate(noise, do)["Y"]
    return out


def truth(values: dict, weights: np.ndarray | None = None) -> dict[str, float]:
    psi = {k: float(np.average(v, weights=weights)) for k, v in values.items()}
    return {
        "NDE": psi[(1, 0)] - psi[(0, 0)],
        "NIE": psi[(1, 1)] - psi[(1, 0)],
        "TE": psi[(1, 1)] - psi[(0, 0)],
        "pure NIE": psi[(0, 1)] - psi[(0, 0)],
    }


# ------------------------------------------------------------------ discrete SCMs, exact tables

GRID = (np.arange(12) + 0.5) / 12  # each noise takes 12 equally likely values


def grid_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return GRID[rng.integers(0, len(GRID), n)]


def step(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    return (u < p).astype(float)


def mediator(pa: dict, u: np.ndarray) -> np.ndarray:
    """M in {0, 1, 2} by inverse CDF; every category has probability >= 0.1 in every cell."""
    x, w, z, hid = pa["X"], pa["W"], pa["Z"], pa.get("U", 0)
    q0 = 0.55 - 0.15 * x - 0.1 * w - 0.1 * z - 0.05 * x * z - 0.05 * hid
    q1 = 0.2 + 0.1 * z
    return step(q0, u) + step(q0 + q1, u)


def discrete_scm(witness: bool = False, hidden: bool = False) -> SCM:
    """Binary W, X, Z; ternary M; numeric Y. ``witness``: X -> Z -> M, Z -> Y (Z affected by X).
    ``hidden``: a latent U -> M and U -> Y."""
    zpar = ("X",) if witness else ("W",)
    nodes = [
        Node("W", fn=lambda pa, u: step(u, 0.4)),
        Node("X", ("W",), lambda pa, u: step(u, 0.3 + 0.4 * pa["W"])),
        Node("Z", zpar, lambda pa, u: step(u, 0.25 + 0.5 * pa[zpar[0]])),
        Node("M", ("X", "W", "Z", *(("U",) if hidden else ())), mediator),
        Node(
            "Y",
            ("X", "M", "W", "Z", *(("U",) if hidden else ())),
            lambda pa, u: pa["X"] + 0.5 * pa["M"] + 0.7 * pa["X"] * pa["M"] + pa["W"]
            - 0.8 * pa["Z"] + 1.5 * pa.get("U", 0) + 2 * u,
        ),
    ]  # fmt: skip
    if hidden:
        nodes.insert(0, Node("U", fn=lambda pa, u: step(u, 0.5), latent=True))
    return SCM([replace(nd, noise=grid_noise) for nd in nodes])


def exact_worlds(scm: SCM) -> tuple[dict, np.ndarray]:
    """Every combination of the grid noises (equally likely): an exact enumeration."""
    names = list(scm.order)
    combos = np.array(list(itertools.product(range(len(GRID)), repeat=len(names))))
    noise = {n: GRID[combos[:, i]] for i, n in enumerate(names)}
    return noise, np.full(len(combos), 1.0 / len(combos))


def joint_table(scm: SCM, noise: dict, weights: np.ndarray) -> pd.DataFrame:
    frame = scm.to_frame(scm.propagate(noise)).assign(probability=weights)
    return frame.groupby(list(scm.observed), as_index=False)["probability"].sum()


@pytest.fixture(scope="module")
def discrete():
    scm = discrete_scm()
    noise, w = exact_worlds(scm)
    return scm, joint_table(scm, noise, w), truth(nested_means(scm, noise), w)


def test_discrete_mediation_formula_is_exact_on_the_probability_table(discrete):
    scm, table, true = discrete
    est = identify_mediation(scm.graph, "X", "M", "Y")
    assert est.covariates == ("W", "Z")  # W confounds X and M, Z confounds M and Y
    got = est.evaluate(table, treatment=1, control=0)
    for kind in ("NDE", "NIE", "TE"):
        assert got[kind] == pytest.approx(true[kind], abs=1e-9)
    pure = est.mean(table, 0, 1) - est.mean(table, 0, 0)
    assert pure == pytest.approx(true["pure NIE"], abs=1e-9)
    # the total effect agrees with identify()'s estimand for P(Y | do(X))
    te = identify(scm.graph, "X", "Y").evaluate(table, {"X": 1})
    te0 = identify(scm.graph, "X", "Y").evaluate(table, {"X": 0})
    mean = (te.index.to_numpy() * te.to_numpy()).sum() - (te0.index.to_numpy() * te0).sum()
    assert got["TE"] == pytest.approx(mean, abs=1e-9)
    assert abs(true["NDE"] - true["TE"]) > 0.1  # a nontrivial indirect part


def test_plugin_estimator_equals_the_formula_and_covers_the_truth(discrete):
    scm, _, true = discrete
    df = scm.sample(6000, random_state=3)
    est = identify_mediation(scm.graph, "X", "M", "Y")
    fitted = MediationAnalysis().fit(df, est)
    assert fitted.method_ == "plugin"
    on_sample = est.evaluate(df)
    results = {
        "NDE": fitted.natural_direct_effect(),
        "NIE": fitted.natural_indirect_effect(),
        "TE": fitted.effect(treatment=1, control=0),
    }
    for kind, res in results.items():
        assert res.value == pytest.approx(on_sample[kind], abs=1e-9)
        lo, hi = res.conf_int(0.01)
        assert lo < true[kind] < hi, (kind, res.value, true[kind])
    assert results["NDE"].query == "E[Y(1, M(0))] − E[Y(0, M(0))]"
    assert results["NIE"].quantity == "NIE"


def test_the_formula_is_wrong_under_a_recanting_witness_and_identify_refuses():
    scm = discrete_scm(witness=True)
    noise, w = exact_worlds(scm)
    true = truth(nested_means(scm, noise), w)
    table = joint_table(scm, noise, w)
    with pytest.raises(NotIdentifiableError, match="Z is a recanting witness") as info:
        identify_mediation(scm.graph, "X", "M", "Y")
    assert info.value.confounding == ("mediator-outcome", "M <- Z -> Y")
    assert "deepcause.bounds" in str(info.value)
    forced = MediationEstimand("X", ("M",), "Y", ("W",)).evaluate(table)
    assert abs(forced["NDE"] - true["NDE"]) > 0.01  # why the refusal matters
    # counting Z as a mediator makes the joint natural effects identified, and exact
    both = identify_mediation(scm.graph, "X", ["M", "Z"], "Y")
    true_joint = truth(nested_means(scm, noise, mediators=("M", "Z")), w)
    assert both.evaluate(table)["NDE"] == pytest.approx(true_joint["NDE"], abs=1e-9)


def test_hidden_mediator_outcome_confounding_is_refused():
    scm = discrete_scm(hidden=True)
    with pytest.raises(NotIdentifiableError, match="mediator–outcome confounding") as info:
        identify_mediation(scm.graph, "X", "M", "Y")
    assert info.value.confounding == ("mediator-outcome", "M <-> Y")


@pytest.mark.parametrize(
    ("graph", "kind", "path"),
    [
        ("X -> M -> Y; X -> Y; X <-> Y", "treatment-outcome", "X <-> Y"),
        ("X -> M -> Y; X -> Y; X <-> M", "treatment-mediator", "X <-> M"),
        ("X -> M -> Y; X -> Y; W -> X; W <-> M; W <-> Y", "mediator-outcome", "M <-> W <-> Y"),
        ("X -> M -> Y; X -> Z -> Y; Z <-> M", "mediator-outcome", "M <-> Z -> Y"),
    ],
)
def test_refusals_name_the_pair_and_the_path(graph, kind, path):
    with pytest.raises(NotIdentifiableError) as info:
        identify_mediation(graph, "X", "M", "Y")
    assert info.value.confounding == (kind, path)


@pytest.mark.parametrize(
    ("graph", "covariates"),
    [
        ("X -> M -> Y; X -> Y", ()),
        ("X -> M -> Y; X -> Y; W -> M; W <-> Y", ("W",)),  # W blocks M <- W <-> Y
        ("X -> M -> Y; X -> Y; W <-> M; W <-> Y", ()),  # W is a collider: leave it out
        ("W -> X; W -> M; W -> Y; V -> Y; X -> M -> Y; X -> Y", ("W",)),
        ("C -> M; C -> Y; C <-> X; X -> M -> Y; X -> Y", ("C",)),
        ("X -> M -> Y; M -> Z -> Y; X -> Y; Z <-> Y", ()),  # after the mediator: harmless
    ],
)
def test_identified_graphs_and_their_covariates(graph, covariates):
    assert identify_mediation(graph, "X", "M", "Y").covariates == covariates


def test_given_covariates_are_checked_not_searched():
    g = "W -> X; W -> M; W -> Y; X -> M -> Y; X -> Y"
    with pytest.raises(NotIdentifiableError, match="treatment–mediator"):
        identify_mediation(g, "X", "M", "Y", covariates=[])
    assert identify_mediation(g, "X", "M", "Y", covariates=["W"]).covariates == ("W",)


def test_printing_text_latex_and_dict():
    est = identify_mediation("W -> X; W -> M; W -> Y; X -> M -> Y; X -> Y", "X", "M", "Y")
    assert est.formula("NDE") == (
        "NDE = Σ_{M, W} [E(Y | X=x1, M, W) − E(Y | X=x0, M, W)] P(M | X=x0, W) P(W)"
    )
    assert est.formula("TE") == "TE = Σ_{W} [E(Y | X=x1, W) − E(Y | X=x0, W)] P(W)"
    assert "\\sum_{M, W}" in est.to_latex() and est._repr_latex_().startswith("$$")
    assert est.to_dict()["covariates"] == ["W"] and est.kind == "mediation"
    with pytest.raises(QueryError, match="kind must be"):
        est.formula("ATE")


# ------------------------------------------------------------------ continuous SCMs


def linear_scm() -> SCM:
    return SCM([
        Node("W"),
        Node("X", ("W",), lambda pa, u: (0.8 * pa["W"] + u > 0) * 1.0),
        Node("M", ("X", "W"), lambda pa, u: 1.0 * pa["X"] + 0.5 * pa["W"] + u),
        Node("Y", ("X", "M", "W"), lambda pa, u: 0.7 * pa["X"] + 1.2 * pa["M"] + pa["W"] + u),
    ])  # fmt: skip


def nonlinear_scm() -> SCM:
    return SCM([
        Node("W"),
        Node("X", ("W",), lambda pa, u: (np.sin(pa["W"]) + u > 0) * 1.0),
        Node("M", ("X", "W"), lambda pa, u: pa["X"] * (1 + 0.5 * pa["W"]) + np.cos(pa["W"]) + u),
        Node("Y", ("X", "M", "W"), lambda pa, u: pa["X"] + 0.8 * pa["M"] + 0.5 * pa["X"] * pa["M"]
             + np.tanh(pa["M"]) + 0.5 * pa["W"] ** 2 + 0.5 * u),
    ])  # fmt: skip


def mc_truth(scm: SCM, n: int = 400_000) -> dict[str, float]:
    return truth(nested_means(scm, scm.sample_noise(n, random_state=12345)))


HGB = HistGradientBoostingRegressor(max_iter=80, learning_rate=0.1, max_depth=3)


@pytest.mark.parametrize(
    ("make", "params", "n", "atol"),
    [
        (linear_scm, {"outcome_model": LinearRegression(), "n_folds": 2}, 3000, 0.15),
        (
            nonlinear_scm,
            {
                "outcome_model": HGB,
                "propensity_model": HistGradientBoostingClassifier(max_iter=60, max_depth=3),
                "n_folds": 3,
            },
            4000,
            0.2,
        ),
    ],
    ids=["linear", "nonlinear"],
)
def test_dr_estimator_covers_the_truth(make, params, n, atol):
    scm = make()
    true = mc_truth(scm)
    df = scm.sample(n, random_state=7)
    est = identify_mediation(scm.graph, "X", "M", "Y")
    params = {k: clone(v) if hasattr(v, "fit") else v for k, v in params.items()}
    fitted = MediationAnalysis(**params, random_state=0).fit(df, est)
    assert fitted.method_ == "dr"
    for kind, res in (
        ("NDE", fitted.natural_direct_effect()),
        ("NIE", fitted.natural_indirect_effect()),
        ("TE", fitted.ate()),
    ):
        lo, hi = res.conf_int(0.05)
        assert lo < true[kind] < hi, (kind, res.value, res.std_error, true[kind])
        assert abs(res.value - true[kind]) < atol
        assert 0 < res.std_error < 0.2


def test_linear_truth_is_the_product_of_paths():
    true = mc_truth(linear_scm(), 50_000)
    assert true["NDE"] == pytest.approx(0.7, abs=1e-9)
    assert true["NIE"] == pytest.approx(1.2, abs=1e-9)


def test_dr_with_misspecified_outcome_model_stays_close():
    """Multiply robust: a linear outcome model on the nonlinear SCM, flexible propensities."""
    scm = nonlinear_scm()
    true = mc_truth(scm, 200_000)
    df = scm.sample(4000, random_state=8)
    fitted = MediationAnalysis(
        outcome_model=LinearRegression(),
        propensity_model=HistGradientBoostingClassifier(max_iter=60, max_depth=3),
        n_folds=3,
    ).fit(df, treatment="X", mediators="M", outcome="Y", covariates=["W"])
    nde = fitted.natural_direct_effect()
    assert abs(nde.value - true["NDE"]) < 4 * nde.std_error


# ------------------------------------------------------------------ contract and errors


@pytest.fixture(scope="module")
def small():
    return linear_scm().sample(400, random_state=0)


def test_contract_fit_returns_self_is_deterministic_and_clones(small):
    est = MediationAnalysis(outcome_model=LinearRegression(), n_folds=2, random_state=0)
    roles = dict(treatment="X", mediators=["M"], outcome="Y", covariates=["W"])
    assert est.fit(small, **roles) is est
    again = clone(est).fit(small, **roles)
    assert est.natural_direct_effect().value == again.natural_direct_effect().value
    with pytest.raises(NotFittedError):
        clone(est).natural_direct_effect()
    assert est.mean(treatment=1).query == "E[Y | do(X=1)]"
    assert est.nested_mean(treatment=1, mediator_treatment=0).query == "E[Y(1, M(0))]"
    boot = est.bootstrap(n_boot=5, random_state=0, verbose=False)
    assert boot.bootstrap.shape == (5,)


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        (None, {"mediators": None}, DataValidationError, "mediators="),
        (None, {"mediators": ["Q"]}, DataValidationError, "Q"),
        (None, {"covariates": ["M"]}, DataValidationError, "distinct"),
        ("three", {}, DataValidationError, "exactly two values"),
        ("nan", {}, DataValidationError, "NaN|missing|finite"),
        ("text", {}, DataValidationError, "numeric"),
    ],
)
def test_bad_input_is_refused(small, change, kwargs, error, match):
    df = small.copy()
    if change == "three":
        df.loc[:2, "X"] = 2.0
    elif change == "nan":
        df.loc[3, "Y"] = np.nan
    elif change == "text":
        df["Y"] = df["Y"].astype(str)
    roles = {"treatment": "X", "mediators": ["M"], "outcome": "Y", "covariates": ["W"], **kwargs}
    with pytest.raises(error, match=match):
        MediationAnalysis(outcome_model=LinearRegression(), n_folds=2).fit(df, **roles)


def test_bad_queries_and_parameters(small):
    est = MediationAnalysis(outcome_model=LinearRegression(), n_folds=2)
    with pytest.raises(InvalidParameterError, match="n_folds"):
        MediationAnalysis(n_folds=0).fit(small, treatment="X", mediators="M", outcome="Y")
    with pytest.raises(EstimandNotSupportedError, match="identify_mediation"):
        est.fit(small, identify("W -> X -> Y; W -> Y", "X", "Y"))
    est.fit(small, treatment="X", mediators="M", outcome="Y", covariates=["W"])
    with pytest.raises(DataValidationError, match=r"values are \[0.0, 1.0\]"):
        est.natural_direct_effect(treatment=2)
    with pytest.raises(EstimandNotSupportedError, match="X= is not supported"):
        est.effect(X=small)
    with pytest.raises(TypeError):
        est.natural_direct_effect(1, 0)  # keyword-only


def test_plugin_positivity_violation_is_named():
    df = pd.DataFrame({"X": [0, 0, 1, 1] * 20, "M": [0, 1, 0, 0] * 20, "Y": np.arange(80.0)})
    est = MediationAnalysis().fit(df, treatment="X", mediators="M", outcome="Y", covariates=[])
    with pytest.raises(DataValidationError, match="positivity violation"):
        est.natural_indirect_effect()
    with pytest.raises(DataValidationError, match="positivity violation"):
        MediationEstimand("X", ("M",), "Y").evaluate(df)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("X -> M -> Y", "X", "Q", "Y"), UnknownNodeError, "mediator 'Q'"),
        (("X -> M -> Y; X -> Z", "X", "Z", "Y"), QueryError, "not a mediator"),
        (("X -> M -> Y", "X", "M", "X"), QueryError, "distinct"),
        (("X -> M -> Y", ["X"], "M", "Y"), QueryError, "one node name"),
    ],
)
def test_identify_mediation_rejects_bad_queries(args, error, match):
    with pytest.raises(error, match=match):
        identify_mediation(*args)


def test_covariates_affected_by_treatment_are_rejected():
    with pytest.raises(QueryError, match="descendants of the treatment"):
        identify_mediation("X -> M -> Y; X -> Z -> Y", "X", "M", "Y", covariates=["Z"])


def test_twin_network_links_the_worlds_through_shared_errors():
    """Cross-world check: Y(x, m) and M(x') share Z's error under a recanting witness, not when
    the only descendant of X besides M comes after the mediator."""
    from deepcause.identification.mediation import _check_query, _twin

    witness = _twin(_check_query("X -> Z -> M -> Y; Z -> Y; X -> M; X -> Y", "X", "M", "Y"))
    path = witness.connecting_path("Y[a]", "M[b]")
    assert path == '"Y[a]" <- "Z[a]" <-> "Z[b]" -> "M[b]"'
    after = _twin(_check_query("X -> M -> Z -> Y; X -> Y; Z <-> Y", "X", "M", "Y"))
    assert after.connecting_path("Y[a]", "M[b]") is None
    assert "M[a]" not in after and "X" not in after  # fixed by the intervention
