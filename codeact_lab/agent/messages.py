"""The chat messages sent to the model: a view of the episode, rebuilt each turn.

Because they are derived from the record, a follow-up message, a resumed episode
and a fresh turn all send the model exactly what it saw before.

A request that starts over (the loop's fresh start, when the model got stuck repeating
itself) is sent without its turns before that point: the request's message, then the
fresh start's note, then what came after. The record keeps those turns; the model does
not see them, so it cannot copy them again.

:func:`prompt_parts` makes one :class:`Part` per message, tied to the step it comes
from, so that ``condense.py`` can shorten the old ones to fit the model's context;
:func:`build_messages` is the prompt with nothing shortened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .episode import Episode, Step, StepKind
from .repetition import new_request

OBSERVATION_PREFIX = "Observation:\n"


def observation_message(text: str, images: list[str], vision: bool) -> dict[str, Any]:
    body = OBSERVATION_PREFIX + text
    if not (vision and images):
        return {"role": "user", "content": body}
    content: list[dict[str, Any]] = [{"type": "text", "text": body}]
    for data in images:
        content.append({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}})
    return {"role": "user", "content": content}


def user_content(text: str, notebook: str = "") -> str:
    """A user message as sent: the notebook's view (or its changes) first, then the words."""
    return f"{notebook}\n\n{text}" if notebook else text


@dataclass(frozen=True)
class Part:
    """One message of the prompt and the step it is made from (``None``: the system prompt)."""

    role: str  # "system", "user" or "assistant"
    kind: StepKind | None
    step_id: str | None
    text: str
    notebook: str = ""  # a user step's notebook text, sent before its words
    images: tuple[str, ...] = ()
    turn: int | None = None
    note: str = ""  # said after the text (the task's note of the turns left out)

    def message(self, vision: bool = False) -> dict[str, Any]:
        if self.kind is StepKind.OBSERVATION:
            return observation_message(self.text, list(self.images), vision)
        if self.kind is StepKind.USER:
            content = user_content(self.text, self.notebook)
        else:
            content = self.text
        return {"role": self.role, "content": f"{content}\n\n{self.note}" if self.note else content}


def visible_steps(episode: Episode) -> list[Step]:
    """The steps the model is shown: at each fresh start, the turns between its request's
    message and it are left out, and the fresh start stands in for them."""
    visible: list[Step] = []
    request = -1  # the index in ``visible`` of the current request's message
    for step in episode.steps:
        if new_request(step):
            request = len(visible)
        elif step.kind is StepKind.OBSERVATION and step.data.get("fresh_start"):
            del visible[request + 1 :]
        visible.append(step)
    return visible


def prompt_parts(episode: Episode, system: str) -> list[Part]:
    parts = [Part("system", None, None, system)]
    for step in visible_steps(episode):
        data = step.data
        if step.kind is StepKind.USER:
            parts.append(
                Part("user", step.kind, step.id, data["text"], notebook=data.get("notebook") or "")
            )
        elif step.kind is StepKind.ASSISTANT:
            # An empty reply still takes its place, so roles keep alternating.
            text = data["text"] or "(empty)"
            parts.append(Part("assistant", step.kind, step.id, text, turn=data.get("turn")))
        elif step.kind is StepKind.OBSERVATION and data.get("fresh_start"):
            # Said as the user's words, after the request: no turn before it is shown.
            parts.append(Part("user", StepKind.USER, step.id, data["fresh_start"]))
        elif step.kind is StepKind.OBSERVATION:
            images = tuple(data.get("images") or ())
            parts.append(
                Part("user", step.kind, step.id, data["text"], images=images, turn=data.get("turn"))
            )
    return parts


def build_messages(episode: Episode, system: str, *, vision: bool = False) -> list[dict[str, Any]]:
    return [part.message(vision) for part in prompt_parts(episode, system)]
