"""The CodeAct loop: model reply -> code actions -> kernel -> observation -> model ...

``run`` is an async generator of :class:`Event`. Every event is applied to the
episode before it is yielded, so the episode is always the whole truth and a host
can persist or forward events as they come. The loop never raises for anything
the model, the endpoint or the kernel does: those end in an ERROR step and a FINAL
event that says why. It raises only ``CancelledError`` when the host cancels it.

One call of ``run`` answers one user message (the task, or a follow-up given as
``message``): up to ``policy.max_turns`` model calls.

An answer comes as ``<solution>`` or from code, through ``final_answer(value)``
(code_answer.py), and is reviewed before it is taken (answer_review.py). A model that
repeats itself (repetition.py: its last action, a rejected answer, a reply with nothing
to run word for word) starts the request over, up to ``policy.fresh_starts`` times: the
repeat is not run or taken, and the model's view of the request begins again
(messages.py). After that, the same action or rejected answer a third time ends the turn
as STUCK.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from . import code_answer
from .answer_review import (
    BEFORE_ACTION,
    PROSE,
    REPEATED,
    Review,
    answers_in_prose,
    as_asked,
    prose_reply_note,
    review_answer,
)
from .condense import Budget, ContextOverflow, Prompt, condense
from .episode import (
    ActionStatus,
    Episode,
    Event,
    EventType,
    FinalState,
    Step,
    StepKind,
    now,
)
from .error_hints import error_hint, listed_functions, name_of
from .executor import ExecutionResult, Executor
from .given_functions import replaced_functions
from .llm import ChatModel, Completion, LLMError, Sampling
from .messages import prompt_parts
from .notebook_view import NotebookContext
from .observation import format_observation
from .output_patch import OutputTracker
from .parser import ParsedAction, ParsedReply, parse_reply
from .prompts import (
    ANSWER_BEFORE_ACTION,
    ATTEMPTS,
    CODE_ANSWER_AFTER_FAILURE,
    EMPTY_REPLY,
    FORMAT_REMINDER,
    FRESH_START,
    FRESH_START_STEP_BY_STEP,
    FRESH_START_WITH_FUNCTIONS,
    GIVEN_FUNCTION_REPLACED,
    NOT_RUN_ANSWERED,
    NOT_RUN_REPEATED,
    NOT_RUN_SAME_REPLY,
    NOT_RUN_STUCK,
    REPEATED_ACTION,
    REPEATED_ACTION_IN_A_ROW,
    REPEATED_FAILURE_IN_A_ROW,
    RESTORE_HEADER,
    RESTORE_REJECTED,
    RESTORED,
    SKIPPED_AFTER_FAILURE,
    SOLUTION_AFTER_FAILED_ACTION,
    STARTING_OVER,
    STUCK_ACTION,
    STUCK_ANSWER,
    TRUNCATED_ACTION,
    USER_EDITED,
    USERS_FINAL_ANSWER,
    PromptTemplate,
)
from .prose_answer import answer_from_prose
from .pumped import Done, pumped
from .repetition import (
    earlier_identical,
    fresh_starts_used,
    gave_refused_answer,
    identical_in_a_row,
    repeated_reply,
    returned,
)
from .tokens import DEFAULT_CONTEXT_TOKENS, DEFAULT_REPLY_TOKENS


@dataclass
class Decision:
    approve: bool
    note: str | None = None
    code: str | None = None  # the user's edit of the proposed code: what runs instead


class Approver(Protocol):
    """Asked before each action runs when approval is on; a host implements it."""

    def __call__(self, episode: Episode, step: Step) -> Awaitable[Decision]: ...


@dataclass
class Policy:
    max_turns: int = 10  # model calls per user message
    action_timeout: float | None = 60.0
    budget: float | None = None  # wall-clock seconds for this run
    max_output_chars: int = 4000  # what the model reads of one action's output
    vision: bool = False  # send images to the model
    max_actions_per_reply: int = 5
    output_event_interval: float = 0.05  # throttle for live OUTPUT events
    approver: Approver | None = None  # None: run every action (auto)
    # Turns an action's content into Python (the paper's JSON and text action modes);
    # a ValueError is reported to the model as the action's error. None: content is code.
    translate_action: Callable[[str], str] | None = None
    # final_answer(value) in the namespace while an action runs (code_answer.py)
    code_answers: bool = True
    # The task needs the kernel: an answer with no successful action in the episode gets
    # this note, once, instead of being taken (answer_review.py). None: no such nudge.
    verify_note: str | None = None
    # The model repeats itself (its last action, or an answer it was told is wrong) with a
    # turn left: how many times a request starts over instead, its turns so far out of the
    # model's view (messages.py). After them, the third time ends the request as stuck.
    fresh_starts: int = 2
    # The first reply after a request's second fresh start is sampled at this temperature
    # (seeded by the turn, so a run can be reproduced): at temperature 0 it got the reply
    # after the first fresh start again. None: greedy.
    fresh_start_temperature: float | None = 0.7


@dataclass
class Restore:
    """Re-run an episode's earlier code before its follow-up (it continues in a new kernel).

    It runs as one action the user sees (a cell) and, with an ``approver``, approves first.
    """

    code: str
    approver: Approver | None = None  # None: it runs at once (the user approves everything)


class StopSignal:
    """Set by a host to stop an episode: the model stream is cancelled, a running
    action is interrupted, an approval wait ends."""

    def __init__(self) -> None:
        self.reason = ""
        self.state = FinalState.STOPPED
        self._set = False
        self._listeners: list[Callable[[], None]] = []

    def set(
        self, reason: str = "stopped by the user", state: FinalState = FinalState.STOPPED
    ) -> None:
        """Stop; ``state`` is how the episode ends (FAILED when the host cannot go on)."""
        if self._set:
            return
        self._set, self.reason, self.state = True, reason, state
        for listener in list(self._listeners):
            listener()

    def is_set(self) -> bool:
        return self._set

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)


class _Stopped(Exception):
    pass


class _OutOfTime(Exception):
    pass


Emit = Callable[[Event], None]  # how a piece of work hands the loop an event
T = TypeVar("T")


def _cancel(task: asyncio.Future[T]) -> None:
    task.cancel()


@dataclass
class _Plan:
    """What a reply asks for: its actions to consider (cut to the policy's limits), the
    notes on those that were cut."""

    reply: ParsedReply
    actions: list[ParsedAction]
    notes: list[str]


@dataclass
class _Ran:
    """What running a reply's actions came to."""

    results: list[tuple[Step, ExecutionResult | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False
    stuck: bool = False  # an action repeated a third time in a row: not run
    answer: str | None = None  # what an action gave final_answer()
    answer_from: str = ""  # that action
    answered_by: str = ""  # the same, when its answer ends the episode (it did not fail)


class _Run:
    """One run's state; ``run`` below is the public entry point."""

    def __init__(
        self,
        episode: Episode,
        llm: ChatModel,
        executor: Executor,
        policy: Policy,
        stop: StopSignal,
        prompt: PromptTemplate,
        tools: str,
        context: str,
        restore: Restore | None = None,
        notebook: NotebookContext | None = None,
    ) -> None:
        self.restore = restore
        self.notebook = notebook.to_step_data() if notebook is not None and notebook.text else {}
        self.ep = episode
        self.llm = llm
        self.executor = executor
        self.policy = policy
        self.stop = stop
        self.prompt = prompt
        # A follow-up keeps the system prompt the episode began with: one conversation.
        self.system = episode.system or prompt.render(tools=tools, context=context)
        self.functions = listed_functions(tools)  # named in the hint after a guessed name
        self.given = {name_of(f): f for f in self.functions}  # never replaced by a value
        self.deadline = time.monotonic() + policy.budget if policy.budget else None
        self._code_answers: dict[str, str] = {}  # action step id -> what final_answer() got
        self._users_final_answer = False  # an action found the user's own final_answer
        self._not_run: dict[str, str] = {}  # skipped action id -> why, when not a failure
        self._last_turn = False  # the turn being run is this run's last
        # The context every prompt must fit; a model that does not say (a test double) gets
        # the defaults of an endpoint.
        self.context = Budget(
            getattr(llm, "context_tokens", None) or DEFAULT_CONTEXT_TOKENS,
            getattr(llm, "reply_tokens", None) or DEFAULT_REPLY_TOKENS,
        )
        self.token_counts: dict[tuple[Any, ...], int] = {}  # condense's, from turn to turn

    # ---- helpers that run a task while forwarding the events its callbacks make ----
    @pumped
    async def _pump(
        self,
        work: Callable[[Emit], Awaitable[T]],
        on_stop: Callable[[asyncio.Future[T]], None],
        *,
        use_deadline: bool = True,
    ) -> AsyncIterator[Event | Done[T]]:
        """Run ``work(emit)``: its events as it emits them, then its result.

        On a stop, ``on_stop`` is called (cancel or interrupt) and the work is awaited.
        With ``use_deadline``, the wall-clock budget cancels the work and raises
        ``_OutOfTime``; an action is not cancelled (its timeout is cut to the budget
        instead, so the kernel is interrupted, never abandoned mid-run).
        """
        queue: asyncio.Queue[Event | None] = asyncio.Queue()  # None: the work ended
        task = asyncio.ensure_future(work(queue.put_nowait))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        unlisten = self.stop.listen(lambda: on_stop(task))
        try:
            if self.stop.is_set():
                on_stop(task)
            while True:
                timeout = None
                if self.deadline is not None and use_deadline:
                    timeout = max(0.0, self.deadline - time.monotonic())
                try:
                    item = await asyncio.wait_for(queue.get(), timeout)
                except asyncio.TimeoutError:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    raise _OutOfTime() from None
                if item is None:
                    break
                yield item
            while not queue.empty():  # events made just before the task finished
                item = queue.get_nowait()
                if item is not None:
                    yield item
            if task.cancelled():
                raise _Stopped()
            yield Done(task.result())
        finally:
            unlisten()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # ---- the loop ----
    async def events(
        self, message: str | None, rejects_answer: bool = False, continues: bool = False
    ) -> AsyncIterator[Event]:
        ep = self.ep
        ep.settings.prompt_version = self.prompt.version
        if not ep.steps:
            yield ep.event(
                EventType.EPISODE_STARTED,
                task=ep.task,
                settings=ep.settings.to_dict(),
                system=self.system,
            )
            yield ep.step_event(
                EventType.USER_MESSAGE, StepKind.USER, text=ep.task, **self.notebook
            )
        elif not ep.system:  # imported: the prompt is this server's, never the file's
            yield ep.event(
                EventType.EPISODE_STARTED,
                task=ep.task,
                settings=ep.settings.to_dict(),
                system=self.system,
            )
        try:
            if self.restore is not None:
                async for ev in self._restore(self.restore):
                    yield ev
            if message is not None:
                same = {"continues_request": True} if continues else {}
                if rejects_answer:
                    same["rejects_answer"] = True
                yield ep.step_event(
                    EventType.USER_MESSAGE,
                    StepKind.USER,
                    text=message,
                    **same,
                    **self.notebook,
                )
            for turn_index in range(self.policy.max_turns):
                self._last_turn = turn_index == self.policy.max_turns - 1
                if self.stop.is_set():
                    raise _Stopped()
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    raise _OutOfTime()
                final = None
                async for ev in self._turn():
                    if ev.type is EventType.FINAL:
                        final = ev
                    yield ev
                if final is not None:
                    return
            yield ep.event(
                EventType.FINAL,
                state=FinalState.MAX_TURNS.value,
                reason=f"no solution after {self.policy.max_turns} turns",
            )
        except _Stopped:
            yield ep.event(
                EventType.FINAL,
                state=self.stop.state.value,
                reason=self.stop.reason or "stopped",
            )
        except _OutOfTime:
            yield ep.event(
                EventType.FINAL,
                state=FinalState.BUDGET.value,
                reason=f"the time budget of {self.policy.budget:g} s ran out",
            )
        except ContextOverflow as err:
            yield ep.step_event(EventType.ERROR, StepKind.ERROR, message=str(err), kind="context")
            yield ep.event(EventType.FINAL, state=FinalState.FAILED.value, reason=str(err))
        except LLMError as err:
            yield ep.step_event(EventType.ERROR, StepKind.ERROR, message=str(err), kind="model")
            yield ep.event(EventType.FINAL, state=FinalState.FAILED.value, reason=str(err))
        except Exception as err:  # a bug of ours must not lose the record
            message = f"internal error: {type(err).__name__}: {err}"
            yield ep.step_event(EventType.ERROR, StepKind.ERROR, message=message, kind="internal")
            yield ep.event(EventType.FINAL, state=FinalState.FAILED.value, reason=message)

    # ---- one turn, in phases: generate, plan, run, conclude ----
    async def _turn(self) -> AsyncIterator[Event]:
        turn = self.ep.turns + 1
        yield self.ep.event(EventType.TURN_STARTED, turn=turn)
        generating = self._generate(turn)
        async for ev in generating:
            yield ev
        completion = generating.result
        if not completion.text.strip():
            yield self._observation(turn, EMPTY_REPLY, [], [])
            return
        plan = self._plan(completion)
        if not plan.actions:
            async for ev in self._without_actions(turn, completion, plan):
                yield ev
            return
        running = self._run_actions(turn, plan)
        async for ev in running:
            yield ev
        async for ev in self._conclude(turn, plan, running.result):
            yield ev

    @pumped
    async def _generate(self, turn: int) -> AsyncIterator[Event | Done[Completion]]:
        """Ask the model (its draft streams as deltas, retries are told), record its reply."""
        prompt = self._prompt()
        sampling = self._sampling(turn)
        asked = time.monotonic()
        completing = self._pump(self._complete_work(turn, prompt.messages, sampling), _cancel)
        async for ev in completing:
            yield ev
        completion = completing.result
        usage = completion.usage.to_dict() if completion.usage else None
        yield self.ep.step_event(
            EventType.ASSISTANT_MESSAGE,
            StepKind.ASSISTANT,
            text=completion.text,
            turn=turn,
            finish_reason=completion.finish_reason,
            usage=usage,
            retries=completion.retries,
            duration=round(time.monotonic() - asked, 4),  # the model's latency, retries included
            **prompt.record(self.context),  # what the model read: its size, what was shortened
            **({"sampling": sampling.to_dict()} if sampling else {}),
        )
        yield Done(completion)

    def _sampling(self, turn: int) -> Sampling | None:
        """The first reply after a request's second (or later) fresh start is sampled; None:
        the model's own. The first fresh start's prompt is new to the model; the second's
        differs from it by a word, and at temperature 0 got the same reply in 5 of 11."""
        temperature = self.policy.fresh_start_temperature
        last = self.ep.steps[-1] if self.ep.steps else None
        if temperature is None or last is None or not last.data.get("fresh_start"):
            return None
        return Sampling(temperature, seed=turn) if fresh_starts_used(self.ep) >= 2 else None

    def _plan(self, completion: Completion) -> _Plan:
        """The reply's actions that will be considered, and notes on the ones that won't."""
        reply = parse_reply(completion.text)
        notes: list[str] = []
        actions = list(reply.actions)
        if actions and actions[-1].unclosed and completion.finish_reason == "length":
            actions.pop()
            usage_tokens = (
                completion.usage.completion_tokens if completion.usage else "the limit of"
            )
            notes.append(TRUNCATED_ACTION.format(tokens=usage_tokens))
        if len(actions) > self.policy.max_actions_per_reply:
            notes.append(
                f"Only the first {self.policy.max_actions_per_reply} actions of your reply were run."
            )
            actions = actions[: self.policy.max_actions_per_reply]
        return _Plan(reply, actions, notes)

    async def _without_actions(
        self, turn: int, completion: Completion, plan: _Plan
    ) -> AsyncIterator[Event]:
        """A reply with nothing to run: a note, its answer, a reminder, or the end (REPLIED)."""
        ep = self.ep
        # Prose, or an action cut off, word for word as the reply before: start over.
        repeats = plan.reply.solution is None and repeated_reply(ep)
        fresh_start = self._fresh_start() if repeats else None
        if fresh_start is not None:
            text = f"{NOT_RUN_SAME_REPLY}\n\n{STARTING_OVER.format(note=fresh_start)}"
            yield self._observation(turn, text, [], [], fresh_start=fresh_start)
            return
        if plan.notes:  # the only action was cut off: tell the model, go on
            yield self._observation(turn, "\n".join(plan.notes), [], [])
            return
        if plan.reply.solution is not None:
            async for ev in self._answer(turn, plan.reply.solution):
                yield ev
            return
        reminder = prose_reply_note(ep)
        if reminder is not None:  # most often the answer, in prose: ask for it once
            yield self._observation(turn, reminder, [], [], note=PROSE)
            return
        if answers_in_prose(ep):  # asked, it said it again in prose: that is its answer
            async for ev in self._answer(turn, completion.text.strip(), prose=True):
                yield ev
            return
        yield ep.event(
            EventType.FINAL,
            state=FinalState.REPLIED.value,
            reason="the model replied without an action or a solution",
        )

    @pumped
    async def _run_actions(self, turn: int, plan: _Plan) -> AsyncIterator[Event | Done[_Ran]]:
        """Each action in order, until one fails, repeats itself a third time or answers:
        the rest are recorded as skipped."""
        ep = self.ep
        ran = _Ran()
        for index, action in enumerate(plan.actions):
            code, format_error = action.code, None
            if self.policy.translate_action is not None:
                try:
                    code = self.policy.translate_action(action.code)
                except ValueError as err:
                    format_error = str(err) or "the action could not be read"
            step_ev = self._action_step(action, code, turn, index)
            yield step_ev
            step = ep.find(step_ev.data["step"]["id"])
            assert step is not None
            halted_before = ran.failed or ran.stuck or bool(ran.answered_by)
            row = [] if halted_before else identical_in_a_row(ep, step)
            # The same code again, but for an answer given again after a note refused it:
            # not run (in a row, nothing ran in between: it would give what it gave). The
            # request starts over (below) or, the third time with no fresh start left, ends.
            again = len(row) == 1 and not gave_refused_answer(ep, row[0])
            if len(row) >= 2 or (again and self._fresh_start() is not None):
                ran.stuck = True
                self._not_run[step.id] = NOT_RUN_STUCK if len(row) >= 2 else NOT_RUN_REPEATED
            elif ran.answered_by:
                self._not_run[step.id] = NOT_RUN_ANSWERED
            halted = ran.failed or ran.stuck or bool(ran.answered_by) or self.stop.is_set()
            if format_error is not None and not halted:
                yield self._format_error(step, format_error, ran)
                continue
            replaced = [] if halted else replaced_functions(code, self.given)
            if replaced:  # the function would be gone from the kernel: not run
                yield self._not_run_error(
                    step, "GivenFunctionReplaced", self._replaced(replaced), ran
                )
                continue
            if halted:
                yield ep.event(
                    EventType.ACTION_FINISHED, step_id=step.id, status=ActionStatus.SKIPPED.value
                )
                ran.results.append((step, None))
                continue
            executing = self._approve_and_execute(step)
            async for ev in executing:
                yield ev
            result = executing.result
            ran.results.append((step, result))
            given = self._code_answers.pop(step.id, None)
            if result is None or result.status is not ActionStatus.OK:
                ran.failed = True
                if given is not None:
                    ran.notes.append(CODE_ANSWER_AFTER_FAILURE)
                    ran.answer, ran.answer_from = given, step.id  # refused with the reply
            elif given is not None:
                ran.answer, ran.answer_from = given, step.id
                ran.answered_by = step.id  # the rest of the reply is not run
        yield Done(ran)

    def _format_error(self, step: Step, message: str, ran: _Ran) -> Event:
        """An action its mode could not turn into code: it fails without running."""
        return self._not_run_error(step, "ActionFormatError", f"ActionFormatError: {message}", ran)

    def _replaced(self, names: list[str]) -> str:
        return GIVEN_FUNCTION_REPLACED.format(
            names=" and ".join(f"`{n}`" for n in names),
            signatures=", ".join(self.given[n] for n in names),
            example=f"`{names[0]}_result`",
        )

    def _not_run_error(self, step: Step, ename: str, message: str, ran: _Ran) -> Event:
        """An action that fails without running, with ``message`` as what it shows."""
        error = {
            "output_type": "error",
            "ename": ename,
            "evalue": message,
            "traceback": [message],
        }
        ran.results.append((step, ExecutionResult(ActionStatus.ERROR, outputs=[error])))
        ran.failed = True
        return self.ep.event(
            EventType.ACTION_FINISHED,
            step_id=step.id,
            status=ActionStatus.ERROR.value,
            outputs=[error],
        )

    async def _conclude(self, turn: int, plan: _Plan, ran: _Ran) -> AsyncIterator[Event]:
        """The observation of what ran, then how the turn ends: the kernel died, a stop,
        stuck, the answer taken, or (nothing yielded) on to the next turn."""
        ep = self.ep
        notes = [*plan.notes, *ran.notes]
        if plan.reply.used_fence:
            notes.append(FORMAT_REMINDER)
        answer = ran.answer if ran.answer is not None else plan.reply.solution
        answer = None if answer is None else as_asked(ep, answer)
        # A <solution> before the code: written without its output, so not the answer.
        early = ran.answer is None and plan.reply.answers_before_acting and not ran.stuck
        if early:
            notes.append(ANSWER_BEFORE_ACTION)
        elif answer is not None and ran.failed and CODE_ANSWER_AFTER_FAILURE not in notes:
            notes.append(SOLUTION_AFTER_FAILED_ACTION)
        review: Review | None = None
        if answer is not None and not ran.failed and not ran.stuck and not early:
            review = review_answer(ep, answer, self.policy.verify_note)
        repeated = ran.stuck or (review is not None and review.why == REPEATED)
        fresh_start = self._fresh_start() if repeated else None
        if fresh_start is not None:
            notes.append(STARTING_OVER.format(note=fresh_start))
        elif review is not None and review.note:
            notes.append(review.note)
        stuck = ran.stuck or (review is not None and review.stuck)
        if self._own_final_answer_unsaid():
            notes.append(USERS_FINAL_ANSWER)
        refused = None
        refusing = ran.failed or early or (review is not None and not review.accept)
        if answer is not None and not ran.stuck and refusing:
            if early:
                why = BEFORE_ACTION
            elif ran.failed:
                why = "failed_action"
            else:
                why = review.why if review is not None else ""
            refused = {"text": answer, "why": why}
            if ran.answer is not None:
                refused["action_id"] = ran.answer_from
        text, images = self._observe(ran.results, turn)
        yield self._observation(
            turn,
            "\n\n".join([text, *notes]),
            images,
            [s.id for s, _ in ran.results],
            refused_answer=refused,
            fresh_start=fresh_start,
        )

        dead = [s for s, r in ran.results if r is not None and r.status is ActionStatus.DEAD]
        if dead:
            reason = f"the kernel died while running action {dead[0].id}"
            yield ep.step_event(EventType.ERROR, StepKind.ERROR, message=reason, kind="kernel")
            yield ep.event(EventType.FINAL, state=FinalState.FAILED.value, reason=reason)
        elif self.stop.is_set():
            raise _Stopped()
        elif stuck and fresh_start is None:
            reason = STUCK_ACTION if ran.stuck else STUCK_ANSWER
            yield ep.event(EventType.FINAL, state=FinalState.STUCK.value, reason=reason)
        elif answer is not None and review is not None and review.accept:
            source = {"source": "code", "action_id": ran.answered_by} if ran.answered_by else {}
            yield ep.step_event(
                EventType.SOLUTION, StepKind.SOLUTION, text=answer, turn=turn, **source
            )
            yield ep.event(EventType.FINAL, state=FinalState.SOLVED.value, reason="")

    async def _answer(self, turn: int, answer: str, prose: bool = False) -> AsyncIterator[Event]:
        """A reply that is only an answer: taken, refused with a note, or the end (stuck).
        ``prose``: a sentence without tags, whose value is the answer when it names one."""
        ep = self.ep
        value = answer_from_prose(ep, answer) if prose else None
        read = {"source": "prose", "prose": answer} if value else {}
        answer = as_asked(ep, value or answer)
        review = review_answer(ep, answer, self.policy.verify_note)
        fresh_start = self._fresh_start() if review.why == REPEATED else None
        if fresh_start is not None:
            yield self._observation(
                turn,
                STARTING_OVER.format(note=fresh_start),
                [],
                [],
                refused_answer={"text": answer, "why": review.why},
                fresh_start=fresh_start,
            )
        elif review.stuck:
            yield ep.event(EventType.FINAL, state=FinalState.STUCK.value, reason=STUCK_ANSWER)
        elif review.accept:
            yield ep.step_event(
                EventType.SOLUTION, StepKind.SOLUTION, text=answer, turn=turn, **read
            )
            yield ep.event(EventType.FINAL, state=FinalState.SOLVED.value, reason="")
        else:
            yield self._observation(
                turn, review.note, [], [], refused_answer={"text": answer, "why": review.why}
            )

    def _prompt(self) -> Prompt:
        """The messages of the next request, condensed to fit the model's context the way
        the previous request was and further if need be (``ContextOverflow`` if it cannot)."""
        previous = next(
            (
                s.data.get("condensed")
                for s in reversed(self.ep.steps)
                if s.kind is StepKind.ASSISTANT
            ),
            None,
        )
        parts = prompt_parts(self.ep, self.system)
        return condense(
            parts,
            self.context,
            previous=previous,
            vision=self.policy.vision,
            cache=self.token_counts,
        )

    def _complete_work(
        self, turn: int, messages: list[dict[str, Any]], sampling: Sampling | None = None
    ) -> Callable[[Emit], Awaitable[Completion]]:
        ep = self.ep

        async def work(emit: Emit) -> Completion:
            def on_delta(text: str) -> None:
                emit(ep.event(EventType.TEXT_DELTA, turn=turn, text=text))

            def on_retry(attempt: int, reason: str, delay: float) -> None:
                emit(
                    ep.event(
                        EventType.MODEL_RETRY,
                        turn=turn,
                        attempt=attempt,
                        reason=reason,
                        delay=delay,
                    )
                )

            return await self.llm.complete(
                messages, on_delta=on_delta, on_retry=on_retry, sampling=sampling
            )

        return work

    def _action_step(self, action: ParsedAction, code: str, turn: int, index: int) -> Event:
        extra = {"content": action.code} if code != action.code else {}
        return self.ep.step_event(
            EventType.ACTION,
            StepKind.ACTION,
            code=code,
            **extra,
            turn=turn,
            index=index,
            format=action.format,
            status=ActionStatus.PENDING.value,
            outputs=[],
            execution_count=None,
            duration=None,
            approval=None,
        )

    @pumped
    async def _approve_and_execute(
        self, step: Step, approver: Approver | None = None, *, use_policy: bool = True
    ) -> AsyncIterator[Event | Done[ExecutionResult | None]]:
        """Ask ``approver`` (else the policy's, unless ``use_policy`` is off), then run.
        The result is None when the user rejected the action."""
        asked = approver or (self.policy.approver if use_policy else None)
        if asked is not None:
            approving = self._approval(step, asked)
            async for ev in approving:
                yield ev
            if not approving.result.approve:
                yield Done(None)
                return
        executing = self._execute(step)
        async for ev in executing:
            yield ev
        yield Done(executing.result)

    @pumped
    async def _approval(
        self, step: Step, approver: Approver
    ) -> AsyncIterator[Event | Done[Decision]]:
        """Wait for the user's decision on ``step``; a stop or the budget skips it."""
        ep = self.ep
        yield ep.event(EventType.AWAITING_APPROVAL, step_id=step.id)

        async def ask(_emit: Emit) -> Decision:
            return await approver(ep, step)

        asking = self._pump(ask, _cancel)
        try:
            async for ev in asking:
                yield ev
        except (_Stopped, _OutOfTime):
            status = ActionStatus.SKIPPED.value
            yield ep.event(EventType.ACTION_FINISHED, step_id=step.id, status=status)
            raise
        decision = asking.result
        edit = {}
        if decision.approve and decision.code not in (None, step.data["code"]):
            edit = {"code": decision.code}  # the user's edit wins
        yield ep.event(
            EventType.APPROVAL,
            step_id=step.id,
            decision="approve" if decision.approve else "reject",
            note=decision.note,
            **edit,
        )
        yield Done(decision)

    @pumped
    async def _execute(self, step: Step) -> AsyncIterator[Event | Done[ExecutionResult]]:
        """Run the step's code in the kernel, its output streaming as OUTPUT patches."""
        ep = self.ep
        yield ep.event(EventType.ACTION_STARTED, step_id=step.id)
        timeout = self.policy.action_timeout
        if self.deadline is not None:
            left = max(0.1, self.deadline - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        code = step.data["code"]
        interval = self.policy.output_event_interval
        executor = self.executor

        async def execute(emit_event: Emit) -> ExecutionResult:
            last = [0.0]
            sent = OutputTracker()  # live output goes out as patches: its cost is its size

            def emit(outputs: list[dict[str, Any]]) -> None:
                patch = sent.patch(outputs)
                if patch is not None:
                    emit_event(self._output_event(step, outputs, patch))

            def on_output(outputs: list[dict[str, Any]]) -> None:
                now = time.monotonic()
                if now - last[0] >= interval:
                    last[0] = now
                    emit(outputs)

            def on_input(count: int | None) -> None:
                emit_event(
                    ep.event(EventType.EXECUTE_INPUT, step_id=step.id, execution_count=count)
                )

            if self.policy.code_answers:
                offered = await code_answer.offer(executor)
                self._users_final_answer |= offered is False
            try:
                if self.stop.is_set():  # stopped while final_answer went in
                    done = ExecutionResult(ActionStatus.INTERRUPTED)
                else:
                    done = await executor.execute(
                        code, timeout, on_output=on_output, on_input=on_input
                    )
            finally:
                if self.policy.code_answers:  # out of the namespace again, whatever happened
                    given = await asyncio.shield(code_answer.take(executor))
                    if given is not None:
                        self._code_answers[step.id] = given
            emit(done.outputs)  # the last patch: live views end with the outputs as they are
            return done

        interrupting: list[asyncio.Future[None]] = []  # held so the task is not collected

        def interrupt(_task: asyncio.Future[ExecutionResult]) -> None:
            interrupting.append(asyncio.ensure_future(executor.interrupt()))

        executing = self._pump(execute, interrupt, use_deadline=False)
        async for ev in executing:
            yield ev
        result = executing.result
        status = result.status
        if status is ActionStatus.INTERRUPTED and not self.stop.is_set():
            status = ActionStatus.ERROR  # an interrupt from elsewhere (the user's own button)
        yield ep.event(
            EventType.ACTION_FINISHED,
            step_id=step.id,
            status=status.value,
            outputs=result.outputs,
            execution_count=result.execution_count,
            duration=round(result.duration, 4),
            outputs_truncated=result.outputs_truncated,
            timeout=timeout if status is ActionStatus.TIMEOUT else None,
        )
        result.status = status
        yield Done(result)

    async def _restore(self, restore: Restore) -> AsyncIterator[Event]:
        """Run the earlier code as one action (approved first when asked), and tell the model."""
        ep = self.ep
        step_ev = ep.step_event(
            EventType.ACTION,
            StepKind.ACTION,
            code=f"{RESTORE_HEADER}\n\n{restore.code}",
            turn=ep.turns,
            index=0,
            format="restore",
            status=ActionStatus.PENDING.value,
            outputs=[],
            execution_count=None,
            duration=None,
            approval=None,
        )
        yield step_ev
        step = ep.find(step_ev.data["step"]["id"])
        assert step is not None
        running = self._approve_and_execute(step, restore.approver, use_policy=False)
        async for ev in running:
            yield ev
        result = running.result
        self._code_answers.pop(step.id, None)  # earlier code's answer: not an answer now
        if result is None:
            text = RESTORE_REJECTED
        else:
            content = format_observation(
                result.outputs,
                result.status,
                max_chars=self.policy.max_output_chars,
                timeout=step.data.get("timeout"),
            )
            text = RESTORED.format(result=content.text)
        yield self._observation(ep.turns, text, [], [step.id])
        if self.stop.is_set():
            raise _Stopped()

    def _output_event(
        self, step: Step, outputs: list[dict[str, Any]], patch: dict[str, Any]
    ) -> Event:
        """An OUTPUT event, its effect on the record set here rather than by the reducer:
        the step's live outputs are shallow copies of the collector's dicts (which it
        rebinds, never changes in place), so their text is held once, not once more per
        patch applied. The record ends up as ``Episode.apply`` would make it."""
        ep = self.ep
        event = Event(EventType.OUTPUT, ep.last_seq + 1, now(), {"step_id": step.id, **patch})
        ep.last_seq = event.seq
        event.outputs_after = step.data["outputs"] = [dict(output) for output in outputs]
        return event

    def _observe(
        self, results: list[tuple[Step, ExecutionResult | None]], turn: int
    ) -> tuple[str, list[str]]:
        parts: list[str] = []
        images: list[str] = []
        for number, (step, result) in enumerate(results, start=1):
            if result is None:
                approval = step.data.get("approval") or {}
                if approval.get("decision") == "reject":
                    note = approval.get("note")
                    text = "[The user rejected this action" + (f": {note}]" if note else ".]")
                else:
                    text = self._not_run.get(step.id, SKIPPED_AFTER_FAILURE)
            else:
                content = format_observation(
                    result.outputs,
                    result.status,
                    max_chars=self.policy.max_output_chars,
                    vision=self.policy.vision,
                    timeout=step.data.get("timeout"),
                )
                text, images = content.text, images + content.images
                if result.status is ActionStatus.ERROR:
                    hint = error_hint(result.outputs, self.functions)
                    text += f"\n{hint}" if hint else ""
                if "model_code" in step.data:
                    text = USER_EDITED.format(code=step.data["code"]) + "\n" + text
                text += self._repeat_note(step)
            parts.append(f"Action {number}:\n{text}" if len(results) > 1 else text)
        return "\n\n".join(parts), images

    def _repeat_note(self, step: Step) -> str:
        """For an action that ran before: what it returned then, and what to do instead."""
        row = identical_in_a_row(self.ep, step)
        if row:
            turn, said = row[0].data["turn"], returned(self.ep, row[0])
            failed = row[0].data.get("status") != ActionStatus.OK.value
            note = REPEATED_FAILURE_IN_A_ROW if failed else REPEATED_ACTION_IN_A_ROW
            return "\n" + note.format(turn=turn, returned=said)
        earlier = earlier_identical(self.ep, step)
        if earlier is not None:
            turn, said = earlier.data["turn"], returned(self.ep, earlier)
            return "\n" + REPEATED_ACTION.format(turn=turn, returned=said)
        return ""

    def _observation(
        self,
        turn: int,
        text: str,
        images: list[str],
        action_ids: list[str],
        refused_answer: dict[str, str] | None = None,
        note: str | None = None,
        fresh_start: str | None = None,
    ) -> Event:
        extra: dict[str, Any] = {"refused_answer": refused_answer} if refused_answer else {}
        if note is not None:  # which of the loop's one-time reminders this is
            extra["note"] = note
        if fresh_start is not None:  # what the model reads instead of the turns before
            extra["fresh_start"] = fresh_start
        return self.ep.step_event(
            EventType.OBSERVATION,
            StepKind.OBSERVATION,
            text=text,
            images=images,
            turn=turn,
            action_ids=action_ids,
            **extra,
        )

    def _fresh_start(self) -> str | None:
        """The note a stuck request starts over with, or None: no fresh start is left for
        this request, or no turn is left to use it."""
        used = fresh_starts_used(self.ep)
        if self._last_turn or used >= self.policy.fresh_starts:
            return None
        how = FRESH_START_STEP_BY_STEP
        if self.functions:
            how = FRESH_START_WITH_FUNCTIONS.format(names=", ".join(self.functions))
        attempt = ATTEMPTS[used] if used < len(ATTEMPTS) else f"{used + 2}th"
        return FRESH_START.format(attempt=attempt, how=how)

    def _own_final_answer_unsaid(self) -> bool:
        """An action met the user's own final_answer, and the model was not told yet."""
        if not self._users_final_answer:
            return False
        self._users_final_answer = False
        return not any(
            USERS_FINAL_ANSWER in step.data.get("text", "")
            for step in self.ep.steps_of(StepKind.OBSERVATION)
        )


async def run(
    episode: Episode,
    llm: ChatModel,
    executor: Executor,
    policy: Policy | None = None,
    *,
    message: str | None = None,
    stop: StopSignal | None = None,
    prompt: PromptTemplate | None = None,
    tools: str = "",
    context: str = "",
    restore: Restore | None = None,
    rejects_answer: bool = False,
    continues: bool = False,
    notebook: NotebookContext | None = None,
) -> AsyncIterator[Event]:
    """Run the CodeAct loop for the episode's task (a new episode) or for ``message``
    (a follow-up on an episode that already has history), after ``restore``'s code when
    given. Yields every event. ``rejects_answer``: ``message`` says the last answer was
    wrong (the eval harness's "incorrect"), which the repeated-answer rule counts.
    ``continues``: ``message`` goes on with the request before it (a host's "go on"), so
    the repetition rules and the stated answer form still see that request.
    ``notebook``: what the message carries of the user's notebook."""
    state = _Run(
        episode,
        llm,
        executor,
        policy or Policy(),
        stop or StopSignal(),
        prompt or PromptTemplate(),
        tools,
        context,
        restore,
        notebook,
    )
    async for event in state.events(message, rejects_answer, continues):
        yield event
