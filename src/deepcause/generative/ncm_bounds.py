"""Bounds from neural causal models (Xia, Lee, Bengio & Bareinboim 2021): :class:`NCMBounds`.

The model class: a neural causal model (NCM) of the graph. Every district (c-component) ``D``
with a bidirected edge gets one latent ``u_D`` shared by its nodes -- as in the latent
projection, one latent per district may confound all of its nodes -- and the latents of
different districts are independent. Each node is a neural mechanism of its parents and its
district's latent: a categorical distribution ``p(v | pa_v, u_D)`` for a discrete node,
``v = mu(pa_v, u_D) + sigma(pa_v, u_D) * e_v`` with ``e_v ~ N(0, 1)`` for a continuous one. The
outputs (logits, or ``mu`` and ``log sigma``) come from an MLP when a parent is continuous and
from a learned table indexed by the parents' values and the latent state otherwise (the same
model class; a table is far better conditioned than an MLP on one-hot inputs, which in our
tests left fit errors of L1 ~ 0.05 that shifted the endpoints by as much). The latent ``u_D`` takes ``K`` states with learned probabilities (a finite
mixture). For discrete variables this loses nothing: the compatible models form a polytope
whose vertices put mass on at most (number of cells + 1) joint response types, and every
mechanism ``p(v | pa, u)`` is a mixture of deterministic response functions, so ``K = cells + 1``
states reach the sharp bounds (the default is at least that, up to 64, and at least 32: spare
states make the extremes easier to reach). The finite latent also keeps the
likelihood and the query exact -- no Monte-Carlo error -- for discrete data; continuous nodes
are integrated by reparameterised sampling. A continuous outcome's mean ``E[Y | do(t)]`` is
bounded only under a bounded support: as for Manski's bounds, ``Y`` is assumed to stay within
its observed range (the query clips it there).

The optimisation (two models, one per endpoint)::

    minimise over theta   NLL_theta(data) + s * lambda_t * Q_theta      s = +1 (lower), -1 (upper)

where ``NLL`` is the negative log-likelihood per unit of the observed data (for discrete data
the cross-entropy to the observed table, i.e. ``KL(P_data || P_theta)`` up to a constant; the
observed distribution factorises into the districts' factors, each a mixture over its latent)
and ``Q`` is the query, ``P(outcome | do(t))`` or ``E[Y | do(t)]`` or a difference of two,
computed exactly by enumerating the latent states and discrete values under the intervention.
Both models start from one model fitted with ``lambda = 0`` (``warmup`` steps of Adam, like
the rest). ``lambda_t`` then decays geometrically from ``lambda_start`` (0.2) to ``lambda_end``
(0.001) over the first ``anneal`` fraction (85%) of ``max_steps`` (as in Xia et al.: a strong
push towards the extreme first, then the data fit dominates; Adam keeps moving along the set of
models that fit equally well even when ``lambda`` is small), and is 0 for the remaining steps: a
fit-only polish that pulls the model back onto the data, towards the inside of the sharp
interval, rather than letting it trade fit for a more extreme value.

Stopping rule: at most ``max_steps`` steps per endpoint; during the polish the run stops early
once the data-fit loss has changed by less than ``tol`` over the last ``patience`` steps. The
endpoints are the query values of the two final models (exact for discrete data; ``n_eval``
Monte-Carlo draws otherwise).

How the interval relates to the sharp one: each trained model is an SCM of the graph, so when
it reproduces the data exactly its query value is one of the compatible values, and the
interval of the two models lies inside the sharp bounds -- an inner approximation, up to
the fit error (a model that misfits the data by ``e`` can exceed the sharp bounds by an amount
that vanishes with ``e``) and short of the sharp endpoints by the optimisation's shortfall. The
fit is reported: the L1 distance between each model's ``P(v)`` and the observed distribution
for discrete data (the ``misfit`` of the :class:`~deepcause.identification.bounds.Bounds`),
the log-likelihood per unit of each model otherwise.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"X": [0, 0, 1, 1], "Y": [0, 1, 0, 1],
...                       "probability": [0.3, 0.2, 0.1, 0.4]})
>>> lo, hi, misfit, notes = NCMBounds()(
...     "X -> Y; X <-> Y", table, [(1.0, {"X": 1}, {"Y": 1})], random_state=0)
>>> bool(0.4 <= lo < 0.45 and 0.85 < hi <= 0.9 and misfit < 0.01)  # sharp: [0.4, 0.9]
True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._torch import mlp, seed_from, seeded
from .._validation import require_columns, require_dataframe
from ..exceptions import DataValidationError, QueryError
from ..graph.causal_graph import CausalGraph, as_graph
from ._encoding import is_discrete_column

__all__ = ["NCMBounds", "MEAN"]

PROB = "probability"
MEAN = "mean"  # outcome={"Y": "mean"}: the query is E[Y | do(t)] (continuous outcomes)
MAX_ROWS = 400_000  # enumerated (latent state x discrete value x draw) rows of one query

# (sign, do: {node: value}, outcome: {node: value or "mean"}), values in the data's units
Term = tuple[float, Mapping[str, Any], Mapping[str, Any]]


# ---------------------------------------------------------------------------- encoding
@dataclass(frozen=True)
class _Node:
    """How one variable is encoded: level indices (discrete) or standardised values."""

    levels: tuple[Any, ...] | None
    loc: float = 0.0
    scale: float = 1.0
    low: float = -math.inf  # observed range, standardised (the assumed support of a
    high: float = math.inf  # continuous outcome)

    @property
    def width(self) -> int:
        return 1 if self.levels is None else len(self.levels)

    def encode(self, values: pd.Series) -> torch.Tensor:
        if self.levels is None:
            arr = (values.to_numpy(dtype=float) - self.loc) / self.scale
            return torch.as_tensor(arr, dtype=torch.float32)
        codes = pd.Categorical(values, categories=list(self.levels)).codes
        return torch.as_tensor(codes.astype(np.int64))

    def value(self, name: str, value: Any, role: str) -> float | int:
        """The encoded scalar of a treatment or outcome value (refusing unknown levels)."""
        if self.levels is None:
            try:
                return (float(value) - self.loc) / self.scale
            except (TypeError, ValueError):
                raise QueryError(f"{role} {name}={value!r} must be a number") from None
        hits = [i for i, lv in enumerate(self.levels) if lv == value or str(lv) == str(value)]
        if not hits:
            raise QueryError(f"{role} {name}={value!r} is not a value of {name} in the data "
                             f"(values: {list(self.levels)}); use one of those")  # fmt: skip
        return hits[0]


@dataclass
class _Data:
    nodes: dict[str, _Node]
    rows: dict[str, torch.Tensor]  # observed cells (discrete) or units
    weights: torch.Tensor  # sum to 1
    n: int | None  # sample size (None for a probability table)

    @property
    def discrete(self) -> bool:
        return all(node.levels is not None for node in self.nodes.values())


def _levels(col: pd.Series) -> tuple[Any, ...]:
    values = pd.unique(col).tolist()
    try:
        return tuple(sorted(values))
    except TypeError:
        return tuple(sorted(values, key=str))


def _encode_data(df: pd.DataFrame, order: Sequence[str]) -> _Data:
    """Samples or a probability table -> observed rows with weights (cells for discrete data)."""
    require_columns(df, order, role="graph node")
    if df[list(order)].isna().any().any():
        raise DataValidationError("the data have missing values; drop or impute them first")
    if len(df) == 0:
        raise DataValidationError("the data has no rows; pass samples or a probability table")
    table = PROB in df.columns and PROB not in order
    if table:
        w = pd.to_numeric(df[PROB], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(w)) or (w < 0).any() or abs(w.sum() - 1) > 1e-6:
            raise DataValidationError("column 'probability' must hold non-negative "
                                      "probabilities summing to 1; normalise it")  # fmt: skip
        df = df.assign(**{PROB: w}).groupby(list(order), as_index=False)[PROB].sum()
    nodes = {}
    for v in order:
        col = df[v]
        if table or is_discrete_column(col):
            nodes[v] = _Node(_levels(col))
        else:
            mean, sd = float(col.mean()), float(col.std()) or 1.0
            lo, hi = (float(col.min()) - mean) / sd, (float(col.max()) - mean) / sd
            nodes[v] = _Node(None, mean, sd, lo, hi)
    n = None if table else len(df)
    if not table and all(node.levels is not None for node in nodes.values()):
        df = df.groupby(list(order), as_index=False).size().rename(columns={"size": PROB})
        df[PROB] = df[PROB] / n
    weights = df[PROB].to_numpy(dtype=float) if PROB in df.columns else np.full(len(df), 1 / n)
    rows = {v: nodes[v].encode(df[v]) for v in order}
    return _Data(nodes, rows, torch.tensor(weights, dtype=torch.float32), n)


# ---------------------------------------------------------------------------- the model
class _NCM(nn.Module):
    """One mechanism per node; one latent with ``states`` values per confounded district."""

    def __init__(self, graph: CausalGraph, nodes: Mapping[str, _Node], states: int,
                 hidden: tuple[int, ...]) -> None:  # fmt: skip
        super().__init__()
        self.order = [v for v in graph.topological_order() if v in nodes]
        self.nodes = dict(nodes)
        self.parents = {v: [p for p in self.order if p in graph.parents(v)] for v in self.order}
        districts = [sorted(d, key=self.order.index) for d in graph.districts()]
        self.districts = [d for d in districts if d[0] in nodes]
        self.states = [states if len(d) > 1 else 1 for d in self.districts]
        self.district_of = {v: j for j, d in enumerate(self.districts) for v in d}
        self.latent_logits = nn.ParameterList(nn.Parameter(torch.zeros(k)) for k in self.states)
        self.nets = nn.ModuleDict()  # MLP mechanisms (a node with a continuous parent)
        self.tables = nn.ParameterDict()  # outputs per (parent values, latent state) otherwise
        for v in self.order:
            out = 2 if self.nodes[v].levels is None else self.nodes[v].width
            widths = [self.nodes[p].width for p in self.parents[v]]
            if any(self.nodes[p].levels is None for p in self.parents[v]):
                width = sum(widths) + (self.states[self.district_of[v]] if self._latent(v) else 0)
                self.nets[v] = mlp(width, hidden, out, activation="silu")
            else:  # random start: the latent states must differ to be told apart
                configs = int(np.prod(widths)) * self.states[self.district_of[v]]
                self.tables[v] = nn.Parameter(torch.randn(configs, out))

    def _latent(self, v: str) -> bool:
        return self.states[self.district_of[v]] > 1

    def _output(self, v: str, values: Mapping[str, torch.Tensor], m: torch.Tensor | None,
                rows: int) -> torch.Tensor:  # fmt: skip
        if v in self.tables:  # the row of the table: parent values, then the latent state
            key = m if self._latent(v) else torch.zeros(rows, dtype=torch.int64)
            for p in reversed(self.parents[v]):
                key = key * self.nodes[p].width + values[p]
            return self.tables[v][key]
        parts = []
        for p in self.parents[v]:
            node, x = self.nodes[p], values[p]
            parts.append(
                x[:, None] if node.levels is None else nn.functional.one_hot(x, node.width)
            )
        if self._latent(v):
            parts.append(nn.functional.one_hot(m, self.states[self.district_of[v]]))
        return self.nets[v](torch.cat([p.float() for p in parts], 1))

    def log_factor(self, v: str, values: Mapping[str, torch.Tensor], m: torch.Tensor | None,
                   rows: int) -> torch.Tensor:  # fmt: skip
        """``log p(values[v] | parents, latent state m)`` per row."""
        out = self._output(v, values, m, rows)
        if self.nodes[v].levels is not None:
            return torch.log_softmax(out, 1).gather(1, values[v][:, None]).squeeze(1)
        mu, log_sd = out[:, 0], out[:, 1].clamp(-6.0, 3.0)
        return -0.5 * ((values[v] - mu) / log_sd.exp()) ** 2 - log_sd - 0.5 * math.log(2 * math.pi)

    def log_lik(self, values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``log P(v)`` per row: the sum over districts of the log of the latent mixture."""
        rows = next(iter(values.values())).shape[0]
        total = torch.zeros(rows)
        for j, district in enumerate(self.districts):
            k = self.states[j]
            rep = {v: t.repeat(k) for v, t in values.items()}
            m = torch.arange(k).repeat_interleave(rows)
            lp = sum(self.log_factor(v, rep, m, rows * k) for v in district)
            lp = lp.reshape(k, rows) + torch.log_softmax(self.latent_logits[j], 0)[:, None]
            total = total + torch.logsumexp(lp, 0)
        return total

    def expectation(self, do: Mapping[str, float | int], outcome: Mapping[str, Any],
                    draws: int, gen: torch.Generator) -> torch.Tensor:  # fmt: skip
        """``E[f(outcome) | do]`` by enumerating latent states and discrete values (``draws``
        reparameterised draws of the continuous nodes); ``f`` is the event's indicator or the
        standardised value of a ``"mean"`` outcome."""
        free = [v for v in self.order if v not in do]
        latent = [j for j, d in enumerate(self.districts)
                  if self.states[j] > 1 and any(v in free for v in d)]  # fmt: skip
        discrete = [v for v in free if self.nodes[v].levels is not None]
        draws = draws if len(discrete) < len(free) else 1
        sizes = [self.states[j] for j in latent] + [self.nodes[v].width for v in discrete]
        total = int(np.prod(sizes)) * draws
        if total > MAX_ROWS:
            raise QueryError(f"the neural-causal-model query enumerates {total} rows (latent "
                             f"states x discrete values); use fewer latent_states or "
                             f"discretise coarser")  # fmt: skip
        grid = torch.as_tensor(np.indices(sizes + [draws]).reshape(len(sizes) + 1, -1))
        rows = grid.shape[1]
        states = {j: grid[i] for i, j in enumerate(latent)}
        log_w = sum((torch.log_softmax(self.latent_logits[j], 0)[s] for j, s in states.items()),
                    torch.zeros(rows))  # fmt: skip
        values: dict[str, torch.Tensor] = {}
        for v in self.order:
            m = states.get(self.district_of[v])
            if v in do:
                dtype = torch.float32 if self.nodes[v].levels is None else torch.int64
                values[v] = torch.full((rows,), do[v], dtype=dtype)
            elif v in discrete:
                values[v] = grid[len(latent) + discrete.index(v)]
                log_w = log_w + self.log_factor(v, values, m, rows)
            else:
                out = self._output(v, values, m, rows)
                eps = torch.randn(rows, generator=gen)
                values[v] = out[:, 0] + out[:, 1].clamp(-6.0, 3.0).exp() * eps
        f = torch.ones(rows)
        for y, target in outcome.items():
            if target is MEAN:  # the support is assumed to be the observed range
                f = f * values[y].clamp(self.nodes[y].low, self.nodes[y].high)
            else:
                f = f * (values[y] == target).float()
        return (log_w.exp() * f).sum() / draws


# ---------------------------------------------------------------------------- the query
@dataclass(frozen=True)
class _Query:
    terms: list[tuple[float, dict[str, float | int], dict[str, Any]]]  # encoded
    scale: float  # data units per standardised unit of the value (1 for events)
    offset: float  # added in data units (the outcome's mean for a single "mean" term)

    def value(self, model: _NCM, draws: int, gen: torch.Generator) -> torch.Tensor:
        """The query in standardised units (differentiable)."""
        return sum((s * model.expectation(do, o, draws, gen) for s, do, o in self.terms),
                   torch.zeros(()))  # fmt: skip


def _encode_query(data: _Data, terms: Sequence[Term]) -> _Query:
    encoded, scale, offset = [], 1.0, 0.0
    for sign, do, outcome in terms:
        for name in [*do, *outcome]:
            if name not in data.nodes:
                raise QueryError(f"{name!r} is not a variable of the graph's data "
                                 f"({sorted(data.nodes)})")  # fmt: skip
        e_do = {v: data.nodes[v].value(v, x, "treatment") for v, x in do.items()}
        e_out: dict[str, Any] = {}
        for y, target in outcome.items():
            node = data.nodes[y]
            if node.levels is None and not (isinstance(target, str) and target == MEAN):
                raise QueryError(f"outcome {y} is continuous: ask for its mean with "
                                 f"outcome={{{y!r}: 'mean'}}, or discretise it")  # fmt: skip
            if node.levels is None:
                if len(outcome) > 1:
                    raise QueryError("a 'mean' outcome must be the only outcome variable")
                e_out[y], scale = MEAN, node.scale
                offset = node.loc if len(terms) == 1 else 0.0
            else:
                e_out[y] = node.value(y, target, "outcome")
        encoded.append((float(sign), e_do, e_out))
    return _Query(encoded, scale, offset)


# ---------------------------------------------------------------------------- the solver
@dataclass(frozen=True)
class _Run:
    query: float  # data units
    nll: float  # per unit
    l1: float | None  # L1 distance of P_theta(v) to the data (discrete data)
    steps: int


class NCMBounds:
    """Neural-causal-model bounds on a causal query (the module docstring states the method).

    Calling an instance with ``(graph, data, terms, random_state)`` trains the two models and
    returns ``(lower, upper, misfit, notes)``; :func:`deepcause.bounds` does so for
    ``method="ncm"``. ``terms`` is a list of ``(sign, do, outcome)``: the query is
    ``sum(sign * P(outcome | do(do)))``, with ``outcome={"Y": "mean"}`` for ``E[Y | do]``.

    Parameters
    ----------
    latent_states : states of each confounded district's latent (``None``: 32, or cells + 1
        up to 64, for discrete data; 16 with continuous variables).
    hidden_sizes : widths of each mechanism's MLP.
    max_steps, warmup : Adam steps per endpoint, and shared fit-only steps before them.
    lambda_start, lambda_end, anneal : the query weight decays geometrically from
        ``lambda_start`` to ``lambda_end`` over the first ``anneal`` fraction of ``max_steps``.
    patience, tol : the early stop of the fit-only polish (see the module docstring).
    learning_rate, batch_size : Adam; minibatch of units for continuous data.
    draws, n_eval : reparameterised draws of the continuous nodes per query in training, and
        for the reported endpoints.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> u = rng.normal(size=2000)
    >>> x = (u + rng.normal(size=2000) > 0).astype(int)
    >>> df = pd.DataFrame({"X": x, "Y": x + u + 0.5 * rng.normal(size=2000)})
    >>> lo, hi, _, notes = NCMBounds(max_steps=150, warmup=100)(
    ...     "X -> Y; X <-> Y", df, [(1.0, {"X": 1}, {"Y": "mean"})], random_state=0)
    >>> bool(lo < df.Y[df.X == 1].mean() < hi)
    True
    """

    def __init__(
        self,
        *,
        latent_states: int | None = None,
        hidden_sizes: tuple[int, ...] = (32, 32),
        max_steps: int = 1000,
        warmup: int = 200,
        lambda_start: float = 0.2,
        lambda_end: float = 1e-3,
        anneal: float = 0.85,
        patience: int = 100,
        tol: float = 1e-5,
        learning_rate: float = 2e-2,
        batch_size: int = 512,
        draws: int = 64,
        n_eval: int = 4096,
    ) -> None:
        self.latent_states = latent_states
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.max_steps, self.warmup = int(max_steps), int(warmup)
        self.lambda_start, self.lambda_end, self.anneal = lambda_start, lambda_end, anneal
        self.patience, self.tol = int(patience), float(tol)
        self.learning_rate, self.batch_size = float(learning_rate), int(batch_size)
        self.draws, self.n_eval = int(draws), int(n_eval)
        if not (self.max_steps >= 1 and self.warmup >= 0 and 0 < lambda_end <= lambda_start
                and 0 < anneal <= 1 and self.patience >= 1 and self.draws >= 1):  # fmt: skip
            raise QueryError("NCMBounds needs max_steps >= 1, warmup >= 0, 0 < lambda_end <= "
                             "lambda_start, 0 < anneal <= 1, patience >= 1, draws >= 1")  # fmt: skip

    def __call__(self, graph: CausalGraph | str, data: pd.DataFrame, terms: Sequence[Term],
                 random_state: Any = None) -> tuple[float, float, float, list[str]]:  # fmt: skip
        g = as_graph(graph)
        data_ = _encode_data(require_dataframe(data), g.topological_order())
        query = _encode_query(data_, terms)
        cells = int(np.prod([n.width for n in data_.nodes.values()])) if data_.discrete else 0
        states = self.latent_states or (min(64, max(32, cells + 1)) if data_.discrete else 16)
        seed = seed_from(random_state) % (2**62)
        with seeded(seed):
            base = _NCM(g, data_.nodes, states, self.hidden_sizes)
        gen = torch.Generator().manual_seed(seed)
        self._fit(base, data_, query, 0.0, self.warmup, gen)
        runs = []
        for sign in (1.0, -1.0):
            model = copy.deepcopy(base)
            steps = self._fit(model, data_, query, sign, self.max_steps, gen)
            runs.append(self._evaluate(model, data_, query, steps, gen))
        lo, hi = sorted((runs[0].query, runs[1].query))
        return lo, hi, max(r.l1 or 0.0 for r in runs), self._notes(runs, states, data_)

    def _lambda(self, step: int) -> float:
        """Geometric decay over the first ``anneal`` fraction of the steps, then 0 (polish)."""
        end = self.anneal * self.max_steps
        if step >= end:
            return 0.0
        return self.lambda_start * (self.lambda_end / self.lambda_start) ** (step / max(1.0, end))

    def _fit(self, model: _NCM, data: _Data, query: _Query, sign: float, steps: int,
             gen: torch.Generator) -> int:  # fmt: skip
        """Adam on NLL + sign * lambda * query (sign 0: fit only); returns the steps taken."""
        opt = torch.optim.Adam(model.parameters(), lr=self.learning_rate)
        n = data.weights.shape[0]
        full = data.discrete or n <= self.batch_size
        history: list[float] = []
        for step in range(steps):
            if full:
                nll = -(data.weights * model.log_lik(data.rows)).sum()
            else:
                idx = torch.randint(n, (self.batch_size,), generator=gen)
                nll = -model.log_lik({v: t[idx] for v, t in data.rows.items()}).mean()
            loss, lam = nll, self._lambda(step) * sign
            if lam:
                loss = nll + lam * query.value(model, self.draws, gen)
            history.append(float(nll.detach()))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if not math.isfinite(float(loss.detach())):
                raise FloatingPointError("neural-causal-model training diverged; lower "
                                         "learning_rate")  # fmt: skip
            if sign and self._converged(step, history):
                return step + 1
        return steps

    def _converged(self, step: int, history: list[float]) -> bool:
        if step < self.anneal * self.max_steps + self.patience:
            return False
        return abs(history[-1] - history[-self.patience - 1]) < self.tol

    @torch.no_grad()
    def _evaluate(self, model: _NCM, data: _Data, query: _Query, steps: int,
                  gen: torch.Generator) -> _Run:  # fmt: skip
        value = float(query.value(model, self.n_eval, gen)) * query.scale + query.offset
        nll = float(-(data.weights * model.log_lik(data.rows)).sum())
        return _Run(value, nll, _l1(model, data) if data.discrete else None, steps)

    def _notes(self, runs: list[_Run], states: int, data: _Data) -> list[str]:
        lo_run, hi_run = sorted(runs, key=lambda r: r.query)
        fit = (f"L1 distance of the models' P(v) to the data: {lo_run.l1:.3g} (lower), "
               f"{hi_run.l1:.3g} (upper)" if data.discrete else
               f"log-likelihood per unit: {-lo_run.nll:.4g} (lower), {-hi_run.nll:.4g} "
               f"(upper); compare with a fit-only model to judge the fit")  # fmt: skip
        return [
            f"neural causal model bounds (Xia et al. 2021): two models with a {states}-state "
            f"latent per confounded district, trained to fit the data while minimising / "
            f"maximising the query ({lo_run.steps} / {hi_run.steps} steps after {self.warmup} "
            f"fit-only steps)",
            "an inner approximation of the sharp bounds: each model fits the data, so its value "
            "is compatible (up to the fit error) but the optimiser may stop short of the "
            "extremes; not sharp, and no bootstrap intervals",
            fit,
        ]


def _l1(model: _NCM, data: _Data) -> float:
    """L1 distance between the model's ``P(v)`` over every cell and the data's.

    Cells the data never show contribute the model's mass on them, ``1 - Σ_observed P(v)``, so
    only the observed cells are evaluated (the full grid can be far larger than the data).
    """
    widths = [data.nodes[v].width for v in model.order]
    flat = np.ravel_multi_index(tuple(data.rows[v].numpy() for v in model.order), widths)
    cells, inverse = np.unique(flat, return_inverse=True)
    p_data = np.bincount(inverse, weights=data.weights.numpy(), minlength=len(cells))
    grid = np.unravel_index(cells, widths)
    with torch.no_grad():
        p_model = model.log_lik({v: torch.as_tensor(grid[i]) for i, v in enumerate(model.order)})
    p_model = p_model.exp().double().numpy()
    return float(np.abs(p_model - p_data).sum() + max(0.0, 1.0 - p_model.sum()))
