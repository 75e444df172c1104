"""Pieces of the joint district trainer (:mod:`deepcause.generative.districts`): which nodes
its inference network reads, the latent blocks of its bidirected cliques, a node's mechanism
and log-likelihood inside the importance-weighted bound, and the restart options."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import networkx as nx
import torch

from ..exceptions import DataValidationError
from .mechanisms import AdditiveNoiseMechanism, CategoricalMechanism, Mechanism
from .selection import resolve_mechanism

_Model = Any  # deepcause.generative._core.MechanismModel
#: initialisations of a district without image nodes when ``n_init`` is None (see
#: ``JointDistrictStrategy``; the test suite sets it to 1 where restarts are not under test)
TABULAR_N_INIT = 3


def _log_likelihood(
    mech: Mechanism, x: torch.Tensor, rep: torch.Tensor, context: torch.Tensor, k: int
) -> torch.Tensor:
    """``log p(rep | context)`` per row of the ``k`` stacked copies ``rep`` of the units ``x``
    (one per importance sample); an image mechanism's one-sample ELBO (a lower bound, which
    keeps the importance-weighted objective a lower bound of ``log Q[district]``), given the
    units once when its ``elbo`` takes ``repeats`` (the built-in image VAEs: the image and its
    image parents, the same in every copy, are then encoded once instead of ``k`` times)."""
    if not getattr(mech, "image_node", False):
        return mech.log_prob(rep, context)
    if "repeats" in inspect.signature(mech.elbo).parameters:
        return mech.elbo(x, context, repeats=k)
    return mech.elbo(rep, context)


def _bidirected_cliques(model: _Model, district: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Maximal cliques of the district's bidirected edges, in topological order."""
    members, rank = set(district), {v: i for i, v in enumerate(model.order_)}
    g = nx.Graph()
    g.add_nodes_from(district)
    g.add_edges_from(e for e in model.graph_.bidirected_edges if set(e) <= members)
    cliques = [tuple(sorted(c, key=rank.__getitem__)) for c in nx.find_cliques(g) if len(c) > 1]
    return sorted(cliques, key=lambda c: [rank[v] for v in c])


def _district_inputs(model: _Model, district: tuple[str, ...]) -> list[str]:
    """The district's nodes and their parents, in topological order (encoder inputs)."""
    members = set(district)
    for v in district:
        members.update(model.parents_[v])
    return [v for v in model.order_ if v in members]


def _district_mechanism(
    model: _Model, v: str, latent_dim: int, hidden_sizes: tuple[int, ...], image_beta: float
) -> Mechanism:
    """The built mechanism of district node ``v`` given its parents and the district latent:
    categorical for a discrete node, the image mechanism named by the model's ``mechanisms``
    for an image node (``districts._joint_mechanism`` refuses one without an ``elbo``; an
    ``image_vae`` chosen by name gets the KL weight ``image_beta``), additive Gaussian
    otherwise (image parents as flat pixels)."""
    spec = model.specs_[v]
    shapes = [model.specs_[p].context_shape for p in model.parents_[v]] + [latent_dim]
    width = sum(model.specs_[p].width for p in model.parents_[v]) + latent_dim
    if spec.is_image:
        mech: Any = resolve_mechanism(model.mechanisms, v, [v], model.max_epochs, image=True,
                                      discrete=False, image_parent=False)  # fmt: skip
        mech.image_shape, mech.context_shapes = tuple(spec.shape), shapes
        named = not isinstance(model.mechanisms, Mapping) or not isinstance(
            model.mechanisms.get(v), Mechanism
        )
        if named and mech.name == "image_vae":
            mech.beta = image_beta
        return mech.build(spec.dim, width)
    # a tabular node reads image parents as flat pixels: a conv reader in front of its head,
    # trained in the same pass, leaned on the district latent (whose posterior sees the node)
    # instead of the image; the front door's Y lost its mediator's effect (E[Y | do(X = 0)]
    # 0.506 vs truth 0.378), the flat MLP keeps it (0.422)
    levels = len(spec.levels or []) if spec.discrete else None
    head: Mechanism = (
        CategoricalMechanism(hidden_sizes=hidden_sizes)
        if spec.discrete
        else AdditiveNoiseMechanism(noise="gaussian", hidden_sizes=hidden_sizes)
    )
    return head.build(spec.dim, width, levels)


def _restart_options(has_images: bool, n_init: Any, kl_warmup: Any) -> tuple[int, float]:
    """``n_init`` and ``kl_warmup`` checked, None resolved: ``TABULAR_N_INIT`` (3)
    initialisations for a district without image nodes, one for a district with them (whose
    epochs cost 2-15 CPU s); a KL warm-up over the first 20% of the epochs (for every second
    initialisation)."""
    if n_init is not None and (not isinstance(n_init, Integral) or n_init < 1):
        raise DataValidationError(
            f"n_init must be an integer >= 1 (initialisations of the district), got {n_init!r}"
        )
    if kl_warmup is not None and not (isinstance(kl_warmup, Real) and 0.0 <= kl_warmup < 1.0):
        raise DataValidationError(
            f"kl_warmup must be a share of the epochs in [0, 1), got {kl_warmup!r}"
        )
    n = (1 if has_images else TABULAR_N_INIT) if n_init is None else int(n_init)
    return n, float(0.2 if kl_warmup is None else kl_warmup)
