"""A piece of the loop that makes events as it goes and a result at the end.

An async generator cannot return a value, so each such piece is written as one that
yields its events and, last, ``Done(result)``; ``@pumped`` turns it into a function that
returns a :class:`Pumped`: ``async for`` it to forward the events, then read ``.result``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Generic, ParamSpec, TypeVar

from .episode import Event

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True)
class Done(Generic[T]):
    """The last item of a pumped generator: its result."""

    result: T


class Pumped(Generic[T]):
    """The events of a piece of work as they come, then its result."""

    def __init__(self, source: AsyncIterator[Event | Done[T]]) -> None:
        self._source = source
        self._done: Done[T] | None = None

    async def __aiter__(self) -> AsyncIterator[Event]:
        async for item in self._source:
            if isinstance(item, Done):
                self._done = item
            else:
                yield item

    @property
    def result(self) -> T:
        if self._done is None:
            raise RuntimeError("the result is read before the work ended")
        return self._done.result


def pumped(
    generator: Callable[P, AsyncIterator[Event | Done[T]]],
) -> Callable[P, Pumped[T]]:
    """Make a generator of events and a last ``Done`` return a :class:`Pumped`."""

    @wraps(generator)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Pumped[T]:
        return Pumped(generator(*args, **kwargs))

    return wrapper
