-- Version 1: generations, the spend ledger, and caps/limits.
-- Timestamps are unix epoch seconds (UTC) as REAL; Discord snowflakes are INTEGER.

CREATE TABLE generations (
    -- AUTOINCREMENT so a clip number is never reused, even if a row were ever deleted.
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    api_id              TEXT,
    dialect             TEXT,
    guild_id            INTEGER,            -- NULL for DMs
    channel_id          INTEGER NOT NULL,
    user_id             INTEGER NOT NULL,
    status_channel_id   INTEGER,
    status_message_id   INTEGER,
    result_channel_id   INTEGER,
    result_message_id   INTEGER,
    kind                TEXT    NOT NULL
        CHECK (kind IN ('dream', 'extend_forward', 'extend_backward', 'reroll', 'image_to_video')),
    parent_id           INTEGER REFERENCES generations (id),
    prompt              TEXT    NOT NULL,
    model               TEXT,
    options             TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
    status              TEXT    NOT NULL DEFAULT 'requested'
        CHECK (status IN ('requested', 'submitted', 'running', 'completed', 'failed')),
    requested_at        REAL    NOT NULL,
    submitted_at        REAL,
    running_at          REAL,
    completed_at        REAL,
    failed_at           REAL,
    posted_at           REAL,
    video_url           TEXT,
    failure_reason      TEXT,
    tokens_reserved     INTEGER NOT NULL CHECK (tokens_reserved > 0),
    tokens_charged      INTEGER CHECK (tokens_charged >= 0),
    post_attempts       INTEGER NOT NULL DEFAULT 0 CHECK (post_attempts >= 0)
);

-- Spend in a period, cooldown, a member's recent clips.
CREATE INDEX idx_generations_member ON generations (guild_id, user_id, requested_at);
-- Guild-wide reports and charts.
CREATE INDEX idx_generations_guild ON generations (guild_id, requested_at);
-- Channel's recent clips (autocomplete).
CREATE INDEX idx_generations_channel ON generations (channel_id, requested_at);
-- Running counts at reserve time: only open rows, so it stays tiny.
CREATE INDEX idx_generations_open ON generations (guild_id, user_id)
    WHERE status IN ('requested', 'submitted', 'running');
-- Poller work lists and queue position.
CREATE INDEX idx_generations_status ON generations (status, id);
-- Finished but not yet posted: tiny, since almost every row gets posted. Two equality
-- columns so the planner prefers it to idx_generations_status (whose 'completed' range is huge).
CREATE INDEX idx_generations_unposted ON generations (posted_at, status) WHERE posted_at IS NULL;
-- Replies and buttons find their clip by message id.
CREATE INDEX idx_generations_status_message ON generations (status_message_id)
    WHERE status_message_id IS NOT NULL;
CREATE INDEX idx_generations_result_message ON generations (result_message_id)
    WHERE result_message_id IS NOT NULL;
CREATE INDEX idx_generations_parent ON generations (parent_id) WHERE parent_id IS NOT NULL;

-- A finished job never goes back: the poller may see stale answers after a restart.
CREATE TRIGGER generations_final_status
BEFORE UPDATE OF status ON generations
WHEN OLD.status IN ('completed', 'failed') AND NEW.status IS NOT OLD.status
BEGIN
    SELECT RAISE(ABORT, 'generation already finished');
END;

CREATE TABLE ledger (
    id              INTEGER PRIMARY KEY,
    generation_id   INTEGER NOT NULL REFERENCES generations (id),
    guild_id        INTEGER,
    user_id         INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('reserve', 'charge', 'refund')),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    created_at      REAL    NOT NULL,
    -- Reserved once, charged at most once, refunded at most once, whatever is retried.
    UNIQUE (generation_id, kind)
);

CREATE INDEX idx_ledger_guild ON ledger (guild_id, created_at);

-- The books are append-only: corrections are new rows, never edits.
CREATE TRIGGER ledger_no_update
BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger rows are append-only');
END;

CREATE TRIGGER ledger_no_delete
BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger rows are append-only');
END;

-- Charge and refund must come after a reserve and together never exceed it
-- (a charge alone may: the API can report more than the list price).
CREATE TRIGGER ledger_settlement_bounds
BEFORE INSERT ON ledger
WHEN NEW.kind IN ('charge', 'refund')
BEGIN
    SELECT RAISE(ABORT, 'charge or refund without a reserve')
    WHERE NOT EXISTS (SELECT 1 FROM ledger WHERE generation_id = NEW.generation_id AND kind = 'reserve');
    SELECT RAISE(ABORT, 'charge plus refund exceeds the reserve')
    WHERE EXISTS (SELECT 1 FROM ledger WHERE generation_id = NEW.generation_id AND kind IN ('charge', 'refund'))
      AND NEW.amount
          + (SELECT COALESCE(SUM(amount), 0) FROM ledger
             WHERE generation_id = NEW.generation_id AND kind IN ('charge', 'refund'))
          > (SELECT amount FROM ledger WHERE generation_id = NEW.generation_id AND kind = 'reserve');
    SELECT RAISE(ABORT, 'refund exceeds the reserve')
    WHERE NEW.kind = 'refund'
      AND NEW.amount > (SELECT amount FROM ledger WHERE generation_id = NEW.generation_id AND kind = 'reserve');
END;

-- Guild-wide defaults. No row = unlimited cap, default running limit, no guild limit.
CREATE TABLE guild_settings (
    guild_id                INTEGER PRIMARY KEY,
    cap_tokens              INTEGER CHECK (cap_tokens IS NULL OR cap_tokens >= 0),  -- NULL = unlimited
    cap_period              TEXT    NOT NULL DEFAULT 'day'
        CHECK (cap_period IN ('day', 'week', 'month', 'lifetime')),
    cap_set_by              INTEGER,
    cap_set_at              REAL,
    member_running_limit    INTEGER NOT NULL DEFAULT 2 CHECK (member_running_limit >= 0),
    guild_running_limit     INTEGER CHECK (guild_running_limit IS NULL OR guild_running_limit >= 0),
    running_set_by          INTEGER,
    running_set_at          REAL
);

-- Per-member overrides inside one guild.
CREATE TABLE member_settings (
    guild_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    -- cap_override = 1 means cap_tokens applies (and NULL there means unlimited for this member).
    cap_override    INTEGER NOT NULL DEFAULT 0 CHECK (cap_override IN (0, 1)),
    cap_tokens      INTEGER CHECK (cap_tokens IS NULL OR cap_tokens >= 0),
    cap_period      TEXT    CHECK (cap_period IS NULL OR cap_period IN ('day', 'week', 'month', 'lifetime')),
    cap_set_by      INTEGER,
    cap_set_at      REAL,
    running_limit   INTEGER CHECK (running_limit IS NULL OR running_limit >= 0),  -- NULL = guild default
    running_set_by  INTEGER,
    running_set_at  REAL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;
