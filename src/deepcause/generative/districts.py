"""Latent confounders: district-wise joint training and the identification check on ``do()``.

For every district (c-component) with bidirected edges, :class:`JointDistrictStrategy` gives
each node ``v`` of the district a mechanism ``v = f_v(parents, z_v) + e_v`` whose input includes
the latents ``z_v`` of the hidden confounders ``v`` shares: one independent latent block per
maximal clique of the district's bidirected edges (the unobserved common causes; two nodes read
a common block only when they share a bidirected edge, so the model adds no confounding the graph
rules out), and trains all of them jointly, as a neural causal model (Xia et al. 2021) trained
district by district (modular training as in Modular-DCM, Rahman & Kocaoglu 2024). The observed
distribution factorises into c-factors, ``P(v) = prod_C Q[C]`` with
``Q[C] = E_z prod_{v in C} p(v | parents(v), z_v)``,
so each district is trained alone, on the data's parent values, by maximising an
importance-weighted lower bound (IWAE) of ``log Q[C]`` with an inference network
``q(z | district, parents)``. (A sample-based loss such as MMD or energy distance on pushed
samples also fits this model, but in our tests it learned the latent's role far more slowly.)

The fitted model samples any ``do()``, but matching the observed distribution only pins down
*identifiable* queries. So before sampling ``do(...)`` on a graph with bidirected edges,
:class:`~deepcause.generative.model.CausalGenerativeModel` runs
:func:`deepcause.identification.identify` for ``P(descendants | do(...))`` and raises :class:`~deepcause.exceptions.NotIdentifiableError` when it fails
(``CausalGenerativeModel.sample(..., allow_unidentified=True)`` opts in to unidentified
samples, labelled ``df.attrs["identified"] = False``, with a warning). Identified samples
carry ``df.attrs["identified"] = True``. The joint distribution of the
affected nodes with the *non*-descendants of the intervention is not always identified (napkin):
only the descendants' distribution is guaranteed. For a query-specific sampler that is correct
by construction see :class:`deepcause.generative.idgen.IDGenSampler`.

>>> import numpy as np, pandas as pd
>>> from deepcause.generative import CausalGenerativeModel
>>> from deepcause.simulate.suite import get_case
>>> case = get_case("bow")
>>> m = CausalGenerativeModel(case.graph, max_epochs=5, random_state=0)
>>> m = m.fit(case.sample(300, random_state=0))  # latent_strategy="joint" is the default
>>> try:
...     m.sample(10, do={"X": 1.0})
... except Exception as exc:
...     print(type(exc).__name__)
NotIdentifiableError
"""

from __future__ import annotations

import contextlib
import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from .._progress import progress
from .._torch import mlp, seed_from, seeded
from ..exceptions import DataValidationError, DeepCauseError
from ._district_nodes import (
    _bidirected_cliques,
    _district_inputs,
    _district_mechanism,
    _log_likelihood,
    _restart_options,
)
from ._training import _VALIDATION_SEED, Plateau, cpu_conv_speedups, validation_split
from .mechanisms import (
    Mechanism,
)
from .mechanisms._conv import ContextEncoder
from .mechanisms._image_priors import MixturePrior

__all__ = [
    "DistrictStrategy",
    "JointDistrictStrategy",
    "LatentConfoundingError",
    "district_strategy_class",
]

# the fitted model (deepcause.generative._core.MechanismModel, which imports this module) a
# strategy works for
_Model = Any
_LOG_2PI = math.log(2.0 * math.pi)
_HELD_OUT_PERCENT, _HELD_OUT_CAP = 10, 1000  # units held out for ``patience``


class LatentConfoundingError(DeepCauseError, NotImplementedError):
    """The request needs latent-confounder support that is not available for these nodes.

    >>> issubclass(LatentConfoundingError, NotImplementedError)
    True
    """


class DistrictStrategy(torch.nn.Module, ABC):
    """Fits and samples the nodes of one district with bidirected edges (latent confounding).

    Contract (what :class:`~deepcause.generative.model.CausalGenerativeModel` relies on):

    * ``fit`` is called after every node outside confounded districts has its mechanism, with
      the encoded training data of *all* nodes (``model.encode(df)``). It must set
      ``model.mechanisms_[v]`` for every ``v`` in ``self.district`` to a built, trained
      :class:`~deepcause.generative.mechanisms.Mechanism` whose input is
      ``model.context(v, values, self.node_latents(latent))``: the encoded parents in
      ``model.parents_[v]`` order, then the node's part of the district's latent (by default
      all of it, so ``context_dim = parents' width + latent_dim``).
      Training may be joint (e.g. MMD / energy distance on samples pushed through
      ``mech.decode(noise, context)``, which is differentiable).
    * ``sample_latent(n, generator)`` draws the district's latent for ``n`` units; sampling calls
      it once per district and per call, after drawing every node's own noise, and hands each
      node ``node_latents(latent)[v]``.
    * Strategies are ``nn.Module`` s: their parameters (and buffers) are saved with the model,
      so create them in ``__init__``; ``get_config`` returns JSON-able keywords passed back to
      ``__init__`` after ``model`` and ``district`` when a saved model is loaded.
    * Pass the class as ``CausalGenerativeModel(latent_strategy=cls)``; the built-in
      :class:`JointDistrictStrategy` is ``latent_strategy="joint"`` (the default). Only the
      built-in strategy can be saved (a saved model never names code to run).

    Counterfactuals of nodes with bidirected edges use ``sample_latent`` and the mechanisms'
    ``log_prob`` given the latent (:mod:`~deepcause.generative.confounded_counterfactual`)
    and are refused when ID* does not identify them; ``log_prob`` is refused for models with
    confounded districts (:class:`LatentConfoundingError`).

    >>> issubclass(JointDistrictStrategy, DistrictStrategy)
    True
    """

    latent_dim: int = 0
    legacy_config: dict[str, Any] = {}  # noqa: RUF012 - keywords of models saved before a new one

    def __init__(self, model: _Model, district: Iterable[str]) -> None:
        super().__init__()
        self.district = tuple(n for n in model.order_ if n in set(district))

    @abstractmethod
    def fit(self, model: _Model, data: Mapping[str, torch.Tensor], random_state: int) -> None:
        """Train the district's mechanisms on encoded data (all nodes, ``model.encode``)."""

    @abstractmethod
    def sample_latent(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """Shared latent noise for ``n`` units, shape ``(n, latent_dim)``."""

    def node_latents(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The part of the latent ``z`` that each district node's mechanism reads (default:
        all of it, for every node)."""
        return {v: z for v in self.district}

    def get_config(self) -> dict[str, Any]:
        """JSON-able keywords for ``__init__`` (after ``model`` and ``district``)."""
        return {}


class JointDistrictStrategy(DistrictStrategy):
    """Joint training of one confounded district with latent confounders (importance-weighted ELBO).

    ``latent_dim``: width of each latent block; ``latent_blocks``: ``"cliques"`` (default),
    one independent block per maximal clique of the district's bidirected edges (one per
    hidden confounder; a node reads the blocks of its cliques), or ``"district"``, one block
    read by every node, which adds confounding between nodes the graph keeps apart (on the
    napkin, ``W1 <-> X`` and ``W1 <-> Y``, it lets ``X`` and ``Y`` share a latent, under which
    ``P(Y | do(X))`` is no longer identified: its answer then drifts with the training budget,
    tabular napkin, 2,000 rows, 40 epochs, step size 1e-2, seeds 1/2: effect 3.24 / 3.73
    against the truth 2.68, held-out bound -1.47 / -1.49 nats vs -1.37 / -1.38 with cliques);
    ``latent_modes``: components of a learned mixture prior per block (None: 12 when the
    district has image nodes, whose hidden colours are discrete, else 0 for ``N(0, I)``);
    ``encoder_stats``: the inference network also reads the colour statistics of image
    inputs (:func:`~deepcause.generative.mechanisms._conv.colour_stats`; None: when the
    district has image nodes); ``hidden_sizes``: MLP widths of the district's mechanisms
    ``f_v(parents, z_v)`` and of the inference network ``q(z | district, parents)``;
    ``max_epochs`` (the model's ``max_epochs`` overrides it when set),
    ``batch_size`` (None: ``n / 8`` rows clipped to 128..512, 64 with image nodes),
    ``learning_rate`` (Adam; None: 1e-2, or 3e-3 when the district has image nodes);
    ``posterior``: the inference network's Gaussian, ``"full"`` (a Cholesky factor) or
    ``"diagonal"`` (None: diagonal when the district has image nodes, else full): a collider
    such as the napkin's ``W1`` makes the blocks of its confounders dependent a posteriori.
    (On the coloured-digits napkin the full posterior gave mean TV 0.394 against 0.309, 3,000
    units, 40 epochs, seed 0: the reference "1" came out as a 1, 2 or 8 in equal shares.)
    On the tabular napkin (2,000 rows, 40 epochs, ``benchmarks/results/bench_generative_blocks.md``),
    whose effect the likelihood pins down only through the weak ``W2 -> X`` variation given
    ``W1``, clique blocks with a diagonal
    posterior at step size 3e-3 stopped short of the fit (held-out bound -1.47 nats against
    -1.36 after 400 epochs; effect 0.91 against the truth 2.68); at 1e-2 the effect is
    2.50 / 2.44 / 2.31 (seeds 0/1/2), with the full posterior 2.67 / 2.61 / 2.61 (bound -1.37);
    ``n_importance`` (importance samples per row; None: 8, or 2 when the district has image
    nodes, whose decoders run once per importance sample; their images and image parents,
    the same in every sample, are encoded once per unit) and
    ``image_beta``, the KL weight of an ``image_vae`` chosen by name for a district node (a
    mechanism instance keeps its own). With ``beta = 1`` the image VAE's own latent took the
    whole image and its context (the parent image and the district latent) was ignored; at 4
    the district latent carries the hidden colour. With ``beta >= 1`` the ELBO stays a lower
    bound. Measured on the napkin (3,000 units, 20 epochs, model seed 0, mean attribute TV of
    ``P(Y | do(X = x))`` over four references; conditioning 0.509): one block 0.402, clique
    blocks 0.413, one block with the mixture prior and colour statistics 0.359, clique blocks
    with both 0.388; at 40 epochs one block with both 0.525, clique blocks with both (the
    default) 0.309, 0.306 with seed 1 (``benchmarks/results/bench_images.md``, last section).
    ``patience`` (0, the default: off): early stopping on held-out units (10%, at most 1,000,
    not trained on), whose bound is scored after every epoch with fixed noise (kept in
    ``history_``); training stops after ``patience`` epochs without a better bound and the best
    epoch's weights are restored (:class:`~deepcause.generative._training.Plateau`, the tabular
    mechanisms' rule). It is not the default because the bound stops improving before the
    confounded query does: on the 18x18 image treatment of ``benchmarks/fresh_image_scms.py``
    (``P`` in the district ``{P, Y}``, run 9 of ``benchmarks/results/bench_images_fresh.md``)
    patience 10 stopped at 37 / 42 epochs of 100 with 3,000 units (model seeds 0 / 1) and at 55
    with 8,000 (district time -63 to -45%), and the W1 of ``Y`` under ``do(P = disc r 2.75 /
    5.25)`` went from 0.123 / 0.156, 0.115 / 0.149 and 0.130 / **0.066** (100 epochs, same units
    held out) to 0.125 / 0.151, **0.142** / 0.154 and 0.116 / **0.101**; halving the step size
    every 2 epochs without improvement stopped at 60 epochs (8,000 units) with 0.120 / 0.093.
    The 100 epochs' cosine-annealed end is what puts the 8,000-unit ``Y`` near the floor
    (0.054). At 28x28 and 10,000 units an epoch costs 11 CPU s
    (``benchmarks/time_district_epochs.py``; 18 before the images were encoded once per unit
    and the training ran channels-last with subnormals flushed, run 10), ~18 CPU minutes for
    the 100 epochs either way.

    ``n_init`` (None: 3 for a district without image nodes, 1 with them): initialisations
    trained (the first is the single fit's; every second one with a KL warm-up: the weight of
    ``log p(z) - log q(z)`` in the bound rises from 0 to 1 over the share ``kl_warmup``, 0.2,
    of the epochs), of which the one with the highest bound is kept (the training units' with
    fixed noise, or with ``patience`` the best of the held-out units, the same units for each;
    ``init_bounds_``). They guard against a district latent that collapses (the district's
    nodes are then unconfounded and a front door answers what conditioning does): on the front
    door through a 20x20 bar mediator (``T -> M -> Y``, ``T <-> Y``, 1,500 units, run 13 of
    ``benchmarks/results/bench_images_fresh.md``) single fits collapsed at model seeds 0 and 3
    of 0-3 (bound -1.76 nats a unit against -1.70; error of ``E[Y | do(T)]`` 0.25-0.30 s.d.,
    conditioning's), and plain initialisations at 3 of 7; warmed-up ones did not collapse but
    3 of 12 stopped at -1.75 to -1.77 (error up to 0.19), and on a tabular front door
    (``benchmarks/bench_generative_tabular_latent.py``, 3,000 rows) every one scored below
    the plain ones (by 0.01-0.02 nats; error at ``do(X = -1)`` 0.21-0.25 s.d. against
    0.03-0.10): the bound picks, so neither kind is imposed. Cost: the district's epochs three times
    (whole fit about twice as long on the bar front door).

    A confounded image node gets the image mechanism named by the model's ``mechanisms``
    (``"auto"``: ``image_vae``, whose mixture prior keeps discrete modes such as colours
    apart) with its latent blocks as an extra conditioning input next to its parents, and
    its one-sample ELBO stands in for its log-likelihood (the bound stays a bound); image
    inputs of the inference network go through conv encoders. (An additive-Gaussian MLP over
    all pixels, the earlier choice, produced noise images no attribute reader could read.) A
    tabular node with image parents reads their flat pixels through its MLP head. On the CPU
    a district with image nodes trains with channels-last conv weights and subnormal floats
    flushed to zero (:func:`~deepcause.generative._training.cpu_conv_speedups`; both undone
    afterwards).

    Examples
    --------
    The default ``latent_strategy="joint"`` of :class:`~deepcause.generative.CausalGenerativeModel`:

    >>> import numpy as np, pandas as pd
    >>> from deepcause.generative import CausalGenerativeModel
    >>> rng = np.random.default_rng(0)
    >>> u = rng.normal(size=300)
    >>> x = u + rng.normal(size=300)
    >>> m_ = x + rng.normal(size=300)
    >>> df = pd.DataFrame({"X": x, "M": m_, "Y": m_ + u + rng.normal(size=300)})
    >>> model = CausalGenerativeModel("X -> M -> Y; X <-> Y", max_epochs=1, random_state=0,
    ...                               verbose=False).fit(df)
    >>> [type(s).__name__ for s in model.districts_], model.districts_[0].district
    (['JointDistrictStrategy'], ('X', 'Y'))
    """

    # models saved before these keywords existed: one block for the whole district, N(0, I)
    legacy_config: dict[str, Any] = {  # noqa: RUF012
        "latent_blocks": "district",
        "latent_modes": 0,
        "encoder_stats": False,
        "posterior": "diagonal",
    }

    def __init__(
        self,
        model: _Model,
        district: Iterable[str],
        *,
        latent_dim: int = 2,
        hidden_sizes: tuple[int, ...] | list[int] = (64, 64),
        max_epochs: int = 100,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        n_importance: int | None = None,
        image_beta: float = 4.0,
        latent_modes: int | None = None,
        encoder_stats: bool | None = None,
        latent_blocks: str = "cliques",
        posterior: str | None = None,
        patience: int = 0,
        n_init: int | None = None,
        kl_warmup: float | None = None,
    ) -> None:
        super().__init__(model, district)
        self.block_dim = int(latent_dim)
        self.has_images = any(model.specs_[v].is_image for v in self.district)
        if latent_blocks not in ("cliques", "district"):
            raise DataValidationError(
                f"latent_blocks must be 'cliques' or 'district', got {latent_blocks!r}"
            )
        self.latent_blocks = latent_blocks
        posterior = posterior or ("diagonal" if self.has_images else "full")
        if posterior not in ("full", "diagonal"):
            raise DataValidationError(f"posterior must be 'full' or 'diagonal', got {posterior!r}")
        self.posterior = posterior
        self.cliques = (
            _bidirected_cliques(model, self.district)
            if latent_blocks == "cliques"
            else [self.district]
        )
        self.latent_dim = self.block_dim * len(self.cliques)
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.max_epochs = int(max_epochs)
        self.patience = int(patience)
        self.n_init, self.kl_warmup = _restart_options(self.has_images, n_init, kl_warmup)
        self.batch_size = batch_size
        self.learning_rate = float(
            (3e-3 if self.has_images else 1e-2) if learning_rate is None else learning_rate
        )
        self.image_beta = float(image_beta)
        self.encoder_stats = self.has_images if encoder_stats is None else bool(encoder_stats)
        self.latent_modes = int(
            (12 if self.has_images else 0) if latent_modes is None else latent_modes
        )
        self.priors = (
            torch.nn.ModuleList(  # one per clique: independent hidden confounders
                MixturePrior(0, self.latent_modes, self.block_dim) for _ in self.cliques
            )
            if self.latent_modes
            else None
        )
        self.n_importance = int(n_importance or (2 if self.has_images else 8))
        self.inputs = _district_inputs(model, self.district)
        width = sum(model.specs_[v].width for v in self.inputs)
        shapes = [model.specs_[v].context_shape for v in self.inputs]
        d = self.latent_dim  # mean, log s.d. and (full) the Cholesky factor's lower triangle
        out = 2 * d + (d * (d - 1) // 2 if posterior == "full" else 0)
        if any(isinstance(s, list) for s in shapes):  # image inputs: conv features first
            feats = ContextEncoder(shapes, width, features=32, width=8, stats=self.encoder_stats)
            head = mlp(feats.out_dim, self.hidden_sizes, out, activation="silu")
            self.encoder = torch.nn.Sequential(feats, *head)
        else:
            self.encoder = mlp(width, self.hidden_sizes, out, activation="silu")

    def get_config(self) -> dict[str, Any]:
        return {
            "latent_dim": self.block_dim,
            "hidden_sizes": list(self.hidden_sizes),
            "max_epochs": self.max_epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "n_importance": self.n_importance,
            "image_beta": self.image_beta,
            "latent_modes": self.latent_modes,
            "encoder_stats": self.encoder_stats,
            "latent_blocks": self.latent_blocks,
            "posterior": self.posterior,
            "patience": self.patience,
            "n_init": self.n_init,
            "kl_warmup": self.kl_warmup,
        }

    def sample_latent(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        device = generator.device if generator is not None else "cpu"
        if self.priors is None:
            return torch.randn((n, self.latent_dim), generator=generator, device=device)
        none = torch.zeros((n, 0), device=device)
        return torch.cat(
            [p.decode(p.sample_noise(n, none, generator), none) for p in self.priors], 1
        )

    def node_latents(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each node reads the blocks of the bidirected cliques it belongs to."""
        b = self.block_dim
        blocks = [z[:, i * b : (i + 1) * b] for i in range(len(self.cliques))]
        return {
            v: torch.cat([blk for blk, c in zip(blocks, self.cliques) if v in c], dim=1)
            for v in self.district
        }

    def _log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(z)`` of the district latent up to a constant, ``z`` of shape ``(k, n, d)``."""
        if self.priors is None:
            return (-0.5 * z.pow(2)).sum(-1)
        flat = z.reshape(-1, self.latent_dim)
        none = torch.zeros((flat.shape[0], 0), device=z.device)
        b = self.block_dim
        log_p = sum(
            p.log_prob(flat[:, i * b : (i + 1) * b], none) for i, p in enumerate(self.priors)
        )
        return log_p.reshape(z.shape[:-1]) + 0.5 * _LOG_2PI * self.latent_dim

    def posterior_draw(
        self, feats: torch.Tensor, eps: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draws ``z = mu + L eps`` of the inference network ``q(z | district, parents)`` and
        ``log |det L|`` per row (``log q(z) = log N(eps) - log |det L|``).

        ``L`` is diagonal (``posterior="diagonal"``) or lower-triangular (``"full"``): given a
        collider such as the napkin's ``W1`` the independent blocks of its parents' hidden
        confounders are dependent a posteriori, which a diagonal ``L`` cannot express.
        """
        d = self.latent_dim
        out = self.encoder(feats)
        mu, log_sd = out[:, :d], out[:, d : 2 * d].clamp(-7.0, 3.0)
        scaled = eps * log_sd.exp()
        if self.posterior == "full" and d > 1:
            rows, cols = torch.tril_indices(d, d, offset=-1, device=feats.device)
            low = feats.new_zeros((feats.shape[0], d, d))
            low[:, rows, cols] = out[:, 2 * d :]
            scaled = scaled + torch.einsum("nij,knj->kni", low, eps)
        return mu + scaled, log_sd.sum(-1)

    # ------------------------------------------------------------------ training
    def fit(self, model: _Model, data: Mapping[str, torch.Tensor], random_state: int) -> None:
        seed = seed_from(random_state)
        best: tuple[float, dict[str, Any], dict[str, Mechanism], list[float]] | None = None
        self.init_bounds_: list[float] = []
        for i in range(self.n_init):  # the first initialisation is the single fit's
            seed_i = seed if i == 0 else seed_from(np.random.default_rng([seed, i]))
            warm = self.kl_warmup if i % 2 else 0.0  # every second one warms up
            mechs, score = self._fit_once(model, data, (seed_i, seed), warm, self.n_init > 1)
            self.init_bounds_.append(score)
            if best is None or score > best[0]:
                state = copy.deepcopy(self.state_dict()) if self.n_init > 1 else {}
                best = (score, state, mechs, self.history_)
        assert best is not None
        if self.n_init > 1:
            self.load_state_dict(best[1])
        self.history_ = best[3]
        self.eval()
        for v, m in best[2].items():
            model.mechanisms_[v] = m.eval()

    def _fit_once(
        self,
        model: _Model,
        data: Mapping[str, torch.Tensor],
        seeds: tuple[int, int],
        warm: float,
        scored: bool,
    ) -> tuple[dict[str, Mechanism], float]:
        """One initialisation (``seeds``: its own and the held-out split's; KL warm-up over the
        share ``warm`` of the epochs) trained; its mechanisms and (``scored``) its bound: the
        held-out units' best with ``patience``, else the training units' (fixed noise,
        :meth:`_held_out_bound`)."""
        device, seed = model.device_, seeds[0]
        with seeded(seed % (2**62)):
            widths = {v: self.block_dim * sum(v in c for c in self.cliques) for v in self.district}
            mechs = {v: _joint_mechanism(model, v, widths[v], self.hidden_sizes,
                                         self.image_beta) for v in self.district}  # fmt: skip
            mechs = {v: m.to(device) for v, m in mechs.items()}
            for layer in self.modules():  # fresh, seeded initialisation
                if hasattr(layer, "reset_parameters"):
                    layer.reset_parameters()
            self.encoder.to(device)
            # image districts only: a tabular district (with at most an image parent's
            # encoder) keeps its fit bit for bit (run 10 of bench_images_fresh.md)
            fast = cpu_conv_speedups([self, *mechs.values()], device) if self.has_images else None
            with fast or contextlib.nullcontext():
                score = self._train(model, mechs, data, seeds, warm)
                if scored and score is None:
                    score = self._held_out_bound(model, mechs, data)
        return mechs, float("nan") if score is None else score

    def _train(
        self,
        model: _Model,
        mechs: Mapping[str, Mechanism],
        data: Mapping[str, torch.Tensor],
        seeds: tuple[int, int],
        warm_share: float = 0.0,
    ) -> float | None:
        """Adam on minibatches of the negative bound, cosine step sizes (under the caller's
        seeded global generator: image mechanisms draw their own latents from it); with
        ``patience``, early stopping on the bound of held-out units (:meth:`_held_out_bound`,
        split by ``seeds[1]``: the same units for every initialisation), whose best it returns."""
        device, seed = model.device_, seeds[0]
        epochs = self.max_epochs if model.max_epochs is None else int(model.max_epochs)
        params = [p for m in mechs.values() for p in m.parameters()]
        opt = torch.optim.Adam([*params, *self.parameters()], lr=self.learning_rate, foreach=True)
        n = next(iter(data.values())).shape[0]
        held_out: dict[str, torch.Tensor] = {}
        if self.patience:
            keep, out = (t.to(device) for t in validation_split(
                n, seeds[1], percent=_HELD_OUT_PERCENT, cap=_HELD_OUT_CAP, min_rows=0))  # fmt: skip
            if len(out):
                held_out = {v: t[out] for v, t in data.items()}
                data, n = {v: t[keep] for v, t in data.items()}, len(keep)
        # the strategy and its mechanisms: the weights early stopping keeps
        stopper = Plateau(torch.nn.ModuleList([self, *mechs.values()]), opt, self.patience,
                          self.learning_rate / 64, halve_every=0)  # fmt: skip
        self.history_: list[float] = []
        # ~8+ steps per epoch; image mechanisms need many more, small steps
        default = 64 if self.has_images else min(512, max(128, n // 8))
        bs = max(1, min(self.batch_size or default, n))
        gen = torch.Generator(device=device).manual_seed(seed)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs))
        self.train()
        for m in mechs.values():
            m.train()
        steps, warm = math.ceil(n / bs), warm_share * epochs
        for e in progress(range(epochs), verbose=model.verbose, desc="district"):
            order = torch.randperm(n, generator=gen, device=device)
            for b in range(steps):
                idx = order[b * bs : (b + 1) * bs]
                beta = min(1.0, (e + b / steps) / warm) if warm else 1.0
                batch = {v: t[idx] for v, t in data.items()}
                loss = -self._iwae(model, mechs, batch, gen, beta)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            sched.step()
            if not math.isfinite(float(loss.detach())):
                raise FloatingPointError(
                    f"joint training of district {list(self.district)} diverged; lower "
                    "learning_rate"
                )
            if held_out:
                self.history_.append(self._held_out_bound(model, mechs, held_out))
                if stopper.update(-self.history_[-1]):
                    break
        stopper.restore()
        return -stopper.best if held_out else None

    @torch.no_grad()
    def _held_out_bound(
        self, model: _Model, mechs: Mapping[str, Mechanism], values: Mapping[str, torch.Tensor]
    ) -> float:
        """The bound of held-out units with fixed noise (comparable between epochs), in
        batches of 256; the global generator's state is left as it was."""
        n = next(iter(values.values())).shape[0]
        modules = [self, *mechs.values()]
        for m in modules:
            m.eval()
        with seeded(_VALIDATION_SEED, model.device_):
            gen = torch.Generator(device=model.device_).manual_seed(_VALIDATION_SEED)
            total = sum(
                float(self._iwae(model, mechs, {v: t[i : i + 256] for v, t in values.items()}, gen))
                * min(256, n - i)  # fmt: skip
                for i in range(0, n, 256)
            )
        for m in modules:
            m.train()
        return total / n

    def _iwae(
        self,
        model: _Model,
        mechs: Mapping[str, Mechanism],
        values: Mapping[str, torch.Tensor],
        gen: torch.Generator,
        beta: float = 1.0,
    ) -> torch.Tensor:
        """Mean importance-weighted lower bound of ``log Q[district](values | parents)``
        (``beta < 1``: the prior-to-posterior ratio tempered, KL warm-up; not a bound)."""
        bs, k = next(iter(values.values())).shape[0], self.n_importance
        feats = torch.cat([model.specs_[v].one_hot(values[v]) for v in self.inputs], dim=1)
        eps = torch.randn((k, bs, self.latent_dim), generator=gen, device=feats.device)
        z, log_det = self.posterior_draw(feats, eps)  # (k, bs, latent)
        log_w = beta * (self._log_prior(z) + 0.5 * eps.pow(2).sum(-1) + log_det)
        rep = {v: t.repeat(k, *([1] * (t.ndim - 1))) for v, t in values.items()}
        latents = self.node_latents(z.reshape(k * bs, self.latent_dim))
        for v, mech in mechs.items():
            ctx = model.context(v, rep, latents, n=k * bs)
            log_w = log_w + _log_likelihood(mech, values[v], rep[v], ctx, k).reshape(k, bs)
        return (torch.logsumexp(log_w, dim=0) - math.log(k)).mean()


def _joint_mechanism(
    model: _Model, v: str, latent_dim: int, hidden_sizes: tuple[int, ...], image_beta: float
) -> Mechanism:
    """:func:`~deepcause.generative._district_nodes._district_mechanism`, refused for an image
    node whose mechanism gives no likelihood bound (no ``elbo``)."""
    mech = _district_mechanism(model, v, latent_dim, hidden_sizes, image_beta)
    if model.specs_[v].is_image and not hasattr(mech, "elbo"):
        raise LatentConfoundingError(
            f"image node {v!r} has hidden confounders and mechanism {mech.name!r} gives no "
            "likelihood bound for the district's joint training; use 'image_vae' or "
            f"'image_hvae' for it (mechanisms={{{v!r}: 'image_vae'}})"
        )
    return mech


def district_strategy_class(strategy: Any) -> type[DistrictStrategy] | None:
    """The strategy class for ``latent_strategy``: ``"joint"`` or a :class:`DistrictStrategy`
    subclass; None for anything else.

    >>> district_strategy_class("joint").__name__
    'JointDistrictStrategy'
    >>> district_strategy_class("none") is None
    True
    """
    if isinstance(strategy, type) and issubclass(strategy, DistrictStrategy):
        return strategy
    if isinstance(strategy, str) and strategy == "joint":
        return JointDistrictStrategy
    return None
