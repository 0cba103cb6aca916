"""A rights request names its person by a phone or an email as they write it: normalised as the intake does, and
refused with a message naming what was given when it is neither."""

from __future__ import annotations

import doctest

import pytest

import survey.services.rights.requests as requests
from survey.services.rights import RightsError, read_subject


def test_the_examples_run():
    result = doctest.testmod(requests)
    assert result.attempted > 0 and result.failed == 0


def test_a_phone_and_an_email_are_one_person_each_however_written():
    assert read_subject("+84 912-345-678").hmac == read_subject("0912345678").hmac
    assert read_subject(" Lan.NT@Example.VN ").value == "lan.nt@example.vn"
    assert read_subject("0912345678").masked == "+84 91* *** 678"


@pytest.mark.parametrize("given", ["", "   ", "not a number", "12"])
def test_anything_else_is_refused_by_name(given):
    with pytest.raises(RightsError) as refused:
        read_subject(given)
    assert ("required" in str(refused.value)) if not given.strip() else repr(given.strip()) in str(refused.value)
