from scratch.nn.modules.activation import (
    ELU, GELU, LeakyReLU, LogSoftmax, PReLU, ReLU, Sigmoid, SiLU, Softmax, Tanh,
)
from scratch.nn.modules.batchnorm import BatchNorm1d
from scratch.nn.modules.dropout import Dropout
from scratch.nn.modules.linear import Flatten, Identity, Linear, Maxout
from scratch.nn.modules.module import Module, Sequential

__all__ = [
    "Module", "Sequential",
    "Linear", "Maxout", "Flatten", "Identity", "Dropout", "BatchNorm1d",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "Sigmoid", "Tanh", "SiLU", "GELU", "Softmax", "LogSoftmax",
]
