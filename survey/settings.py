"""Settings read once from ``SURVEY_*`` environment variables (and an optional ``.env``).

Example::

    >>> import os; os.environ["SURVEY_DATABASE_URL"] = "sqlite:///var/test.sqlite3"
    >>> get_settings.cache_clear(); get_settings().database.is_sqlite
    True
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["DatabaseSettings", "Network", "Settings", "SettingsError", "get_settings"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

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


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"SURVEY_{name}: expected a number, got {raw!r}") from None


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
    # failed token look-ups (unknown or malformed links) per client address per window before 429 (a valid link
    # always opens: survey.services.ratelimit)
    token_failures_per_window: int = 20
    # all public look-ups (links, counter pages) per client address per window, shared out between the
    # server_processes (each allows its share in memory)
    public_requests_per_window: int = 600
    rate_window_seconds: int = 600
    # server processes serving the app (``survey serve --workers N`` sets SURVEY_SERVER_PROCESSES for them)
    server_processes: int = 1
    # failed sign-ins: free ones per address and per account, then waits doubling from 1 s up to the most; a
    # counter is forgotten this long after its last failure
    login_free_failures: int = 5
    login_max_delay_seconds: int = 900
    login_failure_memory_seconds: int = 3600
    # the reverse proxies whose X-Forwarded-For is believed (addresses or networks; none by default)
    trusted_proxies: tuple[Network, ...] = ()
    session_max_age_seconds: int = 8 * 3600
    # Secure session, CSRF and draft cookies: by default whenever base_url is https (SURVEY_SECURE_COOKIES overrides)
    secure_cookies: bool = False
    # delivery policy: no SMS or email between these local times (equal times: none), days between two surveys
    # of one person, minutes after a contact before its invitation goes
    quiet_hours: tuple[str, str] = ("20:00", "08:00")
    quarantine_days: int = 30
    contact_delay_minutes: int = 10
    # a PostgreSQL connection pool per server process (off in tests, whose client runs the app on another loop)
    database_pool: bool = True
    debug: bool = False
    var_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    # the data keys that encrypt personal data (survey.crypto): a JSON list, newest first, made on first use
    data_keys_file: Path = field(default_factory=lambda: PROJECT_ROOT / "var" / "data_keys")
    # delivery: Twilio for SMS and SMTP for email when configured, else the sandbox (/staff/sandbox)
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_from: str = ""
    twilio_api_base_url: str = ""  # only for a local stub of Twilio's API (tests, benchmarks)
    sms_brand: str = "BHXH VN"
    sms_encoding: str = "auto"  # unicode | unaccented | auto
    sms_rate_per_second: float = 10.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: str = "auto"  # auto (STARTTLS when offered) | starttls | tls | none
    smtp_from: str = ""
    email_rate_per_second: float = 10.0
    reminder_after_hours: int = 48
    # the worker inside the server process (the demo); production runs `survey worker` beside the server
    worker_in_process: bool = True
    job_max_attempts: int = 6
    job_lease_seconds: int = 60
    # PDF reports: where the archive keeps them, the largest attachment (bigger: a link into the staff area), the
    # days after a period's end before a scheduled report is made (late answers), the rendering processes and
    # how many reports one renders before it is replaced (WeasyPrint keeps memory)
    reports_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var" / "reports")
    report_attach_max_bytes: int = 5_000_000
    report_grace_days: int = 3
    report_processes: int = 0  # 0: one per core
    report_recycle_after: int = 20
    # alerts: the rolling window of working hours a unit's dissatisfied share is judged over (7.5: a working day),
    # the fewest rated responses in it for a unit to be judged, and the quality team's mailbox told of each alert
    alert_window_hours: float = 7.5
    alert_min_n: int = 10
    quality_team_email: str = ""
    # personal data (Law 91/2025/QH15, Decree 356/2025): days after a person's last contact before their contact
    # details are erased (survey.services.retention), and the working days to acknowledge and to carry out a data
    # subject's request (survey.services.rights)
    contact_retention_days: int = 90
    rights_acknowledge_working_days: int = 2
    rights_complete_working_days: int = 15

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid)

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    def __post_init__(self) -> None:
        if len(self.secret_key) < 32:
            raise SettingsError("SURVEY_SECRET_KEY: must be at least 32 characters long")
        if self.token_length < 10:
            raise SettingsError("SURVEY_TOKEN_LENGTH: must be at least 10 (base62, >= 59 bits)")
        if self.default_language not in self.languages:
            raise SettingsError(
                f"SURVEY_DEFAULT_LANGUAGE: {self.default_language!r} is not one of SURVEY_LANGUAGES {self.languages}"
            )
        if self.quarantine_days < 0:
            raise SettingsError("SURVEY_QUARANTINE_DAYS: must be 0 or more")
        if self.contact_delay_minutes < 0:
            raise SettingsError("SURVEY_CONTACT_DELAY_MINUTES: must be 0 or more")
        if self.token_ttl_days < 1:
            raise SettingsError("SURVEY_TOKEN_TTL_DAYS: must be at least 1")
        self._check_limits()
        self._check_delivery()

    def _check_limits(self) -> None:
        for name in ("token_failures_per_window", "public_requests_per_window", "rate_window_seconds",
                     "server_processes", "login_max_delay_seconds"):
            if getattr(self, name) < 1:
                raise SettingsError(f"SURVEY_{name.upper()}: must be at least 1, got {getattr(self, name)}")
        if self.login_free_failures < 0:
            raise SettingsError(f"SURVEY_LOGIN_FREE_FAILURES: must be 0 or more, got {self.login_free_failures}")
        if self.login_failure_memory_seconds < self.login_max_delay_seconds:
            raise SettingsError(
                f"SURVEY_LOGIN_FAILURE_MEMORY_SECONDS: must be at least SURVEY_LOGIN_MAX_DELAY_SECONDS "
                f"({self.login_max_delay_seconds}), got {self.login_failure_memory_seconds}"
            )

    def _check_delivery(self) -> None:
        if self.twilio_account_sid and not self.twilio_auth_token:
            raise SettingsError("SURVEY_TWILIO_AUTH_TOKEN is required when SURVEY_TWILIO_ACCOUNT_SID is set")
        if self.twilio_account_sid and not (self.twilio_messaging_service_sid or self.twilio_from):
            raise SettingsError(
                "SURVEY_TWILIO_MESSAGING_SERVICE_SID or SURVEY_TWILIO_FROM is required when SURVEY_TWILIO_ACCOUNT_SID "
                "is set"
            )
        if not self.twilio_account_sid and (self.twilio_auth_token or self.twilio_messaging_service_sid
                                            or self.twilio_from):
            raise SettingsError("SURVEY_TWILIO_ACCOUNT_SID is required when other SURVEY_TWILIO_* settings are set")
        if self.sms_encoding not in {"unicode", "unaccented", "auto"}:
            raise SettingsError(
                f"SURVEY_SMS_ENCODING: {self.sms_encoding!r} is not one of unicode, unaccented, auto"
            )
        if self.smtp_host and not self.smtp_from:
            raise SettingsError("SURVEY_SMTP_FROM is required when SURVEY_SMTP_HOST is set")
        if self.smtp_username and not self.smtp_password:
            raise SettingsError("SURVEY_SMTP_PASSWORD is required when SURVEY_SMTP_USERNAME is set")
        if self.smtp_tls not in {"auto", "starttls", "tls", "none"}:
            raise SettingsError(f"SURVEY_SMTP_TLS: {self.smtp_tls!r} is not one of auto, starttls, tls, none")
        if not 0 < self.smtp_port < 65536:
            raise SettingsError(f"SURVEY_SMTP_PORT: {self.smtp_port} is not a port number (1-65535)")
        for name, rate in (("SMS", self.sms_rate_per_second), ("EMAIL", self.email_rate_per_second)):
            if rate <= 0:
                raise SettingsError(f"SURVEY_{name}_RATE_PER_SECOND: must be more than 0, got {rate}")
        if self.reminder_after_hours < 1:
            raise SettingsError("SURVEY_REMINDER_AFTER_HOURS: must be at least 1")
        if self.job_max_attempts < 1:
            raise SettingsError("SURVEY_JOB_MAX_ATTEMPTS: must be at least 1")
        if self.job_lease_seconds < 1:
            raise SettingsError("SURVEY_JOB_LEASE_SECONDS: must be at least 1")
        if self.report_attach_max_bytes < 0:
            raise SettingsError("SURVEY_REPORT_ATTACH_MAX_BYTES: must be 0 or more (0: always a link)")
        if self.report_grace_days < 0:
            raise SettingsError("SURVEY_REPORT_GRACE_DAYS: must be 0 or more")
        if self.report_processes < 0:
            raise SettingsError("SURVEY_REPORT_PROCESSES: must be 0 (one per core) or more")
        if self.report_recycle_after < 1:
            raise SettingsError("SURVEY_REPORT_RECYCLE_AFTER: must be at least 1")
        if not 0 < self.alert_window_hours <= 7.5 * 60:
            raise SettingsError("SURVEY_ALERT_WINDOW_HOURS: must be more than 0 and at most 450 (sixty working days)")
        if self.alert_min_n < 1:
            raise SettingsError("SURVEY_ALERT_MIN_N: must be at least 1")
        if self.contact_retention_days < 1:
            raise SettingsError("SURVEY_CONTACT_RETENTION_DAYS: must be at least 1")
        if self.rights_acknowledge_working_days < 1:
            raise SettingsError("SURVEY_RIGHTS_ACKNOWLEDGE_WORKING_DAYS: must be at least 1")
        if self.rights_complete_working_days < self.rights_acknowledge_working_days:
            raise SettingsError("SURVEY_RIGHTS_COMPLETE_WORKING_DAYS: must be at least "
                                "SURVEY_RIGHTS_ACKNOWLEDGE_WORKING_DAYS")


def _quiet_hours(raw: str) -> tuple[str, str]:
    """'20:00-08:00' (local times; 'off' or an empty value: no quiet hours)."""
    if raw.strip().lower() in {"", "off", "none"}:
        return ("00:00", "00:00")
    match = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*", raw)
    if match is None:
        raise SettingsError(f"SURVEY_QUIET_HOURS: expected 'HH:MM-HH:MM' (e.g. 20:00-08:00) or 'off', got {raw!r}")
    h1, m1, h2, m2 = match.groups()
    return (f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}")


def _networks(name: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks: ``10.0.0.5, 10.1.0.0/16, ::1``.

    >>> import os; os.environ["SURVEY_X"] = "10.0.0.5, 10.1.0.0/16"; [str(n) for n in _networks("X")]
    ['10.0.0.5/32', '10.1.0.0/16']
    >>> _ = os.environ.pop("SURVEY_X")
    """
    networks: list[Network] = []
    for part in _env(name, "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise SettingsError(
                f"SURVEY_{name}: {part.strip()!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return tuple(networks)


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
    base_url = _env("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return Settings(
        database=DatabaseSettings(url=_env("DATABASE_URL", default_db)),
        secret_key=_secret_key(var_dir),
        base_url=base_url,
        timezone=_env("TIMEZONE", "Asia/Ho_Chi_Minh"),
        default_language=_env("DEFAULT_LANGUAGE", "vi"),
        languages=tuple(x.strip() for x in _env("LANGUAGES", "vi,en").split(",") if x.strip()),
        token_ttl_days=_env_int("TOKEN_TTL_DAYS", 7),
        token_length=_env_int("TOKEN_LENGTH", 12),
        token_failures_per_window=_env_int("TOKEN_FAILURES_PER_WINDOW", 20),
        public_requests_per_window=_env_int("PUBLIC_REQUESTS_PER_WINDOW", 600),
        rate_window_seconds=_env_int("RATE_WINDOW_SECONDS", 600),
        server_processes=_env_int("SERVER_PROCESSES", 1),
        login_free_failures=_env_int("LOGIN_FREE_FAILURES", 5),
        login_max_delay_seconds=_env_int("LOGIN_MAX_DELAY_SECONDS", 900),
        login_failure_memory_seconds=_env_int("LOGIN_FAILURE_MEMORY_SECONDS", 3600),
        trusted_proxies=_networks("TRUSTED_PROXIES"),
        session_max_age_seconds=_env_int("SESSION_MAX_AGE_SECONDS", 8 * 3600),
        secure_cookies=_env_bool("SECURE_COOKIES", base_url.lower().startswith("https://")),
        database_pool=_env_bool("DATABASE_POOL", True),
        quiet_hours=_quiet_hours(_env("QUIET_HOURS", "20:00-08:00")),
        quarantine_days=_env_int("QUARANTINE_DAYS", 30),
        contact_delay_minutes=_env_int("CONTACT_DELAY_MINUTES", 10),
        debug=_env_bool("DEBUG", False),
        var_dir=var_dir,
        data_keys_file=Path(_env("DATA_KEYS_FILE", str(var_dir / "data_keys"))),
        twilio_account_sid=_env("TWILIO_ACCOUNT_SID", "").strip(),
        twilio_auth_token=_env("TWILIO_AUTH_TOKEN", "").strip(),
        twilio_messaging_service_sid=_env("TWILIO_MESSAGING_SERVICE_SID", "").strip(),
        twilio_from=_env("TWILIO_FROM", "").strip(),
        twilio_api_base_url=_env("TWILIO_API_BASE_URL", "").strip().rstrip("/"),
        sms_brand=_env("SMS_BRAND", "BHXH VN"),
        sms_encoding=_env("SMS_ENCODING", "auto").strip().lower(),
        sms_rate_per_second=_env_float("SMS_RATE_PER_SECOND", 10.0),
        smtp_host=_env("SMTP_HOST", "").strip(),
        smtp_port=_env_int("SMTP_PORT", 25),
        smtp_username=_env("SMTP_USERNAME", ""),
        smtp_password=_env("SMTP_PASSWORD", ""),
        smtp_tls=_env("SMTP_TLS", "auto").strip().lower(),
        smtp_from=_env("SMTP_FROM", "").strip(),
        email_rate_per_second=_env_float("EMAIL_RATE_PER_SECOND", 10.0),
        reminder_after_hours=_env_int("REMINDER_AFTER_HOURS", 48),
        worker_in_process=_env_bool("WORKER_IN_PROCESS", _env("DATABASE_URL", default_db).startswith("sqlite:")),
        job_max_attempts=_env_int("JOB_MAX_ATTEMPTS", 6),
        job_lease_seconds=_env_int("JOB_LEASE_SECONDS", 60),
        reports_dir=Path(_env("REPORTS_DIR", str(var_dir / "reports"))),
        report_attach_max_bytes=_env_int("REPORT_ATTACH_MAX_BYTES", 5_000_000),
        report_grace_days=_env_int("REPORT_GRACE_DAYS", 3),
        report_processes=_env_int("REPORT_PROCESSES", 0),
        report_recycle_after=_env_int("REPORT_RECYCLE_AFTER", 20),
        alert_window_hours=_env_float("ALERT_WINDOW_HOURS", 7.5),
        alert_min_n=_env_int("ALERT_MIN_N", 10),
        quality_team_email=_env("QUALITY_TEAM_EMAIL", "").strip(),
        contact_retention_days=_env_int("CONTACT_RETENTION_DAYS", 90),
        rights_acknowledge_working_days=_env_int("RIGHTS_ACKNOWLEDGE_WORKING_DAYS", 2),
        rights_complete_working_days=_env_int("RIGHTS_COMPLETE_WORKING_DAYS", 15),
    )
