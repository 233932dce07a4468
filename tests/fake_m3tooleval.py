"""A tiny stand-in for a checkout of the CodeAct repository's M3ToolEval suite.

It has the layout and the interfaces ``codeact_lab.evaluation.m3tooleval`` documents
(``scripts/eval/m3tooleval/tasks/`` with ``base.py``, a namespace ``impl`` of domains
that register their tasks on import, ``ToolType`` tuples, tools as a mapping or as a
factory, ``Task.check_answer``), with two toy domains written here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

BASE = """
from collections import namedtuple

ToolType = namedtuple("ToolType", ["name", "description", "function", "fn_signature"])
task_iterators = []


class Task:
    def __init__(self, name, tools, instruction, expected_output, is_single_tool_task=True):
        self.name = name
        self.tools = tools
        self.instruction = instruction
        self.expected_output = expected_output
        self.is_single_tool_task = is_single_tool_task
        print("=" * 30, "Task:", name)  # the real suite prints every task it makes
        self.reset()

    def reset(self):
        if callable(self.tools):
            self.tools = self.tools()

    def check_answer(self, answer):
        try:
            return int(answer) == int(self.expected_output)
        except (TypeError, ValueError):
            return str(answer).strip() == str(self.expected_output)


def register_task_iterator(task_iter, length):
    task_iterators.append((task_iter, length))
"""

DECODER = """
from ..base import Task, ToolType, register_task_iterator


def reverse_string(s):
    return s[::-1]


def string_length(s):
    return len(s)


TOOLS = {
    "reverse_string": ToolType("reverse_string", "Reverses a string. Arguments: string (str)",
                               reverse_string, "reverse_string(string: str) -> str"),
    "string_length": ToolType("string_length", "Finds the length of a string.",
                              string_length, "string_length(string: str) -> int"),
}
TASKS = [
    Task("toy_decoder/reverse_twice_length", TOOLS,
         "Reverse 'stressed', then give the length of the result.", 8, False),
    Task("toy_decoder/reversed_word", TOOLS, "Reverse the string 'drawer'.", "reward", False),
]
register_task_iterator(TASKS, len(TASKS))
"""

BROWSER = """
import json
import os

from ...base import Task, ToolType, register_task_iterator

with open(os.path.join(os.path.dirname(__file__), "pages.json")) as f:
    PAGES = json.load(f)


class Browser:
    def __init__(self):
        self.page = "/"

    def click_url(self, url):
        if url not in PAGES:
            return "[URL not found.]"
        self.page = url
        return PAGES[url]


def create_tools():
    browser = Browser()  # state: a fresh browser for each task
    return {
        "click_url": ToolType("click_url", "Clicks on a URL.\\nArguments: url (str).",
                              browser.click_url, "click_url(url: str) -> str"),
        "current_page": ToolType("current_page", "The current URL.",
                                 lambda: browser.page, "current_page() -> str"),
    }


TASKS = [Task("toy_browser/price_of_wand", create_tools, "Find the price of the wand.", "12.5", False)]
register_task_iterator(TASKS, len(TASKS))
"""

INIT = """
from .base import Task, ToolType
from .impl import toy_decoder, toy_browser
"""


def make_checkout(root: Path) -> Path:
    """Write the fake checkout under ``root``; returns ``root``."""
    tasks = root / "scripts" / "eval" / "m3tooleval" / "tasks"
    (tasks / "impl" / "toy_browser").mkdir(parents=True)  # impl has no __init__.py, as upstream
    files = {
        tasks / "__init__.py": INIT,
        tasks / "base.py": BASE,
        tasks / "impl" / "toy_decoder.py": DECODER,
        tasks / "impl" / "toy_browser" / "__init__.py": BROWSER,
        tasks
        / "impl"
        / "toy_browser"
        / "pages.json": '{"/": "Home: [/wand]", "/wand": "Wand: 12.5 dollars"}',
    }
    for path, text in files.items():
        path.write_text(textwrap.dedent(text).lstrip())
    return root


# What CI's scripted model plays on the fake tasks (see tests/eval_player.py).
ANSWERS = {
    "Reverse 'stressed', then give the length of the result.": 8,
    "Reverse the string 'drawer'.": "reward",
    "Find the price of the wand.": "12.5",
}
CODE = {
    "Reverse 'stressed', then give the length of the result.": "print(string_length(reverse_string('stressed')))",
    "Reverse the string 'drawer'.": "print(reverse_string('drawer'))",
    "Find the price of the wand.": "page = click_url('/wand')\nprint(page.split(': ')[1].split()[0])",
}
FIRST_CALL = {
    "Reverse 'stressed', then give the length of the result.": '{"tool": "reverse_string", "args": ["stressed"]}',
    "Reverse the string 'drawer'.": '{"tool": "reverse_string", "args": ["drawer"]}',
    "Find the price of the wand.": '{"tool": "click_url", "args": ["/wand"]}',
}
