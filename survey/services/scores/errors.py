"""The error of a wrong scores parameter, shared by the request, the periods and the staff page."""

from __future__ import annotations

__all__ = ["ScoreParameterError"]


class ScoreParameterError(ValueError):
    """A parameter of a scores request is wrong: ``parameter`` names it, the message gives the allowed values.

    >>> error = ScoreParameterError("min_n", "must be at least 1")
    >>> error.parameter, str(error)
    ('min_n', 'min_n: must be at least 1')
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
