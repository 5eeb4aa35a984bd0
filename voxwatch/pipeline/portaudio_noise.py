"""PortAudio's and ALSA's own messages kept out of voxwatch's output: they go to the debug log (``-v``).

Without a sound card, with a sound server that went away, or with ALSA plugins that have nothing behind them
(jack, oss), ALSA prints ``ALSA lib pcm.c:...`` lines and PortAudio ``Expression '...' failed in
'src/hostapi/alsa/pa_linux_alsa.c'`` lines straight to file descriptor 2, where they land in the daemon's log
between its own lines, say nothing a user can act on, and repeat on every retry of a lost device.

* ALSA's lines: ``route_alsa_errors`` gives libasound an error handler (``snd_lib_error_set_handler``) that logs
  them at debug level instead; it holds for every thread at any time (PortAudio's capture thread included).
* PortAudio's lines are printed with ``fprintf(stderr)`` and have no hook, so ``quiet_stderr`` captures
  descriptor 2 for the length of a PortAudio call that voxwatch makes (opening, checking, closing a device, the
  device scan): afterwards PortAudio's and ALSA's lines go to the debug log and anything else is written back to
  stderr unchanged (another thread's log line is delayed, never lost). Calls are serialized (one capture at a
  time). What PortAudio's own capture thread prints when a device dies mid-stream (``...WaitForFrames...``,
  once per loss) is outside any call and still reaches stderr.

``sounddevice`` itself already sends what PortAudio prints while it initialises (``import sounddevice``, and the
re-scan of ``PortAudioHost.refresh``) to ``/dev/null``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)

# the lines ALSA's default error handler and PortAudio's debug print write (and JACK's, through ALSA's jack plugin)
NOISE = re.compile(r"(ALSA lib |Expression '.*' failed in '|PaAlsa|Cannot connect to server|jack server is not "
                   r"running|JackShm)")
_HANDLER_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)
_handler: object = None  # the ctypes callback, kept alive as long as libasound may call it
_asound: ctypes.CDLL | None = None
_capture = threading.RLock()
_capturing = 0


def _alsa_error(file: bytes | None, line: int, function: bytes | None, err: int, fmt: bytes | None) -> None:
    """libasound's error handler: the message (its format string: the arguments are not ours to read) at debug
    level. It must never raise: it is called from C, in any thread."""
    try:
        if log.isEnabledFor(logging.DEBUG):
            text = (fmt or b"").decode(errors="replace").strip()
            where = f"{(file or b'?').decode(errors='replace')}:{line} {(function or b'').decode(errors='replace')}"
            log.debug("ALSA: %s (%s%s)", text, where, f", error {err}" if err else "")
    except Exception:  # pragma: no cover - logging itself failed; stay silent as ALSA's caller expects
        pass


def route_alsa_errors() -> bool:
    """Send libasound's error messages to the debug log (once per process); False where there is no libasound
    (not Linux, or no ALSA): then there is nothing to quiet."""
    global _handler, _asound
    if _handler is not None:
        return True
    name = ctypes.util.find_library("asound") or "libasound.so.2"
    try:
        _asound = ctypes.CDLL(name)
        setter = _asound.snd_lib_error_set_handler
    except (OSError, AttributeError):
        return False
    _handler = _HANDLER_TYPE(_alsa_error)
    setter(_handler)
    atexit.register(_restore_alsa_errors)  # registered before sounddevice's exit handler, so it runs after it
    return True


def _restore_alsa_errors() -> None:
    """At exit, ALSA's own handler again: no call into Python once the interpreter is going away."""
    if _asound is not None:
        with contextlib.suppress(Exception):
            _asound.snd_lib_error_set_handler(None)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Around a PortAudio call: descriptor 2 captured; then PortAudio's and ALSA's lines to the debug log, the
    rest back to stderr as written. Re-entrant; one capture at a time across threads."""
    global _capturing
    with _capture:
        if _capturing:  # a call within a call: the outer capture holds
            yield
            return
        try:
            _flush_stderr()
            saved = os.dup(2)
            sink = tempfile.TemporaryFile()
            os.dup2(sink.fileno(), 2)
        except OSError:  # no descriptor to spare: better noise than no call
            yield
            return
        _capturing += 1
        try:
            yield
        finally:
            _capturing -= 1
            _flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured = sink.read()
            sink.close()
            _sort_out(captured)


def _flush_stderr() -> None:
    with contextlib.suppress(Exception):
        sys.stderr.flush()


def _sort_out(captured: bytes) -> None:
    """PortAudio's and ALSA's lines to the debug log, everything else back to stderr unchanged."""
    if not captured:
        return
    kept = []
    after_noise = False
    for line in captured.splitlines(keepends=True):
        text = line.decode(errors="replace").rstrip("\n")
        if NOISE.match(text):
            log.debug("PortAudio: %s", text)
            after_noise = True
        elif after_noise and not text.strip():
            continue  # the blank line some of ALSA's messages end with
        else:
            kept.append(line)
            after_noise = False
    if kept:
        with contextlib.suppress(OSError):
            os.write(2, b"".join(kept))
