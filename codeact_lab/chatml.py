"""Episodes as fine-tuning data: JSON Lines of chat messages in the CodeAct form.

One line per episode: ``{"messages": [...], "metadata": {...}}`` with the system
prompt, the user's task (and follow-ups), the assistant turns with their
``<execute>`` blocks, the observations exactly as the model read them, and the final
``<solution>``. A request that started over (the model repeated itself) is the
conversation the model had from then on: the turns it no longer saw are left out. That is
the conversational format open fine-tuning tools read
(TRL, axolotl, LLaMA-Factory), and the shape of the paper's CodeActInstruct data.
Secrets and absolute home paths are redacted; images can be dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .agent import Episode
from .agent.messages import build_messages
from .agent.prompts import PromptTemplate
from .agent.redact import redact_all


def episode_to_chatml(
    episode: Episode, *, images: bool = True, secrets: Iterable[str | None] = ()
) -> dict[str, Any]:
    # An episode from before the system prompt was recorded: its version's default text.
    system = episode.system or PromptTemplate().render()
    messages = build_messages(episode, system, vision=images)
    metadata = {
        "episode": episode.id,
        "model": episode.settings.model,
        "prompt_version": episode.settings.prompt_version,
        "final_state": episode.state.value if episode.state else "running",
        "turns": episode.turns,
        "created": episode.created,
    }
    return redact_all({"messages": messages, "metadata": metadata}, secrets)


def write_chatml(
    episodes: Iterable[Episode],
    path: str,
    *,
    images: bool = True,
    secrets: Iterable[str | None] = (),
) -> int:
    """Write one line per episode; returns how many were written."""
    secrets = list(secrets)
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        for episode in episodes:
            line = episode_to_chatml(episode, images=images, secrets=secrets)
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
    return count
