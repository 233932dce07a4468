"""``final_answer(value)``: the model ends the task from its code, with the value it computed.

A model that retypes its answer into ``<solution>`` loses digits, the format the task
asked for, or the answer itself. So while an action runs, the kernel's namespace holds
a function ``final_answer``; what the code passes to it (its ``str``) becomes the
episode's answer, exactly.

It is there only while the episode's own code runs: put in just before an action and
taken out just after it, each by one silent evaluation (``Executor.evaluate``: no
history, no output, no execution count), so a cell the user runs between two actions
never sees it. The value is kept on the function itself, and the function is found
again through ``sys`` (not through the namespace), so an action that deletes or
rebinds the name cannot lose the answer, and the cleanup still finds it.

A user's own ``final_answer`` (any object of that name) is never shadowed: the
function is then not offered at all, and the model is told to answer with
``<solution>`` instead. The user's object stays exactly as it was.
"""

from __future__ import annotations

from typing import Any

NAME = "final_answer"

_HOLDER = "_codeact_final_answer"  # where the kernel's ``sys`` module keeps our function

# Runs in a throwaway namespace with ``user_ns`` (the kernel's namespace); sets ``result``:
# True when final_answer is there for the action, False when the name is the user's.
_OFFER = f"""
import sys

def _offer(user_ns):
    held = getattr(sys, {_HOLDER!r}, None)
    if {NAME!r} in user_ns and user_ns[{NAME!r}] is not held:
        return False
    if held is None:
        given = []

        def {NAME}(answer):
            \"\"\"End the task with this answer: str(answer), exactly as computed.\"\"\"
            given.append(str(answer))

        {NAME}.given = given
        held = {NAME}
        setattr(sys, {_HOLDER!r}, held)
    user_ns[{NAME!r}] = held
    return True

result = _offer(user_ns)
"""

# Sets ``result``: the last value the action gave final_answer (None if none), and takes
# the function out of the namespace (unless the action bound the name to something else).
_TAKE = f"""
import sys

def _take(user_ns):
    held = sys.__dict__.pop({_HOLDER!r}, None)
    if held is None:
        return None
    if user_ns.get({NAME!r}) is held:
        del user_ns[{NAME!r}]
    return held.given[-1] if held.given else None

result = _take(user_ns)
"""


def _expression(source: str) -> str:
    """One expression (for ``user_expressions``) that runs ``source`` beside the namespace."""
    namespace = "{'__builtins__': __builtins__, 'user_ns': globals()}"
    return f"(lambda ns: (exec({source!r}, ns), ns['result'])[1])({namespace})"


OFFER_EXPRESSION = _expression(_OFFER)
TAKE_EXPRESSION = _expression(_TAKE)


async def offer(executor: Any, timeout: float = 5.0) -> bool | None:
    """Put ``final_answer`` in the namespace for the next action. True: it is there;
    False: the name is the user's, left alone; None: the kernel did not say (busy or
    gone: the request still runs before the action, and ``take`` cleans up after it)."""
    value = await executor.evaluate(OFFER_EXPRESSION, timeout=timeout)
    return value if isinstance(value, bool) else None


async def take(executor: Any, timeout: float = 5.0) -> str | None:
    """After the action: what it gave ``final_answer`` (its str), and the name taken out."""
    value = await executor.evaluate(TAKE_EXPRESSION, timeout=timeout)
    return value if isinstance(value, str) else None
