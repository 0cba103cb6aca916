"""Respondents found or created by the keyed hash (HMAC) of their normalised phone number or email address.

The one way to go from contact details to a ``Respondent``: the contact intake (a whole batch at a
time) and the opt-outs use it. Details are stored encrypted; the HMAC is the lookup key, so the
same person reported by phone one day and by email the next stays one record once both are known.

Example::

    people = await People.load(cipher(), phones=["+84912345678"], emails=[])
    person, others = people.find_or_add("+84912345678", None)  # a new Person when nobody has the number
    await people.write([person])   # inside the caller's write transaction
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from survey.crypto import ContactCipher
from survey.db import aware
from survey.tables import Respondent

__all__ = ["CHUNK", "People", "Person"]

CHUNK = 500  # values per IN (...) and rows per multi-row insert: well under both databases' parameter limits


@dataclass
class Person:
    """A respondent as a batch sees it: stored (``id``) or about to be (``row``), with the history the rules need."""

    id: int | None
    phone_hmac: str | None
    email_hmac: str | None
    opted_out: bool = False
    last_surveyed_at: datetime | None = None
    row: Respondent | None = None  # a new respondent, inserted by People.write
    add_phone: tuple[str, str] | None = None  # (hmac, encrypted) to attach to a stored respondent
    add_email: tuple[str, str] | None = None


class People:
    """The respondents of a batch by the HMACs of their details: those stored, and those the batch adds."""

    def __init__(self, box: ContactCipher) -> None:
        self.box = box
        self.by_phone: dict[str, Person] = {}
        self.by_email: dict[str, Person] = {}
        self._keys: dict[str, str] = {}

    def key(self, normalised: str) -> str:
        """The lookup key of a normalised phone (E.164) or email address."""
        found = self._keys.get(normalised)
        if found is None:
            found = self._keys[normalised] = self.box.lookup_key(normalised)
        return found

    @classmethod
    async def load(cls, box: ContactCipher, *, phones: Iterable[str], emails: Iterable[str]) -> People:
        """The stored respondents with any of these normalised ``phones`` (E.164) or ``emails``."""
        people = cls(box)
        columns = (Respondent.id, Respondent.phone_hmac, Respondent.email_hmac, Respondent.opted_out_at,
                   Respondent.last_surveyed_at)
        rows: dict[int, dict[str, Any]] = {}
        for column, values in ((Respondent.phone_hmac, phones), (Respondent.email_hmac, emails)):
            keys = list(dict.fromkeys(people.key(value) for value in values))
            for start in range(0, len(keys), CHUNK):
                part = keys[start : start + CHUNK]
                rows.update({r["id"]: r for r in await Respondent.select(*columns).where(column.is_in(part))})
        for row in rows.values():
            person = Person(row["id"], row["phone_hmac"], row["email_hmac"], row["opted_out_at"] is not None,
                            aware(row["last_surveyed_at"]))
            if person.phone_hmac:
                people.by_phone[person.phone_hmac] = person
            if person.email_hmac:
                people.by_email[person.email_hmac] = person
        return people

    def find_or_add(self, phone: str | None, email: str | None) -> tuple[Person | None, list[Person]]:
        """The person with this normalised ``phone`` or ``email`` (new when nobody has either), and any other
        record of the same person (found by the other detail). ``(None, [])`` without any detail.

        A detail not yet known for the person, and nobody else's, is remembered with them.
        """
        phone_key = self.key(phone) if phone else None
        email_key = self.key(email) if email else None
        if phone_key is None and email_key is None:
            return None, []
        found_phone = self.by_phone.get(phone_key) if phone_key else None
        found_email = self.by_email.get(email_key) if email_key else None
        if found_phone is None and found_email is None:
            person = Person(None, phone_key, email_key)
            person.row = Respondent(
                phone_hmac=phone_key, email_hmac=email_key,
                phone_encrypted=self.box.encrypt(phone) if phone else None,
                email_encrypted=self.box.encrypt(email) if email else None,
            )
            if phone_key:
                self.by_phone[phone_key] = person
            if email_key:
                self.by_email[email_key] = person
            return person, []
        person = found_phone or found_email
        assert person is not None
        other = found_email if found_phone is not None and found_email is not person else None
        if phone and phone_key and found_phone is None and person.phone_hmac is None:
            person.phone_hmac = phone_key
            self.by_phone[phone_key] = person
            if person.row is not None:
                person.row.phone_hmac, person.row.phone_encrypted = phone_key, self.box.encrypt(phone)
            else:
                person.add_phone = (phone_key, self.box.encrypt(phone))
        if email and email_key and found_email is None and person.email_hmac is None:
            person.email_hmac = email_key
            self.by_email[email_key] = person
            if person.row is not None:
                person.row.email_hmac, person.row.email_encrypted = email_key, self.box.encrypt(email)
            else:
                person.add_email = (email_key, self.box.encrypt(email))
        return person, [other] if other is not None else []

    async def write(self, people: Sequence[Person]) -> None:
        """Inside the caller's write transaction: insert the new ones among ``people`` (giving them an ``id``)
        and attach the details learnt about stored ones."""
        unique = list({id(p): p for p in people}.values())
        rows = [p.row for p in unique if p.row is not None]
        for start in range(0, len(rows), CHUNK):
            await Respondent.insert(*rows[start : start + CHUNK])
        for person in unique:
            if person.row is not None:
                person.id = person.row.id
                person.row = None
            values: dict[Any, Any] = {}
            if person.add_phone:
                values[Respondent.phone_hmac], values[Respondent.phone_encrypted] = person.add_phone
            if person.add_email:
                values[Respondent.email_hmac], values[Respondent.email_encrypted] = person.add_email
            if values:
                await Respondent.update(values).where(Respondent.id == person.id)
                person.add_phone = person.add_email = None
