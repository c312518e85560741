"""``scratch.autograd``: a small reverse-mode automatic differentiation engine over NumPy arrays,
spelled like torch's.

    from scratch.autograd import Tensor, maximum
    x = Tensor(np.array([-2.0]), requires_grad=True)
    y, z = Tensor(np.array([5.0]), requires_grad=True), Tensor(np.array([-4.0]), requires_grad=True)
    f = ((x + y) * z).sum()     # -12
    f.backward()                # x.grad == y.grad == [-4.], z.grad == [3.]

``Tensor(data, requires_grad=False)`` has ``data``, ``grad``, ``requires_grad``, ``grad_fn``,
``backward(gradient=None, retain_graph=None)``; operators ``+ - * / ** @`` and unary ``-`` (Python
numbers and arrays allowed on either side); methods ``exp``, ``log``, ``tanh``, ``sigmoid``,
``relu``, ``sum(dim=None, keepdim=False)``, ``mean(...)``, ``reshape``, ``transpose``, ``permute``,
``T``, indexing (ints, slices, boolean masks, integer arrays); and ``maximum(a, b)``. NumPy
broadcasting throughout, gradients summed back to each input's shape.

Layout: ``function`` (the op protocol and ``unbroadcast``), ``ops`` and ``shape_ops`` (each op's
forward next to its local derivative), ``engine`` (topological sort and the backward sweep),
``tensor`` (the user-facing class). Twin: ``torch.Tensor`` with ``torch.autograd``.
"""

from scratch.autograd.function import Context, Function, unbroadcast
from scratch.autograd.tensor import Tensor, apply, maximum

__all__ = ["Tensor", "maximum", "Function", "Context", "apply", "unbroadcast"]
