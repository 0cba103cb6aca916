"""The national year of ``bench.scale`` in memory: the unit tree, the services, the responses and their answers,
and the baseline over them.

A year is 60 answering units (six provinces, each with its own office and nine district offices) × 10 services ×
the 12 months of :data:`YEAR`, answered on the bundled ``counter`` questionnaire (the five SIPAS criteria, its
index, the overall rating and a comment). Answers are drawn as ``bench.scoring.synthetic`` draws them: a latent
quality per unit, a latent satisfaction per response, noise per question, about 5% of the optional ratings
skipped, each rating rounded into its question's own scale. The two feedback ratings are asked only of those who
said they sent a complaint (the questionnaire's ``show_if``), about 12%; about 20% leave a comment. No response
comes through an invitation. The same ``n`` and ``seed`` give the same year, so the loading subprocesses draw it
again instead of receiving it.

>>> year = national_year(2_000, seed=1)
>>> year.n, len(year.numeric_ids), len(ANSWERING_UNITS)
(2000, 11, 60)
>>> bool(np.all(np.diff(year.epoch) >= 0))  # in time order: response ids grow with the submission time
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

__all__ = [
    "ANSWERING_UNITS",
    "COMMENTS",
    "MONTHS",
    "QUESTIONNAIRE",
    "TIMEZONE",
    "UNITS",
    "YEAR",
    "UnitRow",
    "Year",
    "baseline",
    "month_label",
    "national_year",
]

QUESTIONNAIRE = "counter"
YEAR = 2026
MONTHS = 12
TIMEZONE = "Asia/Ho_Chi_Minh"  # the application's default, set explicitly for the bench processes
COMPLAINED = "complained"  # the counter questionnaire's gate of the feedback ratings
COMPLAINT_SHARE = 0.12
COMMENT_SHARE = 0.20
SKIPPED_SHARE = 0.05
COMMENTS = (
    "Cán bộ hướng dẫn tận tình, cảm ơn.",
    "Phải chờ lâu, nên có thêm quầy tiếp nhận.",
    "Thủ tục nhanh gọn hơn năm trước.",
    "Nơi ngồi chờ chật, thiếu ghế.",
    "Nhận kết quả đúng hẹn.",
    "Staff were helpful and polite.",
)


@dataclass(frozen=True)
class UnitRow:
    """One unit of the bench's tree: parents come before their children."""

    code: str
    name_vi: str
    name_en: str
    level: str
    parent: str | None


_PROVINCES = (
    ("HN", "BHXH TP. Hà Nội", "Hanoi Social Security"),
    ("HCM", "BHXH TP. Hồ Chí Minh", "Ho Chi Minh City Social Security"),
    ("HP", "BHXH TP. Hải Phòng", "Hai Phong Social Security"),
    ("DN", "BHXH TP. Đà Nẵng", "Da Nang Social Security"),
    ("CT", "BHXH TP. Cần Thơ", "Can Tho Social Security"),
    ("QN", "BHXH tỉnh Quảng Ninh", "Quang Ninh Social Security"),
)
DISTRICTS_PER_PROVINCE = 9


def _units() -> tuple[UnitRow, ...]:
    rows = [UnitRow("VN", "Trung tâm Chăm sóc khách hàng - BHXH Việt Nam", "VSS Customer Care Centre", "centre", None)]
    for code, name_vi, name_en in _PROVINCES:
        rows.append(UnitRow(code, name_vi, name_en, "province", "VN"))
        rows += [UnitRow(f"{code}-{d:02d}", f"BHXH khu vực {d} ({name_vi})", f"{name_en}, area office {d}", "district",
                         code) for d in range(1, DISTRICTS_PER_PROVINCE + 1)]
    return tuple(rows)


UNITS: tuple[UnitRow, ...] = _units()
# every unit but the centre takes responses: each province's own office and its nine district offices
ANSWERING_UNITS: tuple[str, ...] = tuple(u.code for u in UNITS if u.level != "centre")


def month_label(month: int) -> str:
    """The label scoring gives month ``month`` (0-based) of :data:`YEAR`: ``2026-01`` ..."""
    return f"{YEAR}-{month + 1:02d}"


@dataclass(frozen=True, eq=False)
class Year:
    """Responses in time order, as columns: ``unit`` indexes :data:`ANSWERING_UNITS`, ``service`` the reference
    services (0–9), ``month`` the months of :data:`YEAR` (0–11, local time); ``answers[:, j]`` answers
    ``numeric_ids[j]`` (NaN: not answered); ``comment`` indexes :data:`COMMENTS` (-1: none)."""

    numeric_ids: tuple[str, ...]
    unit: npt.NDArray[np.int64]
    service: npt.NDArray[np.int64]
    month: npt.NDArray[np.int64]
    epoch: npt.NDArray[np.int64]
    started: npt.NDArray[np.int64]
    answers: npt.NDArray[np.float64]
    complained: npt.NDArray[np.bool_]
    comment: npt.NDArray[np.int64]

    @property
    def n(self) -> int:
        return int(self.unit.shape[0])

    @cached_property
    def answer_count(self) -> int:
        """Answer rows a database holds for the year: numeric, the complaint question and the comments."""
        return int(np.count_nonzero(~np.isnan(self.answers))) + self.n + int(np.count_nonzero(self.comment >= 0))

    def cells(self) -> dict[tuple[str, str], int]:
        """Responses per (unit code, month label) that has any: the groups of the national year by unit × month."""
        counts = np.bincount(self.unit * MONTHS + self.month, minlength=len(ANSWERING_UNITS) * MONTHS)
        return {(ANSWERING_UNITS[k // MONTHS], month_label(k % MONTHS)): int(c)
                for k, c in enumerate(counts.tolist()) if c}


def _month_starts() -> npt.NDArray[np.int64]:
    zone = ZoneInfo(TIMEZONE)
    return np.array([int(datetime(YEAR + m // 12, m % 12 + 1, 1, tzinfo=zone).timestamp()) for m in range(MONTHS + 1)],
                    dtype=np.int64)


def national_year(n: int, seed: int = 2026) -> Year:
    """``n`` complete responses to the counter questionnaire over :data:`YEAR` (see the module's text)."""
    from questionnaires import load_bundled

    questionnaire = load_bundled()[QUESTIONNAIRE]
    numeric = [q for q in questionnaire.questions if q.is_numeric and q.scale is not None]
    rng = np.random.default_rng(seed)
    n_units = len(ANSWERING_UNITS)
    # offices differ in size (a province's own office and a city district serve more people)
    weights = rng.lognormal(0.0, 0.5, n_units)
    unit = rng.choice(n_units, size=n, p=weights / weights.sum()).astype(np.int64)
    month = rng.integers(0, MONTHS, n).astype(np.int64)
    starts = _month_starts()
    epoch = starts[month] + (rng.random(n) * (starts[month + 1] - starts[month])).astype(np.int64)
    order = np.argsort(epoch, kind="stable")
    unit, month, epoch = unit[order], month[order], epoch[order]
    quality = rng.normal(0.0, 0.4, n_units)[unit]
    latent = rng.normal(3.8, 0.9, n) + quality
    complained = rng.random(n) < COMPLAINT_SHARE
    answers = np.full((n, len(numeric)), np.nan)
    for j, question in enumerate(numeric):
        assert question.scale is not None
        low, high = question.scale.min, question.scale.max
        # the latent satisfaction is on a 1–5 scale: stretched to the question's own
        value = low + (latent + rng.normal(0.0, 0.7, n) - 1.0) * (high - low) / 4.0
        column = np.clip(np.rint(value), low, high)
        asked = np.ones(n, dtype=bool)
        if question.show_if is not None and question.show_if.question == COMPLAINED:
            asked = complained
        if not question.required:
            asked = asked & (rng.random(n) >= SKIPPED_SHARE)
        answers[asked, j] = column[asked]
    comment = np.where(rng.random(n) < COMMENT_SHARE, rng.integers(0, len(COMMENTS), n), -1).astype(np.int64)
    return Year(tuple(q.id for q in numeric), unit, rng.integers(0, 10, n).astype(np.int64), month, epoch,
                epoch - rng.integers(60, 900, n), answers, complained, comment)


def baseline(year: Year) -> float:
    """The bare numpy group-by-mean of every numeric question over unit × month (``np.bincount`` of the counts and
    sums of each question's answers); seconds."""
    from bench.scoring import group_by_mean

    started = time.perf_counter()
    groups = year.unit * MONTHS + year.month
    grouped = time.perf_counter() - started
    return grouped + group_by_mean(year.answers, groups, len(ANSWERING_UNITS) * MONTHS)
