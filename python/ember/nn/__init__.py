"""ember.nn: modules, layers, activations, losses, initialisation (torch.nn's names)."""
from . import functional, init
from .activations import (ELU, GELU, SELU, Hardtanh, LeakyReLU, LogSoftmax, Maxout, ReLU, ReLU6, Sigmoid, SiLU,
                          Softmax, Softplus, Tanh)
from .containers import ModuleDict, ModuleList, Sequential
from .layers import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Dropout, Dropout2d,
                     Embedding, Flatten, Identity, LayerNorm, Linear, MaxPool1d, MaxPool2d, Unflatten)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, MultiMarginLoss, NLLLoss, SmoothL1Loss)
from .module import Module
from .parameter import Buffer, Parameter
from . import utils
from .attention import *  # noqa: F401,F403
from .graph import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
