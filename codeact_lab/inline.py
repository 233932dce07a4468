"""``%codeact --inline``: the CodeAct loop inside the kernel, for frontends without codeact-lab.

The agent's asyncio loop (model streaming over HTTP) runs in a worker thread; code
actions run in the kernel's main thread, in the user's own namespace, because
IPython, matplotlib and most user code expect it. The worker hands each action to
the main thread through a queue and waits for its outputs; the main thread runs
actions and shows the transcript as events arrive, so a headless run (nbclient,
papermill) leaves the whole transcript in the cell's output.

Stop is the kernel's interrupt (■ in any frontend, or nbclient's timeout): while
the magic's cell runs, the kernel reads no other message, widget clicks included.
"""

from __future__ import annotations

import asyncio
import html
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from .agent import (
    ActionStatus,
    Episode,
    Event,
    ExecutionResult,
    LLMClient,
    Policy,
    PromptTemplate,
    StopSignal,
    run,
)
from .agent.context import describe_tools, describe_variables, parse_probe
from .agent.output_limits import limit_outputs

MAX_STORED_OUTPUT_CHARS = 1_000_000  # as the kernel executor's
MAX_STORED_IMAGE_BYTES = 2_000_000

Job = tuple[str, Future]  # code to run, where its result goes


def interrupt_main_thread() -> None:
    """A real SIGINT aimed at the main thread: it breaks blocking calls (``time.sleep``,
    I/O) as the kernel's own interrupt does, which ``_thread.interrupt_main`` cannot."""
    ident = threading.main_thread().ident
    assert ident is not None
    signal.pthread_kill(ident, signal.SIGINT)


def _stream(name: str, text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": text}


class InProcessExecutor:
    """Executor whose ``execute`` (called from the agent's thread) runs code in the main thread.

    A timeout or a Stop interrupts the main thread (a SIGINT aimed at it), which is
    what the kernel's own interrupt does too; an interrupt that is neither is the user's,
    and stops the episode.
    """

    def __init__(
        self,
        jobs: queue.Queue[Job | None],
        on_user_interrupt: Callable[[], None],
        shell: InteractiveShell | None = None,
    ) -> None:
        self.jobs = jobs
        self.on_user_interrupt = on_user_interrupt
        self.shell = shell
        self.busy = False
        self.why: str | None = None  # "timeout" or "stop" when the interrupt is ours

    async def execute(
        self,
        code: str,
        timeout: float | None,
        *,
        on_output: Callable[[list[dict[str, Any]]], None] | None = None,
        on_input: Callable[[int | None], None] | None = None,
    ) -> ExecutionResult:
        done: Future[ExecutionResult] = Future()
        self.why, self.busy = None, True
        self.jobs.put((code, done))
        try:
            try:
                result = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(done)), timeout)
            except asyncio.TimeoutError:
                self.why = "timeout"
                interrupt_main_thread()
                result = await asyncio.wrap_future(done)
        finally:
            self.busy = False
        if result.status is ActionStatus.INTERRUPTED:
            if self.why == "timeout":
                result.status = ActionStatus.TIMEOUT
            elif self.why is None:
                self.on_user_interrupt()
        return result

    async def interrupt(self) -> None:
        if self.busy:
            self.why = "stop"
            interrupt_main_thread()

    async def evaluate(self, expression: str, timeout: float = 5.0) -> Any:
        """Evaluate in the user's namespace, from the agent's thread: between actions the
        main thread only waits for the next one, so nothing else touches the namespace."""
        if self.shell is None or self.busy:
            return None
        try:
            return self.shell.ev(expression)
        except Exception:
            return None


def run_in_namespace(shell: InteractiveShell, code: str) -> ExecutionResult:
    """Run ``code`` as a cell of ``shell``; its outputs as nbformat outputs."""
    started = time.monotonic()
    with capture_output(stdout=True, stderr=True, display=True) as captured:
        result = shell.run_cell(code, store_history=True)
    outputs: list[dict[str, Any]] = []
    if captured.stdout:
        outputs.append(_stream("stdout", captured.stdout))
    if captured.stderr:
        outputs.append(_stream("stderr", captured.stderr))
    for rich in captured.outputs:
        outputs.append(
            {"output_type": "display_data", "data": rich.data, "metadata": rich.metadata}
        )
    count = shell.execution_count - 1
    status = ActionStatus.OK
    error = result.error_in_exec or result.error_before_exec
    if error is not None:
        status = (
            ActionStatus.INTERRUPTED if isinstance(error, KeyboardInterrupt) else ActionStatus.ERROR
        )
        tb = shell.InteractiveTB.structured_traceback(type(error), error, error.__traceback__)
        outputs.append(
            {
                "output_type": "error",
                "ename": type(error).__name__,
                "evalue": str(error),
                "traceback": list(tb),
            }
        )
    elif result.result is not None:
        formatter = shell.display_formatter
        assert formatter is not None
        data, metadata = formatter.format(result.result)
        outputs.append(
            {
                "output_type": "execute_result",
                "data": data,
                "metadata": metadata,
                "execution_count": count,
            }
        )
    # The same cap as a kernel's outputs: the record, the store and the widget hold no more.
    outputs, truncated = limit_outputs(outputs, MAX_STORED_OUTPUT_CHARS, MAX_STORED_IMAGE_BYTES)
    return ExecutionResult(status, outputs, count, time.monotonic() - started, truncated)


def kernel_context(shell: InteractiveShell, tool_names: list[str]) -> tuple[str, str]:
    """The same probe the server runs, evaluated in-process."""
    from .agent.context import probe_expression

    try:
        found = parse_probe(shell.ev(probe_expression(tool_names)))
    except Exception:
        found = {}
    return describe_tools(found.get("tools") or []), describe_variables(
        found.get("variables") or []
    )


class InlineRun:
    """One inline episode: the agent in a worker thread, actions in the calling thread."""

    def __init__(
        self,
        shell: InteractiveShell,
        episode: Episode,
        llm: LLMClient,
        policy: Policy,
        prompt: PromptTemplate,
        tools: str,
        context: str,
    ) -> None:
        self.shell = shell
        self.episode = episode
        self.llm = llm
        self.policy = policy
        self.prompt = prompt
        self.tools, self.context = tools, context
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.events: queue.Queue[Event] = queue.Queue()
        self.stop = StopSignal()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.executor = InProcessExecutor(
            self.jobs, lambda: self.stop.set("interrupted (kernel interrupt)"), shell
        )

    def _agent(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            executor = self.executor
            try:
                async for event in run(
                    self.episode,
                    self.llm,
                    executor,
                    self.policy,
                    stop=self.stop,
                    prompt=self.prompt,
                    tools=self.tools,
                    context=self.context,
                ):
                    self.events.put(event)
            finally:
                await self.llm.close()
                self.jobs.put(None)  # tells the main thread the episode is over

        asyncio.run(main())

    def request_stop(self, reason: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.stop.set, reason)

    def run(self, on_event: Callable[[Event], None]) -> None:
        """Run the episode to its end; ``on_event`` is called in this (the main) thread."""
        worker = threading.Thread(target=self._agent, name="codeact-inline", daemon=True)
        worker.start()
        while True:
            try:
                self._drain(on_event)
                try:
                    job = self.jobs.get(timeout=0.05)
                except queue.Empty:
                    continue
                if job is None:
                    break
                code, done = job
                done.set_result(run_in_namespace(self.shell, code))
            except KeyboardInterrupt:  # between actions: ours (timeout, stop) or the user's Stop
                if self.executor.why is None:
                    self.request_stop("interrupted (kernel interrupt)")
        worker.join()
        self._drain(on_event)

    def _drain(self, on_event: Callable[[Event], None]) -> None:
        while True:
            try:
                on_event(self.events.get_nowait())
            except queue.Empty:
                return
            finally:
                sys.stdout.flush()


class StatusView:
    """An ipywidgets status line above the transcript (text-only frontends just skip it)."""

    def __init__(self, model: str) -> None:
        self.label = None
        try:
            import ipywidgets as widgets
            from IPython.display import display

            self.label = widgets.HTML()
            display(self.label)
        except Exception:  # no widgets here: the text transcript is the whole view
            self.label = None
        self.model = model
        self.show("starting", "")

    def show(self, state: str, detail: str) -> None:
        if self.label is None:
            return
        stop = " · interrupt the kernel (■) to stop" if state in ("starting", "running") else ""
        # The endpoint, the model name and the reason come from config, the endpoint or
        # the model: text, never markup.
        self.label.value = (
            f"<b>CodeAct</b> · {html.escape(self.model)} · {html.escape(state)}"
            + (f" · {html.escape(detail)}" if detail else "")
            + f"<span style='opacity:0.7'>{stop}</span>"
        )


def run_inline(shell: InteractiveShell, task: str, overrides: dict[str, Any]) -> None:
    """Run one episode in this kernel, printing its transcript as it goes."""
    from .config import CodeAct, load_config_files
    from .transcript import TranscriptPrinter

    if overrides.get("approval") == "ask":
        print(
            "codeact-lab: --approve needs JupyterLab (the kernel cannot ask while it runs); "
            "running with auto-approval is not done silently, so nothing ran.",
            file=sys.stderr,
        )
        return
    settings = CodeAct(config=load_config_files())
    llm_config = settings.llm_config(model=overrides.get("model"))
    policy = settings.policy(max_turns=overrides.get("max_turns"))
    episode = Episode(task=task, settings=settings.episode_settings(llm_config, policy))
    episode.metadata = {"mode": "inline"}
    tools, context = ("", "")
    if settings.describe_kernel:
        tools, context = kernel_context(shell, list(settings.tools))
    printer = TranscriptPrinter(episode, sys.stdout, secrets=[llm_config.resolved_api_key()])
    status = StatusView(f"{llm_config.model} at {episode.settings.endpoint}")
    inline = InlineRun(
        shell, episode, LLMClient(llm_config), policy, settings.prompt(), tools, context
    )

    def on_event(event: Event) -> None:
        printer(event)
        status.show("running", f"turn {episode.turns}")

    inline.run(on_event)
    state = episode.state.value if episode.state else "ended"
    status.show(state, episode.reason or f"{episode.turns} turns")
