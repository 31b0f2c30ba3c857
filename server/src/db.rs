//! Storage: one set of queries and migrations over sqlx's `Any` driver, so the same code runs on an
//! embedded SQLite file (the default) and on PostgreSQL (`DATABASE_URL=postgres://…`).
//!
//! Every state change is one transaction that starts with a write (so SQLite takes its write lock
//! first and waits for it, instead of failing to upgrade a read): a capture is marked as used in the
//! same transaction that stores what it did, and a refusal rolls both back.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Connection as _, Executor as _, Row as _};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL is invalid (expected a file path, sqlite://… or postgres://…)")]
    Url,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database query failed: {0}")]
    Query(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e.to_string())
            }
            // Database messages name tables and constraints, never bound values.
            other => StoreError::Query(other.to_string()),
        }
    }
}

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A template as stored (still encrypted).
#[derive(Debug, Clone)]
pub struct StoredTemplate {
    pub channel: String,
    pub user: String,
    pub ciphertext: String,
    pub data_key_id: String,
    pub model_id: String,
}

/// A new enrollment, already encrypted.
#[derive(Debug, Clone)]
pub struct NewEnrollment<'a> {
    pub channel: &'a str,
    pub user: &'a str,
    pub ciphertext: &'a str,
    pub data_key_id: &'a str,
    pub model_id: &'a str,
    pub session_id: &'a str,
    pub session_expires_at: u64,
    /// The capture token's nonce (hex), used up in the same transaction.
    pub token: Option<&'a str>,
    pub now: u64,
}

/// Using up a capture for authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOutcome {
    Consumed,
    Replayed,
    /// Its token was used (or retired, or expired) by a concurrent request in the meantime.
    TokenUsed,
}

/// A capture token as the server recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub channel: String,
    pub user: String,
    /// Challenge names, comma-separated, in order (empty: the SDK draws).
    pub challenges: String,
    pub expires_at: u64,
    pub used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollOutcome {
    Enrolled {
        replaced: bool,
    },
    AlreadyEnrolled,
    Replayed,
    /// The capture token was used (or expired) by a concurrent request in the meantime.
    TokenUsed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnenrollOutcome {
    Removed,
    UserNotFound,
    ChannelNotFound,
}

/// The schema, embedded in the binary (no migration files needed at run time).
fn migrator() -> Migrator {
    let step = |version, name, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(name),
            MigrationType::Simple,
            sqlx::SqlSafeStr::into_sql_str(sql),
            false,
        )
    };
    Migrator::with_migrations(vec![
        step(
            1,
            "enrollments",
            include_str!("../migrations/0001_enrollments.sql"),
        ),
        step(
            2,
            "capture_tokens",
            include_str!("../migrations/0002_capture_tokens.sql"),
        ),
    ])
}

/// Turns the `--database` value into a sqlx URL: a bare path means an SQLite file (created if absent).
pub fn database_url(value: &str) -> Result<(String, Backend), StoreError> {
    let v = value.trim();
    if v.starts_with("postgres://") || v.starts_with("postgresql://") {
        Ok((v.to_string(), Backend::Postgres))
    } else if let Some(rest) = v.strip_prefix("sqlite:") {
        let rest = rest.trim_start_matches("//");
        if rest.is_empty() {
            return Err(StoreError::Url);
        }
        let url = if rest.contains("mode=") {
            format!("sqlite://{rest}")
        } else if rest.contains('?') {
            format!("sqlite://{rest}&mode=rwc")
        } else {
            format!("sqlite://{rest}?mode=rwc")
        };
        Ok((url, Backend::Sqlite))
    } else if !v.is_empty() && !v.contains("://") {
        Ok((format!("sqlite://{v}?mode=rwc"), Backend::Sqlite))
    } else {
        Err(StoreError::Url)
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.backend)
    }
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn open(database: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = database_url(database)?;
        let options: AnyConnectOptions = url.parse().map_err(|_| StoreError::Url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never block the writer; a committed transaction survives the
                        // process being killed. busy_timeout: writers queue instead of failing.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Health check: one round trip.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Whether a capture was already used (a fast refusal before any work; the authoritative check is
    /// the insert in the transaction that uses it).
    pub async fn session_seen(&self, session_id: &str) -> Result<bool, StoreError> {
        self.exists(
            "SELECT 1 FROM seen_sessions WHERE session_id = $1",
            session_id,
        )
        .await
    }

    async fn exists(&self, sql: &'static str, key: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Stores an enrollment and marks its capture used, atomically.
    pub async fn enroll(
        &self,
        e: &NewEnrollment<'_>,
        overwrite: bool,
    ) -> Result<EnrollOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !mark_used(&mut *tx, e.session_id, e.channel, e.session_expires_at).await? {
            tx.rollback().await?;
            return Ok(EnrollOutcome::Replayed);
        }
        if let Some(nonce) = e.token
            && !use_token(&mut *tx, nonce, e.channel, e.user, e.now).await?
        {
            tx.rollback().await?;
            return Ok(EnrollOutcome::TokenUsed);
        }
        sqlx::query(
            "INSERT INTO channels (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(e.channel)
        .bind(to_i64(e.now))
        .execute(&mut *tx)
        .await?;
        let inserted = insert_enrollment(&mut tx, e, "DO NOTHING").await?;
        if inserted == 1 {
            tx.commit().await?;
            return Ok(EnrollOutcome::Enrolled { replaced: false });
        }
        if !overwrite {
            tx.rollback().await?;
            return Ok(EnrollOutcome::AlreadyEnrolled);
        }
        // One statement, so an unenroll committed in between cannot make this a no-op.
        insert_enrollment(
            &mut tx,
            e,
            "DO UPDATE SET template_ct = excluded.template_ct, \
             data_key_id = excluded.data_key_id, model_id = excluded.model_id, \
             session_id = excluded.session_id, enrolled_at = excluded.enrolled_at",
        )
        .await?;
        tx.commit().await?;
        Ok(EnrollOutcome::Enrolled { replaced: true })
    }

    pub async fn unenroll(&self, channel: &str, user: &str) -> Result<UnenrollOutcome, StoreError> {
        let removed = sqlx::query("DELETE FROM enrollments WHERE channel_id = $1 AND user_id = $2")
            .bind(channel)
            .bind(user)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if removed > 0 {
            return Ok(UnenrollOutcome::Removed);
        }
        Ok(if self.channel_exists(channel).await? {
            UnenrollOutcome::UserNotFound
        } else {
            UnenrollOutcome::ChannelNotFound
        })
    }

    pub async fn channel_exists(&self, channel: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM channels WHERE id = $1", channel)
            .await
    }

    pub async fn enrollment(
        &self,
        channel: &str,
        user: &str,
    ) -> Result<Option<StoredTemplate>, StoreError> {
        let row = sqlx::query(
            "SELECT channel_id, user_id, template_ct, data_key_id, model_id FROM enrollments \
             WHERE channel_id = $1 AND user_id = $2",
        )
        .bind(channel)
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| stored_template(&r)).transpose()
    }

    /// Every enrollment (to build the duplicates index at start-up, and to re-encrypt on rotation).
    pub async fn all_enrollments(&self) -> Result<Vec<StoredTemplate>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel_id, user_id, template_ct, data_key_id, model_id FROM enrollments \
             ORDER BY channel_id, user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_template).collect()
    }

    /// Marks a capture used (authentication), and its token if it has one, atomically.
    pub async fn consume_capture(
        &self,
        session_id: &str,
        channel: &str,
        expires_at: u64,
        token: Option<(&str, &str)>,
        now: u64,
    ) -> Result<ConsumeOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !mark_used(&mut *tx, session_id, channel, expires_at).await? {
            tx.rollback().await?;
            return Ok(ConsumeOutcome::Replayed);
        }
        if let Some((nonce, user)) = token
            && !use_token(&mut *tx, nonce, channel, user, now).await?
        {
            tx.rollback().await?;
            return Ok(ConsumeOutcome::TokenUsed);
        }
        tx.commit().await?;
        Ok(ConsumeOutcome::Consumed)
    }

    /// Records a capture token issued for one user of a channel, and retires that user's earlier
    /// unused tokens (one live token per user: no stockpile of draws to pick the easiest from).
    pub async fn issue_token(
        &self,
        nonce: &str,
        channel: &str,
        user: &str,
        challenges: &str,
        issued_at: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE capture_tokens SET used_at = $1 \
             WHERE channel_id = $2 AND user_id = $3 AND used_at IS NULL",
        )
        .bind(to_i64(issued_at))
        .bind(channel)
        .bind(user)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO capture_tokens \
             (nonce, channel_id, user_id, challenges, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(nonce)
        .bind(channel)
        .bind(user)
        .bind(challenges)
        .bind(to_i64(issued_at))
        .bind(to_i64(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A token's record, if the server issued it.
    pub async fn token(&self, nonce: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT channel_id, user_id, challenges, expires_at, \
             CAST(CASE WHEN used_at IS NULL THEN 0 ELSE 1 END AS BIGINT) FROM capture_tokens \
             WHERE nonce = $1",
        )
        .bind(nonce)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| -> Result<TokenRecord, StoreError> {
            Ok(TokenRecord {
                channel: r.try_get(0)?,
                user: r.try_get(1)?,
                challenges: r.try_get(2)?,
                expires_at: from_i64(r.try_get(3)?),
                used: r.try_get::<i64, _>(4)? != 0,
            })
        })
        .transpose()
    }

    /// Forgets used captures and capture tokens (used or not) that expired before `before`: the
    /// clock checks refuse them anyway. Rows removed.
    pub async fn purge_expired(&self, before: u64) -> Result<u64, StoreError> {
        let mut removed = 0;
        for sql in [
            "DELETE FROM seen_sessions WHERE expires_at < $1",
            "DELETE FROM capture_tokens WHERE expires_at < $1",
        ] {
            removed += sqlx::query(sql)
                .bind(to_i64(before))
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(removed)
    }

    /// Replaces a template's ciphertext if it is still the one read (rotation; a concurrent
    /// re-enrollment wins).
    pub async fn replace_template_ciphertext(
        &self,
        old: &StoredTemplate,
        ciphertext: &str,
        data_key_id: &str,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE enrollments SET template_ct = $3, data_key_id = $4 \
             WHERE channel_id = $1 AND user_id = $2 AND template_ct = $5",
        )
        .bind(&old.channel)
        .bind(&old.user)
        .bind(ciphertext)
        .bind(data_key_id)
        .bind(&old.ciphertext)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn put_photo(
        &self,
        channel: &str,
        user: &str,
        ciphertext: &str,
        data_key_id: &str,
        now: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reference_photos (channel_id, user_id, photo_ct, data_key_id, imported_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel_id, user_id) DO UPDATE SET \
             photo_ct = excluded.photo_ct, data_key_id = excluded.data_key_id, \
             imported_at = excluded.imported_at",
        )
        .bind(channel)
        .bind(user)
        .bind(ciphertext)
        .bind(data_key_id)
        .bind(to_i64(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A stored photo: (data key id, ciphertext).
    pub async fn photo(
        &self,
        channel: &str,
        user: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT data_key_id, photo_ct FROM reference_photos WHERE channel_id = $1 AND user_id = $2",
        )
        .bind(channel)
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Every photo row (rotation): channel, user, data key id, ciphertext.
    pub async fn all_photos(&self) -> Result<Vec<(String, String, String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT channel_id, user_id, data_key_id, photo_ct FROM reference_photos")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }

    pub async fn replace_photo_ciphertext(
        &self,
        channel: &str,
        user: &str,
        old_ciphertext: &str,
        ciphertext: &str,
        data_key_id: &str,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE reference_photos SET photo_ct = $3, data_key_id = $4 \
             WHERE channel_id = $1 AND user_id = $2 AND photo_ct = $5",
        )
        .bind(channel)
        .bind(user)
        .bind(ciphertext)
        .bind(data_key_id)
        .bind(old_ciphertext)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Row counts (tests, the demo report, `/health`).
    pub async fn count_enrollments(&self, channel: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM enrollments WHERE channel_id = $1")
            .bind(channel)
            .fetch_one(&self.pool)
            .await?;
        let n: i64 = row.try_get(0)?;
        Ok(n.max(0) as u64)
    }

    /// Every enrolled user of a channel (tests and operators; not exposed over HTTP).
    pub async fn enrolled_users(&self, channel: &str) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT user_id FROM enrollments WHERE channel_id = $1 ORDER BY user_id")
                .bind(channel)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}

/// Inserts an enrollment row; `on_conflict` says what an existing row of the user gets. Rows written.
async fn insert_enrollment(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    e: &NewEnrollment<'_>,
    on_conflict: &'static str,
) -> Result<u64, StoreError> {
    let sql = format!(
        "INSERT INTO enrollments \
         (channel_id, user_id, template_ct, data_key_id, model_id, session_id, enrolled_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (channel_id, user_id) {on_conflict}"
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(e.channel)
        .bind(e.user)
        .bind(e.ciphertext)
        .bind(e.data_key_id)
        .bind(e.model_id)
        .bind(e.session_id)
        .bind(to_i64(e.now))
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// Uses a capture token up: only the right channel and user, once, before it expires. False otherwise.
async fn use_token<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    nonce: &str,
    channel: &str,
    user: &str,
    now: u64,
) -> Result<bool, StoreError> {
    let used = sqlx::query(
        "UPDATE capture_tokens SET used_at = $1 WHERE nonce = $2 AND channel_id = $3 \
         AND user_id = $4 AND used_at IS NULL AND expires_at >= $1",
    )
    .bind(to_i64(now))
    .bind(nonce)
    .bind(channel)
    .bind(user)
    .execute(executor)
    .await?
    .rows_affected();
    Ok(used == 1)
}

/// Records a capture as used; false if it already was.
async fn mark_used<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    session_id: &str,
    channel: &str,
    expires_at: u64,
) -> Result<bool, StoreError> {
    let fresh = sqlx::query(
        "INSERT INTO seen_sessions (session_id, channel_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (session_id) DO NOTHING",
    )
    .bind(session_id)
    .bind(channel)
    .bind(to_i64(expires_at))
    .execute(executor)
    .await?
    .rows_affected();
    Ok(fresh == 1)
}

fn stored_template(r: &sqlx::any::AnyRow) -> Result<StoredTemplate, StoreError> {
    Ok(StoredTemplate {
        channel: r.try_get(0)?,
        user: r.try_get(1)?,
        ciphertext: r.try_get(2)?,
        data_key_id: r.try_get(3)?,
        model_id: r.try_get(4)?,
    })
}

/// Unix seconds fit i64 for the next 292 billion years; saturate rather than wrap.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// Expired captures and tokens go; live ones stay (used or not).
    #[test]
    fn purge_removes_only_what_expired() {
        let dir = std::env::temp_dir().join(format!("smartid-purge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("p.db");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let s = Store::open(&db.to_string_lossy(), 1).await.unwrap();
            s.issue_token("old", "ch", "u1", "", 10, 100).await.unwrap();
            s.issue_token("new", "ch", "u2", "", 10, 300).await.unwrap();
            let t = (Some(("new", "u2")), 150);
            assert_eq!(
                s.consume_capture("s-old", "ch", 100, None, 50)
                    .await
                    .unwrap(),
                ConsumeOutcome::Consumed
            );
            assert_eq!(
                s.consume_capture("s-new", "ch", 300, t.0, t.1)
                    .await
                    .unwrap(),
                ConsumeOutcome::Consumed
            );
            assert_eq!(s.purge_expired(200).await.unwrap(), 2);
            assert!(s.token("old").await.unwrap().is_none());
            assert!(s.token("new").await.unwrap().is_some_and(|r| r.used));
            assert!(!s.session_seen("s-old").await.unwrap());
            assert!(s.session_seen("s-new").await.unwrap());
            s.close().await;
        });
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn database_values_map_to_urls() {
        assert_eq!(
            database_url("smartid.db").unwrap(),
            ("sqlite://smartid.db?mode=rwc".into(), Backend::Sqlite)
        );
        assert_eq!(
            database_url("/var/lib/smartid/db.sqlite").unwrap().0,
            "sqlite:///var/lib/smartid/db.sqlite?mode=rwc"
        );
        assert_eq!(
            database_url("sqlite://x.db").unwrap().0,
            "sqlite://x.db?mode=rwc"
        );
        assert_eq!(
            database_url("sqlite:x.db?mode=ro").unwrap().0,
            "sqlite://x.db?mode=ro"
        );
        assert_eq!(
            database_url("postgres://u@127.0.0.1/db").unwrap().1,
            Backend::Postgres
        );
        for bad in ["", "mysql://x", "sqlite:", "http://x"] {
            assert!(database_url(bad).is_err(), "{bad}");
        }
    }
}
