"""The image keeps its database and heartbeat under /data whichever way the settings arrive.

No Docker engine here, so the test replays what Docker does with the environment, in its
documented order: `docker run --env-file F` puts F's values over the image's ENV; compose
puts `env_file:` over the image's ENV and `environment:` over both. The bot then reads that
environment, the image's defaults file (docker/defaults.env, copied by the Dockerfile) and no
`.env` (the container's working directory has none).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import HealthSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DEFAULTS = ROOT / "docker" / "defaults.env"
IMAGE_PATHS = {"DATABASE_PATH": Path("/data/dreambot.sqlite3"), "HEARTBEAT_PATH": Path("/data/heartbeat")}


def env_file_values(text: str) -> dict[str, str]:
    """Docker's env-file format: KEY=VALUE lines taken literally, `#` lines and blanks skipped."""
    values = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value
    return values


def image_env() -> dict[str, str]:
    """The final stage's ENV instructions (continuation lines joined)."""
    final = DOCKERFILE.split("\nFROM ")[-1].replace("\\\n", " ")
    values: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", final, re.M):
        values.update(dict(re.findall(r"(\w+)=(\S*)", line)))
    return values


def compose_environment() -> dict[str, str]:
    compose = (ROOT / "compose.yaml").read_text()
    block = re.search(r"^    environment:\n((?:      .+\n)+)", compose, re.M)
    return dict(re.findall(r"^\s+(\w+):\s*(\S*)", block.group(1), re.M)) if block else {}


def an_env_file() -> str:
    """What a newcomer's .env looks like: the example with the token filled in, plus the
    empty `HEARTBEAT_PATH=` that older copies of the example had."""
    example = (ROOT / ".env.example").read_text()
    return example.replace("DISCORD_TOKEN=\n", "DISCORD_TOKEN=t0ken-0123456789\n") + "\nHEARTBEAT_PATH=\n"


def settings_in_container(environment: dict[str, str], monkeypatch) -> tuple[Settings, HealthSettings]:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    files = (DEFAULTS, Path("/nonexistent/.env"))
    return (Settings(_env_file=files, aimlapi_base_url="simulator"),  # type: ignore[call-arg]
            HealthSettings(_env_file=files))  # type: ignore[call-arg]


def test_the_dockerfile_installs_the_defaults_file_and_sets_no_path_in_env():
    assert "COPY docker/defaults.env /etc/dreambot/defaults.env" in DOCKERFILE
    assert not set(image_env()) & set(IMAGE_PATHS), "an ENV path would be replaced by any --env-file"
    assert {k: Path(v) for k, v in env_file_values(DEFAULTS.read_text()).items()} == IMAGE_PATHS


def test_docker_run_with_the_example_env_file_keeps_data_under_the_volume(monkeypatch):
    environment = {**image_env(), **env_file_values(an_env_file())}
    settings, health = settings_in_container(environment, monkeypatch)
    assert settings.database_path == IMAGE_PATHS["DATABASE_PATH"]
    assert settings.heartbeat_path == health.heartbeat_path == IMAGE_PATHS["HEARTBEAT_PATH"]


def test_compose_keeps_data_under_the_volume(monkeypatch):
    environment = {**image_env(), **env_file_values(an_env_file()), **compose_environment()}
    settings, health = settings_in_container(environment, monkeypatch)
    assert settings.database_path == IMAGE_PATHS["DATABASE_PATH"]
    assert health.heartbeat_path == IMAGE_PATHS["HEARTBEAT_PATH"]


@pytest.mark.parametrize("written", ["DATABASE_PATH=/data/other.sqlite3", "DATABASE_PATH=/data/other.sqlite3\nHEARTBEAT_PATH=off"])
def test_a_path_set_on_purpose_still_wins(monkeypatch, written):
    environment = {**image_env(), **env_file_values(an_env_file() + "\n" + written + "\n")}
    settings, health = settings_in_container(environment, monkeypatch)
    assert settings.database_path == Path("/data/other.sqlite3")
    assert health.heartbeat_path == (None if "off" in written else IMAGE_PATHS["HEARTBEAT_PATH"])


def test_the_example_file_sets_none_of_the_image_paths():
    active = env_file_values((ROOT / ".env.example").read_text())
    assert not set(active) & set(IMAGE_PATHS), "the example would move the image's data out of /data"


def test_outside_docker_the_defaults_are_local(monkeypatch):
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    local = Settings(_env_file=(Path("/nonexistent/defaults.env"), Path("/nonexistent/.env")),  # type: ignore[call-arg]
                     discord_token="t0ken-0123456789", aimlapi_base_url="simulator")
    assert local.database_path == Path("data/dreambot.sqlite3") and local.heartbeat_path is None


def test_a_database_outside_the_volume_is_warned_about_in_the_image(caplog):
    from bot.launcher import warn_outside_volume

    outside = Settings(_env_file=None, discord_token="t", aimlapi_base_url="simulator")  # type: ignore[call-arg]
    inside = Settings(_env_file=None, discord_token="t", aimlapi_base_url="simulator",  # type: ignore[call-arg]
                      database_path=IMAGE_PATHS["DATABASE_PATH"])
    with caplog.at_level("WARNING", logger="dreambot"):
        warn_outside_volume(inside, in_image=True)
        warn_outside_volume(outside, in_image=False)
        assert not caplog.records
        warn_outside_volume(outside, in_image=True)
    assert [r.getMessage() for r in caplog.records] == [
        f"DATABASE_PATH {Path('data/dreambot.sqlite3').absolute()} is outside the image's volume /data: "
        "the ledger goes when the container does"]
