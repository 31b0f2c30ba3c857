-- Capture tokens (POST /api/kyc/session): one capture, for one user of one channel, before expiry.
-- used_at stays NULL until the capture that carries the token is accepted; it is set in the same
-- transaction that stores what the capture did, so a refused capture leaves the token usable.
CREATE TABLE capture_tokens (
    nonce TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    challenges TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX capture_tokens_expiry ON capture_tokens (expires_at);
-- Issuing a token retires the user's earlier unused ones.
CREATE INDEX capture_tokens_user ON capture_tokens (channel_id, user_id);
