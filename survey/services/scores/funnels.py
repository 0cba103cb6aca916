"""Funnel plots after Spiegelhalter (2005): which units one funnel compares, and the plot of each criterion.

A funnel compares units of the same level: the children of one unit when it has at least :data:`MIN_UNITS`
of them (the provinces of the country), else every unit of that level in the country (the district offices of
a province with fewer than five are compared with all district offices). Units are counted as the groups of the
report count them: with ``by`` unit each unit's own answers, otherwise each unit with its subtree. The target is
the criterion's declared target, else the family's pooled share; overdispersion widens the limits
(:func:`scoring.funnel_limits`). A family of fewer than five shown units gets no funnel.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from questionnaires.model import Criterion, Questionnaire
from scoring import funnel_curve, funnel_limits
from scoring.patterns import PatternCounts
from survey.i18n import pick
from survey.services.scores.cells import ScoreCells
from survey.services.scores.context import Context, UnitTree
from survey.services.scores.contract import FunnelFamily, FunnelUnit, ScoreReport, json_number

__all__ = ["MIN_UNITS", "Family", "families_of", "funnel_plots", "funnel_view"]

MIN_UNITS = 5  # the fewest units a funnel compares (Spiegelhalter's overdispersion estimate needs a few)


@dataclass(frozen=True)
class Family:
    """The units one funnel compares: every unit of ``level`` under ``parent`` (``None``: in the whole country)."""

    level: int
    parent: int | None
    members: tuple[int, ...]


def _level(path: str) -> int:
    return path.count("/") - 2  # "/VN/" is level 0, "/VN/HN/" level 1


def families_of(units: UnitTree, focus: Sequence[int]) -> list[Family]:
    """The families of the ``focus`` units (each unit in exactly one), in the order first met."""
    children: dict[int, list[int]] = {}
    for unit, parent in sorted(units.parent.items()):
        children.setdefault(parent or 0, []).append(unit)
    by_level: dict[int, list[int]] = {}
    for unit, path in sorted(units.path.items()):
        by_level.setdefault(_level(path), []).append(unit)
    found: dict[tuple[int, int | None], Family] = {}
    for unit in focus:
        if unit not in units.path:
            continue
        level, parent = _level(units.path[unit]), units.parent.get(unit) or 0
        siblings = [u for u in children.get(parent, []) if _level(units.path[u]) == level]
        key: tuple[int, int | None] = (level, parent) if parent and len(siblings) >= MIN_UNITS else (level, None)
        if key not in found:
            members = siblings if key[1] is not None else by_level.get(level, [])
            found[key] = Family(level, key[1], tuple(members))
    return list(found.values())


def _member_of_unit(context: Context, family: Family, size: int, own: bool) -> npt.NDArray[np.int64]:
    """Per unit id, the index of the family member its answers count for (-1: none)."""
    out = np.full(size, -1, dtype=np.int64)
    index = {unit: i for i, unit in enumerate(family.members)}
    if own:
        for unit, i in index.items():
            if unit < size:
                out[unit] = i
        return out
    by_code = {context.units.code[u]: u for u in family.members}
    for unit, path in context.units.path.items():
        parts = path.strip("/").split("/")
        if unit < size and len(parts) > family.level:
            member = by_code.get(parts[family.level])
            if member is not None:
                out[unit] = index[member]
    return out


def funnel_plots(cells: ScoreCells, context: Context, criteria: Sequence[Criterion],
                 in_period: npt.NDArray[np.bool_], focus: Sequence[int],
                 own: bool) -> tuple[list[FunnelUnit], list[FunnelFamily]]:
    """The funnel points and families of the ``focus`` units' families for every criterion (``own``: each unit's
    own answers, else with its subtree)."""
    rule, code = context.rule, context.units.code
    points: list[FunnelUnit] = []
    plots: list[FunnelFamily] = []
    families = families_of(context.units, focus)
    if not families:
        return points, plots
    size = max(int(cells.unit_id.max(initial=0)) + 1, max(context.units.path, default=0) + 1)
    # one pass over the cells: each criterion's pattern counts per unit id; a family sums its members' counts
    row_unit = np.where(in_period, cells.unit_id, size).astype(np.intp)
    per_unit = {c.id: cells.patterns[c.id].count(row_unit, size) for c in criteria}
    for family in families:
        label = code.get(family.parent, str(family.parent)) if family.parent is not None else f"level {family.level}"
        member = _member_of_unit(context, family, size, own)
        n_members = len(family.members)
        belongs = np.zeros((n_members, size))
        inside = np.flatnonzero(member >= 0)
        belongs[member[inside], inside] = 1.0
        for c in criteria:
            unit_counts = per_unit[c.id]
            counted = PatternCounts(np.rint(belongs @ unit_counts.counts).astype(np.int64), unit_counts.values)
            k, n = counted.satisfied(c.satisfied_threshold), counted.n
            present = np.flatnonzero(n > 0)
            if present.size == 0:
                continue
            names = [code.get(family.members[i], str(family.members[i])) for i in present.tolist()]
            result = funnel_limits(k[present], n[present], target=c.target, rule=rule, min_units=MIN_UNITS)
            plots.append(FunnelFamily(
                criterion=c.id, family=label, level=family.level, units=names, n_units=result.n_units,
                target=None if result.suppressed else json_number(result.target), target_source=result.target_source,
                phi=json_number(result.phi), tau2=None if result.suppressed else json_number(result.tau2),
                widened=bool(result.widened), overdispersion_pvalue=json_number(result.overdispersion_pvalue),
                suppressed=bool(result.suppressed), suppression_reason=result.suppression_reason))
            for name, point in zip(names, result.points, strict=True):
                shown = point.position != "suppressed"
                points.append(FunnelUnit(
                    c.id, name, point.k if shown else None, point.n, json_number(point.share) if shown else None,
                    float(result.target), json_number(point.lower_95), json_number(point.upper_95),
                    json_number(point.lower_998), json_number(point.upper_998), point.position, family=label,
                    z=json_number(point.z) if shown else None, pvalue=json_number(point.pvalue) if shown else None,
                    phi=json_number(result.phi), tau2=None if result.suppressed else json_number(result.tau2),
                    widened=bool(result.widened)))
    return points, plots


def funnel_view(report: ScoreReport, questionnaire: Questionnaire, language: str, *, focus: Collection[str],
                highlight: Collection[str] = ()) -> dict[str, Any] | None:
    """One funnel plot of ``report`` as a page or a report draws it: the family of the ``focus`` units on the
    criterion where one of them lies furthest from the target (the most telling one), with its limits drawn from
    :func:`scoring.funnel_curve`; the points of ``highlight`` are marked. ``None`` when no focus unit has a
    funnel (too few units of its level, or too few answers)."""
    mine = [p for p in report.funnel if p.unit in focus and p.share is not None and p.z is not None]
    if not mine:
        return None
    chosen = max(mine, key=lambda p: abs(p.z or 0.0))
    family = next((f for f in report.funnel_families
                   if f.criterion == chosen.criterion and f.family == chosen.family), None)
    if family is None or family.suppressed or family.target is None:
        return None
    points = [p for p in report.funnel if p.criterion == chosen.criterion and p.family == chosen.family
              and p.share is not None]
    n_max = max(max(p.n for p in points), 40) * 1.1
    curve = funnel_curve(family.target, n_max, tau2=family.tau2 or 0.0, widened=family.widened,
                         n_min=max(10.0, min(p.n for p in points) * 0.8))
    criterion = next(c for c in questionnaire.criteria if c.id == chosen.criterion)
    return {"criterion": pick(criterion.title, language), "criterion_id": criterion.id, "target": family.target,
            "target_source": family.target_source, "phi": family.phi, "widened": family.widened,
            "family": family.family, "n_units": family.n_units,
            "curve": {"n": curve.n, "lower_95": curve.lower_95, "upper_95": curve.upper_95,
                      "lower_998": curve.lower_998, "upper_998": curve.upper_998},
            "points": [{"label": p.unit, "n": p.n, "share": p.share, "highlight": p.unit in highlight,
                        "flagged": p.flagged, "position": p.position} for p in points],
            "position": chosen.position, "flagged": chosen.flagged, "q": chosen.q_value, "share": chosen.share}
