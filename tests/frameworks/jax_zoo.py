"""JAX custom_vjp activations for the framework-checker tests (correct and buggy), and network losses.

Written for these tests.  The ISRLU case is the JAX counterpart of
pytorch/pytorch#4355 (a custom ISRLU whose backward forgets to multiply by
the upstream gradient); ISRLU: Carlile et al., "Improving deep learning by
inverse square root linear units" (2017).  Everything here is at module level
so that :func:`derive.frameworks.jax_backward` can send the losses to a fresh
process by reference.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

ISRLU = "where(z >= 0, z, z / sqrt(1 + z**2))"  # a = 1


def _vjp(name, f, d, upstream=True):
    """A custom_vjp function from f(x) and d(x) = f'(x); upstream=False forgets the cotangent."""
    fn = jax.custom_vjp(f)
    fn.defvjp(lambda x: (f(x), x), (lambda x, g: (g * d(x),)) if upstream else (lambda x, g: (d(x),)))
    fn.__qualname__ = name
    return fn


def _isrlu(x):
    neg = jnp.minimum(x, 0)
    return jnp.where(x >= 0, x, neg / jnp.sqrt(1 + neg * neg))


def _isrlu_d(x):
    neg = jnp.minimum(x, 0)
    return jnp.where(x >= 0, 1.0, (1 + neg * neg) ** -1.5)


sig = jax.nn.sigmoid
# name -> (activation spec, correct function)
CORRECT = {
    "relu": ("relu", _vjp("relu", jax.nn.relu, lambda x: jnp.where(x > 0, 1.0, 0.0).astype(x.dtype))),
    "leaky_relu": ("leaky_relu", _vjp("leaky", lambda x: jnp.where(x > 0, x, 0.01 * x),
                                      lambda x: jnp.where(x > 0, 1.0, 0.01).astype(x.dtype))),
    "sigmoid": ("sigmoid", _vjp("sigmoid", sig, lambda x: sig(x) * sig(-x))),
    "tanh": ("tanh", _vjp("tanh", jnp.tanh, lambda x: 1 - jnp.tanh(x) ** 2)),
    "elu": ("elu", _vjp("elu", lambda x: jnp.where(x > 0, x, jnp.expm1(jnp.minimum(x, 0))),
                        lambda x: jnp.where(x > 0, 1.0, jnp.exp(jnp.minimum(x, 0))))),
    "softplus": ("softplus", _vjp("softplus", lambda x: jnp.logaddexp(x, 0.0), sig)),
    "swish": ("swish", _vjp("swish", lambda x: x * sig(x), lambda x: sig(x) + x * sig(x) * sig(-x))),
    "softsign": ("softsign", _vjp("softsign", lambda x: x / (1 + jnp.abs(x)), lambda x: 1 / (1 + jnp.abs(x)) ** 2)),
    "isrlu": (ISRLU, _vjp("isrlu", _isrlu, _isrlu_d)),
}
# case -> (activation spec, buggy function, expected blamed piece)
BUGGY = {
    "forgotten upstream factor (ISRLU)": (ISRLU, _vjp("isrlu_nograd", _isrlu, _isrlu_d, upstream=False),
                                          "upstream-gradient factor"),
    "sign slip (tanh)": ("tanh", _vjp("tanh_sign", jnp.tanh, lambda x: jnp.tanh(x) ** 2 - 1), "backward"),
    "wrong kink side (leaky_relu)": ("leaky_relu", _vjp("leaky_swapped", lambda x: jnp.where(x > 0, x, 0.01 * x),
                                                        lambda x: jnp.where(x > 0, 0.01, 1.0).astype(x.dtype)),
                                     "backward"),
    "float32-only overflow (softplus)": ("softplus", _vjp(
        "softplus_f64_threshold", lambda x: jnp.where(x > 700, x, jnp.log1p(jnp.exp(x))), sig), "dtype"),
    "derivative from output applied to input (sigmoid)": ("sigmoid", _vjp("sigmoid_on_input", sig,
                                                                          lambda x: x * (1 - x)), "backward"),
}


def loss(P, X, Y, act=jnp.tanh):
    """The article's network with activation ``act`` in both hidden layers: mean BCE from the logits."""
    A1 = act(P["W1"] @ X + P["b1"])
    A2 = act(P["W2"] @ A1 + P["b2"])
    Z3 = P["W3"] @ A2 + P["b3"]
    return jnp.sum(jnp.logaddexp(0.0, Z3) - Y * Z3) / X.shape[1]


def loss_custom_tanh(P, X, Y):
    """The network with the correct custom_vjp tanh."""
    return loss(P, X, Y, CORRECT["tanh"][1])


def loss_sign_slip(P, X, Y):
    """The network with the sign-slipped custom_vjp tanh (a buggy activation inside a real network)."""
    return loss(P, X, Y, BUGGY["sign slip (tanh)"][1])


def loss_untraceable(P, X, Y):
    """Python control flow on a value: jax.jit cannot trace it, so the adapter runs it eagerly."""
    if float(jnp.sum(X * X)) > 1e300:
        return jnp.zeros(())
    return loss(P, X, Y)


def loss_hangs(P, X, Y):
    """Never returns (while JAX traces it)."""
    while True:
        pass
