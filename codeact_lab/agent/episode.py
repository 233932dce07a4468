"""The Episode: the one record of a CodeAct run.

Everything else (the transcript a terminal prints, the notebook cells, the
chat view, the messages sent to the model, exports) is derived from it.

An episode changes only by applying :class:`Event` objects. ``Episode.apply``
is a pure, idempotent reducer: an event whose ``seq`` is not newer than the
last one applied is ignored, so a client that reconnects and receives an event
twice ends up with the same record.
"""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from .output_patch import apply_patch

if TYPE_CHECKING:  # the wire's types; pydantic is not needed to run an episode
    from . import wire


class FinalState(str, Enum):
    """How an episode ended."""

    SOLVED = "solved"  # the model gave a <solution>
    REPLIED = "replied"  # the model ended its turn talking to the user, without a <solution>
    STOPPED = "stopped"  # the user (or host) asked it to stop
    FAILED = "failed"  # an error the loop could not recover from (endpoint down, kernel dead, ...)
    MAX_TURNS = "max_turns"  # the turn limit was reached
    BUDGET = "budget"  # the wall-clock budget ran out
    INTERRUPTED = "interrupted"  # the host went away mid-episode (e.g. server restart)
    # the model repeated itself a third time in a row (an action, or an answer it was told
    # is wrong): it ended the turn rather than spend more of it on nothing
    STUCK = "stuck"


class StepKind(str, Enum):
    USER = "user"  # the task, or a follow-up message
    ASSISTANT = "assistant"  # one model reply, whole
    ACTION = "action"  # one code action and its execution
    OBSERVATION = "observation"  # what the model is told about the action(s)
    SOLUTION = "solution"
    ERROR = "error"


class ActionStatus(str, Enum):
    PENDING = "pending"  # parsed, not yet approved or run
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"  # the code raised
    TIMEOUT = "timeout"  # interrupted after the action timeout
    INTERRUPTED = "interrupted"  # interrupted by a stop
    DEAD = "dead"  # the kernel died while running it
    RESTARTED = "restarted"  # the user restarted the kernel while it ran
    SKIPPED = "skipped"  # not run (an earlier action of the same reply failed, or a stop)

    # The status groups, one definition each. labextension/src/status.ts mirrors them;
    # labextension/test/fixtures/cells.json (make_cell_fixture.py) keeps the two in step.
    @property
    def unfinished(self) -> bool:
        """Not final yet: a state only a live episode has (its status will change)."""
        return self in (ActionStatus.PENDING, ActionStatus.AWAITING_APPROVAL, ActionStatus.RUNNING)

    @property
    def failed(self) -> bool:
        """It ran and did not succeed: its cell keeps the error (the `raises-exception` tag)."""
        return self in (
            ActionStatus.ERROR,
            ActionStatus.TIMEOUT,
            ActionStatus.INTERRUPTED,
            ActionStatus.DEAD,
            ActionStatus.RESTARTED,
        )

    @property
    def ran(self) -> bool:
        """The code went to the kernel (it may still be running): it has outputs and a count."""
        return self in (ActionStatus.RUNNING, ActionStatus.OK) or self.failed

    @property
    def completed(self) -> bool:
        """The code ran to its own end: it returned or raised (not cut off from outside)."""
        return self in (ActionStatus.OK, ActionStatus.ERROR)


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> float:
    return time.time()


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens

    def to_dict(self) -> wire.Usage:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage:
        data = data or {}
        return cls(int(data.get("prompt_tokens", 0)), int(data.get("completion_tokens", 0)))


@dataclass
class EpisodeSettings:
    """What an episode ran with. Never holds a secret: no API key, no credentials in URLs."""

    model: str = ""
    endpoint: str = ""  # scheme://host[:port]/path, credentials and query removed
    prompt_version: str = ""
    max_turns: int = 10
    action_timeout: float = 60.0
    budget: float | None = None
    temperature: float = 0.0
    max_tokens: int | None = None
    max_output_chars: int = 4000
    vision: bool = False
    approval: str = "auto"  # "auto" or "ask"
    kernel_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EpisodeSettings:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass
class Step:
    """One entry of the episode's append-only history.

    ``data`` depends on ``kind``: ``wire.UserData``, ``wire.AssistantData``,
    ``wire.ActionData``, ``wire.ObservationData``, ``wire.SolutionData`` or
    ``wire.ErrorData`` (codeact_lab/agent/wire.py says every key).
    """

    id: str
    kind: StepKind
    time: float
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> wire.Step:
        step = {"id": self.id, "kind": self.kind.value, "time": self.time, "data": self.data}
        return cast("wire.Step", step)  # data is whatever its writers put there

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        return cls(id=data["id"], kind=StepKind(data["kind"]), time=data["time"], data=data["data"])


def status_of(step: Step) -> ActionStatus | None:
    """An action step's status; None for another kind of step or a status this version does
    not know (a record written by a newer one)."""
    if step.kind is not StepKind.ACTION:
        return None
    try:
        return ActionStatus(step.data.get("status"))
    except ValueError:
        return None


class EventType(str, Enum):
    """Each type's ``data`` is in codeact_lab/agent/wire.py (``wire.FinalData``, ...)."""

    EPISODE_STARTED = "episode_started"  # data: {task, settings, system}
    USER_MESSAGE = "user_message"  # step: user
    TURN_STARTED = "turn_started"  # data: {turn}
    TEXT_DELTA = "text_delta"  # data: {turn, text}  (not stored in the record)
    MODEL_RETRY = "model_retry"  # data: {turn, attempt, reason, delay}  the draft restarts
    ASSISTANT_MESSAGE = "assistant_message"  # step: assistant
    ACTION = "action"  # step: action (status pending)
    AWAITING_APPROVAL = "awaiting_approval"  # data: {step_id}
    APPROVAL = "approval"  # data: {step_id, decision, note, code: the user's edit | None}
    ACTION_STARTED = "action_started"  # data: {step_id}
    EXECUTE_INPUT = "execute_input"  # data: {step_id, execution_count}
    OUTPUT = "output"  # data: {step_id, from?, append?, outputs}  a patch (output_patch.py)
    # data: {step_id, status, outputs, execution_count, ...}; live clients get outputs_patch
    # (from the live outputs they have) instead of outputs.
    ACTION_FINISHED = "action_finished"
    OBSERVATION = "observation"  # step: observation
    SOLUTION = "solution"  # step: solution
    ERROR = "error"  # step: error
    FINAL = "final"  # data: {state, reason}
    # data: {waiting}  the kernel runs something the episode did not start (the user's cell):
    # the episode waits for it (live only, not stored)
    KERNEL_BUSY = "kernel_busy"


# Events that are only a live view and are not needed to rebuild the record.
TRANSIENT_EVENTS = frozenset(
    {EventType.TEXT_DELTA, EventType.MODEL_RETRY, EventType.OUTPUT, EventType.KERNEL_BUSY}
)


@dataclass
class Event:
    type: EventType
    seq: int
    time: float
    data: dict[str, Any] = field(default_factory=dict)
    # An OUTPUT event made by the loop: the action's outputs just after it (never sent or
    # stored). A host may publish the event later, when the outputs have moved on.
    outputs_after: list[dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> wire.Event:
        event = {"type": self.type.value, "seq": self.seq, "time": self.time, "data": self.data}
        return cast("wire.Event", event)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(
            type=EventType(data["type"]),
            seq=int(data["seq"]),
            time=float(data["time"]),
            data=data.get("data", {}),
        )


@dataclass
class Episode:
    task: str
    settings: EpisodeSettings = field(default_factory=EpisodeSettings)
    id: str = field(default_factory=new_id)
    created: float = field(default_factory=now)
    steps: list[Step] = field(default_factory=list)
    state: FinalState | None = None  # None while running (or never started)
    reason: str = ""
    ended: float | None = None
    usage: Usage = field(default_factory=Usage)
    last_seq: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)  # host-owned (notebook path, ...)
    system: str = ""  # the system prompt as the model read it (tools and context filled in)

    # ---- building events -------------------------------------------------
    def event(self, type: EventType, /, **data: Any) -> Event:
        """Make the next event of this episode and apply it."""
        ev = Event(type=type, seq=self.last_seq + 1, time=now(), data=data)
        self.apply(ev)
        return ev

    def step_event(self, type: EventType, kind: StepKind, /, **data: Any) -> Event:
        step = Step(id=f"{len(self.steps) + 1:04d}-{kind.value}", kind=kind, time=now(), data=data)
        return self.event(type, step=step.to_dict())

    # ---- the reducer -----------------------------------------------------
    def apply(self, ev: Event) -> bool:
        """Apply one event. Returns False (and changes nothing) for an event already applied."""
        if ev.seq <= self.last_seq:
            return False
        self.last_seq = ev.seq
        d = ev.data
        if "step" in d:
            # A copy: later events change the step, and must not change this event.
            step = Step.from_dict(copy.deepcopy(d["step"]))
            if self.find(step.id) is None:
                self.steps.append(step)
                if step.kind is StepKind.ASSISTANT:
                    self.usage.add(Usage.from_dict(step.data.get("usage")))
                elif step.kind is StepKind.USER:  # a follow-up reopens a finished episode
                    self.state, self.reason, self.ended = None, "", None
        elif ev.type is EventType.EPISODE_STARTED:
            self.state, self.reason, self.ended = None, "", None
            self.system = d.get("system", self.system)
        elif ev.type in (EventType.AWAITING_APPROVAL, EventType.ACTION_STARTED):
            status = (
                ActionStatus.AWAITING_APPROVAL
                if ev.type is EventType.AWAITING_APPROVAL
                else ActionStatus.RUNNING
            )
            self._update_action(d["step_id"], status=status.value)
        elif ev.type is EventType.APPROVAL:
            update: dict[str, Any] = {
                "approval": {"decision": d["decision"], "note": d.get("note")}
            }
            if d["decision"] == "reject":
                update["status"] = ActionStatus.REJECTED.value
            edited = self.find(d["step_id"])
            if d.get("code") is not None and edited is not None:
                # The user edited the proposed code: what runs is theirs; the model's is kept.
                update["model_code"] = edited.data.get("model_code", edited.data.get("code"))
                update["code"] = d["code"]
            self._update_action(d["step_id"], **update)
        elif ev.type is EventType.EXECUTE_INPUT:
            self._update_action(d["step_id"], execution_count=d.get("execution_count"))
        elif ev.type is EventType.OUTPUT:
            action = self.find(d["step_id"])
            if action is not None:
                action.data["outputs"] = apply_patch(action.data.get("outputs") or [], d)
        elif ev.type is EventType.ACTION_FINISHED:
            fields = {k: v for k, v in d.items() if k not in ("step_id", "outputs_patch")}
            action = self.find(d["step_id"])
            if action is not None and "outputs_patch" in d:  # as live clients get it
                patch = d["outputs_patch"]
                fields["outputs"] = apply_patch(action.data.get("outputs") or [], patch)
            self._update_action(d["step_id"], **fields)
        elif ev.type is EventType.FINAL:
            self.state = FinalState(d["state"])
            self.reason = d.get("reason", "")
            self.ended = ev.time
        return True

    def _update_action(self, step_id: str, **fields: Any) -> None:
        step = self.find(step_id)
        if step is not None:
            step.data.update(fields)

    # ---- queries -----------------------------------------------------------
    def find(self, step_id: str) -> Step | None:
        for step in reversed(self.steps):
            if step.id == step_id:
                return step
        return None

    def steps_of(self, kind: StepKind) -> list[Step]:
        return [s for s in self.steps if s.kind is kind]

    @property
    def turns(self) -> int:
        return len(self.steps_of(StepKind.ASSISTANT))

    @property
    def solution(self) -> str | None:
        sols = self.steps_of(StepKind.SOLUTION)
        return sols[-1].data["text"] if sols else None

    @property
    def running(self) -> bool:
        return self.state is None and bool(self.steps)

    # ---- serialisation -----------------------------------------------------
    def to_dict(self) -> wire.EpisodeRecord:
        return {
            "id": self.id,
            "task": self.task,
            "created": self.created,
            "settings": cast("wire.EpisodeSettings", self.settings.to_dict()),
            "steps": [s.to_dict() for s in self.steps],
            "state": self.state.value if self.state else None,
            "reason": self.reason,
            "ended": self.ended,
            "usage": self.usage.to_dict(),
            "last_seq": self.last_seq,
            "metadata": cast("wire.EpisodeMetadata", self.metadata),
            "system": self.system,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Episode:
        return cls(
            id=data["id"],
            task=data["task"],
            created=data["created"],
            settings=EpisodeSettings.from_dict(data.get("settings")),
            steps=[Step.from_dict(s) for s in data.get("steps", [])],
            state=FinalState(data["state"]) if data.get("state") else None,
            reason=data.get("reason", ""),
            ended=data.get("ended"),
            usage=Usage.from_dict(data.get("usage")),
            last_seq=int(data.get("last_seq", 0)),
            metadata=dict(data.get("metadata") or {}),
            system=data.get("system", ""),
        )

    @classmethod
    def replay(cls, events: list[Event], **kwargs: Any) -> Episode:
        """Rebuild an episode from its stored events (the first must be EPISODE_STARTED)."""
        first = events[0].data
        ep = cls(
            task=first["task"],
            settings=EpisodeSettings.from_dict(first.get("settings")),
            **kwargs,
        )
        for ev in events:
            ep.apply(ev)
        return ep
