"""A guessed file or function name gets one line saying where to look instead.

The embedded model, given functions that hold a task's data, read ``flights.csv`` (which
does not exist) four times and answered "the file does not exist"; these tests pin the
hint it now gets, end to end with the scripted model and a real kernel.
"""

from __future__ import annotations

from codeact_lab.agent import Episode, Policy, StepKind, run
from codeact_lab.agent.error_hints import error_hint, listed_functions
from codeact_lab.agent.prompts import GUESSED_FILE

TOOLS = (
    "- find_flights(origin, destination, day): the flights, cheapest first\n"
    "- to_nok(amount, currency): an amount in Norwegian kroner\n"
)


def error(ename: str, evalue: str) -> list[dict]:
    return [{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}]


def test_the_listed_functions_are_read_from_the_tools_description():
    assert listed_functions(TOOLS) == [
        "find_flights(origin, destination, day)",
        "to_nok(amount, currency)",
    ]
    assert listed_functions("") == []


def test_a_missing_file_points_to_the_functions_or_to_the_folder():
    missing = error("FileNotFoundError", "[Errno 2] No such file or directory: 'flights.csv'")
    with_tools = error_hint(missing, ["find_flights", "to_nok"])
    assert "do not guess file names" in with_tools and "find_flights, to_nok" in with_tools
    assert error_hint(missing, []) == GUESSED_FILE and "os.listdir()" in GUESSED_FILE


def test_an_unreachable_address_points_to_the_functions_when_there_are_some():
    for ename in ("ConnectionError", "gaierror", "URLError"):
        hint = error_hint(error(ename, "Name or service not known"), ["view", "click"])
        assert "do not guess URLs" in hint and "view, click" in hint
        assert error_hint(error(ename, "Name or service not known"), []) == ""


def test_an_undefined_name_lists_the_functions_only_when_there_are_some():
    undefined = error("NameError", "name 'get_flights' is not defined")
    hint = error_hint(undefined, ["find_flights", "to_nok"])
    assert "get_flights" in hint and "find_flights, to_nok" in hint
    assert error_hint(undefined, []) == ""  # a notebook: the traceback says it all
    # a listed function's own NameError is a bug in the call, not a guess
    assert error_hint(error("NameError", "name 'to_nok' is not defined"), ["to_nok"]) == ""
    assert error_hint(error("NameError", "name 'to_nok' is not defined"), ["to_nok(x)"]) == ""
    assert error_hint(error("ValueError", "bad"), ["to_nok"]) == ""
    assert error_hint([{"output_type": "stream", "text": "ok"}], ["to_nok"]) == ""


def test_a_made_up_key_or_a_string_read_as_a_dict_says_to_print_it_first():
    # Seen: flight["origin"] on records without that key, three times; view()["Name"].
    key = error_hint(error("KeyError", "'origin'"), ["find_flights(origin, destination, day)"])
    assert key.startswith("[There is no key 'origin' in it: print the object")
    assert error_hint(error("KeyError", "'price eur'"), []) == key.replace(
        "'origin'", "'price eur'"
    )
    text = error_hint(error("TypeError", "string indices must be integers, not 'str'"), [])
    assert "a string, not a dict" in text and "print it first" in text
    assert error_hint(error("TypeError", "unsupported operand type(s)"), []) == ""


async def test_the_model_reads_the_hint_after_reading_a_file_it_made_up(
    scripted, make_llm, executor, tmp_path
):
    scripted.script(
        {"text": "<execute>\nopen('surely-not-here.csv').read()\n</execute>"},
        {"text": "<execute>\nget_flights('LIS', 'OSL')\n</execute>"},
        {"text": "<solution>done</solution>"},
    )
    ep = Episode(task="the cheapest flight")
    events = [ev async for ev in run(ep, make_llm(), executor, Policy(), tools=TOOLS)]
    assert events
    first, second = [s.data["text"] for s in ep.steps_of(StepKind.OBSERVATION)][:2]
    assert "FileNotFoundError" in first  # the traceback stays, the hint comes after it
    assert first.rstrip().endswith(
        "call them instead of reading a file: "
        "find_flights(origin, destination, day), to_nok(amount, currency).]"
    )
    assert "There is no function or variable get_flights" in second
    # the hint is for the model: the cell's outputs are what the kernel printed
    action = ep.steps_of(StepKind.ACTION)[0]
    assert not any("guess" in str(o) for o in action.data["outputs"])
    # the prompt the model got next carries it
    assert "do not guess file names" in str(scripted.requests[1]["messages"][-1])
