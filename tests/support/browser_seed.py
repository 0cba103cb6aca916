"""Seeds the browser tests' database: reference data, staff users, scored responses and survey links.

Run in the live server's environment before the server starts, with the specification as JSON::

    python -m tests.support.browser_seed '{"links": {...}, "users": {...}, "password": "...", "responses": {...}}'

``links`` maps a name to (questionnaire, unit, service, language); the link named ``expired`` is
made to have expired a day ago. The last line printed is JSON: name -> {"token", "url"}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.responses import add_counter_responses
from tests.support.staff import add_staff_user

__all__ = ["seed"]


async def seed(spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Prepare the database as ``spec`` says; the links made, by name."""
    from delivery.tokens import token_hash
    from survey.reference import seed_reference
    from survey.services.invitations import LinkSpec, create_links, survey_url
    from survey.settings import get_settings
    from survey.tables import Invitation

    await seed_reference()
    for username, (role, unit) in spec["users"].items():
        await add_staff_user(username, role, unit, password=spec["password"])
    for unit, count in spec["responses"].items():
        await add_counter_responses(unit, count, minutes_apart=5)
    names = list(spec["links"])
    tokens = await create_links([LinkSpec(questionnaire_key=q, unit_code=u, service_code=s, language=lang)
                                 for q, u, s, lang in spec["links"].values()])
    links = dict(zip(names, tokens, strict=True))
    if "expired" in links:  # a link whose week has passed
        hashed = token_hash(links["expired"], get_settings().secret_key)
        await Invitation.update({Invitation.expires_at: datetime.now(UTC) - timedelta(days=1)}).where(
            Invitation.token_hash == hashed)
    return {name: {"token": token, "url": survey_url(token)} for name, token in links.items()}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(seed(json.loads(sys.argv[1])))))
