"""Specs for scratch.nn's losses (kind="loss"): the scratch class, its torch twin and the strategy.

The loss engine (``reference.engine.losses``) builds both sides from the case's config (array
entries such as ``weight`` cast to the run's dtype), compares the loss and the input gradient for
a random upstream gradient shaped like the loss, then ``backward()`` with no argument (ones).
"""

from __future__ import annotations

import numpy as np
from torch import nn

import scratch.nn as snn
from reference.spec import Case, Spec
from reference import variants_losses as RV
from reference.styles import cs231n
from reference.specs import bench_data as B
from reference.strategies import losses as LS


def _default(config, x, target):
    return lambda: Case(dict(config), [np.asarray(x, dtype=np.float64), np.asarray(target)], seed=0)


_SCORES = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]  # CS231n: cat, car, frog
_LABELS = np.array([0, 1, 2], dtype=np.int64)
_X = [[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]]
_Y = [[0.0, -0.5, 3.5], [0.1, 1.2, -0.3]]


def _loss(name, cls, twin, cases, default, draws, **kw):
    return Spec(name, cls, twin, f"torch.nn.{twin.__name__}", cases, kind="loss", calls=("train",),
                default=default, draws=draws, **kw)


SPECS = [
    _loss("cross_entropy", snn.CrossEntropyLoss, nn.CrossEntropyLoss, LS.cross_entropy_cases,
          _default({}, _SCORES, _LABELS),
          "input (N, C), (C,) or (N, C, d1[, d2]), C 1..10; class indices (ignore_index -100 or a class, "
          "in some/all targets) or probabilities (one-hot, zeros); weight with zeros; label_smoothing "
          "0/0.1/1/(0,1); logits up to 1e4 with ties, offsets; every reduction",
          bench=B.logits_and_classes(), styles={"cs231n": cs231n.cross_entropy},
          variants=RV.CROSS_ENTROPY),
    _loss("nll", snn.NLLLoss, nn.NLLLoss, LS.nll_cases, _default({}, np.log([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]]),
                                                                   np.array([1, 0], dtype=np.int64)),
          "input (N, C), (C,) or (N, C, d1[, d2]): raw floats or log-probabilities, -1e4; ignore_index "
          "in some/all targets; weight with zeros; every reduction",
          bench=B.log_probabilities_and_classes()),
    _loss("multi_margin", snn.MultiMarginLoss, nn.MultiMarginLoss, LS.multi_margin_cases,
          _default({}, _SCORES, _LABELS),
          "input (N, C) or (C,) with a 0-d or (1,) target; p 1/2; margin 0/0.5/1/2/(0,3); weight with "
          "zeros; exact kinks (margin met exactly, ties with the target score); 1e4; every reduction",
          bench=B.logits_and_classes(), styles={"cs231n": cs231n.multi_margin},
          variants=RV.MULTI_MARGIN),
    _loss("mse", snn.MSELoss, nn.MSELoss, LS.mse_cases, _default({}, _X, _Y),
          "any 0..3-D shape; magnitudes 1e-3..1e4, offsets; x == y at some elements; every reduction",
          bench=B.regression()),
    _loss("l1", snn.L1Loss, nn.L1Loss, LS.l1_cases, _default({}, _X, _Y),
          "any 0..3-D shape; magnitudes 1e-3..1e4; x == y exactly (the kink) at some elements",
          bench=B.regression()),
    _loss("smooth_l1", snn.SmoothL1Loss, nn.SmoothL1Loss, LS.smooth_l1_cases, _default({}, _X, _Y),
          "beta 0 (L1)/0.125/0.5/1/2/(0,5); |x - y| == beta exactly at some elements (dyadic values)",
          bench=B.regression()),
    _loss("huber", snn.HuberLoss, nn.HuberLoss, LS.huber_cases, _default({}, _X, _Y),
          "delta 2^-10/0.5/1/2/1024/(1e-3,10); |x - y| == delta exactly at some elements",
          bench=B.regression()),
    _loss("bce", snn.BCELoss, nn.BCELoss, LS.bce_cases,
          _default({}, [[0.9, 0.2], [0.5, 0.01]], np.array([[1.0, 0.0], [0.3, 1.0]])),
          "probabilities from logits up to +-30 plus exact 0 and 1; hard or soft targets with exact 0/1; "
          "weight of the input's shape or its last dim, with zeros",
          bench=B.binary(probabilities=True)),
    _loss("bce_with_logits", snn.BCEWithLogitsLoss, nn.BCEWithLogitsLoss, LS.bce_with_logits_cases,
          _default({}, _X, np.array([[1.0, 0.0, 1.0], [0.3, 1.0, 0.0]])),
          "logits up to 1e4 (exact +-1e4 and 0); hard/soft targets; weight; pos_weight per last dim with zeros",
          bench=B.binary(probabilities=False)),
    _loss("kl_div", snn.KLDivLoss, nn.KLDivLoss, LS.kl_div_cases,
          _default({"reduction": "batchmean"}, np.log([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]]),
                   np.array([[0.0, 0.9, 0.1], [0.5, 0.5, 0.0]])),
          "input log-probabilities or any floats; target probabilities with exact zeros, or log "
          "targets (log_target); reductions none/mean/sum/batchmean; 0-d inputs",
          ignore_warnings=("reduction: 'mean' divides the total loss",),  # deprecated "mean", drawn on purpose
          bench=B.distributions(reduction="batchmean")),
]
