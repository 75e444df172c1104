"""Expression trees for causal estimands: ``P``, ``Sum``, ``Product``, ``Fraction``, printing
and simplification. Public names are re-exported by :mod:`deepcause.identification.estimand`.

>>> e = Sum("Z", Product((P("Y", given=["X", "Z"]), P("Z"))))
>>> print(e)
Σ_{Z} P(Y | X, Z) P(Z)
>>> print(simplify(Sum(["A", "B"], P(["A", "B", "C"]))))
P(C)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..exceptions import QueryError
from ._groups import connected_groups
from ._names import _SYMBOLS, _names_text, _sorted
from .evaluate import Context, Factor, prepare, value_index

__all__ = ["Expression", "P", "Sum", "Product", "Fraction", "ONE", "simplify"]


def _as_names(value: str | Iterable[str], what: str) -> frozenset[str]:
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise QueryError(f"{what} must be variable names (non-empty strings), got {item!r}")
    return frozenset(items)


class Expression:
    """Base class of the immutable expression trees over probability terms.

    The concrete nodes are :class:`P`, :class:`Sum`, :class:`Product` and :class:`Fraction`;
    ``a * b`` builds a ``Product`` and ``a / b`` a ``Fraction``. Expressions print in textbook
    notation, render to LaTeX, simplify and evaluate on discrete data (:meth:`table`).

    Examples
    --------
    >>> e = Sum("Z", P("Y", given=["X", "Z"]) * P("Z"))
    >>> print(e)
    Σ_{Z} P(Y | X, Z) P(Z)
    """

    __slots__ = ()

    @property
    def free_variables(self) -> frozenset[str]:
        """Variables the expression is a function of (those not bound by a :class:`Sum`).

        >>> sorted(Sum("Z", P("Y", given=["X", "Z"])).free_variables)
        ['X', 'Y']
        """
        return self._free  # type: ignore[attr-defined]

    @property
    def all_variables(self) -> frozenset[str]:
        """Every variable name occurring in the expression, bound or free.

        >>> sorted(Sum("Z", P("Y", given=["X", "Z"])).all_variables)
        ['X', 'Y', 'Z']
        """
        return _all_variables(self)

    def __str__(self) -> str:
        return self.to_text()

    def to_text(self, ascii: bool = False) -> str:
        """The expression as text (what ``str()`` gives); ``ascii=True`` writes ``sum`` for ``Σ``.

        A summed variable that is also used outside its sum is primed (``X'``).

        >>> e = P("Y", given="X") * Sum("X", P("M", given="X") * P("X"))
        >>> e.to_text(ascii=True)
        "P(Y | X) sum_{X'} P(M | X') P(X')"
        """
        return _render(self, "ascii" if ascii else "unicode", frozenset(self._free), {})  # type: ignore[attr-defined]

    def to_latex(self) -> str:
        """The expression as LaTeX source, without the surrounding ``$`` (``X1`` becomes ``X_{1}``).

        >>> print(Fraction(P(["Y", "X1"]), P("X1")).to_latex())
        \\frac{P(X_{1}, Y)}{P(X_{1})}
        """
        return _render(self, "latex", frozenset(self._free), {})  # type: ignore[attr-defined]

    def _repr_latex_(self) -> str:
        return f"${self.to_latex()}$"

    def simplify(self) -> Expression:
        """An equivalent, shorter expression (see :func:`simplify` for the rules).

        >>> print((P("A", given=["B", "C"]) * P("B", given="C")).simplify())
        P(A, B | C)
        """
        return simplify(self)

    def __mul__(self, other: Expression) -> Product:
        return Product((self, other))

    def __truediv__(self, other: Expression) -> Fraction:
        return Fraction(self, other)

    def table(self, data: pd.DataFrame | pd.Series, *, weights: str | None = None) -> pd.Series:
        """Evaluate on data for every combination of values of the free variables.

        Parameters
        ----------
        data : DataFrame or Series
            Discrete samples (one row each), a joint probability table (a DataFrame with a
            ``probability`` column) or a Series of probabilities indexed by the variables.
        weights : str, optional
            Column holding row weights or counts (defaults to ``probability`` when present).

        Returns
        -------
        Series
            One value per combination (NaN where a conditioning event has probability 0); a
            bad column or weight raises ``DataValidationError``.

        Examples
        --------
        >>> t = pd.DataFrame({"A": [0, 0, 1, 1], "B": [0, 1, 0, 1], "probability": [.1, .3, .2, .4]})
        >>> P("A", given="B").table(t).round(3).tolist()
        [0.333, 0.429, 0.667, 0.571]
        """
        ctx = Context(prepare(data, _all_variables(self), weights))
        factor = ctx.eval(self)
        names = list(factor.vars)
        arr = factor.arr
        if not names:
            return pd.Series([float(arr)], name=str(self))
        index = value_index([ctx.data.domains[v] for v in names], names)
        return pd.Series(arr.reshape(-1), index=index, name=str(self))

    def _evaluate(self, ctx: Context) -> Factor:
        """This node's dense factor (the evaluator calls back here; see :mod:`.evaluate`)."""
        raise TypeError(f"not an expression: {self!r}")


@dataclass(frozen=True, slots=True, init=False)
class P(Expression):
    """A probability term ``P(variables | given)`` of the observational distribution.

    >>> print(P(["Y", "X"], given="Z"))
    P(X, Y | Z)
    """

    variables: frozenset[str]
    given: frozenset[str]
    _free: frozenset[str] = field(repr=False, compare=False, hash=False)

    def __init__(self, variables: str | Iterable[str], given: str | Iterable[str] = ()) -> None:
        v = _as_names(variables, "P variables")
        g = _as_names(given, "P given")
        if not v:
            raise QueryError("a probability term needs at least one variable before the '|'")
        if v & g:
            raise QueryError(f"variables {_sorted(v & g)} are on both sides of the '|' in P(...)")
        object.__setattr__(self, "variables", v)
        object.__setattr__(self, "given", g)
        object.__setattr__(self, "_free", v | g)

    @classmethod
    def _make(cls, variables: frozenset[str], given: frozenset[str]) -> P:
        """Unchecked constructor for internal use (variables non-empty and disjoint from given)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "variables", variables)
        object.__setattr__(obj, "given", given)
        object.__setattr__(obj, "_free", variables | given)
        return obj

    def _evaluate(self, ctx: Context) -> Factor:
        return ctx.probability(
            tuple(_sorted(self.variables)), tuple(_sorted(self.given)), str(self)
        )


@dataclass(frozen=True, slots=True, init=False)
class Sum(Expression):
    """``Σ_{variables} expression``: the sum over all values of ``variables``.

    The sum binds its variables: they are not free variables of the result. Variables that do
    not occur in ``expression`` are ignored (and dropped by ``simplify``).

    Parameters
    ----------
    variables : str or iterable of str
        The summed variables.
    expression : Expression
        The body of the sum.

    Examples
    --------
    >>> t = pd.DataFrame({"A": [0, 0, 1, 1], "B": [0, 1, 0, 1], "probability": [.1, .3, .2, .4]})
    >>> s = Sum("A", P(["A", "B"]))
    >>> print(s)
    Σ_{A} P(A, B)
    >>> s.table(t).round(3).tolist()  # P(B = 0), P(B = 1)
    [0.3, 0.7]
    """

    variables: frozenset[str]
    expression: Expression
    _free: frozenset[str] = field(repr=False, compare=False, hash=False)

    def __init__(self, variables: str | Iterable[str], expression: Expression) -> None:
        if not isinstance(expression, Expression):
            raise TypeError(f"Sum needs an Expression, got {type(expression).__name__}")
        v = _as_names(variables, "summation variables")
        object.__setattr__(self, "variables", v)
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "_free", expression._free - v)  # type: ignore[attr-defined]

    @classmethod
    def _make(cls, variables: frozenset[str], expression: Expression) -> Sum:
        """Unchecked constructor for internal use."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "variables", variables)
        object.__setattr__(obj, "expression", expression)
        object.__setattr__(obj, "_free", expression._free - variables)  # type: ignore[attr-defined]
        return obj

    def _evaluate(self, ctx: Context) -> Factor:
        return ctx.marginalise(ctx.eval(self.expression), self.variables)


@dataclass(frozen=True, slots=True, init=False)
class Product(Expression):
    """The product of ``factors`` (``a * b``); the empty product is the constant :data:`ONE`.

    Parameters
    ----------
    factors : iterable of Expression
        The factors, in the order they are printed.

    Examples
    --------
    >>> t = pd.DataFrame({"A": [0, 0, 1, 1], "B": [0, 1, 0, 1], "probability": [.1, .3, .2, .4]})
    >>> chain = Product((P("A", given="B"), P("B")))
    >>> print(chain)
    P(A | B) P(B)
    >>> chain.table(t).round(3).tolist()  # equals the joint P(A, B)
    [0.1, 0.3, 0.2, 0.4]
    """

    factors: tuple[Expression, ...]
    _free: frozenset[str] = field(repr=False, compare=False, hash=False)

    def __init__(self, factors: Iterable[Expression]) -> None:
        fs = tuple(factors)
        for f in fs:
            if not isinstance(f, Expression):
                raise TypeError(f"Product needs Expressions, got {type(f).__name__}")
        object.__setattr__(self, "factors", fs)
        object.__setattr__(self, "_free", frozenset().union(*(f._free for f in fs)))  # type: ignore[attr-defined]

    @classmethod
    def _make(cls, factors: tuple[Expression, ...]) -> Product:
        """Unchecked constructor for internal use."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "factors", factors)
        object.__setattr__(obj, "_free", frozenset().union(*(f._free for f in factors)))  # type: ignore[attr-defined]
        return obj

    def _evaluate(self, ctx: Context) -> Factor:
        return ctx.product([ctx.eval(f) for f in self.factors])


@dataclass(frozen=True, slots=True, init=False)
class Fraction(Expression):
    """``numerator / denominator`` (``a / b``), undefined (NaN) where the denominator is 0.

    Parameters
    ----------
    numerator, denominator : Expression
        The two parts.

    Examples
    --------
    >>> t = pd.DataFrame({"A": [0, 0, 1, 1], "B": [0, 1, 0, 1], "probability": [.1, .3, .2, .4]})
    >>> f = Fraction(P(["A", "B"]), P("B"))
    >>> print(f.simplify())
    P(A | B)
    >>> f.table(t).round(3).tolist()  # P(A | B), the same as P("A", given="B")
    [0.333, 0.429, 0.667, 0.571]
    """

    numerator: Expression
    denominator: Expression
    _free: frozenset[str] = field(repr=False, compare=False, hash=False)

    def __init__(self, numerator: Expression, denominator: Expression) -> None:
        for part in (numerator, denominator):
            if not isinstance(part, Expression):
                raise TypeError(f"Fraction needs Expressions, got {type(part).__name__}")
        object.__setattr__(self, "numerator", numerator)
        object.__setattr__(self, "denominator", denominator)
        object.__setattr__(self, "_free", numerator._free | denominator._free)  # type: ignore[attr-defined]

    def _evaluate(self, ctx: Context) -> Factor:
        num, den = ctx.eval(self.numerator), ctx.eval(self.denominator)
        return ctx.fraction(num, den, f"the denominator {self.denominator}")


ONE = Product(())
"""The constant 1 (an empty product)."""


def _all_variables(e: Expression) -> frozenset[str]:
    if isinstance(e, P):
        return e._free
    if isinstance(e, Sum):
        return e.variables | _all_variables(e.expression)
    if isinstance(e, Product):
        return frozenset().union(*(_all_variables(f) for f in e.factors))
    if isinstance(e, Fraction):
        return _all_variables(e.numerator) | _all_variables(e.denominator)
    raise TypeError(f"not an expression: {e!r}")


def _render(e: Expression, style: str, scope: frozenset[str], rename: dict[str, str]) -> str:
    sym = _SYMBOLS[style]
    if isinstance(e, P):
        text = _names_text(e.variables, style, rename)
        if e.given:
            text += sym["mid"] + _names_text(e.given, style, rename)
        return f"P({text})"
    if isinstance(e, Sum):
        inner = dict(rename)
        for v in _sorted(e.variables):
            if v in scope:  # shadows a variable in use outside: prime it
                inner[v] = rename.get(v, v) + "'"
        body = _render(e.expression, style, scope | e.variables, inner)
        if isinstance(e.expression, Fraction) and style != "latex":
            body = f"({body})"
        return f"{sym['sum']}_{{{_names_text(e.variables, style, inner)}}} {body}"
    if isinstance(e, Product):
        if not e.factors:
            return sym["one"]
        parts = []
        for i, f in enumerate(e.factors):
            text = _render(f, style, scope, rename)
            last = i == len(e.factors) - 1
            if isinstance(f, Sum) and not last:
                text = f"\\left[{text}\\right]" if style == "latex" else f"[{text}]"
            elif isinstance(f, Product) or (isinstance(f, Fraction) and style != "latex"):
                text = f"({text})"
            parts.append(text)
        return " ".join(parts)
    if isinstance(e, Fraction):
        num = _render(e.numerator, style, scope, rename)
        den = _render(e.denominator, style, scope, rename)
        if style == "latex":
            return f"\\frac{{{num}}}{{{den}}}"
        if not isinstance(e.numerator, P):
            num = f"({num})"
        if not isinstance(e.denominator, P):
            den = f"({den})"
        return f"{num} / {den}"
    raise TypeError(f"not an expression: {e!r}")


_Memo = dict[int, tuple[Expression, Expression]]


def _factors(e: Expression) -> list[Expression]:
    return list(e.factors) if isinstance(e, Product) else [e]


def _product(factors: Sequence[Expression]) -> Expression:
    return factors[0] if len(factors) == 1 else Product._make(tuple(factors))


def _merge_chain(factors: list[Expression]) -> list[Expression]:
    """Collapse ``P(A | B, C) P(B | C)`` into ``P(A, B | C)`` until nothing changes.

    Each pass merges the first pair (in factor order) found through an index of the factors
    by scope, so a pass costs O(n) rather than O(n^2) comparisons.
    """
    while True:
        by_scope: dict[frozenset[str], list[int]] = {}
        for j, b in enumerate(factors):
            if isinstance(b, P):
                by_scope.setdefault(b._free, []).append(j)  # type: ignore[attr-defined]
        for i, a in enumerate(factors):
            if not isinstance(a, P) or a.variables & a.given:
                continue
            j = next((j for j in by_scope.get(a.given, ()) if j != i), None)
            if j is not None:
                b = factors[j]
                merged = P._make(a.variables | b.variables, b.given)  # type: ignore[union-attr]
                keep = [f for k, f in enumerate(factors) if k not in (i, j)]
                keep.insert(min(i, j), merged)
                factors = keep
                break
        else:
            return factors


def _simp_product(e: Product, memo: _Memo) -> Expression:
    flat: list[Expression] = []
    for f in e.factors:
        f = _simp(f, memo)
        flat.extend(f.factors if isinstance(f, Product) else [f])
    n_flat = len(flat)
    flat = _merge_chain(flat)
    fractions = [f for f in flat if isinstance(f, Fraction)]
    if fractions:  # a (b / c) -> (a b) / c, so common factors can cancel
        nums = [f.numerator if isinstance(f, Fraction) else f for f in flat]
        dens = [f.denominator for f in fractions]
        return Fraction(_product(nums), _product(dens))
    out = ONE if not flat else _product(flat)
    if len(flat) == n_flat:  # simplified factors, nothing merged: no rule applies to the result
        memo[id(out)] = (out, out)
    return out


def _sum_out_heads(
    factors: list[Expression], bound: frozenset[str]
) -> tuple[list[Expression], frozenset[str]]:
    """Sum out each variable that occurs in a single factor, left of its '|':
    ``Σ_a P(a, B | C) g = P(B | C) g`` (a worklist, linear in the number of factors)."""
    slots: list[Expression | None] = list(factors)
    holders: dict[str, set[int]] = {v: set() for v in bound}
    for i, f in enumerate(factors):
        for v in f._free & bound:  # type: ignore[attr-defined]
            holders[v].add(i)
    todo = [v for v in bound if len(holders[v]) == 1]
    removed: set[str] = set()
    while todo:
        v = todo.pop()
        if v in removed or len(holders[v]) != 1:
            continue
        (i,) = holders[v]
        f = slots[i]
        if not isinstance(f, P) or v not in f.variables:
            continue
        removed.add(v)
        holders[v] = set()
        rest = f.variables - {v}
        if rest:
            slots[i] = P._make(rest, f.given)
            continue
        slots[i] = None  # Σ_v P(v | C) = 1: the whole factor goes
        for u in f.given & bound:
            holders[u].discard(i)
            if len(holders[u]) == 1:
                todo.append(u)
    return [f for f in slots if f is not None], bound - removed


def _simp_sum(e: Sum, memo: _Memo) -> Expression:
    body = _simp(e.expression, memo)
    bound = e.variables & body._free  # type: ignore[attr-defined]
    if bound != e.variables & e.expression._free:  # type: ignore[attr-defined]
        # the body became constant in a summed variable (e.g. Σ_a P(a) / P(a)): the sum would
        # multiply by the number of values, which an expression cannot say; keep it as it was
        return e
    if not bound:
        return body
    if isinstance(body, Sum):
        return Sum(bound | body.variables, body.expression)
    if isinstance(body, P):
        if bound & body.given:
            return Sum(bound, body)
        rest = body.variables - bound
        return P._make(rest, body.given) if rest else ONE
    if isinstance(body, Fraction):
        if not (body.denominator._free & bound):  # type: ignore[attr-defined]
            return Fraction(Sum(bound, body.numerator), body.denominator)
        return Sum(bound, body)
    factors = _factors(body)
    outside = [f for f in factors if not (f._free & bound)]  # type: ignore[attr-defined]
    inside = [f for f in factors if f._free & bound]  # type: ignore[attr-defined]
    n_bound = len(bound)
    inside, bound = _sum_out_heads(inside, bound)
    stable = len(bound) == n_bound  # no term changed: the regrouped result is final
    outside += [f for f in inside if not (f._free & bound)]  # type: ignore[attr-defined]
    inside = [f for f in inside if f._free & bound]  # type: ignore[attr-defined]
    # split into independent groups: Σ_{a,b} f(a) g(b) = Σ_a f(a) Σ_b g(b)
    grouped = connected_groups(inside, [f._free & bound for f in inside])  # type: ignore[attr-defined]
    groups = [(frozenset().union(*(f._free for f in fs)) & bound, fs) for fs in grouped]  # type: ignore[attr-defined]
    # textbook order inside a sum: terms that depend on more outer variables first, sums last
    sums: list[Expression] = [
        Sum._make(
            vs, _product(sorted(fs, key=lambda f, vs=vs: (isinstance(f, Sum), -len(f._free - vs))))
        )  # type: ignore[attr-defined]
        for vs, fs in groups
    ]
    if outside or len(sums) > 1:  # smaller sums than e: simplify them now (memoised)
        sums = [_simp(x, memo) for x in sums]
    # keep the original order of factors: outside ones first, then the sums (textbook style)
    out = outside + sums
    result = ONE if not out else _product(out)
    if stable:
        memo[id(result)] = (result, result)
    return result


def _simp_fraction(e: Fraction, memo: _Memo) -> Expression:
    num, den = _simp(e.numerator, memo), _simp(e.denominator, memo)
    if isinstance(num, Fraction):
        num, den = num.numerator, Product((num.denominator, den))
        den = _simp(den, memo)
    if isinstance(den, Fraction):
        num, den = _simp(Product((num, den.denominator)), memo), den.numerator
    if den == ONE:
        return num
    if num == den:
        return ONE
    nf, df = _factors(num), _factors(den)
    for d in list(df):  # cancel common factors
        if d in nf:
            nf.remove(d)
            df.remove(d)
    for d in list(df):  # P(A, B | C) / P(B | C) = P(A | B, C)
        if not isinstance(d, P):
            continue
        for i, n in enumerate(nf):
            if isinstance(n, P) and n.given == d.given and d.variables < n.variables:
                nf[i] = P._make(n.variables - d.variables, n.given | d.variables)
                df.remove(d)
                break
    if len(nf) == 1 and isinstance(nf[0], Sum) and len(df) == 1:
        s, d = nf[0], df[0]
        if not (d._free & s.variables):  # type: ignore[attr-defined]
            # Σ_V f / d = Σ_V (f / d) when d does not depend on V; keep it if it simplifies
            pushed = _simp(Fraction(s.expression, d), memo)
            if not isinstance(pushed, Fraction):
                return Sum(s.variables, pushed)
    num = ONE if not nf else _product(nf)
    return num if not df else Fraction(num, _product(df))


def _dispatch(e: Expression, memo: _Memo) -> Expression:
    if isinstance(e, P):
        return e
    if isinstance(e, Product):
        return _simp_product(e, memo)
    if isinstance(e, Sum):
        return _simp_sum(e, memo)
    if isinstance(e, Fraction):
        return _simp_fraction(e, memo)
    raise TypeError(f"not an expression: {e!r}")


def _simp(e: Expression, memo: _Memo) -> Expression:
    """Simplify ``e`` to a fixed point; memoised by id, so shared and already simplified
    subtrees cost nothing (the memo keeps the objects alive, so ids are not reused)."""
    if type(e) is P:
        return e
    hit = memo.get(id(e))
    if hit is not None:
        return hit[1]
    out = e
    for _ in range(50):
        if out is not e and (hit := memo.get(id(out))) is not None:
            out = hit[1]  # a result the rules already know to be final
            break
        new = _dispatch(out, memo)
        if new is out or new == out:
            break
        out = new
    memo[id(e)] = (e, out)
    memo[id(out)] = (out, out)
    return out


def simplify(expression: Expression) -> Expression:
    """Return an equivalent expression in textbook form.

    Rules: drop sums over variables that do not occur; sum a variable out of the one term it
    occurs in (``Σ_a P(a, B | C) = P(B | C)``, ``Σ_a P(a | C) = 1``); pull factors that do not
    depend on the summed variables out of a sum; collapse chain-rule products
    (``P(A | B, C) P(B | C) = P(A, B | C)``); cancel common factors of fractions and turn
    ``P(A, B | C) / P(B | C)`` into ``P(A | B, C)``. Like all symbolic algebra it assumes
    positivity (``0/0`` cancels).

    >>> print(simplify(Fraction(Sum("W", P(["W", "X", "Y"])), Sum(["W", "Y"], P(["W", "X", "Y"])))))
    P(Y | X)
    """
    return _simp(expression, {})
