"""The scores of a questionnaire for a scope and period, per group: read, assessed, limited to what the caller
may see.

The statistics are :mod:`scoring`'s; :func:`compute_scores` reads the data (:mod:`survey.services.extract`,
:mod:`survey.services.scores.queries`), assesses it (:mod:`survey.services.scores.assessment`), counts and
quotes the comments, and names no unit outside the caller's subtree.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from msgspec.structs import replace

from questionnaires.model import Questionnaire
from scoring import SmallSampleRule
from survey.services.extract import ResponseScope
from survey.services.questionnaires import latest_version
from survey.services.scores.assessment import assess
from survey.services.scores.cells import ScoreCells
from survey.services.scores.comments import group_comments
from survey.services.scores.context import Context, UnitTree
from survey.services.scores.contract import ScoreReport, ScoreRequest, TestResult
from survey.services.scores.errors import ScoreParameterError
from survey.services.scores.periods import Period, add_months
from survey.services.scores.queries import (
    published_questionnaires,
    service_codes,
    unit_tree,
)
from survey.services.scores.reading import Reach, reach, read_cells
from survey.services.scores.volumes import contact_volumes, delivered_invitations
from survey.settings import get_settings

__all__ = ["PEER", "ScoreData", "compute_scores", "load_score_data", "redact", "score_loaded"]

PEER = "peer"  # how a unit outside the caller's scope is named in comparisons


@dataclass(frozen=True)
class ScoreData:
    """What scoring reads from the database for one questionnaire, read once and scored for many requests
    (:func:`score_loaded`): the whole country's responses over a window that holds each period with its previous
    period, the same period a year earlier and the twelve months before its end, and the delivered invitations of
    each period (the whole country, every service)."""

    questionnaire: Questionnaire
    units: UnitTree
    services: dict[int, str]
    channel: str | None
    window: Period
    cells: ScoreCells
    invitations: dict[str, npt.NDArray[np.int64]]  # by period label: rows (unit, service, channel, month, count)
    extract_s: float
    needed: Reach = Reach()  # the units read (the whole country by default)


def _window(periods: Sequence[Period]) -> Period:
    earliest = min(min(p.previous().start, p.year_earlier().start, add_months(p.end, -13)) for p in periods)
    return Period("window", earliest, max(p.end for p in periods))


async def load_score_data(questionnaire_key: str, periods: Sequence[Period], *, channel: str | None = None,
                          service: str | None = None, covering: Sequence[Period] = (), unit: str | None = None,
                          by: Sequence[str] = (), visible_path: str | None = None,
                          also_by: Sequence[Sequence[str]] = ()) -> ScoreData:
    """Read ``questionnaire_key``'s responses and invitations once for ``periods`` (see :class:`ScoreData`);
    ``service`` limits the reading to one service (what ``compute_scores`` does for a request with a service);
    ``unit`` (or the root of ``visible_path``) and ``by`` limit it to what a request for that unit grouped ``by``
    needs (:func:`~survey.services.scores.reading.reach`): its subtree, and its peers in its period; ``also_by``
    adds what the same unit's requests grouped by each of these need (a page that scores the unit and its
    children reads once).

    Raises :class:`ScoreParameterError` naming the questionnaire or the service when unknown."""
    settings = get_settings()
    try:
        questionnaire = (await latest_version(questionnaire_key)).questionnaire
    except LookupError:
        keys = await published_questionnaires()
        raise ScoreParameterError("questionnaire", f"{questionnaire_key!r} is not published; allowed: "
                                  f"{', '.join(keys) or '(none published)'}") from None
    units = await unit_tree()
    services = await service_codes()
    service_id = _service_id(services, service)
    window = _window(periods)
    if covering:  # periods scored without their comparisons: only their own days are read
        window = Period("window", min(window.start, *(p.start for p in covering)),
                        max(window.end, *(p.end for p in covering)))
    scope_unit = _scope_unit(units, unit, visible_path)
    needed = Reach()
    if scope_unit is not None:
        reaches = [reach(units, scope_unit, grouping) for grouping in (by, *also_by)]
        if all(r.scope is not None for r in reaches):
            scope = sorted({u for r in reaches for u in (r.scope or ())})
            peers = sorted({u for r in reaches for u in r.peers} - set(scope))
            needed = Reach(tuple(scope), tuple(peers))
    clock = time.perf_counter()
    # the universe: the whole country (peers are siblings, and a funnel may compare a unit with every unit of its
    # level: the district offices of a province with fewer than five), or what one unit's request needs of it
    cells = await read_cells(questionnaire, window, [*periods, *covering], service_id, channel, needed)
    extracted = time.perf_counter() - clock
    invitations = {}
    for period in [*periods, *covering]:
        invitations[period.label] = await delivered_invitations(questionnaire.id, period.start, period.end, "/",
                                                                service_id, channel, settings.timezone)
    return ScoreData(questionnaire, units, services, channel, window, cells, invitations, extracted, needed)


def _scope_unit(units: UnitTree, code: str | None, visible_path: str | None) -> int | None:
    """The id of the unit a request is for: ``code``, else the root of ``visible_path``; ``None`` for the country
    or an unknown code (which scoring then names)."""
    if code is None and visible_path is not None:
        return next((u for u, p in units.path.items() if p == visible_path), None)
    return next((u for u, c in units.code.items() if c == code), None) if code is not None else None


def _service_id(services: dict[int, str], code: str | None) -> int | None:
    if code is None:
        return None
    service_id = next((i for i, c in services.items() if c == code), None)
    if service_id is None:
        allowed = ", ".join(sorted(services.values()))
        raise ScoreParameterError("service", f"unknown service {code!r}; allowed: {allowed}")
    return service_id


async def compute_scores(request: ScoreRequest, *, visible_path: str | None = None) -> ScoreReport:
    """The scores for ``request``; ``visible_path`` limits the scope to a unit subtree (a staff user's).

    Raises :class:`ScoreParameterError` naming the parameter for unknown questionnaires, units,
    services or periods, and :class:`PermissionError` when the unit lies outside ``visible_path``.
    """
    data = await load_score_data(request.questionnaire, [request.period_range], channel=request.channel,
                                 service=request.service, unit=request.unit, by=request.by,
                                 visible_path=visible_path)
    return await score_loaded(data, request, visible_path=visible_path)


async def score_loaded(data: ScoreData, request: ScoreRequest, *, visible_path: str | None = None,
                       comparisons: bool = True, trend: bool = True) -> ScoreReport:
    """The scores for ``request`` from data read once by :func:`load_score_data` (the same questionnaire and
    channel, and the request's period among the loaded ones): exactly what :func:`compute_scores` gives.
    ``comparisons=False`` scores a period for its own figures (it may be loaded only ``covering`` its days): the
    measures, the reliability and the monthly trend, with q-values over those tests; no comparison with peers or
    earlier periods and no funnel is made; ``trend=False`` leaves out the monthly trend test too."""
    settings = get_settings()
    period = request.period_range
    questionnaire, units, services = data.questionnaire, data.units, data.services
    if request.questionnaire != questionnaire.id or request.channel != data.channel:
        raise ValueError("score_loaded: the request's questionnaire and channel must be those of the data")
    needed = _window([period]) if comparisons else period
    if period.label not in data.invitations or needed.start < data.window.start:
        raise ValueError(f"score_loaded: period {period.label} was not loaded")
    by_code = {code: unit for unit, code in units.code.items()}
    unit_code = request.unit
    if unit_code is None and visible_path is not None:
        unit_code = next((units.code[u] for u, p in units.path.items() if p == visible_path), None)
    scope_unit = None
    if unit_code is not None:
        scope_unit = by_code.get(unit_code)
        if scope_unit is None:
            raise ScoreParameterError("unit", f"unknown unit {unit_code!r}; allowed: {', '.join(sorted(by_code))}")
        if visible_path is not None and not units.path[scope_unit].startswith(visible_path):
            raise PermissionError(f"unit {unit_code!r} is outside the units you may see")
    if data.needed.scope is not None:
        wanted = reach(units, scope_unit, request.by, comparisons)
        read = set(data.needed.scope) | set(data.needed.peers)
        if wanted.scope is None or not set(wanted.scope) <= set(data.needed.scope) or not set(wanted.peers) <= read:
            raise ValueError("score_loaded: the data was read for another unit's request")
    service_id = _service_id(services, request.service)
    scope_path = units.path[scope_unit] if scope_unit else "/"
    cells = data.cells
    invitations = data.invitations[period.label]
    if service_id is not None:
        cells = cells.take(cells.service_id == service_id)
        invitations = invitations[invitations[:, 1] == service_id]
    if scope_unit is not None:
        inside = np.array([units.path.get(int(u), "").startswith(scope_path) for u in invitations[:, 0]], dtype=bool)
        invitations = invitations[inside.reshape(-1)] if invitations.size else invitations
    p_start, p_end = period.bounds(settings.timezone)
    declared = questionnaire.weighting
    weighted = declared is not None if request.weighted is None else request.weighted
    contacts = None
    if weighted:
        contacts = await contact_volumes(period.start, period.end, scope_path, service_id, request.channel,
                                         settings.timezone)
    rule = SmallSampleRule(request.min_n, request.min_n_comments, request.min_n_inference)
    context = Context(questionnaire=questionnaire, period=period, timezone=settings.timezone, units=units,
                      service_codes=services, scope_unit=scope_unit, by=tuple(request.by), rule=rule,
                      invitations=invitations,
                      contacts=contacts, weighting_by=tuple(declared.by) if declared else ("channel", "service"),
                      comparisons=comparisons, trend=trend)
    assessment = assess(cells, context)
    text_questions = [x.id for x in questionnaire.questions if x.type == "text"]
    comments = None
    if request.comments and text_questions and assessment.grouping.n_groups:
        comments = await group_comments(
            assessment, ResponseScope(questionnaire.id, p_start, p_end, scope_path, service_id, request.channel),
            text_questions, context)
    report = assessment.report(service=request.service, channel=request.channel, comments=comments,
                               timings={"extract_s": data.extract_s})
    if visible_path is None:
        return report
    return redact(report, {units.code[u]: p for u, p in units.path.items()}, visible_path)


def redact(report: ScoreReport, path_of: dict[str, str], visible_path: str) -> ScoreReport:
    """``report`` for a caller who sees only ``visible_path``'s subtree: comparisons with peers stay, but a unit
    outside it is never named (:data:`PEER`), and its funnel point is not shown."""

    def shown(code: str | None) -> str | None:
        return code if code is None or path_of.get(code, "").startswith(visible_path) else PEER

    def named(test: TestResult) -> TestResult:
        details = dict(test.details)
        if "units" in details:
            details["units"] = [shown(u) for u in details["units"]]
        if "excluded" in details:
            details["excluded"] = [{**e, "unit": shown(e.get("unit"))} for e in details["excluded"]]
        if "dunn_holm" in details:
            # a pair of two peers says nothing about the caller's units
            pairs = [{**pair, "unit1": shown(pair["unit1"]), "unit2": shown(pair["unit2"])}
                     for pair in details["dunn_holm"]]
            details["dunn_holm"] = [pair for pair in pairs if (pair["unit1"], pair["unit2"]) != (PEER, PEER)]
        return replace(test, details=details)

    families = [replace(family, units=[shown(u) or PEER for u in family.units]) for family in report.funnel_families]
    return replace(report, funnel=[point for point in report.funnel if shown(point.unit) != PEER],
                   tests=[named(test) for test in report.tests], funnel_families=families)
