"""The backward pass: a topological order of the graph, then one sweep from the output back.

For an output y with upstream gradient G (ones for a scalar, like torch's implicit gradient),
every tensor t in the graph gets dL/dt = sum over its consumers c of (local derivative of c)^T
applied to dL/dc, with L = sum(y * G). Processing tensors in reverse topological order means a
tensor's gradient is complete (all its consumers done) before it is passed on, which is what makes
a shared subexpression (a node used twice) correct. Leaf tensors that require grad accumulate into
``.grad`` (set on the first backward, added on later ones, like torch); intermediate gradients are
not kept. Twin: ``torch.Tensor.backward`` / ``torch.autograd.backward``.
"""

from __future__ import annotations

import numpy as np

from scratch.autograd.function import unbroadcast

__all__ = ["topological_order", "run_backward"]


def topological_order(root) -> list:
    """Tensors that require grad and reach ``root``, each after all of its inputs (root last).

    Iterative depth-first post-order (deep graphs do not hit Python's recursion limit). A tensor is
    marked when it is *expanded*, not when it is pushed: marking on push can emit a tensor before
    one of its consumers' other inputs, and that breaks shared subexpressions.
    """
    order, expanded, stack = [], set(), [(root, False)]
    while stack:
        t, finished = stack.pop()
        if finished:
            order.append(t)
            continue
        if id(t) in expanded:
            continue
        expanded.add(id(t))
        stack.append((t, True))
        if t._node is not None:
            for p in t._node.inputs:
                if getattr(p, "requires_grad", False) and id(p) not in expanded:
                    stack.append((p, False))
    return order


def run_backward(root, gradient=None, retain_graph: bool = False) -> None:
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs; the output has shape "
                               f"{root.shape}: pass gradient= of that shape")
        gradient = np.ones_like(root.data)
    else:
        gradient = np.asarray(getattr(gradient, "data", gradient))
        if gradient.shape != root.shape:
            raise ValueError(f"backward: gradient has shape {gradient.shape} but the output has shape {root.shape}")
    grads = {id(root): gradient.astype(root.dtype, copy=False)}
    for t in reversed(topological_order(root)):
        g = grads.pop(id(t), None)
        if g is None:  # every consumer's backward returned None for it: nothing flows
            continue
        if t._node is None:
            t.grad = g.copy() if t.grad is None else t.grad + g
            continue
        node = t._node
        in_grads = node.fn.backward(node.ctx, g)
        if not retain_graph:
            node.ctx.free()
        for inp, gi, need in zip(node.inputs, in_grads, node.ctx.needs_input_grad):
            if not need or gi is None:
                continue
            gi = unbroadcast(gi, inp.shape).astype(inp.dtype, copy=False)
            grads[id(inp)] = gi if id(inp) not in grads else grads[id(inp)] + gi
