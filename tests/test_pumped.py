"""Pumped: a generator's events, forwarded, then its result, typed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from codeact_lab.agent.episode import Episode, Event, EventType
from codeact_lab.agent.pumped import Done, pumped


@pumped
async def count_to(episode: Episode, n: int) -> AsyncIterator[Event | Done[int]]:
    for turn in range(1, n + 1):
        yield episode.event(EventType.TURN_STARTED, turn=turn)
    yield Done(n * 10)


async def test_the_events_come_through_and_the_result_is_read_after():
    counting = count_to(Episode(task="t"), 3)
    events = [ev async for ev in counting]
    assert [ev.data["turn"] for ev in events] == [1, 2, 3]
    assert counting.result == 30


async def test_the_result_read_before_the_end_is_an_error():
    counting = count_to(Episode(task="t"), 2)
    with pytest.raises(RuntimeError, match="before the work ended"):
        _ = counting.result
    async for _ in counting:
        with pytest.raises(RuntimeError):
            _ = counting.result
        break
