"""What the harness runs: a task with its tools, how they get into the kernel, its checker.

Both suites (the built-in one and the M3ToolEval adapter) produce :class:`EvalTask`
objects; the harness knows nothing else about where a task came from.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolSpec:
    """How a tool is described to the model."""

    name: str
    signature: str  # "reverse(text: str) -> str"
    description: str


@dataclass(frozen=True)
class EvalTask:
    id: str  # "domain/name", unique in its suite
    domain: str
    instruction: str
    expected: Any  # the exact answer, as recorded in results
    tools: tuple[ToolSpec, ...]
    setup_code: str  # run silently in the task's fresh kernel: defines the tools there
    checker: Callable[[str], bool]  # the model's <solution> text -> correct?
    # A fresh set of the tools as functions in this process, by name, for a runner that
    # has no kernel (the smolagents peer); None: the suite cannot give them.
    make_tools: Callable[[], dict[str, Callable[..., Any]]] | None = None

    @property
    def tool_names(self) -> frozenset[str]:
        return frozenset(tool.name for tool in self.tools)

    def check(self, answer: str) -> bool:
        try:
            return bool(self.checker(answer))
        except Exception:  # a checker that chokes on odd text: the answer is wrong
            return False


def describe_function(name: str, function: Callable[..., Any]) -> ToolSpec:
    """A plain Python function as a tool: its signature and the first paragraph of its doc."""
    try:
        signature = f"{name}{inspect.signature(function, eval_str=True)}"
    except (TypeError, ValueError, NameError):  # builtins, or annotations that do not resolve
        signature = f"{name}(...)"
    doc = inspect.getdoc(function) or ""
    return ToolSpec(name, signature, doc.split("\n\n")[0].replace("\n", " ").strip())


def describe_tools(tools: Mapping[str, Callable[..., Any]]) -> tuple[ToolSpec, ...]:
    return tuple(describe_function(name, fn) for name, fn in tools.items())
