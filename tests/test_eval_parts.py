"""The harness's parts: action-mode translators and prompts, the results file, the report."""

from __future__ import annotations

import io
import json

import pytest

from codeact_lab.agent.answer_review import answer_form
from codeact_lab.agent.parser import parse_reply
from codeact_lab.evaluation.modes import (
    ANSWER_FORMAT,
    ANSWER_IN_STATED_FORM,
    MODES,
    describe,
    json_action,
    parse_modes,
    task_text,
    text_action,
)
from codeact_lab.evaluation.progress import Progress
from codeact_lab.evaluation.report import (
    OVERALL,
    comparisons,
    summarize,
    summary_json,
    table,
    task_table,
)
from codeact_lab.evaluation.results import RecordWriter, finished, latest, load_records
from codeact_lab.evaluation.suite import ToolSpec

TOOLS = frozenset({"add", "view", "reverse"})


# ---- modes ----
@pytest.mark.parametrize(
    ("content", "code"),
    [
        ('{"tool": "add", "args": [1, 2.5]}', "print(add(1, 2.5))"),
        ('{"tool": "reverse", "args": ["it\'s"]}', 'print(reverse("it\'s"))'),
        ('{"tool": "add", "args": [true, null, {"k": [1]}]}', "print(add(True, None, {'k': [1]}))"),
        ('{"tool": "view"}', "print(view())"),
        ('{"tool": "reverse", "args": "abc"}', "print(reverse('abc'))"),  # a lone argument
    ],
)
def test_json_actions_become_one_printed_call(content, code):
    assert json_action(content, TOOLS) == code
    compile(code, "<action>", "exec")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("add(1, 2)", "not JSON"),
        ('{"tool": "add", "args": [1, 2]', "not JSON"),
        ('[{"tool": "add"}]', "one JSON object"),
        ('{"name": "add"}', "one JSON object"),
        ('{"tool": "os.system", "args": ["rm -rf /"]}', "there is no tool 'os.system'"),
        ('{"tool": "add", "args": [NaN]}', "NaN is not an argument"),
    ],
)
def test_bad_json_actions_raise_a_readable_value_error(content, message):
    with pytest.raises(ValueError, match=message):
        json_action(content, TOOLS)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("add, 1, 2.5", "print(add(1, 2.5))"),
        ("reverse, hello world", "print(reverse('hello world'))"),
        ("reverse, '42'", "print(reverse('42'))"),  # quotes keep a number text
        ("view", "print(view())"),
        ("view,", "print(view())"),
        ("  add ,3,  4 ", "print(add(3, 4))"),
    ],
)
def test_text_actions_become_one_printed_call(content, code):
    assert text_action(content, TOOLS) == code


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "one call on one line"),
        ("add, 1\nadd, 2", "one call on one line"),
        ("add(1, 2)", "there is no tool 'add\\(1'"),
        ("__import__('os').system('id')", "there is no tool"),
    ],
)
def test_bad_text_actions_raise(content, message):
    with pytest.raises(ValueError, match=message):
        text_action(content, TOOLS)


def test_modes_wrap_actions_in_execute_tags_and_differ_only_in_content():
    """Each mode's prompt example parses with the ordinary CodeAct parser."""
    for name in ("json", "text"):
        mode = MODES[name]
        system = mode.prompt.render(tools=describe([ToolSpec("add", "add(a, b)", "Add.")]))
        assert "Tools you can call:\n- add(a, b): Add." in system
        assert "{" not in system.replace('{"tool"', "")  # every slot filled
        example = system.split("Example")[1]
        actions = parse_reply(example).actions
        assert len(actions) == 2
        assert mode.translator(frozenset({"add", "square"}))(actions[0].code) == "print(add(3, 4))"
        assert mode.actions_per_reply == 1 and mode.prompt.version.endswith(name)
    code = MODES["code"]
    assert code.translator(TOOLS) is None and code.actions_per_reply > 1
    assert "Functions you can call from your code" in code.prompt.render(tools="- add(a, b)")
    assert "<solution>" in ANSWER_FORMAT


def test_the_answer_sentence_never_contradicts_a_form_the_task_states():
    plain = task_text("  What is 3 + 4?\n")
    assert plain == f"What is 3 + 4?\n{ANSWER_FORMAT.format(how='by running code')}"
    stated = task_text("Which region? Answer as @region[name] @mean[value].")
    assert stated.endswith(ANSWER_IN_STATED_FORM.format(how="by running code"))
    assert "single number" not in stated
    assert "<solution>" in stated
    # the sentence adds no answer of its own to the form the loop holds the answer to
    assert answer_form(stated) == ["region", "mean"]


def test_the_answer_sentence_says_how_each_mode_finds_the_answer():
    """ "Give only the answer" alone drew answers with no code from the embedded model in
    a quarter of its first replies: the sentence first says how to find it."""
    assert (
        MODES["code"]
        .task_text("What is 3 + 4?")
        .endswith(
            "Find it by running code, then give only the answer (for example a single number, "
            "a name or a date) between <solution> and </solution>."
        )
    )
    for name in ("json", "text"):
        text = MODES[name].task_text("Which region? Answer as @region[name].")
        assert "\nFind it by calling the tools, then give the answer in exactly the form" in text


def test_parse_modes():
    assert [m.name for m in parse_modes("code, json,code")] == ["code", "json"]
    with pytest.raises(ValueError, match="yaml"):
        parse_modes("code,yaml")
    with pytest.raises(ValueError):
        parse_modes(" , ")


# ---- the results file ----
def record(task="d/a", mode="code", solved=True, turns=2, error=None, domain="d", **extra):
    return {
        "task": task,
        "mode": mode,
        "domain": domain,
        "solved": solved,
        "turns": turns,
        "max_turns": 10,
        "error": error,
        "total_tokens": 100,
        "wall_s": 1.0,
        "model": "m",
        **extra,
    }


def test_a_torn_last_line_is_cut_and_the_rest_resumes(tmp_path):
    path = str(tmp_path / "out" / "episodes.jsonl")
    writer = RecordWriter(path)
    writer.write(record("d/a"))
    writer.write(record("d/b", error="the model endpoint is unreachable"))
    writer.close()
    with open(path, "a") as f:
        f.write('{"task": "d/c", "mo')  # the run was killed mid-write
    records = load_records(path)
    assert [r["task"] for r in records] == ["d/a", "d/b"]
    with open(path) as f:
        assert f.read().endswith("}\n")  # appending goes on from a whole line
    assert finished(records) == {("d/a", "code")}  # the errored pair runs again
    again = RecordWriter(path)
    again.write(record("d/b"))
    again.close()
    assert finished(load_records(path)) == {("d/a", "code"), ("d/b", "code")}
    assert latest(load_records(path))[("d/b", "code")]["error"] is None
    assert load_records(str(tmp_path / "missing.jsonl")) == []


# ---- the report ----
RECORDS = [
    record("x/1", "code", True, 2, domain="x"),
    record("x/2", "code", False, 4, domain="x"),  # a failure counts as the limit: 10
    record("y/1", "code", True, 3, domain="y"),
    record("x/1", "json", True, 5, domain="x"),
    record("x/2", "json", False, 3, domain="x", stuck=True),
    record("y/1", "json", False, 1, domain="y", error="endpoint down"),
]


def test_summary_counts_a_failure_as_the_turn_limit():
    summary = summarize(RECORDS, ["code", "json"])
    assert list(summary["code"]) == ["x", "y", OVERALL]
    assert list(summarize(RECORDS, ["code"], ["y", "z", "x"])["code"]) == ["y", "x", OVERALL]
    x = summary["code"]["x"]
    assert (x.tasks, x.solved, x.success, x.turns) == (2, 1, 0.5, 6.0)
    overall = summary["code"][OVERALL]
    assert overall.turns == pytest.approx(5.0) and overall.success == pytest.approx(2 / 3)
    assert summary["json"][OVERALL].errors == 1 and summary["json"]["y"].turns == 10
    data = summary_json(summary, model="m")
    assert data["model"] == "m" and data["modes"]["json"]["x"]["success"] == 0.5
    json.dumps(data)


def test_table_has_a_row_per_domain_and_mode_and_the_headline_comparison():
    text = table(summarize(RECORDS, ["code", "json"]))
    lines = text.splitlines()
    assert lines[0].split() == [
        "domain",
        "mode",
        "tasks",
        "solved",
        "success",
        "avg",
        "turns",
        "stuck",
        "tokens/task",
        "s/task",
    ]
    rows = [line.split() for line in lines if line.split()[:1] in (["x"], ["y"], ["overall"])]
    assert rows[0][:8] == ["x", "code", "2", "1", "50.0%", "6.0", "0", "100"]
    assert any(r[:2] == ["overall", "code"] and r[4] == "66.7%" for r in rows)
    json_x = next(line.split() for line in lines if line.split()[:2] == ["json", "2"])
    assert json_x[4:6] == ["7.5", "1"]  # the stuck one counts as the turn limit (10) too
    assert "(1 error)" in text
    assert comparisons(summarize(RECORDS, ["code", "json"])) == [
        "",
        "code vs json: +33.3 points of success, -3.3 turns on average, +0.0 s per task",
    ]
    assert comparisons(summarize(RECORDS, ["json"])) == []


def test_the_task_table_puts_each_task_side_by_side():
    records = [*RECORDS, record("x/1", "smolagents", False, 10, domain="x", state="max_turns")]
    per_task = task_table(records, ["code", "smolagents"], ["x/1", "x/2", "z/9"])
    lines = per_task.text.splitlines()
    assert lines[0].split() == ["task", "code", "smolagents"]
    ours, theirs = "solved 2t 100 tok 1.0s", "max_turns 10t 100 tok 1.0s"
    assert lines[1].split() == ["x/1", *ours.split(), *theirs.split()]
    assert lines[2].split()[-1] == "-" and len(lines) == 3  # z/9 ran in neither
    assert per_task.rows["x/1"]["smolagents"]["turns"] == 10
    assert "smolagents" not in per_task.rows["x/2"]
    # an episode that ended on an answer the checker refused reads as wrong, not solved
    wrong = record("x/2", "smolagents", False, 10, domain="x", state="solved")
    line = task_table([*RECORDS, wrong], ["code", "smolagents"], ["x/2"]).text.splitlines()[1]
    assert line.split()[-5:] == ["wrong", "10t", "100", "tok", "1.0s"]


def test_progress_writes_one_line_per_task_off_a_terminal():
    out = io.StringIO()
    progress = Progress(3, done=1, out=out)
    progress.update({**record(), "wall_s": 0.5})
    progress.update({**record(solved=False, turns=10), "wall_s": 0.5})
    progress.close()
    assert out.getvalue().splitlines() == [
        "[2/3] code d/a: solved in 2 turns (0.5 s)",
        "[3/3] code d/a: failed in 10 turns (0.5 s)",
    ]
