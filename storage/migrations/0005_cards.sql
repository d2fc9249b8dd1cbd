-- rebuild: foreign keys off
-- Version 5: the new kinds of clip (restyle, reframe, bridge) and their second parent, the
-- size of an attached clip, and each server's choice of what a reply to a clip does.
--
-- SQLite cannot change a CHECK constraint in place, so `generations` is rebuilt the way
-- SQLite's ALTER TABLE page describes (new table, copy, drop, rename, indexes and triggers
-- again). The runner turns foreign keys off around this migration and checks them after.

CREATE TEMP TABLE _generations_seq AS SELECT seq FROM sqlite_sequence WHERE name = 'generations';

CREATE TABLE generations_new (
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
        CHECK (kind IN ('dream', 'extend_forward', 'extend_backward', 'reroll', 'image_to_video',
                        'restyle', 'reframe', 'bridge')),
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
    post_attempts       INTEGER NOT NULL DEFAULT 0 CHECK (post_attempts >= 0),
    client_request_id   TEXT,
    in_doubt_since      REAL,
    provider_credits    INTEGER CHECK (provider_credits IS NULL OR provider_credits >= 0),
    provider_source     TEXT
        CHECK (provider_source IS NULL OR provider_source IN ('response', 'logs', 'failed')),
    price_text          TEXT,
    undeliverable_at    REAL,
    post_error          TEXT,
    -- A bridge leads from `parent_id` into this clip.
    second_parent_id    INTEGER REFERENCES generations (id),
    -- Bytes of the MP4 attached to the result post; NULL when the post carries the link only.
    attached_bytes      INTEGER CHECK (attached_bytes IS NULL OR attached_bytes > 0)
);

INSERT INTO generations_new (
    id, api_id, dialect, guild_id, channel_id, user_id, status_channel_id, status_message_id,
    result_channel_id, result_message_id, kind, parent_id, prompt, model, options, status,
    requested_at, submitted_at, running_at, completed_at, failed_at, posted_at, video_url,
    failure_reason, tokens_reserved, tokens_charged, post_attempts, client_request_id,
    in_doubt_since, provider_credits, provider_source, price_text, undeliverable_at, post_error)
SELECT
    id, api_id, dialect, guild_id, channel_id, user_id, status_channel_id, status_message_id,
    result_channel_id, result_message_id, kind, parent_id, prompt, model, options, status,
    requested_at, submitted_at, running_at, completed_at, failed_at, posted_at, video_url,
    failure_reason, tokens_reserved, tokens_charged, post_attempts, client_request_id,
    in_doubt_since, provider_credits, provider_source, price_text, undeliverable_at, post_error
FROM generations;

DROP TABLE generations;
ALTER TABLE generations_new RENAME TO generations;

-- The clip numbers go on from where they were.
DELETE FROM sqlite_sequence WHERE name = 'generations';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'generations', max(coalesce((SELECT seq FROM _generations_seq), 0),
                          coalesce((SELECT max(id) FROM generations), 0));
DROP TABLE _generations_seq;

CREATE INDEX idx_generations_member ON generations (guild_id, user_id, requested_at);
CREATE INDEX idx_generations_guild ON generations (guild_id, requested_at);
CREATE INDEX idx_generations_channel ON generations (channel_id, requested_at);
CREATE INDEX idx_generations_open ON generations (guild_id, user_id)
    WHERE status IN ('requested', 'submitted', 'running');
CREATE INDEX idx_generations_status ON generations (status, id);
CREATE INDEX idx_generations_unposted ON generations (posted_at, status)
    WHERE posted_at IS NULL AND undeliverable_at IS NULL;
CREATE INDEX idx_generations_status_message ON generations (status_message_id)
    WHERE status_message_id IS NOT NULL;
CREATE INDEX idx_generations_result_message ON generations (result_message_id)
    WHERE result_message_id IS NOT NULL;
CREATE INDEX idx_generations_parent ON generations (parent_id) WHERE parent_id IS NOT NULL;
CREATE UNIQUE INDEX idx_generations_client_request ON generations (client_request_id)
    WHERE client_request_id IS NOT NULL;
CREATE INDEX idx_generations_provider_unknown ON generations (id)
    WHERE provider_credits IS NULL AND status = 'completed';
CREATE INDEX idx_generations_unsent ON generations (requested_at)
    WHERE status = 'requested' AND api_id IS NULL;

-- A finished job never goes back: the poller may see stale answers after a restart.
CREATE TRIGGER generations_final_status
BEFORE UPDATE OF status ON generations
WHEN OLD.status IN ('completed', 'failed') AND NEW.status IS NOT OLD.status
BEGIN
    SELECT RAISE(ABORT, 'generation already finished');
END;

-- What a reply to a clip post does: ask first (confirm), extend at once (direct), or nothing (off).
ALTER TABLE guild_settings ADD COLUMN reply_mode TEXT NOT NULL DEFAULT 'confirm'
    CHECK (reply_mode IN ('confirm', 'direct', 'off'));
ALTER TABLE guild_settings ADD COLUMN reply_mode_set_by INTEGER;
ALTER TABLE guild_settings ADD COLUMN reply_mode_set_at REAL;
