"""JSON API under /api/v1: scores for integrators (API key with the scope ``scores:read``) and staff (session)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import Parameter

from survey.services.accounts import scope_prefix
from survey.services.apikeys import SCORES_READ
from survey.services.scores import (
    DIMENSIONS,
    ScoreParameterError,
    ScoreReport,
    ScoreRequest,
    compute_scores,
)
from survey.services.signin import session_identity
from survey.web import API_KEY_SECURITY, Problem, bearer_key, known_key, problems, require_scope

__all__ = ["LIFESPAN", "ROUTES", "Caller", "ScoresController", "provide_caller"]


@dataclass(frozen=True)
class Caller:
    """Who asks: an integrator's key (centre-wide read) or a member of staff (their scope: every unit for admin,
    quality and leader, their unit's subtree for a unit manager)."""

    label: str
    visible_path: str | None


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The ``caller`` dependency of the JSON reads: an integrator's API key with the scope ``scores:read`` (403
    without it), else a signed-in member of staff, else 401."""
    key = bearer_key(request)
    if key is not None:
        info = require_scope(await known_key(key), SCORES_READ)
        # keys have no unit scope: integrators read centre-wide
        return Caller(f"api:{info.source}", None)
    session = request.scope.get("session")
    identity = await session_identity(session if isinstance(session, dict) else None)
    if identity is not None:
        return Caller(f"staff:{identity.username}", scope_prefix(identity))
    raise NotAuthorizedException("sign in to the staff pages or send 'Authorization: Bearer <API key>'",
                                 headers={"WWW-Authenticate": "Bearer"})


BY_HELP = f"Group by: {', '.join(DIMENSIONS)} (repeat the parameter for several)"


class ScoresController(Controller):
    path = "/api/v1/scores"
    tags = ["scores"]
    dependencies = {"caller": Provide(provide_caller)}

    @get("/", summary="Satisfaction scores with intervals, comparisons and tests", security=API_KEY_SECURITY,
         responses=problems(400, 401, 403))
    async def scores(
        self,
        caller: NamedDependency[Caller],
        questionnaire: Annotated[str, Parameter(description="Questionnaire id, e.g. post-call")],
        period: Annotated[str, Parameter(description="2026-05, 2026-Q2, 2026 or 2026-01-01..2026-03-31")],
        unit: Annotated[str | None, Parameter(description="Unit code (includes its subtree)")] = None,
        service: Annotated[str | None, Parameter(description="Service code")] = None,
        channel: Annotated[str | None, Parameter(description="call, counter, online, email or fanpage")] = None,
        by: Annotated[list[str] | None, Parameter(description=BY_HELP)] = None,
        weighted: Annotated[bool | None, Parameter(
            description="Post-stratify to contact volumes (true/false; default: as the questionnaire's weighting "
                        "section says)")] = None,
        min_n: Annotated[int, Parameter(description="Suppress measures below this n", ge=1)] = 30,
        min_n_inference: Annotated[int, Parameter(
            description="Test no group below this n (nor below min_n)", ge=1, le=1_000_000)] = 10,
    ) -> ScoreReport:
        """Scores of one questionnaire for a period, limited to the caller's units.

        Shares are fractions 0–1, the index 0–100; below ``min_n`` measures are suppressed. A staff member
        sees their scope (a unit manager their unit's subtree, the other roles every unit); API keys with the
        scope ``scores:read`` read centre-wide.
        """
        try:
            score_request = ScoreRequest(questionnaire=questionnaire, period=period, unit=unit, service=service,
                                         channel=channel, by=tuple(by or ()), weighted=weighted, min_n=min_n,
                                         min_n_inference=min_n_inference)
            return await compute_scores(score_request, visible_path=caller.visible_path)
        except ScoreParameterError as error:
            # ``extra.parameter`` as clients read it before the problem body was flat
            raise Problem(400, str(error), parameter=error.parameter, extra={"parameter": error.parameter}) from None
        except PermissionError as error:
            raise PermissionDeniedException(str(error)) from None


ROUTES: list[Any] = [ScoresController]
LIFESPAN: list[Any] = []
