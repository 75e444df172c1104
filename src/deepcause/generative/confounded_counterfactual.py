"""Counterfactuals of nodes that share hidden confounders, when ID* says they are identifiable.

:meth:`CausalGenerativeModel.counterfactual <deepcause.generative.CausalGenerativeModel.counterfactual>`
abducts each unit's own noise from its factual values; that needs the noise to be recoverable,
which fails for a node whose district shares a latent confounder. For such *affected* nodes
(descendants of the intervention with a bidirected edge) the counterfactual asked of a unit is
instead the distribution of the affected nodes in the intervened world given the unit's values
of the *unaffected* nodes ``E`` (its non-descendants and its factual treatment)::

    P(W_{do} | E = e_unit)        W: the affected nodes, E: all the other nodes

-- for a single treatment this is the effect of treatment on the treated, per unit. Conditioning
on the unit's own values of the affected nodes (e.g. its factual outcome) is not identified once
they share a latent with the treatment, so it is not attempted.

Identification: the query is checked by IDC* (:func:`deepcause.identification.identify_counterfactual`)
on the graph, with symbolic values (the factual treatment differs from the intervened value, the
generic case); when it is not identifiable the call is refused with ID*'s reason.

Sampling: when it is identifiable, the query is the same functional of the observational
distribution in every model of the graph that reproduces that distribution, so the fitted
joint-latent model (which is such a model, up to its fit error) gives it by its own
counterfactual semantics: draw each confounded district's latent from its posterior given the
unit's evidence ``p(z | E) ∝ p(z) prod_{v in D ∩ E} p(v | pa_v, z)`` (``E`` is ancestral, so
this is exact; done by sampling-importance-resampling from ``n_particles`` prior draws per unit),
draw the affected nodes' own noise from its prior (it is independent of ``E``), and push the
intervened values forward through the mechanisms. The output is one draw per unit from the
identified counterfactual distribution, not a deterministic unit-level value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..exceptions import NotIdentifiableError
from ..identification.counterfactual import identify_counterfactual
from .districts import LatentConfoundingError

__all__ = ["check_identifiable", "confounded_counterfactual", "N_PARTICLES"]

N_PARTICLES = 256  # prior draws per unit for the latent's importance resampling

_Model = Any  # a fitted CausalGenerativeModel (model.py imports this module)


def _scalar(value: Any) -> Any:
    arr = np.asarray(value)
    return arr.ravel()[0].item() if arr.size else value


def check_identifiable(model: _Model, do: Mapping[str, Any], affected: Sequence[str]) -> None:
    """Refuse (:class:`LatentConfoundingError`, with ID*'s reason) unless the counterfactual
    ``P(affected_{do} | the other nodes)`` is identifiable from the graph.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from deepcause.graph import CausalGraph
    >>> front = SimpleNamespace(graph_=CausalGraph("X -> M -> Y; X <-> Y"), order_=["X", "M", "Y"])
    >>> check_identifiable(front, {"X": 1.0}, ["M", "Y"])  # the front door: identifiable
    >>> bow = SimpleNamespace(graph_=CausalGraph("X -> Y; X <-> Y"), order_=["X", "Y"])
    >>> check_identifiable(bow, {"X": 1.0}, ["Y"])
    Traceback (most recent call last):
    ...
    deepcause.generative.districts.LatentConfoundingError: the counterfactual of node(s) ['Y'] is not identifiable...
    """
    if any(callable(v) for v in do.values()):
        confounded = sorted(v for v in affected if model.graph_.spouses(v))
        raise LatentConfoundingError(
            f"counterfactuals of nodes with hidden confounders ({confounded}) take hard "
            "interventions only (values, not shift functions)"
        )
    values = {v: _scalar(x) for v, x in do.items()}
    evidence = [v for v in model.order_ if v not in affected]
    query = [(w, values, f"{w}'") for w in affected]
    given = [(e, {}, f"{e}_factual") for e in evidence]
    try:
        identify_counterfactual(model.graph_, query, given=given or None)
    except NotIdentifiableError as exc:
        raise LatentConfoundingError(
            f"the counterfactual of node(s) {sorted(affected)} is not identifiable: they share "
            f"hidden confounders (bidirected edges) and ID* finds that {exc.args[0]} "
            "Interventional samples (sample(n, do=...)) may still be available."
        ) from None


def _posterior_latents(model: _Model, fact: Mapping[str, torch.Tensor],
                       evidence: set[str], n: int, gen: torch.Generator) -> dict[str, torch.Tensor]:  # fmt: skip
    """One draw per unit of each confounded district's latent given the unit's evidence."""
    out: dict[str, torch.Tensor] = {}
    for strategy in model.districts_:
        seen = [v for v in strategy.district if v in evidence]
        blind = [v for v in seen if not model.mechanisms_[v].has_log_prob]
        if blind:
            raise LatentConfoundingError(_blind_reason(model, strategy.district, blind))
        k = N_PARTICLES if seen else 1
        z = strategy.sample_latent(k * n, gen)  # particle-major: row j * n + i is unit i
        if seen:
            rep = {v: t.repeat(k, *([1] * (t.ndim - 1))) for v, t in fact.items()}
            lat = strategy.node_latents(z)
            log_w = sum(model.mechanisms_[v].log_prob(rep[v], model.context(v, rep, lat,
                        n=k * n)).reshape(k, n) for v in seen)  # fmt: skip
            pick = torch.multinomial(torch.softmax(log_w.T.double(), 1), 1, generator=gen)
            z = z.reshape(k, n, -1)[pick.squeeze(1), torch.arange(n, device=z.device)]
        out.update(strategy.node_latents(z))
    return out


def _blind_reason(model: _Model, district: Sequence[str], blind: Sequence[str]) -> str:
    """One line: why the latent's posterior cannot be weighed, and what to do instead (an
    image node keeps its image mechanism, so only the interventional query is left for it)."""
    names = ", ".join(f"{v} ({type(model.mechanisms_[v]).__name__})" for v in blind)
    images = [v for v in blind if model.specs_[v].is_image]
    fix = "sample the interventional query with sample(n, do=...) instead"
    if len(images) < len(blind):
        tabular = [v for v in blind if v not in images]
        fix += f", or give {tabular} mechanisms with densities (e.g. 'additive')"
    return (
        f"this counterfactual needs the posterior of the hidden confounder of district "
        f"{list(district)} given the unit's {list(blind)}, and their mechanisms have no "
        f"densities ({names}); {fix}"
    )


def confounded_counterfactual(model: _Model, fact: Mapping[str, torch.Tensor], specs: Mapping,
                              affected: Sequence[str], gen: torch.Generator,
                              clipped: dict[str, float] | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
    """Encoded counterfactual values: a draw from ``P(affected_{do} | the other nodes)`` per
    unit (see the module docstring); ``specs`` are the parsed hard interventions; ``clipped``
    collects the integer nodes' shares of draws moved to their bounds (``model.counted``).

    Called by :meth:`CausalGenerativeModel.counterfactual
    <deepcause.generative.CausalGenerativeModel.counterfactual>` after
    :func:`check_identifiable`:

    >>> import numpy as np, pandas as pd
    >>> from deepcause.generative import CausalGenerativeModel
    >>> rng = np.random.default_rng(0)
    >>> u, x_noise, m_noise, y_noise = rng.normal(size=(4, 200))
    >>> x = u + x_noise
    >>> df = pd.DataFrame({"X": x, "M": x + m_noise, "Y": x + m_noise + u + y_noise})
    >>> model = CausalGenerativeModel("X -> M -> Y; X <-> Y", mechanisms="additive",
    ...                               max_epochs=1, random_state=0, verbose=False).fit(df)
    >>> model.counterfactual(df.head(3), do={"X": 1.0}, random_state=0)["X"].tolist()
    [1.0, 1.0, 1.0]
    """
    n = next(iter(fact.values())).shape[0]
    latents = _posterior_latents(model, fact, set(model.order_) - set(affected), n, gen)
    values: dict[str, torch.Tensor] = {}
    for v in model.order_:
        if v in specs and specs[v].value is not None:
            values[v] = specs[v].value
        elif v not in affected:
            values[v] = fact[v]
        else:
            mech = model.mechanisms_[v]
            ctx = model.context(v, values, latents, n=n)
            values[v] = model.counted(v, mech.decode(mech.sample_noise(n, gen), ctx), clipped)
    return values
