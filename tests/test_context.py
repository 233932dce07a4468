"""The kernel context probe: variables and tools, silently, within a time bound."""

from __future__ import annotations

import time

from codeact_lab.agent import ActionStatus
from codeact_lab.agent.context import describe_kernel, parse_probe, probe_expression

SETUP = '''
import numpy as np
import pandas as pd
from codeact_lab import tool

sales = pd.DataFrame({"month": [1, 2], "revenue": [10.0, 12.5]})
big = np.zeros((100_000, 1_000), dtype=np.uint8)  # 100 MB: never copied or printed
names = ["a", "b", "c"]
rate = 0.25

class Raises:
    def __repr__(self):
        raise RuntimeError("no repr for you")
    def __len__(self):
        raise RuntimeError("no len either")
    @property
    def shape(self):
        raise RuntimeError("no shape")

class Hangs:
    @property
    def shape(self):
        import time
        time.sleep(600)
    def __repr__(self):
        import time
        time.sleep(600)

class LongList(list):
    def __len__(self):
        import time
        time.sleep(600)

hostile, slow, sneaky = Raises(), Hangs(), LongList()

@tool
def monthly_total(df, column: str = "revenue") -> float:
    """Sum one column of a sales table.

    More detail that the model does not need."""
    return float(df[column].sum())

def helper(x):
    return x
'''


async def test_probe_describes_variables_and_tools_and_survives_hostile_objects(executor):
    setup = await executor.execute(SETUP, 60)
    assert setup.status is ActionStatus.OK, setup.outputs
    before = await executor.execute("print(len(In))", 10)
    count_before = before.execution_count

    started = time.monotonic()
    tools, context = await describe_kernel(executor, ["helper"])
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, elapsed

    assert "- sales: pandas.DataFrame (shape (2, 2); columns month, revenue)" in context
    assert "- big: numpy.ndarray (shape (100000, 1000))" in context
    assert "- names: list (len 3)" in context and "- rate: float (= 0.25)" in context
    assert "- hostile: Raises" in context and "- slow: Hangs" in context
    assert "- sneaky: LongList" in context
    assert "np" not in [line.split(":")[0][2:] for line in context.splitlines()]
    assert "- monthly_total(df, column: str = 'revenue') -> float: Sum one column" in tools
    assert "More detail" not in tools
    assert "- helper(x)" in tools  # named in config

    # Silent: no history, no execution count, nothing left in the namespace.
    after = await executor.execute(
        "print(len(In)); print('_probe' in dir(), 'result' in dir())", 10
    )
    assert after.execution_count == count_before + 1
    assert after.outputs[0]["text"] == f"{int(before.outputs[0]['text']) + 1}\nFalse False\n"


async def test_probe_of_an_empty_kernel_and_bad_answers(executor):
    tools, context = await describe_kernel(executor, [])
    assert tools == "" and context == ""
    assert parse_probe("not json") == {"variables": [], "tools": []}
    assert await executor.evaluate("1/0") is None
    assert await executor.evaluate("{'a': [1, 2]}") == {"a": [1, 2]}
    assert "exec(" in probe_expression(["x"])
