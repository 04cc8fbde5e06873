"""converge.signals_deferred: a signal during thread hand-off waits, then arrives."""

from __future__ import annotations

import os
import signal

from provisioner.converge.signals import signals_deferred


def test_signal_is_held_inside_and_delivered_after() -> None:
    heard: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: heard.append(signum))
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # give Python many chances to run a handler
                pass
            assert heard == []
        assert heard == [signal.SIGTERM]
        # The handler in place before is back.
        os.kill(os.getpid(), signal.SIGTERM)
        assert heard == [signal.SIGTERM, signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_keyboard_interrupt_comes_out_of_the_block_not_inside_it() -> None:
    reached_end = False
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            reached_end = True
    except KeyboardInterrupt:
        assert reached_end
    else:
        raise AssertionError("the deferred SIGINT was never delivered")


def test_ignored_and_default_signals_are_left_alone() -> None:
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with signals_deferred():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
