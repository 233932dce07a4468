"""Wait for the user's running cell before an episode's first request to the kernel.

The kernel is shared with its owner: a request sent while their cell runs would
queue behind it (and a probe that timed out there used to interrupt it). So an
episode waits, says so, and never interrupts what it did not start. A stop ends
the wait at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from .loop import StopSignal

BusyCheck = Callable[[], bool]  # the kernel runs something (a host reads it from IOPub status)


async def wait_while_busy(
    is_busy: BusyCheck,
    stop: StopSignal,
    on_wait: Callable[[bool], None],
    *,
    poll: float = 0.1,
) -> None:
    """Return once ``is_busy()`` is false or ``stop`` is set. ``on_wait(True)`` is called when
    a wait begins and ``on_wait(False)`` when it ends; neither when the kernel is free."""
    if not is_busy() or stop.is_set():
        return
    on_wait(True)
    stopped = asyncio.Event()
    unlisten = stop.listen(stopped.set)
    try:
        while is_busy() and not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopped.wait(), poll)
    finally:
        unlisten()
        on_wait(False)
