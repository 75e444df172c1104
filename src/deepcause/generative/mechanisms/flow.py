"""Conditional normalizing-flow mechanism: a location-scale layer, then zuko NSF or MAF flows.

The node is standardised by an MLP of the parents, its noise shape is an element-wise flow ``S``
that does not depend on the parents, and an optional second flow ``C_pa``, conditioned on the
parents and autoregressive over the node's components (correlated noise of vector nodes),
captures the rest: ``z = C_pa(S((x - mu(pa)) / sigma(pa)))`` is standard normal; ``encode`` applies this
map and ``decode`` its inverse, so counterfactuals are exact up to the spline inversion (deep
structural causal models, Pawlowski et al. 2020). Both flows start at the identity.

``conditional`` chooses whether ``C_pa`` is used: ``False`` gives the location-scale noise model
``x = mu(pa) + sigma(pa) * S^{-1}(z)`` (additive and heteroscedastic mechanisms), ``True`` a
parent-dependent noise shape; ``"auto"`` (default) first fits the location-scale model, then
trains ``C_pa`` on top of it with the rest frozen and keeps it only when it raises the held-out
log-likelihood significantly (paired z-statistic over the validation rows above
``selection_z``). A parent-dependent spline that is not needed adds estimation error to every
counterfactual, so the simpler model is kept unless the data ask for more; ``selection_`` records
the decision.

>>> import torch
>>> torch.manual_seed(0) and None
>>> pa = torch.randn(300, 2)
>>> m = FlowMechanism(dim=1, context_dim=2, conditional=True)
>>> x = torch.randn(5, 1)
>>> bool(torch.allclose(m.decode(m.encode(x, pa[:5]), pa[:5]), x, atol=1e-4))
True
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, ClassVar

import zuko
from torch.distributions import AffineTransform, Distribution
from zuko.flows.gaussianization import ElementWiseTransform
from zuko.lazy import LazyComposedTransform
from zuko.transforms import MonotonicAffineTransform

from ..._parameters import Interval, StrOptions
from ..._torch import nn, seed_from, torch
from .._training import train_mechanism, validation_split
from .additive import ContextNet, element_wise_splines
from .base import Mechanism

__all__ = ["FlowMechanism", "LocationScaleMechanism"]

_FLOWS = {"nsf": zuko.flows.NSF, "maf": zuko.flows.MAF}


def _zero_last_layers(transform: LazyComposedTransform) -> None:
    """Make every step of a zuko lazy transform the identity (zero spline / affine parameters)."""
    with torch.no_grad():
        for t in transform.transforms:
            linears = [m for m in t.modules() if isinstance(m, (nn.Linear, zuko.nn.Linear))]
            params = [linears[-1].weight, linears[-1].bias] if linears else list(t.parameters())
            for p in params:
                p.zero_()


class FlowMechanism(Mechanism):
    """``x = mu(pa) + sigma(pa) * S^{-1}(C_pa^{-1}(z))``, ``z ~ N(0, I)``; see the module doc.

    ``flow``: ``"nsf"`` (rational-quadratic splines, ``bins`` per transform) or ``"maf"``
    (affine autoregressive); ``transforms`` per flow; ``hidden_sizes``: MLP widths;
    ``conditional``: ``False``, ``True`` or ``"auto"``; ``selection_z``: the z-statistic the
    parent-dependent flow must exceed under ``"auto"``. Training defaults: batch 512, step 5e-3.

    Examples
    --------
    >>> import torch
    >>> x, c = torch.randn(200, 1), torch.randn(200, 2)
    >>> m = FlowMechanism(max_epochs=2).build(1, 2)
    >>> _ = m.fit(x, c, random_state=0, verbose=False)
    >>> bool(torch.allclose(m.decode(m.encode(x, c), c), x, atol=1e-4))  # exact abduction
    True
    >>> m(c).sample().shape
    torch.Size([200, 1])
    """

    name = "flow"
    invertible = True
    inverse_atol = 1e-3
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **Mechanism._parameter_constraints,
        "flow": [StrOptions(set(_FLOWS))],
        "transforms": [Interval(Integral, 1, None, closed="left")],
        "bins": [Interval(Integral, 2, None, closed="left")],
        "conditional": ["boolean", StrOptions({"auto"})],
        "selection_z": [Interval(Real, None, None, closed="neither")],
        "n_members": [Interval(Integral, 1, None, closed="left")],
    }
    _size_parameters = ("hidden_sizes",)

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        flow: str = "nsf",
        transforms: int = 3,
        hidden_sizes: tuple[int, ...] = (64, 64),
        bins: int = 8,
        conditional: bool | str = "auto",
        selection_z: float = 3.0,
        n_members: int = 1,
        **train: Any,
    ) -> None:
        train.setdefault("batch_size", 512)
        train.setdefault("learning_rate", 5e-3)
        super().__init__(dim, context_dim, **train)
        self.flow_type = flow
        self.transforms = transforms
        self.hidden_sizes = hidden_sizes
        self.bins = bins
        self.conditional = conditional
        self.selection_z = selection_z
        self.n_members = n_members
        self.selection_: dict[str, Any] | None = None
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "flow": self.flow_type,
            "transforms": self.transforms,
            "hidden_sizes": self.hidden_sizes,
            "bins": self.bins,
            "conditional": self.conditional,
            "selection_z": self.selection_z,
            "n_members": self.n_members,
        }

    def _make_flow(self, context: int) -> LazyComposedTransform:
        """Identity-initialised flow steps: autoregressive given ``context`` parents, else
        element-wise (the noise components' dependence is left to the parent-dependent flow)."""
        d = int(self.dim)
        if context == 0 and self.flow_type == "nsf":
            transform = element_wise_splines(d, self.transforms, self.bins)
        elif context == 0:
            steps = [
                ElementWiseTransform(d, 0, univariate=MonotonicAffineTransform, shapes=[(), ()])
                for _ in range(self.transforms)
            ]
            transform = LazyComposedTransform(*steps)
        else:
            kwargs: dict[str, Any] = {
                "features": d,
                "context": context,
                "transforms": self.transforms,
                "hidden_features": tuple(self.hidden_sizes),
            }
            if self.flow_type == "nsf":
                kwargs["bins"] = self.bins
            transform = _FLOWS[self.flow_type](**kwargs).transform
        _zero_last_layers(transform)
        return transform

    def _build(self) -> None:
        d, c = int(self.dim), int(self.context_dim)
        # location-scale layer (splines shift mass slowly); the log-scale offset is multiplied
        # by 10 so Adam moves it as fast as the weights
        self.affine = ContextNet(c, 2 * d, tuple(self.hidden_sizes), int(self.n_members))
        self.log_scale_raw = nn.Parameter(torch.zeros(d))
        self.noise_flow = self._make_flow(0)
        self.context_flow = self._make_flow(c) if c > 0 and self.conditional is not False else None
        self.register_buffer("uses_context", torch.tensor(c > 0 and self.conditional is True))

    def _transform(self, context: torch.Tensor):  # noqa: ANN202 - a zuko Transform
        d = int(self.dim)
        out = self.affine(context)
        loc, log_scale = out[:, :d], out[:, d:] + 10.0 * self.log_scale_raw
        inv_scale = torch.exp(-log_scale)
        parts = [AffineTransform(-loc * inv_scale, inv_scale, event_dim=1)]
        parts.append(self.noise_flow(None))
        if self.context_flow is not None and bool(self.uses_context):
            parts.append(self.context_flow(context))
        return zuko.transforms.ComposedTransform(*parts)

    def forward(self, context: torch.Tensor) -> Distribution:
        self._require_built()
        n, d = context.shape[0], int(self.dim)
        zeros = torch.zeros((n, d), dtype=torch.float32, device=context.device)
        base = zuko.distributions.DiagNormal(zeros, torch.ones_like(zeros))
        return zuko.distributions.NormalizingFlow(self._transform(context), base)

    def _nll(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Per-row negative log-density without the constant ``d/2 log(2 pi)``."""
        z, ladj = self._transform(context).call_and_ladj(x)
        return 0.5 * z.pow(2).sum(-1) - ladj

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self._nll(x, context).mean()

    def encode(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        return self._transform(context)(x)

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        return self._transform(context).inv(noise)

    @torch.no_grad()
    def load_average(
        self, members: list[FlowMechanism], x: torch.Tensor, context: torch.Tensor
    ) -> None:
        """Make this location-scale mechanism (built with ``n_members = len(members)`` and
        ``conditional=False``) the average of the fitted one-network location-scale
        ``members``: ``mu(pa)`` and ``log sigma(pa)`` the means of theirs (still an affine map of
        the node, so abduction stays exact), and the element-wise noise flow the spline whose
        parameters are the means of theirs (a monotone spline, hence invertible). ``x`` and
        ``context`` are not used (the signature is the additive mechanism's).

        >>> x, c = torch.randn(200, 1), torch.randn(200, 1)
        >>> fits = [LocationScaleMechanism(max_epochs=2).fit(x, c, random_state=k, verbose=False)
        ...         for k in range(2)]
        >>> m = LocationScaleMechanism(n_members=2).build(1, 1)
        >>> m.load_average(fits, x, c)
        >>> bool(torch.allclose(m.decode(m.encode(x, c), c), x, atol=1e-4))
        True
        """
        if self.context_flow is not None or any(m.context_flow is not None for m in members):
            raise ValueError("load_average averages location-scale flows (conditional=False) only")
        self.affine.load_members([m.affine for m in members])
        states = [m.noise_flow.state_dict() for m in members]
        self.noise_flow.load_state_dict(
            {k: torch.stack([st[k] for st in states]).mean(0) for k in states[0]}
        )
        self.log_scale_raw.copy_(torch.stack([m.log_scale_raw for m in members]).mean(0))
        self.eval()

    # ----------------------------------------------------------------- training
    def fit(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        random_state: int | None = None,
        verbose: bool | str = "auto",
        desc: str = "",
        held_out: torch.Tensor | None = None,
    ) -> FlowMechanism:
        """Train; under ``conditional="auto"`` also decide whether the parent-dependent flow stays."""
        seed = seed_from(random_state)  # one seed: both stages share the validation rows
        super().fit(x, context, random_state=seed, verbose=verbose, desc=desc, held_out=held_out)
        self.selection_ = None
        if self.conditional != "auto" or self.context_flow is None or context is None:
            return self
        if x.shape[0] < 50:  # no validation rows to decide on: keep the location-scale model
            return self
        _, val = validation_split(x.shape[0], seed, held_out=held_out)
        val = val.to(x.device)
        with torch.no_grad():
            nll_simple = self._nll(x[val], context[val])
        simple_state = {k: v.clone() for k, v in self.state_dict().items()}
        frozen = [p for n, p in self.named_parameters() if not n.startswith("context_flow.")]
        for p in frozen:
            p.requires_grad_(False)
        patience = self.patience
        self.patience = max(4, patience // 2)  # warm start: the added flow converges quickly
        try:
            self.uses_context.fill_(True)
            train_mechanism(
                self,
                x,
                context,
                random_state=seed,
                verbose=verbose,
                desc=f"{desc or self.name} (conditional)",
                reinitialise=False,
                held_out=held_out,
            )
        finally:
            self.patience = patience
            for p in frozen:
                p.requires_grad_(True)
        with torch.no_grad():
            gain = nll_simple - self._nll(x[val], context[val])
        mean, sd = float(gain.mean()), float(gain.std())
        z = mean / max(sd / math.sqrt(gain.shape[0]), 1e-12)
        keep = bool(math.isfinite(z) and z > self.selection_z)
        if not keep:
            self.load_state_dict(simple_state)
        ll_simple = -float(nll_simple.mean()) - 0.5 * int(self.dim) * math.log(2 * math.pi)
        self.selection_ = {
            "conditional": keep,
            "gain": mean,
            "z": z,
            "val_log_lik": {"location_scale": ll_simple, "conditional": ll_simple + mean},
        }
        return self


class LocationScaleMechanism(FlowMechanism):
    """``x = mu(pa) + sigma(pa) * e`` with a learned (spline) noise distribution ``e``.

    The :class:`FlowMechanism` without its parent-dependent flow (``conditional=False``):
    additive and heteroscedastic mechanisms with any noise shape; abduction is exact,
    ``e = (x - mu(pa)) / sigma(pa)`` pushed through the noise flow.

    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> pa = torch.randn(400, 1)
    >>> x = pa + (0.2 + 0.3 * pa.abs()) * torch.randn(400, 1)
    >>> m = LocationScaleMechanism(max_epochs=30).fit(x, pa, random_state=0)
    >>> bool(torch.allclose(m.decode(m.encode(x, pa), pa), x, atol=1e-3))
    True
    """

    name = "location_scale"

    def __init__(self, dim: int | None = None, context_dim: int | None = None, **kw: Any) -> None:
        kw.pop("conditional", None)
        super().__init__(dim, context_dim, conditional=False, **kw)
