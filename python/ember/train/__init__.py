"""ember.train: the training loop (fit / evaluate / predict), callbacks and hyperparameter search."""
from .callbacks import Callback, EarlyStopping, ModelCheckpoint
from .history import History
from .loop import evaluate, fit, predict
from .search import grid_search, random_search

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "EarlyStopping", "ModelCheckpoint", "grid_search",
           "random_search"]
