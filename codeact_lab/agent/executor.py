"""The Executor protocol: where code actions run.

The loop knows only this protocol. The kernel executor (a Jupyter kernel through
``jupyter_client``) is the one the server and the command line use; a host may
give another (the in-kernel magic runs code in its own namespace).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .episode import ActionStatus

# Called with the action's outputs so far (the whole list, nbformat v4 dicts) as they change.
OutputCallback = Callable[[list[dict[str, Any]]], None]
# Called with the execution count as soon as the kernel announces it.
InputCallback = Callable[[int | None], None]


@dataclass
class ExecutionResult:
    status: ActionStatus  # OK, ERROR, TIMEOUT, INTERRUPTED or DEAD
    outputs: list[dict[str, Any]] = field(default_factory=list)
    execution_count: int | None = None
    duration: float = 0.0
    outputs_truncated: bool = False  # the stored outputs were capped (the kernel printed more)


class Executor(Protocol):
    async def execute(
        self,
        code: str,
        timeout: float | None,
        *,
        on_output: OutputCallback | None = None,
        on_input: InputCallback | None = None,
    ) -> ExecutionResult:
        """Run ``code``. On timeout, interrupt and return status TIMEOUT; never raise for
        errors in the code (status ERROR) or a dead kernel (status DEAD)."""
        ...

    async def interrupt(self) -> None:
        """Interrupt the running action, if any; ``execute`` then returns INTERRUPTED."""
        ...

    async def evaluate(self, expression: str, timeout: float = 5.0) -> Any:
        """Evaluate ``expression`` in the namespace the actions run in, silently (no output,
        no history); its value when it is a Python literal, else None. It never raises and
        never interrupts: on a timeout it gives up with None. The loop uses it to put
        ``final_answer`` in for an action and take it out after (code_answer.py); an
        executor without a namespace of its own returns None, and the loop does without."""
        ...
