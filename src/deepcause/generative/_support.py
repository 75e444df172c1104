"""When a ``do()`` value of a generative model is an extrapolation (issue 12, item 6).

A fitted model records, for every scalar continuous node, the observed range
``[low, high]`` of its training values and their number ``n_obs`` (:func:`observed_range`,
stored in :class:`~deepcause.generative._encoding.NodeSpec` and saved with the model). The
mechanisms have never seen a parent value outside that range, so an answer that needs one is an
extrapolation. The rule (:func:`extrapolation_message`) separates extrapolation from sampling
noise:

* **One value** (a number, or an array whose values are all equal): outside ``[low, high]``
  warns. The user chose that value; no observed unit had it.
* **A per-unit array** of ``k`` distinct values (held-out units' own values, a shift of each
  unit's value): a fresh draw of the training distribution falls outside the range of ``n_obs``
  draws with probability ``2 / (n_obs + 1)``, so a few units outside is expected. Exactly, for
  any continuous distribution, the number ``K`` of ``k`` fresh draws outside the range is
  beta-binomial ``(k, 2, n_obs - 1)`` (the probability mass outside the range is the sum of the
  two extreme uniform spacings, ``Beta(2, n_obs - 1)``). The array warns when its ``K`` has a
  tail probability ``P(K' >= K)`` below :data:`FRESH_DRAW_ALPHA` = 0.001 under that law: at most
  one query in a thousand made of genuinely new units from the training distribution warns
  (measured on 2,000 simulated datasets each for normal, uniform, exponential, gamma, lognormal,
  t3 and t5 data, ``n_obs`` from 200 to 5,000 and ``k`` from 200 to 5,000: false alarms between
  0 and 0.35%; the law is exact only for iid fresh draws).
* **Any value far outside**: a per-unit array also warns when one of its values lies beyond the
  range by more than :data:`FAR_BEYOND_RANGE` = 1 range width (its distance to the nearer end
  exceeds ``high - low``), however few such units there are. A distance cannot be judged
  without assuming a distribution: with fresh draws this never fired for normal, uniform or
  gamma(5) data and fired in at most 1% of queries for exponential and t5 data with ``k <=
  n_obs`` (4-8% when ``k = 10 n_obs``), but in 5-8% of them for lognormal and t3 data at ``k =
  n_obs`` (up to 47% at ``k = 10 n_obs``): with tails that heavy, units beyond twice the range
  of the training data are themselves extrapolated.
* **No stored range** (models saved before ranges were recorded, and vector nodes, whose joint
  support is no box): the former rule, a hard value more than :data:`EXTRAPOLATION_SDS` = 4
  training standard deviations from the mean.

Shift interventions are checked by the same rule on the values the shift returns (always a
per-unit array): a shift must keep the units inside the support, as modified treatment policies
require (Haneuse & Rotnitzky 2013), so ``x + 1 s.d.``, which moves 2-8% of the units of the
tests beyond every training value, warns. In ``sample()`` a shift acts on the model's own draws
of the node; the message says how many of them already lay outside. Values within ``1e-6``
range widths of an end count as inside (:func:`outside_range`). Discrete nodes (unknown levels
are refused) are not checked; image nodes by :mod:`deepcause.generative._image_support`.
A counterfactual can also leave the **joint** support of a node's parents while every value
stays inside its own range: it sets some parents and keeps each unit's own values of the
others (``do(X = 2)`` for a unit with a low ``Z`` when ``X`` grows with ``Z``), a combination
no training row was near. :class:`JointSupport` (fitted on every tabular node's training
parents) flags such units: outside the union of balls that reach from each reference training
row to its :data:`JOINT_SUPPORT_NEIGHBOURS`-th nearest other one (the support estimate of
Kynkäänniemi et al. 2019's precision and recall), in the parents' standardised units, among
the units whose parents each lie inside their training range (the others are the range rule's;
nodes with a single parent column are not checked: their joint support is that range). The
counterfactual warns, once per node, when more units are flagged than fresh draws of the
training distribution would be (the rate measured on held-out training rows, the same
beta-binomial rule and :data:`FRESH_DRAW_ALPHA`), and records the flagged units in the
result's ``attrs["off_support"]`` (:func:`note_off_support`). Saved models keep the reference
rows (:meth:`JointSupport.to_state`), so a loaded model checks the same way.

One query gives at most one warning per intervened node, a
:class:`~deepcause.exceptions.PositivityWarning` that names the node, the value or the share of
values outside, the observed range, and says that the answer is an extrapolation.

>>> import numpy as np
>>> from deepcause.generative._encoding import NodeSpec
>>> spec = NodeSpec("X", ["X"], False, mean=[0.0], std=[1.0], low=-2.5, high=2.8, n_obs=500)
>>> print(extrapolation_message(spec, -3.0))
do(X) = -3 lies outside the observed range [-2.5, 2.8] of 'X' (3 s.d. from the training mean): \
the answer is an extrapolation beyond the data the mechanisms were trained on
>>> extrapolation_message(spec, np.random.default_rng(0).normal(size=500)) is None
True
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
from scipy import stats

from .._torch import torch
from .._validation import user_stacklevel
from ..exceptions import PositivityWarning

__all__ = [
    "EXTRAPOLATION_SDS",
    "FAR_BEYOND_RANGE",
    "FRESH_DRAW_ALPHA",
    "SUPPORT_WARN_SHARE",
    "InputSupport",
    "JOINT_SUPPORT_NEIGHBOURS",
    "JointSupport",
    "note_off_support",
    "numeric_inputs",
    "extrapolation_message",
    "observed_range",
    "outside_range",
    "reference_split",
    "recording_extrapolation",
    "warn_extrapolation",
]

#: without a stored range: a hard value this many training s.d. from the mean is extrapolation
EXTRAPOLATION_SDS = 4.0
#: a per-unit array warns when fresh training draws would put this few units outside the range
FRESH_DRAW_ALPHA = 1e-3
#: ...or when a value lies beyond the observed range by more than this many range widths
FAR_BEYOND_RANGE = 1.0

#: joint support of a node's parents: the union of balls around reference training rows, each
#: reaching to its JOINT_SUPPORT_NEIGHBOURS-th nearest other reference row
JOINT_SUPPORT_NEIGHBOURS = 5
_JOINT_REFERENCE, _JOINT_CALIBRATION, _JOINT_MIN_ROWS, _JOINT_MAX_DIM = 2000, 1000, 200, 64

_TAIL = ": the answer is an extrapolation beyond the data the mechanisms were trained on"


def observed_range(values: np.ndarray) -> dict[str, Any]:
    """``{"low", "high", "n_obs"}`` of a scalar node's training values (``{}`` for vectors).

    Parameters
    ----------
    values : ndarray of shape (n, dim)
        The node's training values in original units.

    Returns
    -------
    dict
        The minimum, the maximum and the number of values, as JSON-friendly Python numbers;
        empty when ``dim > 1``.

    Examples
    --------
    >>> observed_range(np.array([[0.5], [-1.0], [2.0]]))
    {'low': -1.0, 'high': 2.0, 'n_obs': 3}
    >>> observed_range(np.zeros((3, 2)))
    {}
    """
    if values.ndim != 2 or values.shape[1] != 1:
        return {}
    return {"low": float(values.min()), "high": float(values.max()), "n_obs": int(len(values))}


def outside_range(spec: Any, values: Any) -> np.ndarray:
    """Distance of each value beyond the node's observed range (0 inside; ``(n,)`` floats).

    Values within ``1e-6`` range widths of an end count as inside: values that went through
    the model's float32 encoding come back that close to, not exactly at, the training extremes.

    Examples
    --------
    >>> from deepcause.generative._encoding import NodeSpec
    >>> spec = NodeSpec("X", ["X"], False, mean=[0.0], std=[1.0], low=-1.0, high=1.0, n_obs=9)
    >>> outside_range(spec, [-1.5, 0.0, 1.0 + 1e-9, 3.0]).tolist()
    [0.5, 0.0, 0.0, 2.0]
    """
    x = np.asarray(values, dtype=float).reshape(-1)
    beyond = np.maximum(spec.low - x, x - spec.high)
    return np.where(beyond > 1e-6 * (spec.high - spec.low), beyond, 0.0)


def extrapolation_message(
    spec: Any, value: Any, what: str | None = None, note: str = ""
) -> str | None:
    """Why ``value`` set on node ``spec`` is an extrapolation, or ``None`` if it is not.

    Parameters
    ----------
    spec : NodeSpec
        The node's fitted encoding (its observed range when recorded; see the module doc).
    value : float or array-like
        The value(s) set on the node in original units: one value, or one per unit.
    what : str, optional
        How the message names the intervention (default ``"do(<node>)"``).
    note : str, optional
        Appended to a per-unit message before its conclusion (a shift says how many of its
        input values already lay outside the range).

    Returns
    -------
    str or None
        The warning text (node, value or share of values, observed range); ``None`` for
        discrete and image nodes and for values the rule does not flag.

    Examples
    --------
    A per-unit array shifted so that a fifth of its units leave the range:

    >>> from deepcause.generative._encoding import NodeSpec
    >>> spec = NodeSpec("X", ["X"], False, mean=[0.0], std=[1.0], low=-3.0, high=3.0, n_obs=999)
    >>> x = np.random.default_rng(1).normal(size=1000)
    >>> extrapolation_message(spec, x) is None  # held-out units: 3 of 1,000 outside
    True
    >>> print(extrapolation_message(spec, x + 2.2, what="the shift do(X)"))
    the shift do(X) sets 195 of 1000 values (19.5%) outside the observed range [-3, 3] of 'X', \
where fresh draws of the training data would put about 0.2% (p = 7e-62); the farthest, 5.952, \
lies 0.49 range widths beyond it: the answer is an extrapolation beyond the data the mechanisms \
were trained on
    """
    if spec.discrete or spec.shape is not None or not spec.mean or not spec.std:
        return None
    what = what or f"do({spec.name})"
    arr = np.asarray(value, dtype=float).reshape(-1, len(spec.mean))
    if not arr.size:
        return None
    z = np.abs(arr - np.asarray(spec.mean)) / np.maximum(np.asarray(spec.std), 1e-12)
    if spec.low is None or spec.high is None or not spec.n_obs or arr.shape[1] != 1:
        if float(z.max()) <= EXTRAPOLATION_SDS:
            return None
        return (
            f"{what} sets values up to {float(z.max()):.3g} training standard deviations from the "
            f"mean of {spec.name!r} (mean {spec.mean[0]:.4g}, s.d. {spec.std[0]:.4g}; the model "
            "stores no observed range: a vector node, or saved before ranges were recorded)" + _TAIL
        )
    low, high, x = spec.low, spec.high, arr[:, 0]
    where = f"the observed range [{low:.4g}, {high:.4g}] of {spec.name!r}"
    beyond = outside_range(spec, x)
    if float(np.ptp(x)) == 0.0:  # one value, shared by every unit
        if beyond[0] <= 0:
            return None
        return (
            f"{what} = {x[0]:.4g} lies outside {where} ({float(z[0, 0]):.2g} s.d. from the "
            "training mean)" + _TAIL
        )
    k, n_out = len(x), int((beyond > 0).sum())
    if n_out == 0:
        return None
    p = _fresh_draw_p(k, n_out, 2, max(spec.n_obs - 1, 1))
    far = float(beyond.max()) / (high - low)
    if p >= FRESH_DRAW_ALPHA and far <= FAR_BEYOND_RANGE:
        return None
    return (
        f"{what} sets {n_out} of {k} values ({n_out / k:.1%}) outside {where}, where fresh draws "
        f"of the training data would put about {2 / (spec.n_obs + 1):.1%} ({_p_text(p)}); the "
        f"farthest, {float(x[np.argmax(beyond)]):.4g}, lies {far:.2g} range widths beyond it"
        + note
        + _TAIL
    )


def _fresh_draw_p(k: int, n_out: int, a: float, b: float) -> float:
    """``P(K >= n_out)`` for ``K`` of ``k`` fresh draws beyond a boundary crossed with
    probability ``Beta(a, b)`` (beta-binomial), accurate below ``1e-9`` too (where ``sf = 1 -
    cdf`` bottoms out near ``1e-13``: the pmf is summed instead).

    >>> round(_fresh_draw_p(10, 0, 1, 1), 3), _fresh_draw_p(1000, 900, 2, 999) < 1e-300
    (1.0, True)
    """
    law = stats.betabinom(k, a, b)
    p = float(law.sf(n_out - 1))
    if p < 1e-9:
        p = float(law.pmf(np.arange(n_out, k + 1)).sum())
    return p


def _p_text(p: float) -> str:
    return f"p = {p:.1g}" if p >= 1e-300 else "p < 1e-300"


def warn_extrapolation(spec: Any, value: Any, what: str | None = None, note: str = "") -> None:
    """Warn (:class:`~deepcause.exceptions.PositivityWarning`) when ``value`` extrapolates.

    Parameters
    ----------
    spec : NodeSpec
        The node's fitted encoding.
    value : float or array-like
        The value(s) set on the node (see :func:`extrapolation_message`).
    what : str, optional
        How the message names the intervention.
    note : str, optional
        See :func:`extrapolation_message`.

    Examples
    --------
    >>> import warnings
    >>> from deepcause.generative._encoding import NodeSpec
    >>> spec = NodeSpec("X", ["X"], False, mean=[0.0], std=[1.0])  # saved without a range
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_extrapolation(spec, 5.0)
    ...     warn_extrapolation(spec, 3.0)  # within 4 s.d.: the former rule stays silent
    >>> len(caught), caught[0].category.__name__
    (1, 'PositivityWarning')
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    do(X) sets values up to 5 training standard deviations from the mean of 'X' ...
    """
    message = extrapolation_message(spec, value, what, note)
    if message is not None:
        warnings.warn(message, PositivityWarning, stacklevel=user_stacklevel())


@contextlib.contextmanager
def recording_extrapolation() -> Iterator[list[str]]:
    """Collect the block's extrapolation warnings as messages instead of showing them.

    Yields a list that receives the message of every
    :class:`~deepcause.exceptions.PositivityWarning` raised in the block (for a report or a
    benchmark column); any other warning is passed on unchanged.

    Examples
    --------
    >>> from deepcause.generative._encoding import NodeSpec
    >>> spec = NodeSpec("X", ["X"], False, mean=[0.0], std=[1.0], low=-1.0, high=1.0, n_obs=9)
    >>> with recording_extrapolation() as notes:
    ...     warn_extrapolation(spec, 2.0)
    >>> len(notes), notes[0][:48]
    (1, 'do(X) = 2 lies outside the observed range [-1, 1')
    """
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PositivityWarning)
        yield notes
    for w in caught:
        if issubclass(w.category, PositivityWarning):
            notes.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def reference_split(n: int, random_state: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Row indices ``(reference, calibration)`` of ``n`` training rows for a support check: up to
    1,000 (at most a quarter) calibration rows, up to 2,000 reference rows among the others.

    >>> ref, cal = reference_split(1000, random_state=0)
    >>> len(ref), len(cal), len(set(ref.tolist()) & set(cal.tolist()))
    (750, 250, 0)
    """
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(random_state)))
    n_cal = min(_JOINT_CALIBRATION, n // 4)
    return perm[n_cal:][:_JOINT_REFERENCE], perm[:n_cal]


class JointSupport:
    """The joint support of one node's parents, from the contexts its mechanism trained on.

    A counterfactual sets some of a node's parents and keeps the unit's own values of the
    others, so every parent can lie inside its observed range while the combination lies where
    no training row was (a unit with a low ``Z`` pushed to ``do(X = 2)`` when ``X`` grows with
    ``Z``): the mechanism then extrapolates, and the range rule above cannot see it. ``fit``
    keeps up to 2,000 training contexts as reference points (parents as the mechanism sees them,
    each column divided by its s.d. over the reference), each with a ball reaching to its
    :data:`JOINT_SUPPORT_NEIGHBOURS`-th nearest other reference point, and counts how many of
    up to 1,000 other training rows fall outside every ball (``n_beyond`` of ``n_cal``), so a
    fresh draw of the training distribution falls outside with a probability whose law is
    ``Beta(n_beyond + 1, n_cal - n_beyond + 1)``. :meth:`message` warns when more
    units lie beyond than such fresh draws would put there (beta-binomial tail probability below
    :data:`FRESH_DRAW_ALPHA`, as the range rule). ``fit`` returns ``None`` (no check) for root
    nodes, one-column contexts (the joint support of one parent is its range: the range rule's),
    fewer than 200 rows or contexts of more than 64 columns (image parents). Units with a parent
    outside its training range are left to the range rule (warned once, not twice).

    Examples
    --------
    ``X`` follows ``Z`` closely; ``do(X = 2)`` puts every unit with a low ``Z`` where no
    training row was, while ``do(X = 0)`` does so only for the units of extreme ``Z``:

    >>> g = torch.Generator().manual_seed(0)
    >>> z = torch.randn(3000, 1, generator=g)
    >>> x = z + 0.3 * torch.randn(3000, 1, generator=g)
    >>> sup = JointSupport.fit(torch.cat([x, z], 1), random_state=0)
    >>> z_new = torch.randn(1000, 1, generator=g)
    >>> off = sup.off_support(torch.cat([torch.full_like(z_new, 2.0), z_new], 1))
    >>> round(float(off.float().mean()), 1)
    0.9
    >>> print(sup.message("Y", ["X", "Z"], off))  # doctest: +ELLIPSIS
    the counterfactual puts the parents (X, Z) of 'Y' off their joint support in the training \
data for 894 of 1000 units (89.4%; fresh draws of the training data: about 0.7%, p < 1e-300): a combination of values no training row was near: the answer \
is an extrapolation beyond the data the mechanisms were trained on
    >>> sup.message("Y", ["X", "Z"], sup.off_support(torch.cat([x[:1000], z[:1000]], 1))) is None
    True
    """

    _TENSORS = ("reference", "scale", "radius", "low", "high")

    def __init__(
        self,
        reference: torch.Tensor,
        scale: torch.Tensor,
        radius: torch.Tensor,
        low: torch.Tensor,
        high: torch.Tensor,
        n_cal: int = 0,
        n_beyond: int = 0,
    ) -> None:
        self.reference, self.scale, self.radius = reference, scale, radius  # standardised rows
        self.low, self.high = low, high  # each parent column's training range
        self.n_cal, self.n_beyond = int(n_cal), int(n_beyond)  # calibration: rows outside

    @classmethod
    def fit(cls, context: torch.Tensor, random_state: int = 0) -> JointSupport | None:
        """The support of the rows of ``context`` ``(n, d)``, or ``None`` when not checked."""
        n, d = context.shape
        if d < 2 or d > _JOINT_MAX_DIM or n < _JOINT_MIN_ROWS:
            return None
        reference, calibration = reference_split(n, random_state)
        ranges = context.detach().float().cpu().aminmax(dim=0)
        return cls.from_split(context[reference], context[calibration], ranges=ranges)

    @classmethod
    def from_split(
        cls,
        reference: torch.Tensor,
        calibration: torch.Tensor,
        ranges: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> JointSupport:
        """The support of the ``reference`` rows, its false-alarm rate counted on the
        ``calibration`` rows (other training rows); ``ranges``: the columns' training ``(low,
        high)`` (default: over the given rows)."""
        ref = reference.detach().float().cpu()
        scale = ref.std(0).clamp_min(1e-6)
        ref = ref / scale
        k = min(JOINT_SUPPORT_NEIGHBOURS + 1, len(ref))  # the point itself is its nearest
        radius = torch.cat([torch.cdist(c, ref).kthvalue(k, 1).values for c in ref.split(2048)])
        if ranges is None:
            ranges = torch.cat([reference, calibration]).detach().float().cpu().aminmax(dim=0)
        low, high = ranges
        sup = cls(ref, scale, radius, low, high, len(calibration))
        sup.n_beyond = int(sup.off_support(calibration).sum())
        return sup

    def to_state(self) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
        """``(tensors, counts)`` for a saved model; :meth:`from_state` rebuilds the check.

        >>> x = torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
        >>> sup = JointSupport.fit(x)
        >>> back = JointSupport.from_state(*sup.to_state())
        >>> bool((back.off_support(x * 3) == sup.off_support(x * 3)).all())
        True
        """
        counts = {"n_cal": self.n_cal, "n_beyond": self.n_beyond}
        return {k: getattr(self, k) for k in self._TENSORS}, counts

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], counts: dict[str, int]) -> JointSupport:
        """The check saved by :meth:`to_state`."""
        return cls(*(tensors[k].float() for k in cls._TENSORS), **counts)

    def excess(self, context: torch.Tensor) -> torch.Tensor:
        """``(n,)``: how far each row of ``context`` lies beyond the nearest reference row's
        ball, in the standardised units (negative inside a ball)."""
        x = context.detach().float().cpu() / self.scale
        return torch.cat(
            [(torch.cdist(c, self.reference) - self.radius).amin(1) for c in x.split(2048)]
        )

    def off_support(self, context: torch.Tensor) -> torch.Tensor:
        """Boolean ``(n,)``: the rows of ``context`` inside every column's training range (the
        range rule's business otherwise) but inside no reference row's ball."""
        far = self.excess(context) > 0
        x = context.detach().float().cpu()
        tol = 1e-6 * (self.high - self.low)
        return far & ((x >= self.low - tol) & (x <= self.high + tol)).all(1)

    def fresh_draw_p(self, off: torch.Tensor) -> tuple[float, float]:
        """``(p, rate)``: the probability that fresh draws of the training data flag at least
        as many rows as ``off`` does (beta-binomial over the calibrated rate), and that rate."""
        a, b = self.n_beyond + 1, self.n_cal - self.n_beyond + 1
        n_off = int(off.sum())
        return (_fresh_draw_p(int(off.numel()), n_off, a, b) if n_off else 1.0), a / (a + b)

    def message(self, node: str, parents: list[str], off: torch.Tensor) -> str | None:
        """The warning for the units flagged in ``off``, or ``None`` when fresh draws of the
        training data would flag that many (tail probability at least ``FRESH_DRAW_ALPHA``)."""
        k, n_off = int(off.numel()), int(off.sum())
        p, rate = self.fresh_draw_p(off)
        if p >= FRESH_DRAW_ALPHA:  # (no unit flagged: p = 1)
            return None
        return (
            f"the counterfactual puts the parents ({', '.join(parents)}) of {node!r} off their "
            f"joint support in the training data for {n_off} of {k} units ({n_off / k:.1%}; "
            f"fresh draws of the training data: about {rate:.1%}, {_p_text(p)}): a "
            "combination of values no training row was near" + _TAIL
        )


def note_off_support(
    node: str, parents: list[str], mech: Any, context: torch.Tensor, record: dict[str, Any]
) -> None:
    """Warn when a counterfactual's ``context`` for ``node`` leaves its parents' joint support.

    ``mech.joint_support_`` (a :class:`JointSupport`, set when the model was fitted and
    kept by saved models; ``None`` for nodes that are not checked) decides; a warning (:class:`~deepcause.exceptions.PositivityWarning`, one
    per node) is recorded in ``record[node]`` as ``{"share", "units"}`` (the flagged units,
    a boolean array) for the result's ``attrs["off_support"]``.

    Examples
    --------
    >>> class Mech:
    ...     joint_support_ = None  # a node that is not checked (e.g. one parent)
    >>> rec = {}
    >>> note_off_support("Y", ["X"], Mech(), torch.zeros(3, 1), rec)
    >>> rec
    {}
    """
    sup = getattr(mech, "joint_support_", None)
    if sup is None:
        return
    off = sup.off_support(context)
    message = sup.message(node, parents, off)
    if message is not None:
        record[node] = {"share": float(off.float().mean()), "units": off.numpy()}
        warnings.warn(message, PositivityWarning, stacklevel=user_stacklevel())


#: ID-GEN warns when more than this share of a generator's inputs lie outside its training
#: inputs (and more than fresh draws of the training inputs would put there)
SUPPORT_WARN_SHARE = 0.02


class InputSupport:
    """Where a conditional generator's inputs were seen: Mahalanobis distances of the training
    inputs, and the share of new inputs beyond their 99.9% quantile.

    A fresh draw of the training inputs lies beyond that quantile with probability
    ``Beta(n_beyond + 1, n - n_beyond + 1)`` (``n_beyond`` of the ``n`` training inputs do; about
    0.1% by construction). :meth:`message` reports a share that is both above
    :data:`SUPPORT_WARN_SHARE` and above what fresh draws give (beta-binomial tail probability
    below :data:`FRESH_DRAW_ALPHA`). The 2% was chosen on 108 ID-GEN queries against simulator
    truth (``bench_generative.md``, "ID-GEN off-support warning"; six SCMs, two seeds, do
    values -2 to 2): of the 36 with more than 2% of a factor's inputs outside at sampling, 14
    were more than 0.15 s.d. off the truth (every biased front-door query of the tabular audit
    among them) and 13 within 0.10; of the 72 others, 60 were within 0.10 and 6 beyond 0.15
    (a mediator model off at every value with at most 0.1% outside, a fit error, and its
    do(X = 1.5) at 1.0-1.5%). Any threshold from 1.5% to 2.6% splits them the same way; the
    former 20% flagged 3. Extrapolation makes an answer unreliable, not necessarily wrong.

    >>> rng = np.random.default_rng(0)
    >>> w1 = rng.normal(size=2000)
    >>> support = InputSupport(np.c_[w1, w1 + 0.1 * rng.normal(size=2000)])
    >>> support.share_outside(np.c_[w1, w1])  # on the diagonal: inside
    0.0
    >>> support.share_outside(np.c_[w1, rng.normal(size=2000)]) > 0.5  # independent: outside
    True
    >>> support.message("P(Y | M, X)", ["M", "X"], 0.03, 50) is None  # 1.5 of 50: chance
    True
    >>> print(support.message("P(Y | M, X)", ["M", "X"], 0.03, 4000))  # doctest: +ELLIPSIS
    ID-GEN evaluates P(Y | M, X) at values of ['M', 'X'] outside the training data for 3.0% of \
the samples (fresh draws of the training inputs: about 0.1%, p = ...
    """

    def __init__(self, X: np.ndarray) -> None:
        self.mean = X.mean(axis=0)
        self.precision = np.linalg.pinv(np.atleast_2d(np.cov(X, rowvar=False)))
        distance = self._distance(X)
        self.threshold = float(np.quantile(distance, 0.999))
        self.n, self.n_beyond = len(X), int((distance > self.threshold).sum())

    def _distance(self, X: np.ndarray) -> np.ndarray:
        D = X - self.mean
        return np.einsum("ij,jk,ik->i", D, self.precision, D)

    def share_outside(self, X: np.ndarray) -> float:
        return float(np.mean(self._distance(X) > self.threshold))

    def message(self, what: Any, names: list[str], share: float, k: int) -> str | None:
        """The warning for ``k`` inputs of the generator of ``what`` (inputs ``names``) of which
        ``share`` lie outside, or ``None`` (see the class doc for the rule)."""
        if share <= SUPPORT_WARN_SHARE:
            return None
        a, b = self.n_beyond + 1, self.n - self.n_beyond + 1
        p = _fresh_draw_p(k, round(share * k), a, b)
        if p >= FRESH_DRAW_ALPHA:
            return None
        return (
            f"ID-GEN evaluates {what} at values of {names} outside the training data for "
            f"{share:.1%} of the samples (fresh draws of the training inputs: about "
            f"{a / (a + b):.1%}, {_p_text(p)}; beyond the 99.9% quantile of the inputs' "
            "Mahalanobis distances): positivity is weak there and the samples rest on "
            "extrapolation (the share is in the result's attrs['off_support']); a district-wise "
            "CausalGenerativeModel may be more reliable"
        )


def numeric_inputs(data: Mapping[str, np.ndarray], inputs: Iterable[str]) -> list[str]:
    """The tabular inputs whose values are numbers (bool, integer, float), sorted: those the
    support check reads (strings and other labels are left out).

    >>> numeric_inputs({"a": np.zeros(2), "c": np.array(["x", "y"]), "i": np.zeros((2, 1, 4, 4))},
    ...                 ["i", "c", "a"])
    ['a']
    """
    return sorted(k for k in inputs if data[k].ndim == 1 and data[k].dtype.kind in "biuf")
