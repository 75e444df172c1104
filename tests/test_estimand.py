"""Expression trees: printing, simplification (checked numerically), evaluation and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcause.exceptions import DataValidationError, QueryError
from deepcause.identification.estimand import (
    ONE,
    Estimand,
    Fraction,
    P,
    Product,
    Sum,
)
from deepcause.identification.evaluate import Context, prepare

BACKDOOR = Sum("Z", Product((P("Y", given=["X", "Z"]), P("Z"))))


# ----------------------------------------------------------------------------- construction


def test_terms_are_sets_hashable_and_validated():
    assert P(["X", "Y"], given="Z") == P(["Y", "X"], given=["Z", "Z"])
    assert hash(P(["X", "Y"])) == hash(P(["Y", "X"]))
    assert len({BACKDOOR, Sum(["Z"], Product((P("Y", given=["Z", "X"]), P("Z"))))}) == 1
    with pytest.raises(QueryError, match="both sides"):
        P("X", given="X")
    with pytest.raises(QueryError, match="at least one"):
        P([])
    with pytest.raises(QueryError, match="names"):
        P([1])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        Sum("X", "P(X)")  # type: ignore[arg-type]
    assert BACKDOOR.free_variables == {"X", "Y"}
    assert BACKDOOR.all_variables == {"X", "Y", "Z"}


def test_printing_styles():
    assert str(BACKDOOR) == "Σ_{Z} P(Y | X, Z) P(Z)"
    assert BACKDOOR.to_text(ascii=True) == "sum_{Z} P(Y | X, Z) P(Z)"
    assert BACKDOOR.to_latex() == r"\sum_{Z} P(Y \mid X, Z) P(Z)"
    assert BACKDOOR._repr_latex_() == "$" + BACKDOOR.to_latex() + "$"
    assert str(ONE) == "1"
    frac = Fraction(P(["X", "Y"]), P("X"))
    assert str(frac) == "P(X, Y) / P(X)"
    assert frac.to_latex() == r"\frac{P(X, Y)}{P(X)}"
    # natural order of names and LaTeX subscripts / escaped multi-letter names
    assert str(P(["X10", "X2"])) == "P(X2, X10)"
    assert P(["X1", "stone_size"]).to_latex() == r"P(X_{1}, \mathrm{stone\_size})"
    # a sum that is not the last factor is bracketed
    e = Product((Sum("A", P(["A", "B"])), P("C")))
    assert str(e) == "[Σ_{A} P(A, B)] P(C)"


def test_bound_variable_shadowing_is_primed():
    fd = Sum("M", Product((P("M", "X"), Sum("X", Product((P("Y", ["X", "M"]), P("X")))))))
    assert str(fd) == "Σ_{M} P(M | X) Σ_{X'} P(Y | M, X') P(X')"
    assert fd.to_latex() == r"\sum_{M} P(M \mid X) \sum_{X'} P(Y \mid M, X') P(X')"
    assert fd.free_variables == {"X", "Y"}


def test_estimand_text_and_dict():
    est = Estimand(BACKDOOR, ("X",), ("Y",), kind="backdoor", adjustment_set=("Z",))
    assert est.query == "P(Y | do(X))"
    assert est.to_latex() == r"P(Y \mid \mathrm{do}(X)) = \sum_{Z} P(Y \mid X, Z) P(Z)"
    assert est.variables == ("X", "Y", "Z")
    d = est.to_dict()
    assert d["estimand_ascii"] == "sum_{Z} P(Y | X, Z) P(Z)" and d["kind"] == "backdoor"
    cond = Estimand(P("Y", ["X", "W"]), ("X",), ("Y",), ("W",), kind="conditional")
    assert str(cond) == "P(Y | do(X), W) = P(Y | W, X)"


# ----------------------------------------------------------------------------- simplification


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (Sum("Q", P("Y", "X")), "P(Y | X)"),  # sum over a variable that does not occur
        (Sum(["A", "B"], P(["A", "B", "C"], "D")), "P(C | D)"),  # sum over a joint
        (Sum("Y", P("Y", "X")), "1"),
        (Product((P("A", ["B", "C"]), P("B", "C"))), "P(A, B | C)"),  # chain rule
        (Product((P("C"), P("A", ["B", "C"]), P("B", "C"))), "P(A, B, C)"),
        (Fraction(P(["A", "B"]), P("B")), "P(A | B)"),
        (Fraction(P(["A", "B"], "C"), P("B", "C")), "P(A | B, C)"),
        (Fraction(Product((P("A"), P("B"))), P("B")), "P(A)"),
        (Fraction(Sum("W", P(["W", "X", "Y"])), Sum(["W", "Y"], P(["W", "X", "Y"]))), "P(Y | X)"),
        (Sum(["A", "B"], Product((P("A"), P("B", "C")))), "1"),
        (Sum("Z", Product((P("Z"), P("Y", ["X", "Z"])))), "Σ_{Z} P(Y | X, Z) P(Z)"),
        (Sum("B", Product((P("A"), P("B", "A")))), "P(A)"),
    ],
)
def test_simplify_rules(expr, expected):
    assert str(expr.simplify()) == expected


TABLE_VARS = ["A", "B", "C", "D"]


def _random_table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cards = [2, 3, 2, 2]
    index = pd.MultiIndex.from_product([range(c) for c in cards], names=TABLE_VARS)
    p = rng.dirichlet(np.ones(len(index)))
    return pd.Series(p, index=index, name="probability").reset_index()


def expressions(depth: int = 3):
    names = st.sets(st.sampled_from(TABLE_VARS), min_size=1, max_size=3)

    @st.composite
    def term(draw):
        v = draw(names)
        g = draw(st.sets(st.sampled_from([n for n in TABLE_VARS if n not in v]), max_size=2))
        return P(v, g)

    return st.recursive(
        term(),
        lambda inner: st.one_of(
            st.builds(Sum, names, inner),
            st.builds(lambda fs: Product(fs), st.lists(inner, min_size=1, max_size=3)),
            st.builds(Fraction, inner, inner),
        ),
        max_leaves=6,
    )


def _dense(expr, table, order):
    ctx = Context(prepare(table, expr.all_variables | set(order), None))
    f = ctx.eval(expr)
    arr = f.arr
    # broadcast to all of ``order`` (a simplified expression may have lost a free variable)
    perm = [f.vars.index(v) for v in order if v in f.vars]
    arr = np.transpose(arr, perm) if f.vars else arr
    shape = [len(ctx.data.domains[v]) if v in f.vars else 1 for v in order]
    return np.broadcast_to(arr.reshape(shape), [len(ctx.data.domains[v]) for v in order])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(expressions(), st.integers(0, 1000))
def test_simplify_preserves_value(expr, seed):
    table = _random_table(seed)
    simple = expr.simplify()
    assert simple.free_variables <= expr.free_variables
    assert simple.simplify() == simple  # a fixed point
    order = sorted(expr.free_variables)
    np.testing.assert_allclose(
        _dense(simple, table, order), _dense(expr, table, order), rtol=1e-9, atol=1e-12
    )


# ----------------------------------------------------------------------------- evaluation


def _samples() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 4000
    z = rng.integers(0, 2, n)
    x = (rng.random(n) < 0.2 + 0.6 * z).astype(int)
    y = (rng.random(n) < 0.1 + 0.3 * x + 0.4 * z).astype(int)
    return pd.DataFrame({"Z": z, "X": x, "Y": y})


def test_evaluate_samples_equals_groupby_formula():
    df = _samples()
    est = Estimand(BACKDOOR, ("X",), ("Y",), kind="backdoor", adjustment_set=("Z",))
    got = est.probability(df, {"X": 1}, {"Y": 1})
    pz = df["Z"].value_counts(normalize=True)
    py = df[df.X == 1].groupby("Z")["Y"].mean()
    assert got == pytest.approx(float((py * pz).sum()), abs=1e-12)
    series = est.evaluate(df, {"X": 1})
    assert series.index.name == "Y" and series.name == "P(Y | do(X=1))"
    assert series.sum() == pytest.approx(1.0)
    # the same numbers from a weighted table and from a Series with a MultiIndex
    counts = df.value_counts().rename("n").reset_index()
    np.testing.assert_allclose(est.evaluate(counts, {"X": 1}, weights="n"), series, atol=1e-12)
    joint = df.value_counts(normalize=True).rename("p")
    np.testing.assert_allclose(est.evaluate(joint, {"X": 1}), series, atol=1e-12)


def test_evaluate_multiple_outcomes_and_given():
    df = _samples().assign(W=lambda d: (d.Y + d.Z) % 2)
    joint = Estimand(P(["Y", "W"], ["X", "Z"]), ("X", "Z"), ("Y", "W"))
    s = joint.evaluate(df, {"X": 1, "Z": 0})
    assert list(s.index.names) == ["Y", "W"] and s.sum() == pytest.approx(1.0)
    cond = Estimand(P("Y", ["X", "W"]), ("X",), ("Y",), ("W",), kind="conditional")
    full = cond.evaluate(df, {"X": 0})
    assert list(full.index.names) == ["Y", "W"]
    one = cond.evaluate(df, {"X": 0}, {"W": 1})
    assert one.index.name == "Y" and one.sum() == pytest.approx(1.0)
    assert cond.probability(df, {"X": 0}, {"Y": 1}, {"W": 1}) == pytest.approx(one.loc[1])
    with pytest.raises(QueryError, match="given_values"):
        cond.probability(df, {"X": 0}, {"Y": 1})


def test_positivity_violation_names_variables_and_values():
    df = _samples()
    df = df[~((df.X == 1) & (df.Z == 0))]  # nobody with Z=0 is treated
    est = Estimand(BACKDOOR, ("X",), ("Y",), kind="backdoor", adjustment_set=("Z",))
    with pytest.raises(DataValidationError, match="positivity") as info:
        est.evaluate(df, {"X": 1})
    msg = str(info.value)
    assert "P(Y | X, Z)" in msg and "X=1" in msg and "Z=0" in msg
    # the control arm is still fine
    assert est.evaluate(df, {"X": 0}).sum() == pytest.approx(1.0)


def test_evaluate_input_errors():
    df = _samples()
    est = Estimand(BACKDOOR, ("X",), ("Y",))
    with pytest.raises(QueryError, match="missing"):
        est.evaluate(df, {})
    with pytest.raises(QueryError, match="not treatment"):
        est.evaluate(df, {"X": 1, "Q": 2})
    with pytest.raises(DataValidationError, match="never occurs"):
        est.evaluate(df, {"X": 7})
    with pytest.raises(DataValidationError, match="did you mean 'Zz'"):
        est.evaluate(df.rename(columns={"Z": "Zz"}), {"X": 1})
    with pytest.raises(DataValidationError, match="missing values"):
        est.evaluate(df.assign(Z=df.Z.where(df.index > 3)), {"X": 1})
    with pytest.raises(DataValidationError, match="DataFrame"):
        est.evaluate(df.to_numpy(), {"X": 1})  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="non-negative"):
        est.evaluate(df.assign(w=-1.0), {"X": 1}, weights="w")
    with pytest.raises(DataValidationError, match="never occur"):
        est.probability(df, {"X": 1}, {"Y": 5})
    with pytest.raises(QueryError, match="given_values"):
        est.evaluate(df, {"X": 1}, {"Z": 0})


def test_table_of_expression():
    df = _samples()
    t = P("Y", "X").table(df)
    assert list(t.index.names) == ["Y", "X"]
    assert t.loc[(1, 1)] == pytest.approx(df[df.X == 1].Y.mean())
