"""The model client against the scripted OpenAI-compatible server, over real HTTP."""

from __future__ import annotations

import json
import socket
import time
import traceback

import pytest

from codeact_lab.agent.episode import Usage
from codeact_lab.agent.llm import STOP_SEQUENCE, LLMError, public_endpoint

from .conftest import TEST_KEY

MESSAGES = [
    {"role": "system", "content": "You are a CodeAct agent."},
    {"role": "user", "content": "What is 6 * 7?"},
]


class Recorder:
    """on_delta / on_retry callbacks that remember what they were told."""

    def __init__(self) -> None:
        self.deltas: list[str] = []
        self.delta_times: list[float] = []
        self.retries: list[tuple[int, str, float]] = []

    def on_delta(self, text: str) -> None:
        self.deltas.append(text)
        self.delta_times.append(time.monotonic())

    def on_retry(self, attempt: int, reason: str, delay: float) -> None:
        self.retries.append((attempt, reason, delay))


def error_text(err: BaseException) -> str:
    """Everything an error could show: message, repr, and the whole chained traceback."""
    return "\n".join([str(err), repr(err), "".join(traceback.format_exception(err))])


@pytest.fixture
def new_llm(make_llm, jp_asyncio_loop):
    """conftest's make_llm, closing each client (and its connection pool) on the test's loop."""
    made = []

    def make(**overrides):
        client = make_llm(**overrides)
        made.append(client)
        return client

    yield make
    for client in made:
        jp_asyncio_loop.run_until_complete(client.close())


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------


async def test_deltas_stream_in_order_and_join_to_the_reply(scripted, new_llm):
    text = "Let me think about this step by step, then answer."
    scripted.script({"text": text, "chunk": 5, "delay": 0.02})
    rec = Recorder()
    completion = await new_llm().complete(MESSAGES, on_delta=rec.on_delta)
    assert completion.text == text
    assert completion.finish_reason == "stop"
    assert completion.retries == 0
    assert rec.deltas == [text[i : i + 5] for i in range(0, len(text), 5)]
    assert "".join(rec.deltas) == completion.text
    # Streamed, not buffered: the deltas arrive spread over the reply's duration.
    assert rec.delta_times[-1] - rec.delta_times[0] >= 0.5 * 0.02 * (len(rec.deltas) - 1)
    request = scripted.requests[0]
    assert request["stream"] is True
    assert request["model"] == "scripted"
    assert request["messages"] == MESSAGES


async def test_stop_sequence_is_sent_and_the_tag_put_back(scripted, new_llm):
    text = "I will run it.\n<execute>\nprint(6 * 7)\n</execute>\nThe output is 42 (a guess)."
    scripted.script({"text": text, "chunk": 4})
    rec = Recorder()
    completion = await new_llm().complete(MESSAGES, on_delta=rec.on_delta)
    assert scripted.requests[0]["stop"] == [STOP_SEQUENCE] == ["</execute>"]
    # The server cut the reply at the stop string and stripped it; the client closes the tag.
    assert "".join(rec.deltas) == "I will run it.\n<execute>\nprint(6 * 7)\n"
    assert completion.text == "I will run it.\n<execute>\nprint(6 * 7)\n</execute>"
    assert "a guess" not in completion.text


async def test_tag_put_back_on_its_own_line(scripted, new_llm):
    scripted.script({"text": "<execute>x = 1</execute> more"})
    completion = await new_llm().complete(MESSAGES)
    assert completion.text == "<execute>x = 1\n</execute>"


async def test_closed_or_absent_tags_are_left_alone(scripted, new_llm):
    scripted.script(
        {"text": "No code here, just <solution>42</solution>"},
        {"text": "<execute>a = 1</execute> text", "finish_reason": "length"},
    )
    llm = new_llm()
    assert (await llm.complete(MESSAGES)).text == "No code here, just <solution>42</solution>"
    # Cut off by max_tokens (finish_reason "length"): no tag is invented.
    truncated = await llm.complete(MESSAGES)
    assert truncated.finish_reason == "length"
    assert truncated.text == "<execute>a = 1"


async def test_no_stop_sequence_when_disabled(scripted, new_llm):
    text = "<execute>\nprint(1)\n</execute>\nafter"
    scripted.script({"text": text})
    completion = await new_llm(use_stop_sequence=False).complete(MESSAGES)
    assert "stop" not in scripted.requests[0]
    assert completion.text == text


async def test_usage_is_recorded_from_the_usage_chunk(scripted, new_llm):
    text = "<solution>42</solution>" * 3
    scripted.script({"text": text})
    completion = await new_llm().complete(MESSAGES)
    request = scripted.requests[0]
    assert request["stream_options"] == {"include_usage": True}
    prompt_chars = sum(len(json.dumps(m["content"])) for m in MESSAGES)
    assert completion.usage == Usage(prompt_chars // 4, len(text) // 4)
    assert completion.usage.total_tokens == prompt_chars // 4 + len(text) // 4


async def test_no_usage_when_the_server_sends_none(scripted, new_llm):
    scripted.script({"text": "hello", "usage": False}, {"text": "hello"})
    assert (await new_llm().complete(MESSAGES)).usage is None
    # Not asked for: not sent either.
    assert (await new_llm(stream_usage=False).complete(MESSAGES)).usage is None
    assert "stream_options" not in scripted.requests[1]


async def test_request_options(scripted, new_llm):
    scripted.script({"text": "ok"})
    await new_llm(temperature=0.3, max_tokens=77, extra_body={"top_k": 5}).complete(MESSAGES)
    request = scripted.requests[0]
    assert request["temperature"] == 0.3
    assert request["max_tokens"] == 77
    assert request["top_k"] == 5


# ---------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------


async def test_500_then_success_is_retried(scripted, new_llm):
    scripted.script({"status": 500, "message": "overloaded"}, {"text": "fine now"})
    rec = Recorder()
    completion = await new_llm().complete(MESSAGES, on_delta=rec.on_delta, on_retry=rec.on_retry)
    assert completion.text == "fine now"
    assert completion.retries == 1
    assert len(scripted.requests) == 2
    assert scripted.requests[0] == scripted.requests[1]  # the same request, sent again
    assert len(rec.retries) == 1
    attempt, reason, delay = rec.retries[0]
    assert attempt == 1
    assert "500" in reason and "overloaded" in reason
    assert 0 <= delay <= 0.05  # retry_max_delay of the fixture
    assert rec.deltas == ["fine now"]


async def test_429_retry_after_is_honoured(scripted, new_llm):
    scripted.script(
        {"status": 429, "message": "slow down", "headers": {"Retry-After": "0"}},
        {"status": 429, "message": "slow down", "headers": {"Retry-After": "0.3"}},
        {"text": "ok"},
    )
    rec = Recorder()
    # Without Retry-After the backoff would be 5 s and more: the header must win.
    llm = new_llm(retry_base_delay=5.0, retry_max_delay=10.0)
    started = time.monotonic()
    completion = await llm.complete(MESSAGES, on_retry=rec.on_retry)
    elapsed = time.monotonic() - started
    assert completion.text == "ok"
    assert completion.retries == 2
    assert [(a, d) for a, _, d in rec.retries] == [(1, 0.0), (2, 0.3)]
    assert all("429" in reason for _, reason, _ in rec.retries)
    assert 0.3 <= elapsed < 2.0
    assert len(scripted.requests) == 3


async def test_retry_after_is_capped_by_retry_max_delay(scripted, new_llm):
    scripted.script({"status": 429, "headers": {"Retry-After": "3600"}}, {"text": "ok"})
    rec = Recorder()
    started = time.monotonic()
    completion = await new_llm(retry_max_delay=0.1).complete(MESSAGES, on_retry=rec.on_retry)
    assert completion.text == "ok"
    assert rec.retries[0][2] == 0.1
    assert time.monotonic() - started < 2.0


async def test_persistent_500_fails_after_max_retries_plus_one(scripted, new_llm):
    scripted.default = {"status": 503, "message": "down for maintenance"}
    rec = Recorder()
    with pytest.raises(LLMError) as info:
        await new_llm(max_retries=2).complete(MESSAGES, on_retry=rec.on_retry)
    assert len(scripted.requests) == 3
    assert [a for a, _, _ in rec.retries] == [1, 2]
    message = str(info.value)
    assert "503" in message and "down for maintenance" in message
    assert "after 3 attempts" in message
    assert scripted.base_url in message


async def test_no_retries_when_max_retries_is_zero(scripted, new_llm):
    scripted.default = {"status": 500}
    with pytest.raises(LLMError, match="500"):
        await new_llm(max_retries=0).complete(MESSAGES)
    assert len(scripted.requests) == 1


async def test_garbage_is_not_a_chat_stream_and_not_retried(scripted, new_llm):
    scripted.default = {"garbage": "<html><body>Welcome to nginx!</body></html>"}
    rec = Recorder()
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        await new_llm(max_retries=3).complete(MESSAGES, on_retry=rec.on_retry)
    assert "OpenAI-compatible" in str(info.value)
    assert info.value.retryable is False
    assert len(scripted.requests) == 1
    assert rec.retries == []
    assert time.monotonic() - started < 5


async def test_connection_dropped_mid_stream_is_retried(scripted, new_llm):
    scripted.script(
        {"text": "This reply will be cut off part way through.", "chunk": 5, "close_after": 10},
        {"text": "A whole reply."},
    )
    rec = Recorder()
    completion = await new_llm().complete(MESSAGES, on_delta=rec.on_delta, on_retry=rec.on_retry)
    assert completion.text == "A whole reply."
    assert completion.retries == 1
    assert len(scripted.requests) == 2
    # The first attempt's partial draft was streamed, then the caller was told it restarts.
    assert rec.deltas == ["This ", "reply", "A whole reply."]
    assert len(rec.retries) == 1


async def test_connection_dropped_with_no_script_left_fails(scripted, new_llm):
    scripted.script({"text": "Cut off part way through.", "chunk": 5, "close_after": 5})
    with pytest.raises(LLMError):
        await new_llm(max_retries=1).complete(MESSAGES)
    assert len(scripted.requests) == 2


async def test_connection_dropped_every_time_fails_with_a_clear_error(scripted, new_llm):
    scripted.default = {"text": "Cut off part way through.", "chunk": 5, "close_after": 5}
    with pytest.raises(LLMError) as info:
        await new_llm(max_retries=2).complete(MESSAGES)
    assert len(scripted.requests) == 3
    message = str(info.value)
    assert "closed" in message  # "... closed connection without sending complete message body"
    assert "after 3 attempts" in message


async def test_connection_dropped_mid_stream_is_not_called_unreachable(scripted, new_llm):
    scripted.default = {"text": "Cut off part way through.", "chunk": 5, "close_after": 5}
    with pytest.raises(LLMError) as info:
        await new_llm(max_retries=0).complete(MESSAGES)
    assert "unreachable" not in str(info.value)
    assert "mid-reply" in str(info.value)


# ---------------------------------------------------------------------------
# Unreachable, timeouts
# ---------------------------------------------------------------------------


async def test_unreachable_endpoint_fails_fast(new_llm):
    port = closed_port()
    rec = Recorder()
    llm = new_llm(base_url=f"http://127.0.0.1:{port}/v1", max_retries=2)
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        await llm.complete(MESSAGES, on_retry=rec.on_retry)
    assert time.monotonic() - started < 3.0
    message = str(info.value)
    assert "unreachable" in message
    assert f"127.0.0.1:{port}" in message
    assert len(rec.retries) == 2  # connection failures are retried


async def test_credentials_in_the_base_url_never_appear_in_errors(new_llm):
    port = closed_port()
    llm = new_llm(base_url=f"http://user:hunter2@127.0.0.1:{port}/v1?key=abc123", max_retries=0)
    assert llm.endpoint == f"http://127.0.0.1:{port}/v1"
    with pytest.raises(LLMError) as info:
        await llm.complete(MESSAGES)
    text = error_text(info.value)
    assert "unreachable" in str(info.value)
    assert "hunter2" not in str(info.value) and "abc123" not in str(info.value)
    assert TEST_KEY not in text
    assert "hunter2" not in repr(llm) and TEST_KEY not in repr(llm)


async def test_hang_longer_than_request_timeout_times_out(scripted, new_llm):
    scripted.default = {"hang": 5}
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        await new_llm(request_timeout=0.5, max_retries=1).complete(MESSAGES)
    elapsed = time.monotonic() - started
    assert "timed out" in str(info.value)
    assert len(scripted.requests) == 2  # a timeout is retried
    assert 0.9 <= elapsed < 3.5


async def test_server_going_quiet_mid_stream_is_a_read_timeout(scripted, new_llm):
    scripted.default = {"text": "abcdefgh", "chunk": 2, "delay": 5}
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        await new_llm(request_timeout=0.5, max_retries=0).complete(MESSAGES)
    assert time.monotonic() - started < 2.5
    message = str(info.value)
    assert "read timeout" in message or "timed out" in message


# ---------------------------------------------------------------------------
# The API key
# ---------------------------------------------------------------------------


async def test_401_is_about_the_key_and_does_not_leak_it(scripted, new_llm):
    scripted.default = {"status": 401, "message": "Incorrect API key provided: sk-test***1e."}
    llm = new_llm()
    with pytest.raises(LLMError) as info:
        await llm.complete(MESSAGES)
    message = str(info.value)
    assert "API key" in message and "401" in message
    assert info.value.retryable is False
    assert len(scripted.requests) == 1  # a bad key is not retried
    assert TEST_KEY not in error_text(info.value)
    assert TEST_KEY not in repr(llm) and TEST_KEY not in repr(llm.config)


@pytest.mark.parametrize(
    ("entry", "max_retries"),
    [
        ({"status": 403, "message": "forbidden"}, 0),
        ({"status": 404, "message": "no such model"}, 0),
        ({"status": 400, "message": "bad request"}, 0),
        ({"status": 500, "message": "boom"}, 1),
        ({"status": 429, "message": "slow", "headers": {"Retry-After": "0"}}, 1),
        ({"garbage": "not json"}, 0),
        ({"hang": 3}, 0),
        ({"text": "cut off here", "chunk": 2, "close_after": 4}, 1),
    ],
)
async def test_the_key_appears_in_no_error(scripted, new_llm, entry, max_retries):
    scripted.default = entry
    with pytest.raises(LLMError) as info:
        await new_llm(request_timeout=0.5, max_retries=max_retries).complete(MESSAGES)
    assert TEST_KEY not in error_text(info.value)
    assert TEST_KEY[3:] not in error_text(info.value)


@pytest.mark.parametrize("status", [401, 400, 500])
async def test_a_key_echoed_by_the_server_is_redacted(scripted, new_llm, status):
    # Some proxies echo the key they were given; the error (which the loop stores in the
    # episode record) and the retry reasons must not carry it.
    scripted.default = {"status": status, "message": f"Incorrect API key provided: {TEST_KEY}."}
    rec = Recorder()
    with pytest.raises(LLMError) as info:
        await new_llm(max_retries=1).complete(MESSAGES, on_retry=rec.on_retry)
    assert "Incorrect API key provided: ***." in str(info.value)
    assert TEST_KEY not in str(info.value)
    assert all(TEST_KEY not in reason for _, reason, _ in rec.retries)
    assert len(rec.retries) == (1 if status == 500 else 0)


async def test_404_names_the_model(scripted, new_llm):
    scripted.default = {"status": 404, "message": "model not found"}
    with pytest.raises(LLMError, match=r"does not know model 'scripted' \(404\)"):
        await new_llm().complete(MESSAGES)
    assert len(scripted.requests) == 1


async def test_key_is_sent_only_in_the_authorization_header(scripted, new_llm):
    scripted.script({"status": 500}, {"text": "ok"})
    await new_llm().complete(MESSAGES)
    assert len(scripted.headers) == 2
    for headers, body in zip(scripted.headers, scripted.requests, strict=True):
        assert headers["Authorization"] == f"Bearer {TEST_KEY}"
        others = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        assert TEST_KEY not in json.dumps(others)
        assert TEST_KEY not in json.dumps(body)


def test_public_endpoint_drops_credentials_and_query():
    assert public_endpoint("https://user:pw@host:8443/v1?key=abc") == "https://host:8443/v1"
    assert public_endpoint("https://host/v1#frag") == "https://host/v1"
    assert public_endpoint("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert public_endpoint("https://token@api.example.com/openai/v1") == (
        "https://api.example.com/openai/v1"
    )
    assert public_endpoint(None) == "https://api.openai.com/v1"
    assert public_endpoint("") == "https://api.openai.com/v1"
    shown = public_endpoint("https://user:pw@host:8443/v1?key=abc")
    assert "pw" not in shown and "user" not in shown and "abc" not in shown


# ---------------------------------------------------------------------------
# Bounded replies, and no credentials for an endpoint the user did not configure
# ---------------------------------------------------------------------------


async def test_a_trickling_reply_hits_the_reply_deadline(scripted, new_llm):
    # A token every 0.4 s never trips the per-read timeout; the whole reply has a deadline.
    scripted.script({"text": "x" * 100, "chunk": 1, "delay": 0.4})
    llm = new_llm(reply_timeout=1.5, request_timeout=10)
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"did not finish its reply within 1.5 s"):
        await llm.complete([{"role": "user", "content": "hi"}])
    assert time.monotonic() - started < 3


async def test_max_tokens_is_applied_when_the_endpoint_ignores_it(scripted, new_llm):
    scripted.script({"text": "word " * 5_000, "chunk": 5})  # the server sends it all
    llm = new_llm(max_tokens=50)
    completion = await llm.complete([{"role": "user", "content": "hi"}])
    assert completion.finish_reason == "length"
    assert len(completion.text) <= (50 + 17) * 5
    assert scripted.requests[0]["max_tokens"] == 50


async def test_an_untrusted_endpoint_gets_no_credentials_at_all(scripted, new_llm, monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-secret-1234")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-secret-5678")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "X-Gateway-Token: gw-secret-9012")
    scripted.script({"text": "a"}, {"text": "b"})
    trusted = new_llm(organization="org-configured", default_headers={"X-Team": "t1"})
    await trusted.complete([{"role": "user", "content": "hi"}])
    untrusted = new_llm(
        organization="org-configured", default_headers={"X-Team": "t1"}, trusted=False
    )
    await untrusted.complete([{"role": "user", "content": "hi"}])
    sent, bare = ({k.lower(): v for k, v in h.items()} for h in scripted.headers)
    assert sent["authorization"] == f"Bearer {TEST_KEY}"
    assert sent["openai-organization"] == "org-configured" and sent["x-team"] == "t1"
    assert sent["x-gateway-token"] == "gw-secret-9012"  # the environment's, for the configured one
    assert bare["authorization"] == "Bearer not-needed"
    assert not {"openai-organization", "openai-project", "x-team", "x-gateway-token"} & set(bare)
    assert "secret" not in json.dumps(bare) and TEST_KEY not in json.dumps(bare)
