"""The one error the lab raises: its message is a single line naming the cause."""


class LabError(Exception):
    """The lab could not be built or could not do what was asked.

    The message is one line a person can act on (a missing tool, a daemon that
    did not start, a state that was not reached in time).
    """
