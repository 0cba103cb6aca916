"""Counters and what stands at them: the poster's short URL, one-time ticket links, registered kiosk tablets.

A kiosk proves itself with a device cookie ``<kiosk id>.<secret>.<signature>``: the signature (HMAC
with the application's secret key) rejects forged values without a database look-up, the secret is
compared with the stored SHA-256, and a revoked kiosk or another counter's URL is refused.

Example::

    card = await counter_card("HN-BD-Q1")          # names, unit, services
    link = await issue_ticket("HN-BD-Q1", "SIB")   # TicketLink(url='.../s/...', expires_at=...)
    kiosk, cookie = await register_kiosk(me, "HN-BD-Q1", "Máy tính bảng quầy 1")
    (await kiosk_from_cookie(cookie)).counter_code  # 'HN-BD-Q1'
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from delivery.tokens import token_hash
from survey.db import NUL
from survey.services.accounts import StaffIdentity, can_see, scope_prefix
from survey.services.invitations import LinkSpec, create_links, survey_url
from survey.settings import get_settings
from survey.tables import Counter, CounterService, Invitation, Kiosk, StaffRole, Unit

__all__ = [
    "KIOSK_ROLES",
    "CounterCard",
    "KioskInfo",
    "TicketError",
    "TicketLink",
    "counter_card",
    "counter_url",
    "counters_in_scope",
    "issue_ticket",
    "kiosk_from_cookie",
    "kiosks_in_scope",
    "may_register_kiosks",
    "register_kiosk",
    "revoke_kiosk",
    "unit_counters",
]

# who may put a tablet at a counter (a leader reads reports, it does not install devices)
KIOSK_ROLES = frozenset({StaffRole.admin, StaffRole.quality, StaffRole.unit_manager})


@dataclass(frozen=True)
class CounterCard:
    """A counter as a poster, a ticket or a kiosk shows it."""

    id: int
    code: str
    name_vi: str
    name_en: str
    unit_id: int
    unit_code: str
    unit_name_vi: str
    unit_name_en: str
    unit_path: str
    questionnaire_key: str
    services: tuple[tuple[str, str, str], ...]  # (code, name_vi, name_en), by code
    service_ids: dict[str, int]  # code → id

    @property
    def service_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _, _ in self.services)


def counter_url(code: str) -> str:
    """The counter's public survey address, printed on its poster: ``{base_url}/q/{code}``."""
    return f"{get_settings().base_url}/q/{code}"


async def _cards(where: object) -> list[CounterCard]:
    rows = await Counter.select(
        Counter.id, Counter.code, Counter.name_vi, Counter.name_en, Counter.questionnaire_key,
        Counter.unit.id.as_alias("unit_id"), Counter.unit.code.as_alias("unit_code"),
        Counter.unit.name_vi.as_alias("unit_name_vi"), Counter.unit.name_en.as_alias("unit_name_en"),
        Counter.unit.path.as_alias("unit_path"),
    ).where(where).where(Counter.active == True)  # noqa: E712 (a Piccolo expression)
    if not rows:
        return []
    links = await CounterService.select(
        CounterService.counter, CounterService.service.id.as_alias("service_id"),
        CounterService.service.code.as_alias("code"),
        CounterService.service.name_vi.as_alias("name_vi"), CounterService.service.name_en.as_alias("name_en"),
    ).where(CounterService.counter.is_in([r["id"] for r in rows]) & (CounterService.service.active == True))  # noqa: E712
    services: dict[int, list[tuple[str, str, str]]] = {}
    service_ids: dict[int, dict[str, int]] = {}
    for link in links:
        services.setdefault(link["counter"], []).append((link["code"], link["name_vi"], link["name_en"]))
        service_ids.setdefault(link["counter"], {})[link["code"]] = link["service_id"]
    cards = [CounterCard(r["id"], r["code"], r["name_vi"], r["name_en"], r["unit_id"], r["unit_code"],
                         r["unit_name_vi"], r["unit_name_en"], r["unit_path"], r["questionnaire_key"],
                         tuple(sorted(services.get(r["id"], []))), service_ids.get(r["id"], {})) for r in rows]
    return sorted(cards, key=lambda c: (c.unit_path, c.code))


async def counter_card(code: str) -> CounterCard | None:
    """The active counter ``code``, or ``None``."""
    if NUL in code:  # no code holds one, and PostgreSQL refuses it in a query
        return None
    cards = await _cards(Counter.code == code)
    return cards[0] if cards else None


async def unit_counters(unit_code: str) -> list[CounterCard]:
    """The active counters of the unit ``unit_code`` and the units under it; ``LookupError`` for an unknown unit."""
    units = await Unit.select(Unit.path).where(Unit.code == unit_code) if NUL not in unit_code else []
    if not units:
        known = [r["code"] for r in await Unit.select(Unit.code).order_by(Unit.code)]
        raise LookupError(f"unknown unit {unit_code!r}; known units: {', '.join(known)}")
    return await _cards(Counter.unit.path.like(units[0]["path"] + "%"))


# --- tickets ----------------------------------------------------------------------------------------------------


class TicketError(ValueError):
    """A ticket request names a counter or service that does not fit; ``allowed`` lists what would."""

    def __init__(self, field: str, message: str, allowed: list[str]) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.allowed = allowed


@dataclass(frozen=True)
class TicketLink:
    """A one-time survey link printed on a queue ticket."""

    url: str
    token: str
    counter_code: str
    service_code: str | None
    expires_at: datetime


async def issue_ticket(counter_code: str, service_code: str | None = None, language: str = "vi") -> TicketLink:
    """A one-time link (trust ``ticket``) to the counter's questionnaire, for the service the visitor came for.

    The service must be one the counter handles; it may be left out when the counter handles only one.
    """
    card = await counter_card(counter_code)
    if card is None:
        allowed = [r["code"] for r in await Counter.select(Counter.code).where(Counter.active == True)  # noqa: E712
                   .order_by(Counter.code)]
        raise TicketError("counter", f"unknown counter {counter_code!r}", allowed)
    codes = list(card.service_codes)
    if service_code is None and len(codes) == 1:
        service_code = codes[0]
    if service_code is None and len(codes) > 1:
        raise TicketError("service", f"counter {card.code} handles several services: name one", codes)
    if service_code is not None and service_code not in codes:
        raise TicketError("service", f"counter {card.code} does not handle service {service_code!r}", codes)
    if language not in get_settings().languages:
        raise TicketError("language", f"unsupported language {language!r}", list(get_settings().languages))
    [token] = await create_links([LinkSpec(
        questionnaire_key=card.questionnaire_key, unit_code=card.unit_code, service_code=service_code,
        channel="ticket", trust="ticket", language=language, counter_code=card.code,
    )])
    rows = await Invitation.select(Invitation.expires_at).where(
        Invitation.token_hash == token_hash(token, get_settings().secret_key))
    return TicketLink(survey_url(token), token, card.code, service_code, rows[0]["expires_at"])


# --- kiosks -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KioskInfo:
    """A registered kiosk tablet (never its secret)."""

    id: int
    label: str
    counter_code: str
    counter_name_vi: str
    counter_name_en: str
    unit_code: str
    unit_path: str
    registered_at: datetime
    registered_by: str | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def may_register_kiosks(identity: StaffIdentity) -> bool:
    return identity.role in KIOSK_ROLES


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _signature(kiosk_id: int, secret: str) -> str:
    key = hashlib.sha256(f"kiosk-cookie:{get_settings().secret_key}".encode()).digest()
    return hmac.new(key, f"{kiosk_id}.{secret}".encode(), hashlib.sha256).hexdigest()


def _kiosk_columns() -> list[object]:
    return [
        Kiosk.id, Kiosk.label, Kiosk.registered_at, Kiosk.revoked_at, Kiosk.secret_hash,
        Kiosk.counter.code.as_alias("counter_code"), Kiosk.counter.name_vi.as_alias("counter_name_vi"),
        Kiosk.counter.name_en.as_alias("counter_name_en"), Kiosk.counter.unit.code.as_alias("unit_code"),
        Kiosk.counter.unit.path.as_alias("unit_path"), Kiosk.registered_by.display_name.as_alias("registered_by"),
    ]


def _kiosk(row: dict[str, object]) -> KioskInfo:
    return KioskInfo(row["id"], row["label"], row["counter_code"], row["counter_name_vi"],  # type: ignore[arg-type]
                     row["counter_name_en"], row["unit_code"], row["unit_path"], row["registered_at"],  # type: ignore[arg-type]
                     row["registered_by"], row["revoked_at"])  # type: ignore[arg-type]


async def counters_in_scope(identity: StaffIdentity) -> list[CounterCard]:
    """The active counters ``identity`` may register kiosks at."""
    if not may_register_kiosks(identity):
        return []
    return await _cards(Counter.unit.path.like(scope_prefix(identity) + "%"))


async def kiosks_in_scope(identity: StaffIdentity) -> list[KioskInfo]:
    """The kiosks at counters of ``identity``'s units, active first, newest first."""
    rows = await Kiosk.select(*_kiosk_columns()).where(Kiosk.counter.unit.path.like(scope_prefix(identity) + "%"))
    kiosks = [_kiosk(r) for r in rows]
    return sorted(kiosks, key=lambda k: (not k.active, -k.registered_at.timestamp()))


async def register_kiosk(identity: StaffIdentity, counter_code: str, label: str) -> tuple[KioskInfo, str]:
    """Register a tablet at ``counter_code``; returns it and the device cookie value (shown to nobody)."""
    if not may_register_kiosks(identity):
        raise PermissionError(f"role {identity.role!r} may not register kiosks")
    label = " ".join(label.replace(NUL, "").split())[:120]
    if not label:
        raise ValueError("label: give the tablet a name, e.g. 'Máy tính bảng quầy 1'")
    card = await counter_card(counter_code)
    if card is None or not can_see(identity, card.unit_path):
        raise LookupError(f"counter: no counter {counter_code!r} in your units")
    secret = secrets.token_urlsafe(32)
    row = Kiosk(counter=card.id, label=label, secret_hash=_secret_hash(secret), registered_by=identity.id,
                registered_at=datetime.now(UTC))
    await row.save()
    [stored] = await Kiosk.select(*_kiosk_columns()).where(Kiosk.id == row.id)
    return _kiosk(stored), f"{row.id}.{secret}.{_signature(row.id, secret)}"


async def kiosk_from_cookie(value: str) -> KioskInfo | None:
    """The active kiosk a device cookie belongs to, or ``None`` (forged, unknown or revoked)."""
    try:
        id_text, secret, signature = value.split(".")
        kiosk_id = int(id_text)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _signature(kiosk_id, secret)):
        return None
    rows = await Kiosk.select(*_kiosk_columns()).where(Kiosk.id == kiosk_id)
    if not rows or not hmac.compare_digest(str(rows[0]["secret_hash"]), _secret_hash(secret)):
        return None
    kiosk = _kiosk(rows[0])
    return kiosk if kiosk.active else None


async def revoke_kiosk(identity: StaffIdentity, kiosk_id: int) -> KioskInfo | None:
    """Revoke the kiosk ``kiosk_id`` if it is in ``identity``'s units; ``None`` when it is not there."""
    if not may_register_kiosks(identity):
        return None
    rows = await Kiosk.select(*_kiosk_columns()).where(Kiosk.id == kiosk_id)
    if not rows or not can_see(identity, str(rows[0]["unit_path"])):
        return None
    await Kiosk.update({Kiosk.revoked_at: datetime.now(UTC)}).where(
        (Kiosk.id == kiosk_id) & Kiosk.revoked_at.is_null())
    [row] = await Kiosk.select(*_kiosk_columns()).where(Kiosk.id == kiosk_id)
    return _kiosk(row)
