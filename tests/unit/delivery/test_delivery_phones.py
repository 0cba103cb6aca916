"""Phone numbers and email addresses as people write them."""

from __future__ import annotations

import pytest

from delivery.phones import EmailError, Phone, PhoneError, normalise_email, normalise_phone


@pytest.mark.parametrize(
    "written",
    [
        "0912 345 678",
        "0912345678",
        "+84 912 345 678",
        "84-912-345-678",
        "84912345678",
        "(+84) 912.345.678",
        "0084 912 345 678",
        " 0912-345-678 ",
    ],
)
def test_a_mobile_number_written_any_usual_way_becomes_one_e164_number(written: str) -> None:
    assert normalise_phone(written) == Phone(e164="+84912345678", kind="mobile")


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("(024) 3936 1234", "+842439361234"),
        ("028 3829 5555", "+842838295555"),
        ("+84 24 3936 1234", "+842439361234"),
        ("84-24-3936-1234", "+842439361234"),
    ],
)
def test_landlines_are_recognised_as_landlines(written: str, e164: str) -> None:
    assert normalise_phone(written) == Phone(e164=e164, kind="landline")


@pytest.mark.parametrize("written", ["0386 123 456", "0703 123 456", "0843 123 456", "0587 123 456", "0997 123 456"])
def test_the_new_ten_digit_mobile_ranges_are_mobile(written: str) -> None:
    assert normalise_phone(written).kind == "mobile"


def test_a_foreign_number_keeps_its_country() -> None:
    assert normalise_phone("+44 7911 123456").e164 == "+447911123456"
    assert normalise_phone("+44 7911 123456").kind == "mobile"


def test_a_number_of_another_region_is_read_in_that_region() -> None:
    assert normalise_phone("07911 123456", region="GB").e164 == "+447911123456"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("0912", "'0912' is not a valid phone number in VN"),
        ("0912 345 678 999 999", "is not"),
        ("hello", "'hello' is not a phone number"),
        ("", "empty"),
        ("   ", "empty"),
        ("+999 123 456", "'+999 123 456' is not a phone number: unknown country code"),
        ("1" * 60, "too long"),
    ],
)
def test_garbage_is_rejected_with_a_message_naming_the_number_and_the_problem(written: str, message: str) -> None:
    with pytest.raises(PhoneError) as raised:
        normalise_phone(written)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("  An.Nguyen@Example.VN ", "an.nguyen@example.vn"),
        ("tran+ks@gmail.com", "tran+ks@gmail.com"),
        ("LE_VAN.B@BHXH.GOV.VN", "le_van.b@bhxh.gov.vn"),
    ],
)
def test_email_addresses_are_trimmed_and_lower_cased(written: str, normalised: str) -> None:
    assert normalise_email(written) == normalised


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("", "empty"),
        ("an.nguyen", "exactly one @"),
        ("a@b@c.vn", "exactly one @"),
        ("@example.vn", "before @ is missing"),
        ("an@", "domain is missing"),
        ("an@localhost", "not a valid name"),
        ("an@-bad-.vn", "not a valid name"),
        ("an nguyen@example.vn", "characters not allowed"),
        ("an..nguyen@example.vn", "characters not allowed"),
        ("an@example..vn", "not a valid name"),
        ("a" * 65 + "@example.vn", "before @"),
    ],
)
def test_bad_email_addresses_are_rejected_naming_the_problem(written: str, message: str) -> None:
    with pytest.raises(EmailError) as raised:
        normalise_email(written)
    assert message in str(raised.value)
