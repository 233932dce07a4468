"""What the model reads of an action's outputs: ANSI stripped, cut head-and-tail, notes."""

from __future__ import annotations

import base64
import re

import pytest

from codeact_lab.agent.episode import ActionStatus
from codeact_lab.agent.observation import (
    IMAGE_PLACEHOLDER,
    NO_OUTPUT,
    format_observation,
    render_outputs,
    status_note,
    strip_ansi,
    truncate_middle,
)

# The error output ipykernel 7 / IPython 9 sends for
#   def f(x):
#       return 1/x
#   f(0)
# (captured from a real kernel).
COLOURED_ERROR = {
    "output_type": "error",
    "ename": "ZeroDivisionError",
    "evalue": "division by zero",
    "traceback": [
        "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
        "\x1b[31mZeroDivisionError\x1b[39m                         Traceback (most recent call last)",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 3\x1b[39m\n"
        "\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m f(x):\n"
        "\x1b[32m      2\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m \x1b[32m1\x1b[39m/x\n"
        "\x1b[32m----> \x1b[39m\x1b[32m3\x1b[39m f(\x1b[32m0\x1b[39m)\n",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 2\x1b[39m, in "
        "\x1b[36mf\x1b[39m\x1b[34m(x)\x1b[39m\n"
        "\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m f(x):\n"
        "\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m "
        "\x1b[32m1\x1b[39m/x\n",
        "\x1b[31mZeroDivisionError\x1b[39m: division by zero",
    ],
}

PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


# ---------------------------------------------------------------------------
# ANSI
# ---------------------------------------------------------------------------


def test_coloured_traceback_is_plain_text():
    obs = format_observation([COLOURED_ERROR], ActionStatus.ERROR)
    assert "\x1b" not in obs.text
    assert not re.search(r"\[\d+(;\d+)*m", obs.text)  # no escape remnants like "[31m"
    lines = obs.text.splitlines()
    assert lines[0] == "-" * 75
    assert lines[1].startswith("ZeroDivisionError") and lines[1].endswith(
        "Traceback (most recent call last)"
    )
    assert "Cell In[1], line 3" in obs.text
    assert "----> 3 f(0)" in obs.text
    assert "Cell In[1], line 2, in f(x)" in obs.text
    assert "      2     return 1/x" in obs.text
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert obs.images == []


def test_strip_ansi_handles_csi_osc_and_leaves_plain_text():
    assert strip_ansi("\x1b[1;31mred\x1b[0m \x1b[2K\x1b[1Gdone") == "red done"
    link = "\x1b]8;;https://example.com\x07text\x1b]8;;\x07"
    assert strip_ansi(link) == "text"
    assert strip_ansi("\x1b]0;title\x1b\\after") == "after"
    plain = "a [31m literal, brackets [1] and 50% done\n"
    assert strip_ansi(plain) == plain


def test_ansi_is_stripped_from_streams_too():
    obs = format_observation([stream("\x1b[32mok\x1b[0m\n")], ActionStatus.OK)
    assert obs.text == "ok"


def test_error_without_traceback_uses_ename_and_evalue():
    out = {"output_type": "error", "ename": "KeyError", "evalue": "'x'", "traceback": []}
    assert format_observation([out], ActionStatus.ERROR).text == "KeyError: 'x'"


# ---------------------------------------------------------------------------
# Truncation
# ---------------------------------------------------------------------------


def test_long_output_keeps_head_and_tail_and_states_the_cut():
    head, middle, tail = "H" * 3000, "m" * 10_000, "T" * 3000
    text = head + middle + tail  # 16 000 characters
    obs = format_observation([stream(text)], ActionStatus.OK, max_chars=4000)
    cut = len(text) - 4000
    note = f"[... {cut} characters cut ...]"
    assert note in obs.text
    assert obs.text.startswith("H" * 2000)
    assert obs.text.endswith("T" * 2000)
    before, after = obs.text.split(note)
    assert before == "H" * 2000 + "\n"
    assert after == "\n" + "T" * 2000
    assert len(obs.text) <= 4000 + len(note) + 2
    assert "m" not in obs.text


def test_truncation_bound_and_count_for_odd_limits():
    text = "".join(chr(ord("a") + i % 26) for i in range(1001))
    for limit in (1, 2, 3, 99, 100, 999, 1000):
        out = truncate_middle(text, limit)
        m = re.search(r"\n\[\.\.\. (\d+) characters cut \.\.\.\]\n", out)
        assert m is not None, limit
        assert int(m.group(1)) == len(text) - limit
        kept = out[: m.start()] + out[m.end() :]
        assert len(kept) == limit
        assert text.startswith(out[: m.start()])
        assert text.endswith(out[m.end() :])
        assert len(out) <= limit + len(m.group(0))


def test_short_output_is_not_cut():
    text = "x" * 4000
    assert truncate_middle(text, 4000) == text
    assert truncate_middle(text, 0) == text  # no limit
    obs = format_observation([stream(text)], ActionStatus.OK, max_chars=4000)
    assert obs.text == text


def test_observation_with_note_is_still_bounded():
    obs = format_observation(
        [stream("y" * 50_000)], ActionStatus.TIMEOUT, max_chars=1000, timeout=5
    )
    assert "[... 49000 characters cut ...]" in obs.text
    assert obs.text.endswith(status_note(ActionStatus.TIMEOUT, 5))
    assert len(obs.text) < 1000 + 200


# ---------------------------------------------------------------------------
# No output, order of outputs, rich data
# ---------------------------------------------------------------------------


def test_no_output_is_said_explicitly():
    assert format_observation([], ActionStatus.OK).text == NO_OUTPUT
    assert format_observation([stream("")], ActionStatus.OK).text == NO_OUTPUT
    # A failed action with no output gets no "executed successfully" note.
    assert NO_OUTPUT not in format_observation([], ActionStatus.ERROR).text


def test_outputs_are_rendered_in_order_one_per_line():
    outputs = [
        stream("first"),
        stream("warn\n", "stderr"),
        {
            "output_type": "execute_result",
            "execution_count": 3,
            "metadata": {},
            "data": {"text/plain": ["42"], "text/html": ["<b>42</b>"]},
        },
        {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": "# Title"}},
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"application/vnd.custom+json": {}},
        },
    ]
    text = format_observation(outputs, ActionStatus.OK).text
    assert text == "first\nwarn\n42\n# Title\n[display: application/vnd.custom+json]"


def test_images_are_placeholders_for_text_models():
    outputs = [
        stream("plotting\n"),
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {
                "image/png": PNG_B64 + "\n",
                "text/plain": "<Figure size 640x480 with 1 Axes>",
            },
        },
    ]
    obs = format_observation(outputs, ActionStatus.OK)
    assert obs.text == "plotting\n" + IMAGE_PLACEHOLDER.format(mime="image/png")
    assert "<Figure" not in obs.text  # the image stands for the whole output
    assert PNG_B64 not in obs.text
    assert obs.images == []


def test_images_are_passed_as_base64_when_vision():
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x01" * 40).decode()
    outputs = [
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"image/png": PNG_B64[:20] + "\n" + PNG_B64[20:] + "\n"},
        },
        {
            "output_type": "execute_result",
            "execution_count": 1,
            "metadata": {},
            "data": {"image/jpeg": [jpeg[:10], jpeg[10:]]},
        },
    ]
    obs = format_observation(outputs, ActionStatus.OK, vision=True)
    assert obs.images == [PNG_B64, jpeg]
    assert base64.b64decode(obs.images[0]).startswith(b"\x89PNG")
    assert IMAGE_PLACEHOLDER.format(mime="image/png") in obs.text
    assert IMAGE_PLACEHOLDER.format(mime="image/jpeg") in obs.text
    assert PNG_B64 not in obs.text and jpeg not in obs.text
    # The same outputs for a text-only model: no image data.
    assert render_outputs(outputs, vision=False).images == []


# ---------------------------------------------------------------------------
# Status notes
# ---------------------------------------------------------------------------


def test_timeout_note():
    obs = format_observation([stream("started\n")], ActionStatus.TIMEOUT, timeout=2.5)
    assert obs.text.startswith("started\n")
    assert "timed out after 2.5 s" in obs.text
    assert "interrupted" in obs.text
    assert NO_OUTPUT not in obs.text


def test_timeout_without_output_has_only_the_note():
    obs = format_observation([], ActionStatus.TIMEOUT, timeout=60)
    assert obs.text == status_note(ActionStatus.TIMEOUT, 60)
    assert "timed out after 60 s" in obs.text


def test_dead_kernel_note():
    obs = format_observation([stream("loading\n")], ActionStatus.DEAD)
    assert obs.text.startswith("loading\n")
    assert "kernel died" in obs.text
    assert "state is lost" in obs.text.lower()
    assert format_observation([], ActionStatus.DEAD).text == status_note(ActionStatus.DEAD)


@pytest.mark.parametrize("status", [ActionStatus.OK, ActionStatus.ERROR])
def test_no_note_for_ok_and_error(status):
    assert status_note(status) == ""
    assert format_observation([stream("out")], status).text == "out"


# ---- library frames (issue 13: a made-up CSV buried the failing line under pandas) ----
def library_traceback(*paths: str) -> dict:
    frames = [
        f"\x1b[36mFile \x1b[39m\x1b[32m{path}:10\x1b[39m, in \x1b[36mf\x1b[39m\x1b[34m(a, b)\x1b[39m\n"
        "  9 x = 1\n---> 10 return g(a)\n"
        for path in paths
    ]
    return {
        "output_type": "error",
        "ename": "FileNotFoundError",
        "evalue": "no such file",
        "traceback": [
            "\x1b[31m" + "-" * 75 + "\x1b[39m",
            "\x1b[31mFileNotFoundError\x1b[39m   Traceback (most recent call last)",
            "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 2\x1b[39m\n"
            "      1 import pandas as pd\n----> 2 df = pd.read_csv('data.csv')\n",
            *frames,
            "\x1b[31mFileNotFoundError\x1b[39m: no such file: 'data.csv'",
        ],
    }


def test_library_frames_are_one_line_and_the_failing_line_and_error_stay():
    site = "/env/lib/python3.11/site-packages"
    error = library_traceback(
        f"{site}/pandas/io/parsers/readers.py",
        f"{site}/pandas/io/parsers/readers.py",
        f"{site}/pandas/io/common.py",
        "/usr/lib/python3.11/json/decoder.py",
        "/home/me/project/helpers.py",
        f"{site}/numpy/core/fromnumeric.py",
    )
    text = render_outputs([error]).text
    assert "----> 2 df = pd.read_csv('data.csv')" in text
    assert "[... 4 frames inside pandas and the standard library not shown ...]" in text
    assert "File /home/me/project/helpers.py:10" in text  # the user's own module stays
    assert "[... 1 frame inside numpy not shown ...]" in text
    assert text.endswith("FileNotFoundError: no such file: 'data.csv'")
    assert "readers.py" not in text and "return g(a)" in text  # once, the user's frame


def test_three_libraries_are_named_as_libraries():
    site = "C:\\env\\Lib\\site-packages"  # Windows paths too
    error = library_traceback(*(f"{site}\\{name}\\x.py" for name in ("a", "b", "c")))
    assert "[... 3 frames inside libraries not shown ...]" in render_outputs([error]).text
    posix = library_traceback(*(f"/e/lib/python3/site-packages/{n}/x.py" for n in "abc"))
    assert "[... 3 frames inside libraries not shown ...]" in render_outputs([posix]).text


async def test_a_real_error_inside_the_standard_library_shows_the_cells_line(executor):
    result = await executor.execute("import json\nconfig = json.loads('{')", 30)
    assert result.status is ActionStatus.ERROR
    text = format_observation(result.outputs, result.status).text
    assert "----> 2 config = json.loads('{')" in text
    assert re.search(r"\[\.\.\. \d+ frames inside the standard library not shown \.\.\.\]", text)
    assert "decoder.py" not in text
    assert text.splitlines()[-1].startswith("JSONDecodeError: Expecting property name")
    # the cell itself keeps every frame: only the model's view is shortened
    assert "decoder.py" in strip_ansi("\n".join(result.outputs[0]["traceback"]))
