"""Responses written straight to the database for tests that need answers to score or browse."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

__all__ = ["RATINGS", "add_counter_responses"]

# the rating questions of the bundled counter questionnaire, in its order
RATINGS = ("access_place", "access_facilities", "procedure_public", "procedure_documents", "servant_attitude",
           "servant_guidance", "result_time", "result_accuracy", "feedback_easy", "feedback_handled", "overall")


async def add_counter_responses(unit_code: str, count: int, *, service_code: str = "SIB", offset: int = 0,
                                minutes_apart: int = 3, ago: timedelta = timedelta(0),
                                ratings: Sequence[int] | None = None, unanswered: Sequence[str] = (),
                                channel: str = "counter") -> None:
    """``count`` complete counter responses submitted in the last hours, every rating answered 3, 4 or 5 in turn.

    The ``i``-th response was submitted ``minutes_apart * i + 1`` minutes (and ``ago``) before now; ``offset``
    shifts the answers; ``ratings`` (one per response) answers every rating question of the ``i``-th with
    ``ratings[i]`` instead; the questions in ``unanswered`` are left unanswered.
    """
    from survey.db import write_transaction
    from survey.services.aggregates import count_responses
    from survey.services.questionnaires import latest_version
    from survey.tables import Answer, Response, Service, Unit

    questionnaire = await latest_version("counter")
    unit = await Unit.select(Unit.id).where(Unit.code == unit_code).first()
    service = await Service.select(Service.id).where(Service.code == service_code).first()
    now = datetime.now(UTC)
    written = []
    async with write_transaction():  # a write path: the responses and their kept counts together
        for i in range(count):
            response = Response(questionnaire=questionnaire.row_id, unit=unit["id"], service=service["id"],
                                channel=channel, trust="kiosk", status="complete", page=3,
                                submitted_at=now - ago - timedelta(minutes=minutes_apart * i + 1))
            await response.save()
            await Answer.insert(*[Answer(response=response.id, question_id=question,
                                         value_number=float(3 + (i + offset + k) % 3 if ratings is None
                                                            else ratings[i]))
                                  for k, question in enumerate(RATINGS) if question not in unanswered])
            written.append(response.id)
        await count_responses(written)
