"""Loss modules: thin shells over ``scratch.nn.functional``'s loss kernels, with torch's class names,
keyword arguments and defaults. Twins: torch.nn.CrossEntropyLoss, NLLLoss, MultiMarginLoss, MSELoss,
L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss.

The protocol for losses:
- ``forward(input, target) -> loss`` in input's dtype (0-d for "mean"/"sum", the per-element or
  per-sample loss for "none"); it never modifies its arguments and saves them for backward in one
  ``Context`` (``self._ctx``: input and target, and the loss's shape);
- ``backward(grad=None) -> dL/dinput``, input's shape and dtype; ``grad`` is dL/dloss, shaped like
  the loss, ones by default (so ``reduction="none"`` works); there is no gradient for the target.
``weight`` (and BCEWithLogitsLoss's ``pos_weight``) are buffers, as in torch; the kernels use them in
the input's dtype. The deprecated ``size_average``/``reduce`` map to ``reduction`` by torch's rule.
"""

from __future__ import annotations

import numpy as np

from scratch.autograd.function import Context
from scratch.nn.functional import loss as FL
from scratch.nn.modules.module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MultiMarginLoss", "MSELoss", "L1Loss", "SmoothL1Loss",
           "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"]


def _legacy_reduction(size_average, reduce) -> str:
    """torch.nn._reduction.legacy_get_string: None counts as True; reduce=False wins."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return ("mean" if size_average else "sum") if reduce else "none"


def _buffer(value, name, one_d=False):
    if value is None:
        return None
    a = FL.floats(value, name)
    if one_d and a.ndim != 1:
        raise FL.LossInputError(f"{name}: expected None or a 1-D array (one weight per class), got shape {a.shape}")
    return a


class _Loss(Module):
    """Reduction handling, the saved context and the backward protocol; subclasses give ``_f`` and ``_df``."""

    _reductions = FL.REDUCTIONS

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        self.reduction = FL.check_reduction(reduction, self._reductions)
        self._ctx = None

    def forward(self, input, target):
        loss = np.asarray(self._f(input, target))  # the kernel validates before anything is saved
        self._ctx = Context()
        self._ctx.save_for_backward(input, target)
        self._ctx.loss_shape = loss.shape
        return loss

    def backward(self, grad=None):
        if self._ctx is None:
            raise RuntimeError(f"{type(self).__name__}.backward: call forward first")
        input, target = self._ctx.saved_tensors
        shape = self._ctx.loss_shape
        if grad is not None:
            grad = np.asarray(grad)
            if grad.shape != shape:
                raise ValueError(f"{type(self).__name__}.backward: grad expected the loss's shape {shape}, "
                                 f"got {grad.shape}")
            grad = grad.astype(input.dtype, copy=False)
        return self._df(grad, input, target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    _per_class = True  # weight is (C,): one per class

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _buffer(weight, f"{type(self).__name__}: weight", one_d=self._per_class))


class NLLLoss(_WeightedLoss):
    """-w[y] * input[y], input = log-probabilities along dim 1."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def _f(self, x, t):
        return FL.nll_loss(x, t, self.weight, self.ignore_index, self.reduction)

    def _df(self, g, x, t):
        return FL.nll_loss_backward(g, x, t, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """log_softmax over dim 1, then NLL; class indices or probabilities (float, input's shape) as target."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None, reduction="mean",
                 label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise FL.LossInputError(f"CrossEntropyLoss: label_smoothing expected a value in [0.0, 1.0], "
                                    f"got {label_smoothing}")
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def _f(self, x, t):
        return FL.cross_entropy(x, t, self.weight, self.ignore_index, self.reduction, self.label_smoothing)

    def _df(self, g, x, t):
        return FL.cross_entropy_backward(g, x, t, self.weight, self.ignore_index, self.reduction,
                                         self.label_smoothing)


class MultiMarginLoss(_WeightedLoss):
    """The multiclass SVM hinge: sum_{i != y} w[y] max(0, margin - x[y] + x[i])^p / C."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None, reduce=None,
                 reduction="mean"):
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got p={p!r}")
        super().__init__(weight, size_average, reduce, reduction)
        self.p, self.margin = p, margin

    def _f(self, x, t):
        return FL.multi_margin_loss(x, t, self.p, self.margin, self.weight, self.reduction)

    def _df(self, g, x, t):
        return FL.multi_margin_loss_backward(g, x, t, self.p, self.margin, self.weight, self.reduction)


class MSELoss(_Loss):
    """(x - y)^2, mean over every element by default."""

    def _f(self, x, t):
        return FL.mse_loss(x, t, self.reduction)

    def _df(self, g, x, t):
        return FL.mse_loss_backward(g, x, t, self.reduction)


class L1Loss(_Loss):
    """|x - y|; its gradient at x == y is 0."""

    def _f(self, x, t):
        return FL.l1_loss(x, t, self.reduction)

    def _df(self, g, x, t):
        return FL.l1_loss_backward(g, x, t, self.reduction)


class SmoothL1Loss(_Loss):
    """0.5 d^2 / beta inside |d| < beta, |d| - 0.5 beta outside; beta = 0 is L1Loss."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        if not beta >= 0:
            raise FL.LossInputError(f"SmoothL1Loss: beta expected >= 0, got {beta}")
        self.beta = beta

    def _f(self, x, t):
        return FL.smooth_l1_loss(x, t, self.reduction, self.beta)

    def _df(self, g, x, t):
        return FL.smooth_l1_loss_backward(g, x, t, self.reduction, self.beta)


class HuberLoss(_Loss):
    """0.5 d^2 inside |d| < delta, delta (|d| - 0.5 delta) outside: delta x SmoothL1Loss(beta=delta)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        if not delta > 0:
            raise FL.LossInputError(f"HuberLoss: delta expected > 0, got {delta}")
        self.delta = delta

    def _f(self, x, t):
        return FL.huber_loss(x, t, self.reduction, self.delta)

    def _df(self, g, x, t):
        return FL.huber_loss_backward(g, x, t, self.reduction, self.delta)


class BCELoss(_WeightedLoss):
    """-w [y log x + (1 - y) log(1 - x)], each log clamped at -100; x, y in [0, 1]."""

    _per_class = False  # weight broadcasts against the input (often one per sample)

    def _f(self, x, t):
        return FL.binary_cross_entropy(x, t, self.weight, self.reduction)

    def _df(self, g, x, t):
        return FL.binary_cross_entropy_backward(g, x, t, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + BCE in one stable expression; ``pos_weight`` scales the positive term (broadcast over
    the last dim, one per class)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _buffer(weight, "BCEWithLogitsLoss: weight"))
        self.register_buffer("pos_weight", _buffer(pos_weight, "BCEWithLogitsLoss: pos_weight"))

    def _f(self, x, t):
        return FL.binary_cross_entropy_with_logits(x, t, self.weight, self.reduction, self.pos_weight)

    def _df(self, g, x, t):
        return FL.binary_cross_entropy_with_logits_backward(g, x, t, self.weight, self.reduction, self.pos_weight)


class KLDivLoss(_Loss):
    """KL(target || q) with input = log q: target (log target - input), 0 where target == 0."""

    _reductions = FL.REDUCTIONS + ("batchmean",)

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target: bool = False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def _f(self, x, t):
        return FL.kl_div(x, t, self.reduction, self.log_target)

    def _df(self, g, x, t):
        return FL.kl_div_backward(g, x, t, self.reduction, self.log_target)
