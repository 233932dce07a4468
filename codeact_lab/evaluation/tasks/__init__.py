"""The built-in suite: multi-tool tasks in six domains, written here in M3ToolEval's spirit,
and data analysis on CSV files.

Each domain module has plain Python tools (``make_tools()`` makes a fresh set: some
keep state, like the intranet's browser) and ``TASKS``: an instruction, the exact
expected answer, and a reference solution. Tasks need several tool calls and some
control flow (loops, a search, a comparison), which is where code actions should
beat one-call-per-turn JSON or text actions. The data tasks (``data.py``) also have
files, which their setup writes into the task kernel's folder.

The suite is ordered round-robin over the domains, so ``--limit 7`` touches all seven.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from itertools import zip_longest
from typing import Any

from ..checking import check_answer
from ..suite import EvalTask, describe_tools
from .base import BuiltinTask

DOMAINS = ("decoder", "shop", "travel", "genome", "intranet", "dates", "data")


def _module(domain: str) -> Any:
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; the domains are {', '.join(DOMAINS)}")
    return importlib.import_module(f"{__name__}.{domain}")


def load_tools(domain: str) -> dict[str, Callable[..., Any]]:
    """A fresh set of the domain's tools: what a task's kernel gets in its namespace."""
    tools: dict[str, Callable[..., Any]] = _module(domain).make_tools()
    return tools


def setup_code(domain: str, files: tuple[str, ...] = ()) -> str:
    """Run silently in a task's fresh kernel: defines the tools, writes the task's files
    into the kernel's folder, and leaves nothing else."""
    code = (
        f"from {__name__} import load_tools as _codeact_load_tools\n"
        f"globals().update(_codeact_load_tools({domain!r}))\n"
        "del _codeact_load_tools"
    )
    if files:
        code += (
            f"\nfrom {__name__}.datasets import write_files as _codeact_write_files\n"
            f"_codeact_write_files({list(files)!r})\n"
            "del _codeact_write_files"
        )
    return code


def domain_tasks(domain: str) -> list[BuiltinTask]:
    return list(_module(domain).TASKS)


def builtin_suite() -> list[EvalTask]:
    per_domain = []
    for domain in DOMAINS:
        tools = describe_tools(load_tools(domain))
        per_domain.append(
            [
                EvalTask(
                    id=f"{domain}/{task.name}",
                    domain=domain,
                    instruction=task.instruction,
                    expected=task.expected,
                    tools=tools,
                    setup_code=setup_code(domain, task.files),
                    checker=functools.partial(check_answer, task.expected),
                    # a task with files needs them in its runner's folder: only a kernel
                    # of its own has one
                    make_tools=None if task.files else functools.partial(load_tools, domain),
                )
                for task in domain_tasks(domain)
            ]
        )
    return [task for row in zip_longest(*per_domain) for task in row if task is not None]


def reference_solution(task_id: str) -> str:
    """The reference code of a built-in task (tests, and CI's scripted model, use it)."""
    domain, _, name = task_id.partition("/")
    for task in domain_tasks(domain):
        if task.name == name:
            return task.reference
    raise KeyError(task_id)


__all__ = [
    "DOMAINS",
    "BuiltinTask",
    "builtin_suite",
    "domain_tasks",
    "load_tools",
    "reference_solution",
    "setup_code",
]
