"""Survey links: creating invitations with one-time tokens, and the URL a person opens.

Only a keyed hash of each token is stored; the plain tokens are returned once, to be sent.

Example::

    tokens = await create_links([LinkSpec("counter", "HN-BD", service_code="HIC", channel="ticket")])
    survey_url(tokens[0])  # 'http://127.0.0.1:8000/s/Xk3...'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from delivery.tokens import new_token, token_hash
from survey.db import write_transaction
from survey.services.questionnaires import latest_version
from survey.settings import get_settings
from survey.tables import Counter, Invitation, InvitationChannel, InvitationStatus, Service, TrustLevel, Unit

__all__ = ["LinkSpec", "create_links", "reference_ids", "survey_url"]


@dataclass(frozen=True)
class LinkSpec:
    """One link to create: which questionnaire, for which unit and service, through which channel."""

    questionnaire_key: str
    unit_code: str
    service_code: str | None = None
    channel: str = "link"  # sms | email | ticket | kiosk | link
    trust: str = "one_time_link"
    language: str = "vi"
    contact_id: int | None = None
    counter_code: str | None = None
    expires_in_days: int | None = None

    def __post_init__(self) -> None:
        if self.channel not in set(InvitationChannel):
            raise ValueError(f"LinkSpec.channel: {self.channel!r} is not one of {', '.join(InvitationChannel)}")
        if self.trust not in set(TrustLevel):
            raise ValueError(f"LinkSpec.trust: {self.trust!r} is not one of {', '.join(TrustLevel)}")
        if self.expires_in_days is not None and self.expires_in_days < 1:
            raise ValueError(f"LinkSpec.expires_in_days: must be at least 1, got {self.expires_in_days}")


def survey_url(token: str) -> str:
    """The public address of the survey behind ``token``."""
    return f"{get_settings().base_url}/s/{token}"


async def reference_ids(table: type[Unit] | type[Service] | type[Counter]) -> dict[str, int]:
    """Code → id of every unit, service or counter (read on each call: reference data can grow)."""
    return {row["code"]: row["id"] for row in await table.select(table.id, table.code)}


async def create_links(specs: Sequence[LinkSpec]) -> list[str]:
    """Create one invitation per spec in one transaction; returns the plain tokens in the same order.

    Raises ``ValueError`` naming the unknown questionnaire, unit, service or counter; nothing is
    written then.
    """
    if not specs:
        return []
    settings = get_settings()
    units = await reference_ids(Unit)
    services = await reference_ids(Service) if any(s.service_code for s in specs) else {}
    counters = await reference_ids(Counter) if any(s.counter_code for s in specs) else {}
    versions: dict[str, int] = {}
    for key in {s.questionnaire_key for s in specs}:
        try:
            versions[key] = (await latest_version(key)).row_id
        except LookupError:
            raise ValueError(f"unknown questionnaire {key!r}: publish it first") from None
    now = datetime.now(UTC)
    tokens: list[str] = []
    rows: list[Invitation] = []
    for index, spec in enumerate(specs):
        where = f"link {index + 1}"
        if spec.unit_code not in units:
            raise ValueError(f"{where}: unknown unit {spec.unit_code!r}")
        if spec.service_code is not None and spec.service_code not in services:
            raise ValueError(f"{where}: unknown service {spec.service_code!r}")
        if spec.counter_code is not None and spec.counter_code not in counters:
            raise ValueError(f"{where}: unknown counter {spec.counter_code!r}")
        token = new_token(settings.token_length)
        tokens.append(token)
        # links and tickets are in the person's hands at once; SMS and email wait for the delivery worker
        handed_over = spec.channel in {"link", "ticket", "kiosk"}
        status = InvitationStatus.sent if handed_over else InvitationStatus.planned
        history = [{"status": str(status), "at": now.isoformat(), "detail": f"created ({spec.channel})"}]
        rows.append(
            Invitation(
                contact=spec.contact_id,
                questionnaire=versions[spec.questionnaire_key],
                channel=spec.channel,
                trust=spec.trust,
                token_hash=token_hash(token, settings.secret_key),
                unit=units[spec.unit_code],
                service=services.get(spec.service_code) if spec.service_code else None,
                counter=counters.get(spec.counter_code) if spec.counter_code else None,
                language=spec.language,
                status=status,
                status_history=history,
                created_at=now,
                sent_at=now if handed_over else None,
                expires_at=now + timedelta(days=spec.expires_in_days or settings.token_ttl_days),
            )
        )
    async with write_transaction():
        for start in range(0, len(rows), 500):
            await Invitation.insert(*rows[start : start + 500])
    return tokens
