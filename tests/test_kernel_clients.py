"""Several clients on one kernel: each executor must get its own replies."""

from __future__ import annotations

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
