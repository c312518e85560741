"""Pure kernels, the NumPy counterpart of ``torch.nn.functional``.

Each forward kernel has a ``*_backward`` beside it that maps the upstream
gradient to the input gradient (and parameter gradients where there are any).
No state lives here: modules in ``scratch.nn`` keep caches and parameters.
"""

from scratch.nn.functional.activation import (  # noqa: F401
    elu, elu_backward, gelu, gelu_backward, leaky_relu, leaky_relu_backward,
    log_softmax, log_softmax_backward, prelu, prelu_backward, relu, relu_backward,
    sigmoid, sigmoid_backward, silu, silu_backward, softmax, softmax_backward,
    tanh, tanh_backward,
)
from scratch.nn.functional.dropout import dropout, dropout_backward, dropout_mask  # noqa: F401
from scratch.nn.functional.linear import linear, linear_backward, maxout, maxout_backward  # noqa: F401
from scratch.nn.functional.normalization import (  # noqa: F401
    batch_norm_backward, batch_norm_forward, batch_stats, update_running_stats,
)
