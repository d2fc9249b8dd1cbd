-- Version 2: moderation extras: cooldown, blocked members, channel restriction,
-- moderator role, and the audit trail of every moderator change.

ALTER TABLE guild_settings ADD COLUMN cooldown_seconds INTEGER NOT NULL DEFAULT 0 CHECK (cooldown_seconds >= 0);
ALTER TABLE guild_settings ADD COLUMN cooldown_set_by INTEGER;
ALTER TABLE guild_settings ADD COLUMN cooldown_set_at REAL;
ALTER TABLE guild_settings ADD COLUMN moderator_role_id INTEGER;
ALTER TABLE guild_settings ADD COLUMN moderator_role_set_by INTEGER;
ALTER TABLE guild_settings ADD COLUMN moderator_role_set_at REAL;
ALTER TABLE guild_settings ADD COLUMN channels_set_by INTEGER;
ALTER TABLE guild_settings ADD COLUMN channels_set_at REAL;

ALTER TABLE member_settings ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1));
ALTER TABLE member_settings ADD COLUMN blocked_set_by INTEGER;
ALTER TABLE member_settings ADD COLUMN blocked_set_at REAL;

-- No rows for a guild = clips allowed in every channel.
CREATE TABLE allowed_channels (
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    added_by    INTEGER NOT NULL,
    added_at    REAL    NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    actor_id        INTEGER NOT NULL,
    action          TEXT    NOT NULL,
    target_user_id  INTEGER,
    details         TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    created_at      REAL    NOT NULL
);

CREATE INDEX idx_audit_log_guild ON audit_log (guild_id, id);

-- Small bot-wide key/value facts (e.g. the hash of the last command sync).
CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  REAL NOT NULL
) WITHOUT ROWID;
