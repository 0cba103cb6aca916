"""Link tokens never reach a log: the access log's paths (and the app's own error lines) with tokens masked.

A survey link ``/s/{token}`` and an opt-out link ``/o/{token}`` are capabilities: whoever reads the token can
answer as that person or opt them out. Uvicorn's access log writes every request's path, so
:func:`install` adds a filter to the ``uvicorn.access`` logger that rewrites them; ``create_app`` calls it, so
the filter is there however the application is served (``survey serve``, each of its worker processes,
``survey demo``, or uvicorn run by hand). Counter and kiosk paths (``/q/{code}``, ``/kiosk/{code}``) carry a
counter's code, which is printed on its public poster: they are left as they are.

Example::

    >>> mask_tokens("/s/Xk3mP9qR2tLw?lang=en"), mask_tokens("/o/Xk3mP9qR2tLw"), mask_tokens("/q/HN-BD-Q1")
    ('/s/***?lang=en', '/o/***', '/q/HN-BD-Q1')
"""

from __future__ import annotations

import logging
import re

__all__ = ["ACCESS_LOGGER", "MASK", "TokenMask", "install", "mask_tokens"]

ACCESS_LOGGER = "uvicorn.access"
MASK = "***"
# a token path: /s/ or /o/ (after any number of slashes), up to the next slash, query or fragment
_TOKEN_PATH = re.compile(r"^(/+[so]/+)[^/?#\s]+")
# the same inside a free text (a message that names a link): anywhere
_TOKEN_IN_TEXT = re.compile(r"(/[so]/)[^/?#\s\"']+")


def mask_tokens(path: str) -> str:
    """``path`` (with its query string) with the token of a survey or opt-out link replaced by ``***``."""
    return _TOKEN_PATH.sub(lambda match: match.group(1) + MASK, path)


class TokenMask(logging.Filter):
    """Rewrites the path of an access-log record (uvicorn's ``'%s - "%s %s HTTP/%s" %d'``: the third argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_tokens(args[2]), *args[3:])
        elif isinstance(record.msg, str):
            record.msg = _TOKEN_IN_TEXT.sub(lambda match: match.group(1) + MASK, record.msg)
        return True


def install(logger_name: str = ACCESS_LOGGER) -> TokenMask:
    """Add the mask to ``logger_name`` once (a second call finds it there)."""
    logger = logging.getLogger(logger_name)
    for existing in logger.filters:
        if isinstance(existing, TokenMask):
            return existing
    mask = TokenMask()
    logger.addFilter(mask)
    return mask
