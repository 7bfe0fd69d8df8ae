"""check_jax_activation with custom_vjp functions, the scoped float64 setting, and jax_backward."""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax", reason="JAX extra not installed: pip install 'backprop-derive[jax]'")
jnp = jax.numpy

import derive  # noqa: E402
from derive.frameworks import check_jax_activation, jax_backward  # noqa: E402

ISRLU = "where(z >= 0, z, z / sqrt(1 + z**2))"  # pytorch/pytorch#4355's activation, a = 1


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


def test_isrlu_forgotten_cotangent_is_named():
    report = check_jax_activation(ISRLU, BUGGY["forgotten upstream factor (ISRLU)"][1], dtypes=("float64",))
    assert not report.ok and report.pieces[0] == "upstream-gradient factor", str(report)
    assert check_jax_activation(ISRLU, CORRECT["isrlu"][1], dtypes=("float64",)).ok


def test_float64_is_scoped_and_the_global_flag_is_unchanged():
    before = jax.config.jax_enable_x64
    report = check_jax_activation("tanh", CORRECT["tanh"][1], dtypes=("float64",))
    assert report.ok and report.dtypes == ["float64"]
    assert jax.config.jax_enable_x64 == before
    assert jnp.ones(1).dtype == (jnp.float64 if before else jnp.float32)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORRECT))
def test_every_correct_function_passes(name):
    spec, fn = CORRECT[name]
    report = check_jax_activation(spec, fn)
    assert report.ok, str(report)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BUGGY))
def test_buggy_functions_are_caught_and_named(case):
    spec, fn, piece = BUGGY[case]
    report = check_jax_activation(spec, fn)
    assert not report.ok and piece in report.pieces, str(report)


def _J(P, X, Y, act=jnp.tanh):
    A1 = act(P["W1"] @ X + P["b1"])
    A2 = act(P["W2"] @ A1 + P["b2"])
    Z3 = P["W3"] @ A2 + P["b3"]
    return jnp.sum(jnp.logaddexp(0.0, Z3) - Y * Z3) / X.shape[1]


@pytest.mark.slow
def test_jax_loss_through_check_backprop_and_negative_control():
    assert derive.check_backprop(jax_backward(_J), f="tanh", g="tanh", max_examples=3).ok
    bad = BUGGY["sign slip (tanh)"][1]
    assert not derive.check_backprop(jax_backward(lambda P, X, Y: _J(P, X, Y, bad)), f="tanh", g="tanh",
                                     max_examples=3).ok
