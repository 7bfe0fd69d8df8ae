"""Custom torch.autograd.Functions for the framework-checker tests: correct ones and buggy ones.

Written for these tests.  The ISRLU case follows the report in
pytorch/pytorch#4355 (a custom ISRLU Function whose backward forgets to
multiply by grad_output, which gradcheck flags only "with a cryptic error").
ISRLU itself: Carlile et al., "Improving deep learning by inverse square root
linear units" (2017): x for x >= 0, x / sqrt(1 + a x^2) below.
"""

from __future__ import annotations

import math

import torch

ISRLU = "where(z >= 0, z, z / sqrt(1 + z**2))"  # a = 1
SELU_SCALE, SELU_ALPHA = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717


def _fn(name, forward, backward, save="x"):
    """A Function class from a forward f(x) and a backward d(x, y, grad) (both torch ops)."""

    def fwd(ctx, x):
        y = forward(x)
        ctx.save_for_backward(x, y) if save == "xy" else ctx.save_for_backward(x)
        return y

    def bwd(ctx, grad):
        saved = ctx.saved_tensors
        x = saved[0]
        y = saved[1] if len(saved) > 1 else None
        return backward(x, y, grad)

    return type(name, (torch.autograd.Function,), {"forward": staticmethod(fwd), "backward": staticmethod(bwd)})


def _sig(x):
    return torch.sigmoid(x)


def _softplus(x):
    return torch.logaddexp(x, torch.zeros_like(x))


def _isrlu_d(x):
    neg = torch.clamp(x, max=0)
    return torch.where(x >= 0, torch.ones_like(x), torch.rsqrt(1 + neg * neg) ** 3)


def _isrlu(x):
    # x / sqrt(1 + x^2) without overflowing x*x: sign(x) / sqrt(1/x^2 + 1) for large |x|
    neg = torch.clamp(x, max=0)
    big = neg < -1e150
    safe = torch.where(big, torch.full_like(x, -1.0), neg)
    small = safe * torch.rsqrt(1 + safe * safe)
    return torch.where(x >= 0, x, torch.where(big, -torch.rsqrt(1 + 1 / (x * x)), small))


# name -> (activation spec, correct Function)
CORRECT = {
    "relu": ("relu", _fn("Relu", lambda x: torch.clamp(x, min=0), lambda x, y, g: g * (x > 0).to(x.dtype))),
    "leaky_relu": ("leaky_relu", _fn("LeakyRelu", lambda x: torch.where(x > 0, x, 0.01 * x),
                                     lambda x, y, g: g * torch.where(x > 0, torch.ones_like(x), torch.full_like(x, 0.01)))),
    "sigmoid": ("sigmoid", _fn("Sigmoid", _sig, lambda x, y, g: g * y * (1 - y), save="xy")),
    "tanh": ("tanh", _fn("Tanh", torch.tanh, lambda x, y, g: g * (1 - y * y), save="xy")),
    "elu": ("elu", _fn("Elu", lambda x: torch.where(x > 0, x, torch.expm1(torch.clamp(x, max=0))),
                       lambda x, y, g: g * torch.where(x > 0, torch.ones_like(x), torch.exp(torch.clamp(x, max=0))))),
    "selu": ("selu", _fn("Selu", lambda x: SELU_SCALE * torch.where(x > 0, x, SELU_ALPHA * torch.expm1(torch.clamp(x, max=0))),
                         lambda x, y, g: g * SELU_SCALE * torch.where(x > 0, torch.ones_like(x),
                                                                      SELU_ALPHA * torch.exp(torch.clamp(x, max=0))))),
    "softplus": ("softplus", _fn("Softplus", _softplus, lambda x, y, g: g * _sig(x))),
    "swish": ("swish", _fn("Swish", lambda x: x * _sig(x),
                           lambda x, y, g: g * (_sig(x) + x * _sig(x) * _sig(-x)))),
    "mish": ("mish", _fn("Mish", lambda x: x * torch.tanh(_softplus(x)),
                         lambda x, y, g: g * (torch.tanh(_softplus(x))
                                              + x * _sig(x) * (1 - torch.tanh(_softplus(x)) ** 2)))),
    "gelu": ("gelu", _fn("Gelu", lambda x: x * 0.5 * torch.erfc(-x / math.sqrt(2)),
                         lambda x, y, g: g * (0.5 * torch.erfc(-x / math.sqrt(2))
                                              + x * torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)))),
    "softsign": ("softsign", _fn("Softsign", lambda x: x / (1 + x.abs()), lambda x, y, g: g / (1 + x.abs()) ** 2)),
    "isrlu": (ISRLU, _fn("Isrlu", _isrlu, lambda x, y, g: g * _isrlu_d(x))),
}


class IsrluForgetsGrad(torch.autograd.Function):
    """pytorch/pytorch#4355: backward returns the local derivative, never multiplied by grad_output."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _isrlu(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return _isrlu_d(x)  # BUG: should be grad_output * _isrlu_d(x)


class EluSavedThenInPlace(torch.autograd.Function):
    """Saves its input for backward, then computes exp(x) - 1 in place in it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        neg = torch.expm1(torch.clamp(x, max=0))
        return torch.where(x > 0, x.clone(), x.copy_(neg))  # BUG: overwrites the saved input

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.where(x > 0, torch.ones_like(x), torch.exp(torch.clamp(x, max=0)))


# name -> (activation spec, buggy Function, expected blamed piece)
BUGGY = {
    "forgotten upstream factor (ISRLU, #4355)": (ISRLU, IsrluForgetsGrad, "upstream-gradient factor"),
    "forgotten upstream factor (relu)": ("relu", _fn("ReluNoGrad", lambda x: torch.clamp(x, min=0),
                                                     lambda x, y, g: (x > 0).to(x.dtype)), "upstream-gradient factor"),
    "sign slip (tanh)": ("tanh", _fn("TanhSign", torch.tanh, lambda x, y, g: -g * (1 - y * y), save="xy"), "backward"),
    "wrong kink side (leaky_relu)": ("leaky_relu", _fn("LeakySwapped", lambda x: torch.where(x > 0, x, 0.01 * x),
                                                       lambda x, y, g: g * torch.where(x > 0, torch.full_like(x, 0.01), torch.ones_like(x))),
                                     "backward"),
    "float32-only overflow (softplus)": ("softplus", _fn(
        "SoftplusF64Threshold", lambda x: torch.where(x > 700, x, torch.log1p(torch.exp(x))),
        lambda x, y, g: g * _sig(x)), "dtype"),
    "derivative from output applied to input (sigmoid)": ("sigmoid", _fn(
        "SigmoidOnInput", _sig, lambda x, y, g: g * x * (1 - x)), "backward"),
    "in-place on a saved tensor (elu)": ("elu", EluSavedThenInPlace, "in-place"),
    "second derivative: saved intermediate treated as constant (mish)": ("mish", None, "second derivative"),
}


class MishConstT(torch.autograd.Function):
    """Saves tanh(softplus(x)) from forward: double backward treats it as a constant."""

    @staticmethod
    def forward(ctx, x):
        t = torch.tanh(_softplus(x))
        ctx.save_for_backward(x, t)
        return x * t

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        return grad * (t + x * _sig(x) * (1 - t * t))


BUGGY["second derivative: saved intermediate treated as constant (mish)"] = ("mish", MishConstT, "second derivative")

# expected diagnosis words in the message
DIAGNOSIS = {
    "forgotten upstream factor (ISRLU, #4355)": "ignores the upstream gradient",
    "forgotten upstream factor (relu)": "ignores the upstream gradient",
    "sign slip (tanh)": "sign slip",
    "wrong kink side (leaky_relu)": "wrong kink side",
    "float32-only overflow (softplus)": "float32 only",
    "derivative from output applied to input (sigmoid)": "derivative from the output applied to the input",
    "in-place on a saved tensor (elu)": "modified its input tensor in place",
    "second derivative: saved intermediate treated as constant (mish)": "wrong second derivative",
}
