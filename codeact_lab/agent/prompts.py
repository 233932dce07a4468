"""The system prompt (CodeActAgent style) and the fixed texts the model is sent.

The prompt is versioned: an episode records ``PROMPT_VERSION`` (or the version a
host gives a custom prompt) so a transcript can always be matched to the exact
instructions the model had.
"""

from __future__ import annotations

from dataclasses import dataclass

PROMPT_VERSION = "codeact-lab/1"

SYSTEM_PROMPT = """\
You are a helpful assistant with an interactive Python (Jupyter) environment. \
You solve the user's task by writing Python code, running it, reading its output, and going on.

Rules:
- To run code, put it between <execute> and </execute>. It runs in a live IPython kernel: \
variables, imports and functions persist between actions, the value of the last line is shown, \
and `!pip install PACKAGE` works.
- Write one action per reply, then stop and wait: the output comes back to you as an Observation. \
Never write the Observation yourself.
- Attempt fewer things at a time. If the code raises, read the traceback and fix it in the next action.
- Combine several calls with loops, conditions and variables in one action when you know what to do.
- As soon as you know the answer, stop executing and give it between <solution> and </solution>. \
Do not repeat an action that already gave you what you need.
{tools}{context}
Example:
User: What is the largest prime factor of 600851475143?
Assistant: I will factor the number by trial division.
<execute>
n = 600851475143
factor, largest = 2, None
while n > 1:
    while n % factor == 0:
        largest, n = factor, n // factor
    factor += 1
print(largest)
</execute>
Observation: 6857
Assistant: The largest prime factor is 6857.
<solution>6857</solution>
"""

FORMAT_REMINDER = (
    "Note: put code between <execute> and </execute> (not in a ``` fence), "
    "and the final answer between <solution> and </solution>."
)

EMPTY_REPLY = (
    "Your reply was empty. Write Python code between <execute> and </execute> to go on, "
    "or give the answer between <solution> and </solution>."
)

TRUNCATED_ACTION = (
    "Your reply was cut off after {tokens} tokens before </execute>, so the code was not run. "
    "Write a shorter action."
)

REPEATED_ACTION = (
    "You already ran this exact code in turn {turn}. Repeating an action gives you nothing new: "
    "if you have what you need, give the answer between <solution> and </solution>; "
    "otherwise try something different."
)

SKIPPED_AFTER_FAILURE = "[Not run: an earlier action in the same reply failed.]"

SOLUTION_AFTER_FAILED_ACTION = (
    "Your reply also gave a <solution>, but the action before it did not succeed, "
    "so the answer was not accepted. Fix the code first."
)

KERNEL_RESTARTED = (
    "[The user restarted the kernel while this code ran, so it was stopped. Everything defined "
    "before (variables, imports, functions) is gone: re-create what you need.]"
)

USER_EDITED = "[The user edited your code before it ran. It ran as:]\n{code}\n[Its output:]"

RESTORE_HEADER = (
    "# Re-running the code of this episode's earlier actions, so that this kernel\n"
    "# has the variables they made (the episode continues from another notebook)."
)

RESTORED = (
    "[The user continued this conversation in a new kernel. The code of your earlier "
    "actions was re-run there first:]\n{result}"
)

RESTORE_REJECTED = (
    "[The user continued this conversation in a new kernel and did not let your earlier "
    "actions re-run: the kernel has none of their variables.]"
)


FIX_CELL_TASK = """\
Fix cell {index} of my notebook: it raised {error}.

The cell's code:
{source}

Traceback (last lines):
{traceback}

Find the cause by running code in the kernel. Then run the whole corrected cell as \
your last action: it replaces cell {index} when I apply your fix. \
Then say in one sentence what was wrong, between <solution> and </solution>."""


@dataclass
class PromptTemplate:
    """A system prompt with ``{tools}`` and ``{context}`` slots, and its version."""

    text: str = SYSTEM_PROMPT
    version: str = PROMPT_VERSION

    def render(self, tools: str = "", context: str = "") -> str:
        tools_part = f"\nFunctions you can call from your code:\n{tools.strip()}\n" if tools else ""
        context_part = f"\nThe kernel already holds:\n{context.strip()}\n" if context else ""
        try:
            return self.text.format(tools=tools_part, context=context_part)
        except (KeyError, IndexError, ValueError):
            # A custom prompt with stray braces: use it as written, slots appended.
            return self.text + tools_part + context_part
