"""Optimizers with torch's class names (filled by the optimizers work; namespace mirrors torch.optim)."""

from scratch.optim import lr_scheduler  # noqa: F401
