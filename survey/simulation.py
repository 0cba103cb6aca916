"""A year of simulated contacts and survey answers for the demo: pure and seeded, no database.

The data carries the patterns a quality team should be able to discover with the dashboards
(:class:`DemoPatterns`): one district office clearly worse (above all on "the civil servant"),
one service improving month by month, and a dip around Tết with more complaints about waiting.
Answers follow each questionnaire's scales and skip logic, and follow-up cases are opened by
each questionnaire's own rule.

>>> from datetime import date
>>> sim = simulate(responses=300, seed=7, today=date(2026, 11, 23))
>>> sim.period_start, sim.period_end
(datetime.date(2025, 11, 1), datetime.date(2026, 11, 1))
>>> sum(r.status == "complete" for r in sim.responses)
300
>>> simulate(responses=300, seed=7, today=date(2026, 11, 23)).responses == sim.responses
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np

from questionnaires import AnswerValue, Questionnaire, load_bundled, visible_questions
from survey.reference import CENTRE, COUNTERS, PROVINCES

__all__ = [
    "TET",
    "DemoPatterns",
    "DemoFindings",
    "SimulatedContact",
    "SimulatedFollowUp",
    "SimulatedResponse",
    "Simulation",
    "add_working_hours",
    "findings",
    "holiday_window",
    "simulate",
]

VN_TZ = timezone(timedelta(hours=7), "ICT")  # Vietnam keeps UTC+7 all year (no daylight saving)

# First day of the lunar new year (Tết Nguyên Đán).
TET: Mapping[int, date] = {
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}

CHANNEL_QUESTIONNAIRE = {"call": "post-call", "counter": "counter", "online": "online-service"}
CALL_SERVICES = {"HOTLINE": 0.34, "VSSID": 0.13, "HIC": 0.12, "SIB": 0.1, "PENSION": 0.1, "UNEMP": 0.08,
                 "SICK-MAT": 0.08, "COMPLAINT": 0.05}
ONLINE_SERVICES = {"ONLINE": 0.55, "VSSID": 0.45}
COUNTER_DESK_SERVICES = {"SIB": 0.22, "HIC": 0.2, "PENSION": 0.14, "UNEMP": 0.14, "SICK-MAT": 0.14, "COLLECT": 0.16}
# relative caseload of the provinces (the two big cities dominate)
PROVINCE_WEIGHT = {"HN": 3.0, "HCM": 3.5, "HP": 1.2, "DN": 1.0, "CT": 0.9, "QN": 0.9, "NA": 1.1, "TH": 1.1,
                   "QB": 0.6, "BDG": 1.3, "DNA": 1.3, "KH": 0.8}
COUNTER_TRUST = {"ticket": 0.6, "kiosk": 0.25, "poster": 0.15}


@dataclass(frozen=True)
class DemoPatterns:
    """What the simulated data hides for the quality team to find (effects on a 1-5 answer)."""

    worse_unit: str = "HCM-TD"
    worse_unit_effect: float = -0.25
    worse_unit_servant_effect: float = -0.6  # extra, on the civil servant questions
    improving_service: str = "VSSID"
    improving_from: float = -1.0  # in the first month
    improving_to: float = 0.15  # in the last month
    holiday_effect: float = -0.35
    holiday_waiting_effect: float = -0.6  # extra, on the waiting-time questions
    days_before_tet: int = 14
    days_after_tet: int = 10


@dataclass(frozen=True, slots=True)
class SimulatedContact:
    """One interaction; ``response`` is the index of its response in ``Simulation.responses``, or None."""

    source: str
    external_id: str
    channel: str
    unit_code: str
    service_code: str | None
    counter_code: str | None
    agent: str | None
    occurred_at: datetime
    language: str
    response: int | None


@dataclass(frozen=True, slots=True)
class SimulatedResponse:
    """One response; ``answers`` hold only visible questions (incomplete: the pages before ``page``)."""

    contact: int
    questionnaire_key: str
    channel: str
    unit_code: str
    service_code: str | None
    counter_code: str | None
    language: str
    trust: str
    status: str
    page: int
    started_at: datetime
    submitted_at: datetime | None
    answers: dict[str, AnswerValue]


@dataclass(frozen=True, slots=True)
class SimulatedFollowUp:
    """A case opened by a response's answers (``reasons`` from the questionnaire's follow-up rule)."""

    response: int
    unit_code: str
    reasons: tuple[str, ...]
    status: str
    created_at: datetime
    due_at: datetime
    closed_at: datetime | None
    notes: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class Simulation:
    """Everything :func:`simulate` made, in time order of the contacts."""

    period_start: date
    period_end: date  # exclusive: the first day of the current month
    patterns: DemoPatterns
    contacts: tuple[SimulatedContact, ...]
    responses: tuple[SimulatedResponse, ...]
    follow_ups: tuple[SimulatedFollowUp, ...] = field(default=())


def holiday_window(year_of: date, patterns: DemoPatterns = DemoPatterns()) -> tuple[date, date] | None:
    """The days around Tết (inclusive) that fall in the lunar new year of ``year_of``'s year."""
    tet = TET.get(year_of.year)
    if tet is None:
        return None
    return tet - timedelta(days=patterns.days_before_tet), tet + timedelta(days=patterns.days_after_tet)


# Office hours of a social security office, local time: 07:30-11:30 and 13:00-16:30, Monday to Friday.
_OFFICE_BLOCKS = ((7 * 60 + 30, 11 * 60 + 30), (13 * 60, 16 * 60 + 30))


def add_working_hours(start: datetime, hours: float, holidays: Sequence[date] = ()) -> datetime:
    """``start`` plus ``hours`` of office hours (Mon-Fri, 07:30-11:30 and 13:00-16:30 in Vietnam).

    >>> friday_late = datetime(2026, 3, 6, 16, 0, tzinfo=VN_TZ)
    >>> add_working_hours(friday_late, 1).astimezone(VN_TZ).strftime("%a %H:%M")
    'Mon 08:00'
    """
    local = start.astimezone(VN_TZ)
    remaining = hours * 60.0
    day = local.date()
    minute = local.hour * 60 + local.minute + local.second / 60
    while True:
        if day.weekday() < 5 and day not in holidays:
            for begin, end in _OFFICE_BLOCKS:
                if minute >= end:
                    continue
                minute = max(minute, begin)
                if minute + remaining <= end:
                    at = datetime.combine(day, datetime.min.time(), VN_TZ) + timedelta(minutes=minute + remaining)
                    return at.astimezone(UTC)
                remaining -= end - minute
                minute = end
        day += timedelta(days=1)
        minute = 0.0


def _period(today: date) -> tuple[date, date]:
    end = today.replace(day=1)
    start = end.replace(year=end.year - 1)
    return start, end


def _choice(rng: np.random.Generator, weights: Mapping[str, float], size: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=size, p=p / p.sum())]


def _tet_closure(days: Sequence[date]) -> set[date]:
    # the public Tết holiday: offices are closed from two days before to five days after
    closed: set[date] = set()
    for year in {d.year for d in days}:
        tet = TET.get(year)
        if tet is not None:
            closed.update(tet + timedelta(days=k) for k in range(-2, 6))
    return closed


def _day_weights(days: Sequence[date], channel: str, patterns: DemoPatterns) -> np.ndarray:
    closed = _tet_closure(days)
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
class _Draws:
    """Contacts of one channel drawn as columns (numpy arrays) before they become records."""

    channel: str
    unit: np.ndarray
    service: np.ndarray
    counter: np.ndarray
    day: np.ndarray  # index into the period's days
    minute: np.ndarray
    english: np.ndarray


def _draw(rng: np.random.Generator, channel: str, size: int, days: Sequence[date], patterns: DemoPatterns) -> _Draws:
    day = rng.choice(len(days), size=size, p=_day_weights(days, channel, patterns))
    minute = _minutes_of_day(rng, channel, size)
    english = rng.random(size) < 0.05
    counter = np.full(size, None, dtype=object)
    if channel == "counter":
        weights: dict[str, float] = {}
        for spec in COUNTERS:
            province = spec.unit.split("-")[0]
            weights[spec.code] = PROVINCE_WEIGHT[province] * (3.0 if spec.code.endswith("-Q1") else 1.0)
        counter = _choice(rng, weights, size)
        by_code = {spec.code: spec for spec in COUNTERS}
        unit = np.array([by_code[c].unit for c in counter], dtype=object)
        desk = _choice(rng, COUNTER_DESK_SERVICES, size)
        service = np.array([d if len(by_code[c].services) > 1 else by_code[c].services[0]
                            for c, d in zip(counter, desk, strict=True)], dtype=object)
    elif channel == "call":
        # half the calls are answered by the centre's switchboard, the rest by the provinces' call handling
        provinces = _choice(rng, PROVINCE_WEIGHT, size)
        unit = np.where(rng.random(size) < 0.5, CENTRE.code, provinces)
        service = _choice(rng, CALL_SERVICES, size)
    else:
        unit = _choice(rng, PROVINCE_WEIGHT, size)
        service = _choice(rng, ONLINE_SERVICES, size)
    return _Draws(channel, unit, service, counter, day, minute, english)


def _concat(parts: Sequence[_Draws], channel: str) -> _Draws:
    return _Draws(channel, *(np.concatenate([getattr(p, name) for p in parts]) for name in
                             ("unit", "service", "counter", "day", "minute", "english")))


# Comments people leave, by what they are about; each entry is (vi, en).
COMMENTS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "praise_agent": (
        ("Tư vấn viên rất nhiệt tình, giải thích rõ ràng, dễ hiểu. Cảm ơn tổng đài!",
         "The agent was very helpful and explained everything clearly. Thank you!"),
        ("Được hướng dẫn chi tiết cách tra cứu quá trình đóng BHXH, rất hài lòng.",
         "I was shown step by step how to look up my contribution record. Very satisfied."),
        ("Giọng nói dễ nghe, trả lời đúng trọng tâm.", "Pleasant voice, straight to the point."),
        ("Cảm ơn chị tư vấn viên đã kiên nhẫn giải đáp cho tôi về chế độ thai sản.",
         "Thanks to the agent for patiently answering my questions about maternity benefits."),
    ),
    "praise_counter": (
        ("Cán bộ một cửa niềm nở, hướng dẫn tận tình, hồ sơ được giải quyết nhanh.",
         "The staff at the counter were friendly and helpful; my case was handled quickly."),
        ("Thủ tục nhanh gọn, nhận kết quả đúng hẹn.", "Quick procedure, result ready on the promised date."),
        ("Nơi ngồi chờ sạch sẽ, có máy lấy số thứ tự nên không phải chen lấn.",
         "Clean waiting area, and the ticket machine means no pushing in the queue."),
        ("Chị cán bộ hướng dẫn tôi kê khai tờ khai rất kỹ, cảm ơn chị.",
         "The officer went through the form with me carefully, thank you."),
    ),
    "praise_online": (
        ("Nộp hồ sơ trực tuyến tiện lợi, không phải đi lại.", "Applying online is convenient, no need to travel."),
        ("Ứng dụng VssID tra cứu thẻ BHYT rất tiện.", "Looking up my health insurance card in VssID is handy."),
        ("Hồ sơ được xử lý nhanh, có tin nhắn báo kết quả.", "My application was handled fast and I got an SMS."),
    ),
    "waiting_call": (
        ("Gọi mấy lần mới gặp được tư vấn viên, chờ máy quá lâu.",
         "I had to call several times before reaching an agent; the wait was far too long."),
        ("Thời gian chờ hơn 10 phút, đề nghị bổ sung thêm tư vấn viên.",
         "I waited over 10 minutes; please add more agents."),
        ("Tổng đài luôn báo bận vào giờ hành chính.", "The line is always busy during office hours."),
        ("Chờ lâu quá, trước Tết gọi mãi không được.", "Waited far too long; before Tết I could not get through."),
    ),
    "waiting_counter": (
        ("Phải chờ rất lâu mới đến lượt, quá đông người.", "I waited a long time for my turn; far too crowded."),
        ("Chỉ có một quầy làm việc trong khi rất đông người chờ.", "Only one counter open while many people waited."),
        ("Hẹn trả kết quả 5 ngày nhưng 2 tuần mới có.", "The result was promised in 5 days but took 2 weeks."),
        ("Dịp trước Tết quá tải, chờ cả buổi sáng.", "Overloaded before Tết, I waited the whole morning."),
    ),
    "courtesy": (
        ("Cán bộ tiếp nhận thái độ cáu gắt, không hướng dẫn mà chỉ bảo về bổ sung.",
         "The officer was irritable and just told me to come back with more papers, no guidance."),
        ("Cán bộ nói chuyện thiếu tôn trọng người dân, cần chấn chỉnh.",
         "The officer spoke disrespectfully to people; this must be corrected."),
        ("Hỏi thì trả lời qua loa, không giải thích rõ.", "Questions were brushed off, nothing was explained."),
        ("Phải đi lại ba lần vì mỗi lần được yêu cầu một loại giấy tờ khác nhau.",
         "I had to come three times because each time they asked for a different document."),
    ),
    "agent_unhelpful": (
        ("Tư vấn viên trả lời chung chung, chưa giải quyết được vấn đề của tôi.",
         "The agent gave a general answer and did not solve my problem."),
        ("Được hẹn gọi lại nhưng không thấy ai gọi.", "I was promised a call back that never came."),
    ),
    "vssid_login": (
        ("Không đăng nhập được VssID, báo lỗi sai mật khẩu dù đã đặt lại.",
         "Cannot log in to VssID: wrong password error even after resetting it."),
        ("Không nhận được mã OTP khi đăng ký tài khoản VssID.", "No OTP code arrives when registering for VssID."),
        ("Ứng dụng VssID hay bị treo, thoát ra khi mở thẻ BHYT.",
         "The VssID app often freezes and closes when I open my health insurance card."),
        ("Xác thực định danh điện tử mức 2 không liên kết được với VssID.",
         "My level-2 electronic ID will not link to VssID."),
    ),
    "vssid_better": (
        ("Ứng dụng VssID bản mới đã đăng nhập nhanh hơn, dễ dùng hơn.",
         "The new VssID version logs in faster and is easier to use."),
        ("Đăng nhập VssID bằng VNeID rất tiện.", "Logging in to VssID with VNeID is very convenient."),
    ),
    "portal": (
        ("Cổng dịch vụ công hay bị lỗi khi tải hồ sơ đính kèm.", "The portal often fails when uploading attachments."),
        ("Hướng dẫn trên cổng khó hiểu, nên có video hướng dẫn.",
         "The instructions on the portal are hard to follow; a video would help."),
    ),
    "suggestion": (
        ("Nên bố trí thêm chỗ gửi xe và ghế ngồi chờ.", "Please add parking space and more seats."),
        ("Đề nghị làm việc thêm sáng thứ Bảy.", "Please open on Saturday mornings as well."),
        ("Nên có số điện thoại hỗ trợ riêng cho người cao tuổi.", "A separate helpline for older people would help."),
    ),
}

WRONG_DATA: tuple[tuple[str, str], ...] = (
    ("Quá trình đóng BHXH bị thiếu 6 tháng năm 2019 khi tôi chuyển công ty.",
     "Six months of 2019 are missing from my contribution record after I changed employer."),
    ("Thẻ BHYT ghi sai ngày sinh của tôi.", "My health insurance card has the wrong date of birth."),
    ("Nơi đăng ký khám chữa bệnh ban đầu không đúng với nơi tôi đã đăng ký.",
     "The registered primary care clinic is not the one I chose."),
    ("Lịch sử khám chữa bệnh có lần khám tôi không hề đi.", "My medical history shows a visit I never made."),
    ("Mức lương đóng BHXH hiển thị thấp hơn thực tế.", "The salary my contributions are based on is shown too low."),
)

NOTES = (
    "Đã gọi lại cho người dân, giải thích và hướng dẫn; người dân đồng ý.",
    "Đã chuyển đơn vị liên quan kiểm tra, điều chỉnh dữ liệu và báo lại người dân.",
    "Đã nhắc nhở công chức, xin lỗi người dân.",
    "Không liên lạc được sau 3 lần gọi; đóng hồ sơ.",
)


def _rating(base: float, latent: np.ndarray, noise: np.ndarray, low: int, high: int) -> np.ndarray:
    return np.clip(np.rint(base + latent + noise), low, high).astype(int)


def _comment_topic(key: str, service: str | None, overall: int, waiting_low: bool, late_in_year: bool,
                   servant_low: bool) -> str:
    if key == "post-call":
        if overall >= 4:
            return "praise_agent"
        return "waiting_call" if waiting_low else "agent_unhelpful"
    if key == "counter":
        if overall >= 4:
            return "praise_counter"
        if servant_low:
            return "courtesy"
        return "waiting_counter" if waiting_low else "suggestion"
    if service == "VSSID":
        if overall >= 4:
            return "vssid_better" if late_in_year else "praise_online"
        return "vssid_login"
    return "praise_online" if overall >= 4 else "portal"


def simulate(
    responses: int = 60_000,
    seed: int = 2026,
    today: date | None = None,
    patterns: DemoPatterns = DemoPatterns(),
    questionnaires: Mapping[str, Questionnaire] | None = None,
) -> Simulation:
    """Twelve months of contacts ending the month before ``today``, with ``responses`` complete responses.

    About 6% more responses are left incomplete, and a quarter of the contacts never respond.
    The same ``seed``, ``today`` and ``patterns`` give the same data.
    """
    if responses < 1:
        raise ValueError(f"responses: must be at least 1, got {responses}")
    today = today or datetime.now(VN_TZ).date()
    questionnaires = questionnaires or load_bundled()
    start, end = _period(today)
    days = [start + timedelta(days=k) for k in range((end - start).days)]
    rng = np.random.default_rng(seed)

    incomplete = max(1, round(responses * 0.06))
    answering = responses + incomplete
    silent = round(answering / 3)  # a quarter of the contacts never answer
    mix_answering = {"call": 0.36, "counter": 0.44, "online": 0.20}
    mix_silent = {"call": 0.45, "counter": 0.25, "online": 0.30}

    # Draw each channel's contacts as columns, answering ones first.
    counts = {ch: (round(answering * mix_answering[ch]), round(silent * mix_silent[ch])) for ch in mix_answering}
    counts["online"] = (answering - counts["call"][0] - counts["counter"][0], counts["online"][1])
    draws: dict[str, _Draws] = {}
    for channel, (n_answering, n_silent) in counts.items():
        draws[channel] = _concat([_draw(rng, channel, n_answering, days, patterns),
                                  _draw(rng, channel, n_silent, days, patterns)], channel)

    # Time of each contact (UTC, seconds since the epoch), and a stable order of all contacts.
    epoch_day0 = (datetime.combine(start, datetime.min.time(), VN_TZ)).timestamp()
    rows: list[tuple[float, str, int, bool]] = []
    for channel, d in draws.items():
        seconds = epoch_day0 + d.day * 86400.0 + d.minute * 60.0
        n_answering = counts[channel][0]
        rows.extend((float(s), channel, i, i < n_answering) for i, s in enumerate(seconds))
    rows.sort()
    end_ts = datetime.combine(end, datetime.min.time(), VN_TZ).timestamp()

    # The latent satisfaction of each answering contact (shared by all its answers) and its effects.
    day_of = {ch: draws[ch].day for ch in draws}
    month_of_day = np.array([(d.year - start.year) * 12 + d.month - start.month for d in days])
    in_holiday = np.array([(w := holiday_window(d, patterns)) is not None and w[0] <= d <= w[1] for d in days])
    weekday_effect = np.array([{0: -0.12, 4: 0.05}.get(d.weekday(), 0.0) for d in days])
    unit_codes = sorted({CENTRE.code} | {p.code for p in PROVINCES} | {c for p in PROVINCES for c, _, _ in p.districts})
    unit_effect = dict(zip(unit_codes, rng.normal(0.0, 0.07, len(unit_codes)), strict=True))

    responses_out: list[SimulatedResponse] = []
    contacts_out: list[SimulatedContact] = []
    incomplete_set: set[tuple[str, int]] = set()
    answering_keys = [(ch, i) for _, ch, i, answers in rows if answers]
    for k in rng.choice(len(answering_keys), size=incomplete, replace=False):
        incomplete_set.add(answering_keys[int(k)])

    # Per channel: the answers as numpy columns, then one record per response.
    built: dict[tuple[str, int], SimulatedResponse] = {}
    for channel, d in draws.items():
        n = counts[channel][0]
        key = CHANNEL_QUESTIONNAIRE[channel]
        q = questionnaires[key]
        day = day_of[channel][:n]
        month = month_of_day[day]
        holiday = in_holiday[day]
        service = d.service[:n]
        unit = d.unit[:n]
        progress = month / 11.0
        improving = np.where(service == patterns.improving_service,
                             patterns.improving_from + (patterns.improving_to - patterns.improving_from) * progress,
                             0.0)
        worse = (unit == patterns.worse_unit) if channel == "counter" else np.zeros(n, dtype=bool)
        latent = (rng.normal(0.0, 0.5, n) + np.array([unit_effect[u] for u in unit]) + improving
                  + np.where(holiday, patterns.holiday_effect, 0.0) + weekday_effect[day]
                  + np.where(worse, patterns.worse_unit_effect, 0.0)
                  + {"call": 0.05, "counter": 0.0, "online": -0.1}[channel])
        waiting_extra = np.where(holiday, patterns.holiday_waiting_effect, 0.0)
        servant_extra = np.where(worse, patterns.worse_unit_servant_effect, 0.0)

        numbers: dict[str, np.ndarray] = {}
        for question in q.questions:
            if question.scale is None:
                continue
            scale = question.scale
            noise = rng.normal(0.0, 0.6, n)
            if question.type == "nps":
                numbers[question.id] = _rating(8.2, 2.2 * latent, 1.3 * noise, 0, 10)
            elif question.type == "ces":
                numbers[question.id] = _rating(5.7, 1.5 * latent, 1.3 * noise, scale.min, scale.max)
            else:
                extra = np.zeros(n)
                if question.id in ("waiting_time", "reach", "result_time", "access_facilities"):
                    extra = waiting_extra
                if question.criterion == "civil_servant":
                    extra = servant_extra
                numbers[question.id] = _rating(4.2, latent + extra, noise, scale.min, scale.max)
        rated = [x.id for x in q.questions if x.type == "rating" and x.id != "overall" and x.show_if is None]
        overall_mean = np.mean([numbers[x] for x in rated], axis=0) if rated else 4.2 + latent
        numbers["overall"] = np.clip(np.rint(overall_mean + rng.normal(0.0, 0.45, n)), 1, 5).astype(int)
        skipped = rng.random((n, len(q.questions))) < 0.03  # optional questions left blank now and then
        outcome = latent + rng.normal(0.0, 0.5, n)
        choice_roll = rng.random((n, 4))
        comment_roll = rng.random(n)
        pick = rng.integers(0, 1_000_000, (n, 2))
        trust = _choice(rng, COUNTER_TRUST, n) if channel == "counter" else np.full(n, "one_time_link", dtype=object)
        pages = np.array(q.pages)
        stop_page = rng.choice(pages, size=n)
        seconds = epoch_day0 + day * 86400.0 + d.minute[:n] * 60.0
        delay = {"call": rng.lognormal(np.log(6 * 60), 0.8, n), "counter": rng.uniform(20, 600, n),
                 "online": rng.lognormal(np.log(2 * 3600), 1.0, n)}[channel]
        duration = rng.uniform(45, 300, n)
        # nobody answers after the period: shorten the delay of the last evening's contacts
        room = np.maximum(end_ts - 60.0 - seconds - duration, 1.0)
        delay = np.where(delay > room, rng.uniform(0.05, 1.0, n) * room, delay)
        started = seconds + delay
        submitted = started + duration

        for i in range(n):
            answers: dict[str, AnswerValue] = {}
            for j, question in enumerate(q.questions):
                if question.id in numbers and (question.required or not skipped[i, j]):
                    answers[question.id] = int(numbers[question.id][i])
            o = float(outcome[i])
            if key == "post-call":
                answers["resolved"] = "yes" if o > -0.45 else ("partly" if o > -1.05 else "no")
            elif key == "counter":
                answers["complained"] = "yes" if choice_roll[i, 0] < (0.2 if o < -0.6 else 0.05) else "no"
            else:
                if service[i] == "VSSID":
                    answers["platform"] = "vssid"
                else:
                    answers["platform"] = "vss-portal" if choice_roll[i, 1] < 0.7 else "national-portal"
                answers["result"] = "done" if o > -0.3 else ("waiting" if o > -1.1 else "not-done")
                wrong = choice_roll[i, 2] < (0.12 if o < -0.8 else 0.04)
                answers["wrong_info"] = "yes" if wrong else "no"
            english = bool(d.english[i])
            overall = answers["overall"]
            assert isinstance(overall, int)
            wants_comment = comment_roll[i] < (0.55 if overall <= 2 else (0.3 if overall == 3 else 0.18))
            if wants_comment:
                waiting_id = {"post-call": "waiting_time", "counter": "result_time"}.get(key)
                waiting_value = answers.get(waiting_id) if waiting_id else None
                waiting_low = (isinstance(waiting_value, int) and waiting_value <= 2) or bool(holiday[i])
                servant = answers.get("servant_attitude")
                servant_low = isinstance(servant, int) and servant <= 2
                topic = _comment_topic(key, service[i], overall, waiting_low, month[i] >= 8, servant_low)
                options = COMMENTS[topic]
                answers["comment"] = options[int(pick[i, 0]) % len(options)][1 if english else 0]
            if answers.get("wrong_info") == "yes" and choice_roll[i, 3] < 0.9:
                answers["wrong_info_detail"] = WRONG_DATA[int(pick[i, 1]) % len(WRONG_DATA)][1 if english else 0]
            # answers in question order, keeping only what the skip logic shows
            shown = visible_questions(q, answers)
            complete = (channel, i) not in incomplete_set
            page = int(stop_page[i]) if not complete else q.pages[-1]
            answers = {x.id: answers[x.id] for x in shown if x.id in answers and (complete or x.page < page)}
            built[(channel, i)] = SimulatedResponse(
                contact=-1,
                questionnaire_key=key,
                channel=channel,
                unit_code=str(unit[i]),
                service_code=str(service[i]),
                counter_code=None if d.counter[i] is None else str(d.counter[i]),
                language="en" if english else "vi",
                trust=str(trust[i]),
                status="complete" if complete else "incomplete",
                page=page,
                started_at=datetime.fromtimestamp(float(started[i]), UTC),
                submitted_at=datetime.fromtimestamp(float(submitted[i]), UTC) if complete else None,
                answers=answers,
            )

    sources = {"call": "switchboard", "counter": "queue", "online": "portal"}
    agents = rng.integers(1, 180, len(rows))
    for number, (seconds, channel, i, answers_it) in enumerate(rows):
        d = draws[channel]
        response_index: int | None = None
        if answers_it:
            response_index = len(responses_out)
            r = built[(channel, i)]
            responses_out.append(replace(r, contact=len(contacts_out)))
        contacts_out.append(SimulatedContact(
            source=sources[channel],
            external_id=f"{channel[:2].upper()}{start:%y%m}-{number + 1:07d}",
            channel=channel,
            unit_code=str(d.unit[i]),
            service_code=str(d.service[i]),
            counter_code=None if d.counter[i] is None else str(d.counter[i]),
            agent=f"TV{int(agents[number]):03d}" if channel == "call" else None,
            occurred_at=datetime.fromtimestamp(seconds, UTC),
            language="en" if d.english[i] else "vi",
            response=response_index,
        ))

    follow_ups = _follow_ups(rng, responses_out, questionnaires, end)
    return Simulation(start, end, patterns, tuple(contacts_out), tuple(responses_out), tuple(follow_ups))


def _follow_ups(rng: np.random.Generator, responses: Sequence[SimulatedResponse],
                questionnaires: Mapping[str, Questionnaire], end: date) -> list[SimulatedFollowUp]:
    """Cases for complete responses that trip their questionnaire's rule: old ones closed, recent ones open."""
    end_at = datetime.combine(end, datetime.min.time(), VN_TZ)
    holidays = sorted(_tet_closure([end - timedelta(days=k) for k in range(0, 400, 20)]))
    cases: list[SimulatedFollowUp] = []
    for index, r in enumerate(responses):
        if r.status != "complete" or r.submitted_at is None:
            continue
        rule = questionnaires[r.questionnaire_key].follow_up
        reasons = rule.triggered_by(r.answers) if rule is not None else ()
        if not reasons:
            continue
        assert rule is not None
        created = r.submitted_at
        due = add_working_hours(created, rule.due_working_hours, holidays)
        age = end_at - created
        roll = float(rng.random())
        if age < timedelta(days=5):
            status = "open" if roll < 0.5 else ("in_progress" if roll < 0.75 else "closed")
        else:
            status = "closed" if roll < 0.997 else "in_progress"
        closed_at: datetime | None = None
        notes: tuple[dict[str, str], ...] = ()
        if status != "open":
            # most cases are answered within the hour; some take days
            late = float(rng.random()) < 0.15
            worked = float(rng.uniform(1.0, 24.0)) if late else float(rng.uniform(0.1, 0.95))
            noted_at = add_working_hours(created, worked * rule.due_working_hours, holidays)
            notes = ({"at": noted_at.isoformat(), "by": "Tổ chất lượng",
                      "text": NOTES[int(rng.integers(0, len(NOTES)))]},)
            if status == "closed":
                closed_at = noted_at
        cases.append(SimulatedFollowUp(index, r.unit_code, reasons, status, created, due, closed_at, notes))
    return cases


@dataclass(frozen=True)
class DemoFindings:
    """The hidden patterns as the data shows them: satisfied shares (answer >= 4) of ``overall``."""

    worse_unit: str
    worse_unit_share: float  # counter responses of the worse unit
    other_units_share: float  # counter responses of every other unit
    worse_unit_servant_share: float  # ``servant_attitude`` at the worse unit
    other_units_servant_share: float
    improving_service: str
    first_quarter_share: float  # the improving service in the first three months
    last_quarter_share: float  # ... and in the last three
    tet_month: date | None  # the first day of the month of Tết in the period
    tet_month_share: float
    other_months_share: float


def _share(responses: Sequence[SimulatedResponse], question_id: str) -> float:
    values = [v for r in responses if isinstance(v := r.answers.get(question_id), int)]
    return sum(v >= 4 for v in values) / len(values) if values else float("nan")


def findings(sim: Simulation) -> DemoFindings:
    """Measure the patterns of :class:`DemoPatterns` in the complete responses of ``sim``."""
    p = sim.patterns
    complete = [r for r in sim.responses if r.status == "complete" and r.submitted_at is not None]
    counter = [r for r in complete if r.channel == "counter"]
    worse = [r for r in counter if r.unit_code == p.worse_unit]
    others = [r for r in counter if r.unit_code != p.worse_unit]

    def month_index(r: SimulatedResponse) -> int:
        local = r.started_at.astimezone(VN_TZ)
        return (local.year - sim.period_start.year) * 12 + local.month - sim.period_start.month

    service = [r for r in complete if r.service_code == p.improving_service]
    tet = next((t for t in TET.values() if sim.period_start <= t < sim.period_end), None)
    tet_month = tet.replace(day=1) if tet is not None else None
    in_tet_month = [r for r in complete if tet_month is not None
                    and r.started_at.astimezone(VN_TZ).date().replace(day=1) == tet_month]
    rest = [r for r in complete if tet_month is None
            or r.started_at.astimezone(VN_TZ).date().replace(day=1) != tet_month]
    return DemoFindings(
        worse_unit=p.worse_unit,
        worse_unit_share=_share(worse, "overall"),
        other_units_share=_share(others, "overall"),
        worse_unit_servant_share=_share(worse, "servant_attitude"),
        other_units_servant_share=_share(others, "servant_attitude"),
        improving_service=p.improving_service,
        first_quarter_share=_share([r for r in service if month_index(r) < 3], "overall"),
        last_quarter_share=_share([r for r in service if month_index(r) >= 9], "overall"),
        tet_month=tet_month,
        tet_month_share=_share(in_tet_month, "overall"),
        other_months_share=_share(rest, "overall"),
    )
