"""Reference data: the organisation tree, the service catalogue and the counters.

Used by the demo and the tests; a real deployment loads its own with the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

from survey.db import write_transaction
from survey.tables import Counter, CounterService, Service, Unit

__all__ = ["COUNTERS", "PROVINCES", "SERVICES", "CounterSpec", "UnitSpec", "seed_reference"]


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name_vi: str
    name_en: str
    districts: tuple[tuple[str, str, str], ...] = ()


CENTRE = UnitSpec("VN", "Trung tâm Chăm sóc khách hàng - BHXH Việt Nam", "VSS Customer Care Centre")

PROVINCES: tuple[UnitSpec, ...] = (
    UnitSpec("HN", "BHXH TP. Hà Nội", "Hanoi Social Security", (
        ("HN-BD", "BHXH quận Ba Đình", "Ba Dinh District SS"),
        ("HN-CG", "BHXH quận Cầu Giấy", "Cau Giay District SS"),
        ("HN-DD", "BHXH quận Đống Đa", "Dong Da District SS"),
        ("HN-HD", "BHXH quận Hà Đông", "Ha Dong District SS"),
    )),
    UnitSpec("HCM", "BHXH TP. Hồ Chí Minh", "Ho Chi Minh City Social Security", (
        ("HCM-Q1", "BHXH Quận 1", "District 1 SS"),
        ("HCM-PN", "BHXH quận Phú Nhuận", "Phu Nhuan District SS"),
        ("HCM-TD", "BHXH TP. Thủ Đức", "Thu Duc City SS"),
        ("HCM-BT", "BHXH quận Bình Thạnh", "Binh Thanh District SS"),
    )),
    UnitSpec("HP", "BHXH TP. Hải Phòng", "Hai Phong Social Security", (
        ("HP-LC", "BHXH quận Lê Chân", "Le Chan District SS"),
        ("HP-NQ", "BHXH quận Ngô Quyền", "Ngo Quyen District SS"),
    )),
    UnitSpec("DN", "BHXH TP. Đà Nẵng", "Da Nang Social Security", (
        ("DN-HC", "BHXH quận Hải Châu", "Hai Chau District SS"),
        ("DN-TK", "BHXH quận Thanh Khê", "Thanh Khe District SS"),
    )),
    UnitSpec("CT", "BHXH TP. Cần Thơ", "Can Tho Social Security", (
        ("CT-NK", "BHXH quận Ninh Kiều", "Ninh Kieu District SS"),
        ("CT-BT", "BHXH quận Bình Thủy", "Binh Thuy District SS"),
    )),
    UnitSpec("QN", "BHXH tỉnh Quảng Ninh", "Quang Ninh Social Security", (
        ("QN-HL", "BHXH TP. Hạ Long", "Ha Long City SS"),
        ("QN-CP", "BHXH TP. Cẩm Phả", "Cam Pha City SS"),
    )),
    UnitSpec("NA", "BHXH tỉnh Nghệ An", "Nghe An Social Security", (
        ("NA-VI", "BHXH TP. Vinh", "Vinh City SS"),
        ("NA-DC", "BHXH huyện Diễn Châu", "Dien Chau District SS"),
    )),
    UnitSpec("TH", "BHXH tỉnh Thanh Hóa", "Thanh Hoa Social Security", (
        ("TH-TP", "BHXH TP. Thanh Hóa", "Thanh Hoa City SS"),
        ("TH-SS", "BHXH TP. Sầm Sơn", "Sam Son City SS"),
    )),
    UnitSpec("QB", "BHXH tỉnh Quảng Bình", "Quang Binh Social Security", (
        ("QB-DH", "BHXH TP. Đồng Hới", "Dong Hoi City SS"),
        ("QB-BT", "BHXH huyện Bố Trạch", "Bo Trach District SS"),
    )),
    UnitSpec("BDG", "BHXH tỉnh Bình Dương", "Binh Duong Social Security", (
        ("BDG-TDM", "BHXH TP. Thủ Dầu Một", "Thu Dau Mot City SS"),
        ("BDG-DA", "BHXH TP. Dĩ An", "Di An City SS"),
    )),
    UnitSpec("DNA", "BHXH tỉnh Đồng Nai", "Dong Nai Social Security", (
        ("DNA-BH", "BHXH TP. Biên Hòa", "Bien Hoa City SS"),
        ("DNA-LK", "BHXH TP. Long Khánh", "Long Khanh City SS"),
    )),
    UnitSpec("KH", "BHXH tỉnh Khánh Hòa", "Khanh Hoa Social Security", (
        ("KH-NT", "BHXH TP. Nha Trang", "Nha Trang City SS"),
        ("KH-CR", "BHXH TP. Cam Ranh", "Cam Ranh City SS"),
    )),
)

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
        if CENTRE.code not in known_units:
            centre = Unit(code=CENTRE.code, name_vi=CENTRE.name_vi, name_en=CENTRE.name_en, level="centre",
                          parent=None, path=f"/{CENTRE.code}/")
            await centre.save()
            known_units[CENTRE.code] = centre.id
            added["units"] += 1
        for province in PROVINCES:
            if province.code not in known_units:
                row = Unit(code=province.code, name_vi=province.name_vi, name_en=province.name_en, level="province",
                           parent=known_units[CENTRE.code], path=f"/{CENTRE.code}/{province.code}/")
                await row.save()
                known_units[province.code] = row.id
                added["units"] += 1
            for code, name_vi, name_en in province.districts:
                if code not in known_units:
                    row = Unit(code=code, name_vi=name_vi, name_en=name_en, level="district",
                               parent=known_units[province.code], path=f"/{CENTRE.code}/{province.code}/{code}/")
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
