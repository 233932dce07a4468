"""The chat messages sent to the model: a view of the episode, rebuilt each turn.

Because they are derived from the record, a follow-up message, a resumed episode
and a fresh turn all send the model exactly what it saw before.
"""

from __future__ import annotations

from typing import Any

from .episode import Episode, StepKind

OBSERVATION_PREFIX = "Observation:\n"


def observation_message(text: str, images: list[str], vision: bool) -> dict[str, Any]:
    body = OBSERVATION_PREFIX + text
    if not (vision and images):
        return {"role": "user", "content": body}
    content: list[dict[str, Any]] = [{"type": "text", "text": body}]
    for data in images:
        content.append({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}})
    return {"role": "user", "content": content}


def user_text(data: dict[str, Any]) -> str:
    """A user message as the model reads it: the notebook's view (or what changed in it)
    first, when the message carries one, then what the user wrote."""
    notebook = data.get("notebook")
    return f"{notebook}\n\n{data['text']}" if notebook else str(data["text"])


def build_messages(episode: Episode, system: str, *, vision: bool = False) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for step in episode.steps:
        if step.kind is StepKind.USER:
            messages.append({"role": "user", "content": user_text(step.data)})
        elif step.kind is StepKind.ASSISTANT:
            # An empty reply still takes its place, so roles keep alternating.
            messages.append({"role": "assistant", "content": step.data["text"] or "(empty)"})
        elif step.kind is StepKind.OBSERVATION:
            messages.append(
                observation_message(step.data["text"], step.data.get("images") or [], vision)
            )
    return messages
