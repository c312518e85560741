"""Data pipeline: mini-batches, splits, preprocessing, augmentation and dataset loaders.

Everything is NumPy and seeded through an explicit ``numpy.random.Generator`` (or an int seed):

- ``DataLoader``, ``TensorDataset``, ``ReplayLoader`` (torch.utils.data's names): batches,
  with the batch order exportable so a second model consumes exactly the same batches;
- ``train_test_split``, ``train_val_test_split`` (optionally stratified);
- ``StandardScaler``, ``PCA`` (sklearn's names), fitted on the training split only;
- ``RandomHorizontalFlip``, ``RandomCrop``, ``Compose`` (torchvision's names) for (N, C, H, W);
- ``load_digits``, ``load_iris``, ``load_diabetes`` (sklearn's bundled files), ``load_mnist``
  and ``read_idx`` (local IDX files, raw or gzip).
"""

from scratch.data.augment import Compose, RandomCrop, RandomHorizontalFlip
from scratch.data.datasets import Bunch, load_diabetes, load_digits, load_iris, load_mnist, read_idx
from scratch.data.loader import DataLoader, ReplayLoader, TensorDataset
from scratch.data.preprocessing import PCA, NotFittedError, StandardScaler
from scratch.data.split import train_test_split, train_val_test_split

__all__ = [
    "DataLoader", "TensorDataset", "ReplayLoader",
    "train_test_split", "train_val_test_split",
    "StandardScaler", "PCA", "NotFittedError",
    "RandomHorizontalFlip", "RandomCrop", "Compose",
    "Bunch", "load_digits", "load_iris", "load_diabetes", "load_mnist", "read_idx",
]
