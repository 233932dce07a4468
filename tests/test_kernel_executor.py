"""The kernel executor against a real ipykernel: outputs, errors, timeouts, stops, death."""

from __future__ import annotations

import asyncio
import re
import signal
import time

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from codeact_lab.agent.episode import ActionStatus
from codeact_lab.agent.kernel_executor import TRUNCATION_NOTE


def texts(outputs, name=None):
    return [
        o["text"] for o in outputs if o["output_type"] == "stream" and name in (None, o["name"])
    ]


def validate_cells(*results) -> None:
    """Put each result's outputs in a code cell, as the notebook would, and validate."""
    cells = [
        new_code_cell(source=f"# action {i}", outputs=r.outputs, execution_count=r.execution_count)
        for i, r in enumerate(results)
    ]
    nb = new_notebook(cells=cells)
    nbformat.validate(nb)
    # Written to disk and read back (writes needs attribute access: NotebookNode).
    nbformat.validate(nbformat.reads(nbformat.writes(nbformat.from_dict(nb)), as_version=4))


class Seen:
    def __init__(self) -> None:
        self.outputs: list[list[dict]] = []
        self.inputs: list[int | None] = []

    def on_output(self, outputs) -> None:
        self.outputs.append([dict(o) for o in outputs])

    def on_input(self, count) -> None:
        self.inputs.append(count)


# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------


async def test_stdout_and_execute_result_with_increasing_counts(executor):
    seen = Seen()
    first = await executor.execute(
        "print('hello')\n6 * 7", 10, on_output=seen.on_output, on_input=seen.on_input
    )
    assert first.status is ActionStatus.OK
    assert first.outputs_truncated is False
    assert first.outputs == [
        {"output_type": "stream", "name": "stdout", "text": "hello\n"},
        {
            "output_type": "execute_result",
            "execution_count": first.execution_count,
            "data": {"text/plain": "42"},
            "metadata": {},
        },
    ]
    assert isinstance(first.execution_count, int) and first.execution_count >= 1
    assert seen.inputs == [first.execution_count]
    assert seen.outputs[-1] == first.outputs  # the live view ends where the result does
    assert 0 < first.duration < 10

    second = await executor.execute("'abc'.upper()", 10)
    third = await executor.execute("x = 1", 10)  # no output at all
    assert second.execution_count == first.execution_count + 1
    assert third.execution_count == second.execution_count + 1
    assert second.outputs[0]["data"]["text/plain"] == "'ABC'"
    assert second.outputs[0]["execution_count"] == second.execution_count
    assert third.status is ActionStatus.OK and third.outputs == []
    validate_cells(first, second, third)


async def test_exception_is_error_with_an_error_output(executor):
    result = await executor.execute("print('before')\ndef f(x):\n    return 1 / x\nf(0)", 10)
    assert result.status is ActionStatus.ERROR
    assert result.outputs[0] == {"output_type": "stream", "name": "stdout", "text": "before\n"}
    errors = [o for o in result.outputs if o["output_type"] == "error"]
    assert len(errors) == 1
    error = errors[0]
    assert error["ename"] == "ZeroDivisionError"
    assert error["evalue"] == "division by zero"
    assert isinstance(error["traceback"], list) and len(error["traceback"]) >= 2
    assert "ZeroDivisionError" in "".join(error["traceback"])
    # The kernel goes on, its state kept.
    after = await executor.execute("print(f(4))", 10)
    assert after.status is ActionStatus.OK
    assert texts(after.outputs) == ["0.25\n"]
    assert after.execution_count == result.execution_count + 1
    validate_cells(result, after)


async def test_syntax_error_is_error(executor):
    result = await executor.execute("def broken(:\n    pass", 10)
    assert result.status is ActionStatus.ERROR
    assert [o["ename"] for o in result.outputs if o["output_type"] == "error"] == ["SyntaxError"]


async def test_streams_are_merged_like_a_notebook(executor):
    code = (
        "import sys\n"
        "for i in range(5):\n"
        "    print(i, flush=True)\n"
        "sys.stderr.write('warn 1\\n'); sys.stderr.flush()\n"
        "sys.stderr.write('warn 2\\n'); sys.stderr.flush()\n"
        "print('after', flush=True)\n"
    )
    result = await executor.execute(code, 10)
    assert result.status is ActionStatus.OK
    assert result.outputs == [
        {"output_type": "stream", "name": "stdout", "text": "0\n1\n2\n3\n4\n"},
        {"output_type": "stream", "name": "stderr", "text": "warn 1\nwarn 2\n"},
        {"output_type": "stream", "name": "stdout", "text": "after\n"},
    ]
    validate_cells(result)


async def test_clear_output(executor):
    result = await executor.execute(
        "from IPython.display import clear_output\n"
        "print('old', flush=True)\n"
        "clear_output()\n"
        "print('new', flush=True)\n",
        10,
    )
    assert result.outputs == [{"output_type": "stream", "name": "stdout", "text": "new\n"}]

    # wait=True: cleared when the next output comes, as in JupyterLab (progress bars).
    result = await executor.execute(
        "for i in range(3):\n    clear_output(wait=True)\n    print(f'step {i}', flush=True)\n",
        10,
    )
    assert result.outputs == [{"output_type": "stream", "name": "stdout", "text": "step 2\n"}]

    # wait=True with nothing after it: the output stays.
    result = await executor.execute("print('kept', flush=True)\nclear_output(wait=True)", 10)
    assert texts(result.outputs) == ["kept\n"]
    validate_cells(result)


async def test_update_display_data(executor):
    seen = Seen()
    result = await executor.execute(
        "from IPython.display import display\n"
        "handle = display('first', display_id=True)\n"
        "print('between', flush=True)\n"
        "display('other')\n"
        "handle.update('second')\n",
        10,
        on_output=seen.on_output,
    )
    assert result.status is ActionStatus.OK
    kinds = [o["output_type"] for o in result.outputs]
    assert kinds == ["display_data", "stream", "display_data"]
    assert result.outputs[0]["data"] == {"text/plain": "'second'"}  # updated in place
    assert result.outputs[1]["text"] == "between\n"
    assert result.outputs[2]["data"] == {"text/plain": "'other'"}
    # The live view saw 'first' before the update.
    assert any(o and o[0].get("data") == {"text/plain": "'first'"} for o in seen.outputs)
    assert seen.outputs[-1] == result.outputs
    validate_cells(result)


async def test_update_of_a_display_id_updates_every_output_with_it(executor):
    result = await executor.execute(
        "from IPython.display import display, update_display\n"
        "display('a', display_id='shared')\n"
        "display('b', display_id='shared')\n"
        "update_display('c', display_id='shared')\n"
        "update_display('ignored', display_id='unknown')\n",
        10,
    )
    assert [o["data"]["text/plain"] for o in result.outputs] == ["'c'", "'c'"]
    validate_cells(result)


async def test_update_after_clear_output_does_not_resurrect_the_display(executor):
    result = await executor.execute(
        "from IPython.display import display, clear_output\n"
        "h = display('first', display_id=True)\n"
        "clear_output()\n"
        "print('fresh', flush=True)\n"
        "h.update('second')\n",
        10,
    )
    assert result.outputs == [{"output_type": "stream", "name": "stdout", "text": "fresh\n"}]


# ---------------------------------------------------------------------------
# Timeout, interrupt
# ---------------------------------------------------------------------------


async def test_timeout_interrupts_and_the_kernel_keeps_its_state(executor):
    setup = await executor.execute("kept = 41", 10)
    assert setup.status is ActionStatus.OK
    started = time.monotonic()
    result = await executor.execute(
        "import time\nprint('sleeping', flush=True)\ntime.sleep(600)", 1.0
    )
    elapsed = time.monotonic() - started
    assert result.status is ActionStatus.TIMEOUT
    assert elapsed < 2.0  # timeout + 1 s
    assert elapsed >= 1.0
    assert texts(result.outputs, "stdout") == ["sleeping\n"]
    assert any(
        o["output_type"] == "error" and o["ename"] == "KeyboardInterrupt" for o in result.outputs
    )
    after = await executor.execute("print(kept + 1)", 10)
    assert after.status is ActionStatus.OK
    assert texts(after.outputs) == ["42\n"]
    validate_cells(setup, result, after)


async def test_no_timeout_when_the_code_is_quick(executor):
    result = await executor.execute("import time\ntime.sleep(0.2)\nprint('done')", 1.0)
    assert result.status is ActionStatus.OK
    assert texts(result.outputs) == ["done\n"]


async def test_interrupt_from_another_task(executor):
    started = asyncio.Event()

    def on_output(outputs):
        if any("started" in o.get("text", "") for o in outputs):
            started.set()

    task = asyncio.ensure_future(
        executor.execute(
            "import time\nprint('started', flush=True)\ntime.sleep(600)", 60, on_output=on_output
        )
    )
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.sleep(0.1)
    interrupted_at = time.monotonic()
    await executor.interrupt()
    result = await asyncio.wait_for(task, 10)
    assert time.monotonic() - interrupted_at < 2.0
    assert result.status is ActionStatus.INTERRUPTED
    assert texts(result.outputs) == ["started\n"]
    # The next action runs normally (the stop does not stick).
    after = await executor.execute("print('still here')", 10)
    assert after.status is ActionStatus.OK
    assert texts(after.outputs) == ["still here\n"]


async def test_interrupt_when_idle_is_a_no_op(executor):
    await executor.interrupt()
    result = await executor.execute("print(1)", 10)
    assert result.status is ActionStatus.OK
    assert texts(result.outputs) == ["1\n"]


# ---------------------------------------------------------------------------
# Kernel death
# ---------------------------------------------------------------------------


async def test_kernel_killed_by_the_action_is_dead_not_a_hang(executor):
    started = time.monotonic()
    result = await asyncio.wait_for(
        executor.execute(
            "import os, signal\nprint('bye', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)",
            30,
        ),
        10,
    )
    assert result.status is ActionStatus.DEAD
    assert time.monotonic() - started < 5.0
    assert texts(result.outputs) in (["bye\n"], [])  # 'bye' may or may not have got out


async def test_kernel_killed_from_outside_is_dead(kernel):
    km, executor = kernel

    async def kill_soon():
        await asyncio.sleep(0.5)
        # jupyter_client 8 has no public AsyncKernelManager.kill_kernel: SIGKILL the process.
        await km.signal_kernel(signal.SIGKILL)

    killer = asyncio.ensure_future(kill_soon())
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(
            executor.execute("import time\ntime.sleep(600)", None),  # no timeout at all
            10,
        )
    finally:
        await killer
    assert result.status is ActionStatus.DEAD
    assert time.monotonic() - started < 5.0
    assert await km.is_alive() is False


async def test_manager_kill_is_dead(kernel):
    """The manager's own kill (what a restart or shutdown does to a busy kernel)."""
    km, executor = kernel

    async def kill_soon():
        await asyncio.sleep(0.5)
        await km._kill_kernel()

    killer = asyncio.ensure_future(kill_soon())
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(executor.execute("import time\ntime.sleep(600)", 60), 10)
    finally:
        await killer
    assert result.status is ActionStatus.DEAD
    assert time.monotonic() - started < 5.0


# ---------------------------------------------------------------------------
# Huge output
# ---------------------------------------------------------------------------


async def test_huge_output_is_capped(executor):
    cap = executor.max_stored_output_chars
    assert cap == 1_000_000
    seen = Seen()
    started = time.monotonic()
    result = await executor.execute('print("x" * 10_000_000)\n', 60, on_output=seen.on_output)
    assert time.monotonic() - started < 15
    assert result.status is ActionStatus.OK
    assert result.outputs_truncated is True
    stored = sum(len(o["text"]) for o in result.outputs if o["output_type"] == "stream")
    cut = 10_000_001 - cap  # the x's and the newline
    note = TRUNCATION_NOTE.format(cut=cut)
    assert stored <= cap + len(note)
    assert result.outputs[-1] == {"output_type": "stream", "name": "stderr", "text": note}
    assert re.search(rf"\b{cut} more characters\b", result.outputs[-1]["text"])
    assert result.outputs[0]["text"] == "x" * cap
    validate_cells(result)
    # The next action is not capped by what the last one printed.
    after = await executor.execute("print('small')", 10)
    assert after.outputs_truncated is False
    assert texts(after.outputs) == ["small\n"]


async def test_cap_applies_across_many_writes(executor):
    executor.max_stored_output_chars = 1000
    result = await executor.execute(
        "import sys\nfor i in range(200):\n    print('y' * 19)\n_ = sys.stderr.write('e' * 50)\n",
        30,
    )
    assert result.status is ActionStatus.OK
    assert result.outputs_truncated is True
    kept = result.outputs[:-1]
    assert sum(len(o["text"]) for o in kept) == 1000
    assert result.outputs[-1]["text"] == TRUNCATION_NOTE.format(cut=200 * 20 + 50 - 1000)
    validate_cells(result)


async def test_every_output_type_is_capped_not_only_streams(executor):
    """A 5 MB execute_result, a 3 MB PNG and a 2 MB traceback are kept within the cap."""
    executor.max_stored_output_chars = 10_000
    executor.max_stored_image_bytes = 100_000
    result = await executor.execute(
        "from IPython.display import display, Image\n"
        "import base64\n"
        "class Big:\n"
        "    def _repr_html_(self): return '<td>' * 1_000_000\n"
        "    def __repr__(self): return 'r' * 5_000_000\n"
        "display({'image/png': base64.b64encode(b'p' * 3_000_000).decode()}, raw=True)\n"
        "Big()\n",
        60,
    )
    assert result.status is ActionStatus.OK and result.outputs_truncated
    image, big = result.outputs[0], result.outputs[1]
    assert image["output_type"] == "display_data"
    assert "not kept: over the 100,000-byte limit" in image["data"]["image/png"]
    assert big["output_type"] == "execute_result"
    plain, html = big["data"]["text/plain"], big["data"]["text/html"]
    assert len(plain) < 10_200 and plain.startswith("rrr") and plain.endswith("rrr")
    assert "characters cut" in plain and len(html) < 10_200
    validate_cells(result)
    failing = await executor.execute("raise ValueError('v' * 2_000_000)", 60)
    assert failing.status is ActionStatus.ERROR
    error = next(o for o in failing.outputs if o["output_type"] == "error")
    assert len(error["evalue"]) < 10_200 and "characters cut" in error["evalue"]
    assert sum(len(line) for line in error["traceback"]) < 25_000
    assert "ValueError" in error["traceback"][-1]
    validate_cells(failing)


async def test_a_huge_update_display_data_is_capped_too(executor):
    executor.max_stored_output_chars = 5_000
    result = await executor.execute(
        "from IPython.display import display\n"
        "h = display('small', display_id=True)\n"
        "h.update('u' * 1_000_000)\n",
        30,
    )
    assert result.status is ActionStatus.OK
    assert len(result.outputs[0]["data"]["text/plain"]) < 5_200
    validate_cells(result)


# ---------------------------------------------------------------------------
# A notebook of everything
# ---------------------------------------------------------------------------


async def test_a_notebook_of_all_kinds_of_outputs_validates(executor):
    results = [
        await executor.execute("print('out')\n1 + 1", 10),
        await executor.execute("raise ValueError('bad')", 10),
        await executor.execute(
            "from IPython.display import display, HTML, Markdown\n"
            "display(HTML('<b>bold</b>'))\n"
            "display(Markdown('*md*'))\n"
            "h = display({'a': 1}, raw=False, display_id=True)\n"
            "h.update('new')\n",
            10,
        ),
        await executor.execute("import time\ntime.sleep(600)", 0.5),
    ]
    assert [r.status for r in results] == [
        ActionStatus.OK,
        ActionStatus.ERROR,
        ActionStatus.OK,
        ActionStatus.TIMEOUT,
    ]
    html = results[2].outputs[0]
    assert html["output_type"] == "display_data" and "text/html" in html["data"]
    validate_cells(*results)
