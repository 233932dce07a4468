"""Several clients on one kernel: each executor must get its own replies."""

from __future__ import annotations

import asyncio

from codeact_lab.agent import ActionStatus, KernelExecutor


async def test_two_executors_on_one_kernel_each_get_their_replies(kernel):
    km, first = kernel
    second = KernelExecutor.for_manager(km)
    try:
        for executor, code in ((first, "a = 1"), (second, "b = a + 1"), (first, "print(a + b)")):
            result = await executor.execute(code, 10)
            assert result.status is ActionStatus.OK
            assert result.execution_count is not None
        assert result.outputs[0]["text"] == "3\n"
    finally:
        second.close()


async def test_a_stop_before_the_kernel_is_ready_runs_nothing(jp_asyncio_loop):
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel()
    executor = KernelExecutor.for_manager(km)  # not ready yet: the kernel is still starting
    try:
        running = asyncio.ensure_future(executor.execute("import time; time.sleep(600)", None))
        await asyncio.sleep(0)  # the call has begun and waits for the kernel
        await executor.interrupt()
        result = await asyncio.wait_for(running, 30)
        assert result.status is ActionStatus.INTERRUPTED and result.outputs == []
        after = await executor.execute("print('idle')", 10)
        assert after.status is ActionStatus.OK and after.execution_count == 1
    finally:
        executor.close()
        await km.shutdown_kernel(now=True)
