"""Traitlets configuration shared by the server and the command line."""

from __future__ import annotations

import json

from codeact_lab.config import CodeAct, load_config_files


def test_config_files_are_read_and_later_folders_lose(tmp_path, monkeypatch):
    user, system = tmp_path / "user", tmp_path / "system"
    user.mkdir()
    system.mkdir()
    (user / "codeact_lab_config.py").write_text(
        "c.CodeAct.model = 'from-user'\nc.CodeAct.max_turns = 4\n"
    )
    (system / "jupyter_server_config.json").write_text(
        json.dumps({"CodeAct": {"model": "from-system", "action_timeout": 5}})
    )
    # jupyter_config_path() order: the first folder has the highest priority.
    settings = CodeAct(config=load_config_files([str(user), str(system)]))
    assert settings.model == "from-user"
    assert settings.max_turns == 4 and settings.action_timeout == 5
    policy = settings.policy()
    assert policy.max_turns == 4 and policy.action_timeout == 5


def test_key_comes_from_the_named_variable_and_is_never_recorded(monkeypatch):
    monkeypatch.setenv("MY_PROVIDER_KEY", "sk-provider-0123456789")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = CodeAct(api_key_env="MY_PROVIDER_KEY", base_url="https://u:p@example.com/v1?x=1")
    llm = settings.llm_config()
    assert llm.api_key == "sk-provider-0123456789"
    recorded = settings.episode_settings(llm, settings.policy()).to_dict()
    assert "sk-provider" not in json.dumps(recorded)
    assert recorded["endpoint"] == "https://example.com/v1"


def test_model_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("CODEACT_MODEL", "qwen-local")
    assert CodeAct().model == "qwen-local"


def test_fresh_starts_are_configured_for_every_episode(tmp_path):
    (tmp_path / "codeact_lab_config.py").write_text(
        "c.CodeAct.fresh_starts = 0\nc.CodeAct.fresh_start_temperature = None\n"
    )
    policy = CodeAct(config=load_config_files([str(tmp_path)])).policy()
    assert policy.fresh_starts == 0 and policy.fresh_start_temperature is None
    default = CodeAct().policy()
    assert default.fresh_starts == 2 and default.fresh_start_temperature == 0.7
