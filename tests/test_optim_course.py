"""The course's momentum form (v <- m v - lr g; w <- w + v) against torch's SGD (b <- m b + g;
w <- w - lr b): the same weights while lr is constant, apart once a schedule changes lr, and
scratch's SGD follows torch's form.

Expected values come from torch (run side by side) or are derived by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import scratch.optim as sopt
from reference.hypothesis_profiles import scaled
from scratch.nn import Parameter
from scratch.optim.sgd import course_momentum_step

# ---- the course's momentum form v <- m v - lr g; w <- w + v versus torch's b <- m b + g; w <- w - lr b ----

def _course_run(w, grads, lrs, momentum):
    v, out = None, []
    for g, lr in zip(grads, lrs):
        w, v = course_momentum_step(w, g, v, lr=lr, momentum=momentum)
        out.append((w.copy(), v.copy()))
    return out


def _torch_run(w, grads, lrs, momentum):
    p, out = torch.tensor(w, requires_grad=True), []
    opt = torch.optim.SGD([p], lr=lrs[0], momentum=momentum)
    for g, lr in zip(grads, lrs):
        opt.param_groups[0]["lr"] = lr
        p.grad = torch.tensor(g)
        opt.step()
        out.append((p.detach().numpy().copy(), opt.state[p]["momentum_buffer"].numpy().copy()))
    return out


@settings(max_examples=scaled(20))
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.5, 0.9, 0.99]), st.floats(1e-3, 0.5), st.integers(1, 20))
def test_course_momentum_equals_torch_while_lr_is_constant(seed, momentum, lr, n):
    # v_1 = -lr g_1 = -lr b_1, and if v_{t-1} = -lr b_{t-1} then v_t = m v_{t-1} - lr g_t = -lr (m b_{t-1} + g_t)
    # = -lr b_t: the velocities are -lr times torch's buffer, so the weights move identically
    rng = np.random.default_rng(seed)
    w0, grads = rng.standard_normal(4), [rng.standard_normal(4) for _ in range(n)]
    for (wc, v), (wt, b) in zip(_course_run(w0, grads, [lr] * n, momentum), _torch_run(w0, grads, [lr] * n, momentum)):
        np.testing.assert_allclose(wc, wt, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(v, -lr * b, rtol=1e-12, atol=1e-14)


def test_course_momentum_parts_from_torch_once_lr_changes():
    # w0 = 0, g = 1 every step, m = 0.9; lr 0.1, 0.1, then 0.01. By hand:
    #   torch:  b = 1, 1.9, 2.71;           w = -0.1, -0.29, -0.29 - 0.01 * 2.71 = -0.3171
    #   course: v = -0.1, -0.19, -0.181;    w = -0.1, -0.29, -0.29 - 0.181       = -0.471
    # torch rescales the whole history by the new lr; the course form keeps old lrs inside v.
    grads, lrs = [np.array(1.0)] * 3, [0.1, 0.1, 0.01]
    course, ref = _course_run(np.array(0.0), grads, lrs, 0.9), _torch_run(np.array(0.0), grads, lrs, 0.9)
    np.testing.assert_allclose([w for w, _ in ref], [-0.1, -0.29, -0.3171], rtol=1e-12)
    np.testing.assert_allclose([w for w, _ in course], [-0.1, -0.29, -0.471], rtol=1e-12)
    np.testing.assert_allclose([v for _, v in course], [-0.1, -0.19, -0.181], rtol=1e-12)
    # scratch's SGD is torch's form, not the course's, when a schedule changes lr
    s = [Parameter(np.array(0.0))]
    opt = sopt.SGD(s, lr=0.1, momentum=0.9)
    for lr in lrs:
        opt.param_groups[0]["lr"] = lr
        s[0].grad = np.array(1.0)
        opt.step()
    np.testing.assert_allclose(s[0].data, -0.3171, rtol=1e-12)
