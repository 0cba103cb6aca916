"""The data subjects' rights (Law 91/2025/QH15 on personal data protection, in force 1 January 2026, and Decree
356/2025): a person may know and see what is held about them, take it, have it corrected, restricted or erased.

Each request is kept as a ``RightsRequest`` with its due dates on the working calendar: acknowledged by the close
of the 2nd working day after the day it was received, carried out by the close of the 15th
(``SURVEY_RIGHTS_ACKNOWLEDGE_WORKING_DAYS``, ``SURVEY_RIGHTS_COMPLETE_WORKING_DAYS``). The person is named by the
phone or email they give, normalised as the intake does (E.164, lower case) and looked up by its HMAC.

What an erasure does (:func:`erase_person`), so that the statistics stay as they were:

- the person's respondent records lose their phone, email and lookup keys and are removed, and their contacts are
  unlinked from them; only an opted-out person keeps a record with the lookup keys and the opt-out, so that a
  later contact is still skipped (the only way to honour the opt-out without knowing the number);
- rating answers stay, no longer linked to anyone; free-text comments keep their row with the text replaced by
  :data:`ERASED_COMMENT` (the kept comment counts and ``survey aggregates verify`` stay as they were: the person
  did leave a comment, which is all a count says);
- the sandbox messages sent to them are deleted, their invitations still waiting are skipped (reason ``erased``)
  and their outbox jobs closed, with payloads reduced to ids; phone numbers and addresses in the follow-up
  journals are masked.
- the requests about the person keep their kind, dates and masked subject (the record that they were answered),
  not the subject itself. A request about someone nobody knows is kept too, answered "nothing is held".

Example::

    subject = read_subject("0912 345 678")          # Subject(kind='phone', value='+84912345678', ...)
    held = await export_person(subject)              # None: nobody is known by that phone
    summary = await erase_person(subject)            # ErasureSummary(respondents=1, comments=1, ...)
"""

from survey.services.rights.person import ErasureSummary, erase_person, erase_request, export_person, export_request
from survey.services.rights.requests import (
    ERASED_COMMENT,
    RIGHTS_KINDS,
    RequestNotFound,
    RightsError,
    RightsLine,
    Subject,
    acknowledge_request,
    complete_request,
    due_dates,
    read_subject,
    record_audit,
    record_request,
    request_subject,
    rights_requests,
    working_days_after,
)

__all__ = [
    "ERASED_COMMENT",
    "ErasureSummary",
    "RIGHTS_KINDS",
    "RequestNotFound",
    "RightsError",
    "RightsLine",
    "Subject",
    "acknowledge_request",
    "complete_request",
    "due_dates",
    "erase_person",
    "erase_request",
    "export_person",
    "export_request",
    "read_subject",
    "record_audit",
    "record_request",
    "request_subject",
    "rights_requests",
    "working_days_after",
]
