-- Version 3: today's provider. Prices vary per clip, a create carries our own request id
-- (X-Client-Request-Id), a create without a usable answer is "in doubt" until the provider's
-- logs say whether it took it, and the provider's side of each charge is kept beside ours.

-- Unique per generation, sent with the create, and how /v2/logs finds it again.
ALTER TABLE generations ADD COLUMN client_request_id TEXT;
-- Set when a create was sent but its answer was lost: never refunded without a look-up.
ALTER TABLE generations ADD COLUMN in_doubt_since REAL;
-- What the provider billed for this generation (credits_used, or the logs' cost); NULL = not known yet.
ALTER TABLE generations ADD COLUMN provider_credits INTEGER CHECK (provider_credits IS NULL OR provider_credits >= 0);
ALTER TABLE generations ADD COLUMN provider_source TEXT
    CHECK (provider_source IS NULL OR provider_source IN ('response', 'logs', 'failed'));
-- How the reserve was priced, for members and moderators ("$0.65/s × 10 s").
ALTER TABLE generations ADD COLUMN price_text TEXT;

CREATE UNIQUE INDEX idx_generations_client_request ON generations (client_request_id)
    WHERE client_request_id IS NOT NULL;
-- The reconciler's work list: reserved, no provider id yet.
CREATE INDEX idx_generations_unsent ON generations (requested_at)
    WHERE status = 'requested' AND api_id IS NULL;
-- Finished jobs whose provider cost is still unknown (filled in from the logs).
CREATE INDEX idx_generations_provider_unknown ON generations (id)
    WHERE provider_credits IS NULL AND status = 'completed';
