"""Backprops written the way people write them, correct and with their bugs.

Every function here takes ``(params, X, Y)`` and is checked as it is, with
no wrapper: the checker's ``layout`` and ``params_as`` options meet the code
where it is.  The code is written for this project; each block names the
public style it follows (course notebooks and well-known repositories), so
that the shapes, caches and slips are the ones real users produce:

* course style: the L-layer functions of the deeplearning.ai "Neural Networks
  and Deep Learning" assignment (``linear_activation_forward``, caches,
  ``L_model_backward`` starting from ``dAL = -(Y/AL - (1-Y)/(1-AL))``), as in
  e.g. github.com/Silva-6/deeplearning.AI-deep_learning (8-L_model_backward.py);
* row-major layer classes: the ``Affine``/activation layer objects of cs231n
  and "Deep Learning from Scratch" (``out = x @ W + b``, ``dW = x.T @ dout``,
  ``db = dout.sum(axis=0)``), as in e.g. github.com/dionisos198/CardiacTest (Affine.py);
* ``nn.Linear`` layout: W stored (out, in), ``x @ W.T + b``, as PyTorch does;
* per-example loops with lists of (W, b): Nielsen's ``network.py``
  (``backprop(x, y)`` per example, ``nabla_w``/``nabla_b`` summed over the
  mini-batch, ``delta = cost_derivative(a, y) * sigmoid_prime(z)`` for the
  quadratic cost), as in e.g. github.com/DantrazTrev/Neural-Networks.
"""

from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------- shared pieces (as users write them)
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def relu(z):
    return np.maximum(0, z)


# ---------------------------------------------------------------- course style: L layers with caches
def _linear_activation_forward(A_prev, W, b, activation):
    Z = W @ A_prev + b
    A = {"relu": relu, "tanh": np.tanh, "sigmoid": sigmoid}[activation](Z)
    return A, ((A_prev, W, b), Z)


def _L_model_forward(X, parameters, hidden):
    caches, A = [], X
    L = len(parameters) // 2
    for l in range(1, L):
        A, cache = _linear_activation_forward(A, parameters["W" + str(l)], parameters["b" + str(l)], hidden[l - 1])
        caches.append(cache)
    AL, cache = _linear_activation_forward(A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


def _linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1 / m * dZ @ A_prev.T
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    return W.T @ dZ, dW, db


def _activation_backward(dA, Z, activation, tanh_from_z=False):
    if activation == "relu":
        dZ = np.array(dA, copy=True)
        dZ[Z <= 0] = 0
        return dZ
    if activation == "tanh":
        return dA * (1 - Z ** 2) if tanh_from_z else dA * (1 - np.tanh(Z) ** 2)
    s = sigmoid(Z)
    return dA * s * (1 - s)


def _L_model_backward(AL, Y, caches, hidden, start="dAL", tanh_from_z=False, eps=1e-8, output_cache_is_A=False):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    linear_cache, Z = caches[L - 1]
    if output_cache_is_A:  # the activation cache stored the output, not the pre-activation
        Z = AL
    if start == "dZL":  # the stable start: sigmoid and BCE together
        dZ = AL - Y
    else:
        if start == "dAL":
            dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
        elif start == "eps":  # "to avoid division by zero"
            dAL = -(np.divide(Y, AL + eps) - np.divide(1 - Y, 1 - AL + eps))
        else:  # "missing term": only the y log(a) part of the loss differentiated
            dAL = -np.divide(Y, AL)
        dZ = _activation_backward(dAL, Z, "sigmoid")
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = _linear_backward(dZ, linear_cache)
    for l in reversed(range(L - 1)):
        linear_cache, Z = caches[l]
        dZ = _activation_backward(grads["dA" + str(l + 1)], Z, hidden[l], tanh_from_z)
        grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = _linear_backward(dZ, linear_cache)
    return grads


def course_backward(parameters, X, Y):
    """The course's code, as submitted: right formulas, started from dAL (NaN where AL = 1.0)."""
    AL, caches = _L_model_forward(X, parameters, ("relu", "tanh"))
    return _L_model_backward(AL, Y, caches, ("relu", "tanh"))


def course_backward_stable(parameters, X, Y):
    """The course's code started from dZL = AL - Y: right everywhere."""
    AL, caches = _L_model_forward(X, parameters, ("relu", "tanh"))
    return _L_model_backward(AL, Y, caches, ("relu", "tanh"), start="dZL")


def course_tanh_prime_on_z(parameters, X, Y):
    """tanh' written as 1 - Z**2 (the from-output formula 1 - A**2 applied to Z), at layer 2."""
    AL, caches = _L_model_forward(X, parameters, ("relu", "tanh"))
    return _L_model_backward(AL, Y, caches, ("relu", "tanh"), tanh_from_z=True)


def course_epsilon(parameters, X, Y):
    """An epsilon added inside dAL 'to avoid division by zero'."""
    AL, caches = _L_model_forward(X, parameters, ("relu", "tanh"))
    return _L_model_backward(AL, Y, caches, ("relu", "tanh"), start="eps")


def course_missing_term(parameters, X, Y):
    """dAL = -Y/AL: the (1 - Y)/(1 - AL) part of the loss's derivative forgotten."""
    AL, caches = _L_model_forward(X, parameters, ("relu", "tanh"))
    return _L_model_backward(AL, Y, caches, ("relu", "tanh"), start="missing")


def course_output_cache_holds_A(parameters, X, Y):
    """sigmoid_backward(dAL, cache) given AL as its cache: sigmoid'(A) for sigmoid'(Z) at the output."""
    AL, caches = _L_model_forward(X, parameters, ("relu", "tanh"))
    return _L_model_backward(AL, Y, caches, ("relu", "tanh"), output_cache_is_A=True)


# ---------------------------------------------------------------- row-major layer classes (cs231n style)
class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = np.sum(dout, axis=0)
        return dout @ self.W.T


class Tanh:
    def __init__(self, from_output_wrong=False):
        self.wrong = from_output_wrong

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        if self.wrong:  # tanh'(A) instead of tanh'(Z): derivative of the cached output
            return dout * (1 - np.tanh(self.out) ** 2)
        return dout * (1 - self.out ** 2)


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout = dout.copy()
        dout[self.mask] = 0
        return dout


class SigmoidWithLoss:
    def forward(self, x, t):
        self.t, self.y = t, sigmoid(x)
        return -np.mean(np.sum(t * np.log(self.y) + (1 - t) * np.log(1 - self.y), axis=1))

    def backward(self):
        return (self.y - self.t) / self.t.shape[0]


class TwoLayerNet:
    """Affine - Tanh - Affine - Relu - Affine - SigmoidWithLoss, row-major, params W1 b1 ... W3 b3."""

    def __init__(self, params, tanh_wrong=False):
        self.layers = [Affine(params["W1"], params["b1"]), Tanh(tanh_wrong), Affine(params["W2"], params["b2"]),
                       Relu(), Affine(params["W3"], params["b3"])]
        self.last = SigmoidWithLoss()

    def gradient(self, x, t):
        for layer in self.layers:
            x = layer.forward(x)
        self.last.forward(x, t)
        dout = self.last.backward()
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        grads = {}
        for i, k in ((0, "1"), (2, "2"), (4, "3")):
            grads["W" + k], grads["b" + k] = self.layers[i].dW, self.layers[i].db
        return grads


def layers_backward(params, X, Y):
    """cs231n-style: grads['W1'] keys, b of shape (n,)."""
    return TwoLayerNet(params).gradient(X, Y)


def layers_tanh_of_output(params, X, Y):
    """The Tanh layer differentiates tanh at its cached output: tanh'(A1) for tanh'(Z1)."""
    return TwoLayerNet(params, tanh_wrong=True).gradient(X, Y)


# ---------------------------------------------------------------- nn.Linear layout: W is (out, in)
def _linear_forward(params, X):
    Z1 = X @ params["W1"].T + params["b1"]
    A1 = np.tanh(Z1)
    Z2 = A1 @ params["W2"].T + params["b2"]
    A2 = relu(Z2)
    A3 = sigmoid(A2 @ params["W3"].T + params["b3"])
    return Z1, A1, Z2, A2, A3


def linear_backward(params, X, Y):
    Z1, A1, Z2, A2, A3 = _linear_forward(params, X)
    m = X.shape[0]
    dZ3 = (A3 - Y) / m
    dZ2 = (dZ3 @ params["W3"]) * (Z2 > 0)
    dZ1 = (dZ2 @ params["W2"]) * (1 - A1 ** 2)
    return {"dW3": dZ3.T @ A2, "db3": dZ3.sum(0), "dW2": dZ2.T @ A1, "db2": dZ2.sum(0),
            "dW1": dZ1.T @ X, "db1": dZ1.sum(0)}


def linear_weight_grad_transposed(params, X, Y):
    """dW3 = A2.T @ dZ3: the (in, out) shape of row-major code, not nn.Linear's (out, in)."""
    grads = linear_backward(params, X, Y)
    Z1, A1, Z2, A2, A3 = _linear_forward(params, X)
    grads["dW3"] = A2.T @ ((A3 - Y) / X.shape[0])
    return grads


def linear_layers_swapped(params, X, Y):
    """Collects the bias gradients in the wrong order: db1 and db2 swapped."""
    grads = linear_backward(params, X, Y)
    grads["db1"], grads["db2"] = grads["db2"], grads["db1"]
    return grads


def linear_backward_float32(params, X, Y):
    """PyTorch's default dtype: everything cast to float32 first."""
    return linear_backward({k: v.astype(np.float32) for k, v in params.items()},
                           X.astype(np.float32), Y.astype(np.float32))


# ---------------------------------------------------------------- per-example loops, list of (W, b) pairs
def _example_backprop(pairs, x, y, quadratic=False):
    activations, zs, a = [x], [], x
    for i, (W, b) in enumerate(pairs):
        z = W @ a + b
        zs.append(z)
        a = sigmoid(z) if i == len(pairs) - 1 else (np.tanh(z) if i == 0 else relu(z))
        activations.append(a)
    if quadratic:  # network.py's quadratic cost: cost_derivative(a, y) * sigmoid_prime(z)
        delta = (activations[-1] - y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
    else:  # cross-entropy cost: the sigmoid' cancels
        delta = activations[-1] - y
    nabla = [None] * len(pairs)
    for l in range(len(pairs) - 1, -1, -1):
        nabla[l] = (delta @ activations[l].T, delta)
        if l:
            dprime = (1 - activations[l] ** 2) if l == 1 else (zs[l - 1] > 0)
            delta = (pairs[l][0].T @ delta) * dprime
    return nabla


def loop_backward(pairs, X, Y, quadratic=False, mean=True):
    nabla = [(np.zeros_like(W), np.zeros_like(b)) for W, b in pairs]
    m = X.shape[1]
    for j in range(m):
        delta_nabla = _example_backprop(pairs, X[:, j:j + 1], Y[:, j:j + 1], quadratic)
        nabla = [(nw + dnw, nb + dnb) for (nw, nb), (dnw, dnb) in zip(nabla, delta_nabla)]
    return [(nw / m, nb / m) if mean else (nw, nb) for nw, nb in nabla]


def loop_quadratic(pairs, X, Y):
    """network.py's output error for the quadratic cost, on a sigmoid + BCE network."""
    return loop_backward(pairs, X, Y, quadratic=True)


def loop_sum_not_mean(pairs, X, Y):
    """Sums the per-example gradients and never divides by the batch size."""
    return loop_backward(pairs, X, Y, mean=False)


def pairs_one_over_m_twice(pairs, X, Y):
    """Vectorised over the batch, with (A - Y)/m in dZ3 AND /m in every dW and db."""
    (W1, b1), (W2, b2), (W3, b3) = pairs
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = np.tanh(Z1)
    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    A3 = sigmoid(W3 @ A2 + b3)
    dZ3 = (A3 - Y) / m
    dZ2 = (W3.T @ dZ3) * (Z2 > 0)
    dZ1 = (W2.T @ dZ2) * (1 - A1 ** 2)
    return [(dZ @ A.T / m, dZ.sum(axis=1, keepdims=True) / m) for dZ, A in ((dZ1, X), (dZ2, A1), (dZ3, A2))]


def pairs_times_two(pairs, X, Y):
    """dZ3 = 2 (A3 - Y): the squared error's factor 2 kept on a BCE head."""
    (W1, b1), (W2, b2), (W3, b3) = pairs
    m = X.shape[1]
    A1 = np.tanh(W1 @ X + b1)
    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    A3 = sigmoid(W3 @ A2 + b3)
    dZ3 = 2 * (A3 - Y)
    dZ2 = (W3.T @ dZ3) * (Z2 > 0)
    dZ1 = (W2.T @ dZ2) * (1 - A1 ** 2)
    return [(dZ @ A.T / m, dZ.sum(axis=1, keepdims=True) / m) for dZ, A in ((dZ1, X), (dZ2, A1), (dZ3, A2))]
