"""CausalVAE (Yang, Liu, Chen, Shen, Hao & Wang 2021): a causal layer over concept latents.

An encoder maps an image to independent exogenous latents ``eps`` (one block of
``concept_dim`` numbers per concept, plus an unsupervised ``style_dim`` block outside the
causal layer); a learned *linear causal layer* turns them into concept latents
``z = A^T z + eps``, i.e. ``z = (I - A^T)^{-1} eps``, where ``A`` (``d x d``, one weight per
ordered pair of concepts, shared across a block) is a DAG learned with the acyclicity
constraint ``h(A) = tr(exp(A * A)) - d = 0`` (augmented Lagrangian: ``lambda h + rho/2 h^2``,
``lambda += rho h`` and ``rho`` raised tenfold when ``h`` does not shrink, once per epoch)
and an L1 penalty; a *mask layer* applies one small nonlinear mechanism per concept to its
parents, ``z~_j = g_j(A[:, j] * z) + eps_j``; a decoder maps ``z~`` and the style block to the
image. As in the paper the concept labels ``u`` (standardized) supervise the model: the
prior of every block is ``N(u_j, I)`` (a penalty ``||mean(z_j) - u_j||^2``), the mask layer's
output is pulled to ``u`` too, and ``A`` fits the labels, ``||u - A^T u||^2``.

``intervene(images, do={concept: value})`` abducts ``eps`` and the style (posterior means),
sets the concept's level (the block's mean; the unit's within-block deviations are kept) and
cuts its incoming edges, recomputes its descendants through the causal
layer and their mechanisms ``g_j`` with their own ``eps_j``, and decodes. The intervened
concept's mechanism output moves by exactly the intervened change, so the null intervention
(every concept set to its own abducted value) decodes the reconstruction: composition error
equals reconstruction error.

On the pendulum scene (:func:`deepcause.simulate.make_pendulum`) the learned concept DAG
matches the true one (``angle, light -> shadow_length, shadow_position``, every ``|A|`` above
0.3 exactly on the four true edges) when ``concept_order`` gives a causal order, as the
paper's reference code does by initialising ``A``; learned from the labels alone (no order)
the constraint gives a DAG but not the true orientation: the shadows are near-deterministic
in the roots, so least squares prefers regressing a root on them.

>>> import numpy as np
>>> from deepcause.simulate import make_pendulum
>>> ds = make_pendulum(300, size=16, random_state=0)
>>> vae = CausalVAE(hidden_sizes=(64,), max_epochs=2, random_state=0, verbose=False)
>>> vae = vae.fit(ds.data)
>>> vae.intervene(ds.data["image"][:3], do={"angle": 0.0}).shape
(3, 3, 16, 16)
>>> sorted(vae.learned_graph(threshold=10.0).nodes)
['angle', 'light', 'shadow_length', 'shadow_position']
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .._parameters import Interval, ParameterValidationMixin, StrOptions, check_is_fitted
from .._persistence import init_params, read_bundle, restoring, save_bundle
from .._progress import progress
from .._torch import (
    RANDOM_STATE,
    Scaler,
    batches,
    check_hidden_sizes,
    mlp,
    nn,
    resolve_device,
    seed_from,
    seeded,
    tensor,
    torch,
    torch_generator,
)
from ..exceptions import DataValidationError
from ..graph.causal_graph import CausalGraph

__all__ = ["CausalVAE"]

_POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]
_NON_NEGATIVE = [Interval(Real, 0, None, closed="left")]
_RHO_MAX = 1e4


class _CausalVAENet(nn.Module):
    """Encoder, causal layer ``A``, mask layer ``g_j`` and decoder."""

    def __init__(
        self, n_pixels: int, d: int, k: int, s: int, hidden: tuple[int, ...], allowed: Any
    ):
        super().__init__()
        self.d, self.k, self.s = d, k, s
        self.encoder = mlp(n_pixels, hidden, 2 * (d * k + s))
        self.decoder = mlp(d * k + s, tuple(reversed(hidden)), n_pixels)
        self.mechanisms = nn.ModuleList(mlp(d * k, (32,), k) for _ in range(d))
        self.A = nn.Parameter(torch.zeros(d, d))
        self.register_buffer("allowed", torch.as_tensor(allowed, dtype=torch.float32))

    def adjacency(self) -> torch.Tensor:
        return self.A * self.allowed

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
        return mean, logvar.clamp(-8.0, 8.0)

    def split(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Exogenous concept blocks ``(n, d, k)`` and the style block ``(n, s)``."""
        return h[:, : self.d * self.k].reshape(-1, self.d, self.k), h[:, self.d * self.k :]

    @staticmethod
    def propagate(eps: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """The linear causal layer ``z = (I - A^T)^{-1} eps`` (blockwise)."""
        eye = torch.eye(adj.shape[0], device=adj.device)
        return torch.einsum("ij,njk->nik", torch.linalg.inv(eye - adj.T), eps)

    def mask(self, z: torch.Tensor, eps: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """The mask layer ``z~_j = g_j(A[:, j] * z) + eps_j``."""
        outs = [g((adj[:, j, None] * z).flatten(1)) for j, g in enumerate(self.mechanisms)]
        return torch.stack(outs, dim=1) + eps

    def decode(self, zt: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([zt.flatten(1), style], dim=1))


def _acyclicity(adj: torch.Tensor) -> torch.Tensor:
    """NOTEARS' ``h(A) = tr(exp(A * A)) - d`` (zero exactly for a DAG)."""
    return torch.trace(torch.matrix_exp(adj * adj)) - adj.shape[0]


class CausalVAE(ParameterValidationMixin, BaseEstimator):
    """CausalVAE: concept latents with a learned linear causal layer, a mask layer, a decoder.

    Parameters
    ----------
    concepts : sequence of str, optional
        The concept columns of the data (labels of the image), in any order; default every
        one-dimensional entry of the mapping besides ``image``.
    image : str, default "image"
        The image entry of the data: ``(n, C, H, W)`` pixels in ``[0, 1]``.
    concept_dim : int, default 4
        Latent numbers per concept (the paper's ``z2_dim``).
    style_dim : int, default 2
        Latent numbers of an unsupervised style block outside the causal layer (kept fixed by
        interventions; 0 for none).
    concept_order : sequence of str, optional
        A causal order of the concepts: edges may only go from earlier to later concepts (the
        paper's reference code starts ``A`` from such an order). Default None: the order is
        learned too, under the acyclicity constraint alone — which, on least squares over
        standardized labels, need not find the true orientation (see the tests).
    hidden_sizes : tuple of int, default (256, 128)
        Encoder widths (the decoder mirrors them).
    max_epochs : int, default 60
        Passes over the data.
    learning_rate : float, default 2e-3
        Adam's step size.
    batch_size : int or None, default 64
        Mini-batch size (None: full batch).
    kl_weight : float, default 1.0
        Weight of the KL term of the exogenous and style latents (the paper's ``alpha``).
    label_weight : float, default 10.0
        Weight of the label terms: the concept prior, the mask layer and ``||u - A^T u||^2``.
    sparsity : float, default 0.02
        L1 penalty on ``A``.
    random_state : int, Generator or None
        Seed of the initialisation, the batches and the reparameterised noise.
    device : str, default "auto"
        Torch device.
    verbose : bool or "auto", default "auto"
        Progress bar.

    Attributes
    ----------
    adjacency_ : numpy.ndarray
        The learned weights ``A[i, j]`` of ``concept i -> concept j`` (standardized units).
    concepts_ : tuple of str
        The concepts, in the order of ``A``.
    history_ : list of dict
        Per epoch: mean loss, ``h(A)``, ``rho``.

    Examples
    --------
    >>> from deepcause.simulate import make_pendulum
    >>> ds = make_pendulum(200, size=16, random_state=1)
    >>> vae = CausalVAE(concept_dim=2, hidden_sizes=(32,), max_epochs=1, random_state=0,
    ...                 verbose=False).fit(ds.data)
    >>> vae.adjacency_.shape, vae.concepts_[0]
    ((4, 4), 'angle')
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "concepts": [list, tuple, None],
        "concept_order": [list, tuple, None],
        "image": [str],
        "concept_dim": _POSITIVE_INT,
        "style_dim": [Interval(Integral, 0, None, closed="left")],
        "hidden_sizes": [tuple, list],
        "max_epochs": _POSITIVE_INT,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 2, None, closed="left"), None],
        "kl_weight": _NON_NEGATIVE,
        "label_weight": _NON_NEGATIVE,
        "sparsity": _NON_NEGATIVE,
        "random_state": RANDOM_STATE,
        "device": [str, torch.device],
        "verbose": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        concepts: Any = None,
        image: str = "image",
        concept_dim: int = 4,
        style_dim: int = 2,
        concept_order: Any = None,
        hidden_sizes: tuple[int, ...] = (256, 128),
        max_epochs: int = 60,
        learning_rate: float = 2e-3,
        batch_size: int | None = 64,
        kl_weight: float = 1.0,
        label_weight: float = 10.0,
        sparsity: float = 0.02,
        random_state: Any = None,
        device: Any = "auto",
        verbose: Any = "auto",
    ):
        self.concepts = concepts
        self.image = image
        self.concept_dim = concept_dim
        self.style_dim = style_dim
        self.concept_order = concept_order
        self.hidden_sizes = hidden_sizes
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.kl_weight = kl_weight
        self.label_weight = label_weight
        self.sparsity = sparsity
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ data
    def _data(self, data: Any) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        if not isinstance(data, Mapping):
            raise DataValidationError(
                f"CausalVAE.fit takes a mapping {{name: array}} with the images and the concept "
                f"labels (e.g. make_pendulum(...).data); got {type(data).__name__}"
            )
        if self.image not in data:
            raise DataValidationError(
                f"no image entry {self.image!r} in the data (have {sorted(data)}); pass image="
            )
        images = self._images(data[self.image], "the images")
        names = (
            tuple(self.concepts)
            if self.concepts is not None
            else tuple(k for k in data if k != self.image and np.ndim(data[k]) == 1)
        )
        missing = [c for c in names if c not in data]
        if len(names) < 2 or missing:
            raise DataValidationError(
                f"CausalVAE needs at least two concept columns in the data; missing {missing}, "
                f"have {sorted(data)}"
            )
        labels = np.column_stack([np.asarray(data[c], dtype=float) for c in names])
        if labels.shape[0] != len(images) or not np.all(np.isfinite(labels)):
            raise DataValidationError(
                "the concept labels must be finite, one per image "
                f"({len(images)} images, labels of shape {labels.shape})"
            )
        return images, labels, names

    def _images(self, images: Any, what: str) -> np.ndarray:
        x = np.array(images, dtype=np.float32)  # a writable copy (data may be read-only)
        shape = getattr(self, "image_shape_", None)
        if x.ndim != 4 or (shape is not None and x.shape[1:] != tuple(shape)):
            want = "(n, C, H, W)" if shape is None else f"(n, {', '.join(map(str, shape))})"
            raise DataValidationError(f"{what} must be an array {want}; got shape {x.shape}")
        if len(x) == 0 or not np.all(np.isfinite(x)) or x.min() < 0.0 or x.max() > 1.0:
            raise DataValidationError(f"{what} must be non-empty with finite pixels in [0, 1]")
        return x

    # ------------------------------------------------------------------ fit
    def fit(self, data: Mapping[str, Any]) -> CausalVAE:
        """Fit on a mapping with the images and the concept labels; returns ``self``."""
        self._validate_params()
        check_hidden_sizes(self, "hidden_sizes")
        images, labels, names = self._data(data)
        self.concepts_ = names
        self.image_shape_ = tuple(int(v) for v in images.shape[1:])
        self.scaler_ = Scaler.fit(labels)
        self.device_ = resolve_device(self.device)
        seed = seed_from(self.random_state)
        with seeded(seed, self.device_):
            self.net_ = self._build().to(self.device_)
            self.history_ = self._train(images, self.scaler_.transform(labels), seed)
        self.net_.eval()
        self.adjacency_ = self.net_.adjacency().detach().cpu().numpy().astype(float)
        return self

    def _allowed(self) -> np.ndarray:
        """Which edges ``A[i, j]`` may be non-zero (no self-loops; the order, if given)."""
        d = len(self.concepts_)
        if self.concept_order is None:
            return 1.0 - np.eye(d)
        order = list(self.concept_order)
        if sorted(order) != sorted(self.concepts_):
            raise DataValidationError(
                f"concept_order must list every concept once: {sorted(self.concepts_)}; got {order}"
            )
        rank = np.array([order.index(c) for c in self.concepts_])
        return (rank[:, None] < rank[None, :]).astype(float)

    def _build(self) -> _CausalVAENet:
        return _CausalVAENet(
            int(np.prod(self.image_shape_)),
            len(self.concepts_),
            int(self.concept_dim),
            int(self.style_dim),
            tuple(int(h) for h in self.hidden_sizes),
            self._allowed(),
        )

    def _loss(self, net: _CausalVAENet, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Negative ELBO with the label terms (everything but the acyclicity terms)."""
        mean, logvar = net.encode(x)
        h = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        eps, style = net.split(h)
        adj = net.adjacency()
        logits = net.decode(net.mask(net.propagate(eps, adj), eps, adj), style)
        rec = nn.functional.binary_cross_entropy_with_logits(
            logits, x.flatten(1), reduction="none"
        ).sum(1)
        kl = 0.5 * (mean**2 + logvar.exp() - 1.0 - logvar).sum(1)
        eps_mean, _ = net.split(mean)
        z_mean = net.propagate(eps_mean, adj)
        target = u[:, :, None]
        prior = 0.5 * ((z_mean - target) ** 2).sum((1, 2))
        masked = 0.5 * ((net.mask(z_mean, eps_mean, adj) - target) ** 2).sum((1, 2))
        fit_u = ((u - u @ adj) ** 2).sum(1)
        labels = prior + masked + fit_u
        objective = rec + self.kl_weight * kl + self.label_weight * labels
        return objective.mean() + self.sparsity * adj.abs().sum()

    def _train(self, images: np.ndarray, u: np.ndarray, seed: int) -> list[dict[str, float]]:
        net = self.net_
        x, uu = tensor(images, device=self.device_), tensor(u, device=self.device_)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.learning_rate))
        gen = torch_generator(seed)
        lam, rho, h_prev = 0.0, 1.0, np.inf
        history = []
        epochs = range(int(self.max_epochs))
        for _ in progress(epochs, verbose=self.verbose, desc="CausalVAE"):
            net.train()
            total = 0.0
            for index in batches(len(x), self.batch_size, gen):
                hA = _acyclicity(net.adjacency())
                loss = self._loss(net, x[index], uu[index]) + lam * hA + 0.5 * rho * hA**2
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        "CausalVAE: the training loss became non-finite; lower learning_rate"
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(index)
            h_now = float(_acyclicity(net.adjacency()).detach())
            lam += rho * h_now
            if h_now > 0.25 * h_prev:
                rho = min(10.0 * rho, _RHO_MAX)
            h_prev = h_now
            history.append({"loss": total / len(x), "h": h_now, "rho": rho})
        return history

    # ------------------------------------------------------------------ use
    def _check_fitted(self) -> None:
        check_is_fitted(self, "net_")

    def _abduct(self, images: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = tensor(self._images(images, "images"), device=self.device_)
        mean, _ = self.net_.encode(x)
        eps, style = self.net_.split(mean)
        return eps, style, self.net_.propagate(eps, self.net_.adjacency())

    def predict_concepts(self, images: Any) -> dict[str, np.ndarray]:
        """The concept values the encoder reads off ``images`` (block means, in data units).

        >>> from deepcause.simulate import make_pendulum
        >>> ds = make_pendulum(100, size=16, random_state=0)
        >>> vae = CausalVAE(hidden_sizes=(32,), max_epochs=1, random_state=0, verbose=False)
        >>> sorted(vae.fit(ds.data).predict_concepts(ds.data["image"][:2]))
        ['angle', 'light', 'shadow_length', 'shadow_position']
        """
        self._check_fitted()
        with torch.no_grad():
            _, _, z = self._abduct(images)
        values = self.scaler_.inverse(z.mean(2).cpu().numpy())
        return {c: values[:, i] for i, c in enumerate(self.concepts_)}

    def _do_values(self, do: Mapping[str, Any], n: int) -> dict[int, np.ndarray]:
        if not isinstance(do, Mapping) or not do:
            raise DataValidationError("do must be a non-empty mapping {concept: value}")
        out = {}
        for c, value in do.items():
            if c not in self.concepts_:
                raise DataValidationError(
                    f"do names {c!r}, which is not a concept; concepts are {list(self.concepts_)}"
                )
            i = self.concepts_.index(c)
            v = np.broadcast_to(np.asarray(value, dtype=float).ravel(), (n,))
            if not np.all(np.isfinite(v)):
                raise DataValidationError(f"do[{c!r}] must be finite numbers")
            out[i] = (v - self.scaler_.mean[i]) / self.scaler_.scale[i]
        return out

    def intervene(self, images: Any, do: Mapping[str, Any]) -> np.ndarray:
        """Counterfactual images of ``images`` under ``do={concept: value}``.

        A value is a number or one per image, in the concept's data units. The intervened
        concept's incoming edges are cut; its descendants follow through the causal layer
        and their mechanisms with their own abducted noise; the style block is kept.

        >>> from deepcause.simulate import make_pendulum
        >>> ds = make_pendulum(100, size=16, random_state=0)
        >>> vae = CausalVAE(hidden_sizes=(32,), max_epochs=1, random_state=0, verbose=False)
        >>> x = ds.data["image"][:4]
        >>> same = vae.fit(ds.data).intervene(x, do={"angle": ds.data["angle"][:4]})
        >>> same.shape
        (4, 3, 16, 16)
        """
        self._check_fitted()
        net = self.net_
        with torch.no_grad():
            eps, style, z = self._abduct(images)
            values = self._do_values(do, len(eps))
            adj = net.adjacency()
            cut, eps_do = adj.clone(), eps.clone()
            for i, v in values.items():
                cut[:, i] = 0.0
                level = tensor(v, device=self.device_)[:, None]  # keep the block's deviations
                eps_do[:, i, :] = z[:, i, :] - z[:, i, :].mean(1, keepdim=True) + level
            z_do = net.propagate(eps_do, cut)
            zt = net.mask(z_do, eps, adj)
            zt_factual = net.mask(z, eps, adj)
            for i in values:  # the intervened mechanism moves by the intervened change
                zt[:, i, :] = zt_factual[:, i, :] + z_do[:, i, :] - z[:, i, :]
            out = torch.sigmoid(net.decode(zt, style))
        return out.reshape(-1, *self.image_shape_).cpu().numpy()

    def reconstruct(self, images: Any) -> np.ndarray:
        """Decode the posterior means of ``images`` (what the null intervention returns)."""
        self._check_fitted()
        with torch.no_grad():
            eps, style, z = self._abduct(images)
            out = torch.sigmoid(
                self.net_.decode(self.net_.mask(z, eps, self.net_.adjacency()), style)
            )
        return out.reshape(-1, *self.image_shape_).cpu().numpy()

    def learned_graph(self, threshold: float = 0.3) -> CausalGraph:
        """The concept DAG: ``i -> j`` wherever ``|A[i, j]| > threshold``.

        ``A`` is in standardized label units (a regression weight of ``j`` on ``i``). As the
        augmented Lagrangian makes ``A`` a DAG only approximately, edges are taken in order of
        decreasing weight and one that would close a cycle (a weak remnant) is dropped.
        """
        self._check_fitted()
        if not (isinstance(threshold, Real) and threshold >= 0):
            raise DataValidationError(f"threshold must be a number >= 0; got {threshold!r}")
        weight = np.abs(self.adjacency_)
        d = len(weight)
        reach = np.eye(d, dtype=bool)  # reach[a, b]: a path a -> ... -> b among kept edges
        edges = []
        for flat in np.argsort(-weight, axis=None, kind="stable"):  # at most d^2 candidates
            i, j = divmod(int(flat), d)
            if weight[i, j] <= threshold:
                break
            if not reach[j, i]:  # a remnant of a cycle (A is a DAG only approximately)
                edges.append((self.concepts_[i], self.concepts_[j]))
                reach |= np.outer(reach[:, i], reach[j, :])
        return CausalGraph.from_edges(edges, nodes=self.concepts_)

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to the directory ``path`` (:mod:`deepcause._persistence`).

        >>> import tempfile
        >>> from deepcause.simulate import make_pendulum
        >>> ds = make_pendulum(100, size=16, random_state=0)
        >>> vae = CausalVAE(hidden_sizes=(32,), max_epochs=1, random_state=0, verbose=False)
        >>> again = CausalVAE.load(vae.fit(ds.data).save(tempfile.mkdtemp() + "/vae"))
        >>> bool(np.array_equal(again.adjacency_, vae.adjacency_))
        True
        """
        self._check_fitted()
        params = self.get_params(deep=False)
        if not isinstance(params["random_state"], Integral | None):
            params["random_state"] = None
        params["device"] = str(params["device"])
        state = {
            "concepts": list(self.concepts_),
            "image_shape": list(self.image_shape_),
            "scaler": self.scaler_.to_dict(),
            "history": self.history_,
        }
        return save_bundle(path, type(self).__name__, params, state, self.net_.state_dict())

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> CausalVAE:
        """Read a model written by :meth:`save` (checksums verified, no code unpickled)."""
        bundle = read_bundle(path, known=[cls.__name__])
        with restoring(bundle):
            model = cls(**init_params(cls, {**bundle.params, "device": device}))
            model._validate_params()
            state = bundle.state
            model.concepts_ = tuple(state["concepts"])
            model.image_shape_ = tuple(int(v) for v in state["image_shape"])
            model.scaler_ = Scaler.from_dict(state["scaler"])
            model.history_ = list(state["history"])
            model.device_ = resolve_device(device)
            net = model._build()
            net.load_state_dict(bundle.tensors)
            model.net_ = net.to(model.device_).eval()
            model.adjacency_ = net.adjacency().detach().cpu().numpy().astype(float)
        return model
