"""Bounds against truth computed by enumerating explicit latent variables of random SCMs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import deepcause
from deepcause._summary import Summary
from deepcause.cli import main
from deepcause.exceptions import DataValidationError, QueryError
from deepcause.identification.bounds import UnsupportedGraphError

# --------------------------------------------------------------------------- simulator
# A discrete SCM: nodes in topological order, their parents, cardinalities, and latent
# variables (each confounding a set of nodes). Every node has a random CPT given its parents
# and the latents that touch it. The joint P(V) and P(V | do(x)) are computed exactly by
# enumerating all values of V and of the latents; the code under test sees only P(V).


class SCM:
    def __init__(self, rng, nodes, parents, cards, latents, k_latent=3, conc=0.5):
        self.nodes, self.parents, self.cards, self.latents = nodes, parents, cards, latents
        self.k = k_latent
        self.p_latent = [rng.dirichlet(np.ones(k_latent) * conc) for _ in latents]
        self.cpt = {}
        for v in nodes:
            lat = [i for i, s in enumerate(latents) if v in s]
            shape = [cards[p] for p in parents[v]] + [k_latent] * len(lat) + [cards[v]]
            flat = rng.dirichlet(np.ones(cards[v]) * conc, size=int(np.prod(shape[:-1])))
            self.cpt[v] = (lat, flat.reshape(shape))

    @property
    def graph(self) -> str:
        edges = [f"{p} -> {v}" for v in self.nodes for p in self.parents[v]]
        for s in self.latents:
            s = sorted(s)
            edges += [f"{a} <-> {b}" for i, a in enumerate(s) for b in s[i + 1 :]]
        edges += [v for v in self.nodes]
        return "; ".join(edges)

    def joint(self, do=None) -> np.ndarray:
        do = do or {}
        nv = len(self.nodes)
        shape = [self.cards[v] for v in self.nodes] + [self.k] * len(self.latents)
        idx = np.indices(shape)
        p = np.ones(shape)
        for j, pl in enumerate(self.p_latent):
            p = p * pl[idx[nv + j]]
        for i, v in enumerate(self.nodes):
            if v in do:
                p = p * (idx[i] == do[v])
                continue
            lat, cpt = self.cpt[v]
            key = [idx[self.nodes.index(q)] for q in self.parents[v]]
            key += [idx[nv + j] for j in lat] + [idx[i]]
            p = p * cpt[tuple(key)]
        return p.sum(axis=tuple(range(nv, len(shape))))

    def table(self) -> pd.DataFrame:
        p = self.joint()
        grid = np.indices(p.shape).reshape(len(self.nodes), -1)
        df = pd.DataFrame(dict(zip(self.nodes, grid, strict=True)))
        df["probability"] = p.ravel()
        return df

    def prob(self, do, event) -> float:
        p = self.joint(do)
        key = tuple(event.get(v, slice(None)) for v in self.nodes)
        return float(p[key].sum())

    def sample(self, n, rng) -> pd.DataFrame:
        t = self.table()
        rows = rng.choice(len(t), size=n, p=t["probability"] / t["probability"].sum())
        return t.drop(columns="probability").iloc[rows].reset_index(drop=True)


def _scm(rng, spec, cards=None, **kw):
    parents, latents = spec
    nodes = list(parents)
    return SCM(rng, nodes, parents, cards or dict.fromkeys(nodes, 2), latents, **kw)


IV = ({"Z": [], "X": ["Z"], "Y": ["X"]}, [{"X", "Y"}])
COND_IV = ({"W": [], "Z": ["W"], "X": ["Z"], "Y": ["X", "W"]}, [{"X", "Y"}])
BOW = ({"X": [], "Y": ["X"]}, [{"X", "Y"}])
MEDIATOR = ({"X": [], "M": ["X"], "Y": ["M", "X"]}, [{"M", "Y"}])
FRONT = ({"X": [], "M": ["X"], "Y": ["M"]}, [{"X", "Y"}])
CLIQUE3 = ({"A": [], "B": ["A"], "C": ["B"]}, [{"A", "B", "C"}])
DISTRICT4 = ({"Z": [], "X": ["Z"], "M": ["X"], "Y": ["M"]}, [{"X", "M", "Y"}])
CHAIN_LATENTS = ({"A": [], "B": ["A"], "C": ["B"]}, [{"A", "B"}, {"B", "C"}])  # not a clique
QUERIES = {
    "IV": ("X", "Y"), "COND_IV": ("X", "Y"), "BOW": ("X", "Y"), "MEDIATOR": ("X", "Y"),
    "FRONT": ("X", "Y"), "CLIQUE3": ("A", "C"), "DISTRICT4": ("X", "Y"),
    "CHAIN_LATENTS": ("A", "C"),
}  # fmt: skip
SPECS = {"IV": IV, "COND_IV": COND_IV, "BOW": BOW, "MEDIATOR": MEDIATOR, "FRONT": FRONT,
         "CLIQUE3": CLIQUE3, "DISTRICT4": DISTRICT4, "CHAIN_LATENTS": CHAIN_LATENTS}  # fmt: skip


def _ate(scm, x, y, **kw):
    return deepcause.bounds(scm.graph, scm.table(), treatment={x: 1}, control={x: 0},
                            outcome={y: 1}, quantity="ate", **kw)  # fmt: skip


# --------------------------------------------------------------------------- LP validity
@pytest.mark.parametrize("name", list(SPECS))
def test_truth_inside_lp_bounds_and_lp_within_natural(name):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    x, y = QUERIES[name]
    for _ in range(4):
        scm = _scm(rng, SPECS[name])
        truth = scm.prob({x: 1}, {y: 1}) - scm.prob({x: 0}, {y: 1})
        lp, nat = _ate(scm, x, y), _ate(scm, x, y, method="natural")
        assert lp.lower - 1e-7 <= truth <= lp.upper + 1e-7, (lp, truth)
        assert nat.lower - 1e-9 <= lp.lower and lp.upper <= nat.upper + 1e-9
        assert lp.sharp == (name != "CHAIN_LATENTS") and lp.method == "lp"
        p = deepcause.bounds(scm.graph, scm.table(), treatment={x: 0}, outcome={y: 0})
        assert p.lower - 1e-7 <= scm.prob({x: 0}, {y: 0}) <= p.upper + 1e-7


def test_ternary_variables_take_cardinality_from_data():
    rng = np.random.default_rng(3)
    for _ in range(3):
        scm = _scm(rng, IV, cards={"Z": 3, "X": 3, "Y": 3})
        for x in range(3):
            b = deepcause.bounds(scm.graph, scm.table(), treatment={"X": x}, outcome={"Y": 2})
            assert b.lower - 1e-7 <= scm.prob({"X": x}, {"Y": 2}) <= b.upper + 1e-7
            assert "729 joint response types" in b.notes[0]  # 3 ** 3 * 3 ** 3


def test_unconfounded_graph_gives_a_point():
    rng = np.random.default_rng(4)
    scm = _scm(rng, ({"W": [], "X": ["W"], "Y": ["X", "W"]}, []))
    b = _ate(scm, "X", "Y")
    truth = scm.prob({"X": 1}, {"Y": 1}) - scm.prob({"X": 0}, {"Y": 1})
    assert b.upper - b.lower < 1e-7 and abs(b.lower - truth) < 1e-7


def test_lp_reproduces_balke_pearl_closed_form():
    rng = np.random.default_rng(5)
    for i in range(25):
        scm = _scm(rng, IV, conc=[0.3, 1.0, 3.0][i % 3])
        lp, bp = _ate(scm, "X", "Y"), _ate(scm, "X", "Y", method="balke-pearl")
        assert abs(lp.lower - bp.lower) < 1e-9 and abs(lp.upper - bp.upper) < 1e-9
        assert bp.method == "balke-pearl" and bp.sharp


def test_lp_equals_natural_bounds_on_the_bow():
    rng = np.random.default_rng(6)
    for _ in range(10):
        scm = _scm(rng, BOW)
        for q in ("ate", "probability"):
            kw = {"control": {"X": 0}} if q == "ate" else {}
            a, b = (deepcause.bounds(scm.graph, scm.table(), treatment={"X": 1}, outcome={"Y": 1},
                                     quantity=q, method=m, **kw) for m in ("lp", "natural"))  # fmt: skip
            assert abs(a.lower - b.lower) < 1e-9 and abs(a.upper - b.upper) < 1e-9
            assert b.sharp


def test_conditional_instrument_bounded_jointly_over_strata():
    rng = np.random.default_rng(7)
    gains = []
    for _ in range(12):
        scm = _scm(rng, COND_IV, conc=0.3)
        truth = scm.prob({"X": 1}, {"Y": 1}) - scm.prob({"X": 0}, {"Y": 1})
        joint = _ate(scm, "X", "Y")
        t = scm.table()
        per = np.zeros(2)
        for w in (0, 1):
            s = t[t["W"].eq(w)].drop(columns="W")
            pw = s.probability.sum()
            s = s.assign(probability=s.probability / pw)
            b = deepcause.bounds("Z -> X -> Y; X <-> Y", s, treatment={"X": 1},
                                 control={"X": 0}, outcome={"Y": 1}, quantity="ate")  # fmt: skip
            per += pw * np.array([b.lower, b.upper])
        assert joint.lower - 1e-7 <= truth <= joint.upper + 1e-7
        assert joint.lower >= per[0] - 1e-9 and joint.upper <= per[1] + 1e-9
        gains.append((per[1] - per[0]) - joint.width)
    assert max(gains) > 0.02  # jointly is strictly tighter on some of these models


def test_experimental_data_tightens_and_keeps_truth():
    rng = np.random.default_rng(8)
    scm = _scm(rng, FRONT)
    exp = pd.DataFrame([{"X": x, "Y": y, "probability": scm.prob({"X": x}, {"Y": y})}
                        for x in (0, 1) for y in (0, 1)])  # fmt: skip
    b = deepcause.bounds(scm.graph, scm.table(), treatment={"M": 1}, outcome={"Y": 1},
                         experimental=None)  # fmt: skip
    truth = scm.prob({"M": 1}, {"Y": 1})
    assert b.lower - 1e-7 <= truth <= b.upper + 1e-7
    e = deepcause.bounds(scm.graph, scm.table(), treatment={"X": 1}, outcome={"Y": 1},
                         experimental=exp)  # fmt: skip
    assert e.width < 1e-7 and abs(e.lower - scm.prob({"X": 1}, {"Y": 1})) < 1e-7


def test_samples_give_bootstrap_intervals_and_project_misfit():
    rng = np.random.default_rng(9)
    scm = _scm(rng, IV)
    df = scm.sample(3000, rng)
    b = _ate_samples = deepcause.bounds(scm.graph, df, treatment={"X": 1}, outcome={"Y": 1},
                                        n_boot=40, random_state=0)  # fmt: skip
    pop = deepcause.bounds(scm.graph, scm.table(), treatment={"X": 1}, outcome={"Y": 1})
    (ll, lh), (ul, uh) = b.lower_ci(), b.upper_ci()
    assert ll <= lh and ul <= uh and b.n == 3000 and _ate_samples.lower_boot.shape == (40,)
    assert abs(b.lower - pop.lower) < 0.08 and abs(b.upper - pop.upper) < 0.08
    bad = pd.DataFrame({"Z": [0] * 50 + [1] * 50, "X": [0] * 100, "Y": [0] * 50 + [1] * 50})
    m = deepcause.bounds("Z -> X -> Y; X <-> Y", bad, treatment={"X": 0}, outcome={"Y": 1},
                         n_boot=0)  # fmt: skip
    assert m.misfit > 0.5 and m.lower <= m.upper and any("outside" in n for n in m.notes)
    table = bad.value_counts(normalize=True).rename("probability").reset_index()
    with pytest.raises(DataValidationError, match="incompatible with the graph"):
        deepcause.bounds("Z -> X -> Y; X <-> Y", table, treatment={"X": 0}, outcome={"Y": 1})


# --------------------------------------------------------------------------- causation
def _response_model(rng, monotone=False, exogenous=False):
    """Binary X, Y with Y's response type (never, helped, hurt, always) as the latent."""
    p_type = rng.dirichlet(np.ones(4) * 0.7)
    if monotone:
        p_type[2] = 0.0
        p_type /= p_type.sum()
    p_x = np.full(4, rng.uniform(0.2, 0.8)) if exogenous else rng.uniform(0.05, 0.95, 4)
    y_of = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])  # y_of[type, x]
    pj = np.zeros((4, 2))  # P(type, x)
    pj[:, 1], pj[:, 0] = p_type * p_x, p_type * (1 - p_x)
    obs = pd.DataFrame([{"X": x, "Y": y, "probability": pj[y_of[:, x] == y, x].sum()}
                        for x in (0, 1) for y in (0, 1)])  # fmt: skip
    exp = pd.DataFrame([{"X": x, "Y": y, "probability": p_type[y_of[:, x] == y].sum()}
                        for x in (0, 1) for y in (0, 1)])  # fmt: skip
    truth = {"pns": p_type[1], "pn": pj[1, 1] / pj[y_of[:, 1] == 1, 1].sum(),
             "ps": pj[1, 0] / pj[y_of[:, 0] == 0, 0].sum()}  # fmt: skip
    return obs, exp, truth


@pytest.mark.parametrize("quantity", ["pns", "pn", "ps"])
def test_probabilities_of_causation_contain_truth(quantity):
    rng = np.random.default_rng(10)
    for _ in range(15):
        obs, exp, truth = _response_model(rng)
        kw = dict(treatment={"X": 1}, outcome={"Y": 1}, quantity=quantity)
        both = deepcause.bounds("X -> Y; X <-> Y", obs, experimental=exp, **kw)
        only = deepcause.bounds("X -> Y; X <-> Y", obs, **kw)
        for b in (both, only):
            assert b.lower - 1e-9 <= truth[quantity] <= b.upper + 1e-9
        assert only.lower <= both.lower + 1e-12 and both.upper <= only.upper + 1e-12
        if quantity == "pns":
            e = deepcause.bounds("X -> Y; X <-> Y", None, experimental=exp, **kw)
            assert e.lower - 1e-9 <= truth["pns"] <= e.upper + 1e-9


def test_monotonicity_point_values_and_check():
    rng = np.random.default_rng(11)
    for _ in range(5):
        obs, exp, truth = _response_model(rng, monotone=True)
        for q in ("pns", "pn", "ps"):
            b = deepcause.bounds("X -> Y; X <-> Y", obs, treatment={"X": 1}, outcome={"Y": 1},
                                 quantity=q, experimental=exp, monotonic=True)  # fmt: skip
            assert b.width == 0 and abs(b.lower - truth[q]) < 1e-9 and b.method == "monotonicity"
    obs = pd.DataFrame({"X": [0, 0, 1, 1], "Y": [0, 1, 0, 1], "probability": [0.1, 0.4, 0.4, 0.1]})
    exp = pd.DataFrame({"X": [0, 0, 1, 1], "Y": [0, 1, 0, 1], "probability": [0.2, 0.8, 0.8, 0.2]})
    with pytest.raises(DataValidationError, match="contradict monotonicity"):
        deepcause.bounds("X -> Y; X <-> Y", obs, treatment={"X": 1}, outcome={"Y": 1},
                         quantity="pn", experimental=exp, monotonic=True)  # fmt: skip


def test_identified_effect_stands_in_for_experimental_data():
    rng = np.random.default_rng(12)
    obs, exp, truth = _response_model(rng, exogenous=True)
    kw = dict(treatment={"X": 1}, outcome={"Y": 1}, quantity="pn")
    graph_only = deepcause.bounds("X -> Y", obs, **kw)
    with_exp = deepcause.bounds("X -> Y; X <-> Y", obs, experimental=exp, **kw)
    assert abs(graph_only.lower - with_exp.lower) < 1e-9
    assert abs(graph_only.upper - with_exp.upper) < 1e-9
    assert graph_only.lower - 1e-9 <= truth["pn"] <= graph_only.upper + 1e-9


# --------------------------------------------------------------------------- refusals
_IV_TABLE = pd.DataFrame({"Z": [0, 0, 1, 1], "X": [0, 1, 0, 1], "Y": [0, 1, 1, 1],
                          "probability": [0.25, 0.25, 0.25, 0.25]})  # fmt: skip


@pytest.mark.parametrize(
    "change, kwargs, error, match",
    [
        (lambda d: d.assign(probability=d.probability * 2), {}, DataValidationError, "sum to 2"),
        (lambda d: d.assign(Z=d.Z + 0.5), {}, DataValidationError, "discretise"),
        (lambda d: d.rename(columns={"Z": "Zz"}), {}, DataValidationError, "did you mean"),
        (lambda d: d.assign(V=1), {}, DataValidationError, "not a variable"),
        (lambda d: d, {"treatment": {"X": 7}}, QueryError, "not a value of X"),
        (lambda d: d, {"treatment": {"Q": 1}}, ValueError, "Q"),
        (lambda d: d, {"quantity": "risk"}, QueryError, "quantity must be one of"),
        (lambda d: d, {"method": "natural", "quantity": "pns"}, QueryError, "tian-pearl"),
        (lambda d: d, {"monotonic": True}, QueryError, "monotonic=True"),
        (lambda d: d, {"graph": "Z -> X -> Y; X <-> Y; Z <-> W; W -> Y", "method": "lp"},
         UnsupportedGraphError, "method='natural'"),
        (lambda d: d, {"method": "ncm", "quantity": "pns"}, QueryError, "tian-pearl"),
        (lambda d: d, {"method": "ncm", "experimental": _IV_TABLE[["X", "Y", "probability"]]},
         QueryError, "method='lp'"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_in_one_line(change, kwargs, error, match):
    kw = dict(treatment={"X": 1}, outcome={"Y": 1})
    kw.update(kwargs)
    graph = kw.pop("graph", "Z -> X -> Y; X <-> Y")
    data = change(_IV_TABLE.copy())
    if "W" in graph:
        data = pd.DataFrame({"Z": [0, 1], "W": [0, 1], "X": [0, 1], "Y": [0, 1],
                             "probability": [0.5, 0.5]})  # fmt: skip
    with pytest.raises(error, match=match) as info:
        deepcause.bounds(graph, data, **kw)
    assert "\n" not in str(info.value)


def test_natural_bounds_work_beyond_the_polytope_case():
    t = pd.DataFrame(
        {"Z": [0, 1], "W": [0, 1], "X": [0, 1], "Y": [0, 1], "probability": [0.5, 0.5]}
    )
    b = deepcause.bounds("Z -> X -> Y; X <-> Y; Z <-> W; W -> Y", t, treatment={"X": 1},
                         outcome={"Y": 1}, method="natural")  # fmt: skip
    assert (b.lower, b.upper) == (0.5, 1.0) and not b.sharp


def test_not_identifiable_message_points_to_bounds():
    with pytest.raises(deepcause.NotIdentifiableError, match="deepcause.bounds"):
        deepcause.identify("X -> Y; X <-> Y", "X", "Y")


def test_result_summary_and_frame():
    df = _IV_TABLE.sample(200, replace=True, weights="probability", random_state=0)
    b = deepcause.bounds("Z -> X -> Y; X <-> Y", df.drop(columns="probability"),
                         treatment={"X": 1}, outcome={"Y": 1}, n_boot=20, random_state=1)  # fmt: skip
    summary = b.summary()
    assert isinstance(summary, Summary)
    text = summary.as_text()
    assert "ci_lower (95%)" in text and "P(Y=1 | do(X=1))" in text and str(b) == text
    lo_ci, hi_ci = b.lower_ci(), b.upper_ci()
    assert summary.table.loc["lower"].tolist() == [b.lower, *lo_ci]
    assert summary.table.loc["upper"].tolist() == [b.upper, *hi_ci]
    assert list(summary.notes) == list(b.notes)
    for render in (summary.as_markdown, summary.as_html, summary.as_latex):
        assert "do(X=1)" in render()
    frame = b.to_frame()
    assert frame.shape[0] == 1 and {"lower", "upper", "sharp", "upper_ci_high"} <= set(frame)
    again = deepcause.bounds("Z -> X -> Y; X <-> Y", df.drop(columns="probability"),
                             treatment={"X": 1}, outcome={"Y": 1}, n_boot=20, random_state=1)  # fmt: skip
    assert again.lower_ci() == b.lower_ci()


# --------------------------------------------------------------------------- CLI
def test_cli_bounds(tmp_path, capsys):
    path = tmp_path / "iv.csv"
    _IV_TABLE.to_csv(path, index=False)
    args = ["bounds", "--data", str(path), "-g", "Z -> X -> Y; X <-> Y", "-t", "X=1",
            "-o", "Y=1", "--quantity", "ate", "--json"]  # fmt: skip
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    ref = deepcause.bounds("Z -> X -> Y; X <-> Y", _IV_TABLE, treatment={"X": 1},
                           outcome={"Y": 1}, quantity="ate")  # fmt: skip
    assert out["lower"] == pytest.approx(ref.lower) and out["method"] == "lp"
    assert main(args[:-1] + ["-t", "X=5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1 and "Traceback" not in err
    assert main(["bounds", "--data", str(tmp_path / "none.csv"), "-g", "X -> Y", "-t", "X=1",
                 "-o", "Y=1"]) == 1  # fmt: skip
    assert main(["bounds", "--data", str(path), "-g", "X -> Y"]) == 2  # usage error


def test_adjusted_effect_used_for_probabilities_of_causation():
    rng = np.random.default_rng(13)
    scm = _scm(rng, ({"W": [], "X": ["W"], "Y": ["X", "W"]}, []))
    exp = pd.DataFrame([{"X": x, "Y": y, "probability": scm.prob({"X": x}, {"Y": y})}
                        for x in (0, 1) for y in (0, 1)])  # fmt: skip
    kw = dict(treatment={"X": 1}, outcome={"Y": 1}, quantity="pns")
    from_graph = deepcause.bounds(scm.graph, scm.table(), **kw)
    given = deepcause.bounds("X -> Y; X <-> Y", scm.table().drop(columns="W")
                             .groupby(["X", "Y"], as_index=False).sum(), experimental=exp, **kw)  # fmt: skip
    assert abs(from_graph.lower - given.lower) < 1e-9 and abs(from_graph.upper - given.upper) < 1e-9
    assert "identified from the graph (backdoor)" in from_graph.notes[0]
    with pytest.raises(DataValidationError, match="lack one of the two values"):
        deepcause.bounds("X -> Y; X <-> Y", scm.table().drop(columns="W")
                         .groupby(["X", "Y"], as_index=False).sum(),
                         experimental=exp[exp.X == 1], method="tian-pearl", **kw)  # fmt: skip


def _iv_truth(scm, quantity):
    """PNS/PN/PS of a binary IV SCM whose Y is a deterministic function of (X, U)."""
    p_u = scm.p_latent[0]
    _, cx = scm.cpt["X"]  # (z, u, x)
    _, cy = scm.cpt["Y"]  # (x, u, y), one-hot
    f = cy.argmax(axis=-1)  # f[x, u]
    pz = scm.cpt["Z"][1]
    pzxu = pz[:, None, None] * p_u[None, :, None] * cx  # (z, u, x)
    pxu = pzxu.sum(axis=0)  # (u, x)
    if quantity == "pns":
        return float(p_u @ ((f[1] == 1) & (f[0] != 1)))
    if quantity == "pn":
        num = pxu[:, 1] * (f[1] == 1) * (f[0] != 1)
        return float(num.sum() / (pxu[:, 1] * (f[1] == 1)).sum())
    num = pxu[:, 0] * (f[0] != 1) * (f[1] == 1)
    return float(num.sum() / (pxu[:, 0] * (f[0] != 1)).sum())


def _deterministic_y(scm):
    lat, cy = scm.cpt["Y"]
    scm.cpt["Y"] = (lat, np.eye(2)[cy.argmax(axis=-1)])
    return scm


@pytest.mark.parametrize("quantity", ["pns", "pn", "ps"])
def test_causation_lp_uses_the_instrument_and_contains_truth(quantity):
    rng = np.random.default_rng(14)
    narrower = 0
    for _ in range(8):
        scm = _deterministic_y(_scm(rng, IV, k_latent=6))
        truth = _iv_truth(scm, quantity)
        kw = dict(treatment={"X": 1}, outcome={"Y": 1}, quantity=quantity)
        lp = deepcause.bounds(scm.graph, scm.table(), **kw)
        tp = deepcause.bounds(scm.graph, scm.table(), method="tian-pearl", **kw)
        assert lp.method == "lp" and lp.sharp
        assert lp.lower - 1e-7 <= truth <= lp.upper + 1e-7
        assert tp.lower - 1e-7 <= truth <= tp.upper + 1e-7
        assert tp.lower - 1e-7 <= lp.lower and lp.upper <= tp.upper + 1e-7
        narrower += lp.width < tp.width - 1e-3
    assert narrower >= 2


@pytest.mark.parametrize("quantity", ["pns", "pn", "ps"])
def test_causation_lp_reproduces_tian_pearl_on_the_bow(quantity):
    rng = np.random.default_rng(15)
    for _ in range(10):
        obs, exp, _ = _response_model(rng)
        for e in (exp, None):
            kw = dict(treatment={"X": 1}, outcome={"Y": 1}, quantity=quantity, experimental=e)
            lp = deepcause.bounds("X -> Y; X <-> Y", obs, **kw)
            tp = deepcause.bounds("X -> Y; X <-> Y", obs, method="tian-pearl", **kw)
            assert abs(lp.lower - tp.lower) < 1e-9 and abs(lp.upper - tp.upper) < 1e-9


# --------------------------------------------------------------------------- neural causal models
# Xia et al. (2021) bounds: two neural causal models trained to fit the data while pushing the
# query down / up. They form an inner approximation of the sharp interval (up to the fit
# error), so they are compared with the LP (the sharp bounds) and with the truth.
TWO_DISTRICTS = ({"Z": [], "X": ["Z"], "M": ["X"], "Y": ["M"]}, [{"Z", "X"}, {"M", "Y"}])


def _iv_scm_away_from_zero(rng):
    """A binary IV SCM whose instrument values both have probability >= 0.2 (the IV bounds
    move by about fit error / P(z), so a tiny P(z) would turn a small fit error into a gap)."""
    while True:
        scm = _scm(rng, IV, conc=1.0)
        if scm.joint().sum(axis=(1, 2)).min() >= 0.2:
            return scm


def test_ncm_bounds_are_within_0_05_of_the_lp_on_binary_iv_scms():
    rng = np.random.default_rng(11)
    for seed in range(2):
        scm = _iv_scm_away_from_zero(rng)
        lp, ncm = _ate(scm, "X", "Y"), _ate(scm, "X", "Y", method="ncm", random_state=seed)
        assert ncm.method == "ncm" and not ncm.sharp and ncm.misfit < 0.01, ncm
        assert abs(ncm.lower - lp.lower) < 0.05 and abs(ncm.upper - lp.upper) < 0.05, (lp, ncm)
        assert lp.lower - 0.01 <= ncm.lower <= ncm.upper <= lp.upper + 0.01  # inner
        truth = scm.prob({"X": 1}, {"Y": 1}) - scm.prob({"X": 0}, {"Y": 1})
        assert ncm.lower - 0.01 <= truth <= ncm.upper + 0.01


def _check_ncm_truth(spec, seed, x, y, **kw):
    scm = _scm(np.random.default_rng(seed), spec, conc=1.0)
    truth = scm.prob({x: 1}, {y: 1}) - scm.prob({x: 0}, {y: 1})
    ncm = _ate(scm, x, y, random_state=seed, **kw)
    nat = _ate(scm, x, y, method="natural")
    assert ncm.method == "ncm" and ncm.misfit < 0.01, ncm
    assert ncm.lower - 0.01 <= truth <= ncm.upper + 0.01, (ncm, truth)
    assert nat.lower - 0.01 <= ncm.lower and ncm.upper <= nat.upper + 0.01
    return ncm


@pytest.mark.slow
def test_ncm_is_chosen_beyond_the_polytope_case_and_contains_the_truth():
    ncm = _check_ncm_truth(TWO_DISTRICTS, 3, "X", "Y")  # two confounded districts: no LP
    assert "linear program does not apply" in ncm.notes[0] and "district" in ncm.notes[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["MEDIATOR", "DISTRICT4", "COND_IV"])
def test_ncm_bounds_contain_the_truth_on_random_discrete_scms(name):
    for seed in range(2):
        _check_ncm_truth(SPECS[name], seed, *QUERIES[name], method="ncm")


def test_ncm_bounds_a_continuous_outcome_within_its_observed_range():
    from deepcause.generative.ncm_bounds import NCMBounds

    rng = np.random.default_rng(0)
    u = rng.normal(size=1500)
    x = (u + rng.normal(size=1500) > 0).astype(int)
    df = pd.DataFrame({"X": x, "Y": 1.0 * x + u + 0.5 * rng.normal(size=1500)})
    b = deepcause.bounds("X -> Y; X <-> Y", df, treatment={"X": 1}, outcome={"Y": "mean"},
                         random_state=0, ncm=NCMBounds(max_steps=400, warmup=100))  # fmt: skip
    p1 = x.mean()  # natural bounds with Y in its observed range [min, max]
    natural = (p1 * df.Y[x == 1].mean() + (1 - p1) * df.Y.min(),
               p1 * df.Y[x == 1].mean() + (1 - p1) * df.Y.max())  # fmt: skip
    assert b.method == "ncm" and b.query == "E[Y | do(X=1)]" and "continuous" in b.notes[0]
    assert natural[0] - 0.05 <= b.lower < 1.0 < b.upper <= natural[1] + 0.05  # truth: 1
    with pytest.raises(QueryError, match="'mean'"):
        deepcause.bounds("X -> Y; X <-> Y", df, treatment={"X": 1}, outcome={"Y": 1})


def test_ncm_needs_a_solver_below_the_top_level():
    from deepcause.identification.bounds import bounds

    with pytest.raises(QueryError, match="deepcause.bounds"):
        bounds("Z -> X -> Y; X <-> Y", _IV_TABLE, treatment={"X": 1}, outcome={"Y": 1},
               method="ncm")  # fmt: skip


def test_ncm_bounds_are_reproducible_with_random_state():
    from deepcause.generative.ncm_bounds import NCMBounds

    solver = NCMBounds(max_steps=40, warmup=10)
    runs = [deepcause.bounds("Z -> X -> Y; X <-> Y", _IV_TABLE, treatment={"X": 1},
                             outcome={"Y": 1}, method="ncm", random_state=seed, ncm=solver)
            for seed in (3, 3, 4)]  # fmt: skip
    assert (runs[0].lower, runs[0].upper) == (runs[1].lower, runs[1].upper)
    assert (runs[0].lower, runs[0].upper) != (runs[2].lower, runs[2].upper)


@pytest.mark.slow
def test_cli_bounds_ncm_matches_the_api(tmp_path, capsys):
    path = tmp_path / "iv.csv"
    _IV_TABLE.to_csv(path, index=False)
    args = ["bounds", "--data", str(path), "-g", "Z -> X -> Y; X <-> Y", "-t", "X=1",
            "-o", "Y=1", "--quantity", "ate", "--method", "ncm", "--seed", "0", "--json"]  # fmt: skip
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    lp = deepcause.bounds("Z -> X -> Y; X <-> Y", _IV_TABLE, treatment={"X": 1},
                          outcome={"Y": 1}, quantity="ate")  # fmt: skip
    assert out["method"] == "ncm" and out["sharp"] is False
    # an inner approximation of the sharp (LP) interval, up to the fit error
    assert lp.lower - 0.01 <= out["lower"] <= out["upper"] <= lp.upper + 0.01
    assert abs(out["lower"] - lp.lower) < 0.1 and abs(out["upper"] - lp.upper) < 0.1
