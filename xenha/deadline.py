"""One time budget: deadlines on the monotonic clock, and the one way to poll until one.

A :class:`Deadline` is a number of seconds from a start (now, by default) on
``time.monotonic()``, so a clock step (NTP, an operator's ``date``) neither
cuts an action short nor lets it overrun its operation timeout. Only deadlines
live here: times compared with wall-clock data (Pacemaker's fencing history,
XAPI's timestamps) stay ``time.time()``.
"""

import time


class Deadline:
    """``seconds`` from ``start`` (a ``time.monotonic()`` reading; default: now)."""

    def __init__(self, seconds, start=None):
        self.seconds = float(seconds)
        self.start = time.monotonic() if start is None else start
        self.end = self.start + self.seconds

    def left(self):
        """Seconds until the deadline, 0 once it has passed."""
        return max(0.0, self.end - time.monotonic())

    def elapsed(self):
        return time.monotonic() - self.start

    def expired(self):
        return time.monotonic() >= self.end

    def fraction(self, f):
        """The deadline at fraction ``f`` of this budget, from the same start: the
        share of an action's time one of its steps may use."""
        return Deadline(self.seconds * f, self.start)

    def sleep(self, seconds):
        """Sleep ``seconds``, or until the deadline if that comes first."""
        time.sleep(min(seconds, self.left()))

    def poll(self, condition, interval):
        """Call ``condition()`` until it holds or the deadline passes, ``interval``
        seconds apart (a number, or a function of the seconds elapsed since the start);
        it is asked once more at the deadline. Return whether it held."""
        while True:
            if condition():
                return True
            if self.expired():
                return False
            pause = interval(self.elapsed()) if callable(interval) else interval
            self.sleep(pause)
