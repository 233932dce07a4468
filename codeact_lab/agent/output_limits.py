"""One cap for every kind of output an action makes, applied where outputs are made.

Whatever is kept here is what the record, the store, the notebook and the browser
hold, so a 5 MB ``execute_result`` or a 50 MB plot costs its cap everywhere, not
its size. Streams keep their head (what was printed first, as a terminal's
scrollback would lose the rest); a rich text (an HTML table, a repr, a traceback)
keeps its head and tail with a note of what was cut; an image over the size limit
is replaced by a note.
"""

from __future__ import annotations

import json
from typing import Any

TRUNCATION_NOTE = "\n[... {cut} more characters of output were not kept ...]\n"
CUT_NOTE = "\n[... {cut:,} characters cut ...]\n"
IMAGE_NOTE = "[{mime} of {size:,} bytes not kept: over the {limit:,}-byte limit]"
MIN_ROOM = 200  # a rich output always keeps this much, even after a huge stream


def cut_middle(text: str, keep: int) -> tuple[str, int]:
    """``text`` cut to about ``keep`` characters, head and tail kept; and how many were cut."""
    if len(text) <= keep:
        return text, 0
    head = keep * 2 // 3
    tail = keep - head
    cut = len(text) - head - tail
    return text[:head] + CUT_NOTE.format(cut=cut) + (text[-tail:] if tail else ""), cut


def _is_image(mime: str) -> bool:
    return mime.startswith("image/") and mime != "image/svg+xml"


class OutputBudget:
    """The characters one action may keep, shared by all its outputs."""

    def __init__(self, max_chars: int, max_image_bytes: int) -> None:
        self.max_chars = max_chars
        self.max_image_bytes = max_image_bytes
        self.kept = 0
        self.cut = 0

    @property
    def room(self) -> int:
        return max(0, self.max_chars - self.kept)

    def reset(self) -> None:
        """After ``clear_output``: what was kept is gone, so is its cost."""
        self.kept = 0

    def stream(self, text: str) -> str:
        """The part of a stream write that fits (its head)."""
        room = self.room
        if len(text) > room:
            self.cut += len(text) - room
            text = text[:room]
        self.kept += len(text)
        return text

    def rich(self, output: dict[str, Any]) -> dict[str, Any]:
        """A display_data / execute_result / error output within the budget (a copy if cut)."""
        room = max(self.room, MIN_ROOM)
        if output.get("output_type") == "error":
            return self._error(output, room)
        data = output.get("data")
        if not isinstance(data, dict):
            return output
        kept_data, largest = {}, 0
        for mime, value in data.items():
            value, size = self._mime(mime, value, room)
            kept_data[mime] = value
            largest = max(largest, size)
        self.kept += largest  # the mimetypes are alternatives: one of them is shown
        return {**output, "data": kept_data}

    def _mime(self, mime: str, value: Any, room: int) -> tuple[Any, int]:
        if _is_image(mime):
            size = len(value) if isinstance(value, str) else len(json.dumps(value))
            if size > self.max_image_bytes:
                self.cut += size
                note = IMAGE_NOTE.format(mime=mime, size=size, limit=self.max_image_bytes)
                return note, len(note)
            return value, 0  # images count against their own limit, not the text budget
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "".join(value)  # nbformat's multiline form
        if isinstance(value, str):
            text, cut = cut_middle(value, room)
            self.cut += cut
            return text, len(text)
        size = len(json.dumps(value, default=str))
        if size > room:  # a JSON document too big to keep: say so instead
            self.cut += size
            note = f"[{mime} of {size:,} characters not kept: over the output limit]"
            return note, len(note)
        return value, size

    def _error(self, output: dict[str, Any], room: int) -> dict[str, Any]:
        evalue, cut = cut_middle(str(output.get("evalue", "")), max(MIN_ROOM, room // 4))
        self.cut += cut
        frames = [str(line) for line in output.get("traceback", [])]
        total = sum(len(f) for f in frames)
        if total > room and frames:
            # Keep the first frame (where it started) and the last ones (where it broke).
            kept_tail: list[str] = []
            left = room - len(frames[0])
            for frame in reversed(frames[1:]):
                if len(frame) > left:
                    break
                kept_tail.insert(0, frame)
                left -= len(frame)
            dropped = frames[1 : len(frames) - len(kept_tail)]
            cut_chars = sum(len(f) for f in dropped)
            if not kept_tail and len(frames) > 1:  # the last frame (the error line) alone is huge
                last, last_cut = cut_middle(frames[-1], max(MIN_ROOM, room // 2))
                kept_tail, cut_chars = [last], cut_chars - len(frames[-1]) + last_cut
            first, first_cut = cut_middle(frames[0], max(MIN_ROOM, room // 2))
            self.cut += cut_chars + first_cut
            frames = [first, CUT_NOTE.format(cut=cut_chars + first_cut).strip(), *kept_tail]
        self.kept += len(evalue) + sum(len(f) for f in frames)
        return {**output, "evalue": evalue, "traceback": frames}


def limit_outputs(
    outputs: list[dict[str, Any]], max_chars: int, max_image_bytes: int
) -> tuple[list[dict[str, Any]], bool]:
    """A finished list of outputs (an in-process run's) under the same cap as the kernel's."""
    budget = OutputBudget(max_chars, max_image_bytes)
    kept: list[dict[str, Any]] = []
    for output in outputs:
        if output.get("output_type") == "stream":
            text = budget.stream(str(output.get("text", "")))
            if text:
                kept.append({**output, "text": text})
        else:
            kept.append(budget.rich(output))
    if budget.cut:
        kept.append(
            {
                "output_type": "stream",
                "name": "stderr",
                "text": TRUNCATION_NOTE.format(cut=budget.cut),
            }
        )
    return kept, budget.cut > 0
