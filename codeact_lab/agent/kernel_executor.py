"""Run code actions in a Jupyter kernel through ``jupyter_client``'s async client.

One executor per kernel: it owns the kernel client and one lock, because a
client that reads IOPub for one request drops the messages of any other. All
of the protocol's timing lives here: the action timeout (interrupt, then wait a
short grace for the kernel to go idle), a stop (the same interrupt), and kernel
death (the IOPub stream goes quiet and the manager or heartbeat says the kernel
is gone: reported as DEAD at once, not as a hang).

The kernel is shared with its owner, so nothing here ever interrupts what it did
not start: an action's timeout counts from its ``execute_input`` (a request queued
behind the user's cell is not running yet), a stop before then waits for the
action to start and interrupts only it, and a probe that gets no answer gives up
without interrupting. A restart by the user ends the running action at once as
RESTARTED (the kernel's ``generation`` changed).

Outputs are built with ``nbformat.v4.output_from_msg``, so they are exactly what
a notebook cell would hold, ``clear_output`` and ``update_display_data`` included.
"""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import Awaitable, Callable
from queue import Empty, Queue
from typing import Any

from jupyter_client.session import Session
from nbformat.v4 import output_from_msg

from .episode import ActionStatus
from .executor import ExecutionResult, InputCallback, OutputCallback
from .output_limits import TRUNCATION_NOTE, OutputBudget
from .redact import redact

AliveCheck = Callable[[], Awaitable[bool]]
Interrupter = Callable[[], Awaitable[Any]]
# A token that changes when the kernel is restarted (or is being restarted).
Generation = Callable[[], object]

__all__ = ["TRUNCATION_NOTE", "KernelExecutor", "OutputCollector", "new_client"]


class OutputCollector:
    """Build a cell's outputs from IOPub messages, as a notebook frontend would."""

    def __init__(
        self,
        max_chars: int,
        secrets: list[str] | None = None,
        max_image_bytes: int = 2_000_000,
    ) -> None:
        self.outputs: list[dict[str, Any]] = []
        self.secrets = secrets or []  # never kept in an output (an API key the code printed)
        self.budget = OutputBudget(max_chars, max_image_bytes)  # every output type, one cap
        self._clear_on_next = False
        self._display_index: dict[str, list[int]] = {}

    @property
    def cut_chars(self) -> int:
        return self.budget.cut

    @property
    def truncated(self) -> bool:
        return self.budget.cut > 0

    def _clear(self) -> None:
        self.outputs.clear()
        self._display_index.clear()
        self.budget.reset()
        self._clear_on_next = False

    def add(self, msg: dict[str, Any]) -> bool:
        """Take one IOPub message; True if the outputs changed."""
        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if self.secrets:
            content = redact(content, self.secrets)
            msg = {**msg, "content": content}
        if kind == "clear_output":
            if content.get("wait"):
                self._clear_on_next = True
                return False
            self._clear()
            return True
        if kind == "update_display_data":
            display_id = (content.get("transient") or {}).get("display_id")
            for index in self._display_index.get(display_id or "", []):
                out = self.outputs[index]
                fresh = output_from_msg(
                    {"header": {"msg_type": "display_data"}, "content": content}
                )
                out["data"] = self.budget.rich(dict(fresh))["data"]
                out["metadata"] = content.get("metadata", {})
            return bool(display_id and display_id in self._display_index)
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return False
        if self._clear_on_next:
            self._clear()
        if kind == "stream":
            return self._add_stream(content["name"], content.get("text", ""))
        out = self.budget.rich(dict(output_from_msg(msg)))
        self.outputs.append(out)
        display_id = (content.get("transient") or {}).get("display_id")
        if display_id:
            self._display_index.setdefault(display_id, []).append(len(self.outputs) - 1)
        return True

    def _add_stream(self, name: str, text: str) -> bool:
        text = self.budget.stream(text)
        if not text:
            return False
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text  # consecutive writes to one stream make one output
            if self.secrets:  # a secret split across two writes
                last["text"] = redact(last["text"], self.secrets)
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})
        return True

    def finish(self) -> list[dict[str, Any]]:
        if self.cut_chars:
            self.outputs.append(
                {
                    "output_type": "stream",
                    "name": "stderr",
                    "text": TRUNCATION_NOTE.format(cut=self.cut_chars),
                }
            )
        return self.outputs


def kernel_generation(manager: Any) -> Generation:
    """The kernel process a local manager runs, as a token: it changes as soon as a restart
    begins (the manager marks itself shutting down, then starts a new process)."""

    def token() -> object:
        if getattr(manager, "shutting_down", False):
            return "restarting"
        return getattr(getattr(manager, "provisioner", None), "pid", None)

    return token


def new_client(manager: Any) -> Any:
    """A client of ``manager``'s kernel with a session identity of its own.

    ``manager.client()`` hands every client the manager's one Session, so they share a
    shell identity and the kernel sends one client's replies to the other.
    """
    shared = manager.session
    session = Session(key=shared.key, signature_scheme=shared.signature_scheme)
    return manager.client(session=session)


class KernelExecutor:
    """Executor over an ``AsyncKernelClient`` (local, or remote through a gateway)."""

    @classmethod
    def for_manager(cls, manager: Any, **kwargs: Any) -> KernelExecutor:
        """An executor with its own client of ``manager``'s kernel."""
        return cls(
            new_client(manager),
            is_alive=manager.is_alive,
            interrupt=manager.interrupt_kernel,
            generation=kernel_generation(manager),
            **kwargs,
        )

    def __init__(
        self,
        client: Any,
        *,
        is_alive: AliveCheck | None = None,
        interrupt: Interrupter | None = None,
        generation: Generation | None = None,
        interrupt_grace: float = 5.0,
        liveness_interval: float = 0.5,
        max_stored_output_chars: int = 1_000_000,
        max_stored_image_bytes: int = 2_000_000,
        secrets: list[str] | None = None,
    ) -> None:
        self.client = client
        self.secrets = [s for s in secrets or [] if s]
        self._is_alive = is_alive or client.is_alive
        self._interrupt = interrupt or self._default_interrupt
        self._generation = generation or (lambda: None)
        self.interrupt_grace = interrupt_grace
        self.liveness_interval = liveness_interval
        self.max_stored_output_chars = max_stored_output_chars
        self.max_stored_image_bytes = max_stored_image_bytes
        self.lock = asyncio.Lock()
        self._running: str | None = None  # msg_id of the request in flight
        self._started = False  # the kernel began running it (execute_input seen)
        self._started_at: float | None = None
        self._stop_requested = False
        self._ready = False
        self._lost = False  # set by a host that saw the kernel restart or die
        self._active = False  # an execute call is in progress (maybe waiting for the kernel)

    def kernel_lost(self) -> None:
        """Tell the executor its kernel died or was restarted: a running action ends DEAD."""
        if self._running is not None:
            self._lost = True

    async def _default_interrupt(self) -> None:
        manager = getattr(self.client, "parent", None)
        if manager is not None and hasattr(manager, "interrupt_kernel"):
            await _maybe_await(manager.interrupt_kernel())
        else:  # no manager at hand: ask the kernel itself over the control channel
            msg = self.client.session.msg("interrupt_request", {})
            self.client.control_channel.send(msg)

    async def ensure_ready(self, timeout: float = 60.0) -> None:
        if self._ready:
            return
        if not self.client.channels_running:
            # A gateway's client (jupyter_server.gateway) opens its WebSocket in a coroutine.
            await _maybe_await(self.client.start_channels())
        await self.client.wait_for_ready(timeout=timeout)
        self._ready = True

    async def interrupt(self) -> None:
        """Stop the action of the ``execute`` call in progress, wherever it is: a call still
        waiting for the kernel to be ready returns INTERRUPTED without running its code."""
        if not self._active:
            return
        self._stop_requested = True
        if self._running is not None and self._started:
            # Not started yet: the kernel runs the user's cell; ``_follow`` interrupts
            # the action as soon as it starts instead.
            await self._interrupt()

    async def execute(
        self,
        code: str,
        timeout: float | None,
        *,
        on_output: OutputCallback | None = None,
        on_input: InputCallback | None = None,
    ) -> ExecutionResult:
        async with self.lock:
            self._stop_requested = self._lost = self._started = False
            self._active = True
            started: float | None = None  # when the kernel began running it
            try:
                await self.ensure_ready()
                if self._stop_requested:
                    return ExecutionResult(ActionStatus.INTERRUPTED, duration=0.0)
                collector = OutputCollector(
                    self.max_stored_output_chars, self.secrets, self.max_stored_image_bytes
                )
                generation = self._generation()
                msg_id = self.client.execute(code, store_history=True, allow_stdin=False)
                self._running = msg_id
                status, count = await self._follow(
                    msg_id, timeout, collector, on_output, on_input, generation
                )
                started = self._started_at
            finally:
                self._running = None
                self._active = False
            return ExecutionResult(
                status=status,
                outputs=collector.finish(),
                execution_count=count,
                duration=0.0 if started is None else time.monotonic() - started,
                outputs_truncated=collector.truncated,
            )

    async def evaluate(self, expression: str, timeout: float = 5.0) -> Any:
        """Evaluate a Python expression in the kernel silently: no history, no output, no
        execution count. Returns the value when it is a literal (its repr is read back
        with ``ast.literal_eval``), else None. On timeout it gives up and returns None
        without interrupting: the kernel may be busy with the user's own cell."""
        async with self.lock:
            await self.ensure_ready()
            msg_id = self.client.execute(
                "",
                silent=True,
                store_history=False,
                user_expressions={"value": expression},
                allow_stdin=False,
            )
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                try:
                    reply = await self._shell_msg(timeout=min(left, self.liveness_interval))
                except Empty:
                    if not await self._is_alive():
                        return None
                    continue
                if reply["parent_header"].get("msg_id") != msg_id:
                    continue
                value = (reply["content"].get("user_expressions") or {}).get("value") or {}
                text = (value.get("data") or {}).get("text/plain")
                if value.get("status") != "ok" or text is None:
                    return None
                try:
                    return ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    return None
            return None

    async def _follow(
        self,
        msg_id: str,
        timeout: float | None,
        collector: OutputCollector,
        on_output: OutputCallback | None,
        on_input: InputCallback | None,
        generation: object = None,
    ) -> tuple[ActionStatus, int | None]:
        # The timeout starts with execute_input: until then the kernel runs something else.
        deadline: float | None = None
        self._started_at = None
        grace_deadline: float | None = None
        timed_out = False
        count: int | None = None
        had_error = False
        while True:
            now = time.monotonic()
            if self._lost:  # the server's restarter saw it die
                return ActionStatus.DEAD, count
            if self._generation() != generation:
                return ActionStatus.RESTARTED, count  # the user restarted the kernel
            if grace_deadline is None and deadline is not None and now >= deadline:
                timed_out = True
                grace_deadline = now + self.interrupt_grace
                await self._interrupt()
            if self._stop_requested and self._started and grace_deadline is None:
                grace_deadline = now + self.interrupt_grace
            if grace_deadline is not None and now >= grace_deadline:
                break  # the kernel ignores the interrupt; give the action up
            wait = self.liveness_interval
            for limit in (deadline if grace_deadline is None else None, grace_deadline):
                if limit is not None:
                    wait = max(0.0, min(wait, limit - now))
            try:
                msg = await self._iopub_msg(timeout=wait)
            except Empty:
                if self._lost or not await self._is_alive():
                    return ActionStatus.DEAD, count
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "status":
                if msg["content"]["execution_state"] == "idle":
                    break
                continue
            if kind == "execute_input":
                count = msg["content"].get("execution_count")
                self._started, self._started_at = True, time.monotonic()
                if timeout is not None:
                    deadline = self._started_at + timeout
                if self._stop_requested:  # stopped while it waited for the user's cell
                    await self._interrupt()
                if on_input:
                    on_input(count)
                continue
            if kind == "error":
                had_error = True
            if collector.add(msg) and on_output:
                on_output(collector.outputs)
        reply_count, reply_status = await self._reply(msg_id)
        count = count if count is not None else reply_count
        if not self._lost and self._generation() != generation:
            return ActionStatus.RESTARTED, count  # the restart's own interrupt ended it
        if timed_out:
            return ActionStatus.TIMEOUT, count
        if self._stop_requested:
            return ActionStatus.INTERRUPTED, count
        if had_error or reply_status == "error":
            return ActionStatus.ERROR, count
        return ActionStatus.OK, count

    async def _reply(self, msg_id: str) -> tuple[int | None, str | None]:
        """The request's execute_reply (sent before the kernel goes idle, so it is near)."""
        deadline = time.monotonic() + 1.0
        while (left := deadline - time.monotonic()) > 0:
            try:
                reply = await self._shell_msg(timeout=left)
            except Empty:
                break
            if reply["parent_header"].get("msg_id") == msg_id:
                content = reply["content"]
                return content.get("execution_count"), content.get("status")
        return None, None

    async def _iopub_msg(self, timeout: float) -> dict[str, Any]:
        return await _next_msg(self.client, "iopub_channel", timeout)

    async def _shell_msg(self, timeout: float) -> dict[str, Any]:
        return await _next_msg(self.client, "shell_channel", timeout)

    def close(self) -> None:
        if self.client.channels_running:
            self.client.stop_channels()


async def _next_msg(client: Any, channel_name: str, timeout: float) -> dict[str, Any]:
    """The channel's next message, or ``Empty`` after ``timeout`` seconds.

    A gateway's client (``jupyter_server.gateway``) feeds its channels from a WebSocket
    thread into ``queue.Queue`` objects whose ``get_msg`` spins on ``asyncio.sleep(0)``:
    a whole core for as long as an action runs. Those queues are polled here instead,
    backing off from 0.5 ms to 20 ms while nothing comes.
    """
    channel = getattr(client, channel_name)
    if not isinstance(channel, Queue):
        msg: dict[str, Any] = await channel.get_msg(timeout=timeout)
        return msg
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            return channel.get_nowait()
        except Empty:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, 0.02)


async def _maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value
