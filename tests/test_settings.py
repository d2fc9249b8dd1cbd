"""Settings: every one documented, secrets never shown, bad values named in one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def documented(path: Path) -> set[str]:
    return set(re.findall(r"\b([A-Z][A-Z0-9_]{3,})\b", path.read_text()))


def test_every_setting_is_in_env_example_and_readme():
    names = {name.upper() for name in Settings.model_fields}
    # A setting the Docker image sets itself is there too, commented (see test_docker_env.py).
    example = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert names <= example, f"missing from .env.example: {sorted(names - example)}"
    assert names <= documented(ROOT / "README.md"), f"missing from README: {sorted(names - documented(ROOT / 'README.md'))}"


def test_env_example_itself_loads_once_the_token_is_set(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t" * 40)
    monkeypatch.setenv("AIMLAPI_KEY", "k" * 40)
    settings = Settings(_env_file=ROOT / ".env.example")
    assert settings.aimlapi_dialect == "unified" and settings.generation_cost_tokens == 500_000


def test_secrets_never_show_in_repr_or_errors(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "token-VISIBLE-0123456789")
    monkeypatch.setenv("AIMLAPI_KEY", "key-VISIBLE-0123456789")
    settings = Settings(_env_file=None)
    assert "VISIBLE" not in repr(settings) and "VISIBLE" not in str(settings.model_dump())
    monkeypatch.setenv("AIMLAPI_DIALECT", "key-VISIBLE-0123456789")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert "AIMLAPI_DIALECT" in str(caught.value) and "VISIBLE" not in str(caught.value)
