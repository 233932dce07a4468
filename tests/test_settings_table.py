"""The per-episode settings table against every place that offers or checks them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codeact_lab.agent import Policy
from codeact_lab.config import CodeAct
from codeact_lab.magic import UsageError, parse
from codeact_lab.server.errors import BadRequest
from codeact_lab.server.manager import parse_overrides
from codeact_lab.settings_table import BY_NAME, MAX_TURNS, PER_EPISODE

PLUGIN = Path(__file__).parent.parent / "labextension" / "schema" / "plugin.json"
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def plugin_properties() -> dict[str, dict]:
    return json.loads(PLUGIN.read_text(encoding="utf-8"))["properties"]


def test_every_frontend_setting_is_in_the_table():
    offered = {s.frontend.property for s in PER_EPISODE if s.frontend}
    # Every property of the plugin is a per-episode setting, and each such row is there.
    assert set(plugin_properties()) == offered


@pytest.mark.parametrize("setting", [s for s in PER_EPISODE if s.frontend], ids=lambda s: s.name)
def test_the_frontend_setting_has_the_tables_type_default_and_range(setting):
    assert setting.frontend is not None
    prop = plugin_properties()[setting.frontend.property]
    assert prop["type"] == JSON_TYPES[setting.type]
    assert prop["default"] == setting.frontend.default
    # The frontend's default is the table's, or a value it sends nothing for: "" (which
    # the server would skip too) or a number below the range.
    unset = setting.frontend.default != setting.default
    if unset and setting.frontend.default == "":
        assert parse_overrides({setting.name: ""}) == {}
    elif unset:
        assert setting.low is not None and setting.frontend.default < setting.low
    if setting.choices:
        consts = [option["const"] for option in prop["oneOf"]]
        assert consts == ([""] if unset else []) + list(setting.choices)
    if setting.low is not None:
        assert prop["maximum"] == setting.high
        assert prop["minimum"] == (setting.frontend.default if unset else setting.low)
        assert f"{setting.low:g} to {setting.high:g}" in prop["description"]
    else:
        assert "minimum" not in prop and "maximum" not in prop


def test_the_traits_and_the_policy_default_to_the_table():
    settings = CodeAct()
    for setting in PER_EPISODE:
        if setting.name != "model":  # the model's comes from CODEACT_MODEL when set
            assert getattr(settings, setting.name) == setting.default, setting.name
        assert CodeAct.class_traits()[setting.name].help == setting.help
    assert Policy().max_turns == MAX_TURNS.default
    assert Policy().action_timeout == BY_NAME["action_timeout"].default


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"model": "m" * 201}, "model must be a string of at most 200 characters"),
        ({"model": 7}, "model must be a string of at most 200 characters"),
        ({"base_url": "ftp://x/v1"}, "base_url must be an http:// or https:// URL"),
        ({"approval": "yes"}, "approval must be auto or ask"),
        ({"max_turns": 0}, "max_turns must be from 1 to 100"),
        ({"max_turns": 101}, "max_turns must be from 1 to 100"),
        ({"max_turns": 2.5}, "max_turns must be a whole number from 1 to 100"),
        ({"action_timeout": 0}, "action_timeout must be in (0, 86400]"),
        ({"action_timeout": "5"}, "action_timeout must be a number"),
        ({"temperature": 2.5}, "temperature must be in [0, 2]"),
        ({"describe_notebook": 1}, "describe_notebook must be true or false, not int"),
        ({"api_key": "k"}, "unknown setting 'api_key'; allowed: model, base_url, approval, "),
    ],
)
def test_the_server_refuses_what_the_table_does_not_allow(settings, message):
    with pytest.raises(BadRequest) as err:
        parse_overrides(settings)
    assert str(err.value).startswith(message)


def test_the_server_takes_what_the_table_allows():
    settings = {
        "model": "qwen",
        "base_url": " http://127.0.0.1:8000/v1 ",
        "approval": "ask",
        "max_turns": 100.0,
        "action_timeout": 86400,
        "temperature": 0,
        "describe_notebook": False,
    }
    assert parse_overrides(settings) == {
        "model": "qwen",
        "base_url": "http://127.0.0.1:8000/v1",
        "approval": "ask",
        "max_turns": 100,
        "action_timeout": 86400.0,
        "temperature": 0.0,
        "describe_notebook": False,
    }


def test_the_magics_range_is_the_tables():
    assert parse(f"--max-turns {MAX_TURNS.high:g} t", None).settings == {"max_turns": 100}
    for value in (0, 101):
        with pytest.raises(UsageError, match=r"^--max-turns must be a number from 1 to 100$"):
            parse(f"--max-turns {value} t", None)
