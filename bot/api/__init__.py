"""The async module for the AI/ML API's Luma video endpoints (three dialects, one interface)."""

from .catalog import (
    ModelSpec,
    check_default_model,
    effective_params,
    find_model,
    has_model_choice,
    models_for,
    option_problems,
    request_model,
    request_problems,
    retired_reason,
)
from .client import VideoAPI
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    UnsupportedByDialect,
    VideoAPIError,
)
from .models import (
    ASPECT_RATIOS,
    DURATIONS,
    RESOLUTIONS,
    VIDEO_TYPES,
    Capabilities,
    Direction,
    JobStatus,
    VideoJob,
    VideoOptions,
    VideoType,
)
from .retry import RetryPolicy

# The names of the models the provider serves today (the unified endpoint), the usual default first.
# Per dialect, ask the catalog: `models_for(dialect)`.
MODELS: tuple[str, ...] = tuple(spec.name for spec in models_for("unified"))

__all__ = [
    "ASPECT_RATIOS", "DURATIONS", "MODELS", "RESOLUTIONS", "VIDEO_TYPES",
    "APIConnectionError", "APIStatusError", "APITimeoutError", "AuthenticationError", "BadRequestError",
    "Capabilities", "Direction", "InsufficientCreditsError", "JobStatus", "ModelSpec", "NotFoundError",
    "RateLimitError", "RetryPolicy", "ServerError", "UnexpectedResponseError", "UnsupportedByDialect", "VideoAPI",
    "VideoAPIError", "VideoJob", "VideoOptions", "VideoType",
    "check_default_model", "effective_params", "find_model", "has_model_choice", "models_for", "option_problems",
    "request_model", "request_problems", "retired_reason",
]
