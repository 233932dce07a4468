"""Run the paper's M3ToolEval suite from a local checkout of its repository.

    git clone https://github.com/xingyaoww/code-act
    codeact-lab eval --m3tooleval code-act --mode code,json,text

Its code (MIT) is imported from that path at run time and never copied here. The
adapter relies on this layout, the one of the paper's repository:

    PATH/scripts/eval/m3tooleval/tasks/        (PATH may also be m3tooleval/ or tasks/ itself)
        __init__.py    imports .base and the domain modules of .impl
        base.py        Task(name, tools, instruction, expected_output, ...), with .tools
                       (a mapping, or a factory called by .reset()) of ToolType(name,
                       description, function, fn_signature), .check_answer(answer) and
                       register_task_iterator(); the registered lists are in task_iterators
        impl/*.py      the domains; each registers its tasks on import

Each task's name is "domain/task". The harness uses each task's own tools, description
and checker (``Task.check_answer``); the tools run in the task's kernel, which imports the
same checkout (``kernel_tools``). The suite's own Python dependencies (``tqdm``) must be
installed where the kernel runs.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .suite import EvalTask, ToolSpec

_LAYOUTS = (
    ("scripts", "eval", "m3tooleval", "tasks"),
    ("m3tooleval", "tasks"),
    ("tasks",),
    (),
)


class M3ToolEvalError(Exception):
    pass


def tasks_dir(path: str) -> str:
    """The ``tasks`` package folder of a checkout, of its m3tooleval folder, or itself."""
    root = os.path.abspath(os.path.expanduser(path))
    for parts in _LAYOUTS:
        candidate = os.path.join(root, *parts)
        if os.path.isfile(os.path.join(candidate, "__init__.py")) and os.path.isfile(
            os.path.join(candidate, "base.py")
        ):
            return candidate
    raise M3ToolEvalError(
        f"{path} is not a checkout of the CodeAct repository: found no "
        "scripts/eval/m3tooleval/tasks/ with __init__.py and base.py under it"
    )


def load_package(path: str) -> ModuleType:
    """Import the checkout's ``tasks`` package (under a private name; its prints muted)."""
    folder = tasks_dir(path)
    name = "_m3tooleval_" + hashlib.sha1(folder.encode()).hexdigest()[:10]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # each task prints itself on creation
            spec.loader.exec_module(module)
    except Exception as err:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
        raise M3ToolEvalError(f"could not import M3ToolEval from {folder}: {err!r}") from err
    return module


def raw_tasks(path: str) -> list[Any]:
    """The checkout's Task objects, in its registration order."""
    package = load_package(path)
    base = sys.modules.get(package.__name__ + ".base")
    if base is None or not hasattr(base, "task_iterators"):
        raise M3ToolEvalError("the checkout's tasks/base.py has no task_iterators")
    return [task for tasks, _length in base.task_iterators for task in tasks]


def _tools_of(task: Any) -> dict[str, Any]:
    tools = task.tools
    if callable(tools):  # a factory, made into a mapping by reset()
        with contextlib.redirect_stdout(io.StringIO()):
            task.reset()
        tools = task.tools
    return dict(tools)


def kernel_tools(path: str, task_name: str) -> dict[str, Callable[..., Any]]:
    """In a task's kernel: the task's tool functions, fresh (``Task.reset``), by name."""
    for task in raw_tasks(path):
        if task.name == task_name:
            with contextlib.redirect_stdout(io.StringIO()):
                task.reset()
            return {name: tool.function for name, tool in _tools_of(task).items()}
    raise M3ToolEvalError(f"no task {task_name!r} in {path}")


def setup_code(path: str, task_name: str) -> str:
    return (
        f"from {__name__} import kernel_tools as _codeact_kernel_tools\n"
        f"globals().update(_codeact_kernel_tools({os.path.abspath(path)!r}, {task_name!r}))\n"
        "del _codeact_kernel_tools"
    )


def m3tooleval_suite(path: str) -> list[EvalTask]:
    suite = []
    for task in raw_tasks(path):
        tools = tuple(
            ToolSpec(name, str(tool.fn_signature), " ".join(str(tool.description).split()))
            for name, tool in _tools_of(task).items()
        )
        suite.append(
            EvalTask(
                id=task.name,
                domain=task.name.split("/")[0],
                instruction=str(task.instruction),
                expected=task.expected_output,
                tools=tools,
                setup_code=setup_code(path, task.name),
                checker=task.check_answer,
                make_tools=functools.partial(kernel_tools, path, task.name),
            )
        )
    return suite
