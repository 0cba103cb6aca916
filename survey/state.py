"""The application's state: what lives as long as a server (or a worker, a command) and is shared by requests.

One :class:`AppState` per application, created in its lifespan (``survey.app``) and reachable from
a request as ``request.app.state.survey`` (:func:`state_of`). The CLI, the worker and the demo
create one explicitly. Nothing of it lives in a module global: a fresh app (a test) starts fresh.

Example::

    state = AppState.create(get_settings())
    async with state.running():          # the group-commit writers start, and drain when it ends
        await state.submissions.submit(Submission(token_hash=h, raw={"overall": ["4"]}, complete=True))
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from survey.services.contacts import ContactWriter, ReferenceCache, contact_writer
from survey.services.group_commit import GroupWriter
from survey.services.questionnaires import QuestionnaireVersions
from survey.services.ratelimit import RateLimits
from survey.services.responses import Outcome, Submission, submission_writer
from survey.settings import Settings, get_settings

__all__ = ["STATE_KEY", "AppState", "app_state", "state_of"]

STATE_KEY = "survey"


@dataclass
class AppState:
    """The writers, rate limiters and caches of one application."""

    settings: Settings
    versions: QuestionnaireVersions  # published questionnaire versions read so far
    reference: ReferenceCache  # units, services and counters as the contact checks need them
    limits: RateLimits
    submissions: GroupWriter[Submission, Outcome]
    contact_events: ContactWriter

    @classmethod
    def create(cls, settings: Settings | None = None) -> AppState:
        settings = settings or get_settings()
        versions = QuestionnaireVersions()
        return cls(settings=settings, versions=versions, reference=ReferenceCache(),
                   limits=RateLimits.from_settings(settings), submissions=submission_writer(versions),
                   contact_events=contact_writer())

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[AppState]:
        """Run the group-commit writers for the duration of the block; they write what is queued before it ends."""
        self.submissions.start()
        self.contact_events.start()
        try:
            yield self
        finally:
            await self.contact_events.stop()
            await self.submissions.stop()


def state_of(app: Any) -> AppState:
    """The state of a Litestar application (``request.app``) built by ``survey.app.create_app``."""
    state: AppState = app.state[STATE_KEY]
    return state


@contextlib.asynccontextmanager
async def app_state(app: Any) -> AsyncIterator[None]:
    """Lifespan: create the application's state, run its writers, stop them with the app."""
    state = AppState.create(app.state.get("settings"))
    app.state[STATE_KEY] = state
    async with state.running():
        yield
