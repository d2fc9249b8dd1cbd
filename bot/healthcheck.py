"""`python -m bot.healthcheck`: exit 0 while the poller's heartbeat file is fresh.

The poller touches HEARTBEAT_PATH on every cycle (at most every few seconds), so a stale
file means the loop is stuck or the process is gone: the container should be restarted.
It reads the same settings sources as the bot (environment, `.env`, the image's defaults).
Docker reads the exit code only: 0 healthy, 1 unhealthy (a bad setting is unhealthy too).
"""

from __future__ import annotations

import sys
import time

from bot.settings import SettingsError, load_health_settings


def main() -> int:
    try:
        settings = load_health_settings()
    except SettingsError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    path = settings.heartbeat_path
    if path is None:
        print("unhealthy: HEARTBEAT_PATH is not set", file=sys.stderr)
        return 1
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        print(f"unhealthy: no heartbeat at {path}", file=sys.stderr)
        return 1
    if age > settings.heartbeat_max_age:
        print(f"unhealthy: last heartbeat {age:.0f} s ago (HEARTBEAT_MAX_AGE={settings.heartbeat_max_age:g})",
              file=sys.stderr)
        return 1
    print(f"healthy: last heartbeat {age:.0f} s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
