"""A plain-text view of an episode's events, for terminals and logs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TextIO

from .agent import Episode, Event, EventType
from .agent.observation import render_outputs, strip_ansi, truncate_middle
from .agent.redact import redact, usable_secrets

RULE = "─" * 8
# C0 and C1 controls other than tab and newline, once whole escape sequences are gone.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    return _CONTROLS.sub("", strip_ansi(text.replace("\r\n", "\n")))


class TranscriptPrinter:
    """Prints events as they come: the model's reply streams, each action's output follows."""

    def __init__(
        self,
        episode: Episode,
        out: TextIO,
        *,
        max_output_chars: int = 4000,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.episode = episode
        self._out = out
        self._secrets = usable_secrets(secrets)
        # Streamed text is held back by this much, so a secret split across deltas is caught.
        self._hold = max((len(k) for k in self._secrets), default=1) - 1
        self._pending = ""
        self.max_output_chars = max_output_chars
        self._mid_line = False
        self._streamed = ""  # text of the current turn printed so far

    def _write(self, text: str, *, stream: bool = False) -> None:
        # Model text and kernel output must not drive the terminal (colours aside, escape
        # sequences can set the title, write the clipboard, or hide what is printed).
        text = terminal_safe(redact(self._pending + text, self._secrets))
        cut = len(text) - self._hold if stream and self._hold else len(text)
        self._pending = text[cut:]
        self._out.write(text[:cut])
        self._out.flush()

    def _line(self, text: str) -> None:
        if self._mid_line:
            self._write("\n")
            self._mid_line = False
        self._write(text + "\n")

    def __call__(self, ev: Event) -> None:
        d = ev.data
        t = ev.type
        if t is EventType.USER_MESSAGE:
            self._line(f"{RULE} user\n{d['step']['data']['text']}")
        elif t is EventType.TURN_STARTED:
            self._line(f"{RULE} model, turn {d['turn']}")
        elif t is EventType.TEXT_DELTA:
            self._streamed += d["text"]
            self._write(d["text"], stream=True)
            self._mid_line = not d["text"].endswith("\n")
        elif t is EventType.ASSISTANT_MESSAGE:
            full = d["step"]["data"]["text"]
            if full.startswith(self._streamed) and len(full) > len(self._streamed):
                self._line(full[len(self._streamed) :].lstrip("\n"))  # e.g. a stripped </execute>
            self._streamed = ""
        elif t is EventType.MODEL_RETRY:
            self._streamed = ""
            self._line(f"{RULE} retry {d['attempt']} in {d['delay']:.1f} s: {d['reason']}")
        elif t is EventType.AWAITING_APPROVAL:
            self._line(f"{RULE} action {d['step_id']} awaits approval")
        elif t is EventType.APPROVAL and d["decision"] == "reject":
            self._line(f"{RULE} action rejected" + (f": {d['note']}" if d.get("note") else ""))
        elif t is EventType.ACTION_FINISHED:
            count = d.get("execution_count")
            label = f"[{count}]" if count is not None else ""
            self._line(f"{RULE} output {label} ({d['status']})")
            text = render_outputs(d.get("outputs") or []).text
            if text:
                self._line(truncate_middle(text, self.max_output_chars))
        elif t is EventType.ERROR:
            self._line(f"{RULE} error: {d['step']['data']['message']}")
        elif t is EventType.SOLUTION:
            self._line(f"{RULE} answer\n{d['step']['data']['text']}")
        elif t is EventType.FINAL:
            usage = self.episode.usage
            tokens = f", {usage.total_tokens} tokens" if usage.total_tokens else ""
            reason = f": {d['reason']}" if d.get("reason") else ""
            self._line(f"{RULE} {d['state']} after {self.episode.turns} turns{tokens}{reason}")
