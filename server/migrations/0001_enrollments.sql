-- SmartId reference server schema. Portable SQL: the same file runs on SQLite and PostgreSQL
-- (TEXT and BIGINT only; binary data is stored as base64 text).

-- A channel gets a row with its first enrollment; "user channel not found" (410) means no row.
CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

-- One enrollment per user and channel. The template is AES-256-GCM encrypted (server/src/at_rest.rs),
-- bound to (channel, user); data_key_id names the key that encrypted it.
CREATE TABLE enrollments (
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    template_ct TEXT NOT NULL,
    data_key_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

-- Captures the server acted on, kept until they expire: a capture is used once.
CREATE TABLE seen_sessions (
    session_id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX seen_sessions_expiry ON seen_sessions (expires_at);

-- The bank's own photos of its customers (imported by `smartid-server import-photos`), encrypted like
-- templates.
CREATE TABLE reference_photos (
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    photo_ct TEXT NOT NULL,
    data_key_id TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
