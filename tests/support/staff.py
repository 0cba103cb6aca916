"""Staff accounts and sessions for the integration tests, signed in through the login form as a person would."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CSRF_INPUT", "PASSWORD", "add_staff_user", "csrf_token", "sign_in", "sign_in_as"]

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


async def csrf_token(client: Any, path: str = "/staff/login") -> str:
    """The CSRF token of the form on the page at ``path``."""
    page = await client.get(path)
    match = CSRF_INPUT.search(page.text)
    assert match, f"no CSRF input on {path}: {page.status_code} {page.text[:300]}"
    return match.group(1)


async def add_staff_user(username: str, role: str, unit_code: str, *, password: str = PASSWORD,
                         display_name: str | None = None) -> Any:
    """A staff user of ``role`` who sees ``unit_code``'s subtree (as ``survey users create`` makes one)."""
    from survey.services.accounts import create_user

    return await create_user(username=username, password=password, role=role, unit_code=unit_code,
                             display_name=display_name or username)


async def sign_in(client: Any, username: str, password: str = PASSWORD, **extra: str) -> Any:
    """Submit the login form (with the page's CSRF token and any ``extra`` fields); the reply, not followed."""
    token = await csrf_token(client)
    return await client.post("/staff/login", data={"username": username, "password": password, "_csrf_token": token,
                                                   **extra}, follow_redirects=False)


async def sign_in_as(client: Any, role: str, unit_code: str, *, username: str | None = None,
                     password: str = PASSWORD) -> str:
    """Create a user of ``role`` in ``unit_code`` and sign ``client`` in as them; returns the username."""
    username = username or f"{role}-{unit_code}".lower()
    await add_staff_user(username, role, unit_code, password=password)
    reply = await sign_in(client, username, password)
    assert reply.status_code == 303, f"signing in as {username} failed: {reply.status_code} {reply.text[:300]}"
    return username
