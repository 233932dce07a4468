"""The loop against 1,000 random, malformed model replies: it always ends cleanly.

The model is an in-process stand-in that answers whatever hypothesis draws (tag soup,
unclosed blocks, empty replies, binary junk); the executor is in memory so the test
is fast. Every episode must end with a FINAL event, keep every step, and replay to
the same record from its events.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codeact_lab.agent import (
    ActionStatus,
    Completion,
    Episode,
    EventType,
    ExecutionResult,
    Policy,
    StepKind,
    Usage,
    run,
)

PIECES = [
    "<execute>",
    "</execute>",
    "<solution>",
    "</solution>",
    "```python\n",
    "```",
    "\n",
    "print(1)",
    "1/0",
    "x = ",
    "<EXECUTE>",
    "</Solution>",
    "\x00",
    "\ufeff",
    "   ",
]
replies = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.text(max_size=200),
    st.just(""),
)


class ReplayModel:
    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)

    async def complete(
        self, messages, *, on_delta=None, on_retry=None, sampling=None
    ) -> Completion:
        text = self.texts.pop(0) if self.texts else "<solution>end</solution>"
        if on_delta and text:
            on_delta(text)
        return Completion(text, "stop", Usage(1, 1))


class MemoryExecutor:
    """Runs nothing: code that mentions 1/0 'raises', anything else prints its length."""

    async def execute(self, code, timeout, *, on_output=None, on_input=None) -> ExecutionResult:
        if "1/0" in code:
            error = {
                "output_type": "error",
                "ename": "ZeroDivisionError",
                "evalue": "x",
                "traceback": [],
            }
            return ExecutionResult(ActionStatus.ERROR, [error], 1)
        out = {"output_type": "stream", "name": "stdout", "text": f"{len(code)}\n"}
        if on_output:
            on_output([out])
        return ExecutionResult(ActionStatus.OK, [out], 1)

    async def interrupt(self) -> None:
        pass

    async def evaluate(self, expression, timeout=5.0):
        return None  # no namespace: final_answer is not offered


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(replies, min_size=10, max_size=10))
def test_random_replies_never_break_the_loop(texts):
    episode = Episode(task="t")

    async def drive():
        return [
            ev
            async for ev in run(episode, ReplayModel(texts), MemoryExecutor(), Policy(max_turns=10))
        ]

    events = asyncio.run(drive())
    assert events[-1].type is EventType.FINAL and episode.state is not None
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert not episode.steps_of(StepKind.ERROR)  # no internal error, whatever the model says
    assert all(
        s.data["status"] not in ("pending", "running", "awaiting_approval")
        for s in episode.steps_of(StepKind.ACTION)
    )
    stored = [e for e in events if e.type is not EventType.TEXT_DELTA]
    rebuilt = Episode.replay(stored, id=episode.id, created=episode.created)
    assert rebuilt.to_dict() == episode.to_dict()
