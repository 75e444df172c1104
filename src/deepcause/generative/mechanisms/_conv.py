"""Building blocks of the image mechanisms: conv encoders, the parent encoder, an implicit law.

Node tensors are 2-D everywhere in :mod:`deepcause.generative`: an image node ``(n, C, H, W)``
travels flattened as ``(n, C*H*W)`` and a mechanism's context is the concatenation of its
parents' tensors (then a district latent, if any). :class:`ContextEncoder` undoes that: given
the parents' layout (``context_shapes``: a width for a tabular parent, ``(C, H, W)`` for an
image parent) it reshapes each image parent, runs it through a small conv net and returns one
feature vector per unit (tabular parts pass through unchanged).

>>> enc = ContextEncoder([2, (1, 8, 8)], context_dim=2 + 64, features=4)
>>> enc(torch.zeros(3, 66)).shape, enc.out_dim
(torch.Size([3, 6]), 6)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral
from typing import Any

from ..._parameters import Interval
from ..._torch import nn, torch
from ...exceptions import DataValidationError

__all__ = [
    "ENCODER_CONSTRAINTS",
    "ContextEncoder",
    "ParentMaps",
    "check_image_shape",
    "colour_stats",
    "conv_decoder",
    "conv_encoder",
    "normalise_shapes",
]


ENCODER_CONSTRAINTS: dict[str, list[Any]] = {
    "features": [Interval(Integral, 1, None, closed="left")],
    "width": [Interval(Integral, 1, None, closed="left")],
}
"""Parameter constraints of the conv parent encoder (``features`` per image parent, ``width``)."""


def normalise_shapes(shapes: Sequence[Any] | None) -> list[int | tuple[int, int, int]]:
    """Context layout from config/JSON: ints stay widths, 3-sequences become image shapes."""
    out: list[int | tuple[int, int, int]] = []
    for s in shapes or ():
        if isinstance(s, int | float):
            out.append(int(s))
        else:
            c, h, w = (int(v) for v in s)
            out.append((c, h, w))
    return out


def check_image_shape(owner: object, dim: int) -> tuple[int, int, int]:
    """The ``(C, H, W)`` of an image mechanism, checked against its flattened ``dim``."""
    shape = getattr(owner, "image_shape", None)
    if shape is None or len(shape) != 3:
        raise DataValidationError(
            f"{type(owner).__name__} needs image_shape=(C, H, W) (set by CausalGenerativeModel "
            "for image nodes), got {shape!r}"
        )
    c, h, w = (int(v) for v in shape)
    if c * h * w != dim or min(h, w) < 4:
        raise DataValidationError(
            f"{type(owner).__name__}: image_shape {shape} does not match a node of {dim} values "
            "(or is smaller than 4x4)"
        )
    return c, h, w


def conv_encoder(channels: int, width: int, out: int) -> nn.Sequential:
    """``(n, C, H, W) -> (n, out)``: three convs (two stride-2), pooling to 4x4, a linear map."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1),
        nn.SiLU(),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
        nn.SiLU(),
        nn.Conv2d(2 * width, 2 * width, 4, stride=2, padding=1),
        nn.SiLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(2 * width * 16, out),
    )


class conv_decoder(nn.Module):  # noqa: N801 - a layer factory used like the function above
    """``(n, d_in) -> (n, C, H, W)`` logits: a linear map to a quarter-size grid, two
    transposed convs, a final conv, cropped to ``H x W``."""

    def __init__(self, d_in: int, shape: tuple[int, int, int], width: int) -> None:
        super().__init__()
        c, h, w = shape
        self.shape = shape
        self.grid = (math.ceil(h / 4), math.ceil(w / 4))
        self.width = width
        self.inp = nn.Sequential(
            nn.Linear(d_in, 128), nn.SiLU(), nn.Linear(128, 2 * width * self.grid[0] * self.grid[1])
        )
        self.up = nn.Sequential(
            nn.SiLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(width, c, 3, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.inp(z).view(z.shape[0], 2 * self.width, *self.grid)
        return self.up(h)[:, :, : self.shape[1], : self.shape[2]]

    def stages(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        """``up`` cut at its resolutions: quarter to half size, half to full size, to logits
        (the stages :class:`ParentMaps` conditions, uncropped)."""
        return self.up[0:2], self.up[2:4], self.up[4:]


class ParentMaps(nn.Module):
    """Conditioning maps for every stage of :class:`conv_decoder`: a per-pixel two-layer net of
    a conditioning vector (broadcast over the grid) and the pixel's coordinates, added to the
    stage's activations (a spatial-broadcast decoder's input, Watters et al. 2019, at each
    scale). A parent that sets where something is (a column, a frequency) then places it at
    every resolution through the coordinates instead of through a flat linear map to the
    quarter-size grid alone.

    ``cond_dim`` values in, ``channels`` the decoder's stage widths (grid, half, full size),
    ``grid`` the quarter-size grid; :meth:`forward` returns the map of stage ``k``.

    >>> maps = ParentMaps(3, (8, 4, 4), grid=(2, 2))
    >>> [tuple(maps(torch.zeros(5, 3), k).shape) for k in range(3)]
    [(5, 8, 2, 2), (5, 4, 4, 4), (5, 4, 8, 8)]
    """

    def __init__(
        self, cond_dim: int, channels: Sequence[int], grid: tuple[int, int], hidden: int = 32
    ) -> None:
        super().__init__()
        self.grid = tuple(int(g) for g in grid)
        self.cond = nn.ModuleList(nn.Linear(cond_dim, hidden) for _ in channels)
        self.coords = nn.ModuleList(nn.Conv2d(2, hidden, 1, bias=False) for _ in channels)
        self.out = nn.ModuleList(nn.Conv2d(hidden, c, 1) for c in channels)
        for k in range(len(channels)):  # the stage's coordinates, in [-1, 1]
            h, w = self.grid[0] * 2**k, self.grid[1] * 2**k
            yy, xx = torch.meshgrid(
                torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij"
            )
            self.register_buffer(f"xy{k}", torch.stack([xx, yy])[None], persistent=False)

    def forward(self, cond: torch.Tensor, k: int) -> torch.Tensor:
        pre = self.cond[k](cond)[:, :, None, None] + self.coords[k](getattr(self, f"xy{k}"))
        return self.out[k](nn.functional.silu(pre))


def colour_stats(images: torch.Tensor) -> torch.Tensor:
    """Per-channel colour statistics of images in ``[-1, 1]``, ``(n, C, H, W) -> (n, 3 C)``:
    the channel means, the channel maxima and the stroke colour (channel means weighted by each
    pixel's brightness, the maximum over channels), scaled back to ``[-1, 1]``.

    A conv encoder can learn these, but slowly and only as far as its loss asks; a decoder that
    must copy a parent's colour (the napkin's ``Y`` takes ``X``'s colour 30% of the time) gets
    it here directly.

    >>> red = -torch.ones(2, 3, 4, 4)
    >>> red[:, 0, 1:3, 1:3] = 1.0
    >>> colour_stats(red)[0, 6:].tolist()  # stroke colour: red
    [1.0, -1.0, -1.0]
    """
    x = (images + 1.0) / 2.0
    weight = x.amax(dim=1, keepdim=True)
    stroke = (x * weight).sum((2, 3)) / weight.sum((2, 3)).clamp_min(1e-6)
    parts = [x.mean((2, 3)), x.amax((2, 3)), stroke]
    return 2.0 * torch.cat(parts, dim=1) - 1.0


class ContextEncoder(nn.Module):
    """Flat context -> features: conv-encoded image parents, tabular parents unchanged.

    ``context_shapes`` lists the parents in context order (a width or ``(C, H, W)``); context
    columns beyond them (a district latent) pass through as tabular features. ``stats=True``
    appends to each image parent's conv features its colour statistics (:func:`colour_stats`,
    ``3 C`` values), which make a parent's colour as easy to copy as a tabular parent.
    """

    def __init__(
        self,
        context_shapes: Sequence[Any],
        context_dim: int,
        features: int = 32,
        width: int = 16,
        stats: bool = False,
    ) -> None:
        super().__init__()
        self.stats = bool(stats)
        self.parts: list[tuple[int, tuple[int, int, int] | None]] = []
        for s in normalise_shapes(context_shapes):
            self.parts.append((math.prod(s), s) if isinstance(s, tuple) else (s, None))
        rest = int(context_dim) - sum(w for w, _ in self.parts)
        if rest < 0:
            raise DataValidationError(
                f"context of width {context_dim} is narrower than its parents' layout "
                f"{list(context_shapes)}"
            )
        if rest:
            self.parts.append((rest, None))
        self.convs = nn.ModuleList(
            conv_encoder(s[0], width, features) for _, s in self.parts if s is not None
        )
        self.out_dim = sum(
            features + 3 * s[0] * self.stats if s is not None else w for w, s in self.parts
        )

    def forward(self, context: torch.Tensor, repeats: int = 1) -> torch.Tensor:
        """Features of each context row, ``(rows, out_dim)``.

        ``repeats > 1`` declares the rows ``repeats`` stacked copies of the same units
        (copy-major, as ``t.repeat(repeats, 1)`` makes) whose image parents are equal across
        copies (the columns after them, a district latent, may differ): the image parents are
        encoded once per unit and their features repeated, the same values as encoding every
        row at ``1 / repeats`` of the cost.

        >>> enc = ContextEncoder([(1, 8, 8)], context_dim=64 + 2, features=4)
        >>> ctx = torch.cat([torch.rand(3, 64).repeat(2, 1), torch.randn(6, 2)], dim=1)
        >>> bool(torch.allclose(enc(ctx, repeats=2), enc(ctx), atol=1e-6))
        True
        """
        out, start, k = [], 0, 0
        units = context.shape[0] // repeats
        for w, s in self.parts:
            piece = context[:, start : start + w]
            start += w
            if s is not None:
                image = piece[:units].reshape(-1, *s)
                piece = self.convs[k](image)
                if self.stats:
                    piece = torch.cat([piece, colour_stats(image)], dim=1)
                piece = piece.repeat(repeats, 1) if repeats > 1 else piece
                k += 1
            out.append(piece)
        if not out:
            return context[:, :0]
        return torch.cat(out, dim=1)
