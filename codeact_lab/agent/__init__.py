"""The CodeAct core: episode record, model client, parser, prompts, observations, loop.

Nothing here imports tornado, jupyter_server or anything of the browser; the
server, the command line, the magic, the benchmarks and the tests all drive it.
"""

from .episode import (
    ActionStatus,
    Episode,
    EpisodeSettings,
    Event,
    EventType,
    FinalState,
    Step,
    StepKind,
    Usage,
)
from .executor import ExecutionResult, Executor
from .kernel_executor import KernelExecutor
from .llm import ChatModel, Completion, LLMClient, LLMConfig, LLMError, public_endpoint
from .loop import Approver, Decision, Policy, StopSignal, run
from .parser import ParsedAction, ParsedReply, parse_reply
from .prompts import PROMPT_VERSION, SYSTEM_PROMPT, PromptTemplate

__all__ = [
    "PROMPT_VERSION",
    "SYSTEM_PROMPT",
    "ActionStatus",
    "Approver",
    "ChatModel",
    "Completion",
    "Decision",
    "Episode",
    "EpisodeSettings",
    "Event",
    "EventType",
    "ExecutionResult",
    "Executor",
    "FinalState",
    "KernelExecutor",
    "LLMClient",
    "LLMConfig",
    "LLMError",
    "ParsedAction",
    "ParsedReply",
    "Policy",
    "PromptTemplate",
    "Step",
    "StepKind",
    "StopSignal",
    "Usage",
    "parse_reply",
    "public_endpoint",
    "run",
]
