"""Per-node mechanism choice by held-out likelihood (``CausalGenerativeModel(mechanisms="auto")``).

For every continuous node with parents, three families of candidates are trained on the same
rows and scored on the same held-out rows (the validation rows of the training loop, so the
score is the log-density of data the weights never saw; 15% of the rows, and on small data at
least 150 rows or 30%: :func:`~deepcause.generative._training.validation_split`) in the same
units:

* ``"additive"``: ``x = f(pa) + sigma(pa) * e`` with empirical noise
  (:class:`AdditiveNoiseMechanism` with ``scale=True`` for scalar nodes): a log-linear noise
  scale kept only when the training rows show it (1% Wald test) and shrunk toward a constant
  by the evidence for it. The candidate is *scored* at a constant scale (same mean, unscaled
  residuals), so the choice among the candidates is the one made without the scale, and the
  scale only changes the nodes that choice leaves additive. At 1,000 rows the held-out rows
  cannot tell a 1.7-fold scale variation from a constant one (it gains about 0.01 nats a row,
  on 150 rows), and the additive choice there biased the suite's heteroscedastic
  counterfactuals by 0.16-0.19 s.d.; scored with its scale, the additive candidate won the
  choice also where the location-scale model's counterfactuals were better (chain_heteroscedastic
  at seed 1: 0.120 against 0.083 s.d.) and against the log model on a multiplicative outcome
  (bench_generative.md, run 9);
* ``"log"``: for positive nodes only, the additive mechanism on ``log x``
  (:class:`LogMechanism`): multiplicative noise ``x = f(pa) * exp(u)``;
* ``"location_scale"`` / ``"flow"``: :class:`FlowMechanism` with ``conditional="auto"``, which
  first fits ``x = mu(pa) + sigma(pa) * e`` with a spline noise distribution (heteroscedastic
  noise) and keeps its parent-dependent flow only when that raises the held-out likelihood
  significantly; the node is reported under the name of the model it kept.

The candidate with the highest mean held-out log-likelihood wins, with one parsimony rule: a
candidate that is not nested in the best one (``"log"`` against a location-scale or flow
winner, ``"additive"`` against a ``"log"`` winner) and comes earlier in the order above is kept
instead when its deficit is not significant (paired z-statistic of the per-row differences,
winsorised at their 2.5% and 97.5% quantiles so that a few outlying rows cannot mask a clear gap,
below ``Z_THRESHOLD``). The additive mechanism is nested in the location-scale one (constant
scale), so it is never kept against a better location-scale or flow model, however small the
gain: the cost of the flexible model when the additive one is right is estimation variance that
shrinks with the rows, while a wrongly kept constant scale biases every counterfactual at first
order in the scale's variation, which the likelihood sees only at second order (its gain is
about half the variance of ``log sigma(pa)``). On the suite's 10-node ladders the old rule (the
simplest candidate not significantly worse) kept additive nodes 0.002 to 0.06 nats below the
location-scale fit whose counterfactuals were off by 0.15 to 0.19 s.d. This holds whichever
candidate is best: when the log model wins and a location-scale or flow model also beats the
additive one, the additive one is not kept by parsimony against the log winner (on the suite's
multiplicative mediator at 1,000 rows, seed 1, the additive outcome so kept missed its
counterfactuals by 0.48 s.d., the log one 0.21). Vector nodes keep the
parsimony test against every candidate; their additive candidate is scored with a
full-covariance Gaussian residual density when that fits the training residuals better than
its kernel estimate (:func:`additive_log_lik`): Silverman's kernel estimate in 16 dimensions
scored 30 nats too low, so the location-scale flow won on the suite's vector mediator and
doubled its interventional MMD² (0.0005 -> 0.0010 at seed 0). Every candidate is
invertible, so abduction stays exact whatever is chosen. The additive and location-scale/flow
candidates train with weight averaging (``AVERAGE_WEIGHTS``; an exponential moving average
of the last epochs' weights, validated and kept instead of Adam's last iterate, see
:mod:`deepcause.generative._training`), as the log candidate's base always does: a single fit's
weakly identified directions then depend less on where the noisy iterate stopped. On the suite's
vector mediator (whose outcome's direct-effect slope is weakly identified, X being nearly a
function of its 16-d mediator) one fit in 16 (4 data x 4 model seeds) put E[Y | do(X = -1)]
0.19 s.d. off (MMD² 0.0072); with averaging 0.023 s.d. (MMD² 0.0000), and over the suite's
18 invertible cases the counterfactual RMSE stays below 0.1 s.d.
(``benchmarks/results/bench_generative_seeds.md``). Root nodes
keep the additive mechanism (its empirical noise reproduces their marginal exactly and they are
never abducted), as do nodes with fewer than 50 rows (no held-out rows to decide on).

**Small data: cross-fitted candidates.** On nodes with fewer than ``CROSS_FIT_BELOW_ROWS`` (2,000)
rows, each candidate is fitted ``CROSS_FIT_FOLDS`` (3) times, once per fold of the rows: member
``k`` trains on the other folds and is early-stopped (and its weights averaged) on fold ``k``.
The candidates are scored on the *out-of-fold* log-likelihood of every row (each row by the
member that did not train on it; paired across candidates, as above), and the kept mechanism
is the average of its members (:meth:`AdditiveNoiseMechanism.load_average`: the mean of the
members' ``f``; :meth:`FlowMechanism.load_average`: the means of their ``mu(pa)`` and
``log sigma(pa)``, an affine map of the node, and the spline whose parameters are the means of
theirs; the log candidate through its base), one fixed invertible function of the parents and
the noise, so abduction stays exact; its residuals, noise scale and empirical noise are those
of the average on every row. With one 15% split (150 rows at 1,000), which rows train, where
training stops and the rows the choice is made on all move with the seed, and that part of a
fit's spread was the larger one (bench_generative.md, run 11); the members together train on
every row and the choice is made on all of them. On the suite's 18 invertible cases at 1,000
rows the mean counterfactual RMSE over three model seeds fell from 0.0981 / 0.0961 to 0.0820 /
0.0860 s.d. (data seeds 0 / 1), the cases above 0.1 from 8.0 / 6.7 to 6.0 / 5.7, mean MMD²
0.00188 / 0.00161 -> 0.00167 / 0.00160, for about twice the fit CPU (bench_generative.md, run 13).
Under cross-fitting the flow candidate is the location-scale model only: the parent-dependent
flow of ``FlowMechanism(conditional="auto")`` is not averaged (it was chosen on none of 342 nodes in
six suite runs at 1,000 rows); name ``"flow"`` for a node to get it. From 2,000 rows on (where
the suite at 5,000 rows meets its target with one split) nothing changes; between 1,000 and
2,000 rows the rule is not measured.

**Option: the spline mean after the choice.** With ``CHOSEN_ADDITIVE_MEAN_LOSS = "spline"``
(default ``None``) a cross-fitted node that the choice keeps additive with a constant noise
scale (a scalar node with ``scale_shrinkage`` 0) is refitted on the same folds and seeds with
``AdditiveNoiseMechanism(mean_loss="spline")`` (its mean fitted under a learned noise density);
the choice itself, and every node it sends elsewhere, stay as above (the report gains
``mean_loss``). Measured at 1,000 rows in bench_generative.md, runs 16-19: not adopted (the
linear family, Gaussian noise, got worse). With ``"spline_if_better"`` the refit is kept only
when the held-out rows prefer it: its out-of-fold log-density (same folds, so the same rows, and
the same constant-scale kernel density of the residuals as the choice's score) is higher than the
Gaussian-fitted candidate's, by a paired z-statistic (winsorised as above) above ``MEAN_LOSS_Z``
(0: the sign). No significance is asked: the two are one model (same ``f`` network, same empirical
noise) fitted by two estimators, so no parsimony favours either, and the held-out likelihood sees
an error of ``f`` only at second order: at 1,000 rows the spline fit's z was 0.8-1.2 on Laplace
noise (where it is about twice as efficient) and -1.9 to -2.4 on Gaussian noise. The report gains
``mean_loss_log_lik`` (both mean scores) and ``mean_loss_z``, and ``mean_loss`` only when the
refit is kept (bench_generative.md, run 20).

The choice is reported per node in ``model.mechanism_choice_`` (with ``scale_shrinkage``, the
factor kept of the fitted scale's variation, 0 for a constant scale, when additive is chosen).

>>> import numpy as np, pandas as pd
>>> from deepcause.generative import CausalGenerativeModel
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=1500)
>>> y = np.exp(0.8 * x + 0.3 * rng.normal(size=1500))   # multiplicative noise
>>> m = CausalGenerativeModel("X -> Y", max_epochs=40, random_state=0).fit(
...     pd.DataFrame({"X": x, "Y": y}))
>>> m.mechanism_choice_["Y"]["mechanism"]
'log'
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from .._torch import seed_from, seeded, torch
from ..exceptions import DataValidationError
from ._encoding import NodeSpec
from ._support import JointSupport
from ._training import validation_split
from .mechanisms import (
    IMAGE_MECHANISMS,
    MECHANISMS,
    AdditiveNoiseMechanism,
    CategoricalMechanism,
    FlowMechanism,
    LogMechanism,
    Mechanism,
    make_mechanism,
)
from .mechanisms.additive import additive_log_lik

DEFAULT_CONTINUOUS = "additive"
# "auto" for image nodes: the conditional VAE. Measured on the back-door digits design
# (do(C) images, attribute TV against the simulator): VAE 0.38-0.45 (3,000 units, 60 epochs),
# conditional GAN 0.60-0.95 (2,000 units, 60 epochs: conditioning and modes not yet learned
# at that budget); diffusion samples 25 U-Net passes per image (slow on CPU) and the GAN
# cannot abduct, so the VAE is the one default that samples fast and supports counterfactuals.
# Its 12-mode mixture prior keeps discrete colour modes apart for ID-GEN's factors and the
# district-joint nodes (the napkin; any graph with bidirected edges: the front door's digit
# mediator, outside the district, measured mean error of E[Y | do(X)] 0.045 with image_vae,
# 0.058 with image_hvae over 3 data x 2 model seeds, image_vae ahead at 5 of 6; image_hvae gets
# the fresh bar mediator's own-noise spread closer but bowfree's rectangle centre no better; an
# image treatment inside a district with image_hvae leaves Y as confounded as conditioning, W1
# 0.49-0.58 s.d. against image_vae's 0.12-0.15: bench_images_fresh.md run 6), which keep it;
# CausalGenerativeModel's image nodes in graphs without bidirected edges get the hierarchical
# VAE (DEFAULT_IMAGE_SCM): counterfactual pixel RMSE morpho 0.115 -> 0.068 (2.1x -> 3.6x below
# fresh noise), fresh disc 0.080 -> 0.026, fresh square -> ring 0.135 / 0.174 -> 0.037 / 0.047
# (bench_images_fresh.md, session 8)
DEFAULT_IMAGE = "image_vae"
DEFAULT_IMAGE_SCM = "image_hvae"

__all__ = [
    "AutoMechanism",
    "DEFAULT_IMAGE",
    "DEFAULT_IMAGE_SCM",
    "additive_log_lik",
    "fit_node",
    "select_mechanism",
    "Z_THRESHOLD",
]

Z_THRESHOLD = 2.5
_MIN_ROWS = 50
AVERAGE_WEIGHTS = True  # candidates train with weight averaging (see _candidates)
CROSS_FIT_FOLDS = 3  # small data: candidates cross-fitted on this many folds (1: never)
CROSS_FIT_BELOW_ROWS = 2000  # ... when the node has fewer rows than this (see the module doc)
# the additive (and log) candidates' f fitted under a Gaussian ("gaussian") or a learned spline
# noise density ("spline"). "spline" measured at 1,000 rows, not adopted: additive-noise nodes'
# counterfactuals improve (diamond_nonlinear 0.142 -> 0.050 s.d.), heteroscedastic cases get
# worse (the additive model then wins their choice; fork_heteroscedastic 0.084 -> 0.156) and
# fits cost about twice the CPU (bench_generative.md, run 15)
ADDITIVE_MEAN_LOSS = "gaussian"
# cross-fitted scalar nodes: once the choice (made with ADDITIVE_MEAN_LOSS) keeps the additive
# candidate with a constant noise scale, refit it on the same folds with this mean loss (None:
# keep it as scored). Refitting also the additive nodes kept with a log-linear scale (a3f9976)
# made the suite's heteroscedastic outcomes worse, and vector nodes (365f9d0) the vector
# mediator's (bench_generative.md, run 16)
# "spline_if_better": refit as "spline", kept only when its out-of-fold log-likelihood is
# higher than the Gaussian-fitted candidate's: paired z > MEAN_LOSS_Z (module doc). Not adopted
# (run 20): at data seed 1 it halves "spline"'s cost on the linear family (+0.0045 -> +0.0021
# over main) and keeps its nonlinear gain (-0.020); a third of Gaussian nodes still prefer it
CHOSEN_ADDITIVE_MEAN_LOSS: str | None = None
MEAN_LOSS_Z = 0.0
_IF_BETTER = "_if_better"


class AutoMechanism:
    """Placeholder for a continuous node whose mechanism :func:`select_mechanism` chooses.

    ``overrides`` (e.g. ``max_epochs``) go to every candidate.

    >>> AutoMechanism(max_epochs=5).discrete
    False
    """

    discrete = False
    name = "auto"

    def __init__(self, **overrides: Any) -> None:
        self.overrides = overrides


def fit_node(
    mech: Mechanism | AutoMechanism,
    spec: NodeSpec,
    x: torch.Tensor,
    context: torch.Tensor,
    seed: int,
    *,
    device: torch.device,
    verbose: Any = "auto",
    desc: str = "",
) -> tuple[Mechanism, dict[str, Any] | None]:
    """Build and train one node's mechanism; an :class:`AutoMechanism` is chosen first.

    Returns the trained mechanism and the choice report (``None`` for a given mechanism).

    >>> import torch
    >>> from deepcause.generative._encoding import NodeSpec
    >>> spec = NodeSpec("Y", ["Y"], False, None, None, [0.0], [1.0])
    >>> x, ctx = torch.randn(30, 1), torch.randn(30, 1)
    >>> mech, report = fit_node(AutoMechanism(max_epochs=2), spec, x, ctx, 0, device=x.device)
    >>> mech.name, report["reason"]
    ('additive', 'fewer than 50 rows: no held-out rows to choose on')
    """
    if isinstance(mech, AutoMechanism):
        return select_mechanism(
            spec, x, context, seed, device=device, verbose=verbose, desc=desc, **mech.overrides
        )
    if isinstance(mech, LogMechanism) and mech.offset is None and spec.mean and spec.dim == 1:
        mech.offset = -spec.mean[0] / spec.std[0]  # the node's zero in standardised units
    with seeded(seed % (2**62)):
        mech.build(spec.dim, context.shape[1], len(spec.levels) if spec.discrete else None)
    mech.to(device)
    mech.fit(x, context, random_state=seed, verbose=verbose, desc=desc)
    # the parents' joint support, for counterfactuals' warnings (tabular nodes only)
    image = bool(getattr(mech, "image_node", False))
    mech.joint_support_ = None if image else JointSupport.fit(context, seed % (2**62))
    return mech, None


def _candidates(
    spec: NodeSpec, x: torch.Tensor, overrides: dict[str, Any], conditional: bool | str = "auto"
) -> dict[str, Any]:
    """Unbuilt candidates in order of simplicity (the log one only for positive nodes)."""
    out: dict[str, Any] = {
        "additive": AdditiveNoiseMechanism(
            scale=spec.dim == 1, mean_loss=ADDITIVE_MEAN_LOSS, **overrides
        )
    }
    offset = [-m / s for m, s in zip(spec.mean or [], spec.std or [])]
    if spec.dim == 1 and offset and bool((x[:, 0] > offset[0]).all()):
        out["log"] = LogMechanism(
            offset=float(offset[0]), mean_loss=ADDITIVE_MEAN_LOSS, **overrides
        )
    out["flow"] = FlowMechanism(conditional=conditional, **overrides)
    for mech in out.values():
        mech.average_weights = AVERAGE_WEIGHTS
    return out


def select_mechanism(
    spec: NodeSpec,
    x: torch.Tensor,
    context: torch.Tensor,
    seed: int,
    *,
    device: torch.device,
    verbose: Any = "auto",
    desc: str = "",
    **overrides: Any,
) -> tuple[Mechanism, dict[str, Any]]:
    """Train the candidates of one continuous node and keep the one the held-out rows choose.

    Returns ``(mechanism, report)``; ``report`` has ``mechanism`` (the chosen name),
    ``val_log_lik`` (mean held-out log-density per candidate, in the node's standardised
    units), ``n_val`` (rows scored; all of them, out of fold, when cross-fitted), ``reason``
    and, when cross-fitted, ``folds``. See the module docstring for the rule.

    Examples
    --------
    >>> import torch
    >>> from deepcause.generative._encoding import NodeSpec
    >>> torch.manual_seed(0) and None
    >>> pa = torch.randn(1000, 1)
    >>> x = pa + (0.1 + 0.5 * pa.abs()) * torch.randn(1000, 1)   # heteroscedastic
    >>> spec = NodeSpec("Y", ["Y"], False, None, None, [0.0], [1.0])
    >>> mech, report = select_mechanism(spec, x, pa, 0, device=x.device, max_epochs=60)
    >>> report["mechanism"], sorted(report["val_log_lik"]), report["n_val"], report["folds"]
    ('location_scale', ['additive', 'location_scale'], 1000, 3)
    >>> mech.affine.members is not None  # the average of the 3 members' location-scale nets
    True
    """
    n = x.shape[0]
    if context.shape[1] == 0 or n < _MIN_ROWS:
        mech, _ = fit_node(
            AdditiveNoiseMechanism(**overrides),
            spec,
            x,
            context,
            seed,
            device=device,
            verbose=verbose,
            desc=desc,
        )
        reason = (
            "root node"
            if context.shape[1] == 0
            else (f"fewer than {_MIN_ROWS} rows: no held-out rows to choose on")
        )
        return mech, {"mechanism": "additive", "val_log_lik": {}, "n_val": 0, "reason": reason}
    if CROSS_FIT_FOLDS > 1 and n < CROSS_FIT_BELOW_ROWS:
        return _select_cross_fitted(spec, x, context, seed, device, verbose, desc, overrides)
    # FlowMechanism.fit derives its training seed as seed_from(seed); the others get that seed
    # directly, so every candidate trains and is scored on the same rows
    inner_seed = seed_from(seed)
    train, val = (t.to(device) for t in validation_split(n, inner_seed))
    fitted: dict[str, Mechanism] = {}
    scores: dict[str, torch.Tensor] = {}
    for name, cand in _candidates(spec, x, overrides).items():
        rs = seed if name == "flow" else inner_seed
        mech, _ = fit_node(
            cand, spec, x, context, rs, device=device, verbose=verbose, desc=f"{desc} [{name}]"
        )
        if name == "flow":
            name = "flow" if (mech.selection_ or {}).get("conditional") else "location_scale"
        scores[name] = _held_out_log_lik(name, mech, x, context, train, val)
        fitted[name] = mech
    chosen = _simplest_not_worse(scores, nested=spec.dim == 1)
    report = _report(chosen, scores, fitted, int(val.shape[0]), "held-out log-likelihood")
    flow = next(m for k, m in fitted.items() if k in ("flow", "location_scale"))
    for k, v in ((flow.selection_ or {}).get("val_log_lik") or {}).items():
        report["val_log_lik"].setdefault("flow" if k == "conditional" else k, v)
    return fitted[chosen], report


def _select_cross_fitted(
    spec: NodeSpec,
    x: torch.Tensor,
    context: torch.Tensor,
    seed: int,
    device: torch.device,
    verbose: Any,
    desc: str,
    overrides: dict[str, Any],
) -> tuple[Mechanism, dict[str, Any]]:
    """:func:`select_mechanism` with every candidate cross-fitted on ``CROSS_FIT_FOLDS`` folds
    (see the module docstring): each member trains on the other folds and stops on its own,
    which it scores; the kept mechanism is the members' average. A chosen additive candidate
    is refitted on the same folds with ``CHOSEN_ADDITIVE_MEAN_LOSS`` when that is set."""
    k_folds = CROSS_FIT_FOLDS
    n = x.shape[0]
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed_from(seed)))
    folds = [f.sort().values.to(device) for f in perm.chunk(k_folds)]
    fit = _Folds(spec, x, context, seed, device, verbose, desc, folds)
    fitted: dict[str, Mechanism] = {}
    scores: dict[str, torch.Tensor] = {}
    cands = _candidates(spec, x, overrides, conditional=False)
    for name, cand in cands.items():
        name = "location_scale" if name == "flow" else name
        fitted[name], scores[name] = _cross_fit(name, cand, fit)
    chosen = _simplest_not_worse(scores, nested=spec.dim == 1)
    reason = f"out-of-fold log-likelihood ({k_folds} folds)"
    extra: dict[str, Any] = {"folds": k_folds}
    refit_loss, cand = CHOSEN_ADDITIVE_MEAN_LOSS, cands["additive"]
    # scalar nodes whose training rows show no noise scale: the spline density of the mean loss
    # is one noise law for every row, of independent coordinates (run 16: refitting vector
    # nodes and nodes kept with a log-linear scale made counterfactuals worse)
    constant = spec.dim == 1 and getattr(fitted["additive"], "scale_shrinkage_", None) == 0.0
    if chosen == "additive" and constant and refit_loss not in (None, cand.mean_loss):
        gated = refit_loss.endswith(_IF_BETTER)
        loss = refit_loss.removesuffix(_IF_BETTER)
        refit = type(cand)(**{**cand.hyperparameters(), "mean_loss": loss})
        refit.average_weights = cand.average_weights
        mech, score = _cross_fit("additive", refit, fit)
        # "<loss>_if_better": kept only when its out-of-fold log-density (same rows, same
        # constant-scale kernel density as the choice's) is higher: paired z > MEAN_LOSS_Z
        z = _paired_z(score - scores["additive"]) if gated else math.inf
        if gated:
            extra["mean_loss_log_lik"] = {cand.mean_loss: float(scores["additive"].mean()),
                                          loss: float(score.mean())}  # fmt: skip
            extra["mean_loss_z"] = z
        if z > MEAN_LOSS_Z:
            fitted["additive"], extra["mean_loss"] = mech, loss
    return fitted[chosen], _report(chosen, scores, fitted, n, reason, **extra)


class _Folds(NamedTuple):
    """What every candidate of a cross-fitted node is fitted with (:func:`_cross_fit`)."""

    spec: NodeSpec
    x: torch.Tensor
    context: torch.Tensor
    seed: int
    device: torch.device
    verbose: Any
    desc: str
    folds: list[torch.Tensor]


def _cross_fit(name: str, cand: Mechanism, fit: _Folds) -> tuple[Mechanism, torch.Tensor]:
    """One candidate cross-fitted on ``fit.folds``: the average of its members (member ``k``
    trained on the other folds, stopped on fold ``k``) and the out-of-fold log-density of every
    row."""
    spec, x, context, seed, device, verbose, desc, folds = fit
    n = x.shape[0]
    members, parts = [], []
    for k, val in enumerate(folds):
        member = cand.clone_unbuilt()
        member.average_weights = cand.average_weights
        rs = seed_from(seed + 7919 * (k + 1))
        with seeded(rs % (2**62)):
            member.build(spec.dim, context.shape[1], None)
        member.to(device)
        member.fit(x, context, random_state=rs, verbose=verbose, desc=f"{desc} [{name}]",
                   held_out=val)  # fmt: skip
        train = torch.ones(n, dtype=torch.bool, device=device)
        train[val] = False
        parts.append(_held_out_log_lik(name, member, x, context, train.nonzero()[:, 0], val))
        members.append(member)
    mech = type(cand)(**{**cand.hyperparameters(), "n_members": len(folds)})
    with seeded(seed % (2**62)):
        mech.build(spec.dim, context.shape[1], None)
    mech.to(device)
    mech.load_average(members, x, context)
    mech.joint_support_ = JointSupport.fit(context, seed % (2**62))
    return mech, torch.cat(parts)


def _report(
    chosen: str,
    scores: Mapping[str, torch.Tensor],
    fitted: Mapping[str, Mechanism],
    n_val: int,
    reason: str,
    **extra: Any,
) -> dict[str, Any]:
    """:func:`select_mechanism`'s report of a choice among scored candidates."""
    report = {
        "mechanism": chosen,
        "val_log_lik": {k: float(v.mean()) for k, v in scores.items()},
        "n_val": n_val,
        **extra,
        "reason": reason,
    }
    shrink = getattr(fitted["additive"], "scale_shrinkage_", None)
    if chosen == "additive" and shrink is not None:
        report["scale_shrinkage"] = shrink
    return report


@torch.no_grad()
def _held_out_log_lik(
    name: str,
    mech: Mechanism,
    x: torch.Tensor,
    context: torch.Tensor,
    train: torch.Tensor,
    val: torch.Tensor,
) -> torch.Tensor:
    """A fitted candidate's log-density of the held-out rows ``val`` (the additive candidate
    at a constant scale: see the module docstring)."""
    if name != "additive":
        return mech.log_prob(x[val], context[val]).double()
    with mech.constant_scale(x, context) if mech.scale else contextlib.nullcontext():
        return additive_log_lik(mech, x, context, train, val)


_NESTED = {"additive": ("location_scale", "flow")}  # candidate -> models that contain it


def _simplest_not_worse(scores: dict[str, torch.Tensor], *, nested: bool = True) -> str:
    """The best candidate, or an earlier one whose deficit is not significant and which no
    model nesting it beats (if ``nested``)."""
    means = {
        k: float(v.mean()) if bool(torch.isfinite(v).all()) else -math.inf
        for k, v in scores.items()
    }
    best = max(means, key=means.__getitem__)
    for name, ll in scores.items():
        if name == best:
            return best
        # a nested candidate is never kept when a model containing it scores higher, whichever
        # candidate is best (the log one may be best and the location-scale one still beat it)
        beaten = nested and any(
            means.get(k, -math.inf) > means[name] for k in _NESTED.get(name, ())
        )
        if not math.isfinite(means[name]) or beaten:
            continue
        if _paired_z(scores[best] - ll) < Z_THRESHOLD:
            return name
    return best


def _paired_z(gap: torch.Tensor) -> float:
    """z-statistic of the mean of per-row log-density differences ``gap``, winsorised at their
    2.5% and 97.5% quantiles so that a few outlying rows cannot hide a clear gap.

    >>> round(_paired_z(torch.tensor([0.1, 0.2, 0.3, 0.2] * 25)), 1)
    28.1
    """
    lo, hi = torch.quantile(gap, torch.tensor([0.025, 0.975], dtype=gap.dtype, device=gap.device))
    gap = gap.clamp(float(lo), float(hi))
    return float(gap.mean()) / max(float(gap.std()) / math.sqrt(gap.shape[0]), 1e-12)


def resolve_mechanism(
    spec: Any,
    node: str,
    cols: list[str],
    max_epochs: int | None,
    *,
    image: bool,
    discrete: bool,
    image_parent: bool,
    image_default: str = DEFAULT_IMAGE,
) -> Mechanism | AutoMechanism:
    """The (untrained) mechanism of ``node`` named by the model's ``mechanisms`` argument.

    A per-node mapping names a mechanism (checked against the node's kind); otherwise image
    nodes get ``image_default`` (or the image mechanism named), discrete nodes the categorical one,
    and continuous nodes the named one or, for ``"auto"``, an :class:`AutoMechanism` placeholder
    that :func:`fit_node` resolves by held-out likelihood (nodes with image parents get the
    additive head behind the conv encoder).

    >>> type(resolve_mechanism("auto", "Y", ["Y"], 5, image=False, discrete=False,
    ...                        image_parent=False)).__name__
    'AutoMechanism'
    >>> resolve_mechanism({"Y": "flow"}, "Y", ["Y"], 5, image=False, discrete=False,
    ...                   image_parent=False).name
    'flow'
    """
    overrides = {} if max_epochs is None else {"max_epochs": int(max_epochs)}
    if isinstance(spec, str) and spec != "auto" and spec not in MECHANISMS:
        make_mechanism(spec)  # refuses a misspelt name (it is not replaced by a default)
    if isinstance(spec, Mapping):
        if node in spec and not (isinstance(spec[node], str) and spec[node] == "auto"):
            mech = make_mechanism(spec[node], **overrides)
            if image != bool(getattr(mech, "image_node", False)):
                kind = "an image" if image else "a tabular"
                raise DataValidationError(
                    f"node {node!r} is {kind} node but mechanism {mech.name!r} models "
                    f"{'tabular' if image else 'image'} nodes; image nodes take "
                    f"{sorted(IMAGE_MECHANISMS)}"
                )
            return mech
        spec = "auto"
    if image:
        return make_mechanism(spec if spec in IMAGE_MECHANISMS else image_default, **overrides)
    if spec in IMAGE_MECHANISMS:
        spec = "auto"
    if discrete:
        return CategoricalMechanism(**overrides)
    if spec == "auto":
        if image_parent:
            return make_mechanism(DEFAULT_CONTINUOUS, **overrides)
        return AutoMechanism(**overrides)
    if spec == "categorical":
        raise DataValidationError(
            f"node {node!r} is continuous (columns {cols}); the categorical mechanism only "
            "models discrete nodes — give it per node: mechanisms={'node': 'categorical'}"
        )
    return make_mechanism(spec, **overrides)
