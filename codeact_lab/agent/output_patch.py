"""Live output as patches: what changed since the last OUTPUT event, not the whole so far.

An action that prints 1 MB over 10 s used to send its whole output every 50 ms
(hundreds of megabytes on the socket, every snapshot kept for reconnecting
clients). A patch says where the outputs first differ from what the client has:

    {"from": i, "append": "...", "outputs": [...]}

means: keep the first ``i`` outputs; if ``append`` is there, output ``i`` is a
stream that grew by that text, and ``outputs`` come after it; otherwise
``outputs`` replace everything from ``i`` on. A patch without ``from`` is the
whole list (``from`` 0), so a snapshot is a patch too. The sum of all patches
of a growing stream is the stream itself.
"""

from __future__ import annotations

import copy
from typing import Any

Output = dict[str, Any]
TAIL = 256


class OutputTracker:
    """What the live view already has of one action's outputs.

    The kernel executor's collector grows a stream by rebinding ``text`` on the same
    dict and replaces ``data`` on ``update_display_data``; ``clear_output`` makes new
    dicts. So (dict, its data, its text length) tells what changed without comparing
    contents. The dicts are held, so their ids cannot be reused meanwhile.
    """

    def __init__(self) -> None:
        self._marks: list[tuple[Output, Any, int, str]] = []

    @staticmethod
    def _mark(output: Output) -> tuple[Output, Any, int, str]:
        text = output.get("text")
        if not isinstance(text, str):
            return output, output.get("data"), -1, ""
        # The tail tells a pure append from a rewrite (a secret redacted across two writes).
        return output, output.get("data"), len(text), text[-TAIL:]

    def patch(self, outputs: list[Output]) -> dict[str, Any] | None:
        """The patch from what was sent to ``outputs`` (None: nothing changed)."""
        marks = self._marks
        same = 0
        for (held, data, length, _), output in zip(marks, outputs, strict=False):
            text = output.get("text")
            now = len(text) if isinstance(text, str) else -1
            if held is not output or data is not output.get("data") or length != now:
                break
            same += 1
        if same == len(marks) == len(outputs):
            return None
        patch: dict[str, Any] = {"from": same}
        rest = same
        if same < len(marks) and same < len(outputs):
            held, _, length, tail = marks[same]
            new = outputs[same]
            text = new.get("text")
            grew = (
                held is new
                and new.get("output_type") == "stream"
                and isinstance(text, str)
                and 0 <= length < len(text)
                and text[max(0, length - len(tail)) : length] == tail
            )
            if grew:
                assert isinstance(text, str)
                patch["append"] = text[length:]
                rest = same + 1
        # Copies: the collector goes on changing the outputs it holds.
        patch["outputs"] = copy.deepcopy(outputs[rest:])
        self._marks = [self._mark(o) for o in outputs]
        return patch


def apply_patch(outputs: list[Output], patch: dict[str, Any]) -> list[Output]:
    """The outputs after ``patch`` (a new list; ``outputs`` is not changed)."""
    start = int(patch.get("from", 0))
    result = list(outputs[:start])
    append = patch.get("append")
    if append is not None and start < len(outputs):
        grown = dict(outputs[start])
        grown["text"] = str(grown.get("text", "")) + append
        result.append(grown)
    result.extend(patch.get("outputs", []))
    return result


def diff_outputs(old: list[Output], new: list[Output]) -> dict[str, Any]:
    """The patch from ``old`` to ``new`` by content (once per action, when it finishes:
    the live view has ``old`` and needs only what the last patches did not carry)."""
    same = 0
    for before, after in zip(old, new, strict=False):
        if before != after:
            break
        same += 1
    patch: dict[str, Any] = {"from": same}
    rest = same
    if same < len(old) and same < len(new):
        before, after = old[same], new[same]
        text, prefix = after.get("text"), before.get("text")
        if (
            after.get("output_type") == "stream" == before.get("output_type")
            and after.get("name") == before.get("name")
            and isinstance(text, str)
            and isinstance(prefix, str)
            and text.startswith(prefix)
        ):
            patch["append"] = text[len(prefix) :]
            rest = same + 1
    patch["outputs"] = list(new[rest:])
    return patch
