"""Reference data: the organisation tree, the service catalogue and the counters.

Used by the demo and the tests; a real deployment loads its own with the same function. The units
are data (``survey/data/units.csv``), the services and counters below.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from survey.db import write_transaction
from survey.tables import Counter, CounterService, Service, Unit

__all__ = ["COUNTERS", "PROVINCES", "SERVICES", "UNITS_FILE", "CounterSpec", "UnitSpec", "read_units", "seed_reference"]


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name_vi: str
    name_en: str
    districts: tuple[tuple[str, str, str], ...] = ()


CENTRE = UnitSpec("VN", "Trung tâm Chăm sóc khách hàng - BHXH Việt Nam", "VSS Customer Care Centre")

UNITS_FILE = Path(__file__).parent / "data" / "units.csv"


def read_units(path: Path = UNITS_FILE) -> tuple[UnitSpec, ...]:
    """The provinces of a units file (``code,province,name_vi,name_en``; a district names its province)."""
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    districts: dict[str, list[tuple[str, str, str]]] = {}
    for row in rows:
        if row["province"]:
            districts.setdefault(row["province"], []).append((row["code"], row["name_vi"], row["name_en"]))
    return tuple(UnitSpec(row["code"], row["name_vi"], row["name_en"], tuple(districts.get(row["code"], ())))
                 for row in rows if not row["province"])


PROVINCES: tuple[UnitSpec, ...] = read_units()

SERVICES: tuple[tuple[str, str, str], ...] = (
    ("HOTLINE", "Tư vấn chính sách qua tổng đài", "Policy advice by hotline"),
    ("SIB", "Sổ bảo hiểm xã hội", "Social insurance book"),
    ("HIC", "Thẻ bảo hiểm y tế", "Health insurance card"),
    ("PENSION", "Lương hưu, trợ cấp BHXH", "Pension and social insurance benefits"),
    ("UNEMP", "Bảo hiểm thất nghiệp", "Unemployment benefit"),
    ("SICK-MAT", "Chế độ ốm đau, thai sản", "Sickness and maternity benefits"),
    ("ONLINE", "Dịch vụ công trực tuyến", "Online public service"),
    ("VSSID", "Hỗ trợ ứng dụng VssID", "VssID app support"),
    ("COLLECT", "Thu, cấp sổ, thẻ", "Contributions and registration"),
    ("COMPLAINT", "Tiếp nhận phản ánh, kiến nghị", "Complaints and recommendations"),
)

# the services handled at a counter (one-stop-shop desks: "bộ phận một cửa")
COUNTER_SERVICES = ("SIB", "HIC", "PENSION", "UNEMP", "SICK-MAT", "COLLECT")


@dataclass(frozen=True)
class CounterSpec:
    code: str
    unit: str
    name_vi: str
    name_en: str
    services: tuple[str, ...]


def _counters() -> tuple[CounterSpec, ...]:
    specs: list[CounterSpec] = []
    for province in PROVINCES:
        offices = [(province.code, province.name_vi, province.name_en), *province.districts]
        for code, _, _ in offices:
            specs.append(CounterSpec(f"{code}-Q1", code, "Quầy một cửa số 1", "One-stop counter 1", COUNTER_SERVICES))
            specs.append(CounterSpec(f"{code}-Q2", code, "Quầy thẻ BHYT", "Health insurance card desk", ("HIC",)))
    return tuple(specs)


COUNTERS: tuple[CounterSpec, ...] = _counters()


async def seed_reference() -> dict[str, int]:
    """Insert the units, services and counters above that are not yet there; returns the count added."""
    added = {"units": 0, "services": 0, "counters": 0}
    async with write_transaction():
        known_units = {row["code"]: row["id"] for row in await Unit.select(Unit.id, Unit.code)}
        # parents before children: the centre, each province, then its districts
        tree: list[tuple[str, str, str, str, str | None]] = [(CENTRE.code, CENTRE.name_vi, CENTRE.name_en, "centre",
                                                             None)]
        for province in PROVINCES:
            tree.append((province.code, province.name_vi, province.name_en, "province", CENTRE.code))
            tree += [(code, vi, en, "district", province.code) for code, vi, en in province.districts]
        paths: dict[str, str] = {}
        for code, name_vi, name_en, level, parent in tree:
            paths[code] = (paths[parent] if parent else "/") + f"{code}/"
            if code in known_units:
                continue
            row = Unit(code=code, name_vi=name_vi, name_en=name_en, level=level,
                       parent=known_units[parent] if parent else None, path=paths[code])
            await row.save()
            known_units[code] = row.id
            added["units"] += 1
        known_services = {row["code"]: row["id"] for row in await Service.select(Service.id, Service.code)}
        for code, name_vi, name_en in SERVICES:
            if code not in known_services:
                row = Service(code=code, name_vi=name_vi, name_en=name_en)
                await row.save()
                known_services[code] = row.id
                added["services"] += 1
        known_counters = {row["code"] for row in await Counter.select(Counter.code)}
        for spec in COUNTERS:
            if spec.code in known_counters:
                continue
            counter = Counter(code=spec.code, unit=known_units[spec.unit], name_vi=spec.name_vi, name_en=spec.name_en,
                              questionnaire_key="counter")
            await counter.save()
            for service in spec.services:
                await CounterService(counter=counter.id, service=known_services[service]).save()
            added["counters"] += 1
    return added
