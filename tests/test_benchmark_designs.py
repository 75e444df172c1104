"""Generated benchmark designs (issue #12 item 8): Hill's IHDP, Kang-Schafer, ACIC-2016 style.

The truths are checked against the designs' own mechanisms (interventions on the SCM, Hill's
calibration), never against numbers copied from the bundled replications.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.datasets import load_ihdp
from deepcause.exceptions import DataValidationError
from deepcause.simulate.acic import acic_scm, make_acic
from deepcause.simulate.ihdp import ihdp_covariates, make_ihdp
from deepcause.simulate.kang_schafer import kang_schafer_scm, make_kang_schafer
from deepcause.simulate.lalonde_style import make_lalonde_style


def _naive(ds) -> float:
    y, t = ds.data[ds.outcome], ds.data[ds.treatment]
    return float(y[t == 1].mean() - y[t == 0].mean())


# --------------------------------------------------------------------------- IHDP
def test_ihdp_sample_is_hills_747_units_and_matches_bundled_covariates():
    ds = make_ihdp("B", random_state=0)
    t = ds.data["t"].to_numpy()
    assert len(t) == 747 and t.sum() == 139 and (t == 0).sum() == 608
    # the construction (subset, order, standardization, coding) equals the bundled files';
    # only covariates and treatment are compared, never outcomes
    bundled = load_ihdp(1).data
    cols = ["t", *[f"x{i}" for i in range(1, 26)]]
    np.testing.assert_allclose(ds.data[cols].to_numpy(), bundled[cols].to_numpy(), atol=1e-6)
    cont = ds.data[[f"x{i}" for i in range(1, 7)]]
    np.testing.assert_allclose(cont.mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(cont.std(ddof=1), 1.0, atol=1e-12)


def test_ihdp_same_seed_same_data_other_seed_other_data():
    a, b, c = (make_ihdp("B", random_state=s) for s in (7, 7, 8))
    pd.testing.assert_frame_equal(a.data, b.data)
    np.testing.assert_array_equal(a.mu0, b.mu0)
    assert not np.allclose(a.data["y"], c.data["y"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ihdp_b_catt_is_four_and_truth_comes_from_mu(seed):
    ds = make_ihdp("B", random_state=seed)
    t = ds.data["t"].to_numpy() == 1
    tau = ds.mu1 - ds.mu0
    assert ds.truth["ATT"] == pytest.approx(4.0, abs=1e-9)
    assert ds.truth["ATE"] == pytest.approx(tau.mean())
    assert ds.truth["ATC"] == pytest.approx(tau[~t].mean())
    # setting B's control surface is exponential in the shifted covariates, mu1 linear
    assert np.all(ds.mu0 > 0)
    assert np.ptp(tau) > 1.0  # heterogeneous effect
    y = ds.data["y"].to_numpy()
    resid = np.where(t, y - ds.mu1, y - ds.mu0)
    assert abs(resid.mean()) < 0.2 and 0.8 < resid.std() < 1.2


def test_ihdp_a_is_linear_with_constant_effect():
    ds = make_ihdp("A", random_state=4, effect=3.0)
    np.testing.assert_allclose(ds.mu1 - ds.mu0, 3.0)
    X = np.column_stack([np.ones(747), ds.data[list(ds.covariates)].to_numpy()])
    beta = ds.extras["beta"]
    np.testing.assert_allclose(X @ beta, ds.mu0)
    assert set(np.unique(beta)) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_ihdp_naive_difference_is_biased():
    # averaged over replications: the removal of treated children of non-white mothers confounds
    gaps = [
        abs(_naive(make_ihdp(s, random_state=r)) - make_ihdp(s, random_state=r).truth["ATT"])
        for s in "AB"
        for r in range(8)
    ]
    assert np.mean(gaps) > 0.4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"setting": "C"}, "setting must be 'A' or 'B'"),
        ({"setting": "B", "sigma": -1.0}, "sigma must be a number >= 0"),
        ({"setting": "B", "effect": float("nan")}, "effect must be a finite number"),
        ({"setting": "A", "effect": "4"}, "effect must be a finite number"),
    ],
)
def test_ihdp_bad_arguments(kwargs, match):
    with pytest.raises(DataValidationError, match=match):
        make_ihdp(**kwargs)


def test_ihdp_covariates_frame():
    df = ihdp_covariates()
    assert df.shape == (747, 26) and int(df["t"].sum()) == 139


# --------------------------------------------------------------------------- Kang-Schafer
def test_kang_schafer_ey1_is_210_by_intervention():
    scm = kang_schafer_scm()
    big = scm.sample(400_000, do={"t": 1}, random_state=11)
    assert big["y"].mean() == pytest.approx(210.0, abs=0.25)  # Monte Carlo s.e. about 0.06
    ds = make_kang_schafer(1000, random_state=0)
    assert ds.truth["E[Y(1)]_pop"] == pytest.approx(210.0, abs=0.3)
    assert ds.truth["ATE"] == 0.0 and ds.truth["ATE_pop"] == 0.0


def test_kang_schafer_naive_biased_and_x_transform():
    ds = make_kang_schafer(2000, effect=5.0, random_state=3, pop_n=10_000)
    assert ds.truth["ATE"] == pytest.approx(5.0)
    y, t = ds.data["y"], ds.data["t"]
    assert y[t == 1].mean() < 208 and _naive(ds) < -10  # treated mean ~205, naive ~ -15
    z1 = ds.extras["latent"]["z1"]
    np.testing.assert_allclose(ds.data["x1"], np.exp(z1 / 2))
    z = make_kang_schafer(100, covariates="z", random_state=3, pop_n=100)
    assert list(z.data.columns) == ["t", "y", "z1", "z2", "z3", "z4"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 1}, "n must be an integer >= 2"),
        ({"n": 10.5}, "n must be an integer >= 2"),
        ({"covariates": "w"}, "covariates must be 'x' or 'z'"),
        ({"effect": "big"}, "effect must be a finite number"),
        ({"pop_n": True}, "pop_n must be an integer"),
    ],
)
def test_kang_schafer_bad_arguments(kwargs, match):
    with pytest.raises(DataValidationError, match=match):
        make_kang_schafer(**kwargs)


# --------------------------------------------------------------------------- ACIC style
def test_acic_truth_by_intervention_and_heterogeneity():
    ds = make_acic(2000, random_state=0, pop_n=50_000)
    assert ds.truth["ATE"] == pytest.approx(float(np.mean(ds.mu1 - ds.mu0)))
    assert ds.truth["ATT_pop"] > ds.truth["ATE_pop"] + 0.3  # effect grows with x1, as does e
    scm = ds.scm
    y1 = scm.sample(50_000, do={"t": 1}, random_state=5)["y"].to_numpy()
    y0 = scm.sample(50_000, do={"t": 0}, random_state=5)["y"].to_numpy()
    assert float(np.mean(y1 - y0)) == pytest.approx(ds.truth["ATE_pop"], abs=0.05)
    assert abs(_naive(ds) - ds.truth["ATE"]) > 0.5
    flat = make_acic(500, heterogeneity="none", random_state=1, pop_n=1000)
    np.testing.assert_allclose(flat.mu1 - flat.mu0, 2.0)


def test_acic_share_and_overlap_knobs():
    full = make_acic(4000, random_state=2, pop_n=1000, treated_share=0.6)
    assert abs(full.data["t"].mean() - 0.6) < 0.03
    lim = make_acic(4000, overlap="limited", random_state=2, pop_n=1000)
    extreme = lambda d: np.mean((d.extras["latent"]["e"] < 0.02) | (d.extras["latent"]["e"] > 0.98))  # noqa: E731
    assert extreme(lim) > 0.1 > extreme(full)
    assert abs(_naive(lim) - lim.truth["ATE"]) > 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"response": "cubic"}, "response must be 'linear' or 'nonlinear'"),
        ({"heterogeneity": "huge"}, "heterogeneity must be 'none' or 'low' or 'high'"),
        ({"treated_share": 1.0}, r"treated_share must be in \(0, 1\)"),
        ({"treated_share": 0.0}, r"treated_share must be in \(0, 1\)"),
        ({"treatment": None}, "treatment must be 'linear' or 'nonlinear'"),
    ],
)
def test_acic_bad_arguments(kwargs, match):
    with pytest.raises(DataValidationError, match=match):
        acic_scm(**kwargs)


# --------------------------------------------------------------------------- LaLonde style
def test_lalonde_style_att_truth_and_strong_selection():
    ds = make_lalonde_style(2675, random_state=0, pop_n=50_000)
    t = ds.data["treat"].to_numpy() == 1
    assert 100 < t.sum() < 280
    assert ds.truth["ATT"] == pytest.approx(float(np.mean((ds.mu1 - ds.mu0)[t])))
    assert ds.truth["ATT_pop"] > ds.truth["ATE_pop"] + 500  # effect heterogeneous, selected on
    # the comparison group differs strongly: earnings, age; the naive contrast has the wrong sign
    x = ds.data
    assert x.loc[~t, "re75"].mean() > 2 * x.loc[t, "re75"].mean()
    assert _naive(ds) < 0 < ds.truth["ATT"]


def test_lalonde_style_bad_arguments():
    with pytest.raises(DataValidationError, match="noise_sd must be a number >= 0"):
        make_lalonde_style(100, noise_sd=-1.0)
    with pytest.raises(DataValidationError, match=r"treated_share must be in \(0, 1\)"):
        make_lalonde_style(100, treated_share=1.0)


def test_generated_frames_are_writable():
    ds = make_ihdp("A", random_state=0)
    ds.data.iloc[0, 2] = 99.0  # the cached covariates are read-only; the frame is a copy
    assert make_ihdp("A", random_state=0).data.iloc[0, 2] != 99.0


# --------------------------------------------------------------------------- the study script
def test_study_defaults_script_runs_on_generated_data(tmp_path, benchmark_module):
    module = benchmark_module("study_defaults")
    out = tmp_path / "study.md"
    argv = ["--reps", "2", "--designs", "ihdp_a", "--settings", "t_ridge,aipw_ridge"]
    assert module.main([*argv, "--out", str(out), "--quiet"]) == 0
    text = out.read_text()
    assert "| aipw_ridge |" in text and "--reps 2" in text and "ihdp_npci" not in text
    with pytest.raises(SystemExit, match="unknown design"):
        module.main(["--designs", "ihdp_npci_1", "--out", str(out)])
