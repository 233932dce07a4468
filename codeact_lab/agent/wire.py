"""The wire: every JSON shape the two halves exchange, as TypedDicts.

Steps and events (the episode record, the event stream) and the answers of the
server's routes. The wire stays plain JSON: these types only say what it holds.
``wire_schema.py`` turns them into ``codeact_lab/wire.schema.json``, from which the
frontend's types are generated (``labextension/src/wire.ts``), so both halves read
one contract. A key that is not always written (older records, the smolagents peer,
one path of the loop) is ``NotRequired``.

The string enums of ``episode.py`` appear here as ``Literal`` types of the same names:
the wire holds their values (``test_wire.py`` checks the two agree).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema
from typing_extensions import NotRequired, TypeAliasType, TypedDict

FinalState = TypeAliasType(
    "FinalState",
    Literal[
        "solved", "replied", "stopped", "failed", "max_turns", "budget", "interrupted", "stuck"
    ],
)
ActionStatus = TypeAliasType(
    "ActionStatus",
    Literal[
        "pending",
        "awaiting_approval",
        "rejected",
        "running",
        "ok",
        "error",
        "timeout",
        "interrupted",
        "dead",
        "restarted",
        "skipped",
    ],
)
StepKind = TypeAliasType(
    "StepKind", Literal["user", "assistant", "action", "observation", "solution", "error"]
)
Approval = TypeAliasType("Approval", Literal["auto", "ask"])

# nbformat's output dicts (stream, display_data, execute_result, error): nbformat's own
# schema says the rest; the frontend reads them as @jupyterlab/nbformat's IOutput.
Output = TypeAliasType(
    "Output",
    Annotated[
        dict[str, Any],
        WithJsonSchema(
            {
                "type": "object",
                "description": "One nbformat output.",
                "properties": {"output_type": {"type": "string"}},
                "required": ["output_type"],
                "additionalProperties": True,
                "tsType": "IOutput",
            }
        ),
    ],
)


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


# ---- step data ---------------------------------------------------------------


class NotebookCellMark(TypedDict):
    """One cell of the notebook as a user message last saw it (what changed is
    measured from it): ``CellDigest.fingerprint``."""

    id: str
    source: str
    """A hash of the cell's source."""
    count: int | None
    error: str | None


class UserData(TypedDict):
    """The task, or a follow-up message."""

    text: str
    rejects_answer: NotRequired[bool]
    """True when the message tells the model its answer is wrong."""
    continues_request: NotRequired[bool]
    """True when the message goes on with the request before it (a host's "go on"): the
    repetition rules and the stated answer form look past it, as past a rejection."""
    notebook: NotRequired[str]
    """What the model is told of the user's notebook (or of what changed in it)."""
    notebook_cells: NotRequired[list[NotebookCellMark]]


class Dropped(TypedDict):
    through: str
    """The last step left out: every step up to it is."""
    messages: int


class Condensed(TypedDict, total=False):
    """What a request's prompt shortened to fit the model's context, by step id
    (condense.py): observations cut head and tail, or left as one line; replies'
    long code cut; notebook texts cut; the oldest turns left out."""

    cut: list[str]
    omitted: list[str]
    code: list[str]
    notebook: list[str]
    dropped: Dropped


class SamplingRecord(TypedDict):
    """A reply sampled at this temperature instead of the model's own (after a fresh start)."""

    temperature: float
    seed: int | None


class AssistantData(TypedDict):
    """One model reply, whole, and the prompt it answered."""

    text: str
    turn: int
    usage: Usage | None
    finish_reason: NotRequired[str | None]
    retries: NotRequired[int]
    duration: NotRequired[float]
    """The model's latency in seconds, retries included."""
    prompt_tokens: NotRequired[int]
    """The prompt's tokens by the loop's estimate."""
    context_tokens: NotRequired[int]
    """The model's context, in tokens."""
    condensed: NotRequired[Condensed]
    """Absent: the whole history was sent."""
    sampling: NotRequired[SamplingRecord]
    """Absent: the model's own temperature."""


class ApprovalRecord(TypedDict):
    decision: Literal["approve", "reject"]
    note: str | None


class ActionData(TypedDict):
    """One code action and its execution."""

    code: str
    """What runs (the user's edit, when they edited it)."""
    turn: int
    index: int
    format: Literal["tag", "fence", "restore", "smolagents"]
    """restore: the earlier actions' code, re-run in a new kernel."""
    status: ActionStatus
    outputs: list[Output]
    execution_count: int | None
    duration: float | None
    approval: ApprovalRecord | None
    content: NotRequired[str]
    """The model's action as written, when an action mode translated it to code."""
    model_code: NotRequired[str]
    """The model's code, when the user edited it before it ran."""
    outputs_truncated: NotRequired[bool]
    timeout: NotRequired[float | None]
    """The timeout it ran past (status timeout)."""


class RefusedAnswer(TypedDict):
    text: str
    why: str
    action_id: NotRequired[str]
    """The action whose ``final_answer()`` gave it; absent for a ``<solution>``."""


class ObservationData(TypedDict):
    """What the model is told about the action(s) of a reply."""

    text: str
    images: list[str]
    """Base64 PNGs."""
    turn: int
    action_ids: list[str]
    refused_answer: NotRequired[RefusedAnswer]
    """The reply's answer, when it was not taken."""
    note: NotRequired[str]
    """Which of the loop's one-time reminders this is."""
    fresh_start: NotRequired[str]
    """The request starts over here (the model was stuck): what the model reads instead of
    the turns between the request's message and this step, which it no longer sees."""


class SolutionData(TypedDict):
    text: str
    turn: int
    source: NotRequired[Literal["code", "prose"]]
    """code: final_answer() gave it, in action ``action_id``; prose: read from the model's
    sentence ``prose``, given without tags after it was asked for them."""
    action_id: NotRequired[str]
    prose: NotRequired[str]


class ErrorData(TypedDict):
    message: str
    kind: str
    """What failed: context, model, kernel or internal."""


# ---- steps -------------------------------------------------------------------


class UserStep(TypedDict):
    id: str
    kind: Literal["user"]
    time: float
    data: UserData


class AssistantStep(TypedDict):
    id: str
    kind: Literal["assistant"]
    time: float
    data: AssistantData


class ActionStep(TypedDict):
    id: str
    kind: Literal["action"]
    time: float
    data: ActionData


class ObservationStep(TypedDict):
    id: str
    kind: Literal["observation"]
    time: float
    data: ObservationData


class SolutionStep(TypedDict):
    id: str
    kind: Literal["solution"]
    time: float
    data: SolutionData


class ErrorStep(TypedDict):
    id: str
    kind: Literal["error"]
    time: float
    data: ErrorData


# The discriminator tells the schema (and TypeScript) which member a step is.
Step = TypeAliasType(
    "Step",
    Annotated[
        UserStep | AssistantStep | ActionStep | ObservationStep | SolutionStep | ErrorStep,
        Field(discriminator="kind"),
    ],
)


# ---- event data --------------------------------------------------------------


class EpisodeSettings(TypedDict):
    """What an episode ran with (``episode.EpisodeSettings``). Never a secret."""

    model: str
    endpoint: str
    prompt_version: str
    max_turns: int
    action_timeout: float
    budget: float | None
    temperature: float
    max_tokens: int | None
    max_output_chars: int
    vision: bool
    approval: str
    kernel_name: str


class EpisodeStartedData(TypedDict):
    task: str
    settings: EpisodeSettings
    system: str


class UserMessageData(TypedDict):
    step: UserStep


class AssistantMessageData(TypedDict):
    step: AssistantStep


class ActionEventData(TypedDict):
    step: ActionStep


class ObservationEventData(TypedDict):
    step: ObservationStep


class SolutionEventData(TypedDict):
    step: SolutionStep


class ErrorEventData(TypedDict):
    step: ErrorStep


class TurnStartedData(TypedDict):
    turn: int


class TextDeltaData(TypedDict):
    turn: int
    text: str


class ModelRetryData(TypedDict):
    """The draft of ``turn`` restarts."""

    turn: int
    attempt: int
    reason: str
    delay: float


class StepRef(TypedDict):
    step_id: str


class ApprovalData(TypedDict):
    step_id: str
    decision: Literal["approve", "reject"]
    note: str | None
    code: NotRequired[str]
    """The user's edit of the proposed code: what runs instead."""


class ExecuteInputData(TypedDict):
    step_id: str
    execution_count: int | None


# Live output as a patch (output_patch.py): keep the first ``from`` outputs; with
# ``append``, output ``from`` is a stream that grew by that text and ``outputs`` follow
# it; otherwise ``outputs`` replace the rest. No ``from``: the whole list. ("from" is a
# keyword in Python, hence the functional form.)
OutputData = TypedDict(
    "OutputData",
    {
        "step_id": str,
        "from": NotRequired[int],
        "append": NotRequired[str],
        "outputs": list[Output],
    },
)

OutputsPatch = TypedDict(
    "OutputsPatch",
    {"from": NotRequired[int], "append": NotRequired[str], "outputs": list[Output]},
)


class ActionFinishedData(TypedDict):
    """An action ended. A stopped or skipped action has only ``status``; the store keeps
    ``outputs`` whole, live clients get ``outputs_patch`` from the live outputs they have."""

    step_id: str
    status: ActionStatus
    outputs: NotRequired[list[Output]]
    outputs_patch: NotRequired[OutputsPatch]
    execution_count: NotRequired[int | None]
    duration: NotRequired[float]
    outputs_truncated: NotRequired[bool]
    timeout: NotRequired[float | None]


class FinalData(TypedDict):
    state: FinalState
    reason: str


class KernelBusyData(TypedDict):
    """The kernel runs something the episode did not start (the user's cell): the
    episode waits for it (live only, not stored)."""

    waiting: bool


# ---- events --------------------------------------------------------------------


class EpisodeStartedEvent(TypedDict):
    type: Literal["episode_started"]
    seq: int
    time: float
    data: EpisodeStartedData


class UserMessageEvent(TypedDict):
    type: Literal["user_message"]
    seq: int
    time: float
    data: UserMessageData


class TurnStartedEvent(TypedDict):
    type: Literal["turn_started"]
    seq: int
    time: float
    data: TurnStartedData


class TextDeltaEvent(TypedDict):
    """Live only, not stored."""

    type: Literal["text_delta"]
    seq: int
    time: float
    data: TextDeltaData


class ModelRetryEvent(TypedDict):
    """Live only, not stored."""

    type: Literal["model_retry"]
    seq: int
    time: float
    data: ModelRetryData


class AssistantMessageEvent(TypedDict):
    type: Literal["assistant_message"]
    seq: int
    time: float
    data: AssistantMessageData


class ActionEvent(TypedDict):
    """An action step, status pending."""

    type: Literal["action"]
    seq: int
    time: float
    data: ActionEventData


class AwaitingApprovalEvent(TypedDict):
    type: Literal["awaiting_approval"]
    seq: int
    time: float
    data: StepRef


class ApprovalEvent(TypedDict):
    type: Literal["approval"]
    seq: int
    time: float
    data: ApprovalData


class ActionStartedEvent(TypedDict):
    type: Literal["action_started"]
    seq: int
    time: float
    data: StepRef


class ExecuteInputEvent(TypedDict):
    type: Literal["execute_input"]
    seq: int
    time: float
    data: ExecuteInputData


class OutputEvent(TypedDict):
    """Live only, not stored."""

    type: Literal["output"]
    seq: int
    time: float
    data: OutputData


class ActionFinishedEvent(TypedDict):
    type: Literal["action_finished"]
    seq: int
    time: float
    data: ActionFinishedData


class ObservationEvent(TypedDict):
    type: Literal["observation"]
    seq: int
    time: float
    data: ObservationEventData


class SolutionEvent(TypedDict):
    type: Literal["solution"]
    seq: int
    time: float
    data: SolutionEventData


class ErrorEvent(TypedDict):
    type: Literal["error"]
    seq: int
    time: float
    data: ErrorEventData


class FinalEvent(TypedDict):
    type: Literal["final"]
    seq: int
    time: float
    data: FinalData


class KernelBusyEvent(TypedDict):
    """Live only, not stored."""

    type: Literal["kernel_busy"]
    seq: int
    time: float
    data: KernelBusyData


Event = TypeAliasType(
    "Event",
    Annotated[
        EpisodeStartedEvent
        | UserMessageEvent
        | TurnStartedEvent
        | TextDeltaEvent
        | ModelRetryEvent
        | AssistantMessageEvent
        | ActionEvent
        | AwaitingApprovalEvent
        | ApprovalEvent
        | ActionStartedEvent
        | ExecuteInputEvent
        | OutputEvent
        | ActionFinishedEvent
        | ObservationEvent
        | SolutionEvent
        | ErrorEvent
        | FinalEvent
        | KernelBusyEvent,
        Field(discriminator="type"),
    ],
)


class CaughtUp(TypedDict):
    """The event stream's own message: the replay is over, events are live from here."""

    type: Literal["caught_up"]
    seq: int


# Not a discriminated union in the schema: Event is one already (the type still tells
# the two apart).
StreamMessage = TypeAliasType("StreamMessage", Event | CaughtUp)
"""One message of ``WS /codeact/episodes/{id}/events``."""


# ---- the episode record and the routes' answers ----------------------------------


class EpisodeMetadata(TypedDict, total=False):
    """Host-owned: what the server (or the eval harness) keeps with an episode. Open:
    a host may add keys of its own."""

    notebook_path: str
    kernel_id: str
    anchor_cell_id: str | None
    request_id: str
    """The ``%codeact`` run that started it."""
    fix_cell_id: str
    """"Fix with CodeAct": the cell its fix may be applied to."""
    imported: bool
    """It arrived as a record (an exported notebook)."""
    cells_differ: bool
    """The imported notebook's cells do not show the code its record would re-run."""
    mode: str
    suite: str
    task: str


class EpisodeRecord(TypedDict):
    """``Episode.to_dict()``: the record, as stored and exported."""

    id: str
    task: str
    created: float
    settings: EpisodeSettings
    steps: list[Step]
    state: FinalState | None
    """None while it runs (or before it started)."""
    reason: str
    ended: float | None
    usage: Usage
    last_seq: int
    metadata: EpisodeMetadata
    system: str
    """The system prompt as the model read it (tools and context filled in)."""


class EpisodeDescription(EpisodeRecord):
    """``GET /codeact/episodes/{id}``, and the answer of every route that changes an
    episode (start, message, approve, reject, stop, import)."""

    running: bool
    awaiting_approval: str | None
    """The id of the action step that waits for the user's decision."""


class EpisodeSummary(TypedDict):
    """One row of ``GET /codeact/episodes``."""

    id: str
    task: str
    created: float
    ended: float | None
    state: FinalState | None
    reason: str
    turns: int
    usage: Usage
    model: str
    notebook_path: str
    kernel_id: str
    running: bool


class EpisodeList(TypedDict):
    """``GET /codeact/episodes``."""

    episodes: list[EpisodeSummary]


class DetectedServer(TypedDict):
    """A model server the user already runs (Ollama, LM Studio, ...), found by the Jupyter
    server; never used unless the user accepts it."""

    name: str
    base_url: str
    models: list[str]


class ServerConfig(TypedDict):
    """``GET /codeact/config``: what the server runs episodes with."""

    model: str
    endpoint: str
    approval: Approval
    max_turns: int
    action_timeout: float | None
    local: NotRequired[bool]
    """The embedded local model is in use (false: no model at all)."""
    note: NotRequired[str]
    """What the model is (small, slow), or how to get one."""
    detected: NotRequired[list[DetectedServer]]
    """With no endpoint configured: model servers found on this machine."""


class Health(TypedDict):
    """``GET /codeact/health``."""

    status: Literal["ok"]
    version: str


class ErrorReply(TypedDict):
    """The body of a refusal (4xx) of a codeact route."""

    message: str
    reason: NotRequired[str | None]
    """jupyter_server's own refusals (a 404 route, a 403) add these."""
    traceback: NotRequired[str | None]


# What the schema file describes, by name (wire_schema.py).
ROOTS: dict[str, Any] = {
    "StepKind": StepKind,
    "Step": Step,
    "Event": Event,
    "StreamMessage": StreamMessage,
    "EpisodeRecord": EpisodeRecord,
    "EpisodeDescription": EpisodeDescription,
    "EpisodeList": EpisodeList,
    "ServerConfig": ServerConfig,
    "Health": Health,
    "ErrorReply": ErrorReply,
}
# Open objects: a host may add keys the schema does not name.
OPEN = (EpisodeMetadata,)
