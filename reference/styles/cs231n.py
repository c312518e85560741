"""The cs231n style for layers and losses: the course's functions as harness candidates.

Layers: ``NAME_forward(x, ...) -> (out, cache)`` and ``NAME_backward(dout, cache)``. The
adapter holds torch's parameters and buffers under torch's names and layouts and maps them:
``affine_forward`` takes w as (in, out), the transpose of torch's weight; ``batchnorm_forward``
reads its running statistics from ``bn_param`` and a *decay rate* momentum
(running = momentum * running + (1 - momentum) * batch), i.e. 1 - torch's momentum.
Losses: ``svm_loss(x, y)`` and ``softmax_loss(x, y)`` return (loss, dx) for the mean over N;
the course's hinge sums over the C classes where torch's ``multi_margin_loss`` averages them,
so the course loss is C times torch's.

Every array the adapter hands a course function is checked afterwards: a function that writes
into x, w, b or dout raises ``WroteIntoArgument`` (torch never changes its inputs).
"""

from __future__ import annotations

import numpy as np

from reference.scope import Scope
from reference.styles import Adapted, partner


class WroteIntoArgument(RuntimeError):
    """A course function changed an array it was given: the engine records it as the failed
    check "ARG unchanged" (``record_kind``), not as a crash."""

    def __init__(self, function: str, argument: str):
        super().__init__(f"{function} wrote into its argument {argument!r}; torch never changes its inputs")
        self.record_kind = f"{argument} unchanged"


def call_checked(fn, *args, names=()):
    """``fn(*args)``, the args named in ``names`` (None: not checked) unchanged afterwards."""
    before = [np.array(a, copy=True) if n else None for a, n in zip(args, names)]
    out = fn(*args)
    for a, n, b in zip(args, names, before):
        if n and not np.array_equal(b, a, equal_nan=True):
            raise WroteIntoArgument(fn.__name__, n)
    return out


class Param:
    """``.data`` and ``.grad`` (set by the first backward, added to by later ones)."""

    def __init__(self, shape):
        self.data, self.grad = np.zeros(shape), None

    def add_grad(self, g) -> None:
        g = np.asarray(g)
        self.grad = g.copy() if self.grad is None else self.grad + g


class _Layer:
    """train/eval, parameters and buffers by torch's names; subclasses give forward/backward."""

    PARAMS: tuple = ()
    BUFFERS: tuple = ()

    def __init__(self, forward, backward):
        self._forward, self._backward, self.training, self.cache = forward, backward, True, None

    def train(self, mode=True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def named_parameters(self):
        return [(n, getattr(self, n)) for n in self.PARAMS]

    def named_buffers(self):
        return [(n, getattr(self, n)) for n in self.BUFFERS]


def _rows(x, features: int):
    """x (*, features) as the course's (N, features) matrix (a view)."""
    return x.reshape(-1, features)


def linear(module, forward) -> Adapted:
    function = forward.__name__
    backward = partner(module, function, "_forward", "_backward")

    class Affine(_Layer):
        PARAMS = ("weight", "bias")

        def __init__(self, in_features, out_features, bias=True):
            super().__init__(forward, backward)
            self.weight, self.bias = Param((out_features, in_features)), Param((out_features,))

        def forward(self, x):
            self.shape = x.shape
            out, self.cache = call_checked(self._forward, _rows(x, self.shape[-1]), self.weight.data.T,
                                           self.bias.data, names=("x", "w", "b"))
            return np.reshape(out, (*x.shape[:-1], -1))

        def backward(self, dout):
            dx, dw, db = call_checked(self._backward, _rows(dout, dout.shape[-1]), self.cache, names=("dout",))
            self.weight.add_grad(np.transpose(dw))
            self.bias.add_grad(db)
            return np.reshape(dx, self.shape)
    return Adapted(Affine, Scope(pins={"bias": True}, reasons={"bias": f"{function} always adds b"}))


def relu(module, forward) -> Adapted:
    function = forward.__name__
    backward = partner(module, function, "_forward", "_backward")

    class ReLU(_Layer):
        def __init__(self, inplace=False):
            super().__init__(forward, backward)

        def forward(self, x):
            out, self.cache = call_checked(self._forward, x, names=("x",))
            return out

        def backward(self, dout):
            return call_checked(self._backward, dout, self.cache, names=("dout",))
    return Adapted(ReLU, Scope(pins={"inplace": False}, reasons={"inplace": "a function returns a new array"}))


def batch_norm1d(module, forward) -> Adapted:
    function = forward.__name__
    backward = partner(module, function, "_forward", "_backward")

    class BatchNorm(_Layer):
        PARAMS, BUFFERS = ("weight", "bias"), ("running_mean", "running_var")
        backward_in_eval = False  # the course's batchnorm_backward is the training-mode gradient

        def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, bias=True):
            super().__init__(forward, backward)
            self.eps, self.momentum = eps, momentum
            self.weight, self.bias = Param((num_features,)), Param((num_features,))
            self.weight.data = np.ones(num_features)  # torch's gamma starts at 1, beta at 0
            self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

        def forward(self, x):
            self.shape, c = x.shape, x.shape[1]
            rows = np.moveaxis(x, 1, -1).reshape(-1, c)  # (N, C) or (N, C, L) -> (N * L, C)
            bn_param = {"mode": "train" if self.training else "test", "eps": self.eps,
                        "momentum": 1 - self.momentum, "running_mean": self.running_mean.copy(),
                        "running_var": self.running_var.copy()}
            out, self.cache = call_checked(self._forward, rows, self.weight.data, self.bias.data, bn_param,
                                           names=("x", "gamma", "beta"))
            self.running_mean, self.running_var = bn_param["running_mean"], bn_param["running_var"]
            return self._back(out)

        def _back(self, rows):
            moved = (self.shape[0], *self.shape[2:], self.shape[1])
            return np.moveaxis(np.reshape(rows, moved), -1, 1)

        def backward(self, dout):
            rows = np.moveaxis(dout, 1, -1).reshape(-1, self.shape[1])
            dx, dgamma, dbeta = call_checked(self._backward, rows, self.cache, names=("dout",))
            self.weight.add_grad(dgamma)
            self.bias.add_grad(dbeta)
            return self._back(dx)

    pins = {"affine": True, "track_running_stats": True, "bias": True}
    reasons = {"affine": f"{function} always takes gamma and beta", "bias": f"{function} always adds beta",
               "track_running_stats": f"{function} always keeps running statistics"}
    return Adapted(BatchNorm, Scope(pins, reasons, accepts=lambda c: c.config.get("momentum", 0.1) is not None,
                                    not_checked=["momentum=None (a cumulative average): the course has none",
                                                 "gradients in eval mode: the course's backward is for training",
                                                 "buffer num_batches_tracked: the course keeps no count"]))


def dropout(module, forward) -> Adapted:
    """The course's dropout draws its own mask: a statistical check of its own
    (``reference.styles.dropout``) instead of the engine's masked comparison."""
    from functools import partial

    from reference.styles.dropout import check_course_dropout

    backward = partner(module, forward.__name__, "_forward", "_backward")
    check = partial(check_course_dropout, forward, backward)
    return Adapted(None, Scope(not_checked=["inplace=True: a function returns a new array"]), check=check)


class _Loss:
    """forward(input, target) -> torch's loss; backward(grad=None) -> torch's gradient."""

    def __init__(self, fn, scale):
        self._fn, self._scale = fn, scale  # scale(x): the course loss over torch's

    def forward(self, x, target):
        self.shape, c = x.shape, x.shape[1] if x.ndim > 1 else x.shape[0]
        rows = np.moveaxis(x, 1, -1).reshape(-1, c) if x.ndim > 1 else x.reshape(1, c)
        loss, dx = call_checked(self._fn, rows, np.reshape(target, -1), names=("x", "y"))
        scale = self._scale(c)
        self.dx = np.asarray(dx) / np.asarray(scale, dtype=np.asarray(dx).dtype)
        return np.asarray(loss / scale, dtype=x.dtype)  # a Python float loss is fine; its dtype is torch's

    def backward(self, grad=None):
        g = np.ones((), self.dx.dtype) if grad is None else np.asarray(grad)
        dx = self.dx * g
        if len(self.shape) == 1:
            return dx.reshape(self.shape)
        moved = (self.shape[0], *self.shape[2:], self.shape[1])
        return np.moveaxis(dx.reshape(moved), -1, 1)


def _class_targets(case) -> bool:
    """Class indices (not probabilities), none of them the ignore_index."""
    target = case.inputs[1]
    return np.issubdtype(np.asarray(target).dtype, np.integer) and \
        not np.any(np.asarray(target) == case.config.get("ignore_index", -100))


def cross_entropy(module, fn) -> Adapted:
    function = fn.__name__

    class SoftmaxLoss(_Loss):
        def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
            super().__init__(fn, lambda c: 1)
    pins = {"weight": None, "reduction": "mean", "label_smoothing": 0.0}
    reasons = {"weight": f"{function} has no class weights", "reduction": f"{function} averages over N",
               "label_smoothing": f"{function} has no label smoothing"}
    return Adapted(SoftmaxLoss, Scope(pins, reasons, accepts=_class_targets,
                                      not_checked=["probability targets and ignored targets: "
                                                   f"{function} takes class indices"]))


def multi_margin(module, fn) -> Adapted:
    function = fn.__name__

    class SvmLoss(_Loss):
        def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
            super().__init__(fn, lambda c: c)  # the course sums over classes, torch averages them
    pins = {"p": 1, "margin": 1.0, "weight": None, "reduction": "mean"}
    reasons = {"p": f"{function} is the linear hinge", "margin": f"{function}'s margin is 1",
               "weight": f"{function} has no class weights", "reduction": f"{function} averages over N"}
    return Adapted(SvmLoss, Scope(pins, reasons))
