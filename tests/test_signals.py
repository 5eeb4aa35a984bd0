"""One signal helper for run, replay and broker: the first stop signal asks for a drain, a second exits at once."""

from __future__ import annotations

import os
import signal

import pytest

from voxwatch.commands.signals import ShutdownSignals


def test_first_signal_sets_stop_second_exits_and_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with ShutdownSignals(reload=True) as signals:
        os.kill(os.getpid(), signal.SIGHUP)
        assert signals.reload.wait(2) and not signals.stop.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert signals.stop.wait(2)
        with pytest.raises(SystemExit) as exc:
            os.kill(os.getpid(), signal.SIGINT)
            signals.stop.wait(2)  # the handler raises in this thread before the wait returns
        assert exc.value.code == 1
    assert signal.getsignal(signal.SIGTERM) is before
