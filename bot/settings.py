"""Settings read from the environment and an optional `.env` file (and, in the Docker
image, its defaults file under the `.env`).

pydantic-settings does the reading, the type checks and the `.env` parsing; this module
only declares what dreambot needs and turns a validation failure into one plain line.
Secrets are `SecretStr`, so they never show up in a `repr`, a log line or an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.api.catalog import check_default_model

Dialect = Literal["unified", "luma-v2", "legacy"]
CommandSync = Literal["off", "guild", "global"]

# The value of AIMLAPI_BASE_URL that runs the bundled simulator inside the bot process.
SIMULATOR_URL = "simulator"
DISCORD_API_URL = "https://discord.com/api/v10"

# Settings files, lowest priority first (the environment beats both). The image writes its
# /data paths into the first one, not into ENV: `docker run --env-file .env` replaces ENV
# values, and an empty `HEARTBEAT_PATH=` there would otherwise switch the health check off.
IMAGE_DEFAULTS_FILE = Path("/etc/dreambot/defaults.env")
ENV_FILES: tuple[Path, ...] = (IMAGE_DEFAULTS_FILE, Path(".env"))
# Written as a path's value, switches that file off (an empty value means "not set").
OFF = {"off", "none", "false", "0"}


def _env_config() -> SettingsConfigDict:
    return SettingsConfigDict(env_file=ENV_FILES, env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)


class HealthSettings(BaseSettings):
    """What `python -m bot.healthcheck` reads. The bot reads it too (it is the base of
    Settings), so a typo fails at start-up rather than as a container that is never healthy."""

    model_config = _env_config()

    heartbeat_path: Path | None = None
    heartbeat_max_age: float = Field(default=120.0, gt=0, allow_inf_nan=False)

    @field_validator("heartbeat_path", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in OFF else value


class Settings(HealthSettings):
    """Everything the bot reads; names are the environment variables, upper-cased."""

    discord_token: SecretStr = Field(min_length=1)
    aimlapi_key: SecretStr | None = None
    aimlapi_base_url: str = "https://api.aimlapi.com"
    aimlapi_dialect: Dialect = "unified"
    # Checked against the dialect's current models (a retired one refuses to start).
    default_model: str = "ray-2"
    # The flat price per clip of the two older endpoint families (legacy, luma-v2), in credits.
    # The unified endpoint is priced from the provider's catalogue instead.
    generation_cost_tokens: int = Field(default=500_000, gt=0)
    database_path: Path = Path("data/dreambot.sqlite3")

    # Prices (unified): read from GET /v1/models at start and every few hours; this file is the
    # fallback while the catalogue can't be read and nothing is cached (unset: the bundled file of
    # last known prices). Its shape is the catalogue's answer, or {model id: pricing block}.
    price_file: Path | None = None
    price_refresh_hours: float = Field(default=6.0, gt=0, allow_inf_nan=False)
    price_stale_hours: float = Field(default=24.0, gt=0, allow_inf_nan=False)
    # A create whose answer was lost is looked up in the provider's logs for this long, then refunded.
    reconcile_give_up_minutes: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    # Calls to GET /v2/logs a minute (the provider allows 200; the rest is headroom).
    logs_requests_per_minute: int = Field(default=100, ge=1, le=200)

    api_timeout_seconds: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    poll_interval_seconds: float = Field(default=5.0, gt=0, allow_inf_nan=False)
    job_timeout_minutes: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    simulator_time_scale: float = Field(default=1.0, gt=0, allow_inf_nan=False)

    command_sync: CommandSync = "global"
    dev_guild_id: int | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Replies to a clip are read as prompts only with Discord's privileged Message Content intent.
    message_content_intent: bool = True
    # Where Discord is: only a proxy (or the offline tests) changes these.
    discord_api_url: str = DISCORD_API_URL
    discord_gateway_url: str | None = None

    @field_validator("discord_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().startswith(("ws://", "wss://")):
            raise ValueError("must be a ws(s) URL")
        return value.strip() if value is not None else None

    @field_validator("aimlapi_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value != SIMULATOR_URL and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL or 'simulator'")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _key_unless_simulated(self) -> Settings:
        # The simulator accepts any key, so a newcomer can try the bot without one.
        if not self.uses_simulator and (self.aimlapi_key is None or not self.aimlapi_key.get_secret_value()):
            raise ValueError("AIMLAPI_KEY is required unless AIMLAPI_BASE_URL=simulator")
        if self.command_sync == "guild" and self.dev_guild_id is None:
            raise ValueError("DEV_GUILD_ID is required when COMMAND_SYNC=guild")
        problem = check_default_model(self.aimlapi_dialect, self.default_model)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def uses_simulator(self) -> bool:
        return self.aimlapi_base_url == SIMULATOR_URL

    def api_key(self) -> str:
        """The key to send; the simulator takes any non-empty one."""
        if self.aimlapi_key is not None and self.aimlapi_key.get_secret_value():
            return self.aimlapi_key.get_secret_value()
        return "simulator-key"


_S = TypeVar("_S", bound=BaseSettings)


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and never shows its value."""


def describe_error(error: ValidationError) -> str:
    """One line naming every bad setting, without echoing any input (it may be a secret)."""
    parts: list[str] = []
    for item in error.errors(include_input=False, include_url=False):
        name = "_".join(str(p) for p in item["loc"]).upper()
        if item["type"] == "missing":
            parts.append(f"{name} is missing")
        elif name:
            parts.append(f"{name} is invalid ({item['msg']})")
        else:
            parts.append(item["msg"].removeprefix("Value error, "))
    return "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, raising SettingsError with a one-line explanation."""
    return _load(Settings, **overrides)


def load_health_settings(**overrides: object) -> HealthSettings:
    return _load(HealthSettings, **overrides)


def _load(kind: type[_S], **overrides: object) -> _S:
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_error(error)) from None
