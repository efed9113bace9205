"""TraceError, the one exception of every trace reader and writer (a module of its own: all of them import it)."""


class TraceError(ValueError):
    """A malformed trace, or a reader or writer option that does not fit it.

    The message names the file, the line or record, and what was expected.
    """
