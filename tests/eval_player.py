"""A scripted "model" for ``codeact-lab eval``: a callable entry of the scripted server.

It reads the request the way a model would: the system prompt says the action mode, the
first user message is the task. Per mode it plays a fixed, different game, so the
comparison table has known numbers:

* code: runs the task's reference solution (the tools must be in the kernel), then
  answers with what it printed: solved in 2 turns;
* json: one valid tool call, a wrong answer (told "incorrect"), the right one: 3 turns;
* text: a call to a tool that does not exist, then the same call again and again: never
  answers, so it fails at the turn limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Reply = dict[str, Any]


def mode_of(system: str) -> str:
    if '"tool": "tool_name"' in system:
        return "json"
    if "tool_name, text, 3" in system:
        return "text"
    return "code"


def make_player(
    answers: dict[str, Any], code_for: Callable[[str], str], first_call: Callable[[str], str]
) -> Callable[[dict[str, Any]], Reply]:
    """``answers``: instruction -> expected answer; ``code_for(instruction)``: Python that
    prints the answer; ``first_call(instruction)``: one valid JSON tool call."""

    def play(body: dict[str, Any]) -> Reply:
        messages = body["messages"]
        mode = mode_of(messages[0]["content"])
        instruction = next(text for text in answers if messages[1]["content"].startswith(text))
        turn = sum(m["role"] == "assistant" for m in messages) + 1
        if mode == "json":
            if turn == 1:
                return {"text": f"<execute>{first_call(instruction)}</execute>"}
            answer = "wrong" if turn == 2 else answers[instruction]
            return {"text": f"<solution>{answer}</solution>"}
        if mode == "text":
            return {"text": "<execute>not_a_tool, 1</execute>"}
        if turn == 1:
            return {"text": f"Let me compute it.\n<execute>\n{code_for(instruction)}\n</execute>"}
        printed = messages[-1]["content"].removeprefix("Observation:\n").strip()
        return {"text": f"The answer is <solution>{printed}</solution>"}

    return play


def builtin_player() -> Callable[[dict[str, Any]], Reply]:
    from codeact_lab.evaluation.tasks import builtin_suite, reference_solution

    suite = {t.instruction: t for t in builtin_suite()}

    def first_call(instruction: str) -> str:
        hexa = re.search(r"'([0-9a-f]{6,})'", instruction)
        assert hexa, "the json game plays decoder tasks"
        return f'{{"tool": "from_hex", "args": ["{hexa.group(1)}"]}}'

    return make_player(
        {text: t.expected for text, t in suite.items()},
        lambda instruction: reference_solution(suite[instruction].id),
        first_call,
    )


def _text(content: Any) -> str:
    if isinstance(content, list):  # smolagents sends content as a list of parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def is_smolagents(body: dict[str, Any]) -> bool:
    return "code blobs" in _text(body["messages"][0]["content"])


def smolagents_player() -> Callable[[dict[str, Any]], Reply]:
    """The game for smolagents' CodeAgent on built-in tasks, in its own reply format: a
    wrong final_answer first (told "incorrect"), then the reference solution, then
    final_answer with what it printed: solved in 3 steps."""
    from codeact_lab.evaluation.tasks import builtin_suite, reference_solution

    suite = {t.instruction: t for t in builtin_suite()}

    def play(body: dict[str, Any]) -> Reply:
        messages = [(m["role"], _text(m.get("content"))) for m in body["messages"]]
        task = next(t for text, t in suite.items() if text in messages[1][1])
        turn = sum(role == "assistant" for role, _ in messages) + 1
        if turn == 1:
            return {"text": 'Thought: I know it.\n<code>\nfinal_answer("wrong")\n</code>'}
        if turn == 2:
            code = reference_solution(task.id)
            return {"text": f"Thought: Let me compute it.\n<code>\n{code}\n</code>"}
        logs = next(text for role, text in reversed(messages) if "Execution logs:" in text)
        printed = logs.split("Execution logs:\n", 1)[1].split("\nLast output", 1)[0].strip()
        return {"text": f"Thought: Done.\n<code>\nfinal_answer({printed!r})\n</code>"}

    return play
