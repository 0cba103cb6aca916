"""What scoring reads from the database besides the responses (:mod:`survey.services.extract`) and the volumes
(:mod:`survey.services.scores.volumes`): the organisation tree, the service codes, the published questionnaires."""

from __future__ import annotations

from survey.services.scores.context import UnitTree
from survey.tables import QuestionnaireVersion, Service, Unit

__all__ = [
    "published_questionnaires",
    "service_codes",
    "unit_tree",
]



async def unit_tree() -> UnitTree:
    """Every unit's code, parent and path."""
    rows = await Unit.select(Unit.id, Unit.code, Unit.parent, Unit.path)
    return UnitTree(code={r["id"]: r["code"] for r in rows}, parent={r["id"]: r["parent"] or 0 for r in rows},
                    path={r["id"]: r["path"] for r in rows})


async def service_codes() -> dict[int, str]:
    """Every service's code by its id."""
    return {r["id"]: r["code"] for r in await Service.select(Service.id, Service.code)}


async def published_questionnaires() -> list[str]:
    """The keys of the published questionnaires, sorted."""
    return sorted({r["key"] for r in await QuestionnaireVersion.select(QuestionnaireVersion.key)})
