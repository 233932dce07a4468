"""The three action modes the paper compares, on the same loop, tools and feedback.

Every mode wraps its action in ``<execute>…</execute>`` and its answer in
``<solution>…</solution>``; only the action's content differs:

* ``code``: Python, run as it is (the CodeAct loop; the product's own system prompt);
* ``json``: one ``{"tool": NAME, "args": [...]}`` object per turn;
* ``text``: one ``NAME, ARG1, ARG2`` line per turn (M3ToolEval's text actions).

JSON and text actions are translated into one Python call, ``print(NAME(ARGS))``, through
``Policy.translate_action``; a malformed one raises ValueError, which the loop tells the
model as an ``ActionFormatError``. Arguments become Python literals (``repr``), and the
name must be one of the task's tools, so a translated action can only call a tool.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..agent import PromptTemplate
from ..agent.answer_review import answer_form
from ..agent.prompts import PROMPT_VERSION, VERIFY_FIRST
from .suite import ToolSpec

JSON_SHAPE = '{"tool": "tool_name", "args": ["text", 3]}'
TEXT_SHAPE = "tool_name, text, 3"

JSON_PROMPT = """\
You are a helpful assistant who solves the user's task by calling tools, one call at a time.

Rules:
- To call a tool, write a JSON object with the tool's name and the list of its arguments \
between <execute> and </execute>, like <execute>{{"tool": "tool_name", "args": ["text", 3]}}</execute>.
- Call one tool per reply, then stop and wait: what the tool returns comes back to you as \
an Observation. Never write the Observation yourself.
- A call cannot contain another call: use what an Observation told you in your next call.
- As soon as you know the answer, give it between <solution> and </solution>. \
Do not call a tool again for something you already know.
{tools}{context}
Example, with tools add(a, b) and square(x):
User: What is the square of 3 + 4?
Assistant: First I add the numbers.
<execute>{{"tool": "add", "args": [3, 4]}}</execute>
Observation: 7
Assistant: Now I square the sum.
<execute>{{"tool": "square", "args": [7]}}</execute>
Observation: 49
Assistant: The square of 3 + 4 is 49.
<solution>49</solution>
"""

TEXT_PROMPT = """\
You are a helpful assistant who solves the user's task by calling tools, one call at a time.

Rules:
- To call a tool, write its name and then its arguments, separated by commas, between \
<execute> and </execute>, like <execute>tool_name, text, 3</execute>. Numbers are read as \
numbers; put an argument in quotes to keep it text.
- Call one tool per reply, then stop and wait: what the tool returns comes back to you as \
an Observation. Never write the Observation yourself.
- A call cannot contain another call: use what an Observation told you in your next call.
- As soon as you know the answer, give it between <solution> and </solution>. \
Do not call a tool again for something you already know.
{tools}{context}
Example, with tools add(a, b) and square(x):
User: What is the square of 3 + 4?
Assistant: First I add the numbers.
<execute>add, 3, 4</execute>
Observation: 7
Assistant: Now I square the sum.
<execute>square, 7</execute>
Observation: 49
Assistant: The square of 3 + 4 is 49.
<solution>49</solution>
"""

# Appended to every task's instruction, in every mode, with how that mode finds the answer
# ("by running code", "by calling the tools"). Without that first clause ("Give only the
# answer ..."), the embedded model answered 5 of the 32 tool tasks in its first reply, with
# no code; with it, none (prompt codeact-lab/9, one run each).
ANSWER_FORMAT = (
    "Find it {how}, then give only the answer (for example a single number, a name or a "
    "date) between <solution> and </solution>."
)
# ... unless the task states the answer's form: "only a number" would contradict it.
ANSWER_IN_STATED_FORM = (
    "Find it {how}, then give the answer in exactly the form the question states, every "
    "value in its place, between <solution> and </solution>."
)
BY_CODE = "by running code"
BY_TOOLS = "by calling the tools"


def task_text(instruction: str, how: str = BY_CODE) -> str:
    """The task as the model gets it: the instruction, how to find and give the answer."""
    instruction = instruction.strip()
    sentence = ANSWER_IN_STATED_FORM if answer_form(instruction) else ANSWER_FORMAT
    return f"{instruction}\n{sentence.format(how=how)}"


class ToolCallPrompt(PromptTemplate):
    """A prompt for tool calls: the tools are listed as tools, not as functions for code."""

    def render(self, tools: str = "", context: str = "") -> str:
        tools_part = f"\nTools you can call:\n{tools.strip()}\n" if tools else ""
        context_part = f"\nContext:\n{context.strip()}\n" if context else ""
        return self.text.format(tools=tools_part, context=context_part)


def describe(tools: Iterable[ToolSpec]) -> str:
    return "\n".join(
        f"- {tool.signature}: {tool.description}" if tool.description else f"- {tool.signature}"
        for tool in tools
    )


def call_code(name: str, args: list[Any], tools: frozenset[str]) -> str:
    """One tool call as Python that prints what the tool returns."""
    if name not in tools:
        known = ", ".join(sorted(tools))
        raise ValueError(f"there is no tool {name!r}; the tools are: {known}")
    return f"print({name}({', '.join(repr(arg) for arg in args)}))"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not an argument a tool takes")


def json_action(content: str, tools: frozenset[str]) -> str:
    try:
        call = json.loads(content, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"the action is not JSON ({err.msg} at character {err.pos}); "
            f"write one call as {JSON_SHAPE}"
        ) from None
    if not isinstance(call, dict) or not isinstance(call.get("tool"), str):
        raise ValueError(f"the action must be one JSON object like {JSON_SHAPE}")
    args = call.get("args", [])
    return call_code(call["tool"].strip(), args if isinstance(args, list) else [args], tools)


def _text_value(part: str) -> Any:
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
        return part[1:-1]
    for kind in (int, float):  # as M3ToolEval reads text arguments
        try:
            return kind(part)
        except ValueError:
            pass
    return part


def text_action(content: str, tools: frozenset[str]) -> str:
    text = content.strip()
    if not text or "\n" in text:
        raise ValueError(
            f"write one call on one line: the tool's name, then its arguments, like {TEXT_SHAPE}"
        )
    name, *raw = (part.strip() for part in text.split(","))
    if raw == [""]:  # "view," : no arguments
        raw = []
    return call_code(name, [_text_value(part) for part in raw], tools)


# Every task of a suite needs its tools: an answer with no successful action is sent back
# once (answer_review.py), in each mode's own words.
TOOL_CALL_VERIFY = (
    "You answered without calling any tool. Find the answer with the tools first: call "
    "the tool you need, then give the answer from what it returned."
)


@dataclass(frozen=True)
class ActionMode:
    name: str
    prompt: PromptTemplate
    # None: the action is Python. Otherwise (content, tool names) -> Python, or ValueError.
    translate: Callable[[str, frozenset[str]], str] | None = None
    actions_per_reply: int = 5  # json and text: one call per turn, as in the paper
    verify_note: str = VERIFY_FIRST
    code_answers: bool = True  # final_answer() in the kernel (code mode only: a JSON or
    # text action can only call a tool)
    finds_it: str = BY_CODE  # how the task's text says to find the answer

    def task_text(self, instruction: str) -> str:
        return task_text(instruction, self.finds_it)

    def translator(self, tools: frozenset[str]) -> Callable[[str], str] | None:
        translate = self.translate
        if translate is None:
            return None
        return lambda content: translate(content, tools)


MODES = {
    "code": ActionMode("code", PromptTemplate()),
    "json": ActionMode(
        "json",
        ToolCallPrompt(JSON_PROMPT, f"{PROMPT_VERSION}+eval-json"),
        json_action,
        1,
        TOOL_CALL_VERIFY,
        code_answers=False,
        finds_it=BY_TOOLS,
    ),
    "text": ActionMode(
        "text",
        ToolCallPrompt(TEXT_PROMPT, f"{PROMPT_VERSION}+eval-text"),
        text_action,
        1,
        TOOL_CALL_VERIFY,
        code_answers=False,
        finds_it=BY_TOOLS,
    ),
}


def parse_modes(value: str) -> list[ActionMode]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODES]
    if unknown or not names:
        raise ValueError(
            f"unknown mode(s) {', '.join(unknown) or value!r}; choose from code, json, text"
        )
    return [MODES[name] for name in dict.fromkeys(names)]
