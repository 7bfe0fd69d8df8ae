"""A recorded derivation step: which rule, left side, right side, how checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import sympy as sp

__all__ = ["Step", "Derivation"]


@dataclass(frozen=True)
class Step:
    """One equality ``lhs = rhs`` obtained by applying ``rule``.

    Attributes:
        rule: the rule that produced this step (``"quotient rule"``,
            ``"affine: weight"``...).
        lhs, rhs: sympy objects (scalars or matrix expressions).
        check: how the equality was confirmed (filled in by the checker).
        verified: True once confirmed, False if the check failed, None if
            it has not been checked yet.
    """

    rule: str
    lhs: Any
    rhs: Any
    check: str = ""
    verified: bool | None = None

    def __str__(self) -> str:
        mark = {True: "ok", False: "FAILED", None: "unchecked"}[self.verified]
        return f"[{self.rule}] {self.lhs} = {self.rhs}   ({mark}{': ' + self.check if self.check else ''})"


@dataclass
class Derivation:
    """An ordered list of steps with a title and a final result."""

    title: str
    steps: list[Step] = field(default_factory=list)

    def add(self, rule: str, lhs: Any, rhs: Any) -> Step:
        step = Step(rule, lhs, rhs)
        self.steps.append(step)
        return step

    def verify(self, equal: Callable[[Any, Any], bool], how: str) -> "Derivation":
        """Confirm every step with ``equal(lhs, rhs)``; records the outcome."""
        self.steps = [
            Step(s.rule, s.lhs, s.rhs, how, bool(equal(s.lhs, s.rhs))) for s in self.steps
        ]
        return self

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.verified for s in self.steps)

    @property
    def result(self) -> Step:
        return self.steps[-1]

    def __str__(self) -> str:
        return "\n".join([self.title] + [f"  {s}" for s in self.steps])


def scalar_equal(lhs: Any, rhs: Any) -> bool:
    """Exact equality of two scalar expressions: evaluate derivatives, rewrite
    special functions in exp form, and let sympy reduce the difference to 0."""
    diff = (sp.sympify(lhs, strict=True).doit() - sp.sympify(rhs, strict=True).doit()).rewrite(sp.exp)
    return sp.simplify(sp.cancel(sp.expand(diff))) == 0
