"""The request state machine: a transition table and one service function per transition."""


class TransitionError(Exception):
    """Raised when an action is not allowed in the request's current state; nothing is changed."""
