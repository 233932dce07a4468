"""Code that would replace a given function with a value is not run (agent/given_functions.py).

Seen on the embedded model: ``hotels = hotels("Tokyo")``, after which every call of
``hotels`` raised "'list' object is not callable" and the function could not be had back.
"""

from __future__ import annotations

from codeact_lab.agent import Episode, FinalState, Policy, StepKind, run
from codeact_lab.agent.given_functions import replaced_functions

TOOLS = "- hotels(city: str): the hotels of a city\n- convert(amount, src, dst): money\n"
NAMES = ["hotels", "convert"]


def test_the_names_bound_where_the_code_runs_are_counted():
    assert replaced_functions('hotels = hotels("Tokyo")', NAMES) == ["hotels"]
    assert replaced_functions("for i, hotels in enumerate([1]):\n    pass", NAMES) == ["hotels"]
    assert replaced_functions("if 1:\n    with open('f') as convert:\n        pass", NAMES) == [
        "convert"
    ]
    assert replaced_functions("from decimal import Decimal as convert", NAMES) == ["convert"]
    assert replaced_functions("hotels += [1]\nconvert: int = 2", NAMES) == ["hotels", "convert"]


def test_own_scopes_redefinitions_and_other_names_are_not():
    code = (
        "tokyo = hotels('Tokyo')\n"
        "names = [h for hotels in [tokyo] for h in hotels]\n"  # the comprehension's own
        "def best(hotels):\n    convert = 1\n    return hotels\n"  # the function's own
        "key = lambda hotels: hotels\n"
    )
    assert replaced_functions(code, NAMES) == []
    assert replaced_functions("def hotels(city):\n    return []", NAMES) == []  # deliberate
    assert replaced_functions("hotels = (", NAMES) == []  # the kernel says what is wrong


async def test_the_action_is_not_run_the_function_stays_and_the_model_is_told(
    scripted, make_llm, executor
):
    await executor.execute("def hotels(city):\n    return [{'name': 'Kanda House'}]\n", 10)
    scripted.script(
        {"text": '<execute>\nhotels = hotels("Tokyo")\nprint(hotels)\n</execute>'},
        {"text": '<execute>\ntokyo = hotels("Tokyo")\nprint(tokyo[0]["name"])\n</execute>'},
        {"text": "<solution>Kanda House</solution>"},
    )
    ep = Episode(task="Which Tokyo hotel?")
    events = [ev async for ev in run(ep, make_llm(), executor, Policy(), tools=TOOLS)]
    assert events and ep.state is FinalState.SOLVED and ep.solution == "Kanda House"
    first, second = ep.steps_of(StepKind.ACTION)
    assert first.data["status"] == "error" and second.data["status"] == "ok"
    assert first.data["outputs"][0]["ename"] == "GivenFunctionReplaced"
    told = ep.steps_of(StepKind.OBSERVATION)[0].data["text"]
    assert told.startswith(
        "Not run: this code assigns to `hotels`, given to you as hotels(city: str)."
    )
    assert "for example `hotels_result`" in told
    assert "Kanda House" in str(second.data["outputs"])  # the function was still there
    assert await executor.evaluate("callable(hotels)") is True
