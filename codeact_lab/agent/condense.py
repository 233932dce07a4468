"""Condense a prompt to fit the model's context, leaving room for the reply.

Each turn adds an observation (up to ``max_output_chars``) and a reply to the prompt,
so a long episode outgrows any context. Before each request the prompt's older
messages are shortened, in this order, until it fits:

1. older observations lose their middle (head and tail kept, with a note of the cut);
2. then each becomes one line ("[output of turn 4: 4,012 characters, omitted ...]");
3. then older replies' long code loses its middle, and older notebook texts too;
4. then the oldest whole turns are left out, with one note after the task.

Always kept whole: the system prompt, the task's words, the latest user message (its
notebook text too) and the latest turn (the last reply and what followed it).

Stable: what one request shortened, the next shortens the same way (the record of the
previous request says so), and shortening (and dropping, once shortening alone cannot
fit) goes down to ``LOW_WATER`` of the budget rather than to the budget itself, so the next turns mostly append to an unchanged
prompt: llama.cpp reuses its KV cache for an unchanged prefix, and a prompt whose
middle changed every turn would be evaluated again every turn.

Only the prompt is condensed: the record keeps every step whole. The result says
what was shortened, by step id, for the record of the reply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .episode import StepKind
from .messages import Part
from .output_limits import cut_middle
from .tokens import TOKENS_PER_PROMPT, message_tokens

# Shortened texts keep this many characters, head and tail.
OBSERVATION_KEEP = 600
REPLY_KEEP = 800
NOTEBOOK_KEEP = 1200
# Once shortening is needed, it goes down to this share of the budget (see above).
LOW_WATER = 0.6

# The levels a step can be shortened to, recorded by name. Dropping is recorded apart.
CUT, OMITTED, CODE, NOTEBOOK = "cut", "omitted", "code", "notebook"
LEVELS = (CUT, OMITTED, CODE, NOTEBOOK)
OMITTED_LINE = "[output of turn {turn}: {chars:,} characters, omitted to fit the model's context]"
IMAGES_LEFT_OUT = "[{count} image(s) left out to fit the model's context]"
DROPPED_NOTE = (
    "[{messages:,} earlier messages of this conversation{turns} are left out here to fit the "
    "model's context; the latest ones follow.]"
)


@dataclass(frozen=True)
class Budget:
    context_tokens: int
    reply_tokens: int

    @property
    def prompt_tokens(self) -> int:
        return self.context_tokens - self.reply_tokens


class ContextOverflow(Exception):
    """Even condensed as far as it goes, the prompt does not fit the budget."""

    def __init__(self, needed: int, budget: Budget) -> None:
        self.needed, self.budget = needed, budget
        super().__init__(
            f"the prompt does not fit the model's context: even condensed, it needs about "
            f"{needed:,} tokens (the system prompt, the task, the latest message and the "
            f"latest turn are always sent whole), and a context of {budget.context_tokens:,} "
            f"tokens leaves {max(0, budget.prompt_tokens):,} after {budget.reply_tokens:,} "
            "for the reply. Use a model with a larger context (CodeAct.context_tokens), a "
            "smaller CodeAct.max_tokens or CodeAct.max_output_chars, or a new episode."
        )


@dataclass
class Prompt:
    messages: list[dict[str, Any]]
    tokens: int  # estimated, template included
    condensed: dict[str, Any]  # {level: [step ids], "dropped": {...}}; empty: all whole

    def record(self, budget: Budget) -> dict[str, Any]:
        """What the reply's step records of the prompt it answered."""
        record: dict[str, Any] = {
            "prompt_tokens": self.tokens,
            "context_tokens": budget.context_tokens,
        }
        if self.condensed:
            record["condensed"] = self.condensed
        return record


def shorten(part: Part, level: str) -> Part:
    """``part`` shortened to ``level`` (made from the whole part, so the same every time)."""
    if level == CUT:
        text = cut_middle(part.text, OBSERVATION_KEEP)[0]
        if part.images:
            text += "\n" + IMAGES_LEFT_OUT.format(count=len(part.images))
        return dataclasses.replace(part, text=text, images=())
    if level == OMITTED:
        line = OMITTED_LINE.format(turn=part.turn or "?", chars=len(part.text))
        return dataclasses.replace(part, text=line, images=())
    if level == CODE:
        return dataclasses.replace(part, text=cut_middle(part.text, REPLY_KEEP)[0])
    if level == NOTEBOOK:
        return dataclasses.replace(part, notebook=cut_middle(part.notebook, NOTEBOOK_KEEP)[0])
    raise ValueError(f"unknown level {level!r}")


# Which level each phase applies, to which kind of step, and which level it goes past.
_PHASES: tuple[tuple[str, StepKind, tuple[str, ...]], ...] = (
    (CUT, StepKind.OBSERVATION, ()),
    (OMITTED, StepKind.OBSERVATION, (CUT,)),
    (CODE, StepKind.ASSISTANT, ()),
    (NOTEBOOK, StepKind.USER, ()),
)


class _Condenser:
    def __init__(
        self,
        parts: list[Part],
        vision: bool,
        count: Callable[[Mapping[str, Any]], int],
        cache: dict[tuple[Any, ...], int],
    ) -> None:
        self.whole = parts
        self.parts = list(parts)
        self.vision = vision
        self.count = count
        self.cache = cache
        self.levels: dict[int, str] = {}
        self.dropped: set[int] = set()
        self.sizes = [self._size(p, "") for p in parts]
        self.total = sum(self.sizes) + TOKENS_PER_PROMPT
        users = [i for i, p in enumerate(parts) if p.kind is StepKind.USER]
        replies = [i for i, p in enumerate(parts) if p.kind is StepKind.ASSISTANT]
        self.task = users[0] if users else None
        kept = {0} | set(users[:1]) | set(users[-1:])
        # The latest turn: the last reply and everything after it; no reply yet: all of it.
        tail = replies[-1] if replies else (self.task or 0)
        kept |= set(range(tail, len(parts)))
        self.region = [i for i in range(len(parts)) if i not in kept]  # may be shortened, dropped
        # The task's words are never shortened, its notebook text is unless it is the latest.
        self.shortenable = set(self.region)
        if self.task is not None and self.task != users[-1]:
            self.shortenable.add(self.task)

    def _size(self, part: Part, level: str) -> int:
        """The part's tokens; a step's text never changes, so its count is kept per level."""
        key = (part.step_id, level, part.note, self.vision)
        if key not in self.cache:
            self.cache[key] = self.count(part.message(self.vision))
        return self.cache[key]

    def _set(self, index: int, part: Part, level: str) -> None:
        self.parts[index] = part
        size = self._size(part, level)
        self.total += size - self.sizes[index]
        self.sizes[index] = size

    def level(self, index: int, level: str) -> bool:
        """Shorten one part, if that makes it smaller; whether it did."""
        part = dataclasses.replace(shorten(self.whole[index], level), note=self.parts[index].note)
        if self._size(part, level) >= self.sizes[index]:
            return False
        self._set(index, part, level)
        self.levels[index] = level
        return True

    def drop_through(self, last: int) -> None:
        """Leave out the region's parts up to index ``last`` (the kept ones stay)."""
        for i in self.region:
            if i <= last and i not in self.dropped:
                self.dropped.add(i)
                self.total -= self.sizes[i]
                self.sizes[i] = 0
        self._note_dropped()

    def _note_dropped(self) -> None:
        if self.task is None or not self.dropped:
            return
        turns = sorted({t for i in self.dropped if (t := self.whole[i].turn) is not None})
        span = ""
        if turns:
            span = f" (turns {turns[0]}-{turns[-1]})" if len(turns) > 1 else f" (turn {turns[0]})"
        note = DROPPED_NOTE.format(messages=len(self.dropped), turns=span)
        part = dataclasses.replace(self.parts[self.task], note=note)
        self._set(self.task, part, self.levels.get(self.task, ""))

    # ---- the passes ----
    def replay(self, previous: Mapping[str, Any]) -> None:
        """Shorten what the previous request shortened, the same way."""
        by_id = {p.step_id: i for i, p in enumerate(self.whole) if p.step_id}
        for level in LEVELS:
            for step_id in previous.get(level) or ():
                index = by_id.get(step_id)
                if index is not None and index in self.shortenable and index not in self.levels:
                    self.level(index, level)
        through = (previous.get("dropped") or {}).get("through")
        if through in by_id and by_id[through] in self.region:
            self.drop_through(by_id[through])

    def shorten_to(self, target: int, budget: int) -> None:
        """Shorten down to ``target``; drop turns only if shortening cannot reach ``budget``."""
        for level, kind, past in _PHASES:
            for i in sorted(self.shortenable):
                if self.total <= target:
                    return
                part = self.whole[i]
                if i in self.dropped or part.kind is not kind:
                    continue
                if self.levels.get(i, "") in ("", *past):
                    self.level(i, level)
        if self.total <= budget:
            return
        for last in self._group_ends():
            if self.total <= target:
                return
            self.drop_through(last)

    def _group_ends(self) -> list[int]:
        """Where the region may be cut: its last index before each reply and its end.
        Dropping through one of them leaves out whole turns, so no reply is sent
        without the turn it belongs to, and no two replies follow each other."""
        ends = [
            before
            for before, i in zip(self.region, self.region[1:], strict=False)
            if self.whole[i].kind is StepKind.ASSISTANT
        ]
        return [*ends, self.region[-1]] if self.region else []

    def result(self) -> Prompt:
        messages = [
            p.message(self.vision) for i, p in enumerate(self.parts) if i not in self.dropped
        ]
        condensed: dict[str, Any] = {}
        for level in LEVELS:
            ids = [
                self.whole[i].step_id
                for i in sorted(self.levels)
                if self.levels[i] == level and i not in self.dropped
            ]
            if ids:
                condensed[level] = ids
        if self.dropped:
            last = max(self.dropped)
            condensed["dropped"] = {
                "through": self.whole[last].step_id,
                "messages": len(self.dropped),
            }
        return Prompt(messages, self.total, condensed)


def condense(
    parts: list[Part],
    budget: Budget,
    *,
    previous: Mapping[str, Any] | None = None,
    vision: bool = False,
    count: Callable[[Mapping[str, Any]], int] = message_tokens,
    cache: dict[tuple[Any, ...], int] | None = None,
) -> Prompt:
    """The prompt of ``parts`` within ``budget.prompt_tokens``; :class:`ContextOverflow`
    when it cannot be. ``previous`` is the previous request's ``condensed`` record;
    ``cache`` keeps token counts from one call to the next (one episode's parts only)."""
    condenser = _Condenser(parts, vision, count, {} if cache is None else cache)
    if previous:
        condenser.replay(previous)
    if condenser.total > budget.prompt_tokens:
        condenser.shorten_to(int(budget.prompt_tokens * LOW_WATER), budget.prompt_tokens)
    if condenser.total > budget.prompt_tokens:
        raise ContextOverflow(condenser.total, budget)
    return condenser.result()
