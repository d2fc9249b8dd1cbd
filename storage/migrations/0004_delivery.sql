-- Version 4: a post that keeps failing ends as "undeliverable" (shown to moderators, never
-- retried silently for ever), and clip run times are kept per option so a restart starts warm.

-- Set when posting gave up (a 400 at once, or the attempts ran out); cleared by a moderator's retry.
ALTER TABLE generations ADD COLUMN undeliverable_at REAL;
-- Why the last post failed (Discord's status and code, no secrets), for moderators.
ALTER TABLE generations ADD COLUMN post_error TEXT;

DROP INDEX IF EXISTS idx_generations_unposted;
-- The post worker's work list: finished, not posted, not given up.
CREATE INDEX idx_generations_unposted ON generations (posted_at, status)
    WHERE posted_at IS NULL AND undeliverable_at IS NULL;

-- How long the provider took per option (dialect, model, resolution, duration, type): the poll
-- schedule's memory. Only the newest few per option are kept (pruned on insert).
CREATE TABLE run_times (
    id          INTEGER PRIMARY KEY,
    option_key  TEXT NOT NULL CHECK (length(option_key) BETWEEN 1 AND 200),
    seconds     REAL NOT NULL CHECK (seconds > 0),
    finished_at REAL NOT NULL
);
CREATE INDEX idx_run_times_key ON run_times (option_key, id);
