"""A questionnaire as ``survey questionnaires show`` describes it: its questions, criteria and index formula."""

from __future__ import annotations

import logging
from typing import Any

from questionnaires import load_bundled
from questionnaires.model import Questionnaire
from survey.services.questionnaires import get_version, latest_version
from survey.tables import QuestionnaireVersion

__all__ = ["describe", "describe_questionnaire"]


def describe(q: Questionnaire) -> dict[str, Any]:
    """Questions (id, type, scale, criterion), criteria (threshold, weight, target) and the index formula."""
    index = None
    if q.index is not None:
        weights = "Criterion.weight" if q.index.formula == "weighted_satisfied_share" else "1"
        index = {"formula": q.index.formula, "target": q.index.target,
                 "formula_text": f"100 × Σ w_c p_c / Σ w_c over the criteria that reach the minimum n (w_c = "
                                 f"{weights}; p_c = share of respondents whose mean answer on the criterion's "
                                 f"questions is at or above its threshold; a criterion counted when answered is "
                                 f"left out where too few answered it, a required one below the minimum "
                                 f"suppresses the index)"
                                 f"{'' if q.index.target is None else f'; target {q.index.target:g}'}"}
    return {
        "id": q.id, "version": q.version, "title": q.title.get(q.default_language, ""), "languages": list(q.languages),
        "questions": [{"id": x.id, "type": x.type, "scale_min": x.scale.min if x.scale else None,
                       "scale_max": x.scale.max if x.scale else None, "criterion": x.criterion,
                       "options": list(x.option_values)} for x in q.questions],
        "criteria": [{"id": c.id, "title": c.title.get(q.default_language, ""), "threshold": c.satisfied_threshold,
                      "weight": c.weight, "target": c.target, "in_index": c.in_index,
                      "questions": [x.id for x in q.questions_of(c.id)]}
                     for c in q.criteria],
        "index": index,
        "weighting": None if q.weighting is None else q.weighting.to_dict(),
    }


async def describe_questionnaire(name: str, version: int | None = None) -> dict[str, Any]:
    """The published version (latest by default) of questionnaire ``name``, else its bundled definition."""
    try:
        if version is None:
            return describe((await latest_version(name)).questionnaire)
        row = await QuestionnaireVersion.select(QuestionnaireVersion.id).where(
            QuestionnaireVersion.key_version == f"{name}@{version}").first()
        if row is not None:
            return describe((await get_version(row["id"])).questionnaire)
    except Exception as error:  # not published, or no database yet: the bundled definitions still answer
        logging.getLogger(__name__).debug("questionnaire %s not read from the database: %s", name, error)
    bundled = load_bundled()
    if name in bundled and (version is None or bundled[name].version == version):
        return describe(bundled[name])
    raise LookupError(f"questionnaire {name!r}{'' if version is None else f' version {version}'} is neither "
                      f"published nor bundled; bundled: {', '.join(sorted(bundled))}")
