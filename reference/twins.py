"""Torch twins that torch does not ship as one module, built from torch ops."""

from __future__ import annotations

import torch
from torch import nn


class TorchMaxout(nn.Module):
    """y_j = max_i (x W^T + b)[j*k + i]; the same parameter layout as ``scratch.nn.Maxout``.

    ``max(dim)`` sends the whole gradient to the first maximal piece on a tie.
    """

    def __init__(self, in_features, out_features, pieces=2, bias=True, device=None, dtype=None):
        super().__init__()
        self.out_features, self.pieces = out_features, pieces
        proto = nn.Linear(in_features, out_features * pieces, bias=bias, device=device, dtype=dtype)
        self.weight = proto.weight
        self.bias = proto.bias

    def forward(self, x):
        z = nn.functional.linear(x, self.weight, self.bias)
        return z.unflatten(-1, (self.out_features, self.pieces)).max(dim=-1).values


def mlp(ns, in_features, hidden, out_features, activation="ReLU", batch_norm=False):
    """Linear -> [BatchNorm1d] -> activation -> Linear from namespace ``ns`` (torch.nn or scratch.nn)."""
    layers = [ns.Linear(in_features, hidden)]
    if batch_norm:
        layers.append(ns.BatchNorm1d(hidden))
    layers += [getattr(ns, activation)(), ns.Linear(hidden, out_features)]
    return ns.Sequential(*layers)


def torch_mlp(**config):
    return mlp(torch.nn, **config)
