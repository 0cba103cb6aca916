"""Post-stratification of a scope's sample to its contact volumes, and every group's weighted shares and index.

The weighting cells are channel × service unless the questionnaire's ``weighting`` section names others;
the groups use their own respondents' weights (:func:`scoring.post_stratify`,
:func:`scoring.weighted_index_groups`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from questionnaires.model import CHANNELS, Criterion
from scoring import (
    PostStratification,
    WeightedIndexGroups,
    combine_codes,
    post_stratify,
    weighted_index_groups,
    wilson_interval,
)
from survey.services.scores.cells import ScoreCells
from survey.services.scores.context import Context
from survey.services.scores.contract import (
    WeightedIndexResult,
    WeightedResult,
    WeightingResult,
    json_interval,
    json_number,
    json_numbers,
)

__all__ = ["GroupWeights", "weigh"]


@dataclass(frozen=True)
class GroupWeights:
    """Per group: each criterion's weighted share (by criterion id), the weighted index and what weighting cost."""

    criteria: dict[str, list[WeightedResult]]
    index: list[WeightedIndexResult] | None
    weighting: list[WeightingResult]


def _post_stratify(current: ScoreCells, contacts: npt.NDArray[np.int64],
                   by: tuple[str, ...]) -> PostStratification | None:
    """Weights making the sample's mix of cells (``by``: channel and/or service) that of the contacts."""
    n_services = int(max(current.service_id.max(initial=0), contacts[:, 1].max(initial=0))) + 1
    sizes = (len(CHANNELS) if "channel" in by else 1, n_services if "service" in by else 1)
    sample_channel = np.maximum(current.channel, 0) if "channel" in by else np.zeros_like(current.channel)
    sample_service = current.service_id if "service" in by else np.zeros_like(current.service_id)
    cells = combine_codes(sample_channel, sample_service, sizes=sizes)
    population = np.zeros(sizes[0] * sizes[1])
    contact_channel = contacts[:, 0] if "channel" in by else np.zeros_like(contacts[:, 0])
    contact_service = contacts[:, 1] if "service" in by else np.zeros_like(contacts[:, 1])
    np.add.at(population, combine_codes(contact_channel, contact_service, sizes=sizes), contacts[:, 2])
    if population[np.unique(cells)].sum() <= 0:
        return None
    return post_stratify(cells, population, frequency=current.n)


def _weighted_shares(groups: WeightedIndexGroups, criteria: Sequence[Criterion], context: Context,
                     n_groups: int) -> dict[str, list[WeightedResult]]:
    rule, level = context.rule, context.confidence_level
    share, effective_n = groups.share, groups.criterion_effective_n
    low, high = wilson_interval(np.nan_to_num(share * effective_n), effective_n, level)
    deff = groups.criterion_design_effect
    out = {}
    for j, c in enumerate(criteria):
        shares, effective = json_numbers(share[:, j]), json_numbers(effective_n[:, j])
        lows, highs, deffs = json_numbers(low[:, j]), json_numbers(high[:, j]), json_numbers(deff[:, j])
        column = []
        for k in range(n_groups):
            reason = rule.reason(effective[k] or 0.0, label="effective n")
            ci = None if reason or lows[k] is None or highs[k] is None else [lows[k], highs[k]]
            column.append(WeightedResult(None if reason else shares[k], ci, deffs[k], effective[k], reason is not None,
                                         reason))
        out[c.id] = column
    return out


def _own_channels(context: Context, current: ScoreCells) -> npt.NDArray[np.int64]:
    """The contact rows of the questionnaire's own channels (those it declares, and any its respondents came
    through): the population its answers stand for. A post-call survey stands for calls, not counter visits."""
    declared = {CHANNELS.index(c) for c in context.questionnaire.channels if c in CHANNELS}
    answered = {int(c) for c in np.unique(current.channel) if c >= 0}
    contacts = context.contacts
    assert contacts is not None
    own: npt.NDArray[np.int64] = contacts[np.isin(contacts[:, 0], sorted(declared | answered))]
    return own


def weigh(cells: ScoreCells, context: Context, criteria: Sequence[Criterion], selected: npt.NDArray[np.bool_],
          g_all: npt.NDArray[np.intp], n_groups: int) -> GroupWeights | None:
    """Post-stratify the scope's sample (the ``selected`` cells, in groups ``g_all``) to the contact volumes, then
    every group's weighted criterion shares and weighted index at once; ``None`` when nothing can be weighted."""
    if context.contacts is None or not np.any(selected):
        return None
    current = cells.take(selected)
    weights = _post_stratify(current, _own_channels(context, current), context.weighting_by)
    if weights is None:
        return None
    q, rule, level = context.questionnaire, context.rule, context.confidence_level
    g = g_all[selected]
    # each respondent's satisfied and answered criteria follow from their joint outcome: one row per
    # (cell, outcome) counted, weighing as the cell's respondents do
    outcomes = current.outcomes
    digits = np.column_stack([(outcomes.code // 3**c) % 3 for c in range(len(criteria))]).reshape(-1, len(criteria))
    answered, satisfied = digits > 0, digits == 2
    index = q.index
    formula_weights = [c.weight if index is not None and index.formula == "weighted_satisfied_share" else 1.0
                       for c in criteria]
    groups = weighted_index_groups(satisfied, answered, weights.weights[outcomes.cell], g[outcomes.cell], n_groups,
                                   formula_weights, rule, level, [c.id for c in criteria],
                                   required=[c.in_index == "required" for c in criteria], frequency=outcomes.count)
    weighted_index = None
    if index is not None:
        weighted_index = []
        for k in range(n_groups):
            w = groups.result(k)
            value = None if w.value is None else float(w.value)
            weighted_index.append(WeightedIndexResult(
                json_number(value), json_interval(w.ci),
                None if value is None or index.target is None else value >= index.target,
                None if w.suppressed else json_number(w.design_effect), json_number(w.effective_n), w.suppressed,
                w.suppression_reason, criteria=[] if w.suppressed else list(w.criteria)))
    n = current.n.astype(np.float64)
    everyone = np.rint(np.bincount(g, weights=n, minlength=n_groups + 1)[:n_groups]).astype(np.int64)
    sum_w = np.bincount(g, weights=n * weights.weights, minlength=n_groups + 1)[:n_groups]
    sum_w2 = np.bincount(g, weights=n * weights.weights ** 2, minlength=n_groups + 1)[:n_groups]
    with np.errstate(divide="ignore", invalid="ignore"):
        group_deff = everyone * sum_w2 / (sum_w * sum_w)
    cells = int(np.count_nonzero(weights.sample_counts))
    weighting = []
    for n_k, d_k in zip(everyone.tolist(), group_deff.tolist(), strict=True):
        finite = n_k >= rule.min_n and math.isfinite(d_k) and d_k > 0  # below min_n only the group's n is shown
        weighting.append(WeightingResult(d_k if finite else None, n_k / d_k if finite else None,
                                         json_number(weights.coverage), cells, list(context.weighting_by)))
    return GroupWeights(_weighted_shares(groups, criteria, context, n_groups), weighted_index, weighting)
