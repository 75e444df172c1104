"""Training loop shared by every mechanism: Adam on mini-batches with early stopping.

Reproducible on CPU: the layers are rebuilt (fresh initialisation), batches shuffled and the loss's own noise
(diffusion) drawn from torch's global generator seeded with ``random_state`` inside
``torch.random.fork_rng`` so the caller's global random state is left untouched. A random 15%
of the rows (at most 2000) is held out, and for continuous tabular mechanisms at least
``MIN_VALIDATION_ROWS`` (150, what 1,000 rows give) or ``MAX_VALIDATION_PERCENT`` (30%) of the
rows, whichever is fewer (:func:`validation_split`); the step size is halved whenever its loss stalls for
``patience / 4`` epochs, training stops after ``patience`` epochs without improvement and the
best weights are restored. For tabular mechanisms these two counts are in epochs of at least
the optimiser steps 4,096 rows give (:func:`patience_epochs`): with the default batch of 256,
1,000 rows make epochs of 4 steps, so a patience of 20 epochs gave up after 80 steps where
5,000 rows (17 steps an epoch) allow 340, and small-data fits stopped after too few steps
(benchmarks/results/bench_generative.md, run 7: on the suite at 1,000 rows the mean
counterfactual RMSE fell from 0.107 / 0.108 to 0.100 / 0.102 s.d. at seeds 0 / 1, MMD² from
0.0022 / 0.0013 to 0.0019 / 0.0013, the interventional mean error moved 0.042 / 0.034 -> 0.040 /
0.036; fits cost about 2.2 times as much). From 4,096 training rows on
(5,000 rows less the 750 validation rows) nothing changes. A mechanism whose
``average_weights`` is true (the base of :class:`~deepcause.generative.mechanisms.LogMechanism`,
and every candidate of ``mechanisms="auto"``, :mod:`deepcause.generative.selection`) is
validated and kept at an exponential moving average of its weights over the last ``EMA_EPOCHS`` epochs
(:class:`_WeightAverage`) instead of Adam's last iterate: on the suite's multiplicative mediator
this took the seed-3 counterfactual RMSE from 0.112 to 0.045 s.d., on the vector mediator the
worst of 16 fits' interventional mean error from 0.19 to 0.041 s.d. A mechanism named
explicitly trains without it (the attribute's class default).
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._progress import Verbose, progress
from .._torch import seed_from, seeded, torch, torch_generator

__all__ = [
    "Plateau",
    "cpu_conv_speedups",
    "patience_epochs",
    "train_mechanism",
    "validation_split",
]

_VALIDATION_SEED = 12345
EMA_EPOCHS = 3.0
PATIENCE_STEPS, PATIENCE_ROWS = 16, 4096
# Continuous tabular mechanisms hold out at least this many rows, or this share of them when fewer: the
# held-out rows choose where training stops and, under mechanisms="auto", the mechanism. 15% of
# 500 rows (75) was too few: on the suite's chain_nonlinear one split in five (data seeds 0 and
# 1, five model seeds) had validation rows on which even the true mechanism of the outcome
# scored no better than a constant (0.03 nats a row against 0.22 on the training rows), so the
# additive candidate stopped at its second epoch, nearly its initial function, won the choice
# on those same rows, and the counterfactual RMSE was 0.58 / 0.63 s.d. (0.05-0.16 at 1,000
# rows). With 150 rows the five-seed mean went 0.23 / 0.21 -> 0.13 / 0.11 s.d.
# (benchmarks/results/bench_generative.md, run 14). From 1,000 rows on nothing changes.
MIN_VALIDATION_ROWS, MAX_VALIDATION_PERCENT = 150, 30


def flushing_subnormals() -> bool:
    """Whether this thread flushes subnormal floats to zero (:func:`torch.set_flush_denormal`,
    which has no getter: a float32 below the smallest normal one, times one, is zero then).

    >>> flushing_subnormals()
    False
    """
    tiny = torch.tensor(torch.finfo(torch.float32).tiny / 4, dtype=torch.float32)
    return bool(tiny * 1.0 == 0)


@contextlib.contextmanager
def cpu_conv_speedups(modules: Sequence[torch.nn.Module], device: Any) -> Iterator[None]:
    """Train conv nets on the CPU faster without changing what they compute (``device`` not a
    CPU: nothing is done).

    Inside the block the 4-D (conv) weights of ``modules`` are stored channels-last, in which
    oneDNN's convolutions and their gradients run faster on one thread (the same sums in
    another order), and the thread flushes subnormal floats (below 1.2e-38) to zero: a
    decoder's Bernoulli likelihood sends such values through the gradients of pixels it
    already predicts with near certainty, and each costs a slow CPU path. Both are undone on
    exit (the weights contiguous again, the flush mode as it was). Measured on the 28x28
    image-treatment district (``benchmarks/results/bench_images_fresh.md``, run 10), a fit
    with the flush gave bit-identical weights to one without: the values it zeroes are below
    the rounding of every sum they enter.

    >>> net = torch.nn.Conv2d(1, 2, 3)
    >>> with cpu_conv_speedups([net], "cpu"):
    ...     inside = net.weight.is_contiguous(memory_format=torch.channels_last)
    >>> inside, net.weight.is_contiguous(), flushing_subnormals()
    (True, True, False)
    """
    if torch.device(device).type != "cpu":
        yield
        return
    was_flushing = flushing_subnormals()
    for m in modules:
        m.to(memory_format=torch.channels_last)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was_flushing)
        for m in modules:
            m.to(memory_format=torch.contiguous_format)


def patience_epochs(mech: Any, steps_per_epoch: int) -> int:
    """Epochs without improvement before ``mech``'s training stops: its ``patience`` counted in
    epochs of at least ``min(PATIENCE_STEPS, PATIENCE_ROWS / batch_size)`` optimiser steps, what
    4,096 training rows give (16 steps at the default batch of 256, 8 at the flows' 512); in
    plain epochs for mechanisms whose class sets ``patience_in_steps = False`` (image
    mechanisms, and the tabular diffusion mechanism: not among the candidates the rule was
    measured on).

    >>> from deepcause.generative.mechanisms import AdditiveNoiseMechanism, FlowMechanism
    >>> m = AdditiveNoiseMechanism(patience=20)
    >>> patience_epochs(m, 4), patience_epochs(m, 17)  # 1,000 rows, 5,000 rows at batch 256
    (80, 20)
    >>> patience_epochs(FlowMechanism(patience=20), 2)  # 1,000 rows at batch 512
    80
    >>> from deepcause.generative.mechanisms import DiffusionMechanism
    >>> patience_epochs(DiffusionMechanism(patience=20), 4)  # plain epochs
    20
    """
    if not getattr(mech, "patience_in_steps", True):
        return int(mech.patience)
    unit = min(PATIENCE_STEPS, PATIENCE_ROWS / mech.batch_size)
    return max(1, round(mech.patience * max(1.0, unit / steps_per_epoch)))


def _split(
    n: int,
    gen: torch.Generator,
    percent: int = 15,
    cap: int = 2000,
    min_rows: int = MIN_VALIDATION_ROWS,
    held_out: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    if held_out is not None:
        val = torch.as_tensor(held_out, dtype=torch.long).cpu()
        keep = torch.ones(n, dtype=torch.bool)
        keep[val] = False
        return torch.arange(n)[keep], val
    perm = torch.randperm(n, generator=gen)
    if n < 50:
        return perm, perm[:0]
    floor = min(min_rows, (MAX_VALIDATION_PERCENT * n) // 100)
    n_val = min(cap, max((percent * n) // 100, floor))
    return perm[n_val:], perm[:n_val]


def validation_split(
    n: int,
    random_state: int | np.random.Generator | None,
    percent: int = 15,
    cap: int = 2000,
    min_rows: int = MIN_VALIDATION_ROWS,
    held_out: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(train, validation)`` row indices :func:`train_mechanism` uses for ``random_state``
    (the defaults are its own for tabular mechanisms).

    ``percent`` of the rows are held out, at most ``cap``, and at least ``min_rows`` or
    ``MAX_VALIDATION_PERCENT`` (30%) of the rows, whichever is fewer (``min_rows=0``: exactly
    ``percent``; categorical and image mechanisms). Pass an ``int`` (a generator's state moves
    on each call). No validation rows when n < 50. The same permutation of the rows is cut at
    every size, so from 1,000 rows on (15% >= 150) the split is the plain ``percent`` one.
    ``held_out`` (row indices; one fold of a cross-fit,
    :func:`deepcause.generative.selection.select_mechanism`) replaces the random split.

    >>> tr, va = validation_split(1000, 0)
    >>> len(tr), len(va), len(set(tr.tolist()) & set(va.tolist()))
    (850, 150, 0)
    >>> [len(validation_split(n, 0)[1]) for n in (40, 250, 500, 750)]  # small data: more rows
    [0, 75, 150, 150]
    >>> len(validation_split(500, 0, min_rows=0)[1]), len(validation_split(3000, 0, 10, 200)[1])
    (75, 200)
    >>> [t.tolist() for t in validation_split(8, 0, held_out=torch.tensor([0, 5]))]
    [[1, 2, 3, 4, 6, 7], [0, 5]]
    """
    gen = torch_generator(seed_from(random_state))
    return _split(n, gen, percent, cap, min_rows, held_out)


class Plateau:
    """Early stopping on a held-out loss, evaluated once per epoch (or any fixed period).

    :meth:`update` records the loss; an improvement (by more than ``1e-4``) keeps a copy of
    ``module``'s weights, and after ``patience`` evaluations without one it returns True
    (stop). With ``halve_every`` (default ``patience // 4``; 0: never) the step sizes of
    ``optimiser`` are halved each time that many evaluations pass without improvement, down
    to ``min_lr``. :meth:`restore` puts the best weights back. Used by :func:`train_mechanism`
    and by the joint district trainer (:mod:`deepcause.generative.districts`).

    >>> lin = torch.nn.Linear(1, 1)
    >>> opt = torch.optim.SGD(lin.parameters(), lr=1.0)
    >>> stop = Plateau(lin, opt, patience=4, min_lr=0.1)
    >>> [stop.update(v) for v in (3.0, 2.0, 2.5, 2.5, 2.0, 2.2)], stop.best, stop.bad
    ([False, False, False, False, False, True], 2.0, 4)
    >>> opt.param_groups[0]["lr"], stop.best_epoch  # halved after each bad evaluation
    (0.125, 1)
    """

    def __init__(
        self,
        module: Any,
        optimiser: torch.optim.Optimizer,
        patience: int,
        min_lr: float,
        halve_every: int | None = None,
    ) -> None:
        self.module, self.optimiser = module, optimiser
        self.patience, self.min_lr = int(patience), float(min_lr)
        self.halve_every = max(1, self.patience // 4) if halve_every is None else int(halve_every)
        self.best, self.bad, self.seen, self.best_epoch = math.inf, 0, 0, -1
        self.state: dict[str, Any] | None = None

    def update(self, loss: float) -> bool:
        """Record one held-out loss; True when training should stop."""
        self.seen += 1
        if loss < self.best - 1e-4:
            self.best, self.bad, self.best_epoch = loss, 0, self.seen - 1
            self.state = copy.deepcopy(self.module.state_dict())
            return False
        self.bad += 1
        if self.bad >= self.patience:
            return True
        if self.halve_every and self.bad % self.halve_every == 0:  # plateau: halve the step
            for group in self.optimiser.param_groups:
                group["lr"] = max(group["lr"] * 0.5, self.min_lr)
        return False

    def restore(self) -> bool:
        """Load the best weights seen (False when no loss was recorded)."""
        if self.state is None:
            return False
        self.module.load_state_dict(self.state)
        return True


def train_mechanism(
    mech: Any,
    x: torch.Tensor,
    context: torch.Tensor,
    *,
    random_state: int | np.random.Generator | None = None,
    verbose: Verbose = "auto",
    desc: str = "",
    reinitialise: bool = True,
    held_out: torch.Tensor | None = None,
) -> list[float]:
    """Train ``mech`` (a :class:`~deepcause.generative.mechanisms.base.Mechanism`) on
    ``(x, context)`` in place; returns the validation-loss history.

    ``reinitialise=False`` keeps the current weights (continue training / warm start);
    ``held_out``: the validation rows (indices), instead of :func:`validation_split`'s.
    """
    n = x.shape[0]
    seed = seed_from(random_state)
    with seeded(seed, x.device):
        if reinitialise:
            mech.build(int(mech.dim), int(mech.context_dim), mech.n_classes)  # seeded init
        mech.to(x.device)
        gen = torch.Generator(device="cpu").manual_seed(seed)  # the rows validation_split gives
        # the floor was measured on auto's continuous candidates; categorical and image
        # mechanisms, the image parents' head and the tabular diffusion mechanism keep the
        # plain 15% (with the floor, examples/fairness_decaf.py's binary label at 800 rows and
        # 20 epochs kept a direct-effect gap of 0.151 instead of 0.257, real data 0.246)
        floor = MIN_VALIDATION_ROWS if getattr(mech, "small_data_validation", True) else 0
        train_idx, val_idx = (
            t.to(x.device) for t in _split(n, gen, min_rows=floor, held_out=held_out)
        )
        n_val = val_idx.shape[0]
        x_tr, c_tr = x[train_idx], context[train_idx]
        x_va, c_va = x[val_idx], context[val_idx]
        opt = torch.optim.Adam(
            mech.parameters(), lr=mech.learning_rate, weight_decay=mech.weight_decay
        )
        n_tr = x_tr.shape[0]
        bs = max(1, min(mech.batch_size, n_tr))
        n_batches = math.ceil(n_tr / bs)
        stopper = Plateau(mech, opt, patience_epochs(mech, n_batches), mech.learning_rate / 64)
        history: list[float] = []
        ema = _WeightAverage(mech, n_batches) if getattr(mech, "average_weights", False) else None
        mech.train()
        for _epoch in progress(range(mech.max_epochs), verbose=verbose, desc=desc or mech.name):
            order = torch.randperm(n_tr, generator=gen).to(x.device)
            for b in range(n_batches):
                idx = order[b * bs : (b + 1) * bs]
                opt.zero_grad(set_to_none=True)
                loss = mech.loss(x_tr[idx], c_tr[idx])
                loss.backward()
                opt.step()
                if ema is not None:
                    ema.update()
            if n_val == 0:
                continue
            # with weight averaging, the averaged weights are scored and kept
            with ema if ema is not None else contextlib.nullcontext():
                val = _validation_loss(mech, x_va, c_va)
                stop = stopper.update(val)
            history.append(val)
            if stop:
                break
        if not stopper.restore() and ema is not None:
            ema.load()  # no validation rows: keep the averaged weights
        mech.eval()
        mech.after_training(x, context, train_idx)
    if not all(math.isfinite(v) for v in history[-1:]):
        raise FloatingPointError(
            f"training of the {mech.name} mechanism{' for ' + desc if desc else ''} diverged "
            "(non-finite loss); lower learning_rate or standardise the data"
        )
    return history


@torch.no_grad()
def _validation_loss(mech: Any, x: torch.Tensor, context: torch.Tensor) -> float:
    """Held-out loss with fixed loss noise so epochs are comparable."""
    mech.eval()
    with seeded(_VALIDATION_SEED, x.device):
        value = float(mech.loss(x, context))
    mech.train()
    return value


class _WeightAverage:
    """Exponential moving average of a module's parameters over the optimiser's steps.

    Its time constant is ``EMA_EPOCHS`` epochs of steps (at least 10 steps). The average is
    bias-corrected as Adam's moments are (it starts at zero and is divided by
    ``1 - (1 - rate)^steps``), so the initial weights never enter it: without the correction
    an early-stopped fit kept a fifth of its random initialisation after 5 epochs, which put
    the 60-epoch chain of tests/test_generative_model.py 0.17 s.d. off (0.08 corrected).
    Inside a ``with`` block the module holds the averaged weights (to validate them), its own
    afterwards. Averaging the last epochs of Adam's noisy iterates lowers the variance of the
    fitted function: on the suite's multiplicative mediator (5,000 rows) the log-mean of four
    trainings on the same data spread by 0.03 at x = 0.
    """

    def __init__(self, module: Any, steps_per_epoch: int) -> None:
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.avg = [torch.zeros_like(p.detach()) for p in self.params]
        self.rate = 1.0 / max(10.0, EMA_EPOCHS * steps_per_epoch)
        self.steps = 0
        self.saved: list[torch.Tensor] = []

    @torch.no_grad()
    def update(self) -> None:
        self.steps += 1
        for a, p in zip(self.avg, self.params):
            a.lerp_(p, self.rate)

    @torch.no_grad()
    def load(self) -> None:
        """Put the averaged weights into the module (its own until a step was averaged)."""
        if self.steps == 0:
            return
        correction = 1.0 - (1.0 - self.rate) ** self.steps
        for a, p in zip(self.avg, self.params):
            p.copy_(a / correction)

    @torch.no_grad()
    def __enter__(self) -> _WeightAverage:
        self.saved = [p.detach().clone() for p in self.params]
        self.load()
        return self

    @torch.no_grad()
    def __exit__(self, *exc: object) -> None:
        for s, p in zip(self.saved, self.params):
            p.copy_(s)
