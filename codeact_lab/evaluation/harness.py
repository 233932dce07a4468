"""Run tasks headlessly: a fresh kernel per task, the tools injected, the answer checked.

One (task, mode) pair is one episode of the ordinary CodeAct loop (``agent.run``):

1. a fresh kernel starts in a folder of its own, and the task's ``setup_code`` defines
   its tools there and writes its files, silently (it is not part of the episode);
2. the instruction is the user's message; the mode chooses the system prompt, the
   action translator and how many actions a reply may run;
3. an answer (``<solution>``, or ``final_answer`` in code mode) is checked by the task's
   checker. A wrong one is told "incorrect" (a message that ``rejects_answer``) and the
   model tries again, as in M3ToolEval; a reply with neither an action nor an answer is
   told so; an answer before any successful action is sent back once to be checked with
   the tools. All within one turn limit (10) for the whole task; a model that repeats
   itself a third time in a row ends it as stuck;
4. the record (solved, turns, tokens, wall time, the whole episode) goes to the caller.

``run_pairs`` runs many pairs at once (``jobs``), each with its own kernel.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from ..agent import (
    ActionStatus,
    ChatModel,
    Episode,
    EpisodeSettings,
    FinalState,
    KernelExecutor,
    Policy,
    StepKind,
    run,
)
from .modes import ActionMode, describe
from .suite import EvalTask

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Run from a checkout (not installed): a kernel started elsewhere would not find it.
_FROM_SOURCE = os.path.basename(_PACKAGE_ROOT) not in ("site-packages", "dist-packages")

# Not M3ToolEval's "(for example a single number)": it invites a number for a date or a name.
INCORRECT = (
    "Your answer is incorrect. Please try again. Note that you should give ONLY the answer, "
    "in the form the task asks for, without any other text."
)
SYSTEM_NAME = "codeact-lab"  # what a record's "system" says; a peer's says its own

NO_ACTION = (
    "Your reply had neither an action nor an answer. Go on with an action between <execute> "
    "and </execute>, or give the answer between <solution> and </solution>."
)


@dataclass
class EvalSettings:
    max_turns: int = 10  # for the whole task, retries after a wrong answer included
    action_timeout: float = 30.0
    jobs: int = 1
    kernel_name: str = "python3"
    model: str = ""
    endpoint: str = ""
    temperature: float = 0.0
    max_tokens: int | None = 512
    # Sampling fields beyond the OpenAI ones (the local model's repeat penalty): the peer
    # is sent the same, and the summary records them.
    extra_body: dict[str, Any] = field(default_factory=dict)
    suite: str = "builtin"
    hidden_env: frozenset[str] = field(default_factory=frozenset)  # kept from the kernels


class TaskKernel:
    """A fresh kernel for one task, its executor, and a private folder for its sockets and
    as its working folder (a task's files, and whatever the model's code writes, stay
    there and go with it)."""

    def __init__(self, kernel_name: str, hidden_env: Iterable[str]) -> None:
        self._sockets = tempfile.TemporaryDirectory(prefix="codeact-eval-")
        self.folder = os.path.join(self._sockets.name, "work")
        os.mkdir(self.folder)
        self.manager = AsyncKernelManager(
            kernel_name=kernel_name,
            transport="ipc",
            ip=os.path.join(self._sockets.name, "kernel"),
        )
        self._hidden = set(hidden_env)
        self.executor: KernelExecutor | None = None

    async def __aenter__(self) -> KernelExecutor:
        # The tools need no key: the model's code never sees one.
        env = {k: v for k, v in os.environ.items() if k not in self._hidden}
        if _FROM_SOURCE:  # the setup imports codeact_lab; the kernel's folder is not the checkout
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")])
            )
        await self.manager.start_kernel(
            env=env, cwd=self.folder, extra_arguments=["--HistoryManager.enabled=False"]
        )
        self.executor = KernelExecutor.for_manager(self.manager)
        await self.executor.ensure_ready()
        return self.executor

    async def __aexit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.close()
        if self.manager.has_kernel:
            await self.manager.shutdown_kernel(now=True)
        self._sockets.cleanup()


def _reason(episode: Episode, settings: EvalSettings) -> str:
    """Why the task ended. After an "incorrect" the loop runs again with the turns left,
    so its own reason counts only those (seen: "no solution after 1 turns" at turn 10)."""
    if episode.state is FinalState.MAX_TURNS:
        return f"no right answer after {settings.max_turns} turns"
    return episode.reason


def _error_of(episode: Episode) -> str | None:
    """Why the run broke down when it was not the model's doing (endpoint, our bug)."""
    for step in reversed(episode.steps_of(StepKind.ERROR)):
        if step.data.get("kind") in ("model", "internal"):
            return str(step.data.get("message"))
    return None


async def run_task(
    task: EvalTask,
    mode: ActionMode,
    llm: ChatModel,
    settings: EvalSettings,
) -> dict[str, Any]:
    """Run one task in one mode; returns its record (never raises but for cancellation)."""
    episode = Episode(
        task=mode.task_text(task.instruction),
        settings=EpisodeSettings(
            model=settings.model,
            endpoint=settings.endpoint,
            max_turns=settings.max_turns,
            action_timeout=settings.action_timeout,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            kernel_name=settings.kernel_name,
        ),
    )
    episode.metadata = {"suite": settings.suite, "task": task.id, "mode": mode.name}
    policy = Policy(
        max_turns=settings.max_turns,
        action_timeout=settings.action_timeout,
        max_actions_per_reply=mode.actions_per_reply,
        translate_action=mode.translator(task.tool_names),
        code_answers=mode.code_answers,
        verify_note=mode.verify_note,  # every task needs its tools
    )
    answers: list[str] = []
    solved = False
    error: str | None = None
    started = time.monotonic()
    kernel_s = 0.0
    try:
        async with TaskKernel(settings.kernel_name, settings.hidden_env) as executor:
            kernel_s = time.monotonic() - started
            setup = await executor.execute(task.setup_code, 60)
            if setup.status is not ActionStatus.OK:
                raise RuntimeError(f"the task's tools could not be set up: {setup.outputs}")
            started = time.monotonic()
            message: str | None = None
            while episode.turns < settings.max_turns:
                policy.max_turns = settings.max_turns - episode.turns
                async for _event in run(
                    episode,
                    llm,
                    executor,
                    policy,
                    message=message,
                    prompt=mode.prompt,
                    tools=describe(task.tools),
                    rejects_answer=message == INCORRECT,
                    continues=message is not None,  # "incorrect" or "go on": the same task
                ):
                    pass  # the episode record is the result
                if episode.state is FinalState.SOLVED:
                    answers.append(episode.solution or "")
                    if task.check(answers[-1]):
                        solved = True
                        break
                    message = INCORRECT
                elif episode.state is FinalState.REPLIED:
                    message = NO_ACTION
                else:  # the turn limit, stuck, or a failure
                    break
            error = _error_of(episode)
    except Exception as err:  # the kernel would not start, ...: recorded, the run goes on
        error = f"{type(err).__name__}: {err}"
    wall = time.monotonic() - started
    usage = episode.usage
    return {
        "suite": settings.suite,
        "task": task.id,
        "domain": task.domain,
        "mode": mode.name,
        "system": SYSTEM_NAME,
        "prompt_version": episode.settings.prompt_version,
        "model": settings.model,
        "endpoint": settings.endpoint,
        "solved": solved,
        "turns": episode.turns,
        "max_turns": settings.max_turns,
        "answers": answers,
        "expected": task.expected,
        "state": episode.state.value if episode.state else None,
        "stuck": episode.state is FinalState.STUCK,
        "reason": _reason(episode, settings),
        "error": error,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        # llama.cpp's server, for one, streams no usage: its zeros are not a measurement
        "usage_reported": any(s.data.get("usage") for s in episode.steps_of(StepKind.ASSISTANT)),
        "wall_s": round(wall, 3),
        "kernel_start_s": round(kernel_s, 3),
        "finished": time.time(),
        "episode": episode.to_dict(),
    }


async def run_pairs(
    pairs: list[tuple[EvalTask, ActionMode]],
    llm: ChatModel,
    settings: EvalSettings,
    on_record: Callable[[dict[str, Any]], None],
) -> None:
    """Run every (task, mode) pair, ``settings.jobs`` at a time; each record goes to
    ``on_record`` as soon as it is done, so an interrupted run keeps what finished."""
    gate = asyncio.Semaphore(max(1, settings.jobs))

    async def one(task: EvalTask, mode: ActionMode) -> None:
        async with gate:
            on_record(await run_task(task, mode, llm, settings))

    await asyncio.gather(*(one(task, mode) for task, mode in pairs))
