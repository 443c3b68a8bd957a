"""Ordinary networks built with flax and wrapped into the ``Model(init, apply)`` pair.

Params are the flax ``"params"`` collection, e.g. ``{"Dense_0": {"kernel": (in, out),
"bias": (out,)}, ...}``, so pytree paths name layers. No batch statistics: these
models have no mutable state.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from landscape._util import check_positive_int
from landscape.problem import Model

_ACTIVATIONS = {
    "relu": nn.relu,
    "tanh": jnp.tanh,
    "erf": jax.scipy.special.erf,
    "gelu": nn.gelu,
    "softplus": nn.softplus,
    "linear": lambda h: h,
}


def _activation(name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation={name!r}; expected one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]


class _MLP(nn.Module):
    widths: tuple[int, ...]
    activation: str

    @nn.compact
    def __call__(self, x):
        g = _activation(self.activation)
        for i, width in enumerate(self.widths):
            x = nn.Dense(width)(x)
            if i < len(self.widths) - 1:
                x = g(x)
        return x


def _wrap(module: nn.Module, input_shape: tuple[int, ...], squeeze: bool) -> Model:
    def init(key):
        return module.init(key, jnp.zeros((1, *input_shape)))["params"]

    def apply(params, x):
        out = module.apply({"params": params}, x)
        return out[:, 0] if squeeze else out

    return Model(init, apply)


def mlp(features: Sequence[int], activation: str = "relu") -> Model:
    """A fully connected network with layer widths ``features`` (input first, output last).

    ``mlp([64, 32, 10])`` maps (P, 64) inputs to (P, 10) logits through one
    hidden layer of 32 units; an output width of 1 gives a binary model with
    outputs (P,). Kernels use flax's LeCun-normal initialisation.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> model = mlp([4, 8, 3])
        >>> params = model.init(jax.random.key(0))
        >>> model.apply(params, jnp.ones((5, 4))).shape
        (5, 3)
    """
    features = tuple(features)
    if len(features) < 2:
        raise ValueError(f"features={features}; expected at least (input, output) widths")
    for i, f in enumerate(features):
        check_positive_int(f, f"features[{i}]")
    _activation(activation)
    module = _MLP(features[1:], activation)
    return _wrap(module, (features[0],), squeeze=features[-1] == 1)


class _CNN(nn.Module):
    input_shape: tuple[int, int, int]
    channels: tuple[int, ...]
    hidden: int
    outputs: int
    activation: str

    @nn.compact
    def __call__(self, x):
        g = _activation(self.activation)
        x = x.reshape((x.shape[0], *self.input_shape))
        for c in self.channels:
            x = g(nn.Conv(c, (3, 3), padding="SAME")(x))
            x = nn.avg_pool(x, (2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        x = g(nn.Dense(self.hidden)(x))
        return nn.Dense(self.outputs)(x)


def cnn(
    input_shape: Sequence[int] = (8, 8, 1),
    channels: Sequence[int] = (8, 16),
    hidden: int = 32,
    outputs: int = 10,
    activation: str = "relu",
) -> Model:
    """A small LeNet-like network: conv-pool blocks, a hidden dense layer, the output layer.

    Each entry of ``channels`` adds a 3x3 convolution, the activation and a 2x2
    average pool.

    Inputs may be flat (P, H*W*C) or shaped (P, H, W, C); they are reshaped to
    ``input_shape``. Each pooling halves H and W, so H and W must be divisible
    by 2**len(channels).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> model = cnn()
        >>> model.apply(model.init(jax.random.key(0)), jnp.ones((2, 64))).shape
        (2, 10)
    """
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape={input_shape}; expected (height, width, channels) > 0")
    scale = 2 ** len(channels)
    if input_shape[0] % scale or input_shape[1] % scale:
        raise ValueError(
            f"input_shape={input_shape} with {len(channels)} pooling layers; "
            f"expected height and width divisible by {scale}"
        )
    check_positive_int(hidden, "hidden")
    check_positive_int(outputs, "outputs")
    _activation(activation)
    module = _CNN(input_shape, tuple(channels), hidden, outputs, activation)
    return _wrap(module, input_shape, squeeze=outputs == 1)
