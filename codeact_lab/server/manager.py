"""The episode manager: runs episodes server-side on notebooks' kernels.

It hosts ``codeact_lab.agent`` for the server: one task per running episode, one
executor per kernel (through the server's own kernel manager), events stored as
they happen and fanned out to every subscriber, approvals as futures the HTTP
routes resolve. It knows nothing of tornado or HTTP: routes call it and map its
errors to status codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..agent import (
    Decision,
    Episode,
    Event,
    EventType,
    FinalState,
    KernelExecutor,
    LLMClient,
    Step,
    StepKind,
    StopSignal,
    run,
    wire,
)
from ..agent.context import describe_kernel
from ..agent.episode import TRANSIENT_EVENTS
from ..agent.kernel_wait import wait_while_busy
from ..agent.llm import NO_KEY, public_endpoint
from ..agent.loop import Restore
from ..agent.notebook_view import (
    NotebookContext,
    describe_changes,
    describe_notebook,
    fix_cell_task,
)
from ..agent.output_patch import diff_outputs
from ..agent.redact import usable_secrets
from ..agent.restore import events_from_episode, restore_code
from ..config import CodeAct
from ..local_model import resolve_model
from ..local_model.detect import LocalServerScout
from ..settings_table import PER_EPISODE, Setting
from . import validation
from .errors import BadRequest, Conflict, EpisodeError, NotFound, TooLarge
from .store import EpisodeStore, StoreError, summary_of

__all__ = [
    "BadRequest",
    "Conflict",
    "EpisodeError",
    "EpisodeManager",
    "NotFound",
    "TooLarge",
    "parse_overrides",
]

MAX_TASK_CHARS = 100_000
Subscriber = Callable[[str], None]  # receives one JSON message


# Settings a client may choose per episode, each checked (never coerced) against its row
# of the settings table. describe_notebook is only a way to turn it off: the server's
# setting decides whether the notebook is read.
OVERRIDES: dict[str, Setting[Any]] = {setting.name: setting for setting in PER_EPISODE}


def parse_overrides(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadRequest("settings must be an object")
    parsed = {}
    for key, value in raw.items():
        if key not in OVERRIDES:
            raise BadRequest(f"unknown setting {key!r}; allowed: {', '.join(OVERRIDES)}")
        if value in (None, ""):
            continue
        parsed[key] = validation.setting(OVERRIDES[key], value)
    return parsed


@dataclass
class LiveEpisode:
    """An episode this server is running (or ran, and keeps in memory while subscribed)."""

    episode: Episode
    kernel_id: str
    stop: StopSignal = field(default_factory=StopSignal)
    task: asyncio.Task[None] | None = None
    # Live-only events of the turn in progress, so a client that reconnects mid-turn
    # gets the draft too (they are never stored).
    live_events: list[Event] = field(default_factory=list)
    approval: asyncio.Future[Decision] | None = None
    awaiting: str | None = None
    approve_rest: bool = False

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


class EpisodeManager:
    def __init__(
        self,
        settings: CodeAct,
        kernel_manager: Any,
        store: EpisodeStore,
        log: logging.Logger | None = None,
        keep_finished: int = 20,
    ) -> None:
        self.settings = settings
        self.kernel_manager = kernel_manager
        self.store = store
        self.log = log or logging.getLogger("codeact_lab")
        self._executors: dict[str, KernelExecutor] = {}
        self._live: dict[str, LiveEpisode] = {}
        self._busy: dict[str, str] = {}  # kernel id -> id of the episode running on it
        # episode id -> open event streams; kept across follow-ups, so a client watching a
        # finished episode sees the next message's events without reconnecting.
        self._subscribers: dict[str, list[Subscriber]] = {}
        # Finished episodes still in memory, oldest first (see _retire).
        self._recent: OrderedDict[str, None] = OrderedDict()
        self.keep_finished = keep_finished
        self.model = resolve_model(settings, log=self.log)  # an endpoint, the local model or none
        # With no endpoint configured, look for a model server the user already runs, to
        # offer it (never to use it unasked); our own embedded server is not one.
        no_endpoint = self.model.local or not self.model.available
        self.scout = LocalServerScout(
            settings.detect_local_servers if no_endpoint else [],
            exclude_ports=[self.model.server.port] if self.model.server else [],
        )

    # ---- queries ----
    def config(self) -> dict[str, Any]:
        llm = self.model.llm_config()
        s = self.settings
        return {
            "model": llm.model,
            "endpoint": public_endpoint(llm.resolved_base_url()),
            "approval": s.approval,
            "max_turns": s.max_turns,
            "action_timeout": s.action_timeout,
            **self.model.public(),  # local: {local, note}; no model: how to get one
            **self._detected(),
        }

    def _detected(self) -> dict[str, Any]:
        """``detected``: the model servers found on this machine, when no endpoint is
        configured. What was found last; a stale result is refreshed in the background."""
        if not self.scout.enabled:
            return {}
        self.scout.look_soon()
        return {"detected": self.scout.public()}

    def describe(self, episode_id: str) -> wire.EpisodeDescription:
        live = self._live.get(episode_id)
        episode = live.episode if live else self.store.load(episode_id)
        if episode is None:
            raise NotFound(f"no episode {episode_id}")
        return {
            **episode.to_dict(),
            "running": bool(live and live.running),
            "awaiting_approval": live.awaiting if live else None,
        }

    def history(self, notebook_path: str | None, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.store.summaries(notebook_path, limit)
        for row in rows:
            live = self._live.get(row["id"])
            row["running"] = bool(live and live.running)
            if live:  # fresher than the row, which is written at turn boundaries
                row.update({k: v for k, v in summary_of(live.episode).items() if k != "id"})
        return rows

    def episode(self, episode_id: str) -> Episode:
        live = self._live.get(episode_id)
        episode = live.episode if live else self.store.load(episode_id)
        if episode is None:
            raise NotFound(f"no episode {episode_id}")
        return episode

    # ---- starting and continuing ----
    def _check_kernel(self, kernel_id: str) -> None:
        if not isinstance(kernel_id, str) or kernel_id not in self.kernel_manager:
            raise NotFound(f"no kernel {kernel_id!r} in this server")
        running = self._busy.get(kernel_id)
        if running is not None:
            raise Conflict(
                f"kernel {kernel_id} is already running episode {running}: "
                "stop it or wait for it to end"
            )

    def _executor(self, kernel_id: str) -> KernelExecutor:
        executor = self._executors.get(kernel_id)
        if executor is None:
            km = self.kernel_manager.get_kernel(kernel_id)
            # The notebook's kernel is the user's and may hold the key in its environment:
            # whatever the code prints, the key never enters an output.
            keys = usable_secrets([self.settings.resolved_api_key()])
            executor = KernelExecutor.for_manager(km, secrets=keys)
            # The server's restarter revives a dead kernel: a running action must end
            # as DEAD rather than wait on a kernel that forgot it.
            with contextlib.suppress(AttributeError, NotImplementedError):
                km.add_restart_callback(executor.kernel_lost, "restart")
                km.add_restart_callback(executor.kernel_lost, "dead")
            self._executors[kernel_id] = executor
        return executor

    def _forget_gone_kernels(self) -> None:
        for kernel_id in [k for k in self._executors if k not in self.kernel_manager]:
            self._executors.pop(kernel_id).close()

    async def start(
        self,
        task: str,
        notebook_path: str,
        kernel_id: str,
        anchor_cell_id: str | None = None,
        overrides: dict[str, Any] | None = None,
        request_id: str | None = None,
        notebook_cells: list[Any] | None = None,
        fix_cell_id: str | None = None,
    ) -> Episode:
        """Start an episode. With a ``request_id`` already seen, return that episode instead
        (a notebook reopened after ``%codeact`` ran must not run it again).
        ``notebook_cells``: the notebook as the user sees it (nbformat cells), for the model."""
        if request_id is not None:
            known = self.store.by_request(request_id)
            if known is not None:
                return self.episode(known)
        if not isinstance(task, str) or not task.strip():
            raise BadRequest("task must be a non-empty string")
        if len(task) > MAX_TASK_CHARS:
            raise TooLarge(f"task is {len(task)} characters; the limit is {MAX_TASK_CHARS}")
        self._forget_gone_kernels()
        self._check_kernel(kernel_id)
        overrides = overrides or {}
        llm_config, policy = self._configure(overrides)
        episode = Episode(
            task=task,
            settings=self.settings.episode_settings(
                llm_config, policy, approval=overrides.get("approval", self.settings.approval)
            ),
        )
        episode.metadata = {
            "notebook_path": notebook_path,
            "kernel_id": kernel_id,
            "anchor_cell_id": anchor_cell_id,
        }
        if request_id is not None:
            episode.metadata["request_id"] = request_id
        if fix_cell_id is not None:  # "Fix with CodeAct": its fix may be applied to that cell
            episode.metadata["fix_cell_id"] = fix_cell_id
        self.store.create(episode)
        live = LiveEpisode(episode, kernel_id)
        self._live[episode.id] = live
        try:
            self._launch(
                live,
                None,
                overrides,
                notebook=self._notebook_context(episode, notebook_cells, overrides),
            )
        except EpisodeError:
            del self._live[episode.id]
            self.store.discard(episode.id)  # nothing ran: leave no half-made episode
            raise
        return episode

    def import_episode(
        self, episode: Episode, notebook_path: str, hides_code: bool = True
    ) -> tuple[Episode, bool]:
        """Store an episode that arrived as a record (an exported notebook). Returns it and
        whether it was new (an episode this store already has is left as it is).
        ``hides_code``: the notebook's cells do not show the code its record would re-run."""
        if self.store.exists(episode.id):
            known = self.episode(episode.id)
            if known.metadata.get("notebook_path") != notebook_path:
                # Continued from a copy: its next cells belong in the notebook that imported it.
                known.metadata["notebook_path"] = notebook_path
                self.store.update_summary(known)
            return known, False
        # Nothing of the file decides how it runs here: no kernel, no request id, and no system
        # prompt (the next message gets this server's). Whether its cells show the code its
        # record would re-run is worked out from the file, never read from it.
        episode.metadata = {
            "notebook_path": notebook_path,
            "imported": True,
            "cells_differ": hides_code,
        }
        episode.system = ""
        self.store.create(episode)
        for event in events_from_episode(episode):
            self.store.append(episode, event)
        stored = self.store.load(episode.id)
        assert stored is not None
        return stored, True

    async def follow_up(
        self,
        episode_id: str,
        text: str,
        kernel_id: str | None = None,
        overrides: dict[str, Any] | None = None,
        restore: bool = False,
        notebook_cells: list[Any] | None = None,
    ) -> Episode:
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("text must be a non-empty string")
        if len(text) > MAX_TASK_CHARS:
            raise TooLarge(f"message is {len(text)} characters; the limit is {MAX_TASK_CHARS}")
        live = self._live.get(episode_id)
        if live is not None and live.running:
            raise Conflict(f"episode {episode_id} is still running")
        if self.store.running_elsewhere(episode_id):
            raise Conflict(
                f"episode {episode_id} is running on another Jupyter server that shares this "
                "store; continue it there, or when it ends"
            )
        if live is not None and live.episode.last_seq != self.store.last_seq(episode_id):
            live = None  # another server continued it meanwhile: the store is the truth
        episode = live.episode if live else self.store.load(episode_id)
        if episode is None:
            raise NotFound(f"no episode {episode_id}")
        kernel_id = kernel_id or episode.metadata.get("kernel_id", "")
        self._forget_gone_kernels()
        self._check_kernel(kernel_id)
        self.store.claim(episode_id)
        episode.metadata["kernel_id"] = kernel_id
        live = live or LiveEpisode(episode, kernel_id)
        live.kernel_id, live.stop, live.approve_rest = kernel_id, StopSignal(), False
        self._live[episode_id] = live
        overrides = overrides or {}
        notebook = self._notebook_context(episode, notebook_cells, overrides)
        self._launch(live, text, overrides, restore=restore, notebook=notebook)
        return episode

    def fix_cell_task(self, cells: Any, cell_id: str) -> str:
        """The task of "Fix with CodeAct" on a cell: its source and its error."""
        secrets = usable_secrets([self.settings.resolved_api_key()])
        task = fix_cell_task(cells, cell_id, secrets=secrets)
        if task is None:
            raise BadRequest(f"cell {cell_id!r} is not in the notebook, or has no error to fix")
        return task

    def reads_notebook(self, overrides: dict[str, Any]) -> bool:
        """Whether the model is shown the notebook (a client may only turn it off)."""
        return bool(self.settings.describe_notebook and overrides.get("describe_notebook", True))

    def _notebook_context(
        self, episode: Episode, cells: list[Any] | None, overrides: dict[str, Any]
    ) -> NotebookContext | None:
        """The notebook's view for a first message, or what changed since the last view."""
        if cells is None or not self.reads_notebook(overrides):
            return None
        secrets = usable_secrets([self.settings.resolved_api_key()])
        budget = self.settings.notebook_context_tokens
        previous = next(
            (
                step.data["notebook_cells"]
                for step in reversed(episode.steps_of(StepKind.USER))
                if isinstance(step.data.get("notebook_cells"), list)
            ),
            None,
        )
        if previous is None:
            return describe_notebook(
                cells,
                episode.metadata.get("notebook_path", ""),
                episode.metadata.get("anchor_cell_id"),
                budget_tokens=budget,
                secrets=secrets,
            )
        return describe_changes(
            previous, cells, episode_id=episode.id, budget_tokens=budget, secrets=secrets
        )

    def _configure(self, overrides: dict[str, Any]) -> tuple[Any, Any]:
        llm_config = self.model.llm_config(
            model=overrides.get("model"), temperature=overrides.get("temperature")
        )
        base_url = overrides.get("base_url")
        if base_url and base_url.rstrip("/") != (llm_config.base_url or "").rstrip("/"):
            # The configured key belongs to the configured endpoint, never to one a client names.
            llm_config.base_url, llm_config.api_key = base_url, NO_KEY
            llm_config.trusted = False  # nor the organization, project or custom headers
        policy = self.settings.policy(
            max_turns=overrides.get("max_turns"), action_timeout=overrides.get("action_timeout")
        )
        return llm_config, policy

    def _launch(
        self,
        live: LiveEpisode,
        message: str | None,
        overrides: dict[str, Any],
        restore: bool = False,
        notebook: NotebookContext | None = None,
    ) -> None:
        llm_config, policy = self._configure(overrides)
        episode = live.episode
        # An imported episode's recorded approval came from a file: the user's own applies.
        recorded = self.settings.approval if episode.metadata.get("imported") else None
        approval = overrides.get("approval", recorded or episode.settings.approval or "auto")
        if approval == "ask":
            policy.approver = self._approver(live)
        rerun = None
        code = restore_code(episode) if restore else None
        if code is not None:
            # Code the notebook's cells do not show is always asked about.
            ask = approval == "ask" or bool(episode.metadata.get("cells_differ"))
            rerun = Restore(code, self._approver(live) if ask else None)
        try:  # anything that fails here fails before the kernel is marked busy
            llm = self.model.client(llm_config)
            executor = self._executor(live.kernel_id)
        except Exception as err:
            raise BadRequest(f"could not start the episode: {type(err).__name__}: {err}") from err
        self._busy[live.kernel_id] = episode.id
        live.task = asyncio.ensure_future(
            self._drive(live, llm, executor, policy, message, rerun, notebook)
        )

    def _approver(self, live: LiveEpisode) -> Any:
        async def approver(episode: Episode, step: Step) -> Decision:
            if live.approve_rest:
                return Decision(True)
            live.approval = asyncio.get_running_loop().create_future()
            live.awaiting = step.id
            try:
                return await live.approval
            finally:
                live.approval, live.awaiting = None, None

        return approver

    async def _drive(
        self,
        live: LiveEpisode,
        llm: LLMClient,
        executor: KernelExecutor,
        policy: Any,
        message: str | None,
        restore: Restore | None = None,
        notebook: NotebookContext | None = None,
    ) -> None:
        episode = live.episode
        try:
            await self._wait_for_users_cell(live)
            tools, context = "", ""
            if not episode.system and self.settings.describe_kernel and not live.stop.is_set():
                try:
                    tools, context = await describe_kernel(executor, list(self.settings.tools))
                except Exception:  # the context is a help, never a reason to fail the episode
                    self.log.warning("codeact-lab: could not describe kernel %s", live.kernel_id)
            async for event in run(
                episode,
                llm,
                executor,
                policy,
                message=message,
                stop=live.stop,
                prompt=self.settings.prompt(),
                tools=tools,
                context=context,
                restore=restore,
                notebook=notebook,
            ):
                self._publish(live, event)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the loop ends every episode itself; this is a bug of ours
            self.log.exception("codeact-lab: episode %s crashed", episode.id)
            if episode.state is None:  # still end it, so no client waits forever
                reason = f"internal error: {type(err).__name__}: {err}"
                self._publish(live, episode.event(EventType.FINAL, state="failed", reason=reason))
        finally:
            if self._busy.get(live.kernel_id) == episode.id:
                del self._busy[live.kernel_id]
            live.live_events.clear()
            await llm.close()
            self._retire(live)

    def _retire(self, live: LiveEpisode) -> None:
        """Keep a finished episode in memory only while it is among the most recent few:
        the store has the rest, and a server that ran thousands must not hold them all."""
        episode_id = live.episode.id
        self._recent.pop(episode_id, None)
        self._recent[episode_id] = None
        while len(self._recent) > self.keep_finished:
            oldest = next(iter(self._recent))
            del self._recent[oldest]
            held = self._live.get(oldest)
            if held is not None and not held.running:
                del self._live[oldest]

    async def _wait_for_users_cell(self, live: LiveEpisode) -> None:
        """Before the episode's first request to its kernel: while the kernel runs something
        else (the user's cell), wait, and say so, rather than queue behind it or interrupt it."""
        km = self.kernel_manager.get_kernel(live.kernel_id)

        def is_busy() -> bool:  # jupyter_server follows the kernel's IOPub status
            return getattr(km, "execution_state", None) == "busy"

        def on_wait(waiting: bool) -> None:
            self._publish(live, live.episode.event(EventType.KERNEL_BUSY, waiting=waiting))

        await wait_while_busy(is_busy, live.stop, on_wait)

    def _publish(self, live: LiveEpisode, event: Event) -> None:
        try:
            self.store.append(live.episode, event)
        except StoreError as err:
            # A step the store cannot keep would be lost at the next restart: end the
            # episode now, saying why, rather than go on with silent gaps.
            self.log.error("codeact-lab: episode %s: %s", live.episode.id, err)
            live.stop.set(
                f"the episode could not be saved, so it was ended: {err}", FinalState.FAILED
            )
        sent_outputs = self._live_outputs(live, event)
        if event.type is EventType.OUTPUT:
            # A reconnecting client needs the outputs so far, not every patch: keep one
            # snapshot, the outputs as this event left them (the step may be ahead by now:
            # events are published after the loop made them), sharing the collector's
            # text, so the draft held costs the output's size once.
            step_id = event.data["step_id"]
            step = live.episode.find(step_id)
            live.live_events = [
                e
                for e in live.live_events
                if not (e.type is EventType.OUTPUT and e.data["step_id"] == step_id)
            ]
            outputs = event.outputs_after
            if outputs is None:
                outputs = step.data.get("outputs", []) if step is not None else []
            live.live_events.append(
                Event(
                    EventType.OUTPUT,
                    event.seq,
                    event.time,
                    {"step_id": step_id, "outputs": outputs},
                )
            )
        elif event.type in TRANSIENT_EVENTS:
            live.live_events.append(event)
        elif event.type in (EventType.ASSISTANT_MESSAGE, EventType.ACTION_FINISHED):
            live.live_events.clear()  # the draft and partial outputs are now whole
        subscribers = self._subscribers.get(live.episode.id)
        if subscribers:
            message = json.dumps(self._wire(live, event, sent_outputs))
            for send in list(subscribers):
                send(message)

    @staticmethod
    def _live_outputs(live: LiveEpisode, event: Event) -> list[dict[str, Any]] | None:
        """For an action that finishes: the outputs its live clients already have."""
        if event.type is not EventType.ACTION_FINISHED:
            return None
        for held in live.live_events:
            if held.type is EventType.OUTPUT and held.data["step_id"] == event.data["step_id"]:
                outputs: list[dict[str, Any]] = held.data["outputs"]
                return outputs
        return []  # the action's step was sent with no outputs

    @staticmethod
    def _wire(
        live: LiveEpisode, event: Event, sent_outputs: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        """The event as live clients get it: a finished action's outputs as a patch from
        what the live patches already gave them (the store keeps them whole)."""
        message: dict[str, Any] = dict(event.to_dict())
        if sent_outputs is not None and "outputs" in event.data:
            data = {k: v for k, v in event.data.items() if k != "outputs"}
            data["outputs_patch"] = diff_outputs(sent_outputs, event.data["outputs"])
            message["data"] = data
        return message

    # ---- controls ----
    def _live_or_404(self, episode_id: str) -> LiveEpisode:
        live = self._live.get(episode_id)
        if live is None:
            if self.store.exists(episode_id):
                raise Conflict(f"episode {episode_id} is not running")
            raise NotFound(f"no episode {episode_id}")
        return live

    def approve(self, episode_id: str, approve_rest: bool = False, code: str | None = None) -> None:
        """Approve the action awaiting approval; ``code`` is the user's edit of it, which runs
        instead of the model's."""
        live = self._live_or_404(episode_id)
        if live.approval is None or live.approval.done():
            raise Conflict("no action is awaiting approval")
        if code is not None and (not isinstance(code, str) or len(code) > MAX_TASK_CHARS):
            raise BadRequest(f"code must be a string of at most {MAX_TASK_CHARS} characters")
        live.approve_rest = approve_rest
        live.approval.set_result(Decision(True, code=code))

    def reject(self, episode_id: str, note: str | None = None) -> None:
        live = self._live_or_404(episode_id)
        if live.approval is None or live.approval.done():
            raise Conflict("no action is awaiting approval")
        live.approval.set_result(Decision(False, (note or None) and str(note)[:2000]))

    async def stop(self, episode_id: str, reason: str = "stopped by the user") -> None:
        live = self._live_or_404(episode_id)
        if not live.running:
            return
        live.stop.set(reason)
        assert live.task is not None
        # The loop ends promptly: the stream is cancelled or the action interrupted.
        await asyncio.wait({live.task}, timeout=10)

    # ---- subscriptions ----
    def subscribe(self, episode_id: str, since: int, send: Subscriber) -> Callable[[], None]:
        """Send every event after ``since`` (stored, then live), then each new one."""
        live = self._live.get(episode_id)
        if live is None and not self.store.exists(episode_id):
            raise NotFound(f"no episode {episode_id}")
        # Nothing can be published between these lines and the subscription (one thread),
        # so the replay and the live stream join without a gap or a duplicate.
        for event in self.store.events(episode_id, since):
            send(json.dumps(event.to_dict()))
        last = max(since, live.episode.last_seq if live else since)
        if live is not None:
            for event in live.live_events:
                if event.seq > since:
                    send(json.dumps(event.to_dict()))
        send(json.dumps({"type": "caught_up", "seq": last}))
        subscribers = self._subscribers.setdefault(episode_id, [])
        subscribers.append(send)

        def unsubscribe() -> None:
            if send in subscribers:
                subscribers.remove(send)
            if not subscribers:
                self._subscribers.pop(episode_id, None)

        return unsubscribe

    # ---- lifecycle ----
    def recover(self) -> list[str]:
        """After a (re)start: episodes left running by the last server are interrupted."""
        return self.store.mark_interrupted(
            "the Jupyter server stopped while this episode was running"
        )

    async def shutdown(self) -> None:
        await self.scout.aclose()
        running = [live for live in self._live.values() if live.running]
        for live in running:
            assert live.task is not None
            live.task.cancel()
        if running:
            await asyncio.gather(
                *(live.task for live in running if live.task), return_exceptions=True
            )
            self.store.mark_interrupted(
                "the Jupyter server shut down while this episode was running",
                only={live.episode.id for live in running},
            )
        for executor in self._executors.values():
            executor.close()
        self._executors.clear()
        await self.model.aclose()
        self.store.close()
