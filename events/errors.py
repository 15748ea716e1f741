"""Errors of the events app. Their messages are our own, never a secret: safe to show and log."""


class EventRejected(Exception):
    """The receiver refuses a Connect message; `status` is the HTTP answer (400, 401, 413)."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status
        self.message = message


class EventsError(Exception):
    """A staff action of the events area could not run; the message says what to do."""
