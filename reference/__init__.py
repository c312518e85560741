"""PyTorch twins of scratch's components, the component registry, the comparison
engine and ``python -m reference.verify``."""
