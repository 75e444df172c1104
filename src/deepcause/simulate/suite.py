"""A suite of ground-truth SCMs for testing and benchmarking causal generative models.

Every :class:`SimulatorCase` holds an :class:`~deepcause.simulate.scm.SCM`, a query ``P(outcome |
do(treatment = v))`` for a few values ``v`` and flags saying what a correct model can recover.
The truth is computed by intervening on the simulator (:meth:`SimulatorCase.truth`); hidden
confounders are latent nodes of the SCM, realised explicitly when simulating and left out of
the observed data (:meth:`SimulatorCase.sample`), so a model sees them only as bidirected edges
of :attr:`SimulatorCase.graph`.

Graphs: ``chain``, ``fork``, ``collider``, ``diamond`` and a 10-node ``ladder``, each with three
mechanism families: ``linear`` (linear-Gaussian), ``nonlinear`` (nonlinear additive, non-Gaussian
noise) and ``heteroscedastic`` (non-additive: the noise scale depends on the parents); plus
``binary`` (0/1 nodes), ``vector`` (a 16-dimensional mediator), ``mediator_multiplicative``
(positive nodes with multiplicative noise ``f(pa) * exp(u)``), ``mediator_location_scale``
(parent-dependent scale, skewed noise) and the latent-confounder graphs
``frontdoor`` (W -> X -> M -> Y, W -> Y, X <-> Y), ``napkin`` (W1 -> W2 -> X -> Y, W1 <-> X,
W1 <-> Y) and ``bow_mediator`` (X -> M -> Y, X <-> Y), where ``P(Y | do(X))`` is identifiable,
and ``bow`` (X -> Y, X <-> Y), where it is not.

>>> case = get_case("chain_linear")
>>> case.treatment, case.outcome, str(case.graph)
('A', 'C', 'A -> B; B -> C')
>>> round(float(case.truth(20000, 1.0, random_state=0)["C"].mean()), 1)
-0.8
>>> len(simulator_suite()) >= 20
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..datasets.dataset import CausalDataset
from ..exceptions import UnknownNodeError
from .scm import SCM, Node, gaussian, gumbel, laplace, uniform

if TYPE_CHECKING:  # pragma: no cover
    from ..graph.causal_graph import CausalGraph

__all__ = ["SimulatorCase", "simulator_suite", "get_case", "GRAPHS", "FAMILIES", "LATENT_CASES"]

GRAPHS = ("chain", "fork", "collider", "diamond", "ladder")
FAMILIES = ("linear", "nonlinear", "heteroscedastic")
LATENT_CASES = ("frontdoor", "napkin", "bow_mediator", "bow")

Fn = Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SimulatorCase:
    """One ground-truth SCM plus the interventional query to check.

    Parameters
    ----------
    name, family : str
        The case's name (``"chain_linear"``) and mechanism family (``"linear"``, ``"latent"``...).
    scm : SCM
        The simulator; latent nodes are hidden confounders.
    treatment, outcome : str
        The query ``P(outcome | do(treatment = v))``.
    do_values : tuple of float
        The values ``v`` to check.
    invertible : bool, default True
        Every observed node is strictly monotone in its own scalar noise, so unit
        counterfactuals are identified (for models without latent confounding).
    identifiable : bool, default True
        ``P(outcome | do(treatment))`` is identifiable from the observed graph.

    Examples
    --------
    >>> case = get_case("bow")
    >>> str(case.graph), case.has_latent, case.identifiable
    ('X -> Y; X <-> Y', True, False)
    >>> case.sample(5, random_state=0).shape
    (5, 2)
    """

    name: str
    family: str
    scm: SCM
    treatment: str
    outcome: str
    do_values: tuple[float, ...]
    invertible: bool = True
    identifiable: bool = True

    @property
    def graph(self) -> CausalGraph:
        """The observed causal graph (latent nodes projected out into bidirected edges)."""
        return self.scm.graph

    @property
    def has_latent(self) -> bool:
        """Whether the observed graph has bidirected edges (hidden confounding)."""
        return bool(self.graph.bidirected_edges)

    @property
    def node_columns(self) -> dict[str, list[str]] | None:
        """``node_columns`` for vector nodes (None when every node is one column)."""
        cols = self.scm.node_columns
        return cols if any(len(c) > 1 for c in cols.values()) else None

    def sample(self, n: int, random_state: Any = None) -> pd.DataFrame:
        """Observed training data (latent nodes are simulated but not returned)."""
        return self.scm.sample(n, random_state=random_state)

    def truth(self, n: int, value: float, random_state: Any = None) -> pd.DataFrame:
        """Samples of the observed nodes under ``do(treatment = value)`` on the simulator."""
        return self.scm.sample(n, do={self.treatment: value}, random_state=random_state)

    def outcome_columns(self) -> list[str]:
        """The data columns of the outcome node."""
        return list(self.scm.nodes[self.outcome].columns)

    def dataset(self, n: int, random_state: Any = None, n_truth: int = 100_000) -> CausalDataset:
        """``n`` observed rows as a :class:`~deepcause.datasets.CausalDataset` with its truth.

        ``truth`` holds ``E[outcome | do(treatment = v)]`` for every ``v`` in ``do_values``,
        from ``n_truth`` fresh units of the SCM (the same units under every ``v``).

        Examples
        --------
        >>> ds = get_case("chain_linear").dataset(500, random_state=0)
        >>> ds.treatment, ds.outcome, {k: round(v, 1) for k, v in ds.truth.items()}
        ('A', 'C', {'E[C|do(A=-1)]': 0.8, 'E[C|do(A=1)]': -0.8})
        """
        rng = np.random.default_rng(random_state)
        data = self.scm.sample(n, random_state=rng)
        pop = self.scm.sample_noise(n_truth, int(rng.integers(2**31)))
        t, y = self.treatment, self.outcome
        truth = {
            f"E[{y}|do({t}={v:g})]": float(self.scm.propagate(pop, {t: v})[y].mean())
            for v in self.do_values
        }
        return CausalDataset(
            data,
            {"treatment": t, "outcome": y},
            truth,
            scm=self.scm,
            description=f"simulator case {self.name!r} ({self.family})",
        )


# ----------------------------------------------------------------------------- mechanisms
def _lin(weights: dict[str, float]) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    return lambda pa: sum(w * pa[p] for p, w in weights.items())


def _node(name: str, weights: dict[str, float], family: str, k: int) -> Node:
    """A scalar node of the given family with parent weights (``k`` varies the shapes)."""
    parents = tuple(weights)
    lin = _lin(weights)
    if family == "linear":
        fn: Fn = lambda pa, u: (lin(pa) if parents else 0.0) + u  # noqa: E731
        return Node(name, parents, fn, gaussian(0.6 if parents else 1.0))
    if family == "nonlinear":
        shape = (np.tanh, np.sin, lambda t: 0.3 * t**2)[k % 3]
        fn = lambda pa, u: (  # noqa: E731
            sum(w * shape(pa[p]) + 0.3 * w * pa[p] for p, w in weights.items()) + u
        )
        noise = (laplace(0.35), uniform(-0.8, 0.8), gumbel(0.4))[k % 3]
        return Node(name, parents, fn, noise if parents else gaussian(1.0))
    if family == "heteroscedastic":  # monotone in u, noise scale depends on the parents

        def fn(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
            s = lin(pa) if parents else np.zeros_like(u)
            return np.tanh(s) * 1.5 + 0.3 * s + (0.25 + 0.5 * _sigmoid(s)) * (u + 0.2 * u**3)

        return Node(name, parents, fn, gaussian(1.0))
    if family == "binary":

        def fn(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
            s = (sum(w * (2 * pa[p] - 1) for p, w in weights.items()) if parents else 0.3) * 1.5
            return (u < _sigmoid(s)).astype(float)

        return Node(name, parents, fn, uniform(0.0, 1.0), discrete=True)
    raise ValueError(f"unknown family {family!r}; use one of {FAMILIES + ('binary',)}")


def _sigmoid(s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-s))


_STRUCTURES: dict[str, tuple[list[tuple[str, dict[str, float]]], str, str]] = {
    "chain": ([("A", {}), ("B", {"A": 1.0}), ("C", {"B": -0.8})], "A", "C"),
    "fork": ([("B", {}), ("A", {"B": 0.9}), ("C", {"B": 1.0})], "B", "C"),
    "collider": ([("A", {}), ("B", {}), ("C", {"A": 0.8, "B": -0.7})], "A", "C"),
    "diamond": (
        [("A", {}), ("B", {"A": 0.9}), ("C", {"A": -0.7}), ("D", {"B": 0.8, "C": 0.6})],
        "B",
        "D",
    ),
}


def _ladder() -> tuple[list[tuple[str, dict[str, float]]], str, str]:
    """Two rails X0..X4 and Y0..Y4 with rungs X_i -> Y_i and diagonals X_i -> Y_{i+1}."""
    spec: list[tuple[str, dict[str, float]]] = []
    for i in range(5):
        spec.append((f"X{i}", {f"X{i - 1}": 0.8} if i else {}))
        w = {f"X{i}": 0.6}
        if i:
            w.update({f"Y{i - 1}": 0.5, f"X{i - 1}": -0.3})
        spec.append((f"Y{i}", w))
    return spec, "X1", "Y4"


def _structured(graph: str, family: str) -> SimulatorCase:
    spec, t, y = _ladder() if graph == "ladder" else _STRUCTURES[graph]
    nodes = [_node(name, w, family, k) for k, (name, w) in enumerate(spec)]
    values = (0.0, 1.0) if family == "binary" else (-1.0, 1.0)
    return SimulatorCase(
        f"{graph}_{family}",
        family,
        SCM(nodes),
        t,
        y,
        values,
        invertible=family != "binary",
    )


def _vector() -> SimulatorCase:
    """X -> V (16-dimensional) -> Y, plus X -> Y."""
    rng = np.random.default_rng(16)
    a = rng.normal(size=16)
    b = rng.normal(size=16) / 4.0
    nodes = [
        Node("X", noise=gaussian(1.0)),
        Node(
            "V",
            ("X",),
            lambda pa, u: np.tanh(pa["X"][:, None] * a[None]) + 0.3 * u,
            gaussian(1.0, dim=16),
            dim=16,
        ),
        Node("Y", ("X", "V"), lambda pa, u: pa["V"] @ b + 0.5 * pa["X"] + u, laplace(0.3)),
    ]
    return SimulatorCase("vector_mediator", "vector", SCM(nodes), "X", "Y", (-1.0, 1.0))


def _noise_scale_cases() -> list[SimulatorCase]:
    """Mediator graphs X -> M -> Y, X -> Y whose noise is not additive (both invertible).

    ``multiplicative``: positive nodes ``M = f(X) exp(u)``, ``Y = g(X, M) exp(u)``;
    ``location_scale``: ``M`` and ``Y`` have a parent-dependent scale and skewed noise.
    """

    def m_mult(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        x = pa["X"]
        return np.exp(0.6 * x + 0.3 * np.sin(2 * x)) * np.exp(u)

    def y_mult(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        return (0.5 + pa["M"] ** 0.7 + 0.5 * _sigmoid(2 * pa["X"])) * np.exp(u)

    def m_scale(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        x = pa["X"]
        return np.sin(x) + 0.5 * x + (0.2 + 0.6 * _sigmoid(2 * x)) * u

    def y_scale(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        m, x = pa["M"], pa["X"]
        return 0.8 * m + np.tanh(x) + np.sqrt(0.05 + 0.3 * m**2) * u

    mult = [Node("M", ("X",), m_mult, gaussian(0.4)), Node("Y", ("X", "M"), y_mult, laplace(0.3))]
    scale = [Node("M", ("X",), m_scale, gumbel(0.6)), Node("Y", ("M", "X"), y_scale, laplace(0.5))]
    return [
        SimulatorCase(
            f"mediator_{family}",
            family,
            SCM([Node("X", noise=gaussian(1.0)), *nodes]),
            "X",
            "Y",
            (-1.0, 1.0),
        )
        for family, nodes in (("multiplicative", mult), ("location_scale", scale))
    ]


def _latent(name: str) -> SimulatorCase:
    """Graphs with a hidden confounder ``U`` (a latent node of the simulator)."""
    if name == "frontdoor":
        nodes = [
            Node("U", latent=True),
            Node("W", noise=gaussian(1.0)),
            Node("X", ("U", "W"), lambda pa, u: pa["U"] + 0.5 * pa["W"] + u, gaussian(0.5)),
            Node("M", ("X",), lambda pa, u: np.tanh(pa["X"]) + 0.5 * pa["X"] + u, gaussian(0.8)),
            Node(
                "Y",
                ("M", "U", "W"),
                lambda pa, u: pa["M"] - 1.5 * pa["U"] + 0.5 * pa["W"] + u,
                laplace(0.3),
            ),
        ]
        return SimulatorCase("frontdoor", "latent", SCM(nodes), "X", "Y", (-1.0, 1.0), False)
    if name == "napkin":
        nodes = [
            Node("U1", latent=True),
            Node("U2", latent=True),
            Node("W1", ("U1", "U2"), lambda pa, u: 0.7 * pa["U1"] + 1.5 * pa["U2"] + 0.3 * u),
            Node("W2", ("W1",), lambda pa, u: pa["W1"] + 0.3 * u),
            Node("X", ("W2", "U1"), lambda pa, u: pa["W2"] + 0.5 * pa["U1"] + 0.3 * u),
            Node(
                "Y",
                ("X", "U2"),
                lambda pa, u: np.sin(pa["X"]) + 0.5 * pa["X"] + 1.5 * pa["U2"] + 0.3 * u,
            ),
        ]
        return SimulatorCase("napkin", "latent", SCM(nodes), "X", "Y", (-1.0, 1.0), False)
    if name == "bow_mediator":
        nodes = [
            Node("U", latent=True),
            Node("X", ("U",), lambda pa, u: pa["U"] + 0.6 * u),
            Node("M", ("X",), lambda pa, u: 0.3 * pa["X"] ** 2 + pa["X"] + u, gaussian(0.5)),
            Node(
                "Y", ("M", "U"), lambda pa, u: np.tanh(pa["M"]) - 1.5 * pa["U"] + u, gaussian(0.3)
            ),
        ]
        return SimulatorCase("bow_mediator", "latent", SCM(nodes), "X", "Y", (-1.0, 1.0), False)
    if name == "bow":
        nodes = [
            Node("U", latent=True),
            Node("X", ("U",), lambda pa, u: pa["U"] + 0.6 * u),
            Node("Y", ("X", "U"), lambda pa, u: pa["X"] - 1.5 * pa["U"] + 0.5 * u),
        ]
        return SimulatorCase(
            "bow", "latent", SCM(nodes), "X", "Y", (-1.0, 1.0), False, identifiable=False
        )
    raise UnknownNodeError(f"unknown latent case {name!r}; use one of {LATENT_CASES}")


def simulator_suite(families: Iterable[str] | None = None) -> list[SimulatorCase]:
    """All cases (or those whose ``family`` is in ``families``), in a fixed order.

    Parameters
    ----------
    families : iterable of str, optional
        Keep these families: ``linear``, ``nonlinear``, ``heteroscedastic``, ``binary``,
        ``vector``, ``latent``.

    Returns
    -------
    list of SimulatorCase

    Examples
    --------
    >>> [c.name for c in simulator_suite(["latent"])]
    ['frontdoor', 'napkin', 'bow_mediator', 'bow']
    """
    cases = [_structured(g, f) for f in FAMILIES for g in GRAPHS]
    cases += [_structured(g, "binary") for g in ("chain", "diamond")]
    cases.append(_vector())
    cases += _noise_scale_cases()
    cases += [_latent(name) for name in LATENT_CASES]
    if families is None:
        return cases
    wanted = set(families)
    return [c for c in cases if c.family in wanted]


def get_case(name: str) -> SimulatorCase:
    """The case called ``name`` (e.g. ``"diamond_nonlinear"``, ``"napkin"``).

    Parameters
    ----------
    name : str
        A case name from :func:`simulator_suite`; an unknown name raises ``UnknownNodeError``
        listing the known ones.

    Returns
    -------
    SimulatorCase

    Examples
    --------
    >>> case = get_case("napkin")
    >>> str(case.graph), case.identifiable
    ('W1 -> W2; W2 -> X; X -> Y; W1 <-> X; W1 <-> Y', True)
    """
    for case in simulator_suite():
        if case.name == name:
            return case
    names = [c.name for c in simulator_suite()]
    raise UnknownNodeError(f"unknown simulator case {name!r}; known: {names}")
