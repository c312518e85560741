"""Course-style update rules written from the formulas: rule(w, dw, config) -> (next_w, config).
Only NumPy."""

import numpy as np


def sgd(w, dw, config=None):
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """v = momentum * v - lr * dw; w = w + v."""
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """cache = decay * cache + (1 - decay) * dw^2; w -= lr * dw / (sqrt(cache) + eps)."""
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache", np.zeros_like(w))
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config=None):
    """t += 1; m, v moving averages; bias-corrected m_hat / (sqrt(v_hat) + eps)."""
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    m, v, t = config.get("m", np.zeros_like(w)), config.get("v", np.zeros_like(w)), config.get("t", 0)
    b1, b2 = config["beta1"], config["beta2"]
    t += 1
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw * dw
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def adam_eps_inside(w, dw, config=None):
    """A variant: sqrt(v_hat + eps) in the denominator."""
    eps = (config or {}).get("epsilon", 1e-8)
    config = dict(config or {}, epsilon=0.0)
    w0 = w.copy()
    next_w, config = adam(w, dw, config)
    config["epsilon"] = eps
    m_hat = config["m"] / (1 - config["beta1"] ** config["t"])
    v_hat = config["v"] / (1 - config["beta2"] ** config["t"])
    return w0 - config["learning_rate"] * m_hat / np.sqrt(v_hat + eps), config
