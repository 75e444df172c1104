"""``CausalGenerativeModel``: one neural mechanism per node of a causal graph.

``fit(df)`` trains each node's mechanism on observational data (independently: the likelihood of
a DAG model factorises over nodes). ``sample(n, do=...)`` pushes exogenous noise through the
mechanisms in topological order, replacing intervened nodes; ``counterfactual(df, do=...)``
abducts each unit's noise, acts and predicts; ``log_prob(df)`` sums the nodes' log-densities.

Choosing mechanisms (``mechanisms=``): ``"auto"`` gives :class:`CategoricalMechanism` to
discrete columns (bool, category, strings, integers with at most 20 levels, floats with two
values) and chooses each continuous node's mechanism by held-out likelihood among additive noise,
additive noise on ``log x`` (positive nodes: multiplicative noise), location-scale and
conditional flow (:mod:`deepcause.generative.selection`; the choice is reported in
``mechanism_choice_``); every candidate is invertible, so counterfactual abduction stays exact.
Pass a name (``"additive"``, ``"location_scale"``, ``"flow"``, ``"log"``, ``"diffusion"``) to
skip the selection. A single name applies to every continuous node; a dict
``{node: name | Mechanism}`` sets nodes one by one (the rest stay ``"auto"``). Image nodes
(``(n, C, H, W)`` arrays) get ``"image_hvae"`` from ``"auto"`` (the hierarchical VAE, whose
abduction keeps a unit's style in counterfactuals: ``benchmarks/results/bench_images_fresh.md``),
except in graphs with bidirected edges (the ``"joint"`` route's nodes, ID-GEN's factors), which
keep ``"image_vae"`` with its mixture prior (discrete modes such as colours set by hidden
variables; the front door's digit mediator: mean ``E[Y | do(X)]`` error 0.045 with it, 0.058
with ``"image_hvae"`` over six seeds, ``bench_images_fresh.md`` run 6).

Vector nodes: ``node_columns={"img": ["img_0", ..., "img_15"]}`` makes several columns one node;
every other node is the column of the same name.

Latent confounders (bidirected edges) are handled per district by a
:class:`~deepcause.generative.districts.DistrictStrategy` chosen by ``latent_strategy`` (the
built-in ``"joint"``, or a subclass); without one, ``fit`` refuses such graphs instead of
silently ignoring the latents. Two routes exist (see :mod:`deepcause.generative.districts` and
:mod:`deepcause.generative.idgen`): the default ``"joint"`` strategy trains each district's
mechanisms jointly with a shared latent, giving a full neural causal model that samples any
``do()`` consistent with the data, but only identifiable queries are guaranteed correct, so
``sample(do=...)`` first runs :func:`deepcause.identification.identify` and raises
:class:`~deepcause.exceptions.NotIdentifiableError` otherwise (``allow_unidentified=True`` opts
in, with a warning and ``df.attrs["identified"] = False``);
:class:`~deepcause.generative.idgen.IDGenSampler` trains query-specific generators along the ID
recursion, correct by construction for one identifiable query; ``latent_strategy="idgen"``
puts it behind this class's ``sample`` (one sampler per query,
:class:`~deepcause.generative._idgen_route.IDGenRoute`). Counterfactuals of nodes with bidirected edges
are drawn from their identified distribution given the unit's unaffected values when ID* says
it is identifiable, and refused with ID*'s reason otherwise
(:mod:`deepcause.generative.confounded_counterfactual`).

The node-by-node fitting, encoding and sampling live in the joint-model core
(:class:`~deepcause.generative._core.MechanismModel`, the base class), which ID-GEN also uses
for its factor generators; this module adds the routes, counterfactuals, densities and
persistence. (Examples: :class:`CausalGenerativeModel`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._summary import Summary
from ..exceptions import DataValidationError
from ..graph.causal_graph import CausalGraph, as_graph
from ._core import MechanismModel
from ._data import Samples, input_order, split_data
from ._do import align_do, parse_do
from ._idgen_route import IDGenRoute
from ._images import warn_channel_scales
from ._refusals import refuse_target
from ._support import note_off_support
from .confounded_counterfactual import check_identifiable, confounded_counterfactual
from .districts import LatentConfoundingError
from .io import read_model, save_model
from .selection import DEFAULT_CONTINUOUS, DEFAULT_IMAGE_SCM

__all__ = ["CausalGenerativeModel", "load_model", "DEFAULT_CONTINUOUS"]


class CausalGenerativeModel(MechanismModel):
    """Deep causal generative model over a causal graph (see the module docstring).

    Parameters: ``graph`` (CausalGraph or text), ``mechanisms`` (``"auto"``, a mechanism name
    for all continuous nodes, or a dict per node), ``node_columns`` (vector nodes),
    ``max_epochs`` (when not None, overrides the default of mechanisms given by name or class;
    a mechanism given as an instance keeps its own ``max_epochs``, as a configured
    scikit-learn estimator passed as a parameter keeps its settings), ``latent_strategy``
    (district strategy for bidirected edges: ``"joint"``, a ``DistrictStrategy`` subclass, or
    ``"idgen"``: per-query ID-GEN, :class:`~deepcause.generative._idgen_route.IDGenRoute`),
    ``device`` (``"auto"``: CUDA when present),
    ``random_state`` and ``verbose`` (progress bars). ``max_epochs=0`` and other values outside
    ``_parameter_constraints`` are refused by ``fit``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=1000)
    >>> df = pd.DataFrame({"X": x, "Y": 2 * x + rng.normal(size=1000)})
    >>> m = CausalGenerativeModel("X -> Y", mechanisms="additive", max_epochs=20, random_state=0,
    ...                           verbose=False).fit(df)
    >>> bool(abs(m.sample(4000, do={"X": 1.0}, random_state=1)["Y"].mean() - 2.0) < 0.3)
    True
    >>> m.counterfactual(df.head(2), do={"X": 0.0}).shape  # each unit's own noise, X set to 0
    (2, 2)
    """

    _image_default = DEFAULT_IMAGE_SCM  # "auto" for image nodes of graphs without <->

    # ================================================================== fitting
    def fit(self, data: pd.DataFrame | Mapping[str, Any], y: None = None) -> CausalGenerativeModel:
        """Train every node's mechanism on the observational ``data``; returns ``self``.

        ``data``: a data frame, or a mapping ``{node: array}`` with ``(n, C, H, W)`` images
        for image nodes and 1-D arrays for tabular ones (then ``sample`` and
        ``counterfactual`` return mappings too, images in the training images' dtype and
        pixel range: :mod:`deepcause.generative._images`). With ``latent_strategy="idgen"``
        ``fit`` only stores the data; each query trains its own sampler. ``y``: scikit-learn's
        slot, ``None`` only: the graph names the outcome, whose values are a column of ``data``
        (``fit(X, y)`` is refused in one line saying so).
        """
        refuse_target(self, y)
        self._validate_params()
        df, images, self.mapping_input_ = split_data(data)
        for v, arr in images.items():  # both routes (ID-GEN's factor models do not warn)
            warn_channel_scales(f"data[{v!r}]", arr)
        if isinstance(self.latent_strategy, str) and self.latent_strategy == "idgen":
            self.route_ = IDGenRoute(self, data)  # image nodes too (mapping in, mapping out)
            return self
        return self._fit_nodes(df, images)

    # ================================================================== counterfactuals
    @torch.no_grad()
    def counterfactual(
        self,
        factual: pd.DataFrame | Mapping[str, Any],
        do: Mapping[str, Any],
        random_state: Any = None,
    ) -> pd.DataFrame | Samples:
        """Unit-level counterfactuals of the rows of ``factual`` under ``do``.

        Abduction (each unit's noise from its factual values: exact for invertible mechanisms,
        a posterior draw for categorical ones), action (``do``), prediction (decode). Nodes
        that are not descendants of the intervened ones keep their factual values, and so does
        a unit's node whose counterfactual parents all equal its factual ones (composition:
        ``do(X = X)`` returns the factual, images and categorical nodes too). When an
        affected node has hidden confounders, see
        :mod:`~deepcause.generative.confounded_counterfactual` (checked by ID*; a draw given
        the unit's unaffected values; hard interventions only): every affected node is then
        a draw with fresh noise, not the unit's own value, even one without hidden
        confounders (an image mediator too), and ``attrs["posterior_draw"]`` lists them.
        Per-unit ``do`` values are read in row order, a pandas Series by the rows' index labels
        (refused when its labels differ). ``do`` values outside the training data warn as in
        :meth:`sample` (arrays and shifts when clearly more units leave the observed range
        than fresh draws would). Columns come back in ``factual``'s order. A node whose new
        parent values leave their joint support in the training data for more units than
        fresh draws would warns too, once per node, and its flagged units are recorded in
        ``attrs["off_support"]`` (``{node: {"share", "units"}}``; rule:
        :class:`~deepcause.generative._support.JointSupport`).

        Categorical nodes are not invertible: their counterfactual is one posterior draw of
        the noise given the unit (Gumbel-max, Oberst & Sontag 2019), so it changes with
        ``random_state``; they and the descendants they reach are listed in
        ``attrs["posterior_draw"]``. The draw keeps the level when the node's probabilities do
        not change but is not monotone; name a continuous mechanism for an ordered count
        (``mechanisms={"K": "location_scale"}``) to keep each unit's quantile. A count modelled
        as continuous (more than 20 levels, or whole-valued floats) has its noise abducted at
        the observed count and is not rounded (closer to the truth on average:
        ``bench_generative.md``, run 5); its children's joint-support check reads it rounded.

        Examples
        --------
        >>> x = np.random.default_rng(0).normal(size=300)
        >>> df = pd.DataFrame({"X": x, "Y": 2 * x + np.random.default_rng(1).normal(size=300)})
        >>> m = CausalGenerativeModel("X -> Y", mechanisms="additive", max_epochs=5,
        ...                           random_state=0, verbose=False).fit(df)
        >>> held_out = pd.DataFrame({"X": [0.0, 1.0], "Y": [0.5, 2.0]})
        >>> cf = m.counterfactual(held_out, do={"X": held_out["X"] + 0.5})  # inside the data
        >>> cf["X"].tolist()
        [0.5, 1.5]
        """
        self._check_fitted()
        df, images, as_mapping = split_data(factual, "factual")
        do, specs = self._counterfactual_do(df, do, as_mapping)
        n = len(df)
        affected = self.graph_.descendants(set(specs))
        abducted = [v for v in affected if not (v in specs and specs[v].value is not None)]
        fact = self.encode(factual)
        gen = self._generator(random_state)
        off: dict[str, Any] = {}
        drawn: list[str] = []
        clipped: dict[str, float] = {}  # integer nodes' values moved to their bounds
        kept: dict[str, np.ndarray] = {}
        if any(self.graph_.spouses(v) for v in abducted):  # hidden confounders: ID* decides
            check_identifiable(self, do, abducted)
            values = confounded_counterfactual(self, fact, specs, abducted, gen, clipped)
            drawn = [v for v in self.order_ if v in abducted]  # fresh noise, not the unit's
        else:
            values, off, drawn, kept = self._abduct_act_predict(
                fact, specs, affected, n, gen, clipped
            )
        order = input_order(df, images)  # the factual's column order
        out = self._keep_factual(
            self.decode(values, index=df.index, do=specs, as_mapping=as_mapping, order=order),
            df, images, affected, kept,
        )  # fmt: skip
        notes = {"off_support": off, "posterior_draw": drawn, "clipped_counts": clipped}
        out.attrs.update({key: note for key, note in notes.items() if note})
        return out

    @torch.no_grad()
    def reconstruct(
        self, factual: pd.DataFrame | Mapping[str, Any], node: str, random_state: Any = None
    ) -> np.ndarray:
        """``node``'s values after its mechanism abducts each unit's noise and predicts under the
        unit's own (factual) parents: the mechanism's round trip.

        :meth:`counterfactual` returns a unit's factual value wherever its parents are
        unchanged (composition by construction), so ``do(X = X)`` through the model measures
        nothing about the mechanism; this is what it would return without that rule: exact for
        invertible tabular mechanisms, the encoder's reconstruction for an image (H)VAE, the
        DDIM inversion's for ``image_diffusion``. Returns an array in original units (images
        ``(n, C, H, W)`` in the training images' pixel range, categorical levels as objects).

        >>> x = np.random.default_rng(0).normal(size=300)
        >>> df = pd.DataFrame({"X": x, "Y": 2 * x + np.random.default_rng(1).normal(size=300)})
        >>> m = CausalGenerativeModel("X -> Y", mechanisms="additive", max_epochs=5,
        ...                           random_state=0, verbose=False).fit(df)
        >>> bool(np.allclose(m.reconstruct(df.head(3), "Y"), df["Y"].head(3), atol=1e-4))
        True
        """
        self._check_fitted()
        if node not in self.specs_:
            raise DataValidationError(
                f"{node!r} is not a node of the model; its nodes are {list(self.order_)}"
            )
        if self.graph_.spouses(node):
            raise LatentConfoundingError(
                f"node {node!r} has hidden confounders (bidirected edges), so its noise is not "
                "the unit's own; reconstruct() takes a node without them"
            )
        fact = self.encode(factual, nodes=[*self.parents_[node], node])
        ctx = self.context(node, fact, n=fact[node].shape[0])
        x = self._mechanism(node).counterfactual(
            fact[node], ctx, ctx, self._generator(random_state)
        )
        return self.specs_[node].decode_values(x)

    def _counterfactual_do(
        self, df: pd.DataFrame, do: Mapping[str, Any], as_mapping: bool
    ) -> tuple[Mapping[str, Any], dict[str, Any]]:
        """``do`` (a Series follows the rows' index labels) and its parsed specs for the units
        ``df``; refuses an empty ``do`` or no units."""
        if not do:
            raise DataValidationError("counterfactual() needs a non-empty do= intervention")
        if len(df) == 0:
            raise DataValidationError(
                "factual has no units; give at least one row (or one array entry)"
            )
        if not as_mapping and isinstance(do, Mapping):  # Series follow the rows' labels
            do = align_do(do, df.index)
        support = getattr(self, "image_support_", None)
        return do, parse_do(do, self.specs_, len(df), self.device_, support)

    def _abduct_act_predict(
        self,
        fact: dict[str, torch.Tensor],
        specs: dict[str, Any],
        affected: set[str],
        n: int,
        gen: torch.Generator,
        clipped: dict[str, float],
    ) -> tuple[dict[str, torch.Tensor], dict[str, Any], list[str], dict[str, np.ndarray]]:
        """The counterfactual node tensors in topological order (no hidden confounders), the
        nodes whose new parents left their joint support, those that are posterior draws, and
        per affected node the units whose parents did not change (they keep their factual
        value: composition, which abduction through a non-invertible mechanism, an image VAE's
        reconstruction or a categorical posterior draw, would otherwise break); ``clipped``
        collects the integer nodes' shares of values moved to their bounds."""
        values: dict[str, torch.Tensor] = {}
        off: dict[str, Any] = {}  # nodes whose new parents leave their joint support
        drawn: list[str] = []  # nodes whose counterfactual depends on a posterior draw
        kept: dict[str, np.ndarray] = {}  # node -> units whose parents are unchanged
        for v in self.order_:
            if v in specs and specs[v].value is not None:
                values[v] = specs[v].value
            elif v not in affected:
                values[v] = fact[v]
            elif not any(p in affected for p in self.parents_[v]):
                values[v] = self._maybe_shift(v, fact[v], specs)  # natural value is unchanged
            else:
                mech = self._mechanism(v)
                ctx = self.context(v, values, n=n)
                x = mech.counterfactual(fact[v], self.context(v, fact), ctx, gen)
                same = _unchanged_units(self.parents_[v], values, fact)
                if bool(same.any()):
                    x = torch.where(same.reshape(-1, *[1] * (x.dim() - 1)), fact[v].to(x.dtype), x)
                    if v not in specs:  # (a shifted node's value is not the factual one)
                        kept[v] = same.cpu().numpy()
                # integer parents' counterfactuals lie between counts: check them at the count
                on_grid = {p: self.specs_[p].snap(values[p]) for p in self.parents_[v]}
                note_off_support(v, self.parents_[v], mech, self.context(v, on_grid, n=n), off)
                values[v] = self._maybe_shift(v, self.counted(v, x, clipped), specs)
                if not mech.invertible or any(p in drawn for p in self.parents_[v]):
                    drawn.append(v)
        return values, off, drawn, kept

    def _keep_factual(
        self,
        out: pd.DataFrame | Samples,
        df: pd.DataFrame,
        images: Mapping[str, np.ndarray],
        affected: set[str],
        kept: Mapping[str, np.ndarray],
    ) -> pd.DataFrame | Samples:
        """Write the continuous nodes' factual values back exactly as given (no float32 round
        trip; images in the model's image dtype, integers rounded): all units of unaffected
        nodes, the ``kept`` units of affected ones."""
        for v in self.order_:
            spec = self.specs_[v]
            rows = kept.get(v) if v in affected else slice(None)
            if rows is None or spec.discrete:
                continue
            if spec.is_image:
                given = spec.restore_image(images[v], clip=False)
                out[v] = _put_rows(out[v], given, rows)
            else:
                for c in spec.columns:
                    values = df[c].to_numpy(dtype=float, copy=True)
                    given = (
                        spec.restore(values) if spec.dim == 1 else values.astype(spec.float_dtype)
                    )
                    out[c] = _put_rows(out[c], given, rows)
        return out

    # ================================================================== densities
    @torch.no_grad()
    def log_prob(self, data: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """Log-density of each row under the fitted model (in the data's original units)."""
        self._check_fitted()
        if self.districts_:
            raise LatentConfoundingError(
                "log_prob needs the latent confounders integrated out; not available for graphs "
                "with bidirected edges"
            )
        values = self.encode(data)
        n = next(iter(values.values())).shape[0]
        total = torch.zeros(n, device=self.device_, dtype=torch.float64)
        for v in self.order_:
            lp = self._mechanism(v).log_prob(values[v], self.context(v, values)).double()
            spec = self.specs_[v]
            if not spec.discrete:
                lp = lp - float(np.log(spec.std).sum())
            total += lp
        return total.cpu().numpy()

    # ================================================================== report
    def summary(self) -> Summary:
        """What was fitted, node by node: each node's kind, parents and mechanism, how it was
        chosen and, for ``mechanisms="auto"``'s choices, every candidate's held-out
        log-likelihood (per row, on the standardised scale; higher is better), with notes on
        what the model's counterfactuals are. Renders as text, Markdown, HTML or LaTeX
        (:class:`~deepcause._summary.Summary`); the same figures are in ``mechanism_choice_``.
        The table's ``"held-out log-lik"`` column is numeric (``Float64``), missing (``pd.NA``,
        printed "-") for nodes no candidates were scored for (root nodes, named mechanisms,
        discrete nodes, districts); ``"kind"`` says how each node is modelled (a float column
        with a few whole values is continuous: "continuous (3 whole values, not rounded)").

        Examples
        --------
        >>> x = np.random.default_rng(0).normal(size=300)
        >>> df = pd.DataFrame({"X": x, "Y": x + np.random.default_rng(1).normal(size=300)})
        >>> m = CausalGenerativeModel("X -> Y", max_epochs=2, random_state=0).fit(df)
        >>> table = m.summary().table
        >>> table.loc["X", "chosen by"], table.loc["Y", "parents"], len(table.columns)
        ('root node', 'X', 6)
        """
        graph = as_graph(self.graph)
        rows = [("graph", str(graph)), ("latent strategy", _strategy_text(self, graph))]
        if getattr(self, "route_", None) is not None:
            table = pd.DataFrame(
                {"parents": [", ".join(graph.parents(v)) or "-" for v in graph.nodes]},
                index=pd.Index(graph.nodes, name="node"),
            )
            note = (
                "latent_strategy='idgen' trains one ID-GEN sampler per query when sample(do=...) "
                "is called: no mechanism is fitted per node"
            )
            return Summary(type(self).__name__, rows, table, [note])
        self._check_fitted()
        table = pd.DataFrame(
            [_node_row(self, v) for v in self.order_], index=pd.Index(self.order_, name="node")
        ).astype({"held-out log-lik": "Float64"})  # pd.NA (not NaN) where none was scored
        return Summary(type(self).__name__, rows, table, _summary_notes(self))

    # ================================================================== persistence
    def save(self, path: str | Path) -> Path:
        """Save to the directory ``path`` and return it (the checked format of
        :mod:`deepcause._persistence`)."""
        return save_model(self, path)

    @classmethod
    def load(cls, path: str, device: str = "auto") -> CausalGenerativeModel:
        """Load a model saved with :meth:`save` (no code is executed)."""
        return read_model(cls, path, device=device)


def _strategy_text(model: CausalGenerativeModel, graph: CausalGraph) -> str:
    """The summary's latent-strategy row: the strategy and its districts, or why none."""
    if not graph.bidirected_edges:
        return "none needed (no bidirected edges)"
    districts = ["{" + ", ".join(sorted(d)) + "}" for d in graph.districts() if len(d) > 1]
    return f"{model.latent_strategy} (districts {', '.join(districts)})"


def _node_row(model: CausalGenerativeModel, v: str) -> dict[str, Any]:
    """One node's row of :meth:`CausalGenerativeModel.summary`."""
    spec, mech, choice = model.specs_[v], model.mechanisms_.get(v), model.mechanism_choice_.get(v)
    if spec.is_image:
        kind = f"image {'x'.join(map(str, spec.shape))} ({spec.image_dtype})"
    elif spec.discrete:
        kind = f"discrete, {len(spec.levels or [])} levels"
    elif spec.dim > 1:
        kind = f"vector of {spec.dim} columns"
    elif spec.whole:
        kind = "count (continuous, rounded)"
    elif spec.few_values:
        kind = f"continuous ({spec.few_values} whole values, not rounded)"
    else:
        kind = "continuous"
    # the selection's name: a flow that kept its location-scale model is "location_scale"
    name = choice["mechanism"] if choice else "-" if mech is None else mech.name
    if mech is not None and getattr(mech, "head", None) is not None:
        name = f"{name} + {mech.head.name}"  # a conv encoder of image parents, then the head
    named = model.mechanisms if isinstance(model.mechanisms, str) else model.mechanisms.get(v)
    if choice is not None:
        how = choice["reason"]
    elif any(v in s.district for s in model.districts_):
        how = "district with hidden confounders (joint latent)"
    elif named not in (None, "auto"):
        how = "named in mechanisms="
    else:
        how = "default for its kind"
    scores = (choice or {}).get("val_log_lik", {})
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    return {
        "kind": kind,
        "parents": ", ".join(model.parents_[v]) or "-",
        "mechanism": name,
        "chosen by": how,
        "held-out log-lik": scores.get((choice or {}).get("mechanism"), pd.NA),
        "candidates": ", ".join(f"{k} {s:.3f}" for k, s in ranked) or "-",
    }


def _summary_notes(model: CausalGenerativeModel) -> list[str]:
    """The caveats of :meth:`CausalGenerativeModel.summary`."""
    notes = []
    discrete = [v for v in model.order_ if model.specs_[v].discrete]
    if discrete:
        notes.append(
            f"counterfactuals of discrete nodes ({', '.join(discrete)}) and of what they reach "
            "are posterior draws (Gumbel-max): they change with random_state "
            "(attrs['posterior_draw'])"
        )
    confounded = [v for s in model.districts_ for v in s.district]
    if confounded:
        notes.append(
            f"nodes with hidden confounders ({', '.join(confounded)}): sample(do=...) is checked "
            "for identifiability first; their counterfactuals are draws given the unit's "
            "unaffected values when ID* identifies them, refused otherwise"
        )
    few = [v for v in model.order_ if model.specs_[v].few_values]
    if few:
        named = ", ".join(f"{v!r}: 'categorical'" for v in few)
        notes.append(
            f"float column(s) with a few whole values ({', '.join(few)}) are modelled as "
            "continuous: their samples and counterfactuals are not whole numbers; "
            f"mechanisms={{{named}}} (or an integer column) makes them discrete"
        )
    if any(c is not None and c.get("n_val") for c in model.mechanism_choice_.values()):
        n_val = max(c.get("n_val", 0) for c in model.mechanism_choice_.values())
        notes.append(
            f"held-out log-likelihood: mean per row on up to {n_val} held-out rows (every row, "
            "out of fold, when the candidates were cross-fitted: 'folds'), on the "
            "node's standardised scale; the highest wins unless a simpler candidate is not "
            "significantly worse (the rule: deepcause.generative.selection); 'flow' beside a "
            "chosen 'location_scale' is the parent-dependent flow, kept only when "
            "significantly higher"
        )
    return notes


def _unchanged_units(
    parents: list[str], values: Mapping[str, torch.Tensor], fact: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """The units whose counterfactual parent values all equal their factual ones (a boolean
    tensor ``(n,)``): a unit's node is a function of its parents and its own noise, so for them
    it keeps its factual value.

    >>> f = {"p": torch.tensor([[0.0], [1.0]])}
    >>> _unchanged_units(["p"], {"p": torch.tensor([[0.0], [2.0]])}, f).tolist()
    [True, False]
    """
    n = next(iter(fact.values())).shape[0]
    same = torch.ones(n, dtype=torch.bool)
    for p in parents:
        equal = torch.broadcast_to(values[p], fact[p].shape) == fact[p]
        same &= equal.reshape(n, -1).all(dim=1).cpu()
    return same.to(fact[parents[0]].device) if parents else same


def _put_rows(current: Any, given: np.ndarray, rows: slice | np.ndarray) -> Any:
    """``given`` (the whole column) where ``rows``, ``current`` elsewhere, as a new array."""
    if isinstance(rows, slice):
        return given
    out = np.array(current, dtype=given.dtype, copy=True)
    out[rows] = given[rows]
    return out


def load_model(path: str, device: str = "auto") -> CausalGenerativeModel:
    """Read a model written by :func:`~deepcause.generative.io.save_model` or
    :meth:`CausalGenerativeModel.save` (no code is executed).

    >>> import tempfile, numpy as np, pandas as pd
    >>> df = pd.DataFrame({"X": np.arange(40.0), "Y": np.arange(40.0) % 3})
    >>> m = CausalGenerativeModel("X -> Y", max_epochs=2, random_state=0).fit(df)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = m.save(d)
    ...     load_model(d).sample(3, random_state=0).shape
    (3, 2)
    """
    return CausalGenerativeModel.load(path, device=device)
