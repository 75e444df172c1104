"""One container for every data set of the library: bundled data and simulated designs alike.

A :class:`CausalDataset` holds the observed ``data``, the ``roles`` of its columns (which
column is the treatment, the outcome, the covariates, the instruments, ...), the ground
``truth`` when it is known, the causal ``graph`` of the design and, for simulated data, the
:class:`~deepcause.simulate.SCM` that generated it.

>>> import pandas as pd
>>> df = pd.DataFrame({"x": [0.1, 0.5, 0.9, 0.3], "t": [0, 1, 1, 0], "y": [1.0, 2.5, 3.1, 0.7]})
>>> ds = CausalDataset(df, {"treatment": "t", "outcome": "y", "covariates": ["x"]}, {"ATE": 2.0})
>>> ds.treatment, ds.outcome, ds.covariates, ds.truth["ATE"]
('t', 'y', ('x',), 2.0)
>>> str(ds.graph)
'x -> t; x -> y; t -> y'

Data with image nodes are a mapping ``{node: array}`` (an image node ``(n, C, H, W)``, a
tabular node 1-D), stored read-only:

>>> import numpy as np
>>> ds = CausalDataset({"x": np.zeros((4, 1, 8, 8)), "y": np.arange(4.0)}, {"treatment": "x", "outcome": "y"})
>>> ds.n, ds.data["x"].shape
(4, (4, 1, 8, 8))
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataValidationError
from ..graph.causal_graph import CausalGraph

__all__ = ["CausalDataset", "ROLES"]

#: Known column roles; the first four hold at most one column each.
ROLES: Mapping[str, str] = MappingProxyType(
    {
        "treatment": "the treatment (cause) whose effect is studied",
        "outcome": "the outcome (effect)",
        "selection": "0/1 indicator saying when the outcome is observed",
        "condition": "label of the experimental condition of each row",
        "covariates": "pre-treatment adjustment variables (back-door), or the exogenous "
        "regressors of an IV or selection model's outcome equation",
        "instruments": "instrumental variables of the treatment",
        "mediators": "variables on the causal path from treatment to outcome (front-door)",
        "selection_covariates": "regressors of the selection equation",
        "shadows": "shadow variables: proxies of the outcome that do not affect selection",
        "variables": "the system's variables (structure learning, no single treatment)",
        "interventions": "0/1 indicators of experimental interventions (reagents)",
    }
)
_SINGLE = ("treatment", "outcome", "selection", "condition")


def _freeze(value: Any) -> Any:
    """A read-only version of ``value`` (arrays, lists, mappings; scalars as they are)."""
    if isinstance(value, np.ndarray):
        out = value.copy()
        out.flags.writeable = False
        return out
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, (pd.Series, pd.Index)):
        return _freeze(value.to_numpy())
    return value


def _columns(role: str, value: Any) -> tuple[str, ...]:
    cols = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(c, str) for c in cols):
        raise DataValidationError(f"role {role!r} must name columns (strings); got {value!r}")
    if role in _SINGLE and len(cols) > 1:
        raise DataValidationError(f"role {role!r} takes one column; got {list(cols)}")
    return cols


def _check_data(data: Any) -> pd.DataFrame | Mapping[str, np.ndarray]:
    """A data frame as it is; a mapping node -> array as read-only arrays with equal rows."""
    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, Mapping) or not data:
        raise DataValidationError(
            "data must be a pandas DataFrame or a non-empty mapping {node: array} (image nodes "
            f"(n, C, H, W), tabular nodes (n,)); got {type(data).__name__}"
        )
    arrays = {str(k): np.asarray(v) for k, v in data.items()}
    rows = {k: (v.shape[0] if v.ndim else -1) for k, v in arrays.items()}
    if len(set(rows.values())) != 1 or min(rows.values()) < 1:
        raise DataValidationError(
            f"every array of the data mapping needs the same number of rows (n >= 1); got {rows}"
        )
    return MappingProxyType({k: _freeze(v) for k, v in arrays.items()})


def _n_rows(data: pd.DataFrame | Mapping[str, np.ndarray]) -> int:
    return len(data) if isinstance(data, pd.DataFrame) else len(next(iter(data.values())))


def _check_roles(
    roles: Mapping[str, Any], data: pd.DataFrame | Mapping[str, np.ndarray]
) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(roles, Mapping):
        raise DataValidationError(
            f"roles must be a mapping role -> column names, e.g. {{'treatment': 't'}}; "
            f"got {type(roles).__name__}"
        )
    out: dict[str, tuple[str, ...]] = {}
    for role, value in roles.items():
        if role not in ROLES:
            close = difflib.get_close_matches(str(role), list(ROLES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known roles: {list(ROLES)}"
            raise DataValidationError(f"unknown role {role!r}{hint}")
        cols = _columns(role, value)
        present = list(data.columns if isinstance(data, pd.DataFrame) else data)
        missing = [c for c in cols if c not in present]
        if missing:
            raise DataValidationError(
                f"role {role!r} names column(s) {missing} that are not in the data; "
                f"the data have {present[:12]}"
            )
        if cols:
            out[role] = cols
    return MappingProxyType(out)


class CausalDataset:
    """Data, the roles of its columns, the known truth, the graph and (if simulated) the SCM.

    Parameters
    ----------
    data : pandas.DataFrame or mapping
        The observed data, one row per unit: a data frame, or (for data with image nodes) a
        mapping node -> array with one row per unit (stored read-only); roles then name nodes.
    roles : mapping
        Role -> column name(s); roles are the keys of :data:`ROLES` (``treatment``,
        ``outcome``, ``covariates``, ``instruments``, ``mediators``,
        ``selection``, ``selection_covariates``, ``shadows``, ``variables``,
        ``interventions``, ``condition``). Every column must exist in ``data``; empty roles are
        dropped. Stored as a read-only mapping role -> tuple of column names.
    truth : mapping, optional
        Quantity -> true value (``"ATE"``, ``"E[Y|do(X=1)]"``, the structural function of an IV
        design under ``"structural"``, reference numbers of real data, ...). Read-only.
    scm : SCM, optional
        The structural causal model that generated simulated data (None for real data).
    graph : CausalGraph or str, optional
        The causal graph over the data columns, or graph text (parsed on first access). By
        default the SCM's :attr:`~deepcause.simulate.SCM.column_graph`, else a graph built
        from the roles (covariates cause treatment and outcome, instruments cause
        the treatment, which causes the outcome; instruments add ``treatment <-> outcome``).
    extras : mapping, optional
        Per-row arrays and facts that are not observed data (noiseless potential outcomes
        ``mu0``/``mu1``, noisy counterfactuals, reference edges, design parameters). Read-only.
    description : str, optional
        One paragraph saying where the data come from.

    Examples
    --------
    >>> from deepcause.datasets import load_ihdp
    >>> ds = load_ihdp(1)
    >>> ds.treatment, ds.outcome, len(ds.covariates), round(ds.truth["ATE"], 4)
    ('t', 'y', 25, 4.0161)
    >>> sorted(ds.roles)
    ['covariates', 'outcome', 'treatment']
    >>> round(float(ds.tau.mean()), 4), ds.scm is None
    (4.0161, True)
    """

    __slots__ = ("data", "roles", "truth", "scm", "extras", "description", "_graph")

    def __init__(
        self,
        data: pd.DataFrame | Mapping[str, np.ndarray],
        roles: Mapping[str, Any],
        truth: Mapping[str, Any] | None = None,
        scm: Any = None,  # a deepcause.simulate.SCM (simulate sits above datasets)
        graph: CausalGraph | str | None = None,
        *,
        extras: Mapping[str, Any] | None = None,
        description: str = "",
    ) -> None:
        data = _check_data(data)
        if graph is not None and not isinstance(graph, (CausalGraph, str)):
            raise DataValidationError(
                f"graph must be a CausalGraph or graph text; got {type(graph).__name__}"
            )
        extras = dict(extras or {})
        for key in ("mu0", "mu1"):
            if key in extras:
                extras[key] = np.asarray(extras[key], dtype=float).ravel()
                if len(extras[key]) != _n_rows(data):
                    raise DataValidationError(
                        f"extras[{key!r}] has {len(extras[key])} values but the data have "
                        f"{_n_rows(data)} rows"
                    )
        setter = object.__setattr__
        setter(self, "data", data)
        setter(self, "roles", _check_roles(roles, data))
        setter(self, "truth", _freeze(dict(truth or {})))
        setter(self, "scm", scm)
        setter(self, "extras", _freeze(extras))
        setter(self, "description", str(description))
        setter(self, "_graph", graph)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"CausalDataset is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"CausalDataset is read-only; cannot delete {name!r}")

    @property
    def n(self) -> int:
        """Number of units (rows of the data)."""
        return _n_rows(self.data)

    # ------------------------------------------------------------------ roles
    def _one(self, role: str) -> str | None:
        cols = self.roles.get(role, ())
        return cols[0] if cols else None

    @property
    def treatment(self) -> str | None:
        """The treatment column (None when the data have no treatment role)."""
        return self._one("treatment")

    @property
    def outcome(self) -> str | None:
        """The outcome column."""
        return self._one("outcome")

    @property
    def selection(self) -> str | None:
        """The 0/1 selection indicator column (outcome observed when 1), if any."""
        return self._one("selection")

    @property
    def covariates(self) -> tuple[str, ...]:
        """Adjustment covariates (empty tuple when none)."""
        return self.roles.get("covariates", ())

    @property
    def instruments(self) -> tuple[str, ...]:
        """Instrumental variables (empty tuple when none)."""
        return self.roles.get("instruments", ())

    @property
    def mediators(self) -> tuple[str, ...]:
        """Mediators between treatment and outcome (empty tuple when none)."""
        return self.roles.get("mediators", ())

    @property
    def selection_covariates(self) -> tuple[str, ...]:
        """Regressors of the selection equation (empty tuple when none)."""
        return self.roles.get("selection_covariates", ())

    # ------------------------------------------------------------------ truth
    @property
    def mu0(self) -> np.ndarray | None:
        """Noiseless expected outcome of every row under control (None when unknown)."""
        return self.extras.get("mu0")

    @property
    def mu1(self) -> np.ndarray | None:
        """Noiseless expected outcome of every row under treatment (None when unknown)."""
        return self.extras.get("mu1")

    @property
    def tau(self) -> np.ndarray | None:
        """Noiseless individual effects ``mu1 - mu0`` (None when unknown)."""
        if self.mu0 is None or self.mu1 is None:
            return None
        return self.mu1 - self.mu0

    @property
    def structural(self) -> Callable[[pd.DataFrame], np.ndarray] | None:
        """The true structural function ``frame -> E[Y | do(...)]`` of an IV design, if any."""
        return self.truth.get("structural")

    @property
    def graph(self) -> CausalGraph:
        """The causal graph over the data columns (built on first access, then cached)."""
        g = self._graph
        if not isinstance(g, CausalGraph):
            if isinstance(g, str):
                g = CausalGraph(g)
            elif self.scm is not None:
                g = self.scm.column_graph
            else:
                g = _roles_graph(self.roles)
            object.__setattr__(self, "_graph", g)
        return g

    def __repr__(self) -> str:
        truth = ", ".join(f"{k}={v:.4g}" for k, v in self.truth.items() if _is_number(v))
        roles = ", ".join(
            f"{r}={c[0]!r}" if r in _SINGLE else f"{r}={len(c)}" for r, c in self.roles.items()
        )
        return f"CausalDataset(n={self.n}, {roles}, truth={{{truth}}})"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


def _roles_graph(roles: Mapping[str, tuple[str, ...]]) -> CausalGraph:
    """The default design graph read off the roles."""
    t, y = roles.get("treatment", ()), roles.get("outcome", ())
    s = roles.get("selection", ())
    adjust = roles.get("covariates", ())
    directed = [(c, a) for c in adjust for a in (*t, *y) if c != a]
    directed += [(z, a) for z in roles.get("instruments", ()) for a in t]
    directed += [(c, a) for c in roles.get("selection_covariates", ()) for a in s if c != a]
    mediators = roles.get("mediators", ())
    directed += [(a, m) for a in t for m in mediators] + [(m, b) for m in mediators for b in y]
    if not mediators:
        directed += [(a, b) for a in t for b in y]
    bidirected = [(a, b) for a in t for b in y if roles.get("instruments")]
    bidirected += [(a, b) for a in s for b in y]
    nodes = dict.fromkeys(
        [*roles.get("variables", ()), *adjust, *roles.get("instruments", ()), *t, *y]
    )
    return CausalGraph.from_edges(directed, bidirected, nodes=list(nodes))
