"""The built-in suite: every tool, every checker, every task's reference solution."""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter

import pytest

from codeact_lab.evaluation.checking import check_answer, normalize, parse_number
from codeact_lab.evaluation.suite import describe_function
from codeact_lab.evaluation.tasks import (
    DOMAINS,
    builtin_suite,
    dates,
    decoder,
    domain_tasks,
    genome,
    intranet,
    load_tools,
    reference_solution,
    shop,
    travel,
)

SUITE = builtin_suite()
# The tool domains; the data domain (files and pandas) has tests of its own,
# tests/test_eval_data_tasks.py.
TOOL_TASKS = [t for t in SUITE if t.domain != "data"]


# ---- the suite as a whole ----
def test_the_suite_has_forty_tasks_or_more_in_seven_domains():
    assert len(SUITE) >= 40 and len(TOOL_TASKS) >= 30
    assert len({t.id for t in SUITE}) == len(SUITE)
    per_domain = Counter(t.domain for t in SUITE)
    assert set(per_domain) == set(DOMAINS) and min(per_domain.values()) >= 5
    # round-robin: a small slice covers every domain
    assert [t.domain for t in SUITE[: len(DOMAINS)]] == list(DOMAINS)


def _run_reference(task_id: str, domain: str) -> tuple[str, Counter]:
    """Run a task's reference solution on fresh tools, counting each tool's calls."""
    calls: Counter = Counter()
    namespace = {}
    for name, fn in load_tools(domain).items():

        def counted(*args, _fn=fn, _name=name, **kwargs):
            calls[_name] += 1
            return _fn(*args, **kwargs)

        namespace[name] = counted
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(reference_solution(task_id), namespace)
    return out.getvalue(), calls


@pytest.mark.parametrize("task", TOOL_TASKS, ids=lambda t: t.id)
def test_each_task_is_solved_by_its_reference_with_several_tool_calls(task):
    printed, calls = _run_reference(task.id, task.domain)
    assert task.check(printed), (
        f"{task.id}: reference printed {printed!r}, expected {task.expected!r}"
    )
    assert sum(calls.values()) >= 2, f"{task.id} needs only {dict(calls)}"
    # the checker rejects near misses of the right type
    near = task.expected + 1 if isinstance(task.expected, (int, float)) else f"{task.expected}x"
    for wrong in ("", "I don't know", str(near), f"[{task.expected}]"):
        assert not task.check(wrong), f"{task.id} accepted {wrong!r}"


def test_tasks_need_control_flow_not_just_a_chain():
    """Most references loop, search or compare: what one-call-per-turn modes find costly."""
    flow = [
        t.name
        for d in DOMAINS
        if d != "data"
        for t in domain_tasks(d)
        if any(k in t.reference for k in ("for ", "while ", "max(", "min(", "next(", "sum("))
    ]
    assert len(flow) >= 0.6 * len(TOOL_TASKS)


def test_setup_code_defines_exactly_the_tools():
    task = SUITE[0]
    namespace: dict = {}
    exec(task.setup_code, namespace)
    assert set(namespace) - {"__builtins__"} == task.tool_names
    assert namespace["reverse"]("ab") == "ba"


def test_tools_are_described_by_signature_and_doc():
    spec = describe_function("shift_back", decoder.shift_back)
    assert spec.signature == "shift_back(text: str, n: int) -> str"
    assert spec.description.startswith("Shift every letter n places back")
    assert describe_function("len", len).signature.startswith("len(")
    assert all(t.description for task in SUITE for t in task.tools)


# ---- the checker ----
@pytest.mark.parametrize(
    ("expected", "answer", "ok"),
    [
        (5, "5", True),
        (5, " 5. ", True),
        (5, "5.0", True),
        (5, "'5'", True),
        (1042, "1,042", True),
        (1042, "$1,042", True),
        (5, "five", False),
        (5, "6", False),
        (5, "5 apples", False),
        (38.15, "38.15", True),
        (38.15, "$38.15", True),
        (38.15, "38.149", True),  # two decimals
        (38.15, "38.2", False),
        (1042.0, "1042", True),
        ("pen", "pen", True),
        ("pen", "`pen`", True),
        ("pen", "Pen", False),  # exact: case matters
        ("meet at dawn", "meet  at\ndawn", True),
        ("meet at dawn", "meet at dawn.", True),
        ("2026-01-12", "2026-01-12", True),
        ("2026-01-12", "2026-1-12", False),
        ("Dr. No.", "Dr. No.", True),  # an expected final stop is kept
        ([1, "a"], "[1, 'a']", True),
        ([1, "a"], "1, a", True),
        ([1, "a"], "[1]", False),
        (True, "true", True),
        (True, "False", False),
    ],
)
def test_check_answer(expected, answer, ok):
    assert check_answer(expected, answer) is ok


def test_normalize_and_parse_number():
    assert normalize('  "x"  ') == "x" and normalize("'y'.") == "y"
    assert parse_number("1,234.5") == 1234.5 and parse_number("12,34") is None
    assert parse_number("€3") == 3.0 and parse_number("") is None


# ---- every tool ----
TESTED: set[str] = set()


def tested(*names: str) -> None:
    TESTED.update(names)


def test_decoder_tools():
    tested("decoder.from_hex", "decoder.reverse", "decoder.shift_back")
    tested("decoder.swap_pairs", "decoder.count_vowels")
    assert decoder.from_hex("6869") == "hi"
    with pytest.raises(ValueError):
        decoder.from_hex("zz")
    assert decoder.reverse("abc") == "cba"
    assert decoder.shift_back("Khoor, Zruog!", 3) == "Hello, World!"
    assert decoder.shift_back("abc", "27") == "zab"  # text arguments are read as numbers
    assert decoder.swap_pairs("abcde") == "badce" and decoder.swap_pairs("") == ""
    assert decoder.count_vowels("AEIOU xyz") == 5


def test_shop_tools():
    tested("shop.list_items", "shop.get_price", "shop.get_stock")
    tested("shop.apply_discount", "shop.add_tax")
    assert shop.list_items("Garden") == ["hose", "shovel", "seeds", "gloves"]
    with pytest.raises(ValueError):
        shop.list_items("toys")
    assert shop.get_price("Pen") == 1.2 and shop.get_stock("stapler") == 0
    with pytest.raises(ValueError):
        shop.get_price("unicorn")
    assert shop.apply_discount(200, 15) == 170.0 and shop.apply_discount(10, 0) == 10.0
    assert shop.add_tax(100, "north") == 120.0 and shop.add_tax(100, "west") == 100.0
    with pytest.raises(ValueError):
        shop.add_tax(1, "moon")


def test_travel_tools():
    tested("travel.find_flights", "travel.hotels", "travel.city_currency", "travel.convert")
    flights = travel.find_flights("Lisbon", "Oslo", "Monday")
    assert [f["code"] for f in flights] == ["TL101", "TL102", "TL103"]
    assert flights[0] == {"code": "TL101", "departure": "07:10", "minutes": 245, "price_eur": 189.0}
    assert travel.find_flights("Oslo", "Lisbon", "Monday") == []
    assert [h["name"] for h in travel.hotels("Lisbon")] == [
        "Alfama Lodge",
        "Rio Hostel",
        "Tejo Suites",
    ]
    with pytest.raises(ValueError):
        travel.hotels("Atlantis")
    assert travel.city_currency("Tokyo") == "JPY"
    assert travel.convert(1000, "NOK", "EUR") == 86.0
    assert travel.convert(92, "EUR", "USD") == 100.0
    with pytest.raises(ValueError):
        travel.convert(1, "EUR", "XYZ")


def test_genome_tools():
    tested("genome.complement", "genome.reverse_strand", "genome.transcribe")
    tested("genome.translate", "genome.gc_content", "genome.find_motif")
    assert genome.complement("atgc") == "TACG"
    with pytest.raises(ValueError):
        genome.complement("ATXG")
    assert genome.reverse_strand("AACG") == "GCAA"
    assert genome.transcribe("ATTG") == "AUUG"
    assert genome.translate("AUGUUUUAAGG") == "MF*"
    assert len(genome.CODONS) == 64 and genome.CODONS["UGG"] == "W"
    assert genome.gc_content("GGCA") == 75.0 and genome.gc_content("") == 0.0
    assert genome.find_motif("AAAA", "AA") == [0, 1, 2]
    with pytest.raises(ValueError):
        genome.find_motif("A", "")


def test_intranet_tools_keep_state_per_task():
    tested("intranet.view", "intranet.click", "intranet.back")
    tools = intranet.make_tools()
    assert tools["view"]().startswith("[page /]")
    assert (
        "Head of department: Kim Sato"
        in (tools["click"]("/staff"), tools["click"]("[/staff/support]"))[1]
    )
    assert "No link /products" in tools["click"]("/products")  # not linked from here
    assert tools["back"]().startswith("[page /staff]")
    assert tools["back"]().startswith("[page /]")
    assert tools["back"]() == "[No previous page.]"
    other = intranet.make_tools()  # another task starts at home again
    tools["click"]("/news")
    assert other["view"]().startswith("[page /]")
    pages = intranet.build_pages()
    links = {link for page in pages.values() for link in re.findall(r"\[(/[^\]]*)\]", page)}
    assert links <= set(pages)  # no dead link


def test_dates_tools():
    tested("dates.weekday", "dates.add_days", "dates.holidays")
    tested("dates.is_business_day", "dates.days_between")
    assert dates.weekday("2025-03-14") == "Friday"
    with pytest.raises(ValueError):
        dates.weekday("14/03/2025")
    assert (
        dates.add_days("2025-12-30", 3) == "2026-01-02"
        and dates.add_days("2025-03-01", -1) == "2025-02-28"
    )
    assert dates.holidays(2026)[0] == "2026-01-01"
    with pytest.raises(ValueError):
        dates.holidays(1999)
    assert dates.is_business_day("2025-03-14") and not dates.is_business_day("2025-03-15")
    assert not dates.is_business_day("2025-12-25")  # a holiday on a Thursday
    assert dates.days_between("2025-01-01", "2026-01-01") == 365
    assert dates.days_between("2025-01-02", "2025-01-01") == -1


def test_every_tool_has_a_unit_test():
    """Keep this last: the tests above name the tools they cover."""
    every = {f"{d}.{name}" for d in DOMAINS if d != "data" for name in load_tools(d)}
    assert every == TESTED, f"untested: {sorted(every - TESTED)}"
