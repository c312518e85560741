"""Torch twins of known variants: conventions that differ from torch's by a course's choice or a
common slip. When a candidate fails, the verifier reruns the case with ``dataclasses.replace(spec,
twin=variant.twin)``; if every record then passes, the candidate implements that variant. Each twin
is a drop-in replacement for the spec's twin (the same constructor keywords and defaults, parameter,
buffer and state names, calling convention) differing in the one convention its explanation names;
where that convention cannot apply (a flag or input it does not concern) it does what torch does."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reference.variants_losses import CROSS_ENTROPY, MULTI_MARGIN, Variant  # noqa: F401 (losses' variants)


class _BatchNorm1dVariant(nn.BatchNorm1d):
    """torch's BatchNorm1d with the running-statistics update written out; each flag turns on one
    variant. momentum=None (a cumulative average) has no decay reading: torch's rule stays there."""

    biased_running_var = momentum_as_decay = eval_batch_stats = False

    def forward(self, x):
        self._check_input_dim(x)
        if not self.training and self.track_running_stats and not self.eval_batch_stats:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        y = F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        if self.training and self.track_running_stats:
            with torch.no_grad():
                self._update_running_stats(x.detach())
        return y

    def _update_running_stats(self, x):
        dims = [0] + list(range(2, x.dim()))   # every axis but the channels'
        n = x.numel() // x.size(1)
        self.num_batches_tracked.add_(1)
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        mean, var = x.mean(dims), x.var(dims, correction=0)
        var = var if self.biased_running_var else var * n / (n - 1)   # torch: the unbiased variance
        self.running_mean.copy_(self.blend(self.running_mean, mean, m))
        self.running_var.copy_(self.blend(self.running_var, var, m))

    def blend(self, running, batch, m):
        if self.momentum_as_decay and self.momentum is not None:
            return m * running + (1 - m) * batch
        return (1 - m) * running + m * batch   # torch: momentum weighs the new batch


# one subclass per flag: the constructor stays torch's
BiasedRunningVarBatchNorm1d = type("BiasedRunningVarBatchNorm1d", (_BatchNorm1dVariant,), {"biased_running_var": True})
MomentumAsDecayBatchNorm1d = type("MomentumAsDecayBatchNorm1d", (_BatchNorm1dVariant,), {"momentum_as_decay": True})
EvalBatchStatsBatchNorm1d = type("EvalBatchStatsBatchNorm1d", (_BatchNorm1dVariant,), {"eval_batch_stats": True})


class _ReLUGradOneAtZero(torch.autograd.Function):
    """max(x, 0) whose derivative is 1 where x >= 0 (torch's is 1 only where x > 0)."""

    @staticmethod
    def forward(ctx, x, inplace):
        passes = x >= 0
        ctx.save_for_backward(passes)
        if inplace:
            ctx.mark_dirty(x)
            return x.clamp_(min=0)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (passes,) = ctx.saved_tensors
        return torch.where(passes, g, torch.zeros_like(g)), None


class GradOneAtZeroReLU(nn.ReLU):
    def forward(self, x):
        return _ReLUGradOneAtZero.apply(x, self.inplace)


class _PlainStep:
    """step(): the closure, then ``update(p, grad, group)`` per parameter with a grad (-grad under maximize)."""

    @torch.no_grad()
    def step(self, closure=None):
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p, -p.grad if group["maximize"] else p.grad, group)
        return loss


class _AdamVariant(_PlainStep, torch.optim.Adam):
    """torch's Adam (L2 or decoupled weight decay, amsgrad, maximize) as a plain loop in torch's
    order; each flag turns on one variant (``first_count``: state["step"] before the first step,
    incremented before use)."""

    eps_inside_sqrt = no_bias_correction = False
    first_count = 0.0

    def update(self, p, grad, group):
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        state = self.state[p]
        if not state:
            state["step"] = torch.tensor(self.first_count, dtype=torch.float32)
            state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = torch.zeros_like(p)
        if wd != 0 and group["decoupled_weight_decay"]:
            p.mul_(1 - lr * wd)
        elif wd != 0:
            grad = grad.add(p, alpha=wd)
        state["step"] += 1
        t = state["step"].item()
        exp_avg, v = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bc1, bc2 = (1.0, 1.0) if self.no_bias_correction else (1 - beta1 ** t, 1 - beta2 ** t)
        if group["amsgrad"]:
            v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        if self.eps_inside_sqrt:
            denom = (v / bc2).add_(group["eps"]).sqrt_()
        else:
            denom = (v.sqrt() / bc2 ** 0.5).add_(group["eps"])   # torch: eps added to sqrt(v-hat)
        p.addcdiv_(exp_avg, denom, value=-lr / bc1)


EpsInsideSqrtAdam = type("EpsInsideSqrtAdam", (_AdamVariant,), {"eps_inside_sqrt": True})
NoBiasCorrectionAdam = type("NoBiasCorrectionAdam", (_AdamVariant,), {"no_bias_correction": True})
StepFromOneAdam = type("StepFromOneAdam", (_AdamVariant,), {"first_count": 1.0})   # step t uses t + 1


class EpsInsideSqrtRMSprop(_PlainStep, torch.optim.RMSprop):
    """torch's RMSprop (weight decay, momentum, centered, maximize) as a plain loop in torch's
    order, with eps inside the square root (centered: sqrt(square_avg - grad_avg^2 + eps))."""

    def update(self, p, grad, group):
        alpha, momentum = group["alpha"], group["momentum"]
        state = self.state[p]
        if not state:
            state["step"], state["square_avg"] = torch.tensor(0.0, dtype=torch.float32), torch.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = torch.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = torch.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        variance = state["square_avg"].mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"].lerp_(grad, 1 - alpha)
            variance = variance.addcmul(grad_avg, grad_avg, value=-1)
        avg = (variance + group["eps"]).sqrt()
        if momentum > 0:
            state["momentum_buffer"].mul_(momentum).addcdiv_(grad, avg)
            p.add_(state["momentum_buffer"], alpha=-group["lr"])
        else:
            p.addcdiv_(grad, avg, value=-group["lr"])


class _SGDVariant(torch.optim.SGD):
    """torch's SGD step, given a zero momentum buffer before a parameter's first step
    (``zero_first_buffer``), or run with nesterov False (``ignore_nesterov``; param_groups keep it)."""

    zero_first_buffer = ignore_nesterov = False

    @torch.no_grad()
    def step(self, closure=None):
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        nesterov = [group["nesterov"] for group in self.param_groups]
        for group in self.param_groups:
            group["nesterov"] = group["nesterov"] and not self.ignore_nesterov
            if self.zero_first_buffer and group["momentum"] != 0:
                for p in group["params"]:
                    if p.grad is not None and "momentum_buffer" not in self.state[p]:
                        self.state[p]["momentum_buffer"] = torch.zeros_like(p)
        try:
            super().step()
        finally:
            for group, flag in zip(self.param_groups, nesterov):
                group["nesterov"] = flag
        return loss


DampenedFirstStepSGD = type("DampenedFirstStepSGD", (_SGDVariant,), {"zero_first_buffer": True})
NesterovIgnoredSGD = type("NesterovIgnoredSGD", (_SGDVariant,), {"ignore_nesterov": True})

BATCH_NORM1D = (
    Variant("biased_running_var", "running_var is updated with the biased batch variance (divided by N, not "
            "N - 1), as the CS231n course does; torch stores the unbiased one", BiasedRunningVarBatchNorm1d),
    Variant("momentum_as_decay", "running = momentum * running + (1 - momentum) * batch: momentum read as the "
            "course's decay rate; torch's momentum weighs the new batch", MomentumAsDecayBatchNorm1d),
    Variant("eval_uses_batch_stats", "eval mode normalizes with the batch's own mean and variance; torch uses "
            "the running statistics there", EvalBatchStatsBatchNorm1d))
RELU = (Variant("grad_one_at_zero", "the derivative at exactly x = 0 is taken as 1 (x >= 0 passes the "
                "gradient); torch uses 0 there", GradOneAtZeroReLU),)
ADAM = (
    Variant("eps_inside_sqrt", "eps is added inside the square root, sqrt(v_hat + eps); torch uses "
            "sqrt(v_hat) + eps", EpsInsideSqrtAdam),
    Variant("no_bias_correction", "m and v are used without the bias corrections 1 - beta1^t and 1 - beta2^t",
            NoBiasCorrectionAdam),
    Variant("t_starts_at_1", "the step counter starts at 1 and is incremented before use, so step t's bias "
            "corrections use t + 1", StepFromOneAdam))
RMSPROP = (Variant("eps_inside_sqrt", "eps is added inside the square root, sqrt(square_avg + eps) "
                   "(TensorFlow's convention); torch uses sqrt(square_avg) + eps", EpsInsideSqrtRMSprop),)
SGD = (
    Variant("dampening_on_first_step", "the momentum buffer starts at zero, so the first step is dampened too, "
            "b = (1 - dampening) * g; torch starts with b = g", DampenedFirstStepSGD),
    Variant("nesterov_ignored", "nesterov=True is accepted but plain (heavy-ball) momentum is used",
            NesterovIgnoredSGD))
