"""Settings read once from ``SURVEY_*`` environment variables (and an optional ``.env``).

Example::

    >>> import os; os.environ["SURVEY_DATABASE_URL"] = "sqlite:///var/test.sqlite3"
    >>> get_settings.cache_clear(); get_settings().database.is_sqlite
    True
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["DatabaseSettings", "Settings", "SettingsError", "get_settings"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names the variable."""


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SURVEY_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"SURVEY_{name}: expected a whole number, got {raw!r}") from None


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "1" if default else "0").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"SURVEY_{name}: expected true or false, got {raw!r}")


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the data lives: ``sqlite:///path`` (default, under ``var/``) or ``postgresql://...``."""

    url: str

    def __post_init__(self) -> None:
        scheme = urlparse(self.url).scheme
        if scheme not in {"sqlite", "postgres", "postgresql"}:
            raise SettingsError(
                f"SURVEY_DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///path or postgresql://user@host/db"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        # sqlite:///var/survey.sqlite3 is relative to the project, sqlite:////abs/path is absolute
        raw = unquote(self.url[len("sqlite:///") :])
        path = Path(raw)
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def postgres_config(self) -> dict[str, object]:
        parts = urlparse(self.url)
        config: dict[str, object] = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "database": (parts.path or "/survey").lstrip("/") or "survey",
        }
        if parts.username:
            config["user"] = unquote(parts.username)
        if parts.password:
            config["password"] = unquote(parts.password)
        return config


@dataclass(frozen=True)
class Settings:
    """Every setting of the application, read from the environment once by :func:`get_settings`."""

    database: DatabaseSettings
    secret_key: str
    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Ho_Chi_Minh"
    default_language: str = "vi"
    languages: tuple[str, ...] = ("vi", "en")
    token_ttl_days: int = 7
    token_length: int = 12
    # failed token look-ups (unknown or malformed links) allowed per client address per window
    token_failures_per_window: int = 20
    # all public look-ups (links, counter pages) per client address per window
    public_requests_per_window: int = 600
    rate_window_seconds: int = 600
    login_failures_per_window: int = 10
    session_max_age_seconds: int = 8 * 3600
    secure_cookies: bool = False
    debug: bool = False
    var_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")

    def __post_init__(self) -> None:
        if len(self.secret_key) < 32:
            raise SettingsError("SURVEY_SECRET_KEY: must be at least 32 characters long")
        if self.token_length < 10:
            raise SettingsError("SURVEY_TOKEN_LENGTH: must be at least 10 (base62, >= 59 bits)")
        if self.default_language not in self.languages:
            raise SettingsError(
                f"SURVEY_DEFAULT_LANGUAGE: {self.default_language!r} is not one of SURVEY_LANGUAGES {self.languages}"
            )
        if self.token_ttl_days < 1:
            raise SettingsError("SURVEY_TOKEN_TTL_DAYS: must be at least 1")


def _load_dotenv() -> None:
    env_file = Path(os.environ.get("SURVEY_ENV_FILE", PROJECT_ROOT / ".env"))
    if env_file.is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


def _secret_key(var_dir: Path) -> str:
    """The configured secret, or one generated once and kept in ``var/secret_key`` for local runs."""
    configured = _env("SECRET_KEY", "")
    if configured:
        return configured
    key_file = var_dir / "secret_key"
    if key_file.is_file():
        return key_file.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once; tests set the environment, then call ``get_settings.cache_clear()``."""
    _load_dotenv()
    var_dir = Path(_env("VAR_DIR", str(PROJECT_ROOT / "var")))
    default_db = f"sqlite:///{var_dir / 'survey.sqlite3'}"
    return Settings(
        database=DatabaseSettings(url=_env("DATABASE_URL", default_db)),
        secret_key=_secret_key(var_dir),
        base_url=_env("BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        timezone=_env("TIMEZONE", "Asia/Ho_Chi_Minh"),
        default_language=_env("DEFAULT_LANGUAGE", "vi"),
        languages=tuple(x.strip() for x in _env("LANGUAGES", "vi,en").split(",") if x.strip()),
        token_ttl_days=_env_int("TOKEN_TTL_DAYS", 7),
        token_length=_env_int("TOKEN_LENGTH", 12),
        token_failures_per_window=_env_int("TOKEN_FAILURES_PER_WINDOW", 20),
        public_requests_per_window=_env_int("PUBLIC_REQUESTS_PER_WINDOW", 600),
        rate_window_seconds=_env_int("RATE_WINDOW_SECONDS", 600),
        login_failures_per_window=_env_int("LOGIN_FAILURES_PER_WINDOW", 10),
        session_max_age_seconds=_env_int("SESSION_MAX_AGE_SECONDS", 8 * 3600),
        secure_cookies=_env_bool("SECURE_COOKIES", False),
        debug=_env_bool("DEBUG", False),
        var_dir=var_dir,
    )
