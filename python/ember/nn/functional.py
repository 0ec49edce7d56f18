"""ember.nn.functional: torch.nn.functional's names over the C++ ops (no math in Python)."""
from ._activation import *  # noqa: F401,F403
from ._conv import adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, max_pool1d, max_pool2d  # noqa: F401
from ._loss import *  # noqa: F401,F403
from ._norm import *  # noqa: F401,F403
