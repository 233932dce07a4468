"""The shape of a built-in task, shared by the domain modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Tools = dict[str, Callable[..., Any]]


@dataclass(frozen=True)
class BuiltinTask:
    name: str
    instruction: str
    expected: Any  # the exact answer (see ..checking for how answers are compared)
    # Python that solves the task with the domain's tools and prints the answer: the
    # unit tests run it to prove the task is solvable, and CI's scripted model plays it.
    reference: str
    # Files the task's setup writes into its kernel's folder (see datasets.py).
    files: tuple[str, ...] = ()


def stateless_tools(*functions: Callable[..., Any]) -> Callable[[], Tools]:
    """A domain's ``make_tools`` when its tools keep no state: each under its own name."""
    return lambda: {function.__name__: function for function in functions}
