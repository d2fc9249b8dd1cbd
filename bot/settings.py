"""Settings read from the environment and an optional `.env` file.

pydantic-settings does the reading, the type checks and the `.env` parsing; this module
only declares what dreambot needs and turns a validation failure into one plain line.
Secrets are `SecretStr`, so they never show up in a `repr`, a log line or an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Dialect = Literal["unified", "luma-v2", "legacy"]
ModelName = Literal["ray-2", "ray-flash-2", "ray-1-6"]
CommandSync = Literal["off", "guild", "global"]

# The value of AIMLAPI_BASE_URL that runs the bundled simulator inside the bot process.
SIMULATOR_URL = "simulator"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    discord_token: SecretStr = Field(min_length=1)
    aimlapi_key: SecretStr | None = None
    aimlapi_base_url: str = "https://api.aimlapi.com"
    aimlapi_dialect: Dialect = "unified"
    default_model: ModelName = "ray-2"
    generation_cost_tokens: int = Field(default=500_000, gt=0)
    database_path: Path = Path("data/dreambot.sqlite3")

    api_timeout_seconds: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    poll_interval_seconds: float = Field(default=5.0, gt=0, allow_inf_nan=False)
    job_timeout_minutes: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    simulator_time_scale: float = Field(default=1.0, gt=0, allow_inf_nan=False)

    command_sync: CommandSync = "off"
    dev_guild_id: int | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    heartbeat_path: Path | None = None

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
        return self

    @property
    def uses_simulator(self) -> bool:
        return self.aimlapi_base_url == SIMULATOR_URL

    def api_key(self) -> str:
        """The key to send; the simulator takes any non-empty one."""
        if self.aimlapi_key is not None and self.aimlapi_key.get_secret_value():
            return self.aimlapi_key.get_secret_value()
        return "simulator-key"


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
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_error(error)) from None
