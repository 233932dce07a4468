"""The value a sentence answer names (``agent/prose_answer.py``): found only when there is
no doubt, else the sentence stays the answer."""

from __future__ import annotations

import pytest

from codeact_lab.agent.prose_answer import value_in_prose

DECODED = "['apple', 'banana', 'cherry', 'mango'] [2, 3, 1, 2] banana"


@pytest.mark.parametrize(
    ("sentence", "output", "request_", "value"),
    [
        # seen on the embedded model, each given twice after the reminder for tags
        ("The word with the most vowels is banana.", DECODED, "Decode '616e616e6162'", "banana"),
        ("The protein is MANG*.", "MANG*\n", "Translate the reverse complement", "MANG*"),
        ("The shift was 8.", "8\n", "Find the shift of 'ifmmp'", "8"),
        ("The total cost of 3 notebooks, 2 pens and 1 kettle is $38.15.", "38.15",
         "What do 3 notebooks, 2 pens and 1 kettle cost?", "38.15"),
        ("The cheapest hotel is Kanda House.", "{'name': 'Kanda House', 'price': 88.0}",
         "Which hotel in Tokyo?", "Kanda House"),
        ("There are 20 business days in April 2025.", "20", "How many in April 2025?", "20"),
    ],
)  # fmt: skip
def test_the_one_printed_value_the_sentence_names(sentence, output, request_, value):
    assert value_in_prose(sentence, output, request_) == value


@pytest.mark.parametrize(
    ("sentence", "output", "request_"),
    [
        # two values: which one answers is not the loop's to say
        ("The cheapest flight is TL103 at 121.0 euros.", "TL103 121.0", "Which flight?"),
        # a value the output never showed (computed in the model's head)
        ("The total number of vowels is 3.", "['meet', 'at', 'dawn']", "Count the vowels"),
        # the only printed value the sentence repeats is the request's own
        ("The shift of 3 was used.", "3", "Shift by 3 and decode"),
        # no output at all
        ("It is banana.", "", "Which word?"),
        # a word of the output's own prose, not a value it printed (seen on intranet pages)
        ("The head does not have an office listed on the page.",
         "Research\nHead: Ann Berg, office on floor 2", "Which office has the head of Research?"),
    ],
)  # fmt: skip
def test_the_sentence_stays_when_in_doubt(sentence, output, request_):
    assert value_in_prose(sentence, output, request_) is None
