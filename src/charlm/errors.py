"""The one exception type that stages turn into a one-line error and a non-zero exit."""


class CharlmError(Exception):
    """A user-facing problem (bad input, bad file, bad params); the message names what is wrong."""
