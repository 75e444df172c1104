"""``CausalGenerativeModel(graph, latent_strategy="idgen")``: ID-GEN behind the model's API.

One :class:`~deepcause.generative.idgen.IDGenSampler` per query, trained on first use and
reused; the model's ``sample(n, do=..., given=...)`` answers through :class:`IDGenRoute`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import torch

from .._validation import require_columns, user_stacklevel
from ..exceptions import DataValidationError, DeepCauseWarning, NotIdentifiableError
from ..graph.causal_graph import as_graph
from ..identification.algorithm import identify
from ._core import MechanismModel
from ._data import Samples, column_values, input_order, split_data
from ._image_support import ImageSupport, warn_off_images
from ._images import CHANNEL_SCALE_WARNING
from ._refusals import check_training_rows, sampling_refusal
from .idgen import IDGenSampler, _refuse_shifts

__all__ = ["IDGenRoute"]


class IDGenRoute:
    """``CausalGenerativeModel(graph, latent_strategy="idgen")``: ID-GEN behind the model's API.

    ``fit`` only stores the data; each query ``sample(n, do=..., given=...)`` trains (on first
    use, then reuses) an :class:`IDGenSampler` with the model's ``mechanisms``, ``max_epochs``,
    ``random_state`` and ``verbose``, for the joint law of every node under ``do(...)``
    (``P(V \\ X | do(X))``): the ``"joint"`` route's shape, every node in the training data's
    column order. When that joint law is not identifiable but the law of the treatment's
    descendants is (the napkin's ``do(X)``: ``W1`` and ``Y`` share a hidden confounder), the
    answer is the descendants' law, with a warning naming the nodes left out; a conditional
    query (``given=``) returns the treatment, the given nodes and the descendants (the
    ``"joint"`` route has no conditional queries). Queries whose descendants' law is not
    identifiable raise :class:`~deepcause.exceptions.NotIdentifiableError`.

    >>> from deepcause.simulate.suite import get_case
    >>> case = get_case("bow_mediator")
    >>> from deepcause.generative import CausalGenerativeModel
    >>> m = CausalGenerativeModel(case.graph, latent_strategy="idgen", max_epochs=10,
    ...                           random_state=0).fit(case.sample(400, random_state=0))
    >>> list(m.sample(50, do={"X": 1.0}, random_state=0).columns)
    ['X', 'M', 'Y']
    """

    def __init__(self, model: MechanismModel, data: pd.DataFrame | Mapping) -> None:
        if model.node_columns:
            raise DataValidationError(
                "latent_strategy='idgen' takes one column per node; drop node_columns or use "
                "latent_strategy='joint'"
            )
        self.model = model
        self.graph = as_graph(model.graph)
        df, images, _ = split_data(data)
        tabular = [v for v in self.graph.nodes if v not in images]
        require_columns(df, tabular, role="node")
        check_training_rows(df, tabular)  # what fit can check before a query trains a sampler
        self.data = (
            df[list(self.graph.nodes)].reset_index(drop=True)
            if isinstance(data, pd.DataFrame)
            else {v: images[v] if v in images else column_values(df, v) for v in self.graph.nodes}
        )
        self.samplers: dict[tuple[tuple[str, ...], tuple[str, ...]], IDGenSampler] = {}
        # per query: the nodes it cannot return beside the treatment's descendants
        self.left_out: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
        self.columns = [c for c in input_order(df, images) if c in self.graph]  # outputs' order
        supports = {v: ImageSupport.fit(images[v]) for v in images if v in self.graph}
        self.image_support = {v: s for v, s in supports.items() if s is not None}

    def sampler(self, do: Iterable[str], given: Iterable[str]) -> IDGenSampler:
        """The (fitted) sampler of the query with treatment ``do`` and conditioning ``given``."""
        self.graph.check_nodes([*do, *given], role="do/given", allow_empty=True)
        order = self.graph.topological_order()
        t = tuple(v for v in order if v in set(do))
        z = tuple(v for v in order if v in set(given))
        if (t, z) not in self.samplers:
            if not t:
                raise DataValidationError(
                    "latent_strategy='idgen' samples interventional queries: give do={node: "
                    "value}, or fit with latent_strategy='joint' for observational samples"
                )
            desc = self.graph.descendants(list(t))
            outcome = [v for v in order if v in desc and v not in t and v not in z]
            if not outcome:
                raise DataValidationError(
                    f"do({', '.join(t)}) changes no other node ({', '.join(t)} has no "
                    "descendants outside the query): the other nodes keep their observational "
                    "law, which latent_strategy='idgen' does not sample; fit with "
                    "latent_strategy='joint' for it"
                )
            outcome, self.left_out[(t, z)] = self._outcome(t, z, outcome)
            m = self.model
            s = IDGenSampler(self.graph, list(t), outcome, list(z) or None,
                             mechanisms=m.mechanisms, max_epochs=m.max_epochs,
                             random_state=m.random_state, verbose=m.verbose)  # fmt: skip
            with warnings.catch_warnings():  # the model warned of the channels at fit
                warnings.filterwarnings("ignore", CHANNEL_SCALE_WARNING, DeepCauseWarning)
                self.samplers[(t, z)] = s.fit(self.data)
        return self.samplers[(t, z)]

    def _outcome(
        self, t: tuple[str, ...], z: tuple[str, ...], descendants: list[str]
    ) -> tuple[list[str], list[str]]:
        """The query's outcome nodes and the nodes it leaves out: every node but the treatment
        (all of them, as the ``"joint"`` route samples) when their joint law under ``do(t)`` is
        identifiable; else the treatment's descendants (a conditional query's too)."""
        others = [v for v in self.graph.topological_order() if v not in t and v not in z]
        if z or others == descendants:
            return descendants, []
        try:
            identify(self.graph, list(t), others)
        except NotIdentifiableError:
            return descendants, [v for v in others if v not in descendants]
        return others, []

    def sample(
        self,
        n: int,
        do: Mapping[str, Any] | None,
        given: Mapping[str, Any] | None,
        random_state: Any,
    ) -> pd.DataFrame:
        """Samples of the query's nodes (see the class docstring), in the training data's
        column order."""
        for arg, spec in (("do", do), ("given", given)):
            if spec is not None and not isinstance(spec, Mapping):
                raise DataValidationError(
                    f"{arg} must be a mapping from node to value or array, got {type(spec).__name__}"
                )
            self.graph.check_nodes(list(spec or {}), role=f"{arg}= node", allow_empty=True)
        do, given = dict(do or {}), dict(given or {})
        _refuse_shifts(do, "do")  # before training the query's sampler
        _refuse_shifts(given, "given")
        with torch.enable_grad():  # the model's sample() runs under no_grad; training needs it
            try:
                s = self.sampler(do, given)
            except NotIdentifiableError as exc:
                t = [v for v in self.graph.topological_order() if v in do]
                raise sampling_refusal(exc, self.graph, t) from None
        out = s.sample(n, do, random_state=random_state, given=given)
        left = self.left_out[tuple(s.treatment_), tuple(s.given_)]
        if left:
            warnings.warn(
                f"sample(do={{{', '.join(s.treatment_)}}}) with latent_strategy='idgen' returns "
                f"{', '.join(s.treatment_ + s.outcome_)} only: the joint law of "
                f"{', '.join(left)} with them under this do() is not identifiable on this graph "
                "(P(the descendants | do) is); latent_strategy='joint' returns every node",
                DeepCauseWarning,
                stacklevel=user_stacklevel(),
            )
        for v, value in do.items():  # checked by the sampler: now an image of the node's shape
            warn_off_images(self.image_support, v, value)
        for v, value in given.items():  # the query's generators were trained on v's images too
            warn_off_images(self.image_support, v, value, what=f"given({v})")
        order = [v for v in self.columns if v in out]
        res = out[order] if isinstance(out, pd.DataFrame) else Samples({v: out[v] for v in order})
        res.attrs.update(out.attrs)
        return res
