"""Loaders for the benchmark data bundled in ``deepcause/data`` (offline, no downloads).

Every loader returns a :class:`~deepcause.datasets.CausalDataset`: the observed data, the roles
of the columns (treatment, outcome, covariates; instruments and controls for Card; selection
for Mroz; variables, interventions and condition for Sachs), the ground truth or reference
numbers when known and, for semi-synthetic sets, the noiseless potential outcomes
``extras["mu0"]``/``extras["mu1"]`` (also ``ds.mu0``/``ds.mu1``).

>>> ds = load_ihdp(1)
>>> ds.data.shape, round(ds.truth["ATE"], 4)
((747, 27), 4.0161)
>>> sorted(ds.graph.parents("y"))[:3]
['t', 'x1', 'x10']
"""

from __future__ import annotations

import io
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataValidationError
from .dataset import CausalDataset

__all__ = [
    "load_ihdp",
    "load_lalonde",
    "load_jobs",
    "load_acic2016",
    "load_nhefs",
    "load_kidney_stones",
    "load_sachs",
    "load_card",
    "load_mroz",
]


# --------------------------------------------------------------------------- file access
def _read_csv(folder: str, name: str, **kwargs: Any) -> pd.DataFrame:
    text = resources.files("deepcause.datasets.data").joinpath(folder, name).read_bytes()
    return pd.read_csv(io.BytesIO(text), **kwargs)


def _check_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise DataValidationError(f"{name} must be one of {shown}; got {value!r}")


def _check_int_range(name: str, value: Any, lo: int, hi: int, note: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise DataValidationError(
            f"{name} must be an integer from {lo} to {hi}; got {value!r}{note}"
        )
    return int(value)


def _effects(mu0: np.ndarray, mu1: np.ndarray, t: np.ndarray) -> dict[str, float]:
    tau = mu1 - mu0
    return {
        "ATE": float(tau.mean()),
        "ATT": float(tau[t == 1].mean()),
        "ATC": float(tau[t == 0].mean()),
    }


# --------------------------------------------------------------------------- IHDP
_IHDP_COLUMNS = ["t", "y", "y_cfactual", "mu0", "mu1", *[f"x{i}" for i in range(1, 26)]]


def load_ihdp(replication: int = 1, split: str = "all") -> CausalDataset:
    """IHDP (Hill 2011, response surface B), replication 1-10, CEVAE/CFR version.

    ``split="train"``/``"test"`` gives the 672/75 rows of the CFR split
    (``ihdp_cfr_test_rows.csv``, 0-based rows); truth ``ATE``/``ATT``/``ATC`` is
    ``mean(mu1 - mu0)`` over the rows returned. Columns ``t, y, x1..x25`` as in the file
    (``x14`` is coded 1/2); ``extras["y_cfactual"]`` holds the noisy counterfactual outcome.

    >>> load_ihdp(2, split="test").data.shape, load_ihdp(2, split="train").data.shape
    ((75, 27), (672, 27))
    >>> round(load_ihdp(2).truth["ATE"], 4), round(load_ihdp(2).truth["ATT"], 4)
    (4.0508, 4.0)
    """
    r = _check_int_range(
        "replication", replication, 1, 10, " (replications 11-50 are held back for evaluation)"
    )
    _check_choice("split", split, ("all", "train", "test"))
    raw = _read_csv("ihdp", f"ihdp_npci_{r}.csv", header=None, names=_IHDP_COLUMNS)
    if split != "all":
        rows = _read_csv("ihdp", "ihdp_cfr_test_rows.csv")
        test = np.zeros(len(raw), dtype=bool)
        test[rows.loc[rows["replication"] == r, "row"].to_numpy()] = True
        raw = raw[test if split == "test" else ~test].reset_index(drop=True)
    covs = tuple(f"x{i}" for i in range(1, 26))
    t = raw["t"].to_numpy(dtype=int)
    mu0, mu1 = raw["mu0"].to_numpy(float), raw["mu1"].to_numpy(float)
    data = raw[["t", "y", *covs]].astype({"t": int})
    return CausalDataset(
        data,
        {"treatment": "t", "outcome": "y", "covariates": covs},
        truth=_effects(mu0, mu1, t),
        description=(
            f"IHDP replication {r} ({split} split, {len(data)} rows, {int(t.sum())} treated); "
            "semi-synthetic outcomes (Hill 2011, surface B); truth = mean(mu1 - mu0) over these "
            "rows. x1-x6 standardized continuous, x7-x25 binary (x14 coded 1/2)."
        ),
        extras={"mu0": mu0, "mu1": mu1, "y_cfactual": raw["y_cfactual"].to_numpy(float)},
    )


# --------------------------------------------------------------------------- LaLonde
_LALONDE_COVARIATES = (
    "age",
    "education",
    "black",
    "hispanic",
    "married",
    "nodegree",
    "re74",
    "re75",
)
_PSID_FILES = {
    "psid": "psid_controls.csv",
    "psid2": "psid2_controls.csv",
    "psid3": "psid3_controls.csv",
}


def load_lalonde(controls: str = "experimental") -> CausalDataset:
    """NSW job training (Dehejia-Wahba sample): 185 treated plus the chosen controls.

    ``controls="experimental"`` gives the randomized 260 controls; ``"psid"``, ``"psid2"``,
    ``"psid3"`` the PSID comparison groups (2490, 253, 128 rows). Outcome ``re78``, treatment
    ``treat``. ``truth["ATT"]`` is the experimental estimate 1794.34 (difference of mean
    ``re78`` in the randomized sample), the benchmark for the observational designs.

    >>> ds = load_lalonde("psid")
    >>> len(ds.data), round(ds.truth["ATT"], 2)
    (2675, 1794.34)
    """
    _check_choice("controls", controls, ("experimental", *_PSID_FILES))
    nsw = _read_csv("lalonde", "nsw_dw.csv")
    exp_att = float(
        nsw.loc[nsw["treat"] == 1, "re78"].mean() - nsw.loc[nsw["treat"] == 0, "re78"].mean()
    )
    if controls == "experimental":
        data = nsw
    else:
        data = pd.concat(
            [nsw[nsw["treat"] == 1], _read_csv("lalonde", _PSID_FILES[controls])],
            ignore_index=True,
        )
    data = data[["treat", "re78", *_LALONDE_COVARIATES]].reset_index(drop=True)
    return CausalDataset(
        data,
        {"treatment": "treat", "outcome": "re78", "covariates": _LALONDE_COVARIATES},
        truth={"ATT": exp_att},
        description=(
            f"LaLonde NSW (Dehejia-Wahba): 185 treated + {controls} controls "
            f"({len(data) - 185} rows); truth ATT = experimental difference in means "
            f"{exp_att:.2f} (Dehejia & Wahba 1999: 1,794)."
        ),
    )


# --------------------------------------------------------------------------- Jobs
def load_jobs(replication: int = 1) -> CausalDataset:
    """Jobs (Shalit et al. 2017), test split of replication 1-10 (642 rows, 17 covariates).

    Columns ``t, y, x1..x17``; ``extras["e"]`` is 1 for units of the randomized NSW sample
    (the ones on which ATT error and policy risk are evaluated). ``truth["ATT"]`` is the
    full-sample experimental ATT 0.07794; ``truth["ATT_test"]`` the (noisy) ATT on the 144
    experimental units of this split.

    >>> ds = load_jobs(1)
    >>> ds.data.shape, round(ds.truth["ATT"], 5), int(ds.extras["e"].sum())
    ((642, 19), 0.07794, 144)
    """
    r = _check_int_range("replication", replication, 1, 10)
    raw = resources.files("deepcause.datasets.data").joinpath("jobs", "jobs_DW_bin.new.10.test.npz")
    with raw.open("rb") as fh, np.load(fh) as npz:
        x = npz["x"][:, :, r - 1]
        t = npz["t"][:, r - 1].astype(int)
        y = npz["yf"][:, r - 1].astype(float)
        e = npz["e"][:, r - 1].astype(int)
        ids = npz["I"][:, r - 1].astype(int)
        att = float(npz["ate"].ravel()[0])
    covs = tuple(f"x{i}" for i in range(1, 18))
    data = pd.DataFrame(x, columns=list(covs))
    data.insert(0, "y", y)
    data.insert(0, "t", t)
    gt = _read_csv("jobs", "jobs_test_ground_truth.csv").set_index("replication")
    return CausalDataset(
        data,
        {"treatment": "t", "outcome": "y", "covariates": covs},
        truth={"ATT": att, "ATT_test": float(gt.loc[r, "att_experimental_test"])},
        description=(
            f"Jobs test split, replication {r}: NSW experimental units + PSID controls, binary "
            "outcome (employed 1978). Evaluate on extras['e'] == 1 (randomized units)."
        ),
        extras={"e": e, "unit_id": ids},
    )


# --------------------------------------------------------------------------- ACIC 2016
_ACIC_CATEGORICAL = ("x_2", "x_21", "x_24")


def load_acic2016(instance: int = 1, one_hot: bool = True) -> CausalDataset:
    """ACIC 2016 challenge, causallib's sample instances 1-5 (4802 rows, 58 covariates).

    Columns ``z`` (treatment), ``y`` (observed outcome) and covariates. With
    ``one_hot=True`` (default) the three string covariates ``x_2``, ``x_21``, ``x_24`` are
    one-hot encoded with the first level dropped (as causallib does; 79 numeric covariates);
    with ``one_hot=False`` they stay as pandas ``category`` columns (58 covariates). Truth:
    ``ATE`` = SATE = mean(mu1 - mu0), ``ATT`` = SATT, ``ATC``.

    >>> ds = load_acic2016(1)
    >>> len(ds.data), len(ds.covariates), round(ds.truth["ATE"], 4), round(ds.truth["ATT"], 4)
    (4802, 79, 2.1281, 2.7219)
    """
    i = _check_int_range(
        "instance", instance, 1, 5, " (instances 6-10 are held back for evaluation)"
    )
    x = _read_csv("acic2016", "x.csv")
    zymu = _read_csv("acic2016", f"zymu_{i}.csv")
    if one_hot:
        x = pd.get_dummies(x, columns=list(_ACIC_CATEGORICAL), drop_first=True, dtype=float)
    else:
        x = x.astype({c: "category" for c in _ACIC_CATEGORICAL})
    t = zymu["z"].to_numpy(dtype=int)
    y = np.where(t == 1, zymu["y1"], zymu["y0"])
    data = pd.concat([pd.DataFrame({"z": t, "y": y}), x], axis=1)
    mu0, mu1 = zymu["mu0"].to_numpy(float), zymu["mu1"].to_numpy(float)
    return CausalDataset(
        data,
        {"treatment": "z", "outcome": "y", "covariates": tuple(x.columns)},
        truth=_effects(mu0, mu1, t),
        description=(
            f"ACIC 2016 instance {i} (causallib sample): real covariates, simulated treatment "
            f"and outcomes; {int(t.sum())} treated of {len(t)}. Categorical covariates "
            f"{'one-hot (drop first)' if one_hot else 'kept as pandas category'}."
        ),
        extras={
            "mu0": mu0,
            "mu1": mu1,
            "y0": zymu["y0"].to_numpy(float),
            "y1": zymu["y1"].to_numpy(float),
        },
    )


# --------------------------------------------------------------------------- NHEFS
_NHEFS_CONFOUNDERS = (
    "sex",
    "race",
    "age",
    "education",
    "smokeintensity",
    "smokeyrs",
    "exercise",
    "active",
    "wt71",
)


def load_nhefs() -> CausalDataset:
    """NHEFS (Hernan & Robins): quitting smoking ``qsmk`` -> weight change ``wt82_71`` (kg).

    Covariates are the book's confounders (``education``, ``exercise``, ``active`` are ordinal
    codes; the book enters them as categories and adds squares of ``age``, ``smokeintensity``,
    ``smokeyrs``, ``wt71``). The 63 rows without a 1982 weight are dropped, leaving 1566
    (403 quitters). No ground truth; ``truth`` holds the book's reference estimates.

    >>> ds = load_nhefs()
    >>> len(ds.data), int(ds.data["qsmk"].sum()), ds.truth["book_IPW"]
    (1566, 403, 3.4)
    """
    raw = _read_csv("nhefs", "nhefs.csv")
    keep = raw["wt82_71"].notna()
    data = raw.loc[keep, ["qsmk", "wt82_71", *_NHEFS_CONFOUNDERS]].reset_index(drop=True)
    return CausalDataset(
        data,
        {"treatment": "qsmk", "outcome": "wt82_71", "covariates": _NHEFS_CONFOUNDERS},
        truth={"book_IPW": 3.4, "book_standardization": 3.5},
        description=(
            f"NHEFS: {len(data)} of {len(raw)} people ({int((~keep).sum())} dropped: no 1982 "
            "weight, wt82_71 missing). Observational, no ground truth; Hernan & Robins report "
            "3.4 kg (IPW, 95% CI 2.4-4.5) and 3.5 kg (standardization)."
        ),
    )


# --------------------------------------------------------------------------- kidney stones
def load_kidney_stones(kind: str = "patients") -> CausalDataset:
    """Kidney stones (Charig et al. 1986), the Simpson's paradox table.

    ``kind="patients"``: 700 rows ``stone_size`` (small/large), ``treatment`` (A/B),
    ``success`` (0/1). ``kind="counts"``: the 4-row table ``stone_size, treatment, successes,
    patients`` (outcome column ``successes``). Truth under size -> treatment -> success,
    size -> success: ``P(success|do(A))`` 0.83255, ``P(success|do(B))`` 0.77888 and
    ``ATE`` (A minus B) 0.05367, computed exactly from the counts.

    >>> ds = load_kidney_stones("counts")
    >>> int(ds.data["patients"].sum()), round(ds.truth["ATE"], 5)
    (700, 0.05367)
    """
    _check_choice("kind", kind, ("patients", "counts"))
    counts = _read_csv("kidney_stones", "kidney_stones_counts.csv")
    rate = counts.set_index(["stone_size", "treatment"])
    size_share = counts.groupby("stone_size")["patients"].sum() / counts["patients"].sum()
    do = {
        arm: float(
            sum(
                size_share[s] * rate.loc[(s, arm), "successes"] / rate.loc[(s, arm), "patients"]
                for s in size_share.index
            )
        )
        for arm in ("A", "B")
    }
    truth = {"P(success|do(A))": do["A"], "P(success|do(B))": do["B"], "ATE": do["A"] - do["B"]}
    if kind == "counts":
        data, outcome = counts, "successes"
    else:
        data, outcome = _read_csv("kidney_stones", "kidney_stones_patients.csv"), "success"
    return CausalDataset(
        data,
        {"treatment": "treatment", "outcome": outcome, "covariates": ("stone_size",)},
        truth=truth,
        description=(
            "Kidney stones (Charig et al. 1986): treatment A (open surgery) vs B (PCNL); A is "
            "better within each stone size but worse overall. ATE = P(do A) - P(do B)."
            + (" Aggregated counts, one row per stratum." if kind == "counts" else "")
        ),
    )


# --------------------------------------------------------------------------- Sachs
_SACHS_PROTEINS = (
    "raf",
    "mek",
    "plc",
    "pip2",
    "pip3",
    "erk",
    "akt",
    "pka",
    "pkc",
    "p38",
    "jnk",
)
_SACHS_TARGETS = {
    "aktinhib": "akt",
    "g0076": "pkc",
    "psitect": "pip2",
    "u0126": "mek",
    "ly": "pip3",
    "pma": "pkc",
    "b2camp": "pka",
}


def load_sachs(reference: str = "cmu") -> CausalDataset:
    """Sachs et al. (2005) protein signalling data (7466 cells) with a reference graph.

    Roles: ``variables`` (the 11 proteins), ``interventions`` (the 9 reagent 0/1 columns) and
    ``condition`` (the experimental condition; ``"cd3cd28"`` alone is the 853 observational
    cells). ``reference="cmu"`` gives the 20-edge consensus DAG as ``graph``; ``"cdt"`` the
    18-edge list of the Causal Discovery Toolbox (it has a directed cycle, so ``graph`` raises
    ``CycleError``: use ``extras["edges"]``). ``extras["targets"]`` maps each reagent column to
    the protein it acts on.

    >>> sachs = load_sachs()
    >>> sachs.data.shape, len(sachs.extras["edges"]), len(sachs.graph.nodes)
    ((7466, 21), 20, 11)
    >>> int((sachs.data[sachs.roles["condition"][0]] == "cd3cd28").sum())
    853
    """
    _check_choice("reference", reference, ("cmu", "cdt"))
    data = _read_csv("sachs", "sachs.csv")
    edges_df = _read_csv("sachs", f"sachs_graph_{reference}.csv")
    edges = tuple(zip(edges_df["cause"].astype(str), edges_df["effect"].astype(str)))
    reagents = [c for c in data.columns if c not in (*_SACHS_PROTEINS, "condition")]
    return CausalDataset(
        data,
        {"variables": _SACHS_PROTEINS, "interventions": reagents, "condition": "condition"},
        graph="; ".join([*_SACHS_PROTEINS, *(f"{a} -> {b}" for a, b in edges)]),
        extras={"edges": edges, "targets": _SACHS_TARGETS, "reference": reference},
        description=(
            "Sachs et al. (2005): 11 proteins, 9 conditions (column 'condition' and 0/1 reagent "
            f"columns); reference graph '{reference}' ({len(edges)} edges). Raw intensities; "
            "log-transform for Gaussian models."
        ),
    )


# --------------------------------------------------------------------------- econ classics
def load_card() -> CausalDataset:
    """Card (1995) college proximity: return to schooling by 2SLS (Wooldridge Ex. 15.4).

    Outcome ``lwage``, treatment ``educ``, instrument ``nearc4``, controls ``exper, expersq,
    black, smsa, south, smsa66, reg662..reg669`` (none of these columns has missing values;
    others such as ``IQ`` do). Reference: 2SLS 0.13150 (s.e. 0.05496), OLS 0.07469.

    >>> card = load_card()
    >>> card.data.shape, card.instruments, card.truth["2SLS_educ"]
    ((3010, 34), ('nearc4',), 0.1315)
    """
    data = _read_csv("econ", "card.csv")
    controls = (
        "exper",
        "expersq",
        "black",
        "smsa",
        "south",
        "smsa66",
        *[f"reg66{i}" for i in range(2, 10)],
    )
    return CausalDataset(
        data,
        {"treatment": "educ", "outcome": "lwage", "instruments": "nearc4", "covariates": controls},
        truth={"2SLS_educ": 0.13150, "2SLS_educ_se": 0.05496, "OLS_educ": 0.07469},
        description=(
            "Card (1995), NLS young men 1976 (3010 rows): lwage on educ, educ instrumented by "
            "nearc4 (grew up near a 4-year college), with the controls listed; Wooldridge "
            "Example 15.4."
        ),
    )


def load_mroz() -> CausalDataset:
    """Mroz (1987) married women's wages: the Heckman selection example (Wooldridge Ex. 17.5).

    ``selection="inlf"`` (in the labour force, 428 of 753); ``lwage`` is observed only when
    ``inlf == 1`` (NaN otherwise). Outcome equation ``lwage ~ educ + exper + expersq``
    (``controls``); selection probit on ``selection_covariates`` = ``nwifeinc, educ, exper,
    expersq, age, kidslt6, kidsge6`` (excluded from the outcome: ``nwifeinc, age, kidslt6,
    kidsge6``). Reference Heckit: ``educ`` 0.10907 (s.e. 0.016), inverse Mills ratio 0.03226
    (s.e. 0.134); OLS on the selected women 0.10749.

    >>> mroz = load_mroz()
    >>> mroz.data.shape, int(mroz.data["inlf"].sum()), int(mroz.data["lwage"].isna().sum())
    ((753, 22), 428, 325)
    """
    data = _read_csv("econ", "mroz.csv")
    return CausalDataset(
        data,
        {
            "outcome": "lwage",
            "covariates": ("educ", "exper", "expersq"),
            "selection": "inlf",
            "selection_covariates": (
                "nwifeinc",
                "educ",
                "exper",
                "expersq",
                "age",
                "kidslt6",
                "kidsge6",
            ),
        },
        truth={
            "heckit_educ": 0.10907,
            "heckit_educ_se": 0.016,
            "heckit_lambda": 0.03226,
            "heckit_lambda_se": 0.134,
            "OLS_selected_educ": 0.10749,
        },
        description=(
            "Mroz (1987), 753 married women in 1975; lwage observed for the 428 in the labour "
            "force (inlf == 1). Wooldridge Example 17.5 (Heckit)."
        ),
    )
