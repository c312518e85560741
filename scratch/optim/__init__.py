"""Optimizers with torch's class names (namespace mirrors torch.optim).

Each optimizer is a step kernel (``sgd_step``, ``adam_step``, ...; it updates the parameter and its
state in place, like torch's ``_single_tensor_*``) under a thin class that
follows torch's protocol: ``Cls(params, **torch_kwargs)``, ``param_groups``, ``state`` with torch's
names, ``step()``, ``zero_grad()``, ``add_param_group``, ``state_dict``/``load_state_dict``.
Each kernel is its formula in plain NumPy, in torch's operation order; where torch rounds x*y + c
once (a fused multiply-add in ``add(alpha=)``, ``addcmul``, ``lerp``), NumPy rounds twice.
"""

from scratch.optim.adadelta import Adadelta
from scratch.optim.adagrad import Adagrad
from scratch.optim.adam import Adam
from scratch.optim.adamax import Adamax
from scratch.optim.adamw import AdamW
from scratch.optim.nadam import NAdam
from scratch.optim.optimizer import Optimizer
from scratch.optim.radam import RAdam
from scratch.optim.rmsprop import RMSprop
from scratch.optim.sgd import SGD, course_momentum_step

from scratch.optim import lr_scheduler  # noqa: E402,F401  (after the optimizers: schedulers use them)

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adadelta",
           "course_momentum_step", "lr_scheduler"]
