"""Estimands with values: probability terms whose variables are fixed to values or to summation
indices, as ID* produces them (``Σ_{Z} P(Y=1 | X=1, Z) P(X=0, Z)``, where X takes two values).

The interventional terms come from :func:`~deepcause.identification.identify` as ordinary
:class:`~deepcause.identification.Expression` trees over variable names; :func:`bind` turns such a
tree into this form by giving each free variable a value and each summed variable a fresh
:class:`~.worlds.Symbol`. :func:`evaluate` computes the number on discrete data or a joint table.

>>> z = Symbol("Z")
>>> e = total([z], prod([Term((("Y", 1),), (("X", 1), ("Z", z))), Term((("X", 0), ("Z", z)))]))
>>> print(render(e))
Σ_{Z} P(Y=1 | X=1, Z) P(X=0, Z)
>>> t = pd.DataFrame({"Z": [0, 0, 0, 0, 1, 1, 1, 1], "X": [0, 0, 1, 1] * 2,
...                   "Y": [0, 1] * 4, "probability": [.2, .1, .05, .05, .1, .1, .1, .3]})
>>> round(evaluate(e, t), 4)
0.3
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import DataValidationError
from .._names import _latex_name, _natkey
from ..evaluate import Prepared, prepare, py_value
from ..expressions import Expression, Fraction, P, Product, Sum
from .worlds import Symbol

__all__ = ["Node", "Term", "Total", "Prod", "Ratio", "Indicator", "Const", "ZERO", "ONE"]

Pair = tuple[str, Any]


class Node:
    """Base class of the estimand tree of a
    :class:`~deepcause.identification.counterfactual.CounterfactualEstimand` (its
    ``expression``): :class:`Term`, :class:`Total`, :class:`Prod`, :class:`Ratio`,
    :class:`Indicator` and :class:`Const`. Trees are immutable and print with :func:`render`.

    Examples
    --------
    >>> from deepcause.identification.counterfactual import identify_counterfactual, cf
    >>> est = identify_counterfactual("X -> Y", [cf("Y", {"X": 1}) == 1])
    >>> isinstance(est.expression, Node), render(est.expression)
    (True, 'P(Y=1 | X=1)')
    """

    __slots__ = ()


@dataclass(frozen=True)
class Term(Node):
    """``P(assign | given)`` with each variable at a value or a summation index.

    Parameters
    ----------
    assign, given : tuple of (str, value) pairs
        Variable names with a constant value or a :class:`~.worlds.Symbol` (summation index);
        stored sorted by name.

    Examples
    --------
    >>> render(Term((("Y", 1),), given=(("X", 0),)))
    'P(Y=1 | X=0)'
    """

    assign: tuple[Pair, ...]
    given: tuple[Pair, ...] = ()

    def __post_init__(self) -> None:  # one spelling per term: pairs in natural name order
        for name in ("assign", "given"):
            pairs = tuple(sorted(getattr(self, name), key=lambda p: _natkey(p[0])))
            object.__setattr__(self, name, pairs)


@dataclass(frozen=True)
class Total(Node):
    """``Σ_{symbols} body``: a sum over the values of summation indices.

    Parameters
    ----------
    symbols : tuple of Symbol
        The summation indices.
    body : Node
        The summand.

    Examples
    --------
    >>> z = Symbol("Z")
    >>> render(Total((z,), Term((("Y", 1), ("Z", z)))))
    'Σ_{Z} P(Y=1, Z)'
    """

    symbols: tuple[Symbol, ...]
    body: Node


@dataclass(frozen=True)
class Prod(Node):
    """A product of ``factors`` (a tuple of nodes; :func:`prod` builds simplified ones).

    Examples
    --------
    >>> render(Prod((Term((("Y", 1),), (("X", 1),)), Term((("X", 1),)))))
    'P(Y=1 | X=1) P(X=1)'
    """

    factors: tuple[Node, ...]


@dataclass(frozen=True)
class Ratio(Node):
    """The quotient ``num / den`` of two nodes.

    Examples
    --------
    >>> render(Ratio(Term((("X", 1), ("Y", 1))), Term((("X", 1),))))
    'P(X=1, Y=1) / P(X=1)'
    """

    num: Node
    den: Node


@dataclass(frozen=True)
class Indicator(Node):
    """``[a = b]``: 1 when the summation index ``a`` equals ``b`` (a value or an index).

    Examples
    --------
    >>> render(Indicator(Symbol("Z"), 1))
    '[Z = 1]'
    """

    a: Symbol
    b: Any


@dataclass(frozen=True)
class Const(Node):
    """The constant ``value`` (``ZERO`` and ``ONE`` are the two the algorithm produces).

    Examples
    --------
    >>> render(Const(1)), ONE == Const(1)
    ('1', True)
    """

    value: int


ZERO, ONE = Const(0), Const(1)


def prod(factors: Iterable[Node]) -> Node:
    """A product with ones dropped, nested products flattened and zero absorbing."""
    flat: list[Node] = []
    for f in factors:
        if f == ZERO:
            return ZERO
        if isinstance(f, Prod):
            flat.extend(f.factors)
        elif f != ONE:
            flat.append(f)
    return ONE if not flat else flat[0] if len(flat) == 1 else Prod(tuple(flat))


def total(symbols: Iterable[Symbol], body: Node) -> Node:
    syms = tuple(symbols)
    if body == ZERO or not syms:
        return body
    if isinstance(body, Total):
        return Total(syms + body.symbols, body.body)
    return Total(syms, body)


def ratio(num: Node, den: Node) -> Node:
    return num if num == ZERO or den == ONE else Ratio(num, den)


def bind(e: Expression, values: Mapping[str, Any]) -> Node:
    """The tree of ``e`` with its free variables at ``values`` and summed ones as indices."""
    if isinstance(e, P):
        return Term(_pairs(e.variables, values), _pairs(e.given, values))
    if isinstance(e, Sum):
        syms = {v: Symbol(v) for v in sorted(e.variables, key=_natkey)}
        return total(syms.values(), bind(e.expression, {**values, **syms}))
    if isinstance(e, Product):
        return prod(bind(f, values) for f in e.factors)
    if isinstance(e, Fraction):
        return ratio(bind(e.numerator, values), bind(e.denominator, values))
    raise TypeError(f"not an expression: {e!r}")  # pragma: no cover


def _pairs(names: Iterable[str], values: Mapping[str, Any]) -> tuple[Pair, ...]:
    return tuple((v, values[v]) for v in sorted(names, key=_natkey))


def substitute(node: Node, symbol: Symbol, value: Any) -> Node:
    """``node`` with the index ``symbol`` replaced by ``value``."""

    def sub(pairs: tuple[Pair, ...]) -> tuple[Pair, ...]:
        return tuple((k, value if v == symbol else v) for k, v in pairs)

    if isinstance(node, Term):
        return Term(sub(node.assign), sub(node.given))
    if isinstance(node, Total):
        return total(node.symbols, substitute(node.body, symbol, value))
    if isinstance(node, Prod):
        return prod(substitute(f, symbol, value) for f in node.factors)
    if isinstance(node, Ratio):
        return ratio(substitute(node.num, symbol, value), substitute(node.den, symbol, value))
    if isinstance(node, Indicator):
        b = value if node.b == symbol else node.b
        return Indicator(value, b) if node.a == symbol else Indicator(node.a, b)  # type: ignore[arg-type]
    return node


def variables(node: Node) -> set[str]:
    """Every variable a tree mentions (the data columns it needs)."""
    if isinstance(node, Term):
        return {k for k, _ in node.assign + node.given}
    if isinstance(node, Total):
        return variables(node.body) | {s.variable for s in node.symbols}
    if isinstance(node, Prod):
        return set().union(*(variables(f) for f in node.factors))
    if isinstance(node, Ratio):
        return variables(node.num) | variables(node.den)
    if isinstance(node, Indicator):
        return {node.a.variable}
    return set()


def _uses(node: Node, symbol: Symbol) -> int:
    """How many times ``symbol`` occurs in ``node``."""
    if isinstance(node, Term):
        return sum(v == symbol for _, v in node.assign + node.given)
    if isinstance(node, Total):
        return _uses(node.body, symbol)
    if isinstance(node, Prod):
        return sum(_uses(f, symbol) for f in node.factors)
    if isinstance(node, Ratio):
        return _uses(node.num, symbol) + _uses(node.den, symbol)
    if isinstance(node, Indicator):
        return (node.a == symbol) + (node.b == symbol)
    return 0


def _chain(factors: list[Node]) -> list[Node]:
    """``P(A | B, C) P(B | C) = P(A, B | C)`` until nothing merges."""
    for i, a in enumerate(factors):
        for j, b in enumerate(factors):
            terms = i != j and isinstance(a, Term) and isinstance(b, Term)
            if terms and set(a.given) == set(b.assign + b.given):  # type: ignore[union-attr]
                merged = Term(a.assign + b.assign, b.given)  # type: ignore[union-attr]
                rest = [f for k, f in enumerate(factors) if k not in (i, j)]
                return _chain([*rest[: min(i, j)], merged, *rest[min(i, j) :]])
    return factors


def simplify(node: Node) -> Node:
    """Chain-rule products merged and summed indices that occur once, left of a '|', dropped
    (``Σ_z P(z, A | C) = P(A | C)``).

    >>> z = Symbol("Z")
    >>> print(render(simplify(total([z], prod([Term((("X", 0),), (("Z", z),)), Term((("Z", z),))])))))
    P(X=0)
    """
    if isinstance(node, Prod):
        return prod(_chain([simplify(f) for f in node.factors]))
    if isinstance(node, Ratio):
        num, den = simplify(node.num), simplify(node.den)
        if isinstance(num, Prod) and den in num.factors:  # cancel a common factor
            rest = list(num.factors)
            rest.remove(den)
            return prod(rest)
        return ratio(num, den)
    if not isinstance(node, Total):
        return node
    body, keep = simplify(node.body), []
    for sym in node.symbols:
        factors = list(body.factors) if isinstance(body, Prod) else [body]
        hits = [k for k, f in enumerate(factors) if _uses(f, sym)]
        f = factors[hits[0]] if len(hits) == 1 else None
        if isinstance(f, Term) and _uses(f, sym) == 1 and any(v == sym for _, v in f.assign):
            assign = tuple(p for p in f.assign if p[1] != sym)
            factors[hits[0]] = Term(assign, f.given) if assign else ONE
            body = simplify(prod(factors))
        else:
            keep.append(sym)
    return total(keep, body)


# ----------------------------------------------------------------------------- printing


def _symbol_names(node: Node, names: dict[Symbol, str], used: dict[str, int]) -> None:
    """Name each index after its variable, priming later indices of the same variable."""
    if isinstance(node, Total):
        for s in node.symbols:
            k = used.get(s.variable, 0)
            used[s.variable] = k + 1
            names[s] = s.variable + "'" * k
        _symbol_names(node.body, names, used)
    elif isinstance(node, Prod):
        for f in node.factors:
            _symbol_names(f, names, used)
    elif isinstance(node, Ratio):
        _symbol_names(node.num, names, used)
        _symbol_names(node.den, names, used)


def render(node: Node, style: str = "unicode") -> str:
    """Text (``"unicode"`` or ``"ascii"``) or ``"latex"`` notation of a tree."""
    names: dict[Symbol, str] = {}
    _symbol_names(node, names, {})
    return _render(node, style, names)


def _value(v: Any, style: str, names: Mapping[Symbol, str]) -> str:
    if isinstance(v, Symbol):
        return (
            _latex_name(names.get(v, v.variable)) if style == "latex" else names.get(v, v.variable)
        )
    return str(py_value(v))


def pair_text(pairs: Sequence[Pair], style: str, names: Mapping[Symbol, str]) -> str:
    eq = "{=}" if style == "latex" else "="
    out = []
    for k, v in pairs:
        if isinstance(v, Symbol):
            out.append(_value(v, style, names))
        else:
            out.append((_latex_name(k) if style == "latex" else k) + eq + _value(v, style, names))
    return ", ".join(out)


def _render(node: Node, style: str, names: Mapping[Symbol, str]) -> str:
    latex = style == "latex"
    if isinstance(node, Term):
        text = pair_text(node.assign, style, names)
        if node.given:
            text += (" \\mid " if latex else " | ") + pair_text(node.given, style, names)
        return f"P({text})"
    if isinstance(node, Total):
        sym = "\\sum" if latex else "sum" if style == "ascii" else "Σ"
        idx = ", ".join(_value(s, style, names) for s in node.symbols)
        body = _render(node.body, style, names)
        if isinstance(node.body, Ratio) and not latex:
            body = f"({body})"
        return f"{sym}_{{{idx}}} {body}"
    if isinstance(node, Prod):
        parts = []
        for i, f in enumerate(node.factors):
            text = _render(f, style, names)
            if isinstance(f, Total) and i < len(node.factors) - 1:
                text = f"\\left[{text}\\right]" if latex else f"[{text}]"
            elif isinstance(f, Ratio) and not latex:
                text = f"({text})"
            parts.append(text)
        return " ".join(parts)
    if isinstance(node, Ratio):
        num, den = _render(node.num, style, names), _render(node.den, style, names)
        if latex:
            return f"\\frac{{{num}}}{{{den}}}"
        num = num if isinstance(node.num, Term) else f"({num})"
        den = den if isinstance(node.den, Term) else f"({den})"
        return f"{num} / {den}"
    if isinstance(node, Indicator):
        a, b = _value(node.a, style, names), _value(node.b, style, names)
        return f"\\mathbb{{1}}[{a} = {b}]" if latex else f"[{a} = {b}]"
    return str(node.value)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- evaluation

_Factor = tuple[tuple[Symbol, ...], np.ndarray]


class _Evaluator:
    """Dense factors with one axis per free summation index."""

    def __init__(self, data: Prepared) -> None:
        self.data = data

    def size(self, s: Symbol) -> int:
        return len(self.data.domains[s.variable])

    def position(self, var: str, value: Any) -> int:
        undefined = "; the estimand is undefined there: use values that occur, or more data"
        return self.data.position(var, value, "the value", undefined)

    def marginal(self, pairs: tuple[Pair, ...]) -> _Factor:
        arr = self.data.marginal(tuple(k for k, _ in pairs))
        index = tuple(
            slice(None) if isinstance(v, Symbol) else self.position(k, v) for k, v in pairs
        )
        return tuple(v for _, v in pairs if isinstance(v, Symbol)), arr[index] if pairs else arr

    def align(self, factors: Sequence[_Factor]) -> tuple[tuple[Symbol, ...], list[np.ndarray]]:
        order: list[Symbol] = []
        for syms, _ in factors:
            order.extend(s for s in syms if s not in order)
        out = []
        for syms, arr in factors:
            perm = [syms.index(s) for s in order if s in syms]
            shape = [self.size(s) if s in syms else 1 for s in order]
            out.append(np.reshape(np.transpose(arr, perm) if syms else arr, shape))
        return tuple(order), out

    def divide(self, num: _Factor, den: _Factor) -> _Factor:
        order, (a, b) = self.align([num, den])
        with np.errstate(invalid="ignore", divide="ignore"):
            return order, np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)

    def eval(self, node: Node) -> _Factor:
        if isinstance(node, Term):
            joint = self.marginal(node.assign + node.given)
            return self.divide(joint, self.marginal(node.given)) if node.given else joint
        if isinstance(node, Total):
            syms, arr = self.eval(node.body)
            for s in node.symbols:  # an index the body does not use counts every value
                if s not in syms:
                    syms, arr = (*syms, s), np.repeat(arr[..., None], self.size(s), axis=-1)
            axes = tuple(i for i, s in enumerate(syms) if s in node.symbols)
            return tuple(s for s in syms if s not in node.symbols), np.sum(arr, axis=axes)
        if isinstance(node, Prod):
            order, arrays = self.align([self.eval(f) for f in node.factors])
            zero = np.zeros((1,) * len(order), dtype=bool)
            out = np.ones((1,) * len(order))
            for a in arrays:  # a term multiplied by a zero probability is zero
                zero, out = zero | (a == 0), out * a
            return order, np.where(zero, 0.0, out)
        if isinstance(node, Ratio):
            return self.divide(self.eval(node.num), self.eval(node.den))
        if isinstance(node, Indicator):
            return self.indicator(node)
        return (), np.array(float(node.value))  # type: ignore[attr-defined]

    def indicator(self, node: Indicator) -> _Factor:
        n = self.size(node.a)
        if isinstance(node.b, Symbol):
            return (node.a, node.b), np.eye(n)
        return (node.a,), (np.arange(n) == self.position(node.a.variable, node.b)).astype(float)


def evaluate(node: Node, data: pd.DataFrame | pd.Series, weights: str | None = None) -> float:
    """The value of a tree without free indices on samples or a joint probability table."""
    syms, arr = _Evaluator(prepare(data, variables(node), weights)).eval(node)
    if syms:  # pragma: no cover - ID* binds every index it introduces
        raise ValueError(f"the estimand has free indices {syms}")
    value = float(arr)
    if np.isnan(value):
        raise DataValidationError(
            "positivity violation: the estimand divides by the probability of an event that "
            "never occurs in the data; collect data where the conditioning values occur"
        )
    return value
