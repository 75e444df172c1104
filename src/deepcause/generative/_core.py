"""The joint-model core of :class:`~deepcause.generative.CausalGenerativeModel`.

:class:`MechanismModel` holds one neural mechanism per node of a causal graph (district
strategies for bidirected edges): it fits them node by node (district by district), encodes and
decodes node values, and samples the observational or an interventional distribution in
topological order. :class:`~deepcause.generative.CausalGenerativeModel` adds the query routes
(``latent_strategy="idgen"``), counterfactuals, densities and persistence on top of it, and the
ID-GEN sampler (:mod:`deepcause.generative.idgen`) trains one ``MechanismModel`` per factor of an
identified estimand; both import this module, so neither imports the other's users.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from .._parameters import Interval, ParameterValidationMixin, StrOptions
from .._progress import Verbose
from .._torch import RANDOM_STATE, resolve_device, seed_from
from .._validation import check_finite, require_columns, user_stacklevel
from ..exceptions import (
    DataValidationError,
    DeepCauseWarning,
    GraphError,
    InvalidParameterError,
    NotFittedError,
    NotIdentifiableError,
)
from ..graph.causal_graph import CausalGraph, as_graph
from ..identification.algorithm import identify
from ._data import Samples, input_order, split_data
from ._do import DoSpec, apply_shift, parse_do
from ._encoding import image_spec, infer_spec, is_discrete_column
from ._image_support import ImageSupport
from ._images import layout_hint
from ._refusals import (
    check_n,
    check_training_rows,
    hidden_confounders,
    refuse_target,
    sampling_refusal,
)
from .districts import DistrictStrategy, LatentConfoundingError, district_strategy_class
from .mechanisms import ImageParentMechanism, Mechanism
from .selection import DEFAULT_IMAGE, AutoMechanism, fit_node, resolve_mechanism

__all__ = ["MechanismModel"]


class MechanismModel(ParameterValidationMixin, BaseEstimator):
    """One fitted mechanism per node: fit, encode/decode and ``sample(n, do=...)``.

    The parameters are those of :class:`~deepcause.generative.CausalGenerativeModel` (its
    base class), except that ``latent_strategy`` is ``"joint"`` or a
    :class:`~deepcause.generative.districts.DistrictStrategy` subclass here; use
    ``CausalGenerativeModel`` for counterfactuals, ``log_prob``, ``save`` and ``"idgen"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=1000)
    >>> df = pd.DataFrame({"X": x, "Y": x - 1 + 0.5 * rng.normal(size=1000)})
    >>> m = MechanismModel("X -> Y", mechanisms="additive", max_epochs=20, random_state=0,
    ...                    verbose=False).fit(df)
    >>> bool(abs(m.sample(4000, do={"X": 2.0}, random_state=1)["Y"].mean() - 1.0) < 0.3)
    True
    """

    _given: frozenset[str] = frozenset()
    """Nodes always set by ``do=`` (ID-GEN's factor inputs): no mechanism is fitted for them."""
    _image_default: str = DEFAULT_IMAGE
    """``"auto"``'s mechanism for image nodes of graphs without bidirected edges (ID-GEN's
    factors: the mixture-prior VAE); graphs with bidirected edges always get ``DEFAULT_IMAGE``."""

    _parameter_constraints = {
        "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "latent_strategy": [str, type],
        "device": [str, torch.device],
        "random_state": RANDOM_STATE,
        "verbose": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        graph: CausalGraph | str,
        mechanisms: str | Mapping[str, str | Mechanism] = "auto",
        node_columns: Mapping[str, list[str]] | None = None,
        *,
        max_epochs: int | None = None,
        latent_strategy: str | type[DistrictStrategy] = "joint",
        device: str = "auto",
        random_state: int | None = None,
        verbose: Verbose = "auto",
    ) -> None:
        self.graph = graph
        self.mechanisms = mechanisms
        self.node_columns = node_columns
        self.max_epochs = max_epochs
        self.latent_strategy = latent_strategy
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ================================================================== fitting
    def fit(self, data: pd.DataFrame | Mapping[str, Any], y: None = None) -> MechanismModel:
        """Train every node's mechanism on the observational ``data``; returns ``self``.

        ``data``: a data frame, or a mapping ``{node: array}`` with ``(n, C, H, W)`` images
        for image nodes and 1-D arrays for tabular ones (then ``sample`` returns a mapping too).
        ``y``: scikit-learn's slot, ``None`` only (:func:`refuse_target`).
        """
        refuse_target(self, y)
        self._validate_params()
        df, images, self.mapping_input_ = split_data(data)
        return self._fit_nodes(df, images)

    def _fit_nodes(self, df: pd.DataFrame, images: Mapping[str, np.ndarray]) -> MechanismModel:
        self.route_ = None
        graph = as_graph(self.graph)
        if not graph.nodes:
            raise GraphError(
                f"the graph {self.graph!r} has no nodes; give its edges, e.g. 'X -> Y; Z -> Y'"
            )
        strategy = self.latent_strategy
        known = district_strategy_class(strategy) is not None or strategy == "idgen"
        if not known and not graph.bidirected_edges:  # (with them, _make_districts says why)
            raise InvalidParameterError(
                f"unknown latent_strategy {strategy!r}; use 'joint', 'idgen' or a "
                "DistrictStrategy subclass"
            )
        self.graph_ = graph
        self.order_ = graph.topological_order()
        self.device_ = resolve_device(self.device)
        columns = self._node_columns(graph, df, images)
        check_training_rows(df, [c for v, cols in columns.items() if v not in images for c in cols])
        self.parents_ = {v: [p for p in self.order_ if p in graph.parents(v)] for v in self.order_}
        mechs = {v: self._resolve_mechanism(v, df, columns[v], images) for v in self.order_}
        self.specs_ = {
            v: image_spec(v, images[v])
            if v in images
            else infer_spec(v, df, columns[v], discrete=mechs[v].discrete)
            for v in self.order_
        }
        used = {c for spec in self.specs_.values() for c in spec.columns}
        self.columns_ = [c for c in input_order(df, images) if c in used]  # outputs' order
        mechs = {v: self._adapt_to_images(v, m) for v, m in mechs.items()}
        # do() images' support (not for an ID-GEN factor's given inputs: it is evaluated at
        # generated images, and the route checks the user's do() images itself)
        supports = {
            v: ImageSupport.fit(images[v])
            for v in self.order_
            if v in images and v not in self._given
        }
        self.image_support_ = {v: s for v, s in supports.items() if s is not None}
        rng = np.random.default_rng(self.random_state)
        seeds = {v: seed_from(rng) for v in self.order_}
        self._rng_ = np.random.default_rng(seed_from(rng))
        data_t = self._encode_nodes(df, images, self.order_)

        self.districts_ = self._make_districts(graph)
        latent_nodes = {v for s in self.districts_ for v in s.district}
        self._warn_district_mechanisms(mechs, latent_nodes)
        self.mechanisms_: dict[str, Mechanism] = {}
        self.mechanism_choice_: dict[str, dict[str, Any]] = {}
        for v in self.order_:
            if v in latent_nodes or v in self._given:
                continue
            try:
                self.mechanisms_[v], choice = fit_node(
                    mechs[v], self.specs_[v], data_t[v], self.context(v, data_t), seeds[v],
                    device=self.device_, verbose=self.verbose, desc=v,
                )  # fmt: skip
            except DataValidationError as exc:  # a mechanism's refusal: say which node
                if f"{v!r}" in str(exc):
                    raise
                raise DataValidationError(f"node {v!r}: {exc}") from None
            if choice is not None:
                self.mechanism_choice_[v] = choice
        for i, strategy in enumerate(self.districts_):
            strategy.to(self.device_)
            strategy.fit(self, data_t, random_state=(seeds[strategy.district[0]] + i) % (2**63 - 1))
        return self

    def _encode_nodes(
        self, df: pd.DataFrame, images: Mapping[str, np.ndarray], nodes: Iterable[str]
    ) -> dict[str, torch.Tensor]:
        out = {}
        for v in nodes:
            spec = self.specs_[v]
            if spec.is_image:
                out[v] = spec.encode_values(self._checked_image(v, images), self.device_)
            else:
                out[v] = spec.encode_frame(df, self.device_)
        return out

    def _checked_image(self, v: str, images: Mapping[str, np.ndarray]) -> np.ndarray:
        shape = tuple(self.specs_[v].shape)
        if v not in images or images[v].shape[1:] != shape:
            got = images[v].shape if v in images else "no array (give the data as a mapping)"
            hint = layout_hint(images[v].shape, shape) if v in images else ""
            raise DataValidationError(
                f"image node {v!r} needs an array of shape (n, {', '.join(map(str, shape))}); "
                f"got {got}{hint}"
            )
        return images[v]

    def _node_columns(
        self, graph: CausalGraph, df: pd.DataFrame, images: Mapping[str, np.ndarray]
    ) -> dict[str, list[str]]:
        given = dict(self.node_columns or {})
        unknown = [v for v in given if v not in graph]
        if unknown:
            graph.check_nodes(unknown, role="node_columns key")
        clash = sorted(set(given) & set(images))
        if clash:
            raise DataValidationError(
                f"node(s) {clash} are given as images; drop them from node_columns"
            )
        columns = {v: list(given.get(v, [v])) for v in graph.nodes}
        for v, cols in columns.items():
            if v in images:
                continue
            if not cols:
                raise DataValidationError(f"node_columns[{v!r}] is empty; list its columns")
            missing = [c for c in cols if c not in df.columns]
            if missing:
                hint = (
                    " Every node of the graph must be measured; an unmeasured common cause is "
                    "written as a bidirected edge (X <-> Y) instead of a node."
                )
                try:
                    require_columns(df, missing, role=f"node {v!r}: column")
                except DataValidationError as exc:
                    raise DataValidationError(str(exc) + hint) from None
        used = [c for cols in columns.values() for c in cols]
        dup = sorted({c for c in used if used.count(c) > 1})
        if dup:
            raise DataValidationError(f"column(s) {dup} belong to more than one node")
        return columns

    def _resolve_mechanism(
        self, node: str, df: pd.DataFrame, cols: list[str], images: Mapping[str, Any]
    ) -> Mechanism | AutoMechanism:
        if isinstance(self.mechanisms, Mapping):
            unknown = [v for v in self.mechanisms if v not in self.graph_]
            if unknown:
                self.graph_.check_nodes(unknown, role="mechanisms key")
        discrete = node not in images and len(cols) == 1 and is_discrete_column(df[cols[0]])
        image_parent = any(p in images for p in self.graph_.parents(node))
        return resolve_mechanism(
            self.mechanisms, node, cols, self.max_epochs,
            image=node in images, discrete=discrete, image_parent=image_parent,
            image_default=DEFAULT_IMAGE if self.graph_.bidirected_edges else self._image_default,
        )  # fmt: skip

    def _adapt_to_images(self, node: str, mech: Mechanism | AutoMechanism) -> Any:
        """Tell image mechanisms their shapes; put a conv encoder in front of tabular
        mechanisms with image parents."""
        shapes = [self.specs_[p].context_shape for p in self.parents_[node]]
        if self.specs_[node].is_image:
            mech.image_shape = tuple(self.specs_[node].shape)
            mech.context_shapes = shapes
            return mech
        if isinstance(mech, ImageParentMechanism):  # the caller's encoder settings
            mech.context_shapes = shapes
            return mech
        if any(self.specs_[p].is_image for p in self.parents_[node]):
            return ImageParentMechanism(head=mech, context_shapes=shapes)
        return mech

    def _warn_district_mechanisms(self, mechs: Mapping[str, Any], latent_nodes: set[str]) -> None:
        """Say so when the joint district strategy replaces a mechanism the user chose."""
        if self.latent_strategy != "joint":
            return
        kept = {"additive", "categorical", "image_parents"}
        replaced = sorted(
            f"{v} ({mechs[v].name})"
            for v in latent_nodes
            if isinstance(mechs[v], Mechanism)
            and mechs[v].name not in kept
            and not self.specs_[v].is_image
        )
        if replaced:
            warnings.warn(
                f"node(s) {', '.join(replaced)} have hidden confounders: latent_strategy='joint' "
                "fits them with additive-Gaussian (or categorical) mechanisms of their parents "
                "and the district latent, not the mechanism asked for; use "
                "latent_strategy='idgen' to keep it for interventional queries",
                DeepCauseWarning,
                stacklevel=user_stacklevel(),
            )

    def _make_districts(self, graph: CausalGraph) -> list[DistrictStrategy]:
        confounded = [d for d in graph.districts() if len(d) > 1]
        if not confounded:
            return []
        cls = district_strategy_class(self.latent_strategy)
        if cls is None:
            edges = ", ".join(f"{a} <-> {b}" for a, b in graph.bidirected_edges)
            raise LatentConfoundingError(
                f"the graph has bidirected edges ({edges}) and latent strategy "
                f"{self.latent_strategy!r} is not available (use 'joint', 'idgen' or a "
                "DistrictStrategy subclass). Fitting each node on its parents would ignore the "
                "hidden confounders and give wrong interventional samples."
            )
        return [cls(self, d) for d in confounded]

    # ================================================================== encoding helpers
    def _check_fitted(self) -> None:
        if getattr(self, "route_", None) is not None:
            raise LatentConfoundingError(
                f"latent_strategy={self.latent_strategy!r} answers sample(n, do=..., given=...) "
                "only; use latent_strategy='joint' for counterfactuals, log_prob and save"
            )
        if not hasattr(self, "mechanisms_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(data) first"
            )

    def encode(
        self, data: pd.DataFrame | Mapping[str, Any], nodes: Iterable[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Encoded tensors of ``nodes`` (default all) from data (a frame or a mapping)."""
        self._check_fitted()
        df, images, _ = split_data(data)
        nodes = list(self.order_ if nodes is None else nodes)
        cols = [c for v in nodes if not self.specs_[v].is_image for c in self.specs_[v].columns]
        require_columns(df, cols)
        check_finite(df, cols, when="first")
        return self._encode_nodes(df, images, nodes)

    def decode(
        self,
        values: Mapping[str, torch.Tensor],
        index: Any = None,
        do: Mapping[str, DoSpec] | None = None,
        as_mapping: bool | None = None,
        order: Iterable[str] | None = None,
    ) -> pd.DataFrame | Samples:
        """Data in original columns and units from encoded node tensors: a data frame, or a
        :class:`~deepcause.generative._data.Samples` mapping ``{node: array}`` when the
        model was fitted on a mapping (``as_mapping`` overrides).

        Hard interventions in ``do`` are written back exactly as given (no float32 round trip).
        Columns come in the order of ``order`` (default: the training data's columns; models
        saved without it: topological), then any others.
        """
        as_mapping = getattr(self, "mapping_input_", False) if as_mapping is None else as_mapping
        cols: dict[str, Any] = {}
        for v in self.order_:
            cols.update(self.specs_[v].to_columns(values[v]))
        n = next(iter(values.values())).shape[0]
        for v, spec in (do or {}).items():
            node = self.specs_[v]
            if spec.value is None or node.discrete:
                continue
            raw = np.asarray(spec.raw, dtype=float)
            if node.is_image:
                raw = node.restore_image(raw.reshape(-1, *node.shape), clip=False)
                cols[v] = np.broadcast_to(raw, (n, *node.shape)).copy()
            elif node.dim == 1:
                cols[node.columns[0]] = node.restore(np.broadcast_to(raw.reshape(-1), (n,)))
            else:
                full = np.broadcast_to(raw.astype(node.float_dtype, copy=False), (n, node.dim))
                cols.update({c: full[:, i] for i, c in enumerate(node.columns)})
        first = [c for c in (order or getattr(self, "columns_", None) or ()) if c in cols]
        cols = {c: cols[c] for c in [*first, *(c for c in cols if c not in first)]}
        if as_mapping:  # categorical nodes stay pd.Categorical (their input's kind)
            return Samples.of(cols)
        if any(self.specs_[v].is_image for v in self.order_):
            raise DataValidationError(
                "the model has image nodes, which do not fit in a data frame; give a mapping "
                "{node: array}"
            )
        return pd.DataFrame(cols, index=index)

    def context(
        self,
        node: str,
        values: Mapping[str, torch.Tensor],
        latents: Mapping[str, torch.Tensor] | None = None,
        n: int | None = None,
    ) -> torch.Tensor:
        """The mechanism input of ``node``: its encoded parents, then its district's latent."""
        parts = [self.specs_[p].one_hot(values[p]) for p in self.parents_[node]]
        if latents and node in latents:
            parts.append(latents[node])
        if not parts:
            n = n if n is not None else next(iter(values.values())).shape[0]
            return torch.zeros((n, 0), device=self.device_)
        return torch.cat(parts, dim=1)

    def _generator(self, random_state: Any) -> torch.Generator:
        seed = seed_from(self._rng_ if random_state is None else random_state)
        return torch.Generator(device=self.device_).manual_seed(seed)

    def _latents(self, n: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for strategy in self.districts_:
            out.update(strategy.node_latents(strategy.sample_latent(n, gen)))
        return out

    # ================================================================== sampling
    @torch.no_grad()
    def sample(
        self,
        n: int,
        do: Mapping[str, Any] | None = None,
        random_state: Any = None,
        remove_edges: Iterable[tuple[str, str]] | None = None,
        allow_unidentified: bool = False,
        given: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """``n`` samples from the observational (``do=None``) or interventional distribution.

        ``do`` maps nodes to a value, an array of ``n`` values, or a callable shift of the
        node's natural value (a discrete node's in its column's dtype: ``lambda b: ~b`` flips a
        bool node). Columns come back in the training data's order. ``remove_edges``
        (DECAF-style fair generation) cuts edges ``(parent, child)`` at generation time: the
        child sees an independent draw of the parent from its generated marginal. ``given``
        (conditional queries ``P(· | do(x), z)``, values or arrays of ``n`` values per node)
        needs ``latent_strategy="idgen"``, whose fitted ``route_``
        (:class:`~deepcause.generative._idgen_route.IDGenRoute`) answers every query. A ``do``
        value outside the training data (beyond a scalar node's observed range; an array or
        shift that puts clearly more units outside it than fresh draws would; an image unlike
        the node's training images) warns, :class:`~deepcause.exceptions.PositivityWarning`
        (rules: :mod:`deepcause.generative._support`, :mod:`deepcause.generative._image_support`).

        Examples
        --------
        >>> import warnings
        >>> from deepcause.generative import CausalGenerativeModel
        >>> x = np.random.default_rng(0).normal(size=300)
        >>> df = pd.DataFrame({"X": x, "Y": x + np.random.default_rng(1).normal(size=300)})
        >>> m = CausalGenerativeModel("X -> Y", max_epochs=2, random_state=0, verbose=False)
        >>> m.fit(df).sample(4, do={"X": 1.0}, random_state=0).shape
        (4, 2)
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     _ = m.sample(4, do={"X": x.max() + 0.5}, random_state=0)
        >>> print(caught[0].message)  # doctest: +ELLIPSIS
        do(X) = 3.566 lies outside the observed range [-3.106, 3.066] of 'X' ...extrapolation...
        """
        if getattr(self, "route_", None) is not None:
            return self.route_.sample(n, do, given, random_state)
        if given:
            raise DataValidationError(
                "given= (a conditional query P(y | do(x), z)) is answered by "
                "latent_strategy='idgen'; refit with CausalGenerativeModel(graph, "
                "latent_strategy='idgen')"
            )
        self._check_fitted()
        n = check_n(n)
        identified = None
        if do is not None and not isinstance(do, Mapping):
            raise DataValidationError(
                f"do must be a mapping from node to value, array or callable, got "
                f"{type(do).__name__}"
            )
        if self.districts_ and do:
            identified = self._identified(do, allow_unidentified)
        specs = parse_do(do, self.specs_, n, self.device_, getattr(self, "image_support_", None))
        cut = self._check_edges(remove_edges)
        clipped: dict[str, float] = {}  # integer nodes' draws moved to their bounds
        values = self._generate(n, specs, cut, self._generator(random_state), clipped)
        out = self.decode(values, do=specs)
        if identified is not None:
            out.attrs["identified"] = identified
        if clipped:
            out.attrs["clipped_counts"] = clipped
        return out

    def _generate(
        self,
        n: int,
        specs: Mapping[str, DoSpec],
        cut: list[tuple[str, str]],
        gen: torch.Generator,
        clipped: dict[str, float],
    ) -> dict[str, torch.Tensor]:
        """Every node's ``n`` encoded draws in topological order under ``specs`` with the edges
        ``cut`` (their children see a permuted draw of the parent); ``clipped`` collects the
        integer nodes' shares of draws moved to their bounds."""
        noise = {
            v: self._mechanism(v).sample_noise(n, gen) for v in self.order_ if v not in self._given
        }
        latents = self._latents(n, gen)
        perms = {e: torch.randperm(n, generator=gen, device=self.device_) for e in cut}
        values: dict[str, torch.Tensor] = {}
        for v in self.order_:
            if v in specs and specs[v].value is not None:
                values[v] = specs[v].value
                continue
            seen = dict(values)
            for p, c in cut:
                if c == v:
                    seen[p] = values[p][perms[(p, c)]]
            x = self._mechanism(v).decode(noise[v], self.context(v, seen, latents, n=n))
            values[v] = self._maybe_shift(v, self.counted(v, x, clipped), specs)
        return values

    def _identified(self, do: Mapping[str, Any], allow_unidentified: bool) -> bool:
        """Whether ``P(descendants | do)`` is identifiable on a graph with bidirected edges.

        Raises :class:`~deepcause.exceptions.NotIdentifiableError` when it is not, unless
        ``allow_unidentified`` (then a warning; the samples are labelled unidentified).
        """
        treatment = [v for v in self.order_ if v in do]
        descendants = self.graph_.descendants(treatment)
        affected = [v for v in self.order_ if v in descendants and v not in do]
        if not affected:
            return True
        try:
            identify(self.graph_, treatment, affected)
        except NotIdentifiableError as exc:
            if not allow_unidentified:
                raise sampling_refusal(
                    exc, self.graph_, treatment,
                    "allow_unidentified=True samples it anyway, labelled unidentified",
                ) from None  # fmt: skip
            warnings.warn(
                f"sample(do={{{', '.join(treatment)}}}): {exc.query or 'the query'} is not "
                "identifiable from observational data on this graph"
                f"{hidden_confounders(exc, self.graph_)}; "
                "sampled anyway (allow_unidentified=True) and labelled so (attrs['identified'] "
                "is False): the samples are one of many laws the data allow",
                DeepCauseWarning,
                stacklevel=user_stacklevel(),
            )
            return False
        return True

    def counted(
        self, v: str, x: torch.Tensor, clipped: dict[str, float] | None = None
    ) -> torch.Tensor:
        """``x`` rounded to whole numbers and kept within the column's support if ``v`` was an
        integer column (children then see the counts that come out, see
        :attr:`NodeSpec.whole` and :meth:`NodeSpec.clip_counts`); else unchanged. The share of
        values a bound moved is put in ``clipped[v]`` when there are any: ``sample`` and
        ``counterfactual`` return it in ``attrs["clipped_counts"]``. No warning: under a
        ``do()`` the mass at a count's bound legitimately grows (a Poisson count's zeros), and
        a ``do()`` value beyond the data warns already."""
        spec = self.specs_[v]
        if not spec.whole:
            return x
        x, moved = spec.clip_counts(x)
        if clipped is not None and sum(moved) > 0:
            clipped[v] = sum(moved)
        return x

    def _maybe_shift(self, v: str, x: torch.Tensor, specs: Mapping[str, DoSpec]) -> torch.Tensor:
        if v in specs and specs[v].shift is not None:
            supports = getattr(self, "image_support_", None)
            return apply_shift(self.specs_[v], specs[v].shift, x, self.device_, supports)
        return x

    def _mechanism(self, v: str) -> Mechanism:
        mech = self.mechanisms_.get(v)
        if mech is None:
            raise LatentConfoundingError(
                f"node {v!r} has no mechanism; its district strategy did not set one"
            )
        return mech

    def _check_edges(self, edges: Iterable[tuple[str, str]] | None) -> list[tuple[str, str]]:
        out = []
        for edge in edges or ():
            if not (isinstance(edge, tuple | list) and len(edge) == 2):
                raise DataValidationError(f"remove_edges needs (parent, child) pairs, got {edge!r}")
            p, c = edge
            self.graph_.check_nodes([p, c], role="remove_edges node")
            if p not in self.parents_[c]:
                raise GraphError(f"cannot remove {p} -> {c}: the graph has no such edge")
            out.append((p, c))
        return out
