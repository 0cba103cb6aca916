"""Settings: a bad value stops start-up with a message naming the variable."""

from __future__ import annotations

import pytest

from survey.settings import DatabaseSettings, Settings, SettingsError, get_settings

KEY = "k" * 40


def test_unsupported_database_scheme_names_the_variable():
    with pytest.raises(SettingsError, match=r"SURVEY_DATABASE_URL: unsupported scheme 'mysql'"):
        DatabaseSettings(url="mysql://localhost/db")


def test_short_secret_key_is_refused():
    with pytest.raises(SettingsError, match="SURVEY_SECRET_KEY: must be at least 32 characters"):
        Settings(database=DatabaseSettings(url="sqlite:///x.sqlite3"), secret_key="short")


def test_tokens_shorter_than_ten_characters_are_refused():
    with pytest.raises(SettingsError, match="SURVEY_TOKEN_LENGTH: must be at least 10"):
        Settings(database=DatabaseSettings(url="sqlite:///x.sqlite3"), secret_key=KEY, token_length=8)


def test_default_language_must_be_offered():
    with pytest.raises(SettingsError, match="SURVEY_DEFAULT_LANGUAGE: 'fr' is not one of SURVEY_LANGUAGES"):
        Settings(database=DatabaseSettings(url="sqlite:///x.sqlite3"), secret_key=KEY, default_language="fr")


def test_a_non_number_in_a_numeric_variable_is_named(monkeypatch):
    monkeypatch.setenv("SURVEY_TOKEN_TTL_DAYS", "seven")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match=r"SURVEY_TOKEN_TTL_DAYS: expected a whole number, got 'seven'"):
            get_settings()
    finally:
        monkeypatch.delenv("SURVEY_TOKEN_TTL_DAYS")
        get_settings.cache_clear()


def test_postgres_url_is_split_into_connection_settings():
    db = DatabaseSettings(url="postgresql://app:s%40cret@db.local:6543/survey")
    assert not db.is_sqlite
    assert db.postgres_config == {"host": "db.local", "port": 6543, "database": "survey", "user": "app",
                                  "password": "s@cret"}


def test_relative_sqlite_paths_live_in_the_project(tmp_path):
    assert DatabaseSettings(url=f"sqlite:///{tmp_path}/a.sqlite3").sqlite_path == tmp_path / "a.sqlite3"
    assert DatabaseSettings(url="sqlite:///var/x.sqlite3").sqlite_path.parts[-2:] == ("var", "x.sqlite3")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("20:00-08:00", ("20:00", "08:00")), ("7:30 - 9:05", ("07:30", "09:05")), ("off", ("00:00", "00:00"))],
)
def test_quiet_hours_are_read_as_local_times(raw, expected, monkeypatch):
    monkeypatch.setenv("SURVEY_QUIET_HOURS", raw)
    get_settings.cache_clear()
    try:
        assert get_settings().quiet_hours == expected
    finally:
        monkeypatch.delenv("SURVEY_QUIET_HOURS")
        get_settings.cache_clear()


def test_malformed_quiet_hours_name_the_expected_form(monkeypatch):
    monkeypatch.setenv("SURVEY_QUIET_HOURS", "8pm to 8am")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match=r"SURVEY_QUIET_HOURS: expected 'HH:MM-HH:MM'.*got '8pm to 8am'"):
            get_settings()
    finally:
        monkeypatch.delenv("SURVEY_QUIET_HOURS")
        get_settings.cache_clear()
