"""A small ground-truth structural causal model (SCM) simulator.

Each node is a numpy function of its parents' values and of its own exogenous noise. The SCM
samples observational data, samples under interventions (:meth:`SCM.sample` with ``do=``) and
computes unit-level counterfactuals with the *same* noise (:meth:`SCM.counterfactual`). Nodes may
be vectors (``dim > 1``; their data columns are ``name_0 ... name_{dim-1}``) and may be
``latent``: latent nodes are simulated like any other but left out of the returned data, and
:attr:`SCM.graph` projects them out into bidirected edges. Nodes may also be array-valued
(``shape=(C, H, W)`` for an image): an SCM with such a node returns a mapping
``{node: numpy array}`` instead of a data frame (image nodes ``(n, C, H, W)`` float32 in
``[0, 1]``, scalar nodes 1-D, vector nodes ``(n, dim)``); ``as_arrays=True`` asks for the
mapping from any SCM.

Interventions (``do=``) follow the library's convention: a scalar or vector value is a hard
intervention, an array with one row per sample gives per-unit values, and a callable is a shift
applied to the node's natural value (``lambda x: x + 1``).

>>> import numpy as np
>>> scm = SCM([
...     Node("X", fn=lambda pa, u: u),
...     Node("Y", parents=("X",), fn=lambda pa, u: 2 * pa["X"] + u),
... ])
>>> df = scm.sample(1000, random_state=0)
>>> list(df.columns)
['X', 'Y']
>>> round(float(scm.sample(1000, do={"X": 1.0}, random_state=0)["Y"].mean()), 1)
2.0
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import CycleError, DataValidationError, GraphError, UnknownNodeError
from ..graph._build import kahn_order
from ..graph.causal_graph import CausalGraph
from .noise import NoiseFn, _squeeze, gaussian, gumbel, laplace, no_noise, student_t, uniform

__all__ = [
    "Node",
    "SCM",
    "gaussian",
    "uniform",
    "laplace",
    "gumbel",
    "student_t",
    "no_noise",
    "Intervention",
]

Intervention = float | int | np.ndarray | Sequence[float] | Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Node:
    """One variable of an :class:`SCM`.

    ``fn(pa, u)`` receives a dict of parent values (arrays of shape ``(n,)`` for scalar parents,
    ``(n, dim)`` for vector parents) and the node's noise ``u`` (as returned by ``noise``), and
    returns the node's values, shape ``(n,)`` (``dim == 1``) or ``(n, dim)``. ``noise(rng, n)``
    draws the exogenous noise; the default is standard Gaussian of the node's dimension
    (:func:`no_noise` makes a deterministic node). ``latent`` nodes are simulated but not
    returned; ``discrete`` nodes come back as integers; ``column_names`` names the data
    columns (default: the node name, or ``name_0 ... name_{dim-1}`` for vectors). ``shape``
    makes an array-valued node (an image ``(C, H, W)``): ``fn`` returns ``(n, *shape)`` values
    in ``[0, 1]`` (kept as float32), its noise may have any shape with ``n`` rows (default
    standard Gaussian of ``(n, *shape)``) and its parents see ``(n, *shape)`` arrays.

    Examples
    --------
    >>> x = Node("x", dim=2, column_names=("age", "income"))
    >>> y = Node("y", ("x",), lambda pa, u: pa["x"].sum(1) + u, gaussian(0.1))
    >>> x.columns, y.parents
    (('age', 'income'), ('x',))
    >>> img = Node("img", shape=(3, 16, 16), noise=uniform(0, 1))
    >>> img.is_array, img.columns, img.value_shape(5)
    (True, ('img',), (5, 3, 16, 16))
    """

    name: str
    parents: tuple[str, ...] = ()
    fn: Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray] = field(
        default=lambda pa, u: u, repr=False
    )
    noise: NoiseFn | None = field(default=None, repr=False)
    dim: int = 1
    latent: bool = False
    discrete: bool = False
    column_names: tuple[str, ...] | None = None
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise GraphError(f"node names must be non-empty strings, got {self.name!r}")
        object.__setattr__(self, "parents", tuple(self.parents))
        if self.name in self.parents:
            raise GraphError(f"node {self.name!r} lists itself as a parent")
        if int(self.dim) < 1:
            raise GraphError(f"node {self.name!r} has dim={self.dim}; it must be at least 1")
        if self.column_names is not None:
            names = tuple(self.column_names)
            if len(names) != self.dim or len(set(names)) != len(names):
                raise GraphError(
                    f"node {self.name!r} has dim={self.dim} but column_names={names!r}; "
                    f"give {self.dim} distinct names"
                )
            object.__setattr__(self, "column_names", names)
        if self.shape is not None:
            self._check_shape()

    def _check_shape(self) -> None:
        shape = tuple(self.shape)
        ok = len(shape) >= 1 and all(
            isinstance(s, int | np.integer) and not isinstance(s, bool) and s >= 1 for s in shape
        )
        if not ok:
            raise GraphError(
                f"node {self.name!r} has shape={self.shape!r}; give positive integers, "
                "e.g. shape=(3, 16, 16) for an RGB image"
            )
        if self.dim != 1 or self.discrete or self.column_names is not None:
            raise GraphError(
                f"node {self.name!r} is array-valued (shape={shape}); drop dim, discrete and "
                "column_names, which describe tabular nodes"
            )
        object.__setattr__(self, "shape", tuple(int(s) for s in shape))

    @property
    def is_array(self) -> bool:
        """True for an array-valued node (one with a ``shape``, e.g. an image)."""
        return self.shape is not None

    def value_shape(self, n: int) -> tuple[int, ...]:
        """Shape of ``n`` values of this node: ``(n,)``, ``(n, dim)`` or ``(n, *shape)``."""
        if self.shape is not None:
            return (n, *self.shape)
        return (n,) if self.dim == 1 else (n, self.dim)

    def draw_noise(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` noise values for this node."""
        if self.noise is None:
            if self.shape is not None:
                return rng.standard_normal((n, *self.shape))
            return _squeeze(rng.standard_normal((n, self.dim)))
        return np.asarray(self.noise(rng, n))

    @property
    def columns(self) -> tuple[str, ...]:
        """Data columns: ``column_names`` if given, else the name or ``name_0 ... name_{dim-1}``.

        An array-valued node is one column: its name.
        """
        if self.column_names is not None:
            return self.column_names
        if self.dim == 1:
            return (self.name,)
        return tuple(f"{self.name}_{i}" for i in range(self.dim))


class SCM:
    """A structural causal model over :class:`Node` objects (given in any order).

    Nodes are simulated, and draw their noise, in the order given whenever every node's
    parents come before it; otherwise in the topological order closest to it.

    >>> scm = SCM([Node("U", latent=True), Node("X", ("U",), lambda pa, u: pa["U"] + u),
    ...            Node("Y", ("X", "U"), lambda pa, u: pa["X"] - pa["U"] + u)])
    >>> scm.observed
    ('X', 'Y')
    >>> f, cf = scm.counterfactual(5, do={"X": 0.0}, random_state=1)
    >>> bool(np.allclose(cf["Y"] - f["Y"], -f["X"]))
    True
    """

    def __init__(self, nodes: Iterable[Node]) -> None:
        nodes = list(nodes)
        names = [nd.name for nd in nodes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise GraphError(f"node name(s) {dup} are defined more than once")
        self.nodes: dict[str, Node] = {nd.name: nd for nd in nodes}
        for nd in nodes:
            for p in nd.parents:
                if p not in self.nodes:
                    raise UnknownNodeError(
                        f"node {nd.name!r} has parent {p!r}, which is not a node{_close(p, names)}"
                    )
        self.order: tuple[str, ...] = _topological(self.nodes)

    # ------------------------------------------------------------------ structure
    @property
    def observed(self) -> tuple[str, ...]:
        """Names of the observed (non-latent) nodes, in topological order."""
        return tuple(n for n in self.order if not self.nodes[n].latent)

    @property
    def node_columns(self) -> dict[str, list[str]]:
        """Observed node -> its data columns (for ``CausalGenerativeModel(node_columns=...)``)."""
        return {n: list(self.nodes[n].columns) for n in self.observed}

    @property
    def columns(self) -> list[str]:
        """All observed data columns, in order."""
        return [c for n in self.observed for c in self.nodes[n].columns]

    @property
    def graph(self) -> CausalGraph:
        """The causal graph over observed nodes; latent nodes become bidirected edges."""
        directed = [(p, nd.name) for nd in self.nodes.values() for p in nd.parents]
        full = CausalGraph.from_edges(directed, nodes=self.order)
        latent = [n for n in self.order if self.nodes[n].latent]
        return full.latent_projection(latent) if latent else full

    @property
    def column_graph(self) -> CausalGraph:
        """The observed causal graph over data columns: each column takes its node's edges.

        Equal to :attr:`graph` when every node is one column; a vector node's columns are
        mutually unconnected and each has all the node's parents, children and bidirected arcs.

        >>> scm = SCM([Node("x", dim=2, column_names=("x1", "x2")), Node("y", ("x",))])
        >>> sorted(scm.column_graph.parents("y"))
        ['x1', 'x2']
        """
        g = self.graph
        cols = self.node_columns
        directed = [(a, b) for u, v in g.directed_edges for a in cols[u] for b in cols[v]]
        bidirected = [(a, b) for u, v in g.bidirected_edges for a in cols[u] for b in cols[v]]
        return CausalGraph.from_edges(directed, bidirected, nodes=self.columns)

    # ------------------------------------------------------------------ simulation
    def sample_noise(self, n: int, random_state: Any = None) -> dict[str, np.ndarray]:
        """Draw the exogenous noise of every node (dict node -> array)."""
        n = _check_n(n)
        rng = np.random.default_rng(random_state)
        return {name: self.nodes[name].draw_noise(rng, n) for name in self.order}

    def propagate(
        self, noise: Mapping[str, np.ndarray], do: Mapping[str, Intervention] | None = None
    ) -> dict[str, np.ndarray]:
        """Compute every node (latent ones included) from given noise, under ``do``."""
        do = dict(do or {})
        self._check_do(do)
        n = len(next(iter(noise.values()))) if noise else 0
        values: dict[str, np.ndarray] = {}
        for name in self.order:
            nd = self.nodes[name]
            pa = {p: values[p] for p in nd.parents}
            if name in do and not callable(do[name]):
                values[name] = _broadcast(do[name], n, nd)
                continue
            natural = _shape(_as_values(nd.fn(pa, noise[name]), nd), n, nd)
            values[name] = (
                _shape(_as_values(do[name](natural), nd), n, nd) if name in do else natural
            )
        return values

    def sample(
        self,
        n: int,
        do: Mapping[str, Intervention] | None = None,
        random_state: Any = None,
        include_latent: bool = False,
        as_arrays: bool | None = None,
    ) -> pd.DataFrame | dict[str, np.ndarray]:
        """Draw ``n`` samples, observational or under the intervention ``do``.

        Returns a data frame, or a mapping ``{node: array}`` when a returned node is
        array-valued or ``as_arrays=True`` (see :meth:`to_arrays`). An intervention on an image
        node takes one image ``(C, H, W)`` or one per sample ``(n, C, H, W)``.

        >>> scm = SCM([Node("img", shape=(1, 2, 2), fn=lambda pa, u: np.full((len(u), 1, 2, 2), u[:, None, None, None]), noise=uniform(0, 1)),
        ...            Node("y", ("img",), lambda pa, u: pa["img"].mean(axis=(1, 2, 3)) + u)])
        >>> out = scm.sample(3, do={"img": np.ones((1, 2, 2))}, random_state=0)
        >>> out["img"].shape, out["img"].dtype, out["y"].shape
        ((3, 1, 2, 2), dtype('float32'), (3,))
        """
        values = self.propagate(self.sample_noise(n, random_state), do)
        return self._output(values, include_latent, as_arrays)

    def counterfactual(
        self,
        n_or_noise: int | Mapping[str, np.ndarray],
        do: Mapping[str, Intervention],
        random_state: Any = None,
        include_latent: bool = False,
        as_arrays: bool | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame] | tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Factual and counterfactual data for the same units (the same noise).

        Pass a number of units (noise is drawn with ``random_state``) or a noise dict from
        :meth:`sample_noise`. Returns ``(factual, counterfactual)`` data frames, or mappings
        ``{node: array}`` as :meth:`sample` does.
        """
        noise = (
            self.sample_noise(n_or_noise, random_state)
            if not isinstance(n_or_noise, Mapping)
            else n_or_noise
        )
        factual = self._output(self.propagate(noise), include_latent, as_arrays)
        cf = self._output(self.propagate(noise, do), include_latent, as_arrays)
        return factual, cf

    def do(self, interventions: Mapping[str, Intervention]) -> SCM:
        """The intervened SCM as a new object (hard interventions cut incoming edges).

        Per-sample arrays are not allowed here because the new SCM can sample any ``n``.
        """
        self._check_do(interventions)
        new_nodes = []
        for name in self.order:
            nd = self.nodes[name]
            if name in interventions:
                value = interventions[name]
                if callable(value):
                    old = nd.fn
                    fn = (lambda f, g: lambda pa, u: g(np.asarray(f(pa, u), float)))(old, value)
                    nd = replace(nd, fn=fn)
                else:
                    arr = _as_values(value, nd)
                    if arr.ndim > len(nd.value_shape(1)) - 1:
                        one = (
                            f"one array of shape {nd.shape}"
                            if nd.is_array
                            else f"a scalar, or a vector of length {nd.dim}"
                        )
                        raise DataValidationError(
                            f"SCM.do({name!r}=...) needs one value for every unit ({one}); "
                            "use sample(n, do=...) for per-unit values"
                        )
                    fn = (
                        lambda a, node: (
                            lambda pa, u: np.broadcast_to(a, node.value_shape(len(u))).copy()
                        )
                    )(arr, nd)
                    nd = replace(nd, parents=(), fn=fn)
            new_nodes.append(nd)
        return SCM(new_nodes)

    def to_frame(
        self, values: Mapping[str, np.ndarray], include_latent: bool = False
    ) -> pd.DataFrame:
        """Turn a dict of node values into a data frame with one column per node component."""
        cols: dict[str, np.ndarray] = {}
        for name in self._shown(include_latent):
            nd = self.nodes[name]
            if nd.is_array:
                raise DataValidationError(
                    f"node {name!r} is array-valued (shape={nd.shape}) and cannot be a data "
                    "frame column; use to_arrays (or sample(..., as_arrays=True))"
                )
            v = values[name]
            if nd.dim == 1:
                cols[nd.columns[0]] = v.astype(np.int64) if nd.discrete else v
            else:
                for i, c in enumerate(nd.columns):
                    cols[c] = v[:, i]
        return pd.DataFrame(cols)

    def to_arrays(
        self, values: Mapping[str, np.ndarray], include_latent: bool = False
    ) -> dict[str, np.ndarray]:
        """Node values as a mapping ``{node: array}`` in topological order.

        Array-valued nodes are ``(n, *shape)`` float32 arrays, scalar nodes 1-D (int64 when
        ``discrete``), vector nodes ``(n, dim)``.

        >>> scm = SCM([Node("x", discrete=True, fn=lambda pa, u: u > 0)])
        >>> scm.to_arrays(scm.propagate(scm.sample_noise(3, random_state=0)))["x"].dtype
        dtype('int64')
        """
        out: dict[str, np.ndarray] = {}
        for name in self._shown(include_latent):
            v = values[name]
            out[name] = v.astype(np.int64) if self.nodes[name].discrete else v
        return out

    def _shown(self, include_latent: bool) -> tuple[str, ...]:
        """The nodes an output shows, in topological order."""
        return self.order if include_latent else self.observed

    @property
    def has_arrays(self) -> bool:
        """True when some observed node is array-valued (an image)."""
        return any(self.nodes[n].is_array for n in self.observed)

    def _output(
        self, values: Mapping[str, np.ndarray], include_latent: bool, as_arrays: bool | None
    ) -> pd.DataFrame | dict[str, np.ndarray]:
        if as_arrays is None:
            as_arrays = any(self.nodes[n].is_array for n in self._shown(include_latent))
        if as_arrays:
            return self.to_arrays(values, include_latent=include_latent)
        return self.to_frame(values, include_latent=include_latent)

    # ------------------------------------------------------------------ checks
    def _check_do(self, do: Mapping[str, Any]) -> None:
        for name in do:
            if name not in self.nodes:
                raise UnknownNodeError(
                    f"cannot intervene on {name!r}: not a node of the SCM{_close(name, self.nodes)}"
                )

    def __repr__(self) -> str:
        return f"SCM(nodes={list(self.order)})"


def _close(name: str, candidates: Iterable[str]) -> str:
    m = difflib.get_close_matches(str(name), list(candidates), n=3, cutoff=0.5)
    return f" (did you mean {', '.join(map(repr, m))}?)" if m else ""


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise DataValidationError(f"the number of samples must be a positive integer, got {n!r}")
    return int(n)


def _as_values(v: Any, nd: Node) -> np.ndarray:
    """Values as float arrays; an array-valued node's as float32 checked to lie in [0, 1]."""
    if not nd.is_array:
        return np.asarray(v, dtype=float)
    arr = np.asarray(v, dtype=np.float32)
    if arr.size and not (np.all(np.isfinite(arr)) and arr.min() >= -1e-6 and arr.max() <= 1 + 1e-6):
        raise DataValidationError(
            f"values of array node {nd.name!r} must be finite and lie in [0, 1]; got range "
            f"[{float(np.nanmin(arr)):.3g}, {float(np.nanmax(arr)):.3g}] (rescale the images)"
        )
    return np.clip(arr, 0.0, 1.0)


def _shape(v: np.ndarray, n: int, nd: Node) -> np.ndarray:
    want = nd.value_shape(n)
    if v.shape == want:
        return v
    if nd.dim == 1 and not nd.is_array and v.shape == (n, 1):
        return v[:, 0]
    if v.shape == () or v.shape == want[1:]:
        return np.broadcast_to(v, want).copy()
    raise DataValidationError(
        f"node {nd.name!r} produced values of shape {v.shape}, expected {want}"
    )


def _broadcast(value: Any, n: int, nd: Node) -> np.ndarray:
    arr = _as_values(value, nd)
    try:
        return _shape(arr, n, nd)
    except DataValidationError:
        if nd.is_array:
            want = f"one array of shape {nd.shape} or one per sample, shape (n, *{nd.shape})"
        elif nd.dim == 1:
            want = "a scalar or an array of length n"
        else:
            want = f"a vector of length {nd.dim} or an (n, {nd.dim}) array"
        raise DataValidationError(
            f"do-value for {nd.name!r} has shape {arr.shape}; expected {want} (n = {n})"
        ) from None


def _topological(nodes: Mapping[str, Node]) -> tuple[str, ...]:
    """Topological order that keeps the definition order wherever the parents allow.

    Kahn's algorithm with the earliest-defined ready node first, so nodes listed parents-first
    are simulated (and draw their noise) exactly in the order they were given.
    """
    index = {n: i for i, n in enumerate(nodes)}
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for n, nd in nodes.items():
        for p in nd.parents:
            children[p].append(n)
    parents = {n: nd.parents for n, nd in nodes.items()}
    order = kahn_order(list(nodes), parents, children, index)
    if len(order) < len(nodes):
        rest = [n for n in nodes if n not in order]
        raise CycleError(f"the SCM has a directed cycle among {rest}", cycle=tuple(rest))
    return tuple(order)
