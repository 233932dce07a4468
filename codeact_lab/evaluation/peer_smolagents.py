"""The peer: the same tasks through smolagents' ``CodeAgent``, for a side-by-side run.

``codeact-lab eval --peer smolagents`` runs every selected task a second time through
smolagents (its own prompt, parser and local Python executor), on the same endpoint and
model (``OpenAIServerModel``), with the same turn limit (``max_steps``), temperature and
token limit per reply. The task's tools are given to it as smolagents tools, wrapping
the same Python functions (a fresh set per task). A wrong answer is told the harness's
"incorrect" and the agent goes on (``reset=False``) within what is left of the limit,
as codeact-lab's episodes are.

Its record has the harness's shape (``mode`` is ``"smolagents"``), so the table, the
JSON summary, the plot and a resumed run treat it as one more row; its run is stored as
an episode too (steps made from smolagents' memory), so ``episodes.jsonl`` holds both.

smolagents is an optional dependency (``pip install 'codeact-lab[eval]'``); it is
imported only here, when a peer run is asked for. Its agent is synchronous, so each
task runs in a worker thread and ``--jobs`` still runs tasks side by side.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..agent import ActionStatus, Episode, EpisodeSettings, EventType, FinalState, StepKind
from .harness import INCORRECT, EvalSettings
from .suite import EvalTask, ToolSpec

PEER = "smolagents"
PEERS = (PEER,)


class PeerUnavailable(Exception):
    """smolagents is not installed, or a task cannot give its tools to it."""


def require_smolagents() -> str:
    """smolagents' version; PeerUnavailable with the install hint when it is missing."""
    try:
        import smolagents
    except ImportError as err:
        raise PeerUnavailable(
            "--peer smolagents needs smolagents: pip install 'codeact-lab[eval]'"
        ) from err
    return str(getattr(smolagents, "__version__", "?"))


@dataclass(frozen=True)
class Endpoint:
    """Where the peer's model is, asked before each task (the local model's key is new
    at each start of its server)."""

    base_url: str | None
    api_key: str


EndpointSource = Callable[[], Awaitable[Endpoint]]

_JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "tuple": "array",
    "dict": "object",
}


def _json_type(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "any"
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return _JSON_TYPES.get(str(name).strip(), "any")


def as_tool(name: str, function: Callable[..., Any], spec: ToolSpec | None) -> Any:
    """One of the task's functions as a smolagents ``Tool``: its name, the description the
    model gets in codeact-lab too, and inputs read from its signature."""
    from smolagents import Tool

    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        signature = inspect.Signature()
    inputs: dict[str, dict[str, Any]] = {}
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        entry: dict[str, Any] = {
            "type": _json_type(parameter.annotation),
            "description": parameter.name,
        }
        if parameter.default is not parameter.empty:
            entry["nullable"] = True
        inputs[parameter.name] = entry
    description = (spec.description if spec else "") or f"The tool {name}."
    attributes = {
        "name": name,
        "description": description,
        "inputs": inputs,
        "output_type": _json_type(signature.return_annotation),
        # the wrapper takes any arguments; the function itself checks them
        "skip_forward_signature_validation": True,
        "forward": lambda self, *args, **kwargs: function(*args, **kwargs),
    }
    return type(f"{name}_tool", (Tool,), attributes)()


def task_tools(task: EvalTask) -> list[Any]:
    if task.make_tools is None:
        raise PeerUnavailable(f"{task.id}: the suite gives no tools to run outside a kernel")
    specs = {spec.name: spec for spec in task.tools}
    return [as_tool(name, fn, specs.get(name)) for name, fn in task.make_tools().items()]


@dataclass
class PeerRun:
    answers: list[str]
    solved: bool
    state: FinalState
    reason: str
    error: str | None
    agent: Any  # the CodeAgent, whose memory holds the run


def play(task: EvalTask, settings: EvalSettings, endpoint: Endpoint) -> PeerRun:
    """Run one task through a CodeAgent, "incorrect" and retries included (blocking)."""
    from smolagents import CodeAgent, LogLevel, OpenAIServerModel

    model_options: dict[str, Any] = {"temperature": settings.temperature}
    if settings.max_tokens:
        model_options["max_tokens"] = settings.max_tokens
    if settings.extra_body:  # the same sampling as codeact-lab's requests
        model_options["extra_body"] = dict(settings.extra_body)
    model = OpenAIServerModel(
        model_id=settings.model,
        api_base=endpoint.base_url,
        api_key=endpoint.api_key,
        client_kwargs={"timeout": 300.0},
        # Plain-text contents: llama.cpp's server (the embedded model's) refuses messages
        # made of content parts, which smolagents sends by default.
        flatten_messages_as_text=True,
        **model_options,
    )
    agent = CodeAgent(
        tools=task_tools(task),
        model=model,
        max_steps=settings.max_turns,
        verbosity_level=LogLevel.OFF,
        return_full_result=True,
    )
    answers: list[str] = []
    state, reason, error = FinalState.MAX_TURNS, "", None
    message, first = task.instruction.strip(), True
    try:
        while (left := settings.max_turns - turns_of(agent)) > 0:
            result = agent.run(message, reset=first, max_steps=left)
            first = False
            if result.state != "success":  # the step limit: its summary is no answer
                reason = f"no final answer after {settings.max_turns} steps"
                break
            answers.append(str(result.output))
            state = FinalState.SOLVED
            if task.check(answers[-1]):
                return PeerRun(answers, True, state, "", None, agent)
            message = INCORRECT
        else:
            state, reason = FinalState.MAX_TURNS, f"no right answer in {settings.max_turns} steps"
    except Exception as err:  # the endpoint failed, or smolagents did: recorded, run goes on
        error = f"{type(err).__name__}: {err}"
        state, reason = FinalState.FAILED, error
    return PeerRun(answers, False, state, reason, error, agent)


def _steps(agent: Any) -> list[Any]:
    return list(getattr(getattr(agent, "memory", None), "steps", []) or [])


def _is_limit_summary(step: Any) -> bool:
    return type(getattr(step, "error", None)).__name__ == "AgentMaxStepsError"


def turns_of(agent: Any) -> int:
    """The agent's steps (model calls that could act); the summary it writes after the
    step limit is not one."""
    return sum(
        type(step).__name__ == "ActionStep" and not _is_limit_summary(step)
        for step in _steps(agent)
    )


def _usage(agent: Any) -> tuple[int, int, bool]:
    prompt = completion = 0
    reported = False
    for step in _steps(agent):
        usage = getattr(step, "token_usage", None)
        if usage is not None:
            reported = True
            prompt += int(usage.input_tokens)
            completion += int(usage.output_tokens)
    return prompt, completion, reported


def as_episode(task: EvalTask, settings: EvalSettings, run: PeerRun, version: str) -> Episode:
    """The peer's run as an episode record: its task messages, each step's reply, code and
    observation, and each final answer, as codeact-lab's episodes hold them."""
    episode = Episode(
        task=task.instruction.strip(),
        settings=EpisodeSettings(
            model=settings.model,
            endpoint=settings.endpoint,
            prompt_version=f"smolagents/{version}",
            max_turns=settings.max_turns,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
        ),
    )
    episode.metadata = {"suite": settings.suite, "task": task.id, "mode": PEER}
    system = str(getattr(run.agent, "system_prompt", "") or "")
    episode.event(
        EventType.EPISODE_STARTED,
        task=episode.task,
        settings=episode.settings.to_dict(),
        system=system,
    )
    turn = 0
    for step in _steps(run.agent):
        kind = type(step).__name__
        if kind == "TaskStep":
            rejection = {"rejects_answer": True} if step.task == INCORRECT else {}
            episode.step_event(
                EventType.USER_MESSAGE, StepKind.USER, text=str(step.task), **rejection
            )
        elif kind == "ActionStep":
            turn += 1
            _action_steps(episode, step, turn)
    episode.event(EventType.FINAL, state=run.state.value, reason=run.reason)
    return episode


def _action_steps(episode: Episode, step: Any, turn: int) -> None:
    usage = getattr(step, "token_usage", None)
    output = step.model_output if isinstance(step.model_output, str) else str(step.model_output)
    episode.step_event(
        EventType.ASSISTANT_MESSAGE,
        StepKind.ASSISTANT,
        text=output if step.model_output is not None else str(step.action_output or ""),
        turn=turn,
        usage={
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
        }
        if usage is not None
        else None,
    )
    if not step.code_action:
        return
    error = getattr(step, "error", None)
    outputs: list[dict[str, Any]] = []
    if step.observations:
        outputs.append({"output_type": "stream", "name": "stdout", "text": str(step.observations)})
    if error is not None:
        name = type(error).__name__
        outputs.append(
            {"output_type": "error", "ename": name, "evalue": str(error), "traceback": []}
        )
    action = episode.step_event(
        EventType.ACTION,
        StepKind.ACTION,
        code=str(step.code_action),
        turn=turn,
        index=0,
        format="smolagents",
        status=(ActionStatus.ERROR if error is not None else ActionStatus.OK).value,
        outputs=outputs,
        execution_count=None,
        duration=None,
        approval=None,
    )
    text = "\n".join(str(o.get("text") or f"{o['ename']}: {o['evalue']}") for o in outputs)
    episode.step_event(
        EventType.OBSERVATION,
        StepKind.OBSERVATION,
        text=text,
        images=[],
        turn=turn,
        action_ids=[action.data["step"]["id"]],
    )
    if step.is_final_answer:
        episode.step_event(
            EventType.SOLUTION,
            StepKind.SOLUTION,
            text=str(step.action_output),
            turn=turn,
            source="code",
            action_id=action.data["step"]["id"],
        )


async def run_peer_task(
    task: EvalTask, settings: EvalSettings, endpoint: EndpointSource
) -> dict[str, Any]:
    """Run one task through the peer; its record, in the harness's shape (never raises
    but for cancellation)."""
    version = require_smolagents()
    started = time.monotonic()
    try:
        where = await endpoint()
        run = await asyncio.to_thread(play, task, settings, where)
    except Exception as err:  # no tools for it, the local model would not start, ...
        run = PeerRun([], False, FinalState.FAILED, str(err), f"{type(err).__name__}: {err}", None)
    wall = time.monotonic() - started
    prompt, completion, reported = _usage(run.agent)
    episode = as_episode(task, settings, run, version)
    return {
        "suite": settings.suite,
        "task": task.id,
        "domain": task.domain,
        "mode": PEER,
        "system": PEER,
        "prompt_version": episode.settings.prompt_version,
        "model": settings.model,
        "endpoint": settings.endpoint,
        "solved": run.solved,
        "turns": turns_of(run.agent),
        "max_turns": settings.max_turns,
        "answers": run.answers,
        "expected": task.expected,
        "state": run.state.value,
        "stuck": False,  # smolagents has no such rule: it runs to the limit
        "reason": run.reason,
        "error": run.error,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "usage_reported": reported,
        "wall_s": round(wall, 3),
        "kernel_start_s": 0.0,
        "finished": time.time(),
        "episode": episode.to_dict(),
    }


async def run_peer_tasks(
    tasks: list[EvalTask],
    settings: EvalSettings,
    endpoint: EndpointSource,
    on_record: Callable[[dict[str, Any]], None],
) -> None:
    """Every task through the peer, ``settings.jobs`` at a time, as ``run_pairs`` does."""
    gate = asyncio.Semaphore(max(1, settings.jobs))

    async def one(task: EvalTask) -> None:
        async with gate:
            on_record(await run_peer_task(task, settings, endpoint))

    await asyncio.gather(*(one(task) for task in tasks))
