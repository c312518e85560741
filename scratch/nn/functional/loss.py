"""Loss kernels, the NumPy side of torch.nn.functional's losses: each forward next to its
``*_backward(grad, ...) -> dL/dinput``. This module gathers them; the code lives in
- ``loss_classification``: class-index losses (nll_loss, cross_entropy, multi_margin_loss,
  and the CS231n ``multiclass_hinge_loss`` = C x multi_margin_loss);
- ``loss_elementwise``: regression losses, target shaped like the input (mse, l1, smooth_l1,
  huber, and the textbook ``half_sum_of_squares`` = N*D/2 x mse mean);
- ``loss_probability``: losses on probabilities, target shaped like the input (bce,
  bce_with_logits, kl_div);
- ``_loss_checks``: the error classes, shape/dtype validation and reduction helpers.

``reduction``: "none" keeps the per-element (or per-sample) loss; "sum" adds it up; "mean"
divides by the element count, except where torch divides by something else:
- nll / cross_entropy with class indices: sum(w[y] * -logp[y]) / sum(w[y]) over kept targets
  (ignore_index dropped; all dropped gives 0/0 = NaN, like torch);
- cross_entropy with probability targets: by numel / C; multi_margin: per sample / C, then by N;
- kl_div "batchmean": by input.shape[0].
Class-index shapes: input (N, C), (N, C, d1, ...) or (C,); target (N,), (N, d1, ...) or ().
Elementwise losses: target.shape == input.shape (torch's deprecated broadcasting is refused).
Torch twins: nll_loss, cross_entropy, multi_margin_loss, mse_loss, l1_loss, smooth_l1_loss,
huber_loss, binary_cross_entropy(_with_logits), kl_div.
"""

from __future__ import annotations

from scratch.nn.functional._loss_checks import (  # noqa: F401
    REDUCTIONS, ClassIndexError, LossInputError, TargetDtypeError, check_elementwise, check_reduction,
    class_layout, class_unlayout, floats, weight_as,
)
from scratch.nn.functional.loss_classification import (  # noqa: F401
    cross_entropy, cross_entropy_backward, multi_margin_loss, multi_margin_loss_backward, multiclass_hinge_loss,
    multiclass_hinge_loss_backward, nll_loss, nll_loss_backward,
)
from scratch.nn.functional.loss_elementwise import (  # noqa: F401
    half_sum_of_squares, half_sum_of_squares_backward, huber_loss, huber_loss_backward, l1_loss, l1_loss_backward,
    mse_loss, mse_loss_backward, smooth_l1_loss, smooth_l1_loss_backward,
)
from scratch.nn.functional.loss_probability import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_backward, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_backward, kl_div, kl_div_backward,
)
