"""hcref: an autodiff-free NumPy reference for deep networks as dynamical systems.

Every mechanism is a forward/backward pair with a hand-derived gradient (see the README
section 2 and lesson 00). Sub-packages follow the five source documents:
``mixing`` (000), ``hyper`` (001), ``ode`` (002), ``leaky`` (003), ``ff`` (004).
"""
__version__ = "0.1.0"

from . import backend, blocks, gradcheck, optim  # noqa: F401
from .backend import get_xp, to_numpy, asarray  # noqa: F401
