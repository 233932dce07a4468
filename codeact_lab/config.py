"""Configuration, through traitlets: shared by the server extension and the command line.

Set it in any Jupyter config file (``jupyter_server_config.py`` or
``codeact_lab_config.py`` in ``jupyter --config-dir``)::

    c.CodeAct.model = "gpt-4o-mini"
    c.CodeAct.base_url = "http://127.0.0.1:8000/v1"
    c.CodeAct.api_key_env = "MY_PROVIDER_KEY"

or with environment variables: ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``CODEACT_MODEL``.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from jupyter_core.paths import jupyter_config_path
from traitlets import Bool, CaselessStrEnum, Dict, Float, Int, List, Unicode, default
from traitlets.config import Config, Configurable
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

from .agent import EpisodeSettings, LLMConfig, Policy, PromptTemplate
from .agent.llm import public_endpoint
from .agent.notebook_view import DEFAULT_BUDGET_TOKENS as DEFAULT_NOTEBOOK_TOKENS
from .agent.prompts import PROMPT_VERSION, SYSTEM_PROMPT
from .local_model.settings import LocalModelSettings
from .settings_table import (
    ACTION_TIMEOUT,
    APPROVAL,
    BASE_URL,
    DESCRIBE_NOTEBOOK,
    MAX_TURNS,
    MODEL,
    TEMPERATURE,
)

CONFIG_FILES = ("jupyter_server_config", "codeact_lab_config")
# What the openai client reads from the environment on its own, besides the base URL.
OPENAI_CREDENTIAL_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_ADMIN_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_WEBHOOK_SECRET",
    "OPENAI_CUSTOM_HEADERS",
)


class CodeAct(LocalModelSettings, Configurable):
    """Settings of codeact-lab's agent: model endpoint, limits, prompt."""

    # The settings a user may also choose per episode: default and help from their table.
    model = Unicode(help=MODEL.help).tag(config=True)
    base_url = Unicode(BASE_URL.default, help=BASE_URL.help).tag(config=True)
    api_key = Unicode(
        "", help="API key. Prefer api_key_env: a key in a config file is easy to leak."
    ).tag(config=True)
    api_key_env = Unicode(
        "OPENAI_API_KEY", help="Name of the environment variable that holds the API key."
    ).tag(config=True)
    temperature = Float(TEMPERATURE.default, help=TEMPERATURE.help).tag(config=True)
    max_tokens = Int(1024, help="Most tokens one model reply may have (0: no limit).").tag(
        config=True
    )
    context_tokens = Int(
        None,
        allow_none=True,
        help="The model's context window in tokens, the reply included. Every prompt is "
        "condensed to fit it, with max_tokens left for the reply (older outputs shortened "
        "first). Unset: the embedded local model's context (and this sets it when given), "
        "or 32768 for an endpoint.",
    ).tag(config=True)
    request_timeout = Float(
        120.0, help="Seconds to wait for the endpoint (connect, each read)."
    ).tag(config=True)
    max_retries = Int(3, help="Retries on 429, 5xx, timeouts and broken connections.").tag(
        config=True
    )
    reply_timeout = Float(
        300.0,
        help="Seconds one whole model reply may take, retries included (0: no limit). A reply "
        "still streaming then ends the episode with an error.",
    ).tag(config=True)
    organization = Unicode(
        "", help="OpenAI organization sent to the configured endpoint (env OPENAI_ORG_ID)."
    ).tag(config=True)
    project = Unicode(
        "", help="OpenAI project sent to the configured endpoint (env OPENAI_PROJECT_ID)."
    ).tag(config=True)
    default_headers = Dict(
        per_key_traits=Unicode(),
        help="Extra HTTP headers for the configured endpoint only (a gateway's token, say).",
    ).tag(config=True)
    credentials_in_kernels = Bool(
        False,
        help="Let the kernels the Jupyter server starts inherit the model's credentials (the "
        "api_key_env variable, OPENAI_API_KEY, OPENAI_ORG_ID, OPENAI_PROJECT_ID, "
        "OPENAI_CUSTOM_HEADERS, ...). Off: they are taken out of every kernel's environment, "
        "so code the model writes cannot read them, in any encoding.",
    ).tag(config=True)
    max_turns = Int(MAX_TURNS.default, help=MAX_TURNS.help).tag(config=True)
    action_timeout = Float(ACTION_TIMEOUT.default, help=ACTION_TIMEOUT.help).tag(config=True)
    budget = Float(0.0, help="Wall-clock seconds for one user message (0: no limit).").tag(
        config=True
    )
    max_output_chars = Int(
        4000, help="Characters of one action's output the model reads (head and tail kept)."
    ).tag(config=True)
    vision = Bool(False, help="Send images (plots) to the model; for vision models.").tag(
        config=True
    )
    fresh_starts = Int(
        Policy.fresh_starts,
        help="When the model repeats itself (its last action, or an answer it was told is "
        "wrong), the request starts over at most this many times, its turns so far out of "
        "the model's view (0: never; the repeat is pointed out, a third ends it as stuck).",
    ).tag(config=True)
    fresh_start_temperature = Float(
        Policy.fresh_start_temperature,
        allow_none=True,
        help="Temperature of the first reply after a request's second fresh start, seeded "
        "by its turn (None: the model's own).",
    ).tag(config=True)
    approval = CaselessStrEnum(list(APPROVAL.choices), APPROVAL.default, help=APPROVAL.help).tag(
        config=True
    )
    system_prompt = Unicode(
        SYSTEM_PROMPT, help="System prompt, with {tools} and {context} slots."
    ).tag(config=True)
    prompt_version = Unicode(
        PROMPT_VERSION, help="Version recorded in episodes; change it with the prompt."
    ).tag(config=True)
    tools = List(
        Unicode(),
        help="Names of kernel functions to describe to the model as tools (besides @tool ones).",
    ).tag(config=True)
    describe_kernel = Bool(
        True, help="Tell the model the kernel's variables and tools at the start of an episode."
    ).tag(config=True)
    describe_notebook = Bool(DESCRIBE_NOTEBOOK.default, help=DESCRIBE_NOTEBOOK.help).tag(
        config=True
    )
    notebook_context_tokens = Int(
        DEFAULT_NOTEBOOK_TOKENS,
        min=100,
        max=100_000,
        help="Most tokens the notebook's view may take in a message (cells nearest the "
        "episode's cell first).",
    ).tag(config=True)

    @default("model")
    def _default_model(self) -> str:
        return os.environ.get("CODEACT_MODEL", str(MODEL.default))

    def resolved_api_key(self) -> str | None:
        return self.api_key or os.environ.get(self.api_key_env or "OPENAI_API_KEY") or None

    def llm_config(self, **overrides: Any) -> LLMConfig:
        cfg = LLMConfig(
            model=self.model,
            base_url=self.base_url or None,
            api_key=self.resolved_api_key(),
            temperature=self.temperature,
            max_tokens=self.max_tokens or None,
            context_tokens=self.context_tokens or None,
            request_timeout=self.request_timeout,
            max_retries=self.max_retries,
            organization=self.organization or os.environ.get("OPENAI_ORG_ID") or None,
            project=self.project or os.environ.get("OPENAI_PROJECT_ID") or None,
            default_headers=dict(self.default_headers),
            reply_timeout=self.reply_timeout or None,
        )
        return _with_overrides(cfg, overrides)

    def credential_variables(self) -> set[str]:
        """The environment variables that hold the model's credentials."""
        return {*OPENAI_CREDENTIAL_VARIABLES, self.api_key_env or "OPENAI_API_KEY"}

    def policy(self, **overrides: Any) -> Policy:
        policy = Policy(
            max_turns=self.max_turns,
            action_timeout=self.action_timeout or None,
            budget=self.budget or None,
            max_output_chars=self.max_output_chars,
            vision=self.vision,
            fresh_starts=self.fresh_starts,
            fresh_start_temperature=self.fresh_start_temperature,
        )
        return _with_overrides(policy, overrides)

    def prompt(self) -> PromptTemplate:
        return PromptTemplate(self.system_prompt, self.prompt_version)

    def episode_settings(self, llm: LLMConfig, policy: Policy, **extra: Any) -> EpisodeSettings:
        """What an episode records of its settings: never the key."""
        return EpisodeSettings(
            model=llm.model,
            endpoint=public_endpoint(llm.resolved_base_url()),
            prompt_version=self.prompt_version,
            max_turns=policy.max_turns,
            action_timeout=policy.action_timeout or 0.0,
            budget=policy.budget,
            temperature=llm.temperature,
            max_tokens=llm.max_tokens,
            max_output_chars=policy.max_output_chars,
            vision=policy.vision,
            **{"approval": "ask" if policy.approver else "auto", **extra},
        )


T = TypeVar("T")


def _with_overrides(target: T, overrides: dict[str, Any]) -> T:
    """Set the overrides that were given (None means: keep the configured value)."""
    for key, value in overrides.items():
        if value is not None:
            setattr(target, key, value)
    return target


def load_config_files(paths: list[str] | None = None) -> Config:
    """Jupyter's config files, lowest priority first, as one traitlets Config."""
    config = Config()
    for directory in reversed(paths if paths is not None else jupyter_config_path()):
        for name in CONFIG_FILES:
            for loader_cls, ext in ((JSONFileConfigLoader, ".json"), (PyFileConfigLoader, ".py")):
                if not os.path.isfile(os.path.join(directory, name + ext)):
                    continue
                loader = loader_cls(name + ext, path=directory)
                config.merge(loader.load_config())
    return config
