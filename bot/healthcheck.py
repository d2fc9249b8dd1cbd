"""`python -m bot.healthcheck`: exit 0 while the poller's heartbeat file is fresh.

The fetch worker and the post worker each write their own beat into HEARTBEAT_PATH on every
round (at most every few seconds), so one stale beat means that worker is stuck, or the
process is gone: the container should be restarted.
It reads the same settings sources as the bot (environment, `.env`, the image's defaults).
Docker reads the exit code only: 0 healthy, 1 unhealthy (a bad setting is unhealthy too).
"""

from __future__ import annotations

import sys
import time

from bot.services.heartbeat import ages
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
        by_worker = ages(path, time.time())
    except OSError:
        print(f"unhealthy: no heartbeat at {path}", file=sys.stderr)
        return 1
    shown = ", ".join(f"{worker} {age:.0f} s ago" for worker, age in by_worker.items())
    stale = [worker for worker, age in by_worker.items() if age > settings.heartbeat_max_age]
    if stale:
        print(f"unhealthy: the {' and '.join(stale)} worker stopped beating ({shown}; "
              f"HEARTBEAT_MAX_AGE={settings.heartbeat_max_age:g})", file=sys.stderr)
        return 1
    print(f"healthy: last heartbeats {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
