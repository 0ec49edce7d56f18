"""ember.data: datasets, the batch loader, splits and k-fold cross-validation."""
from .dataset import Dataset, Subset, TensorDataset, random_split
from .loader import DataLoader
from .splits import kfold, train_val_test_split

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "train_val_test_split", "kfold"]
