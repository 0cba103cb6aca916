"""Drawing the year's contacts: how many per day and channel, at which hour, unit, service and counter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from survey.reference import CENTRE, COUNTERS
from survey.simulation.records import TET, DemoPatterns, holiday_window

__all__ = [
    "CHANNEL_QUESTIONNAIRE",
    "COUNTER_TRUST",
    "Draws",
    "concat_draws",
    "draw_contacts",
    "period_before",
    "tet_closure",
    "weighted_choice",
]

CHANNEL_QUESTIONNAIRE = {"call": "post-call", "counter": "counter", "online": "online-service"}
CALL_SERVICES = {"HOTLINE": 0.34, "VSSID": 0.13, "HIC": 0.12, "SIB": 0.1, "PENSION": 0.1, "UNEMP": 0.08,
                 "SICK-MAT": 0.08, "COMPLAINT": 0.05}
ONLINE_SERVICES = {"ONLINE": 0.55, "VSSID": 0.45}
COUNTER_DESK_SERVICES = {"SIB": 0.22, "HIC": 0.2, "PENSION": 0.14, "UNEMP": 0.14, "SICK-MAT": 0.14, "COLLECT": 0.16}
# relative caseload of the provinces (the two big cities dominate)
PROVINCE_WEIGHT = {"HN": 3.0, "HCM": 3.5, "HP": 1.2, "DN": 1.0, "CT": 0.9, "QN": 0.9, "NA": 1.1, "TH": 1.1,
                   "QB": 0.6, "BDG": 1.3, "DNA": 1.3, "KH": 0.8}
COUNTER_TRUST = {"ticket": 0.6, "kiosk": 0.25, "poster": 0.15}


def period_before(today: date) -> tuple[date, date]:
    """The twelve whole months before ``today``'s month: (first day, first day of ``today``'s month)."""
    end = today.replace(day=1)
    start = end.replace(year=end.year - 1)
    return start, end


def weighted_choice(rng: np.random.Generator, weights: Mapping[str, float], size: int) -> np.ndarray:
    """``size`` keys of ``weights`` drawn in proportion to their weights."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=size, p=p / p.sum())]


def tet_closure(days: Sequence[date]) -> set[date]:
    """The days offices are closed for Tết in the years of ``days``."""
    # the public Tết holiday: offices are closed from two days before to five days after
    closed: set[date] = set()
    for year in {d.year for d in days}:
        tet = TET.get(year)
        if tet is not None:
            closed.update(tet + timedelta(days=k) for k in range(-2, 6))
    return closed


def _day_weights(days: Sequence[date], channel: str, patterns: DemoPatterns) -> np.ndarray:
    closed = tet_closure(days)
    weights = np.empty(len(days))
    for i, day in enumerate(days):
        weekday = day.weekday()
        growth = 1.0 + 0.25 * i / len(days)  # contacts grow over the year, calls most
        window = holiday_window(day, patterns)
        before_tet = window is not None and window[0] <= day < window[0] + timedelta(days=patterns.days_before_tet - 2)
        if channel == "counter":
            w = 0.0 if weekday == 6 else (0.35 if weekday == 5 else 1.0)
            w *= 1.3 if weekday == 0 else 1.0
            w = 0.0 if day in closed else w * (1.4 if before_tet else 1.0)
        elif channel == "call":
            w = growth * (0.45 if weekday >= 5 else 1.0)
            w *= 0.25 if day in closed else (1.3 if before_tet else 1.0)
        else:
            w = growth * (0.7 if weekday >= 5 else 1.0) * (0.5 if day in closed else 1.0)
        weights[i] = w
    return weights / weights.sum()


def _minutes_of_day(rng: np.random.Generator, channel: str, size: int) -> np.ndarray:
    if channel == "counter":  # office hours, morning busier
        morning = rng.random(size) < 0.6
        return np.where(morning, rng.uniform(7.5 * 60, 11.5 * 60, size), rng.uniform(13 * 60, 16.5 * 60, size))
    if channel == "call":  # the hotline answers 07:00-21:00 (and a little more)
        return np.clip(rng.normal(13 * 60, 170, size), 7 * 60, 21 * 60)
    return np.clip(rng.normal(15 * 60, 260, size), 5 * 60, 23.9 * 60)


@dataclass
class Draws:
    """Contacts of one channel drawn as columns (numpy arrays) before they become records."""

    channel: str
    unit: np.ndarray
    service: np.ndarray
    counter: np.ndarray
    day: np.ndarray  # index into the period's days
    minute: np.ndarray
    english: np.ndarray


def draw_contacts(rng: np.random.Generator, channel: str, size: int, days: Sequence[date],
                  patterns: DemoPatterns) -> Draws:
    """``size`` contacts of ``channel`` over ``days``, as columns."""
    day = rng.choice(len(days), size=size, p=_day_weights(days, channel, patterns))
    minute = _minutes_of_day(rng, channel, size)
    english = rng.random(size) < 0.05
    counter = np.full(size, None, dtype=object)
    if channel == "counter":
        weights: dict[str, float] = {}
        for spec in COUNTERS:
            province = spec.unit.split("-")[0]
            weights[spec.code] = PROVINCE_WEIGHT[province] * (3.0 if spec.code.endswith("-Q1") else 1.0)
        counter = weighted_choice(rng, weights, size)
        by_code = {spec.code: spec for spec in COUNTERS}
        unit = np.array([by_code[c].unit for c in counter], dtype=object)
        desk = weighted_choice(rng, COUNTER_DESK_SERVICES, size)
        service = np.array([d if len(by_code[c].services) > 1 else by_code[c].services[0]
                            for c, d in zip(counter, desk, strict=True)], dtype=object)
    elif channel == "call":
        # half the calls are answered by the centre's switchboard, the rest by the provinces' call handling
        provinces = weighted_choice(rng, PROVINCE_WEIGHT, size)
        unit = np.where(rng.random(size) < 0.5, CENTRE.code, provinces)
        service = weighted_choice(rng, CALL_SERVICES, size)
    else:
        unit = weighted_choice(rng, PROVINCE_WEIGHT, size)
        service = weighted_choice(rng, ONLINE_SERVICES, size)
    return Draws(channel, unit, service, counter, day, minute, english)


def concat_draws(parts: Sequence[Draws], channel: str) -> Draws:
    """The contacts of ``parts`` as one set of columns."""
    return Draws(channel, *(np.concatenate([getattr(p, name) for p in parts]) for name in
                             ("unit", "service", "counter", "day", "minute", "english")))
