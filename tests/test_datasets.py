"""Bundled data loaders: shapes, splits and ground truth against the READMEs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause import datasets as D
from deepcause.exceptions import CycleError, DataValidationError

IHDP_ATE = [4.0161, 4.0508, 4.0992, 4.2737, 4.1624, 4.0040, 3.9905, 3.8537, 10.4660, 4.5860]


@pytest.mark.parametrize("rep", range(1, 11))
def test_ihdp_truth_per_replication(rep):
    ds = D.load_ihdp(rep)
    assert ds.data.shape == (747, 27)
    assert list(ds.data.columns[:3]) == ["t", "y", "x1"]
    assert int(ds.data["t"].sum()) == 139
    assert ds.truth["ATE"] == pytest.approx(IHDP_ATE[rep - 1], abs=5e-5)
    assert ds.truth["ATT"] == pytest.approx(4.0, abs=1e-6)
    np.testing.assert_allclose(ds.tau.mean(), ds.truth["ATE"])


def test_ihdp_split_sizes_and_disjoint():
    train, test = D.load_ihdp(3, "train"), D.load_ihdp(3, "test")
    full = D.load_ihdp(3)
    assert len(train.data) == 672 and len(test.data) == 75
    assert int(train.data["t"].sum()) + int(test.data["t"].sum()) == 139
    both = pd.concat([train.data, test.data])
    assert len(both.drop_duplicates()) == 747
    rows = D.loaders._read_csv("ihdp", "ihdp_cfr_test_rows.csv")
    idx = rows.loc[rows["replication"] == 3, "row"].to_numpy()
    pd.testing.assert_frame_equal(test.data, full.data.iloc[np.sort(idx)].reset_index(drop=True))
    # truth on the split is the mean effect over the split's own rows
    assert test.truth["ATE"] == pytest.approx(float(np.mean(test.mu1 - test.mu0)))
    assert test.truth["ATE"] != pytest.approx(full.truth["ATE"], abs=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"replication": 11}, "1 to 10"),
        ({"replication": 0}, "1 to 10"),
        ({"replication": 2.0}, "integer"),
        ({"split": "foo"}, "'foo'"),
    ],
)
def test_ihdp_bad_arguments(kwargs, match):
    with pytest.raises(DataValidationError, match=match):
        D.load_ihdp(**kwargs)


def test_lalonde():
    exp = D.load_lalonde()
    assert len(exp.data) == 445 and int(exp.data["treat"].sum()) == 185
    assert exp.truth["ATT"] == pytest.approx(1794.34, abs=0.01)
    means = exp.data.groupby("treat")["re78"].mean()
    assert means[1] - means[0] == pytest.approx(1794.34, abs=0.01)
    naive = {"psid": -15204.78, "psid2": -3646.81, "psid3": 1069.85}
    sizes = {"psid": 2490, "psid2": 253, "psid3": 128}
    for name, value in naive.items():
        ds = D.load_lalonde(name)
        assert len(ds.data) == 185 + sizes[name]
        m = ds.data.groupby("treat")["re78"].mean()
        assert m[1] - m[0] == pytest.approx(value, abs=0.01)
        assert ds.truth["ATT"] == pytest.approx(1794.34, abs=0.01)
    with pytest.raises(DataValidationError, match="cps"):
        D.load_lalonde("cps")


def test_jobs():
    ds = D.load_jobs(3)
    assert ds.data.shape == (642, 19)
    assert ds.truth["ATT"] == pytest.approx(0.07794, abs=1e-5)
    assert ds.truth["ATT_test"] == pytest.approx(0.0647, abs=1e-4)
    e = ds.extras["e"] == 1
    assert e.sum() == 144 and int(ds.data["t"].sum()) == 57
    # all PSID units are controls; the per-split ATT is the difference on experimental units
    assert (ds.data["t"][~e] == 0).all()
    sub = ds.data[e]
    diff = sub.loc[sub.t == 1, "y"].mean() - sub.loc[sub.t == 0, "y"].mean()
    assert diff == pytest.approx(ds.truth["ATT_test"], abs=1e-6)
    with pytest.raises(DataValidationError):
        D.load_jobs(11)


def test_acic2016():
    truth = {1: (2.1281, 2.7219, 858), 4: (4.7960, 4.6829, 1736)}
    for i, (sate, satt, nt) in truth.items():
        ds = D.load_acic2016(i)
        assert ds.truth["ATE"] == pytest.approx(sate, abs=5e-5)
        assert ds.truth["ATT"] == pytest.approx(satt, abs=5e-5)
        assert int(ds.data["z"].sum()) == nt
        assert all(pd.api.types.is_numeric_dtype(ds.data[c]) for c in ds.covariates)
    raw = D.load_acic2016(2, one_hot=False)
    assert len(raw.covariates) == 58
    assert isinstance(raw.data["x_2"].dtype, pd.CategoricalDtype)
    with pytest.raises(DataValidationError, match="held back"):
        D.load_acic2016(6)


def test_nhefs():
    ds = D.load_nhefs()
    assert len(ds.data) == 1566 and int(ds.data["qsmk"].sum()) == 403
    assert not ds.data.isna().any().any()
    m = ds.data.groupby("qsmk")["wt82_71"].mean()
    assert m[1] - m[0] == pytest.approx(2.54, abs=0.005)
    assert "63" in ds.description


def test_kidney_stones():
    counts = D.load_kidney_stones("counts")
    assert counts.data["successes"].tolist() == [81, 234, 192, 55]
    assert counts.data["patients"].tolist() == [87, 270, 263, 80]
    assert counts.truth["P(success|do(A))"] == pytest.approx(0.83255, abs=5e-6)
    assert counts.truth["P(success|do(B))"] == pytest.approx(0.77888, abs=1e-5)
    pats = D.load_kidney_stones()
    assert len(pats.data) == 700
    g = pats.data.groupby(["stone_size", "treatment"])["success"].agg(["sum", "count"])
    assert g.loc[("large", "A")].tolist() == [192, 263]
    naive = pats.data.groupby("treatment")["success"].mean()
    assert naive["A"] == pytest.approx(0.78) and naive["B"] == pytest.approx(289 / 350)
    with pytest.raises(DataValidationError):
        D.load_kidney_stones("tables")


def test_sachs():
    s = D.load_sachs()
    proteins = s.roles["variables"]
    assert s.data.shape == (7466, 21) and len(s.extras["edges"]) == 20 and len(proteins) == 11
    assert set(s.graph.nodes) == set(proteins)
    assert ("mek", "erk") in s.graph.directed_edges
    assert set(s.graph.directed_edges) == set(s.extras["edges"])
    condition = s.data[s.roles["condition"][0]]
    assert (condition == "cd3cd28").sum() == 853
    assert set(s.extras["targets"]) <= set(s.roles["interventions"])
    assert set(s.extras["targets"].values()) <= set(proteins)
    assert s.treatment is None and s.outcome is None
    cdt = D.load_sachs("cdt")
    assert len(cdt.extras["edges"]) == 18 and cdt.extras["reference"] == "cdt"
    with pytest.raises(CycleError):
        _ = cdt.graph


def test_card_and_mroz():
    card = D.load_card()
    assert (
        not card.data[[card.outcome, card.treatment, *card.instruments, *card.covariates]]
        .isna()
        .any()
        .any()
    )
    mroz = D.load_mroz()
    sel = mroz.data[mroz.selection] == 1
    assert sel.sum() == 428
    assert mroz.data.loc[~sel, "lwage"].isna().all() and mroz.data.loc[sel, "lwage"].notna().all()
    # OLS on the selected sample reproduces the README's 0.10749
    sub = mroz.data[sel]
    X = np.column_stack([np.ones(len(sub)), sub[list(mroz.covariates)].to_numpy(float)])
    beta = np.linalg.lstsq(X, sub["lwage"].to_numpy(float), rcond=None)[0]
    assert beta[1] == pytest.approx(mroz.truth["OLS_selected_educ"], abs=5e-6)


def test_causal_dataset_graph_and_immutability():
    ds = D.load_lalonde()
    g = ds.graph
    assert g.parents("re78") == frozenset({*ds.covariates, "treat"})
    assert g.parents("treat") == frozenset(ds.covariates)
    assert ds.graph is g  # cached
    with pytest.raises(AttributeError):
        ds.treatment = "x"  # type: ignore[misc]
    ihdp = D.load_ihdp(1)
    with pytest.raises(ValueError):
        ihdp.mu0[0] = 1.0
    with pytest.raises(TypeError):
        ihdp.truth["ATE"] = 0.0  # type: ignore[index]
    with pytest.raises(AttributeError, match="read-only"):
        ds.data = ds.data  # type: ignore[misc]
    with pytest.raises(TypeError):
        ds.roles["treatment"] = ("age",)  # type: ignore[index]
    with pytest.raises(ValueError):
        ihdp.extras["y_cfactual"][0] = 1.0
    df = pd.DataFrame({"t": [0, 1], "y": [0.0, 1.0]})
    with pytest.raises(DataValidationError, match="rows"):
        D.CausalDataset(df, {"treatment": "t", "outcome": "y"}, extras={"mu0": [1.0]})


@pytest.mark.parametrize(
    "roles, match",
    [
        ({"treatment": "t", "outcome": "z"}, r"\['z'\]"),
        ({"treatmnt": "t"}, "did you mean 'treatment'"),
        ({"treatment": ("t", "y")}, "one column"),
        ({"covariates": [1]}, "strings"),
        (["t"], "mapping"),
    ],
)
def test_causal_dataset_refuses_bad_roles(roles, match):
    df = pd.DataFrame({"t": [0, 1], "y": [0.0, 1.0]})
    with pytest.raises(DataValidationError, match=match):
        D.CausalDataset(df, roles)


def test_causal_dataset_truth_is_frozen_and_graph_from_text():
    df = pd.DataFrame({"x": [0.0, 1.0], "t": [0, 1], "y": [0.0, 1.0]})
    ds = D.CausalDataset(
        df,
        {"treatment": "t", "outcome": "y", "covariates": "x"},
        {"ATE": 1.0, "beta": np.array([1.0, 2.0]), "gamma": [1.0, -1.0]},
        graph="x -> t -> y; x -> y; t <-> y",
    )
    assert ds.truth["gamma"] == (1.0, -1.0) and ds.covariates == ("x",)
    with pytest.raises(ValueError):
        ds.truth["beta"][0] = 0.0
    assert ds.graph.bidirected_edges and ds.mu0 is None and ds.tau is None
    assert "treatment='t'" in repr(ds) and "ATE=1" in repr(ds)
    with pytest.raises(DataValidationError, match="CausalGraph"):
        D.CausalDataset(df, {"outcome": "y"}, graph=42)


LOADERS = [
    D.load_ihdp,
    D.load_lalonde,
    D.load_jobs,
    D.load_acic2016,
    D.load_nhefs,
    D.load_kidney_stones,
    D.load_sachs,
    D.load_card,
    D.load_mroz,
]


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_every_loader_returns_a_causal_dataset_with_valid_roles(loader):
    ds = loader()
    assert isinstance(ds, D.CausalDataset) and ds.scm is None
    assert set(ds.roles) <= set(D.ROLES) and ds.roles
    for cols in ds.roles.values():
        assert cols and set(cols) <= set(ds.data.columns)
    if ds.treatment is not None:  # effect data: the graph is over the role columns
        graph = ds.graph
        assert ds.treatment in graph and ds.outcome in graph
        assert set(ds.covariates) <= set(graph.parents(ds.treatment))
        assert set(ds.instruments) <= set(graph.parents(ds.treatment)) - set(
            graph.parents(ds.outcome)
        )
    assert ds.description


def test_econ_roles_match_the_textbook():
    card = D.load_card()
    assert (card.treatment, card.outcome, card.instruments) == ("educ", "lwage", ("nearc4",))
    assert len(card.covariates) == 14
    assert {frozenset(e) for e in card.graph.bidirected_edges} == {frozenset({"educ", "lwage"})}
    mroz = D.load_mroz()
    assert mroz.treatment is None and mroz.selection == "inlf"
    assert mroz.covariates == ("educ", "exper", "expersq") and len(mroz.selection_covariates) == 7
    assert "kidslt6" in mroz.graph.parents("inlf") and "kidslt6" not in mroz.graph.parents("lwage")
