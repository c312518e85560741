"""Pure kernels, the NumPy counterpart of ``torch.nn.functional``.

Each forward kernel has a ``*_backward`` beside it that maps the upstream
gradient to the input gradient (and parameter gradients where there are any).
No state lives here: modules in ``scratch.nn`` keep the parameters, and what backward needs
in one ``Context`` per forward (``save_for_backward`` / ``saved_tensors``).
"""

from scratch.nn.functional.activation import (  # noqa: F401
    elu, elu_backward, gelu, gelu_backward, leaky_relu, leaky_relu_backward,
    log_softmax, log_softmax_backward, prelu, prelu_backward, relu, relu_backward,
    sigmoid, sigmoid_backward, silu, silu_backward, softmax, softmax_backward,
    tanh, tanh_backward,
)
from scratch.nn.functional.dropout import dropout, dropout_backward, dropout_mask  # noqa: F401
from scratch.nn.functional.linear import linear, linear_backward, maxout, maxout_backward  # noqa: F401
from scratch.nn.functional.loss import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_backward, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_backward, cross_entropy, cross_entropy_backward, half_sum_of_squares,
    half_sum_of_squares_backward, huber_loss, huber_loss_backward, kl_div, kl_div_backward, l1_loss,
    l1_loss_backward, mse_loss, mse_loss_backward, multi_margin_loss, multi_margin_loss_backward,
    multiclass_hinge_loss, multiclass_hinge_loss_backward, nll_loss, nll_loss_backward, smooth_l1_loss,
    smooth_l1_loss_backward,
)
from scratch.nn.functional.penalty import (  # noqa: F401
    elastic_net, elastic_net_backward, l1_penalty, l1_penalty_backward, l2_penalty, l2_penalty_backward,
)
from scratch.nn.functional.normalization import (  # noqa: F401
    batch_norm_backward, batch_norm_forward, batch_stats, update_running_stats,
)
