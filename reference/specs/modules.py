"""Specs for scratch.nn's layers and activations."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import scratch.nn as snn
from reference import strategies as S
from reference import twins
from reference.specs import bench_data as B
from reference.convert import to_numpy
from reference.spec import BUFFERS, FIXED_INIT, PARAMS, STOCHASTIC, TRAIN_EVAL, ErrorInput, Spec
from reference import variants as RV
from reference.styles import cs231n


def dropout_mask_from_twin(twin, x, seed):
    """Seed torch so the twin's next forward draws a known mask, and return that mask.

    The mask is read off ``F.dropout(ones)`` under ``seed``; the seed is then set
    again so the twin's own forward draws the very same mask. Works on any device
    (it is the twin's own kernel) and gives the same mask in float32 and float64.
    """
    if not twin.training:
        return None
    torch.manual_seed(seed)
    mask = nn.functional.dropout(torch.ones_like(x), twin.p, training=True) != 0
    torch.manual_seed(seed)
    return to_numpy(mask)


def inject_dropout_mask(candidate, mask):
    """The stochastic part of the candidate protocol: ``inject_mask(mask)`` before a training forward."""
    if mask is not None:
        candidate.inject_mask(mask)


def prelu_sum_terms(case) -> dict:
    """PReLU's weight gradient sums x * g over every element of a channel (those with x <= 0),
    over every call so far; run on -|x| every element counts, which bounds the masked sum."""
    channels = case.config.get("num_parameters", 1)
    return {"grad:weight": sum(int(np.size(x) // channels) for x in case.inputs) + len(case.inputs)}


def _rows(x) -> int:
    return int(np.prod(np.shape(x)[:-1]))


def linear_sum_terms(case) -> dict:
    """Every quantity of Linear is a sum of products: y_j = sum_k x_k W_jk + b_j, dL/dx = g W,
    and dL/dW = g^T x, dL/db = sum of g over the rows of every call so far (never zeroed)."""
    rows = sum(_rows(x) for x in case.inputs) + len(case.inputs)
    return {"output": case.config["in_features"] + 1, "grad_input": case.config["out_features"],
            "grad:weight": rows, "grad:bias": rows}


def batch_norm_sum_terms(case) -> dict:
    """The running mean is a weighted sum of every training input so far: (1 - m) mean + m x-bar."""
    per_channel = sum(int(np.size(x) // case.config["num_features"]) for x in case.inputs)
    return {"buffer:running_mean": per_channel + 2 * len(case.inputs)}


_F32 = np.float32
LINEAR_ERRORS = (
    ErrorInput(dict(in_features=3, out_features=2), np.ones((2, 4), _F32), ValueError,
               r"expected 3 in_features in dim -1, got shape \(2, 4\)"),
    ErrorInput(dict(in_features=3, out_features=2), np.ones((2, 3)), TypeError, "expected dtype float32"),
)
BATCH_NORM_ERRORS = (
    ErrorInput(dict(num_features=3), np.ones(3, _F32), ValueError,
               r"expected 2-D or 3-D input \(N, C\) or \(N, C, L\), got shape \(3,\)"),
    ErrorInput(dict(num_features=3), np.ones((4, 5), _F32), ValueError, "expected 3 channels in dim 1"),
    ErrorInput(dict(num_features=3), np.ones((1, 3), _F32), ValueError, "more than 1 value per channel"),
)


def _act(name, cls, twin_cls, cases=S.elementwise_cases, kinks=(), draws="", **kw):
    kw.setdefault("bench", B.activations(**kw.get("default_config", {})))
    return Spec(name=name, component=cls, twin=twin_cls, twin_name=f"torch.nn.{twin_cls.__name__}",
                cases=cases, kinks=kinks, draws=draws, calls=("train", "train"), **kw)


# dim=None is drawn on purpose: torch's legacy dimension rule, which warns
_LEGACY_DIM = ("Implicit dimension choice",)

SPECS = [
    Spec("linear", snn.Linear, nn.Linear, "torch.nn.Linear", S.linear_cases,
         default_config=dict(in_features=3, out_features=2), tags=frozenset({PARAMS}), sum_terms=linear_sum_terms,
         error_inputs=LINEAR_ERRORS, bench=B.activations(in_features=256, out_features=256),
         styles={"cs231n": cs231n.linear},
         draws="in_features 1..64, out_features 1..64, bias; input (N, in), (in,) or (N, M, in)"),
    Spec("maxout", snn.Maxout, twins.TorchMaxout, "reference.twins.TorchMaxout (linear + max over pieces)",
         S.maxout_cases, default_config=dict(in_features=3, out_features=2, pieces=2),
         tags=frozenset({PARAMS}), bench=B.activations(in_features=256, out_features=128, pieces=2),
         draws="in_features 1..16, out_features 1..8, pieces 1..4, bias; exact ties"),
    Spec("flatten", snn.Flatten, nn.Flatten, "torch.nn.Flatten", S.flatten_cases,
         default_shape=(2, 3, 4), calls=("train", "train"), bench=B.images(), draws="start_dim, end_dim over 2..4-D input"),
    Spec("identity", snn.Identity, nn.Identity, "torch.nn.Identity", S.identity_cases, calls=("train", "train"),
         bench=B.activations()),
    Spec("dropout", snn.Dropout, nn.Dropout, "torch.nn.Dropout", S.dropout_cases,
         default_config=dict(p=0.5), tags=frozenset({STOCHASTIC, TRAIN_EVAL}), sync_twin=dropout_mask_from_twin,
         sync_candidate=inject_dropout_mask,
         error_inputs=(ErrorInput(dict(p=1.5), None, ValueError, r"probability in \[0, 1\], got 1.5"),),
         bench=B.activations(p=0.5), styles={"cs231n": cs231n.dropout},
         draws="p in [0, 1] (0, 0.5 and 1 exactly), inplace; mask synced through inject_mask"),
    Spec("batch_norm1d", snn.BatchNorm1d, nn.BatchNorm1d, "torch.nn.BatchNorm1d", S.batch_norm1d_cases,
         default_config=dict(num_features=3), calls=("train", "train", "eval", "eval"),
         tags=frozenset({PARAMS, BUFFERS, TRAIN_EVAL, FIXED_INIT}), sum_terms=batch_norm_sum_terms,
         error_inputs=BATCH_NORM_ERRORS, bench=B.activations(num_features=256),
         styles={"cs231n": cs231n.batch_norm1d}, variants=RV.BATCH_NORM1D,
         draws="num_features 1..16, eps, momentum (None, 0, 1, (0,1)), affine, track_running_stats, bias; "
               "(N, C) and (N, C, L) input, batch 1 when L > 1"),
    _act("relu", snn.ReLU, nn.ReLU, S.inplace_cases, kinks=(0.0,), draws="inplace; kinks at 0",
         styles={"cs231n": cs231n.relu}, variants=RV.RELU),
    _act("leaky_relu", snn.LeakyReLU, nn.LeakyReLU, S.leaky_relu_cases, kinks=(0.0,),
         draws="negative_slope (0, 0.01, 1, negative), inplace; kinks at 0"),
    _act("prelu", snn.PReLU, nn.PReLU, S.prelu_cases, kinks=(0.0,), tags=frozenset({PARAMS, FIXED_INIT}),
         sum_terms=prelu_sum_terms, sum_input_sign=-1.0,
         default_config=dict(num_parameters=3),
         error_inputs=(ErrorInput(dict(num_parameters=4), np.ones((2, 3), _F32), ValueError,
                                  "expected 4 channels in dim 1"),), bench=B.activations(num_parameters=256),
         draws="num_parameters 1 or C, init; kinks at 0"),
    _act("elu", snn.ELU, nn.ELU, S.elu_cases, kinks=(0.0,), draws="alpha, inplace; kinks at 0"),
    _act("sigmoid", snn.Sigmoid, nn.Sigmoid),
    _act("tanh", snn.Tanh, nn.Tanh),
    _act("silu", snn.SiLU, nn.SiLU, S.inplace_cases, draws="inplace"),
    _act("gelu", snn.GELU, nn.GELU, S.gelu_cases, draws="approximate 'none' and 'tanh'"),
    _act("softmax", snn.Softmax, nn.Softmax, S.softmax_cases, default_config=dict(dim=1),
         ignore_warnings=_LEGACY_DIM, error_inputs=(ErrorInput(dict(dim=2), np.ones((2, 3)), IndexError,
                                                               r"expected a dim in \[-2, 1\]"),), draws="dim None (legacy rule) or any dim of 1..3-D input; logits up to 1e4"),
    _act("log_softmax", snn.LogSoftmax, nn.LogSoftmax, S.softmax_cases, default_config=dict(dim=1),
         ignore_warnings=_LEGACY_DIM, draws="dim None (legacy rule) or any dim of 1..3-D input; logits up to 1e4"),
    Spec("sequential", snn.Sequential, twins.torch_mlp, "torch.nn.Sequential (Linear, [BatchNorm1d], act, Linear)",
         S.sequential_cases, build=lambda **cfg: twins.mlp(snn, **cfg),
         default_config=dict(in_features=3, hidden=5, out_features=2),
         bench=B.activations(in_features=256, hidden=256, out_features=10),
         tags=frozenset({PARAMS, BUFFERS, TRAIN_EVAL}), local_sums=True,
         draws="in 1..16, hidden 1..16, out 1..8, activation ReLU/Tanh/Sigmoid/ELU, batch_norm"),
]
