from scratch.nn.modules.activation import (
    ELU, GELU, LeakyReLU, LogSoftmax, PReLU, ReLU, Sigmoid, SiLU, Softmax, Tanh,
)
from scratch.nn.modules.batchnorm import BatchNorm1d
from scratch.nn.modules.dropout import Dropout
from scratch.nn.modules.linear import Flatten, Identity, Linear, Maxout
from scratch.nn.modules.loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, MultiMarginLoss,
    NLLLoss, SmoothL1Loss,
)
from scratch.nn.modules.module import Module, Sequential

__all__ = [
    "Module", "Sequential",
    "Linear", "Maxout", "Flatten", "Identity", "Dropout", "BatchNorm1d",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "Sigmoid", "Tanh", "SiLU", "GELU", "Softmax", "LogSoftmax",
    "CrossEntropyLoss", "NLLLoss", "MultiMarginLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
    "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
]
