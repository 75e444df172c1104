"""Session 14's audit of the public path of CausalGenerativeModel (``bench_generative.md``, "API
audit (session 14)"): the graph forms it takes, column labels that are not text, pandas Series
as per-unit ``do`` values of a counterfactual, shift functions on discrete nodes.

Every test here failed on the source before the audit; the fits are tiny (one or a few epochs,
a few hundred rows): none of them is about accuracy, and the truth each compares with is the
model's own answer given the same values another way.
"""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from deepcause.exceptions import DataValidationError
from deepcause.generative import CausalGenerativeModel

FAST = {"max_epochs": 1, "random_state": 0, "verbose": False}


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """B (bool) -> X -> Y; B -> Y; K (3 integer levels) -> Y; C (ordered categorical) -> Y."""
    rng = np.random.default_rng(seed)
    b = rng.random(n) < 0.4
    k = rng.integers(0, 3, n)
    c = pd.Categorical(rng.choice(["lo", "hi"], n), categories=["lo", "hi"], ordered=True)
    x = rng.normal(size=n) + b
    y = x + b + k + (np.asarray(c) == "hi") + rng.normal(size=n)
    return pd.DataFrame({"B": b, "K": k, "C": c, "X": x, "Y": y})


GRAPH = "B -> X -> Y; B -> Y; K -> Y; C -> Y"


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, CausalGenerativeModel]:
    df = _frame()
    return df, CausalGenerativeModel(GRAPH, **FAST).fit(df)


def test_a_networkx_digraph_is_taken_as_the_graph() -> None:
    """Before: "graph must be a CausalGraph or its text form ..., got DiGraph"."""
    df = _frame()
    text = CausalGenerativeModel(GRAPH, **FAST).fit(df)
    edges = [("B", "X"), ("X", "Y"), ("B", "Y"), ("K", "Y"), ("C", "Y")]
    graph = nx.DiGraph(edges)
    m = CausalGenerativeModel(graph, **FAST).fit(df)
    assert m.graph_ == text.graph_
    pd.testing.assert_frame_equal(
        m.sample(50, do={"X": 0.5}, random_state=1), text.sample(50, do={"X": 0.5}, random_state=1)
    )
    confounded = nx.DiGraph([("X", "M"), ("M", "Y")])
    confounded.add_edge("X", "Y", bidirected=True)  # networkx's spelling of X <-> Y
    rng = np.random.default_rng(0)
    u = rng.normal(size=200)
    x = u + rng.normal(size=200)
    mm = x + rng.normal(size=200)
    data = pd.DataFrame({"X": x, "M": mm, "Y": mm + u + rng.normal(size=200)})
    fd = CausalGenerativeModel(confounded, **FAST).fit(data)
    assert [tuple(e) for e in fd.graph_.bidirected_edges] == [("X", "Y")]
    assert fd.sample(5, do={"X": 0.0}, random_state=0).attrs["identified"] is True


def test_number_labelled_columns_are_named_as_such(one_line) -> None:
    """Before: "node '0': column '0' is not a column of the data (did you mean '0'?)"."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({0: rng.normal(size=50), 1: rng.normal(size=50)})
    with pytest.raises(DataValidationError) as exc:
        CausalGenerativeModel('"0" -> "1"', **FAST).fit(df)
    msg = one_line(exc)
    assert "labelled 0 (type int)" in msg and "df.columns.astype(str)" in msg
    assert "did you mean" not in msg
    renamed = df.rename(columns=str)
    assert CausalGenerativeModel('"0" -> "1"', **FAST).fit(renamed).sample(3).shape == (3, 2)


def test_series_do_values_of_a_counterfactual_follow_the_rows_labels(fitted, one_line) -> None:
    """Before: a Series was read by position, so a reordered one gave each unit another unit's
    value (silently); one with other labels too."""
    df, m = fitted
    units = df.sample(8, random_state=3)  # index labels out of order
    shifted = units["X"] + 1.0
    by_label = m.counterfactual(units, do={"X": shifted.sort_index()}, random_state=0)
    in_order = m.counterfactual(units, do={"X": shifted.to_numpy()}, random_state=0)
    pd.testing.assert_frame_equal(by_label, in_order)
    np.testing.assert_allclose(by_label["X"], units["X"] + 1.0)
    assert list(by_label.index) == list(units.index)
    with pytest.raises(DataValidationError) as exc:
        m.counterfactual(units, do={"X": pd.Series(np.zeros(8))})  # labels 0..7
    assert "index does not match" in one_line(exc) and ".to_numpy()" in str(exc.value)
    one = m.counterfactual(units, do={"X": pd.Series([0.5], index=["x"])}, random_state=0)
    np.testing.assert_allclose(one["X"], 0.5)  # one value is one value for every unit
    # a mapping has no row labels: a Series there is read by position, as before
    mapping = {c: units[c].to_numpy() for c in ["B", "K", "X", "Y"]} | {"C": units["C"].array}
    out = m.counterfactual(mapping, do={"X": pd.Series(shifted.to_numpy(), index=range(8, 16))})
    np.testing.assert_allclose(out["X"], units["X"] + 1.0)


def test_shift_functions_see_discrete_values_in_their_column_dtype(fitted) -> None:
    """Before: a bool node's values reached the shift as an object array, so ``lambda b: ~b``
    gave -2 and -1 ("value -2 is not a level of discrete node 'B'")."""
    df, m = fitted
    units = df.head(10)
    seen = {}

    def flip(b):
        seen["B"] = b.dtype
        return ~b

    out = m.counterfactual(units, do={"B": flip}, random_state=0)
    assert seen["B"] == np.dtype(bool)
    np.testing.assert_array_equal(out["B"], ~units["B"].to_numpy())
    assert out["B"].dtype == bool
    same = m.counterfactual(units, do={"B": ~units["B"]}, random_state=0)
    pd.testing.assert_frame_equal(out, same)
    sampled = m.sample(20, do={"B": lambda b: ~b}, random_state=0)
    assert sampled["B"].dtype == bool
    kinds = {}

    def record(name, f):
        def g(v):
            kinds[name] = v
            return f(v)

        return g

    m.counterfactual(units, do={"K": record("K", lambda k: (k + 1) % 3)})
    m.counterfactual(units, do={"C": record("C", lambda c: np.where(c == "lo", "hi", "lo"))})
    assert kinds["K"].dtype == np.int64
    assert isinstance(kinds["C"], pd.Categorical) and kinds["C"].ordered


def test_summary_reports_each_nodes_mechanism_and_survives_save_load(tmp_path) -> None:
    """Before: no ``summary()`` (AttributeError), and ``mechanism_choice_`` was lost by
    save/load (AttributeError on the loaded model)."""
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=n)
    b = x + rng.normal(size=n) > 0
    y = x + b + (0.3 + 0.5 * np.abs(x)) * rng.normal(size=n)
    df = pd.DataFrame({"X": x, "B": b, "Y": y})
    m = CausalGenerativeModel("X -> B -> Y; X -> Y", max_epochs=3, random_state=0).fit(df)
    summary = m.summary()
    table = summary.table
    assert list(table.index) == ["X", "B", "Y"]
    assert table.loc["X", "chosen by"] == "root node"
    assert table.loc["B", "kind"] == "discrete, 2 levels"
    assert table.loc["B", "mechanism"] == "categorical"
    choice = m.mechanism_choice_["Y"]
    assert table.loc["Y", "mechanism"] == choice["mechanism"]
    assert table.loc["Y", "held-out log-lik"] == choice["val_log_lik"][choice["mechanism"]]
    assert table.loc["Y", "parents"] == "X, B"
    assert any("posterior draws" in note for note in summary.notes)
    assert "Y" in summary.as_markdown() and "<table>" in summary.as_html()
    back = CausalGenerativeModel.load(m.save(tmp_path / "m"))
    assert back.mechanism_choice_ == m.mechanism_choice_
    pd.testing.assert_frame_equal(back.summary().table, table)


def test_summary_of_the_two_latent_strategies() -> None:
    rng = np.random.default_rng(1)
    u = rng.normal(size=200)
    x = u + rng.normal(size=200)
    mm = x + rng.normal(size=200)
    df = pd.DataFrame({"X": x, "M": mm, "Y": mm + u + rng.normal(size=200)})
    joint = CausalGenerativeModel("X -> M -> Y; X <-> Y", **FAST).fit(df).summary()
    assert dict(joint.rows)["latent strategy"] == "joint (districts {X, Y})"
    assert joint.table.loc["Y", "chosen by"].startswith("district with hidden confounders")
    idgen = CausalGenerativeModel("X -> M -> Y; X <-> Y", latent_strategy="idgen", **FAST)
    text = str(idgen.fit(df).summary())
    assert "one ID-GEN sampler per query" in text


def test_outputs_keep_the_inputs_column_order(tmp_path) -> None:
    """Before: columns came out in topological order, so ``cf.to_numpy()`` compared with the
    factual rows' ``to_numpy()`` paired the wrong columns (silently)."""
    df = _frame()[["Y", "C", "X", "K", "B"]]  # not topological
    m = CausalGenerativeModel(GRAPH, **FAST).fit(df.assign(note="id"))  # an extra column
    assert list(m.sample(5, random_state=0).columns) == list(df.columns)
    assert list(m.sample(5, do={"X": 0.0}, random_state=0).columns) == list(df.columns)
    factual = df.head(6)[["X", "B", "Y", "K", "C"]]
    cf = m.counterfactual(factual, do={"X": 0.0}, random_state=0)
    assert list(cf.columns) == list(factual.columns) and cf.index.equals(factual.index)
    np.testing.assert_array_equal(cf["K"], factual["K"])
    back = CausalGenerativeModel.load(m.save(tmp_path / "m"))
    assert list(back.sample(5, random_state=0).columns) == list(df.columns)
    mapping = {c: df[c].to_numpy() for c in ["Y", "X", "K", "B"]} | {"C": df["C"].array}
    fit_map = CausalGenerativeModel(GRAPH, **FAST).fit(mapping)
    assert list(fit_map.sample(3, random_state=0)) == ["Y", "X", "K", "B", "C"]


def test_a_column_vector_in_a_mapping_is_told_to_ravel(one_line) -> None:
    """Before: "data['T'] has shape (50, 1); give ... tabular nodes as 1-D arrays" (no fix)."""
    rng = np.random.default_rng(0)
    t = rng.normal(size=(50, 1))
    with pytest.raises(DataValidationError) as exc:
        CausalGenerativeModel("T -> Y", **FAST).fit({"T": t, "Y": rng.normal(size=50)})
    assert "data['T'].ravel()" in one_line(exc)


def test_idgen_refusals_name_the_joint_route_for_observational_laws(one_line) -> None:
    """Before: do() on a leaf advised "sample without do=", which the idgen route refuses, and
    sample() without do= named no way to observational samples."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    df = pd.DataFrame({"X": x, "Y": x + rng.normal(size=100)})
    m = CausalGenerativeModel("X -> Y", latent_strategy="idgen", **FAST).fit(df)
    for do in ({"Y": 0.0}, None):
        with pytest.raises(DataValidationError) as exc:
            m.sample(5, do=do, random_state=0)
        msg = one_line(exc)
        assert "latent_strategy='joint'" in msg and "sample without do=" not in msg


def _confounded_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    u = rng.normal(size=n)
    x = u + rng.normal(size=n)
    mm = np.tanh(x) + 0.3 * rng.normal(size=n)
    return pd.DataFrame({"X": x, "M": mm, "Y": mm + u})


WARNING_CALLS = {
    # before: torch/utils/_contextlib.py (the no_grad wrapper)
    "counterfactual shift": lambda m, fd: m.counterfactual(
        _frame().head(200), do={"X": lambda v: v + 6}
    ),
    # before: deepcause/generative/model.py (fit)
    "joint replaces a named mechanism": lambda m, fd: CausalGenerativeModel(
        "X -> M -> Y; X <-> Y", mechanisms="flow", **FAST
    ).fit(fd),
    # before: torch/utils/_contextlib.py
    "allow_unidentified": lambda m, fd: (
        CausalGenerativeModel("X -> Y; X <-> Y", **FAST)
        .fit(fd[["X", "Y"]])
        .sample(5, do={"X": 0.0}, allow_unidentified=True)
    ),
    # before: deepcause/generative/idgen.py
    "idgen positivity": lambda m, fd: (
        CausalGenerativeModel("X -> M -> Y; X <-> Y", latent_strategy="idgen", **FAST)
        .fit(fd)
        .sample(500, do={"X": 2.5}, random_state=0)
    ),
}


@pytest.mark.parametrize("call", list(WARNING_CALLS))
def test_warnings_point_at_the_callers_line(fitted, call) -> None:
    """Hand-counted ``stacklevel``s pointed these warnings at torch's ``no_grad`` wrapper or at
    deepcause's own files; ``user_stacklevel`` finds the first frame outside both."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        WARNING_CALLS[call](fitted[1], _confounded_frame())
    assert caught, call
    assert {w.filename for w in caught} == {__file__}, [(w.filename, w.lineno) for w in caught]


def test_a_mappings_key_order_comes_back_with_its_images_in_place() -> None:
    rng = np.random.default_rng(0)
    t = rng.normal(size=60)
    data = {"T": t, "I": rng.random((60, 1, 8, 8)), "Y": t + rng.normal(size=60)}
    m = CausalGenerativeModel("T -> I -> Y; T -> Y", **FAST).fit(data)
    assert list(m.sample(3, do={"T": 0.5}, random_state=0)) == ["T", "I", "Y"]
    units = {"Y": data["Y"][:3], "T": t[:3], "I": data["I"][:3]}
    assert list(m.counterfactual(units, do={"T": 0.5})) == ["Y", "T", "I"]


def test_text_in_a_continuous_column_of_the_units_is_refused_in_one_line(fitted, one_line) -> None:
    """Before: numpy's "ValueError: could not convert string to float: 'u'"."""
    df, m = fitted
    units = df.head(3).assign(X=["u", "v", "w"])
    with pytest.raises(DataValidationError) as exc:
        m.counterfactual(units, do={"B": True})
    assert "continuous node 'X'" in one_line(exc) and "pd.to_numeric" in str(exc.value)


def test_idgen_fit_refuses_missing_values_and_one_row() -> None:
    """Before: ``fit`` stored them and the first ``sample`` refused them."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    df = pd.DataFrame({"X": x, "Y": x + rng.normal(size=50)})
    model = CausalGenerativeModel("X -> Y; X <-> Y", latent_strategy="idgen", **FAST)
    with pytest.raises(DataValidationError, match="missing or infinite values in 'Y'"):
        model.fit(df.assign(Y=np.where(np.arange(50) == 3, np.nan, df["Y"])))
    with pytest.raises(DataValidationError, match="at least 2 rows"):
        model.fit(df.head(1))
