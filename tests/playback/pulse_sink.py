"""A private PulseAudio server with one null sink, for hearing what the player plays.

The server runs from a temp folder with its own socket, so it never touches a
desktop's sound server or another test run's. Clients (PortAudio's ALSA
"pulse"/"default" devices, ``parec``) find it through ``PULSE_SERVER``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the test process dies (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class NullSink:
    """Start, record from and stop a PulseAudio server holding one null sink.

    Args:
        name: the sink's name; record from ``<name>.monitor``.
        rate: the sink's sample rate.
    """

    def __init__(self, name: str = "stemsplit_test", rate: int = 44100) -> None:
        self.name = name
        self.rate = rate
        self.dir = Path(tempfile.mkdtemp(prefix="stemsplit-pulse-"))
        self.socket = self.dir / "native"
        self.client_conf = self.dir / "client.conf"
        self.client_conf.write_text("autospawn = no\n")
        self.pid: int | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    def env(self) -> dict[str, str]:
        """What a client process needs in its environment to use this server."""
        return {"PULSE_SERVER": self.server, "PULSE_CLIENTCONFIG": str(self.client_conf),
                "PULSE_SINK": self.name}

    def _client_env(self) -> dict[str, str]:
        return {**os.environ, **self.env()}

    @staticmethod
    def available() -> str | None:
        """Why a null sink cannot run here, or None when it can."""
        for tool in ("pulseaudio", "pactl", "parec"):
            if shutil.which(tool) is None:
                return f"{tool} is not installed (apt install pulseaudio pulseaudio-utils)"
        return None

    def start(self, timeout: float = 15.0) -> None:
        """Start the server and wait until it answers.

        It runs in the foreground as our child (not ``--daemonize``) and is told to
        die with this process, so a test run that is killed leaves no server behind.
        """
        runtime = self.dir / "runtime"
        runtime.mkdir(exist_ok=True)
        env = {**os.environ, "PULSE_RUNTIME_PATH": str(runtime),
               "PULSE_STATE_PATH": str(self.dir / "state"), "HOME": str(self.dir)}
        cmd = ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n",
               "--use-pid-file=no", "--disable-shm=yes", "--log-target=stderr",
               f"--load=module-null-sink sink_name={self.name} rate={self.rate}",
               f"--load=module-native-protocol-unix auth-anonymous=1 socket={self.socket}"]
        # As root PulseAudio warns ("not intended to be run as root") but runs.
        self._proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self.pid = self._proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited with status {self._proc.returncode}")
            ok = subprocess.run(["pactl", "info"], env=self._client_env(), timeout=5,
                                capture_output=True, text=True)
            if ok.returncode == 0 and self.name in ok.stdout:
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("the PulseAudio null sink did not come up")
        subprocess.run(["pactl", "set-default-sink", self.name], env=self._client_env(),
                       timeout=5, check=True)

    def stop(self) -> None:
        """Kill the server we started (our own child) and reap it."""
        proc, self._proc, self.pid = self._proc, None, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)  # in case a test froze it
            proc.kill()
        proc.wait(10)
        with contextlib.suppress(OSError):
            self.socket.unlink()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[np.ndarray]]:
        """Record the sink's monitor while the block runs; yields a list that gets
        one ``(frames, 2)`` float32 array when the block ends."""
        raw = self.dir / f"rec-{time.monotonic_ns()}.raw"
        result: list[np.ndarray] = []
        with open(raw, "wb") as fh:
            proc = subprocess.Popen(
                ["parec", "-d", f"{self.name}.monitor", "--format=float32le",
                 f"--rate={self.rate}", "--channels=2", "--raw", "--latency-msec=10"],
                stdout=fh, env=self._client_env())
            try:
                time.sleep(0.3)  # let parec connect before anything plays
                yield result
            finally:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        data = np.fromfile(raw, dtype=np.float32)
        raw.unlink()
        result.append(data[: data.size // 2 * 2].reshape(-1, 2))


@contextlib.contextmanager
def use_sink(sink: NullSink) -> Iterator[NullSink]:
    """Point this process's audio clients at ``sink`` while the block runs.

    PortAudio only scans devices when it starts, so it is restarted on the way
    in and out; no stream may be open across the boundary.
    """
    from stemsplit.playback.devices import rescan

    saved = {k: os.environ.get(k) for k in sink.env()}
    os.environ.update(sink.env())
    assert rescan(), "an audio stream is still closing"
    try:
        yield sink
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        assert rescan(timeout=15), "an audio stream is still closing"
