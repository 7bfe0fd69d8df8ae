"""Published activations with their published derivatives, and deliberately mis-copied ones.

Each row: a name, the formula and the derivative as the source states them
(written in the expression language, in the source's variable where it is not
z), the verdict expected, and the source.  Mis-copied rows take a published
derivative and make one slip people make (a missing factor, a wrong sign, the
function copied for its derivative, a wrong power, a missing chain-rule
factor); each must be caught with a counterexample.  The whole table is slow
(about 40 checks); a few rows run in the default suite.

Sources (formulas restated in our own notation):
  [pt]  PyTorch torch.nn activation docs (ReLU6, Hardtanh, Hardsigmoid,
        Hardswish, SiLU, Mish, Softsign, Softshrink, Hardshrink, Tanhshrink,
        LogSigmoid, CELU, SELU, ELU, LeakyReLU, PReLU, GELU), pytorch.org/docs
  [clevert15] Clevert, Unterthiner, Hochreiter 2015, arXiv:1511.07289 (ELU)
  [klambauer17] Klambauer et al. 2017, arXiv:1706.02515 (SELU)
  [barron17] Barron 2017, arXiv:1704.07483 (CELU)
  [he15] He et al. 2015, arXiv:1502.01852 (PReLU)
  [maas13] Maas, Hannun, Ng 2013 (Leaky ReLU)
  [nair10] Nair & Hinton 2010 (ReLU); [krizhevsky10] ReLU6
  [dugas01] Dugas et al. 2001 (softplus)
  [ramachandran17] Ramachandran, Zoph, Le 2017, arXiv:1710.05941 (Swish)
  [elfwing18] Elfwing, Uchibe, Doya 2018, arXiv:1702.03118 (SiLU, dSiLU)
  [hendrycks16] Hendrycks & Gimpel 2016, arXiv:1606.08415 (GELU, tanh form)
  [misra19] Misra 2019, arXiv:1908.08681 (Mish)
  [howard19] Howard et al. 2019, arXiv:1905.02244 (hard-swish, hard-sigmoid)
  [barron21] Barron 2021, arXiv:2112.11687 (SquarePlus)
  [liu20snake] Liu Ziyin, Hartwig, Ueda 2020, arXiv:2006.08195 (Snake)
  [nag21] Nag & Bhattacharyya 2021, arXiv:2108.09598 (Serf)
  [carlile17] Carlile et al. 2017, arXiv:1710.09967 (ISRU, ISRLU)
  [liu20tanhexp] Liu & Di 2020, arXiv:2003.09855 (TanhExp)
  [sitzmann20] Sitzmann et al. 2020, arXiv:2006.09661 (sine activation)
  [glorot/lecun] tanh, logistic, arctan, Gaussian, bent identity: standard
        tables of activation functions (e.g. Wikipedia "Activation function")
"""

from __future__ import annotations

import pytest

from derive.activation_check.check import check_activation

S = "sigmoid"
GELU_U = "sqrt(2/pi)*(z + 0.044715*z**3)"
SELU = {"l": "1.0507009873554804934193349852946", "a": "1.6732632423543772848170429916717"}

# name, formula, published derivative, params, expected ("ok" / "caught" / a fault text), source
PUBLISHED = [
    ("sigmoid", "1/(1 + exp(-z))", "sigmoid(z)*(1 - sigmoid(z))", {}, "ok", "glorot/lecun"),
    ("tanh", "tanh(z)", "1 - tanh(z)**2", {}, "ok", "glorot/lecun"),
    ("ReLU", "max(0, z)", "where(z > 0, 1, 0)", {}, "ok", "nair10"),
    ("LeakyReLU", "where(z >= 0, z, 0.01*z)", "where(z >= 0, 1, 0.01)", {}, "ok", "maas13, pt"),
    ("PReLU a=0.25", "max(0, z) + a*min(0, z)", "where(z > 0, 1, a)", {"a": 0.25}, "ok", "he15, pt"),
    ("ELU", "where(z > 0, z, alpha*(exp(z) - 1))", "where(z > 0, 1, alpha*exp(z))", {"alpha": 1}, "ok",
     "clevert15"),
    ("SELU", "l*where(z > 0, z, a*(exp(z) - 1))", "l*where(z > 0, 1, a*exp(z))", SELU, "ok", "klambauer17"),
    ("CELU a=2", "max(0, z) + min(0, a*(exp(z/a) - 1))", "where(z > 0, 1, exp(z/a))", {"a": 2}, "ok", "barron17"),
    ("softplus", "log(1 + exp(z))", "1/(1 + exp(-z))", {}, "ok", "dugas01"),
    ("softsign", "z/(1 + abs(z))", "1/(1 + abs(z))**2", {}, "ok", "pt"),
    ("Swish/SiLU", "z*sigmoid(z)", "sigmoid(z)*(1 + z*(1 - sigmoid(z)))", {}, "ok", "ramachandran17, elfwing18"),
    ("Swish b=1.5", "z*sigmoid(b*z)", "b*z*sigmoid(b*z) + sigmoid(b*z)*(1 - b*z*sigmoid(b*z))", {"b": 1.5}, "ok",
     "ramachandran17"),
    ("dSiLU", "sigmoid(z)*(1 + z*(1 - sigmoid(z)))", "sigmoid(z)*(1 - sigmoid(z))*(2 + z*(1 - 2*sigmoid(z)))", {},
     "ok", "elfwing18"),
    ("GELU", "0.5*z*(1 + erf(z/sqrt(2)))", "0.5*(1 + erf(z/sqrt(2))) + z*exp(-z**2/2)/sqrt(2*pi)", {}, "ok",
     "hendrycks16"),
    ("GELU tanh", f"0.5*z*(1 + tanh({GELU_U}))",
     f"0.5*(1 + tanh({GELU_U})) + 0.5*z*(1 - tanh({GELU_U})**2)*sqrt(2/pi)*(1 + 3*0.044715*z**2)", {}, "ok",
     "hendrycks16"),
    ("Mish", "z*tanh(softplus(z))", "tanh(softplus(z)) + z*sigmoid(z)*sech(softplus(z))**2", {}, "ok", "misra19"),
    ("hard-sigmoid", "relu6(z + 3)/6", "where((z > -3) & (z < 3), 1/6, 0)", {}, "ok", "howard19, pt"),
    ("hard-swish", "z*relu6(z + 3)/6", "where(z < -3, 0, where(z > 3, 1, (2*z + 3)/6))", {}, "ok", "howard19, pt"),
    ("ReLU6", "min(max(0, z), 6)", "where((z > 0) & (z < 6), 1, 0)", {}, "ok", "krizhevsky10, pt"),
    ("hardtanh", "clip(z, -1, 1)", "where(abs(z) < 1, 1, 0)", {}, "ok", "pt"),
    ("SquarePlus b=4", "(z + sqrt(z**2 + b))/2", "(1 + z/sqrt(z**2 + b))/2", {"b": 4}, "ok", "barron21"),
    ("bent identity", "(sqrt(z**2 + 1) - 1)/2 + z", "z/(2*sqrt(z**2 + 1)) + 1", {}, "ok", "glorot/lecun"),
    ("Gaussian", "exp(-z**2)", "-2*z*exp(-z**2)", {}, "ok", "glorot/lecun"),
    ("sine", "sin(z)", "cos(z)", {}, "ok", "sitzmann20"),
    ("Snake a=1", "z + sin(a*z)**2/a", "1 + sin(2*a*z)", {"a": 1}, "ok", "liu20snake"),
    ("Serf", "z*erf(log(1 + exp(z)))",
     "erf(log(1 + exp(z))) + z*2/sqrt(pi)*exp(-log(1 + exp(z))**2)*sigmoid(z)", {}, "ok", "nag21"),
    ("LogSigmoid", "log(1/(1 + exp(-z)))", "1/(1 + exp(z))", {}, "ok", "pt"),
    ("Tanhshrink", "z - tanh(z)", "tanh(z)**2", {}, "ok", "pt"),
    ("Softshrink l=0.5", "where(z > 0.5, z - 0.5, where(z < -0.5, z + 0.5, 0))", "where(abs(z) > 0.5, 1, 0)", {},
     "ok", "pt"),
    ("ISRU a=1", "z/sqrt(1 + a*z**2)", "(1/sqrt(1 + a*z**2))**3", {"a": 1}, "ok", "carlile17"),
    ("ISRLU a=1", "where(z >= 0, z, z/sqrt(1 + a*z**2))", "where(z >= 0, 1, (1/sqrt(1 + a*z**2))**3)", {"a": 1},
     "ok", "carlile17"),
    ("arctan", "atan(z)", "1/(1 + z**2)", {}, "ok", "glorot/lecun"),
    ("TanhExp", "z*tanh(exp(z))", "tanh(exp(z)) - z*exp(z)*(tanh(exp(z))**2 - 1)", {}, "ok", "liu20tanhexp"),
    ("identity", "z", "1", {}, "ok", "glorot/lecun"),
    # a published activation that is not continuous: the checker says so
    ("Hardshrink l=0.5", "where(abs(z) > 0.5, z, 0)", "where(abs(z) > 0.5, 1, 0)", {}, "f jumps at z = -1/2",
     "pt"),
    # ---- mis-copied derivatives (one slip each): every one must be caught
    ("sigmoid, sign slip", "1/(1 + exp(-z))", "sigmoid(z)*(1 + sigmoid(z))", {}, "caught", "glorot/lecun"),
    ("tanh, sign slip", "tanh(z)", "1 + tanh(z)**2", {}, "caught", "glorot/lecun"),
    ("ELU, function copied", "where(z > 0, z, exp(z) - 1)", "where(z > 0, 1, exp(z) - 1)", {}, "caught", "clevert15"),
    ("SELU, lambda dropped", "l*where(z > 0, z, a*(exp(z) - 1))", "where(z > 0, l, a*exp(z))", SELU, "caught",
     "klambauer17"),
    ("softsign, square dropped", "z/(1 + abs(z))", "1/(1 + abs(z))", {}, "caught", "pt"),
    ("Swish, sign slip", "z*sigmoid(z)", "sigmoid(z)*(1 + z*(1 + sigmoid(z)))", {}, "caught", "ramachandran17"),
    ("GELU, 1/sqrt(2 pi) dropped", "0.5*z*(1 + erf(z/sqrt(2)))", "0.5*(1 + erf(z/sqrt(2))) + z*exp(-z**2/2)/2", {},
     "caught", "hendrycks16"),
    ("GELU tanh, chain factor dropped", f"0.5*z*(1 + tanh({GELU_U}))",
     f"0.5*(1 + tanh({GELU_U})) + 0.5*z*(1 - tanh({GELU_U})**2)*sqrt(2/pi)", {}, "caught", "hendrycks16"),
    ("Mish, sigmoid factor dropped", "z*tanh(softplus(z))", "tanh(softplus(z)) + z*sech(softplus(z))**2", {},
     "caught", "misra19"),
    ("hard-swish, /3 for /6", "z*relu6(z + 3)/6", "where(z < -3, 0, where(z > 3, 1, (2*z + 3)/3))", {}, "caught",
     "howard19"),
    ("SquarePlus, /2 dropped", "(z + sqrt(z**2 + 4))/2", "1 + z/sqrt(z**2 + 4)", {}, "caught", "barron21"),
    ("Snake, cos dropped", "z + sin(z)**2", "1 + 2*sin(z)", {}, "caught", "liu20snake"),
    ("ISRU, wrong power", "z/sqrt(1 + z**2)", "1/(1 + z**2)", {}, "caught", "carlile17"),
    ("LogSigmoid, sign of z", "log(1/(1 + exp(-z)))", "sigmoid(z)", {}, "caught", "pt"),
    ("bent identity, 1/2 dropped", "(sqrt(z**2 + 1) - 1)/2 + z", "z/sqrt(z**2 + 1) + 1", {}, "caught",
     "glorot/lecun"),
]
FAST = {"sigmoid", "Mish", "hard-swish", "Snake a=1", "GELU, 1/sqrt(2 pi) dropped", "hard-swish, /3 for /6",
        "Hardshrink l=0.5"}


def _rows():
    for row in PUBLISHED:
        marks = () if row[0] in FAST else (pytest.mark.slow,)
        yield pytest.param(*row, id=row[0], marks=marks)


@pytest.mark.parametrize("name, formula, derivative, params, expected, source", list(_rows()))
def test_published_activation_and_derivative(name, formula, derivative, params, expected, source):
    report = check_activation(formula, derivative=derivative, params=params, network=False, points=8)
    if expected == "ok":
        assert report.ok and report.claim.status in ("proven", "equal numerically"), str(report)
    elif expected == "caught":
        assert report.claim.status == "counterexample" and not report.ok, str(report)
        assert report.claim.counterexample is not None
    else:
        assert not report.ok and any(expected in f for f in report.faults), str(report)


def test_table_size():
    """The table the issue asks for: at least 30 published activations, at least 8 mis-copied."""
    published = {row[0] for row in PUBLISHED if row[4] != "caught"}
    assert len(published) >= 30 and sum(row[4] == "caught" for row in PUBLISHED) >= 8
