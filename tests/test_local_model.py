"""The embedded local model: weights resolution, the managed server process, the decision.

Weights come from small fake part packages written to tmp; the server process is
``tests/fake_llama_server.py`` run through the real launcher, so starting, health
checks, restarts, the parent watchdog and stopping are all real processes. The real
model is in ``test_local_model_real.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from codeact_lab.agent import LLMError
from codeact_lab.config import CodeAct
from codeact_lab.local_model import resolve as resolve_mod
from codeact_lab.local_model import weights
from codeact_lab.local_model.resolve import NO_MODEL_NOTE, resolve_model
from codeact_lab.local_model.server import LocalModelError, LocalModelServer
from codeact_lab.local_model.weights import PinnedModel, WeightsError, resolve_weights

FAKE_SERVER = str(Path(__file__).with_name("fake_llama_server.py"))
PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


def make_parts(root: Path, prefix: str, contents: list[bytes]) -> None:
    """Part packages like the real ones: module ``{prefix}{n}`` with ``get_part_path()``."""
    for n, data in enumerate(contents, 1):
        package = root / f"{prefix}{n}"
        (package / "data").mkdir(parents=True)
        (package / "data" / f"part{n:02d}.bin").write_bytes(data)
        (package / "__init__.py").write_text(
            textwrap.dedent(
                f"""
                import os
                def get_part_path():
                    return os.path.join(os.path.dirname(__file__), "data", "part{n:02d}.bin")
                """
            )
        )


@pytest.fixture
def fake_model(tmp_path, monkeypatch) -> PinnedModel:
    """A pinned model of three fake parts, installed as importable packages."""
    prefix = f"fake_gguf_part_{os.getpid()}_{time.monotonic_ns()}_"
    make_parts(tmp_path / "site", prefix, PARTS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    joined = b"".join(PARTS)
    model = PinnedModel(
        name="fake-model",
        title="Fake Model",
        filename="fake-model.gguf",
        distribution="fake-gguf-part{n}",
        module=prefix + "{n}",
        parts=len(PARTS),
        version="1.0",
        size=len(joined),
        sha256=hashlib.sha256(joined).hexdigest(),
        params="0B",
    )
    monkeypatch.setitem(weights.MODELS, model.name, model)
    return model


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


# ---- weights ----
def test_parts_are_joined_into_the_cache_and_verified(fake_model, cache):
    path = resolve_weights("fake-model", cache_dir=str(cache))
    assert path == str(cache / "fake-model.gguf")
    assert Path(path).read_bytes() == b"".join(PARTS)
    assert os.listdir(cache) == ["fake-model.gguf"]  # no temporary file left


def test_the_cache_is_reused_without_reading_the_parts(fake_model, cache, monkeypatch):
    first = resolve_weights("fake-model", cache_dir=str(cache))

    def no_parts(model):
        raise AssertionError("the parts were read again")

    monkeypatch.setattr(weights, "part_paths", no_parts)
    assert resolve_weights("fake-model", cache_dir=str(cache)) == first


def test_a_sha_mismatch_is_a_clear_error_and_leaves_nothing_in_the_cache(
    fake_model, cache, monkeypatch
):
    wrong = PinnedModel(**{**fake_model.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(weights.MODELS, "fake-model", wrong)
    with pytest.raises(WeightsError) as err:
        resolve_weights("fake-model", cache_dir=str(cache))
    message = str(err.value)
    assert "do not match the pinned release" in message and "0" * 64 in message
    assert "nothing was written" in message
    assert os.listdir(cache) == []


def test_a_truncated_cache_file_is_rebuilt(fake_model, cache):
    cache.mkdir()
    (cache / "fake-model.gguf").write_bytes(b"GGUF half")
    path = resolve_weights("fake-model", cache_dir=str(cache))
    assert Path(path).read_bytes() == b"".join(PARTS)


def test_an_interrupted_join_leaves_nothing(fake_model, cache):
    def stop(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        resolve_weights("fake-model", cache_dir=str(cache), progress=stop)
    assert os.listdir(cache) == []


def test_the_users_path_wins(fake_model, cache, tmp_path):
    resolve_weights("fake-model", cache_dir=str(cache))  # a cached model exists
    mine = tmp_path / "mine.gguf"
    mine.write_bytes(b"GGUF mine")
    assert resolve_weights("fake-model", str(mine), cache_dir=str(cache)) == str(mine)
    assert resolve_weights(str(mine), cache_dir=str(cache)) == str(mine)  # a path as the choice
    with pytest.raises(WeightsError, match=r"CodeAct.local_model_path: there is no file at"):
        resolve_weights("fake-model", str(tmp_path / "nope.gguf"), cache_dir=str(cache))


def test_missing_parts_say_how_to_install_them(fake_model, cache, monkeypatch):
    missing = PinnedModel(**{**fake_model.__dict__, "module": "no_such_part_{n}"})
    monkeypatch.setitem(weights.MODELS, "fake-model", missing)
    with pytest.raises(WeightsError) as err:
        resolve_weights("fake-model", cache_dir=str(cache))
    assert "not installed" in str(err.value) and "install-local-model.sh" in str(err.value)
    assert not cache.exists() or os.listdir(cache) == []


def test_an_unknown_choice_lists_the_known_ones():
    with pytest.raises(WeightsError, match=r"qwen2\.5-coder-1\.5b"):
        resolve_weights("llama-70b")


def test_no_extra_installs_a_part_package_without_its_hash():
    """An extra cannot pin a wheel's hash: the parts come only from the hash-checked install."""
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert extras["local"] == extras["local-light"] == ["llama-cpp-python[server]==0.3.36"]
    parts = {pin.split("==")[0] for m in weights.MODELS.values() for pin in m.pins()}
    listed = {r.split("==")[0] for reqs in extras.values() for r in reqs}
    assert not parts & listed


def test_the_pinned_models_carry_a_hash_for_every_part_wheel():
    for model in weights.MODELS.values():
        lines = model.requirements()
        assert len(lines) == model.parts == len(set(model.wheel_sha256))
        for n, line in enumerate(lines, 1):
            pin, option = line.split()
            assert pin == f"{model.distribution.format(n=n)}=={model.version}"
            assert option.startswith("--hash=sha256:") and len(option) == len("--hash=sha256:") + 64
    no_hashes = PinnedModel(**{**weights.MODELS[weights.LIGHT_MODEL].__dict__, "wheel_sha256": ()})
    with pytest.raises(WeightsError, match="no pinned hashes"):
        no_hashes.requirements()


def write_wheel(folder: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal py3-none-any wheel (what the part packages are)."""
    import base64
    import zipfile

    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
        z.writestr(f"{info}/RECORD", record + f"{info}/RECORD,,\n")
    return wheel


def test_pip_installs_the_parts_only_with_the_pinned_hashes(fake_model, tmp_path):
    """``requirements`` is what the install script gives ``pip --require-hashes``."""
    index = tmp_path / "index"
    index.mkdir()
    name, module = "fake-gguf-part1", fake_model.module.format(n=1)
    init = f"{module}/__init__.py"
    genuine = write_wheel(index, name, "1.0", {init: b"", f"{module}/data/part01.bin": PARTS[0]})
    pinned = PinnedModel(
        **{
            **fake_model.__dict__,
            "parts": 1,
            "wheel_sha256": (hashlib.sha256(genuine.read_bytes()).hexdigest(),),
        }
    )
    requirements = tmp_path / "parts.txt"
    requirements.write_text("\n".join(pinned.requirements()) + "\n")

    def install(target: Path) -> subprocess.CompletedProcess[str]:
        pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        pip += ["--require-hashes", "--no-deps", "--only-binary", ":all:", "--no-index"]
        pip += ["--find-links", str(index), "--target", str(target), "-r", str(requirements)]
        return subprocess.run(pip, capture_output=True, text=True, timeout=120)

    done = install(tmp_path / "good")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "good" / module / "data" / "part01.bin").read_bytes() == PARTS[0]
    # The same name and version, other content (a new upload): refused.
    genuine.unlink()
    write_wheel(index, name, "1.0", {init: b"import os; os.system('boom')", f"{module}/x": b""})
    done = install(tmp_path / "bad")
    assert done.returncode != 0 and "THESE PACKAGES DO NOT MATCH THE HASHES" in done.stderr
    assert not (tmp_path / "bad" / module).exists()


def test_the_parts_are_found_without_being_imported(fake_model, cache, tmp_path):
    """A part package's code never runs in the Jupyter server: finding its file imports nothing."""
    marker = tmp_path / "imported"
    for n in range(1, fake_model.parts + 1):
        init = tmp_path / "site" / fake_model.module.format(n=n) / "__init__.py"
        init.write_text(f"open({str(marker)!r}, 'a').write('{n}')\nraise RuntimeError('ran')\n")
    assert weights.parts_installed(fake_model)
    path = resolve_weights("fake-model", cache_dir=str(cache))
    assert Path(path).read_bytes() == b"".join(PARTS)
    assert not marker.exists()
    assert not any(name in sys.modules for name in fake_model.part_modules())


def test_a_dotted_part_module_is_refused(fake_model):
    dotted = PinnedModel(**{**fake_model.__dict__, "module": "os.part{n}"})
    with pytest.raises(WeightsError, match="not a top-level package"):
        weights.part_paths(dotted)


def test_the_cache_folder_is_created_private(fake_model, tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "models_dir", lambda: str(tmp_path / "data" / "models"))
    path = resolve_weights("fake-model")
    assert Path(path).parent == tmp_path / "data" / "models"
    assert (tmp_path / "data" / "models").stat().st_mode & 0o777 == 0o700
    assert Path(path).stat().st_mode & 0o777 == 0o600


def test_a_file_planted_in_a_world_writable_cache_is_not_trusted(fake_model, cache, monkeypatch):
    cache.mkdir()
    cache.chmod(0o777)  # anyone could have put a file of the right size there
    planted = cache / "fake-model.gguf"
    planted.write_bytes(b"GGUF" + b"x" * (fake_model.size - 4))
    path = resolve_weights("fake-model", cache_dir=str(cache))
    assert Path(path).read_bytes() == b"".join(PARTS)  # joined again, verified
    assert cache.stat().st_mode & 0o777 == 0o700
    # A genuine file in a folder others could write to is kept, once hashed.
    cache.chmod(0o777)

    def no_parts(model):
        raise AssertionError("the parts were read again")

    monkeypatch.setattr(weights, "part_paths", no_parts)
    monkeypatch.setattr(
        weights, "verify", lambda *a, real=weights.verify: hashed.append(a) or real(*a)
    )
    hashed: list[tuple] = []
    assert resolve_weights("fake-model", cache_dir=str(cache)) == path
    assert hashed == [(path, fake_model.sha256)]
    assert cache.stat().st_mode & 0o777 == 0o700
    assert resolve_weights("fake-model", cache_dir=str(cache)) == path  # private now: not hashed
    assert len(hashed) == 1


@pytest.mark.skipif(os.getuid() != 0, reason="making a folder another user's needs root")
def test_a_cache_folder_of_another_user_is_refused(fake_model, cache, tmp_path):
    cache.mkdir()
    os.chown(cache, 65534, 65534)
    with pytest.raises(WeightsError, match=r"belongs to another user \(uid 65534\)"):
        resolve_weights("fake-model", cache_dir=str(cache))
    above = tmp_path / "theirs"
    above.mkdir()
    os.chown(above, 65534, 65534)  # the folder above it could be swapped by them
    with pytest.raises(WeightsError, match="above it belongs to another user"):
        resolve_weights("fake-model", cache_dir=str(above / "mine"))
    open_above = tmp_path / "open"
    open_above.mkdir()
    open_above.chmod(0o777)  # world-writable, not sticky: anyone can rename what is in it
    with pytest.raises(WeightsError, match="anyone can write to it"):
        resolve_weights("fake-model", cache_dir=str(open_above / "mine"))


def test_the_private_dir_command_the_install_script_uses(tmp_path):
    def check(path: Path) -> int:
        command = [sys.executable, "-m", "codeact_lab.local_model", "private-dir", str(path)]
        return subprocess.run(command, capture_output=True, timeout=60).returncode

    fresh = tmp_path / "cache" / "wheels"
    assert check(fresh) == 0 and fresh.stat().st_mode & 0o777 == 0o700
    fresh.chmod(0o777)
    assert check(fresh) == 3 and fresh.stat().st_mode & 0o777 == 0o700  # its wheels: distrusted
    if os.getuid() == 0:
        os.chown(fresh, 65534, 65534)
        assert check(fresh) == 1


# ---- the decision ----
@pytest.fixture
def no_endpoint(monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CODEACT_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)


def test_a_configured_endpoint_is_used_as_before(no_endpoint, monkeypatch):
    model = resolve_model(CodeAct(base_url="http://example.com/v1", model="m"))
    assert not model.local and model.available and model.public() == {}
    assert model.config.base_url == "http://example.com/v1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-something-long-enough")
    assert not resolve_model(CodeAct()).local


async def test_without_endpoint_or_runtime_the_note_explains_both_ways(no_endpoint, monkeypatch):
    monkeypatch.setattr(resolve_mod, "missing_runtime", lambda: ["llama_cpp"])
    model = resolve_model(CodeAct())
    assert not model.available and model.note == NO_MODEL_NOTE
    assert "make lab" in model.note and "OPENAI_API_KEY" in model.note
    assert model.public() == {"endpoint": "", "local": False, "note": NO_MODEL_NOTE}
    with pytest.raises(LLMError, match="No model is configured"):
        await model.client().complete([{"role": "user", "content": "hi"}])
    off = resolve_model(CodeAct(local_model="off"))
    assert not off.available and "CodeAct.local_model is 'off'" in off.note


def test_without_endpoint_the_local_model_is_chosen(no_endpoint, fake_model, monkeypatch):
    monkeypatch.setattr(resolve_mod, "missing_runtime", lambda: [])
    model = resolve_model(CodeAct(local_model="fake-model"))
    assert model.local and model.available and model.server is not None
    assert model.config.base_url == model.server.base_url
    assert model.config.base_url.startswith("http://127.0.0.1:")
    assert model.config.model == "fake-model"
    public = model.public()
    assert public["local"] is True and "small and slow" in public["note"]
    assert "Fake Model" in public["note"]
    assert model.server.state == "stopped"  # lazy: nothing started yet


def test_the_context_window_is_the_local_models_unless_configured(
    no_endpoint, fake_model, monkeypatch
):
    from codeact_lab.agent import LLMClient, LLMConfig
    from codeact_lab.local_model.server import N_CTX

    monkeypatch.setattr(resolve_mod, "missing_runtime", lambda: [])
    model = resolve_model(CodeAct(local_model="fake-model"))
    assert model.server is not None and model.server.n_ctx == N_CTX
    assert model.client().context_tokens == N_CTX
    assert model.client().reply_tokens == 1024
    # Configured: the local server runs with that context, and the prompts fit it.
    model = resolve_model(CodeAct(local_model="fake-model", context_tokens=2048))
    assert model.server is not None and model.server.n_ctx == 2048
    assert "--n_ctx" in (argv := model.server._argv("m.gguf")) and "2048" in argv
    assert model.client().context_tokens == 2048
    # An endpoint whose context is not configured: the generous default.
    assert (
        LLMClient(LLMConfig(model="m", base_url="http://127.0.0.1:9/v1")).context_tokens == 32_768
    )
    assert CodeAct(context_tokens=8192).llm_config().context_tokens == 8192


def test_weights_not_installed_is_explained(no_endpoint, monkeypatch):
    monkeypatch.setattr(resolve_mod, "missing_runtime", lambda: [])
    monkeypatch.setattr(weights, "models_dir", lambda: "/nonexistent-codeact-cache")
    monkeypatch.setattr(resolve_mod, "available", lambda choice, path: False)
    model = resolve_model(CodeAct(local_model="qwen2.5-coder-0.5b"))
    assert not model.available and "not installed" in model.note
    assert "CODEACT_LOCAL_MODEL=qwen2.5-coder-0.5b" in model.note


# ---- the server process ----
def fake_server(gguf: Path, **kwargs) -> LocalModelServer:
    return LocalModelServer(
        lambda: str(gguf),
        "fake-model",
        target=FAKE_SERVER,
        startup_timeout=20,
        log_dir=str(gguf.parent),  # a server given up on keeps its log: not in /tmp
        **kwargs,
    )


@pytest.fixture
def gguf(tmp_path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 100)
    return path


def models_listed(base_url: str, key: str | None = None) -> list[str]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(f"{base_url}/models", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return [m["id"] for m in json.loads(response.read())["data"]]


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


async def test_start_health_and_stop(gguf, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_LOAD", "0.5")
    server = fake_server(gguf)
    try:
        assert server.state == "stopped"
        assert await server.ensure_started() == server.base_url
        assert server.state == "ready" and server.load_seconds is not None
        assert server.load_seconds >= 0.5  # ready only once the model is loaded
        assert await server.healthy()
        assert models_listed(server.base_url, server.api_key) == ["fake-model"]
        pid = server.pid
        assert pid is not None
        assert await server.ensure_started() == server.base_url and server.pid == pid  # reused
    finally:
        await server.stop()
    assert server.state == "stopped" and not await server.healthy()
    assert gone(pid)


def http_status(url: str, key: str | None = None, data: bytes | None = None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        request = urllib.request.Request(url, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def proc_file(pid: int | None, name: str) -> list[bytes]:
    """``/proc/PID/cmdline`` or ``environ``: its NUL-separated entries."""
    return Path(f"/proc/{pid}/{name}").read_bytes().split(b"\0")


async def test_the_child_requires_a_fresh_key_that_ps_never_shows(gguf, monkeypatch):
    server = fake_server(gguf)
    try:
        await server.ensure_started()
        key, pid = server.api_key, server.pid
        assert pid is not None and len(key) >= 32
        cmdline = b" ".join(proc_file(pid, "cmdline"))
        assert b"--model" in cmdline and key.encode() not in cmdline  # what `ps` shows everyone
        assert f"API_KEY={key}".encode() in proc_file(pid, "environ")
        assert key not in os.environ.values()  # kernels inherit the Jupyter server's environment
        assert key not in repr(server)
        url = f"{server.base_url}/models"
        assert http_status(url) == 401 and http_status(url, "wrong") == 401
        assert http_status(url, key) == 200
        count = f"{server.base_url.removesuffix('/v1')}/extras/tokenize/count"
        assert await server.count_tokens("three words here") == 3  # counted with the key
        assert http_status(count, data=b'{"input": "x"}') == 401
        assert http_status(count, key, data=b'{"input": "x"}') == 200
        os.kill(pid, signal.SIGKILL)  # restarted: with a new key
        deadline = time.monotonic() + 20
        while not (server.pid not in (None, pid) and server.state == "ready"):
            assert time.monotonic() < deadline, "not restarted"
            await asyncio.sleep(0.1)
        assert server.api_key != key and http_status(url, key) == 401
        assert http_status(url, server.api_key) == 200
        assert server._log_path is not None
        with open(server._log_path, encoding="utf-8") as f:
            log = f.read()
        assert "GET /v1/models" in log and key not in log and server.api_key not in log
    finally:
        await server.stop()


class Impostor:
    """Another user's process that took the port first: it answers 200 to anything
    (``open``), or 401 without a key and 200 with any key (``any-key``)."""

    def __init__(self, kind: str) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.seen: list[str] = []  # the Authorization headers it was sent
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def answer(self) -> None:
                auth = self.headers.get("Authorization") or ""
                seen.append(auth)
                if kind == "any-key" and not auth:
                    self.send_error(401)
                    return
                body = json.dumps({"object": "list", "data": [{"id": "fake-model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("kind", ["open", "any-key"])
@pytest.mark.parametrize("proc_check", ["linux", "no-proc"])
async def test_an_impostor_on_the_port_is_refused_and_never_gets_the_key(
    gguf, monkeypatch, kind, proc_check
):
    from codeact_lab.local_model import server as server_mod

    if proc_check == "no-proc":  # as on macOS: only the key tells
        monkeypatch.setattr(server_mod, "listening_sockets", lambda port: None)
    monkeypatch.setenv("FAKE_LLAMA_LOAD", "30")  # our child is still loading
    impostor = Impostor(kind)
    server = fake_server(gguf, port=impostor.port)
    try:
        started = time.monotonic()
        with pytest.raises(LocalModelError) as err:
            await server.ensure_started()
        assert time.monotonic() - started < 10
        message = str(err.value)
        assert "not the" in message and "codeact-lab started" in message, message
        assert server.api_key and server.api_key not in message
        assert not any(server.api_key in auth for auth in impostor.seen)
        if proc_check == "linux":
            assert impostor.seen == []  # nothing at all was sent to it
        assert server.pid is None and server.state == "stopped"
    finally:
        await server.stop()
        impostor.close()


async def test_a_child_that_answers_without_the_key_is_not_trusted(gguf, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_IGNORE_KEY", "1")  # e.g. a llama-cpp-python ignoring API_KEY
    server = fake_server(gguf)
    try:
        with pytest.raises(LocalModelError, match=r"answers without a key \(HTTP 200\)"):
            await server.ensure_started()
        assert server.state == "stopped"
    finally:
        await server.stop()


async def test_the_users_server_variables_do_not_reach_the_child(gguf, monkeypatch, tmp_path):
    """llama_cpp.server listens on $HOST:$PORT and reads $API_KEY and $CONFIG_FILE."""
    from codeact_lab.local_model.server import free_port

    other = free_port()
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", str(other))
    monkeypatch.setenv("api_key", "the-users-own")
    monkeypatch.setenv("CONFIG_FILE", str(tmp_path / "elsewhere.json"))
    server = fake_server(gguf)
    try:
        await server.ensure_started()
        assert server.api_key != "the-users-own" and await server.healthy()
        names = {entry.split(b"=", 1)[0].upper() for entry in proc_file(server.pid, "environ")}
        assert b"HOST" not in names and b"PORT" not in names and b"CONFIG_FILE" not in names
        import socket

        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", other)) != 0  # not moved to $PORT
    finally:
        await server.stop()


async def test_it_is_restarted_once_on_death_then_given_up(gguf):
    server = fake_server(gguf)
    try:
        await server.ensure_started()
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while not (server.pid not in (None, first) and server.state == "ready"):
            assert time.monotonic() < deadline, "not restarted"
            await asyncio.sleep(0.1)
        assert server.restarts == 1 and await server.healthy()  # same port, same base_url
        second = server.pid
        assert second is not None
        os.kill(second, signal.SIGKILL)
        while server.state != "failed":
            assert time.monotonic() < deadline, "not given up"
            await asyncio.sleep(0.1)
        assert "killed by SIGKILL" in (server.error or "")
        assert "restarted 1 time" in (server.error or "")
        with pytest.raises(LocalModelError, match="died"):
            await server.ensure_started()
    finally:
        await server.stop()


async def test_a_server_that_cannot_start_says_why(gguf, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_EXIT", "error loading model: unknown model architecture")
    server = fake_server(gguf)
    with pytest.raises(LocalModelError) as err:
        await server.ensure_started()
    assert "exited while starting (exit code 3)" in str(err.value)
    assert "unknown model architecture" in str(err.value)  # the tail of its log
    await server.stop()


async def test_the_client_starts_the_server_on_the_first_call(
    no_endpoint, gguf, monkeypatch, fake_model, tmp_path
):
    monkeypatch.setattr(resolve_mod, "missing_runtime", lambda: [])
    model = resolve_model(CodeAct(local_model_path=str(gguf)))
    assert model.local and model.server is not None and model.config.model == "model"
    model.server.target, model.server.log_dir = FAKE_SERVER, str(tmp_path)
    llm = model.client()
    try:
        done = await llm.complete([{"role": "user", "content": "hi"}])
        assert done.text == "<solution>42</solution>" and model.server.state == "ready"
    finally:
        await llm.close()
        await model.aclose()
    assert model.server.state == "stopped"


@pytest.mark.parametrize(
    ("configured", "sent"), [({}, 1.1), ({"local_model_repeat_penalty": 1.0}, 1.0)]
)
async def test_the_local_model_is_sent_its_repeat_penalty(
    no_endpoint, gguf, monkeypatch, fake_model, tmp_path, configured, sent
):
    """Sent with every request, so that a run records it and the eval's peer gets it too
    (llama-cpp-python's server would apply 1.1 to a request that does not say)."""
    monkeypatch.setattr(resolve_mod, "missing_runtime", lambda: [])
    monkeypatch.setenv("FAKE_LLAMA_ECHO", "repeat_penalty")
    model = resolve_model(CodeAct(local_model_path=str(gguf), **configured))
    assert model.server is not None
    model.server.target, model.server.log_dir = FAKE_SERVER, str(tmp_path)
    llm = model.client(model.llm_config(temperature=0.0))
    try:
        done = await llm.complete([{"role": "user", "content": "hi"}])
        assert done.text == f"<solution>{sent}</solution>"
    finally:
        await llm.close()
        await model.aclose()


async def test_replies_are_cut_to_the_context_left_and_an_overflow_is_explained(gguf):
    from codeact_lab.agent import LLMConfig
    from codeact_lab.local_model.resolve import LocalLLMClient

    server = fake_server(gguf, n_ctx=200)
    llm = LocalLLMClient(LLMConfig(model="m", base_url=server.base_url, max_tokens=384), server)
    try:
        words = [{"role": "user", "content": "word " * 100}]  # 100 tokens + the template's
        done = await llm.complete(words)
        assert done.text == "<solution>42</solution>"
        assert llm.config.max_tokens == 200 - (100 + 6 + 4)  # not 384: that would overflow
        with pytest.raises(LLMError, match="no longer fits the local model's context of 200"):
            await llm.complete([{"role": "user", "content": "word " * 160}])
    finally:
        await llm.close()
        await server.stop()


def test_the_server_goes_when_its_parent_is_killed(gguf, tmp_path):
    """A Jupyter server killed with SIGKILL cannot stop its children: they stop themselves."""
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, os, signal
            from codeact_lab.local_model.server import LocalModelServer
            server = LocalModelServer(
                lambda: {str(gguf)!r}, "m", target={FAKE_SERVER!r}, log_dir={str(tmp_path)!r}
            )
            asyncio.run(server.ensure_started())
            print(server.pid, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert gone(int(proc.stdout.strip()), within=10)


# ---- the command line and the server, with no model or a stand-in local one ----
def test_the_cli_with_no_model_says_how_to_get_one_and_exits(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEACT_"))}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    # As if llama-cpp-python were not installed.
    cli = (
        "import sys\n"
        "from codeact_lab.local_model import resolve\n"
        "resolve.missing_runtime = lambda: ['llama_cpp']\n"
        "from codeact_lab.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", cli, "run", "hi", "-o", str(tmp_path / "x.ipynb")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"codeact-lab: {NO_MODEL_NOTE}"]
    assert not (tmp_path / "x.ipynb").exists()  # no kernel was started for nothing


@pytest.fixture
def codeact_config(request, tmp_path) -> dict:
    """No model at all; or, with the parameter "stand-in[-startup]", a GGUF file to serve."""
    param = getattr(request, "param", "")
    if param.startswith("stand-in"):
        path = tmp_path / "stand-in.gguf"
        path.write_bytes(b"GGUF" + b"\0" * 100)
        start = "startup" if param.endswith("startup") else "lazy"
        return {"local_model_path": str(path), "local_model_start": start}
    return {}


@pytest.fixture
def jp_server_config(codeact_config, no_endpoint, tmp_path, monkeypatch):
    # The stand-in runs as if llama-cpp-python were installed; with no stand-in, as if it
    # were not (whatever this environment has).
    missing = [] if codeact_config else ["llama_cpp"]
    monkeypatch.setattr(resolve_mod, "missing_runtime", lambda: missing)
    return {
        "ServerApp": {"jpserver_extensions": {"codeact_lab": True}},
        "CodeActExtension": {"db_path": str(tmp_path / "episodes.sqlite")},
        "CodeAct": codeact_config,
    }


async def run_episode(jp_fetch, jp_serverapp, jp_root_dir, task="what is 6 times 7?") -> dict:
    import nbformat

    nbformat.write(nbformat.v4.new_notebook(), jp_root_dir / "n.ipynb")
    kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
    body = {"task": task, "notebook_path": "n.ipynb", "kernel_id": kernel_id}
    response = await jp_fetch("codeact", "episodes", method="POST", body=json.dumps(body))
    episode_id = json.loads(response.body)["id"]
    deadline = time.monotonic() + 60
    while True:
        record = json.loads((await jp_fetch("codeact", "episodes", episode_id)).body)
        if record["state"] is not None:
            return record
        assert time.monotonic() < deadline, "the episode did not end"
        await asyncio.sleep(0.2)


async def test_the_server_with_no_model_explains_the_two_ways(jp_fetch, jp_serverapp, jp_root_dir):
    config = json.loads((await jp_fetch("codeact", "config")).body)
    assert config["local"] is False and config["note"] == NO_MODEL_NOTE
    assert config["endpoint"] == ""
    record = await run_episode(jp_fetch, jp_serverapp, jp_root_dir)
    assert record["state"] == "failed" and record["reason"] == NO_MODEL_NOTE


@pytest.mark.parametrize("codeact_config", ["stand-in", "stand-in-startup"], indirect=True)
async def test_the_server_runs_episodes_on_the_local_model_and_stops_it(
    codeact_config, jp_fetch, jp_serverapp, jp_root_dir
):
    manager = jp_serverapp.web_app.settings["codeact_manager"]
    server = manager.model.server
    assert server is not None
    server.target = FAKE_SERVER  # llama.cpp's flags, a canned reply
    server.log_dir = str(jp_root_dir)
    config = json.loads((await jp_fetch("codeact", "config")).body)
    assert config["local"] is True and config["model"] == "stand-in"
    assert config["endpoint"] == server.base_url and "small and slow" in config["note"]
    assert server.state == "stopped"
    (extension,) = jp_serverapp.extension_manager.extension_apps["codeact_lab"]
    await extension._start_jupyter_server_extension(jp_serverapp)  # the server's start-up hook
    if codeact_config["local_model_start"] == "startup":
        assert server._background is not None
        await server._background
        assert server.state == "ready"  # before any episode
    else:
        assert server.state == "stopped"  # lazy: on the first episode
    record = await run_episode(jp_fetch, jp_serverapp, jp_root_dir)
    assert record["state"] == "solved" and record["settings"]["model"] == "stand-in"
    assert server.state == "ready" and await server.healthy()
    await manager.shutdown()  # what stopping Jupyter does
    assert server.state == "stopped" and not await server.healthy()
