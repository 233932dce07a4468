"""Parse a model reply into CodeAct actions and an answer.

Rules (the CodeAct convention plus what real models do):

* ``<execute>CODE</execute>``: a code action. Several blocks in one reply all run,
  in order; if one fails the rest are skipped and the model is told so (the
  loop does that, the parser only lists them).
* ``<solution>ANSWER</solution>``: the final answer.
* An unclosed ``<execute>`` (the server stripped the ``</execute>`` stop string,
  or the reply was cut off) yields the code up to the end of the reply, marked
  ``unclosed`` so the loop can tell a clean stop from a truncation.
* An unclosed ``<solution>`` yields the answer up to the end of the reply.
* No ``<execute>`` at all but a fenced ```` ```python ```` block: each such
  fence is an action of format ``"fence"`` and the model is reminded of the tags.
* Neither: the model is talking to the user, and the turn ends.

Tags are matched case-insensitively. The parser never raises.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

_EXECUTE_OPEN = re.compile(r"<execute>", re.IGNORECASE)
_EXECUTE_CLOSE = re.compile(r"</execute>", re.IGNORECASE)
_SOLUTION = re.compile(r"<solution>(.*?)(?:</solution>|\Z)", re.IGNORECASE | re.DOTALL)
# ```python / ```py / ```python3 / ```ipython fences (a bare ``` is too often not code).
_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?:python3?|py|ipython)[ \t]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)",
    re.IGNORECASE | re.DOTALL | re.MULTILINE,
)


@dataclass
class ParsedAction:
    code: str
    format: str = "tag"  # "tag" (<execute>) or "fence" (```python)
    unclosed: bool = False  # no closing tag / fence before the end of the reply
    start: int = 0  # offset of the action in the reply


@dataclass
class ParsedReply:
    actions: list[ParsedAction] = field(default_factory=list)
    solution: str | None = None
    prose: str = ""  # the reply without actions and solution
    solution_start: int | None = None  # offset of the <solution> in the reply

    @property
    def used_fence(self) -> bool:
        return any(a.format == "fence" for a in self.actions)

    @property
    def answers_before_acting(self) -> bool:
        """A <solution> written before the reply's first action: before any output of it."""
        return (
            self.solution_start is not None
            and bool(self.actions)
            and self.solution_start < self.actions[0].start
        )


def _execute_blocks(text: str) -> list[ParsedAction]:
    actions = []
    pos = 0
    while True:
        opened = _EXECUTE_OPEN.search(text, pos)
        if opened is None:
            break
        closed = _EXECUTE_CLOSE.search(text, opened.end())
        # A second <execute> before the close means this one was never closed.
        reopened = _EXECUTE_OPEN.search(text, opened.end())
        if closed is not None and (reopened is None or reopened.start() > closed.start()):
            code, pos, unclosed = text[opened.end() : closed.start()], closed.end(), False
        else:
            end = reopened.start() if reopened is not None else len(text)
            code, pos, unclosed = text[opened.end() : end], end, True
        code = _clean_code(code)
        if code.strip():
            actions.append(ParsedAction(code, "tag", unclosed, opened.start()))
    return actions


def _clean_code(code: str) -> str:
    """Trim blank edges and dedent; drop a ``` fence that models often put inside <execute>."""
    # split("\n"), not splitlines(): \x0c, \x85 or \u2028 in a string literal are code.
    lines = code.replace("\r\n", "\n").strip("\r\n").split("\n")
    if lines and lines[0].strip().startswith("```"):
        lines = lines[1:]
        if lines and lines[-1].strip() == "```":
            lines = lines[:-1]
    code = textwrap.dedent("\n".join(lines))
    first, _, rest = code.partition("\n")
    if first[:1].isspace() and not any(line[:1].isspace() for line in rest.splitlines()):
        code = first.lstrip() + ("\n" + rest if rest else "")  # "<execute> x = 1\ny = 2"
    return code.strip("\n").rstrip()


def _fence_blocks(text: str) -> list[ParsedAction]:
    actions = []
    for m in _FENCE.finditer(text):
        code = _clean_code(m.group(1))
        if code.strip():
            unclosed = not m.group(0).rstrip().endswith("```")
            actions.append(ParsedAction(code, "fence", unclosed, m.start()))
    return actions


def _opens_around_an_action(solution: re.Match[str]) -> bool:
    """A <solution> never closed, around a whole <execute> block: small models open it for
    their reasoning and then write the action in it; the reply is code to run, not an answer."""
    if solution.group(0).rstrip().lower().endswith("</solution>"):
        return False
    inner = solution.group(1)
    opened = _EXECUTE_OPEN.search(inner)
    return opened is not None and _EXECUTE_CLOSE.search(inner, opened.end()) is not None


def parse_reply(text: str) -> ParsedReply:
    reply = ParsedReply()
    if not isinstance(text, str) or not text:
        return reply

    solution = _SOLUTION.search(text)
    if solution and _opens_around_an_action(solution):
        text = text[: solution.start()] + text[solution.start(1) :]  # the tag alone goes
        solution = None
    # Actions inside the solution are part of the answer, not to be run.
    body = text[: solution.start()] + text[solution.end() :] if solution else text
    offset_shift = (solution.end() - solution.start()) if solution else 0

    actions = _execute_blocks(body)
    if not actions:
        actions = _fence_blocks(body)
    if solution:
        reply.solution = solution.group(1).strip()
        reply.solution_start = solution.start()
        for a in actions:  # map offsets back to the original text
            if a.start >= solution.start():
                a.start += offset_shift
    reply.actions = actions

    prose = _SOLUTION.sub("", text)
    prose = re.sub(r"<execute>.*?(?:</execute>|\Z)", "", prose, flags=re.IGNORECASE | re.DOTALL)
    if reply.used_fence:
        prose = _FENCE.sub("", prose)
    reply.prose = prose.strip()
    return reply
