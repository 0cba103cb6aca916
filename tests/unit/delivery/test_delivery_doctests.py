"""The examples in the delivery docstrings run as written."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from delivery import channels, composer, email, phones, qr, rules, throttle, tokens, twilio_status


@pytest.mark.parametrize(
    "module", [channels, composer, email, phones, qr, rules, throttle, tokens, twilio_status], ids=lambda m: m.__name__
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
