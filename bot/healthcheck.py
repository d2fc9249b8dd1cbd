"""`python -m bot.healthcheck`: exit 0 while the poller's heartbeat file is fresh.

The poller touches HEARTBEAT_PATH on every cycle (at most every few seconds), so a stale
file means the loop is stuck or the process is gone: the container should be restarted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# Several poll cycles; the longest cycle is three poll intervals.
MAX_AGE_SECONDS = 120.0


def main() -> int:
    path = os.environ.get("HEARTBEAT_PATH")
    if not path:
        print("unhealthy: HEARTBEAT_PATH is not set", file=sys.stderr)
        return 1
    try:
        age = time.time() - Path(path).stat().st_mtime
    except OSError:
        print(f"unhealthy: no heartbeat at {path}", file=sys.stderr)
        return 1
    if age > float(os.environ.get("HEARTBEAT_MAX_AGE", MAX_AGE_SECONDS)):
        print(f"unhealthy: last heartbeat {age:.0f} s ago", file=sys.stderr)
        return 1
    print(f"healthy: last heartbeat {age:.0f} s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
