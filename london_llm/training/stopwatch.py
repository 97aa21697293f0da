"""A thread that answers a stop signal at once, even while the main thread is inside one long C++
call (a CPU forward or backward of the slm preset runs for a minute or more).

Python runs signal handlers only in the main thread, between bytecodes, so during such a call
StopFlag's handler waits for the call to return. The C-level handler runs at once, though, and
writes the signal's number to the wakeup fd (signal.set_wakeup_fd); this thread sleeps on that fd,
wakes within milliseconds, records the stop and calls `on_stop` (training.midstep: save the last
completed step if the step in flight is long). The main thread's handler still runs when the call
returns and finds the stop already recorded. Blocking the signals in the main thread and sigwait()
here would not do: threads that torch's thread pools started earlier do not block them, so the
kernel could hand a signal to one of those instead.
"""
from __future__ import annotations

import signal
import socket
import threading
from typing import Callable, Optional

from london_llm.training.stopping import STOP_SIGNALS, StopFlag

_NUMBERS = {int(s): s for s in STOP_SIGNALS}
_QUIT = b"\0"  # not a signal number: close() wakes the thread with it


class StopWatcher:
    def __init__(self, stop: StopFlag, on_stop: Callable[[str], None]):
        self.stop = stop
        self.on_stop = on_stop
        self._thread: Optional[threading.Thread] = None
        self._previous_fd = -1
        self._closing = False

    def start(self) -> "StopWatcher":
        """Only from the main thread (set_wakeup_fd's rule); elsewhere a no-op, and stops are
        answered at the next step boundary as without it."""
        if threading.current_thread() is not threading.main_thread():
            return self
        self._read, self._write = socket.socketpair()
        self._write.setblocking(False)  # set_wakeup_fd's requirement: a full buffer drops, never blocks
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._thread = threading.Thread(target=self._run, name="london-llm-stop-watcher", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._closing:
            try:
                data = self._read.recv(64)
            except OSError:
                return
            if not data:
                return
            for number in data:
                sig = _NUMBERS.get(number)
                if sig is None or not self.stop.armed or self._closing:
                    continue
                reason = f"{sig.name} received"
                self.stop.request(reason, from_watcher=True)
                self.on_stop(reason)

    def close(self) -> None:
        """Restore the previous wakeup fd and end the thread (a save it is writing completes first)."""
        if self._thread is None:
            return
        signal.set_wakeup_fd(self._previous_fd)
        self._closing = True
        try:
            self._write.send(_QUIT)
        except OSError:
            pass
        self._thread.join()
        self._read.close()
        self._write.close()
        self._thread = None

    def __enter__(self) -> "StopWatcher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
