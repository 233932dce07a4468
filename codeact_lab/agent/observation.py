"""Turn an action's kernel outputs into what the model reads.

Outputs are nbformat v4 output dicts (the same objects the notebook cell holds).
The text is cut head-and-tail when long (the CodeAct chat UI keeps the first and
last halves of its limit), with the number of characters cut stated, so prompt
size stays bounded whatever the code prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .episode import ActionStatus
from .prompts import KERNEL_RESTARTED

# CSI sequences (colours, cursor moves) and OSC sequences (hyperlinks, titles).
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")

# A traceback frame in installed or standard-library code, as IPython heads it.
_LIBRARY_FRAME = re.compile(
    r"^File \S*?[/\\](?:(?:site|dist)-packages[/\\](?P<package>[A-Za-z0-9_.-]+)"
    r"|lib[/\\]python3[.\d]*[/\\](?!(?:site|dist)-packages))"
)
LIBRARY_FRAMES = "[... {count} {frames} inside {where} not shown ...]"

NO_OUTPUT = "[Code executed successfully with no output]"
IMAGE_PLACEHOLDER = "[image: {mime}, shown to the user]"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def truncate_middle(text: str, limit: int) -> str:
    """Keep the first and last ``limit // 2`` characters, saying how many were cut."""
    if limit <= 0 or len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} characters cut ...]\n{text[-tail:]}"


def traceback_text(lines: Iterable[Any]) -> str:
    """An IPython traceback (one frame per entry) as the model reads it: the frames of
    the user's and the model's code, and the error; each run of frames inside installed
    packages or the standard library is one line. Those frames (pandas' read_csv alone
    has five) bury the line that failed and the error under a page of signatures."""
    kept: list[str] = []
    run: list[str] = []  # the packages of the library frames not yet written

    def close_run() -> None:
        if run:
            names = list(dict.fromkeys(run))
            where = " and ".join(names) if len(names) <= 2 else "libraries"
            frames = "frame" if len(run) == 1 else "frames"
            kept.append(LIBRARY_FRAMES.format(count=len(run), frames=frames, where=where))
            run.clear()

    for line in lines:
        text = strip_ansi(_joined(line))
        library = _LIBRARY_FRAME.match(text)
        if library:
            run.append(library.group("package") or "the standard library")
            continue
        close_run()
        kept.append(text)
    close_run()
    return "\n".join(kept)


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


@dataclass
class ObservationContent:
    text: str
    images: list[str] = field(default_factory=list)  # base64 PNG / JPEG data


def render_outputs(
    outputs: Iterable[Mapping[str, Any]], *, vision: bool = False
) -> ObservationContent:
    """The outputs as plain text, in order; images as placeholders (and data when ``vision``)."""
    parts: list[str] = []
    images: list[str] = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            parts.append(_joined(out.get("text")))
        elif kind == "error":
            tb = out.get("traceback") or []
            text = traceback_text(tb) if isinstance(tb, list) else _joined(tb)
            parts.append(text or f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")
        elif kind in ("execute_result", "display_data"):
            data = out.get("data") or {}
            for mime in ("image/png", "image/jpeg"):
                if mime in data:
                    parts.append(IMAGE_PLACEHOLDER.format(mime=mime))
                    if vision:
                        images.append(_joined(data[mime]).replace("\n", ""))
                    break
            else:
                if "text/plain" in data:
                    parts.append(_joined(data["text/plain"]))
                elif "text/markdown" in data:
                    parts.append(_joined(data["text/markdown"]))
                elif data:
                    parts.append(f"[display: {', '.join(sorted(data))}]")
        if parts and not parts[-1].endswith("\n"):
            parts[-1] += "\n"
    return ObservationContent(strip_ansi("".join(parts)).rstrip("\n"), images)


def status_note(status: ActionStatus, timeout: float | None = None) -> str:
    if status is ActionStatus.TIMEOUT:
        return (
            f"[Execution timed out after {timeout:g} s and was interrupted. "
            "Make the code faster, or work on a smaller piece at a time.]"
        )
    if status is ActionStatus.DEAD:
        return (
            "[The kernel died while running this code (out of memory or a crash). "
            "Its state is lost.]"
        )
    if status is ActionStatus.INTERRUPTED:
        return "[Execution was interrupted.]"
    if status is ActionStatus.RESTARTED:
        return KERNEL_RESTARTED
    return ""


def format_observation(
    outputs: Iterable[Mapping[str, Any]],
    status: ActionStatus,
    *,
    max_chars: int = 4000,
    vision: bool = False,
    timeout: float | None = None,
) -> ObservationContent:
    """The observation for one action: its outputs (cut when long) and a note on its status."""
    content = render_outputs(outputs, vision=vision)
    text = truncate_middle(content.text, max_chars)
    note = status_note(status, timeout)
    if not text and not note:
        text = NO_OUTPUT if status is ActionStatus.OK else ""
    content.text = "\n".join(part for part in (text, note) if part)
    return content
