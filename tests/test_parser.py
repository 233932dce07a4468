"""The reply parser: every rule of parser.py's docstring, plus property tests."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codeact_lab.agent.parser import ParsedReply, parse_reply

# ---------------------------------------------------------------------------
# <execute> blocks
# ---------------------------------------------------------------------------


def test_single_execute_block():
    reply = parse_reply("Let me compute it.\n<execute>\nprint(1 + 1)\n</execute>")
    assert [a.code for a in reply.actions] == ["print(1 + 1)"]
    action = reply.actions[0]
    assert action.format == "tag"
    assert action.unclosed is False
    assert action.start == len("Let me compute it.\n")
    assert reply.solution is None
    assert reply.prose == "Let me compute it."
    assert reply.used_fence is False


def test_multiple_execute_blocks_in_order():
    text = (
        "First:\n<execute>\na = 1\n</execute>\n"
        "Then:\n<execute>\nb = a + 1\nprint(b)\n</execute>\n"
        "And last <execute>c = 3</execute>"
    )
    reply = parse_reply(text)
    assert [a.code for a in reply.actions] == ["a = 1", "b = a + 1\nprint(b)", "c = 3"]
    assert all(a.format == "tag" and not a.unclosed for a in reply.actions)
    starts = [a.start for a in reply.actions]
    assert starts == sorted(starts)
    assert starts == [m.start() for m in re.finditer("<execute>", text)]
    assert "a = 1" not in reply.prose and "print(b)" not in reply.prose
    assert "First:" in reply.prose and "Then:" in reply.prose and "And last" in reply.prose


def test_tags_are_case_insensitive():
    reply = parse_reply("<EXECUTE>x = 1</Execute> and <ExEcUtE>\ny = 2\n</EXECUTE>")
    assert [a.code for a in reply.actions] == ["x = 1", "y = 2"]
    assert not any(a.unclosed for a in reply.actions)
    reply = parse_reply("<SOLUTION>42</Solution>")
    assert reply.solution == "42"


def test_python_fence_inside_execute_is_stripped():
    reply = parse_reply("<execute>\n```python\nx = 1\nprint(x)\n```\n</execute>")
    assert [a.code for a in reply.actions] == ["x = 1\nprint(x)"]
    assert reply.actions[0].format == "tag"
    # A bare fence inside the tags is dropped the same way.
    reply = parse_reply("<execute>\n```\ny = 2\n```\n</execute>")
    assert [a.code for a in reply.actions] == ["y = 2"]


def test_execute_code_is_dedented():
    reply = parse_reply("<execute>\n    for i in range(2):\n        print(i)\n</execute>")
    assert reply.actions[0].code == "for i in range(2):\n    print(i)"
    # Code starting on the tag's line after a space.
    reply = parse_reply("<execute> x = 1\ny = 2</execute>")
    assert reply.actions[0].code == "x = 1\ny = 2"


def test_crlf_line_ends_are_normalised():
    reply = parse_reply("<execute>\r\nx = 1\r\nif x:\r\n    print(x)\r\n</execute>")
    assert reply.actions[0].code == "x = 1\nif x:\n    print(x)"


def test_unicode_line_separators_inside_code_are_kept():
    # Regression: str.splitlines() split on \x0c, \x85, \u2028..., rewriting string literals.
    for sep in ("\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"):
        code = f"s = 'a{sep}b'\nprint(len(s))"
        reply = parse_reply(f"<execute>\n{code}\n</execute>")
        assert [a.code for a in reply.actions] == [code], repr(sep)


def test_unclosed_execute_runs_to_end_and_is_marked():
    reply = parse_reply("I will run:\n<execute>\nimport math\nprint(math.pi)\n")
    assert len(reply.actions) == 1
    action = reply.actions[0]
    assert action.code == "import math\nprint(math.pi)"
    assert action.unclosed is True
    assert action.format == "tag"
    assert reply.prose == "I will run:"


def test_execute_reopened_before_close_marks_first_unclosed():
    reply = parse_reply("<execute>a = 1\n<execute>b = 2</execute>")
    assert [(a.code, a.unclosed) for a in reply.actions] == [("a = 1", True), ("b = 2", False)]


def test_empty_execute_block_is_not_an_action():
    assert parse_reply("<execute>\n   \n</execute>").actions == []
    assert parse_reply("<execute></execute> hello").actions == []


# ---------------------------------------------------------------------------
# <solution>
# ---------------------------------------------------------------------------


def test_closed_solution():
    reply = parse_reply("The answer is ready.\n<solution>\n  42  \n</solution>\nBye.")
    assert reply.solution == "42"
    assert reply.actions == []
    assert "42" not in reply.prose
    assert reply.prose.startswith("The answer is ready.") and reply.prose.endswith("Bye.")


def test_unclosed_solution_runs_to_end():
    reply = parse_reply("Done. <solution>The mean is 3.5\nand the max is 9")
    assert reply.solution == "The mean is 3.5\nand the max is 9"
    assert reply.prose == "Done."


def test_execute_inside_solution_is_not_an_action():
    text = "<solution>Run <execute>print('hi')</execute> yourself.</solution>"
    reply = parse_reply(text)
    assert reply.actions == []
    assert reply.solution == "Run <execute>print('hi')</execute> yourself."
    # And a python fence inside the solution is not a fence action either.
    reply = parse_reply("<solution>Use this:\n```python\nprint(2)\n```\n</solution>")
    assert reply.actions == []
    assert "print(2)" in reply.solution


def test_an_unclosed_solution_around_a_whole_action_is_the_action():
    """Small models open <solution> for their reasoning, then write the action in it and
    never close it: that reply is prose and code to run, not an answer."""
    text = (
        "<solution>There is no column 'value'; I use 'price'.\n"
        "<execute>\nprint(df['price'].mean())\n</execute>"
    )
    reply = parse_reply(text)
    assert reply.solution is None
    assert [a.code for a in reply.actions] == ["print(df['price'].mean())"]
    assert reply.prose == "There is no column 'value'; I use 'price'."
    # closed, it stays what it says it is: an answer that shows code
    closed = parse_reply(text + "</solution>")
    assert closed.actions == [] and "<execute>" in (closed.solution or "")


def test_action_after_solution_keeps_its_offset_in_the_reply():
    text = "<solution>s</solution> then <execute>b = 2</execute>"
    reply = parse_reply(text)
    assert [a.code for a in reply.actions] == ["b = 2"]
    assert reply.actions[0].start == text.index("<execute>")


def test_actions_and_a_solution_in_one_reply_are_all_kept():
    # The loop runs the actions, then reviews the answer against what they did.
    reply = parse_reply("<execute>x = 1</execute>\n<solution>2</solution>")
    assert [a.code for a in reply.actions] == ["x = 1"] and reply.solution == "2"
    reply = parse_reply("<solution>2</solution>\n<execute>x = 1</execute>")
    assert [a.code for a in reply.actions] == ["x = 1"] and reply.solution == "2"
    text = "<execute>a</execute>x<solution>s</solution>y<execute>b</execute>"
    reply = parse_reply(text)
    assert [a.code for a in reply.actions] == ["a", "b"] and reply.solution == "s"


# ---------------------------------------------------------------------------
# Fenced blocks
# ---------------------------------------------------------------------------


def test_python_and_py_fences_are_fence_actions_without_execute():
    text = "Try this:\n```python\na = 1\n```\nthen\n```py\nb = 2\n```\nok"
    reply = parse_reply(text)
    assert [a.code for a in reply.actions] == ["a = 1", "b = 2"]
    assert [a.format for a in reply.actions] == ["fence", "fence"]
    assert not any(a.unclosed for a in reply.actions)
    assert reply.used_fence is True
    assert reply.actions[0].start == text.index("```python")
    assert reply.actions[1].start == text.index("```py\n")
    assert "a = 1" not in reply.prose and "b = 2" not in reply.prose
    assert "Try this:" in reply.prose and "then" in reply.prose


def test_fence_language_is_case_insensitive_and_python3_accepted():
    reply = parse_reply("```Python\nx = 1\n```\n```python3\ny = 2\n```")
    assert [(a.code, a.format) for a in reply.actions] == [("x = 1", "fence"), ("y = 2", "fence")]


def test_unclosed_fence_is_marked():
    reply = parse_reply("```python\nx = 1\nprint(x)")
    assert [(a.code, a.format, a.unclosed) for a in reply.actions] == [
        ("x = 1\nprint(x)", "fence", True)
    ]


def test_fences_ignored_when_execute_present():
    text = "<execute>x = 1</execute>\n```python\ny = 2\n```"
    reply = parse_reply(text)
    assert [(a.code, a.format) for a in reply.actions] == [("x = 1", "tag")]
    assert reply.used_fence is False
    assert "y = 2" in reply.prose  # the fence stays part of the prose


def test_bare_fence_is_not_code():
    text = "Here is the output format:\n```\na = 1\n```"
    reply = parse_reply(text)
    assert reply.actions == []
    assert reply.used_fence is False
    assert reply.prose == text
    # Another language is not Python either.
    assert parse_reply("```bash\nls -la\n```").actions == []


# ---------------------------------------------------------------------------
# Prose and degenerate input
# ---------------------------------------------------------------------------


def test_plain_prose_has_no_actions_and_no_solution():
    text = "  The file has 3 columns; shall I plot them?  "
    reply = parse_reply(text)
    assert reply.actions == []
    assert reply.solution is None
    assert reply.prose == text.strip()


def test_empty_and_non_string_input():
    for value in ("", None, 42, b"<execute>x</execute>"):
        reply = parse_reply(value)  # type: ignore[arg-type]
        assert isinstance(reply, ParsedReply)
        assert reply.actions == [] and reply.solution is None and reply.prose == ""


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

VOCAB = [
    "<execute>",
    "</execute>",
    "<solution>",
    "</solution>",
    "```python\n",
    "```",
    "\n",
    "print(1)",
    " ",
    "x",
]
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_reply(reply: ParsedReply, text: str) -> None:
    assert isinstance(reply, ParsedReply)
    for action in reply.actions:
        assert isinstance(action.code, str)
        assert action.code.strip() != ""
        assert action.format in ("tag", "fence")
        assert 0 <= action.start < len(text)
    starts = [a.start for a in reply.actions]
    assert starts == sorted(starts)
    assert reply.solution is None or isinstance(reply.solution, str)
    assert isinstance(reply.prose, str)


@PROPERTY
@given(st.lists(st.sampled_from(VOCAB), max_size=40).map("".join))
def test_parse_never_raises_on_tag_soup(text):
    _check_reply(parse_reply(text), text)


@PROPERTY
@given(st.text(max_size=300))
def test_parse_never_raises_on_arbitrary_text(text):
    _check_reply(parse_reply(text), text)


def _no_tags(code: str) -> bool:
    lower = code.lower()
    return "<execute>" not in lower and "</execute>" not in lower and "<solution>" not in lower


# Lines of code: empty, or holding a non-whitespace character (whitespace-only lines are
# normalised to empty lines by the dedent, which is fine but not a byte-exact round trip).
# "\r" is left out: CRLF line ends are normalised to "\n" (tested by example below).
_line = st.text(st.characters(exclude_characters="\r\n"), max_size=30).filter(
    lambda line: line == "" or line.strip() != ""
)
_first_line = st.text(st.characters(exclude_characters="\r\n"), min_size=1, max_size=30).filter(
    lambda line: not line[0].isspace() and not line.startswith("```")
)
_code = st.builds(
    lambda first, rest: "\n".join([first, *rest]), _first_line, st.lists(_line, max_size=6)
).filter(_no_tags)


@PROPERTY
@given(
    _code,
    st.sampled_from(["", "\n", " \n", "\n\n", "\t\n  \n", "\r\n"]),
    st.sampled_from(["", "\n", "  ", " \n  ", "\n\n"]),
    st.sampled_from(["", "Sure.\n", "Step 1: "]),
)
def test_execute_round_trips_code(body, lead, trail, before):
    code = lead + body + trail
    assert code.strip()
    reply = parse_reply(f"{before}<execute>{code}</execute>")
    assert [a.code for a in reply.actions] == [code.strip()]
    assert reply.actions[0].format == "tag"
    assert reply.actions[0].unclosed is False
    assert reply.actions[0].start == len(before)


@PROPERTY
@given(st.text(max_size=200).filter(lambda c: c.strip() != "" and _no_tags(c)))
def test_execute_round_trips_any_single_line_code(code):
    """A one-line action (no line breaks in it at all) comes back exactly, stripped."""
    code = code.replace("\n", " ").replace("\r", " ")
    if not code.strip() or code.strip().startswith("```"):
        return
    reply = parse_reply(f"<execute>{code}</execute>")
    assert [a.code for a in reply.actions] == [code.strip()]
