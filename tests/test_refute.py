"""Refutation and sensitivity analysis against answers known from simulators and papers."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from deepcause.cli import main
from deepcause.cli.refute import EXIT_REFUTED
from deepcause.estimate import IPW
from deepcause.estimate._contract import EffectEstimator
from deepcause.estimate.refute import (
    REFUTERS,
    data_subsets,
    negative_control_exposure,
    negative_control_outcome,
    refute,
    sensitivity,
)
from deepcause.estimate.refute.ovb import ovb_sensitivity
from deepcause.estimate.refute.results import RefutationResult
from deepcause.estimate.refute.sensitivity import evalue, rosenbaum_bounds
from deepcause.exceptions import DataValidationError
from deepcause.results import EffectEstimate
from deepcause.simulate import SCM, Node, gaussian, uniform

COVS = ["x1", "x2"]


def design(u_strength: float, effect: float = 1.0, u_outcome: float | None = None) -> SCM:
    """x1, x2 observed, u an unobserved confounder of t, y and of the two negative controls
    (nco: an outcome t cannot affect; nce: a binary exposure that cannot affect y)."""
    s = u_strength
    s_y = 1.5 * s if u_outcome is None else u_outcome
    return SCM(
        [
            Node("x1"),
            Node("x2"),
            Node("u", latent=True),
            Node(
                "t",
                ("x1", "x2", "u"),
                lambda p, e: e < expit(0.8 * p["x1"] - 0.5 * p["x2"] + s * p["u"]),
                uniform(0.0, 1.0),
                discrete=True,
            ),
            Node(
                "y",
                ("t", "x1", "x2", "u"),
                lambda p, e: effect * p["t"] + p["x1"] + 0.5 * p["x2"] + s_y * p["u"] + e,
                gaussian(),
            ),
            Node("nco", ("x1", "u"), lambda p, e: 0.7 * p["x1"] + s * p["u"] + e, gaussian()),
            Node(
                "nce",
                ("x1", "u"),
                lambda p, e: e < expit(0.5 * p["x1"] + s * p["u"]),
                uniform(0.0, 1.0),
                discrete=True,
            ),
        ]
    )


@pytest.fixture(scope="module")
def valid() -> pd.DataFrame:
    return design(0.0).sample(1500, random_state=11)


@pytest.fixture(scope="module")
def confounded() -> pd.DataFrame:
    return design(1.0).sample(1500, random_state=13, include_latent=True)


# ----------------------------------------------------------------------------- a tiny estimator
@dataclass(frozen=True)
class _Rows:
    X: np.ndarray
    t: np.ndarray
    y: np.ndarray

    @property
    def n(self) -> int:
        return len(self.t)

    def take(self, index: np.ndarray) -> _Rows:
        return _Rows(self.X[index], self.t[index], self.y[index])


class _OLSAdjustment(EffectEstimator):
    """Regression adjustment y ~ 1 + t + X on the estimator contract (tests only)."""

    def _prepare(self, data, estimand, *, treatment, outcome, covariates=()):
        self.names_ = (outcome, treatment)
        X = data[list(covariates)].to_numpy(float)
        return _Rows(X, data[treatment].to_numpy(float), data[outcome].to_numpy(float))

    def _fit_prepared(self, data):
        Z = np.column_stack([np.ones(data.n), data.t, data.X])
        coef, *_ = np.linalg.lstsq(Z, data.y, rcond=None)
        resid = data.y - Z @ coef
        cov = resid @ resid / (data.n - Z.shape[1]) * np.linalg.inv(Z.T @ Z)
        self.coef_, self.se_ = coef[1], float(np.sqrt(cov[1, 1]))

    def _effect(self, *, treatment, control, population, X):
        scale = treatment - control
        return EffectEstimate(
            self.coef_ * scale, self.se_ * abs(scale), method="OLS", n=self.data_.n
        )

    def _query_names(self):
        return self.names_


class _IgnoresCovariates(_OLSAdjustment):
    """A broken estimator: takes covariates= but never uses them."""

    def _fit_prepared(self, data):
        super()._fit_prepared(_Rows(data.X[:, :0], data.t, data.y))


ESTIMATORS = [pytest.param(IPW(), id="IPW"), pytest.param(_OLSAdjustment(), id="contract-OLS")]


# ----------------------------------------------------------------------------- refuters
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_valid_design_passes_every_refuter(estimator, valid):
    results = refute(
        estimator,
        valid,
        [m for m in REFUTERS if m != "negative_control_exposure"],
        treatment="t",
        outcome="y",
        covariates=COVS,
        n_simulations=8,
        random_state=0,
        negative_control="nco",
    )
    results.append(
        refute(
            estimator,
            valid,
            "negative_control_exposure",
            treatment="t",
            outcome="y",
            covariates=COVS,
            negative_control="nce",
        )
    )
    verdicts = {r.refuter: r.passed for r in results}
    assert all(verdicts.values()), verdicts
    by_name = {r.refuter: r for r in results}
    assert abs(by_name["placebo treatment"].new_value) < 0.15
    assert abs(by_name["dummy outcome (covariates)"].new_value) < 0.15
    assert abs(by_name["data subsets"].new_value - by_name["data subsets"].original.value) < 0.1


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_omitted_confounder_fails_the_negative_controls(estimator, confounded):
    roles = dict(treatment="t", outcome="y", covariates=COVS)
    nco = negative_control_outcome(estimator, confounded, negative_control="nco", **roles)
    nce = negative_control_exposure(estimator, confounded, negative_control="nce", **roles)
    assert not nco.passed and not nce.passed
    # adjusting for the (here visible) confounder repairs both
    full = dict(roles, covariates=[*COVS, "u"])
    assert negative_control_outcome(estimator, confounded, negative_control="nco", **full).passed
    assert negative_control_exposure(estimator, confounded, negative_control="nce", **full).passed


def test_a_broken_estimator_fails_placebo_and_dummy_outcome(valid):
    """An 'estimator' that ignores the covariates is caught by the dummy outcome made of them."""
    naive = _IgnoresCovariates()
    roles = dict(treatment="t", outcome="y", covariates=COVS, n_simulations=8, random_state=0)
    dummy = refute(naive, valid, "dummy_outcome", **roles)
    assert not dummy.passed
    assert refute(naive, valid, "placebo_treatment", **roles).passed  # permutation breaks it all


def test_refutation_result_summary_and_dict(valid):
    res = data_subsets(
        IPW(), valid, treatment="t", outcome="y", covariates=COVS, n_simulations=3, random_state=1
    )
    text = res.summary().as_text()
    assert "passing means" in text and "rule" in text and "verdict" in text
    d = res.to_dict()
    assert d["verdict"] in ("pass", "fail") and d["n_simulations"] == 3
    json.dumps(d)


def test_refuter_input_errors(valid):
    with pytest.raises(DataValidationError, match="unknown refuter"):
        refute(IPW(), valid, "placebo", treatment="t", outcome="y")
    with pytest.raises(DataValidationError, match="not a column"):
        negative_control_outcome(IPW(), valid, treatment="t", outcome="y", negative_control="zz")
    with pytest.raises(DataValidationError, match="n_simulations"):
        refute(IPW(), valid, "bootstrap", treatment="t", outcome="y", n_simulations=0)
    with pytest.raises(DataValidationError, match="subset_fraction"):
        data_subsets(IPW(), valid, treatment="t", outcome="y", subset_fraction=1.5)


# ----------------------------------------------------------------------------- Cinelli–Hazlett
def test_ovb_on_omitted_confounder_small_robustness_value(confounded):
    """Effect 0: the confounder u explains more than RV of both t and y, and adjusting for
    u's true partial R² values recovers the regression that includes u."""
    df = design(1.5, effect=0.0, u_outcome=0.6).sample(1500, random_state=3, include_latent=True)
    r = ovb_sensitivity(df, treatment="t", outcome="y", covariates=COVS)
    full = ovb_sensitivity(df, treatment="t", outcome="y", covariates=[*COVS, "u"])
    assert abs(full.estimate) < 3 * full.std_error  # the truth is 0
    assert r.estimate > 5 * r.std_error  # the naive estimate is far from it
    # true strength of u
    X = np.column_stack([np.ones(len(df)), df[COVS]])
    D = np.column_stack([X, df["t"]])

    def part(v, base, z):
        res = [v - base @ np.linalg.lstsq(base, v, rcond=None)[0] for v in (v, z)]
        return np.corrcoef(*res)[0, 1] ** 2

    r2d = part(df["t"].to_numpy(float), X, df["u"].to_numpy())
    r2y = part(df["y"].to_numpy(float), D, df["u"].to_numpy())
    assert r.rv_q < min(r2d, r2y)  # small robustness value: u is strong enough
    adjusted = r.adjusted(r2d, r2y)["adjusted_estimate"].item()
    assert adjusted == pytest.approx(full.estimate, abs=0.02)


def _darfur_csv() -> Path | None:
    spec = importlib.util.find_spec("sensemakr")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / "darfur.csv"
    return path if path.is_file() else None


@pytest.mark.skipif(_darfur_csv() is None, reason="pysensemakr (ships darfur.csv) not installed")
def test_darfur_reproduces_cinelli_hazlett():
    """Cinelli & Hazlett (2020), section 5 and table 3; sensemakr's printed output."""
    df = pd.read_csv(_darfur_csv())
    covs = ["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female", "village"]
    r = ovb_sensitivity(
        df,
        treatment="directlyharmed",
        outcome="peacefactor",
        covariates=covs,
        benchmark_covariates="female",
        kd=[1, 2, 3],
    )
    assert (round(r.estimate, 3), round(r.std_error, 3), round(r.t_value, 2)) == (
        0.097,
        0.023,
        4.18,
    )
    assert r.dof == 783
    assert (round(100 * r.partial_r2_yd, 1), round(100 * r.rv_q, 1), round(100 * r.rv_qa, 1)) == (
        2.2,
        13.9,
        7.6,
    )
    published = pd.DataFrame(  # r2dz_x, r2yz_dx, adjusted estimate, se, t, lower, upper
        [
            [0.0092, 0.1246, 0.0752, 0.0219, 3.4389, 0.0323, 0.1182],
            [0.0183, 0.2493, 0.0529, 0.0204, 2.6002, 0.0130, 0.0929],
            [0.0275, 0.3741, 0.0304, 0.0187, 1.6281, -0.0063, 0.0670],
        ]
    )
    cols = [
        "r2dz_x",
        "r2yz_dx",
        "adjusted_estimate",
        "adjusted_se",
        "adjusted_t",
        "adjusted_lower",
        "adjusted_upper",
    ]
    np.testing.assert_allclose(r.bounds[cols].to_numpy(), published.to_numpy(), atol=6e-5)


def test_ovb_minimal_report_from_published_statistics():
    """The robustness values from the published t-value and dof alone (paper, section 5)."""
    from deepcause.estimate.refute.ovb import OVBResult

    r = OVBResult("directlyharmed", "peacefactor", 0.09731582, 0.02325654, 783)
    assert round(r.rv_q, 3) == 0.139 and round(r.rv_qa, 3) == 0.076
    assert round(r.partial_r2_yd, 3) == 0.022


def test_ovb_contour_plot():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(500)
    d = (x + rng.standard_normal(500) > 0).astype(int)
    df = pd.DataFrame({"x": x, "d": d, "y": 0.5 * d + 0.3 * x + rng.standard_normal(500)})
    r = ovb_sensitivity(
        df, treatment="d", outcome="y", covariates=["x"], benchmark_covariates="x", kd=1
    )
    ax = r.plot()
    assert len(ax.collections) > 0 and "treatment" in ax.get_xlabel()
    assert "Cinelli" in r.summary().as_text()


# ----------------------------------------------------------------------------- E-values
def test_evalue_published_examples():
    """VanderWeele & Ding (2017): RR 3.9 (95% CI 1.8 to 8.7) has E-values 7.26 and 3.0."""
    r = evalue(3.9, lower=1.8, upper=8.7)
    assert round(r.point, 2) == 7.26 and round(r.limit, 1) == 3.0
    protective = evalue(1 / 3.9, lower=1 / 8.7, upper=1 / 1.8)  # symmetric on the log scale
    assert protective.point == pytest.approx(r.point) and protective.limit == pytest.approx(r.limit)
    assert evalue(1.5, lower=0.9, upper=2.5).limit == 1.0  # the interval includes the null
    common = evalue(4.0, scale="OR", rare=False)  # RR ~ sqrt(OR) = 2
    assert common.rr == pytest.approx(2.0) and common.point == pytest.approx(2 + np.sqrt(2))


def test_evalue_for_a_mean_difference():
    est = EffectEstimate(0.5, 0.1)
    r = evalue(est, sd=2.0)  # d = 0.25, RR = exp(0.91 * 0.25)
    rr = np.exp(0.91 * 0.25)
    assert r.rr == pytest.approx(rr) and r.point == pytest.approx(rr + np.sqrt(rr * (rr - 1)))
    assert r.rr_lower == pytest.approx(np.exp(0.91 * 0.25 - 1.78 * 0.05))
    with pytest.raises(DataValidationError, match="sd="):
        evalue(est)
    assert "E-value" in r.summary().as_text()


# ----------------------------------------------------------------------------- Rosenbaum
LEAD_EXPOSED = [
    38,
    23,
    41,
    18,
    37,
    36,
    23,
    62,
    31,
    34,
    24,
    14,
    21,
    17,
    16,
    20,
    15,
    10,
    45,
    39,
    22,
    35,
    49,
    48,
    44,
    35,
    43,
    39,
    34,
    13,
    73,
    25,
    27,
]
LEAD_CONTROL = [
    16,
    18,
    18,
    24,
    19,
    11,
    10,
    15,
    16,
    18,
    18,
    13,
    19,
    10,
    16,
    16,
    24,
    13,
    9,
    14,
    21,
    19,
    7,
    18,
    19,
    12,
    11,
    22,
    25,
    16,
    13,
    11,
    13,
]


def test_rosenbaum_signrank_lead_example():
    """Morton et al.'s lead data, Rosenbaum (2002, ch. 4); upper bounds as rbounds::psens prints
    them: insensitive at Γ = 4, sensitive at Γ = 5."""
    r = rosenbaum_bounds(LEAD_EXPOSED, LEAD_CONTROL, gammas=[1, 2, 3, 4, 5, 6])
    assert r.table["p_upper"].round(4).tolist() == [0.0, 0.0018, 0.0131, 0.0367, 0.0694, 0.1073]
    assert 4 < r.gamma_threshold < 5
    assert r.n_pairs == 32  # one tied pair dropped
    at = rosenbaum_bounds(LEAD_EXPOSED, LEAD_CONTROL, gammas=[r.gamma_threshold])
    assert at.table["p_upper"].item() == pytest.approx(0.05, abs=1e-8)


def test_rosenbaum_sign_test_is_the_exact_binomial():
    d = np.r_[np.ones(110), -np.ones(12)]  # Hammond's 122 discordant pairs
    r = sensitivity("rosenbaum", d, test="sign", gammas=[1, 5])
    assert r.table["p_upper"].iloc[0] == pytest.approx(
        stats.binomtest(110, 122, 0.5, alternative="greater").pvalue
    )
    assert r.table["p_upper"].iloc[1] == pytest.approx(stats.binom.sf(109, 122, 5 / 6))
    assert (r.table["p_lower"] <= r.table["p_upper"]).all()
    with pytest.raises(DataValidationError, match="gammas"):
        rosenbaum_bounds(d, gammas=[0.5])


# ----------------------------------------------------------------------------- CLI
def _csv(tmp_path, df) -> str:
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    return str(path)


GRAPH = "x1 -> t; x2 -> t; x1 -> y; x2 -> y; t -> y; x1 -> nco; x1 -> nce"


def test_cli_refute_json_finds_negative_controls_in_the_graph(tmp_path, valid, capsys):
    path = _csv(tmp_path, valid)
    code = main(
        ["refute", path, "-g", GRAPH, "-t", "t", "-o", "y", "-m", "ipw", "-n", "3", "--json"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    names = [r["refuter"] for r in out["refutations"]]
    assert "negative-control outcome" in names and "negative-control exposure" in names
    assert sorted(out["covariates"]) == COVS
    assert all(r["verdict"] == "pass" for r in out["refutations"])


def test_cli_refute_text_and_errors(tmp_path, confounded, capsys):
    path = _csv(tmp_path, confounded.drop(columns="u"))
    code = main(
        [
            "refute",
            path,
            "-g",
            GRAPH,
            "-t",
            "t",
            "-o",
            "y",
            "-m",
            "ipw",
            "-r",
            "negative_control_outcome",
        ]
    )
    assert code == EXIT_REFUTED == 4  # a failed refutation is not a success
    text = capsys.readouterr().out
    assert "FAIL" in text and "0 of 1 refutation(s) passed" in text
    code = main(
        [
            "refute",
            path,
            "-g",
            "x1 -> t; x1 -> y; t -> y",
            "-t",
            "t",
            "-o",
            "y",
            "-r",
            "negative_control_exposure",
        ]
    )
    assert code == 1 and "needs a control" in capsys.readouterr().err


def test_cli_refute_json_exit_code_follows_the_verdicts(tmp_path, confounded, capsys):
    """The omitted confounder u fails the negative controls: exit 4, the JSON still printed;
    with u as a covariate (no confounding left) every refutation passes: exit 0."""
    argv = ["refute", "-t", "t", "-o", "y", "-m", "ipw", "-n", "3", "--json"]
    argv += ["-r", "negative_control_outcome", "-r", "negative_control_exposure"]
    hidden = _csv(tmp_path, confounded.drop(columns="u"))
    assert main([argv[0], hidden, "-g", GRAPH, *argv[1:]]) == EXIT_REFUTED
    verdicts = [r["verdict"] for r in json.loads(capsys.readouterr().out)["refutations"]]
    assert "fail" in verdicts
    seen = GRAPH + "; u -> t; u -> y; u -> nco; u -> nce"
    observed = tmp_path / "observed.csv"
    confounded.to_csv(observed, index=False)
    assert main([argv[0], str(observed), "-g", seen, *argv[1:]]) == 0
    verdicts = [r["verdict"] for r in json.loads(capsys.readouterr().out)["refutations"]]
    assert verdicts == ["pass", "pass"]


def test_spread_rule_keeps_its_level_with_few_refits():
    """Reference and 4 refits drawn from one distribution: the rule passes ~95% of the time
    (a normal quantile on the 4 refits' sd passes only ~82%)."""
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(3000, 5))
    passed = [
        RefutationResult("data subsets", EffectEstimate(float(d[0]), 1.0), d[1:],
                         reference=float(d[0]), expectation="agree", scale="spread").passed
        for d in draws
    ]  # fmt: skip
    assert 0.93 < np.mean(passed) < 0.97, np.mean(passed)
