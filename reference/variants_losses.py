"""Torch twins of the known variants of the losses (``reference.variants`` has the layers' and
optimizers'): cross-entropy without the max shift (in the course's probability form and in the
log-softmax form), a gradient not divided by N, and a hinge that counts the true class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Variant:
    """A known convention a candidate may follow, and the torch twin that follows it."""

    name: str          # snake_case, e.g. "eps_inside_sqrt"
    explanation: str   # one line: what the code does differently from torch
    twin: Callable     # drop-in replacement for the spec's twin


class _UnshiftedLogSoftmax(torch.autograd.Function):
    """log-softmax without subtracting the max first, in one of two naive forms: the course's
    ``probabilities`` log(exp(x) / sum(exp(x))) (where exp overflows, inf / inf = NaN, and 0
    elsewhere in that row), or x - log(sum(exp(x))) (x - inf). The backward is g - p * sum(g)
    with the same probabilities p (exp of the log form's output)."""

    @staticmethod
    def forward(ctx, x, dim, probabilities):
        e = x.exp()
        if probabilities:
            p = e / e.sum(dim, keepdim=True)
            out = p.log()
        else:
            out = x - e.sum(dim, keepdim=True).log()
            p = out.exp()
        ctx.save_for_backward(p)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        (p,) = ctx.saved_tensors
        return g - p * g.sum(ctx.dim, keepdim=True), None, None


class _CrossEntropyVariant(nn.CrossEntropyLoss):
    """torch's CrossEntropyLoss, except for class-index targets with weight None and
    label_smoothing 0: there ``variant(input, target)`` computes the loss."""

    def forward(self, input, target):
        if self.weight is not None or self.label_smoothing != 0 or target.is_floating_point():
            return super().forward(input, target)
        return self.variant(input, target)


class LogSoftmaxWithoutMaxShiftCrossEntropy(_CrossEntropyVariant):
    """loss = -sum_c onehot[c] logp[c], logp = x - log(sum(exp(x))) unshifted, in the input's
    dtype: exp overflows past ~88 (float32) or ~709 (float64); 0 * -inf makes the row NaN."""

    probabilities = False

    def variant(self, x, target):
        one = x.dim() == 1
        x, target = (x[None], target.reshape(1)) if one else (x, target)
        logp = _UnshiftedLogSoftmax.apply(x, 1, self.probabilities).movedim(1, -1)   # classes last
        kept = target != self.ignore_index
        safe = torch.where(kept, target, 0)
        if self.probabilities:  # the course picks -log p[y]: inf where p[y] = 0, NaN where p[y] is
            per = torch.where(kept, -logp.gather(-1, safe[..., None])[..., 0], torch.zeros((), dtype=x.dtype))
        else:  # a coefficient array: 0 * NaN is NaN, ignored rows included
            onehot = F.one_hot(safe, x.shape[1]).to(x.dtype) * kept[..., None]
            per = -(onehot * logp).sum(-1)
        if self.reduction == "none":
            return per[0] if one else per
        return per.sum() / kept.sum() if self.reduction == "mean" else per.sum()


class SoftmaxWithoutMaxShiftCrossEntropy(LogSoftmaxWithoutMaxShiftCrossEntropy):
    """The course's form: p = exp(x) / sum(exp(x)) unshifted, loss = -log p[y]."""

    probabilities = True


class GradientNotAveragedCrossEntropy(_CrossEntropyVariant):
    """reduction="mean" only ("sum" and "none" are torch's): the value of torch's mean with the
    gradient of torch's sum."""

    def variant(self, x, target):
        loss = nn.CrossEntropyLoss.forward(self, x, target)
        if self.reduction != "mean":
            return loss
        total = F.cross_entropy(x, target, ignore_index=self.ignore_index, reduction="sum")
        return loss.detach() + (total - total.detach())   # adds 0 (a finite sum), and the sum's gradient


class TrueClassHingeMultiMargin(nn.MultiMarginLoss):
    """torch's loss plus the j = y term, w[y] max(0, margin - x[y] + x[y])^p / C (a constant)."""

    def forward(self, input, target):
        per = F.multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction="none")
        x, t = input.detach().reshape(-1, input.shape[-1]), target.reshape(-1)
        x_y = x.gather(1, t[:, None])[:, 0]
        own = ((self.margin - x_y) + x_y).clamp(min=0) ** self.p / x.shape[1]
        if self.weight is not None:
            own = own * self.weight[t]
        per = per + own.reshape(per.shape)
        if self.reduction == "none":
            return per
        return per.mean() if self.reduction == "mean" else per.sum()


CROSS_ENTROPY = (
    Variant("softmax_without_max_shift", "softmax is exp(x) / sum(exp(x)) without subtracting the largest logit "
            "first, so exp overflows for large logits and the loss becomes inf/NaN", SoftmaxWithoutMaxShiftCrossEntropy),
    Variant("log_softmax_without_max_shift", "log-softmax is x - log(sum(exp(x))) without subtracting the largest "
            "logit first, so exp overflows for large logits and the loss becomes NaN",
            LogSoftmaxWithoutMaxShiftCrossEntropy),
    Variant("gradient_not_averaged", "the loss is averaged over the N targets but its gradient is not divided "
            "by N (it is the gradient of the sum)", GradientNotAveragedCrossEntropy))
MULTI_MARGIN = (Variant("hinge_counts_true_class", "the hinge sum over classes j includes j = y, adding "
                        "w[y] * margin^p / C to each sample's loss", TrueClassHingeMultiMargin),)
