"""The system prompt (CodeActAgent style) and the fixed texts the model is sent.

The prompt is versioned: an episode records ``PROMPT_VERSION`` (or the version a
host gives a custom prompt) so a transcript can always be matched to the exact
instructions the model had.
"""

from __future__ import annotations

from dataclasses import dataclass

PROMPT_VERSION = "codeact-lab/14"

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
- Check an answer with code before you give it.
- Take every value from the task, the functions you are given, the files that exist and \
what the kernel holds: never make up data or file names. If you need a value, call the \
function that gives it.
- A message may begin with a view of the user's notebook: its cells in order, their outputs \
and errors. Answer questions about the notebook from that view. A cell marked "not run" \
has not run in the kernel: run its code before you use what it defines.
- As soon as you know the answer, end the task: call `final_answer(value)` in your code, which \
gives exactly the value your code computed (use it for numbers and for answers in a given \
format); write an explanation, or an answer you read, between <solution> and </solution>. \
Do not repeat an action that already gave you what you need.
{tools}{context}
Example, with a function population(city) in the kernel:
User: Which of Oslo, Lima and Hanoi has the most people? Answer as @city[name].
Assistant: I will look up every population in one loop and take the largest.
<execute>
cities = ["Oslo", "Lima", "Hanoi"]
people = {{city: population(city) for city in cities}}
largest = max(people, key=people.get)
print(people, largest)
</execute>
Observation: {{'Oslo': 709037, 'Lima': 10092000, 'Hanoi': 8435700}} Lima
Assistant: Lima has the most people; I give it in the asked form, as computed.
<execute>
final_answer(f"@city[{{largest}}]")
</execute>

Example, a question about the user's notebook:
User: (the view shows cell 2 raised NameError: name 'df' is not defined) Why does cell 2 fail?
Assistant: <solution>Cell 2 uses `df` before any cell defines it: run the cell that loads \
the data first.</solution>
"""

FORMAT_REMINDER = (
    "Note: put code between <execute> and </execute> (not in a ``` fence), "
    "and the final answer between <solution> and </solution>."
)

EMPTY_REPLY = (
    "Your reply was empty. Write Python code between <execute> and </execute> to go on, "
    "or give the answer between <solution> and </solution>."
)

# An action that would bind a given function's name to a value (given_functions.py).
GIVEN_FUNCTION_REPLACED = (
    "Not run: this code assigns to {names}, given to you as {signatures}. After it, {names} "
    "would no longer be that function, and it could not be called again. Keep that name "
    "for the function: give the value another name (for example {example}), and run it."
)

TRUNCATED_ACTION = (
    "Your reply was cut off after {tokens} tokens before </execute>, so the code was not run. "
    "Write a shorter action."
)

REPEATED_ACTION = (
    "You already ran this exact code in turn {turn}, and it returned: {returned}\n"
    "Repeating an action gives you nothing new: if you have what you need, give the answer; "
    "otherwise try something different."
)

REPEATED_ACTION_IN_A_ROW = (
    "You ran this exact code twice in a row now (turn {turn} too); last time it returned: "
    "{returned}\nDo not run it again: the same code a third time ends the task as stuck. "
    "Take a different approach, or give the answer."
)

REPEATED_FAILURE_IN_A_ROW = (
    "You ran this exact code twice in a row now (turn {turn} too), and it failed the same "
    "way both times: {returned}\nIt will fail again: change the code (another function, "
    "method or approach). The same code a third time ends the task as stuck."
)

STUCK_ACTION = "the model wrote the same action a third time in a row"

STUCK_ANSWER = "the model gave the same rejected answer a third time"

# The model repeats itself (its last action, or an answer it was told is wrong) with turns
# left: the request starts over, with its turns so far out of the model's view (the record
# keeps them). A small model copies what its prompt holds: told that it repeated itself and
# not to do it again, it most often did it a third time (15 of 23 times on the 32 tool tasks),
# and none of the other 8 went on to solve the task.
STARTING_OVER = (
    "[Repeating itself: starting the task over. The model no longer sees the turns since the "
    "request; it reads this instead:]\n{note}"
)
FRESH_START = (
    "(This is your {attempt} attempt at this task: the one before got stuck repeating "
    "something that did not work, and it is not shown. Start again with another approach: "
    "{how}.)"
)
FRESH_START_WITH_FUNCTIONS = (
    "call the functions you were given ({names}) one at a time, and print what each returns "
    "before you use it"
)
# Each fresh start's note differs: at temperature 0 the same prompt gives the same reply.
ATTEMPTS = ("second", "third", "fourth", "fifth")
FRESH_START_STEP_BY_STEP = (
    "take one step at a time, and print what each step gives before you use it"
)

REPEATED_ANSWER = (
    "You already gave this answer in turn {turn}, and it was not accepted: it is incorrect. "
    "Do not give it again: run code to check it, and find what is wrong. "
    "The same answer a third time ends the task as stuck."
)

VERIFY_FIRST = (
    "You answered before any of your code ran without an error, so nothing has checked "
    "this answer. Check it with code first: run an "
    "action that computes it, then give the answer from what it printed, or call "
    "final_answer(value) in that code."
)

GUESSED_FILE = (
    "[There is no such file: do not guess file names. See which files exist with "
    "os.listdir() first.]"
)

GUESSED_FILE_WITH_FUNCTIONS = (
    "[There is no such file: do not guess file names. The task's data comes from the "
    "functions you were given: call them instead of reading a file: {names}.]"
)

GUESSED_URL = (
    "[That address cannot be reached: do not guess URLs. The task's data comes from the "
    "functions you were given: {names}.]"
)

MISSING_KEY = (
    "[There is no key {key} in it: print the object (or its keys) first to see what it "
    "holds, then use the keys it has.]"
)

NOT_A_MAPPING = (
    "[That value is a string, not a dict or a list: print it first to see what it holds.]"
)

GUESSED_NAME = (
    "[There is no function or variable {name}: do not guess names. The functions you "
    "were given are: {names}.]"
)

ANSWER_IN_PROSE = (
    "Give your answer again, this time between <solution> and </solution>, so that it can be taken."
)

ANSWER_FORM_REMINDER = (
    "The task asks for the answer in this form: {form}. Your answer does not follow it: "
    "give it again, in exactly that form."
)

USERS_FINAL_ANSWER = (
    "Note: final_answer in this kernel is the user's own, not the function that ends the "
    "task: give the answer between <solution> and </solution>."
)

CODE_ANSWER_AFTER_FAILURE = (
    "Your code called final_answer, but the action did not succeed, so the answer was "
    "not accepted. Fix the code first."
)

SKIPPED_AFTER_FAILURE = "[Not run: an earlier action in the same reply failed.]"

NOT_RUN_STUCK = "[Not run: the same code a third time in a row.]"

NOT_RUN_SAME_REPLY = "[The same reply as the one before it, word for word.]"

NOT_RUN_REPEATED = "[Not run: the same code as the action before it, which gave what it gives.]"

NOT_RUN_ANSWERED = "[Not run: an earlier action of the same reply gave the final answer.]"

# Seen on the embedded model: "<solution>Timedelta is a class ... import it</solution>"
# then the fixed code, whose output (the right count) came too late to be the answer.
ANSWER_BEFORE_ACTION = (
    "Your reply gave a <solution> before its code ran, so it was not taken: the answer "
    "comes from what the code prints."
)

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
