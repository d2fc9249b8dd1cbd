"""The async module for the AI/ML API's Luma video endpoints (three dialects, one interface)."""

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
    MODELS,
    RESOLUTIONS,
    Capabilities,
    Direction,
    JobStatus,
    VideoJob,
    VideoOptions,
)
from .retry import RetryPolicy

__all__ = [
    "ASPECT_RATIOS", "DURATIONS", "MODELS", "RESOLUTIONS",
    "APIConnectionError", "APIStatusError", "APITimeoutError", "AuthenticationError", "BadRequestError",
    "Capabilities", "Direction", "InsufficientCreditsError", "JobStatus", "NotFoundError", "RateLimitError",
    "RetryPolicy", "ServerError", "UnexpectedResponseError", "UnsupportedByDialect", "VideoAPI", "VideoAPIError", "VideoJob", "VideoOptions",
]
