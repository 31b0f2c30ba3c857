//! `smartid-server`: run the reference enrollment server and manage its keys, channels and photos.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use smartid_core::seal::{KeyPair, OpenPolicy, ServerKeyring};
use smartid_server::at_rest::DataKeyring;
use smartid_server::channels::Channels;
use smartid_server::db::Store;
use smartid_server::photos::DbPhotoSource;
use smartid_server::{ServerConfig, logging, now_unix};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(
    name = "smartid-server",
    version,
    about = "SmartId reference enrollment server"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args)]
struct Storage {
    /// SQLite file path (created if absent), sqlite://… or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL", default_value = "smartid.db")]
    database: String,
    /// Data keys for encryption at rest (SIDDK1 lines; the first one encrypts).
    #[arg(long, env = "SMARTID_DATA_KEYS", default_value = "data.keys")]
    data_keys: PathBuf,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the API until SIGTERM or Ctrl-C (then finish in-flight requests and stop).
    Serve {
        #[arg(long, env = "SMARTID_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        storage: Storage,
        /// Server private keys (SIDSK1 lines, one per key id: old and new during a rotation).
        #[arg(long, env = "SMARTID_SERVER_KEYS", default_value = "server.sk")]
        server_keys: PathBuf,
        /// Channels: API key hashes and policies (TOML).
        #[arg(long, env = "SMARTID_CHANNELS", default_value = "channels.toml")]
        channels: PathBuf,
        /// Model folder or manifest file (accepted embedder; reference photos).
        #[arg(long, env = "SMARTID_MODELS")]
        models: Option<PathBuf>,
        /// Tolerated clock difference between phone and server, seconds.
        #[arg(long, env = "SMARTID_CLOCK_SKEW", default_value_t = 300)]
        clock_skew: u64,
        /// Longest accepted capture lifetime (expires_at - issued_at), seconds.
        #[arg(long, env = "SMARTID_MAX_LIFETIME", default_value_t = 3600)]
        max_lifetime: u64,
        /// Request body limit, bytes.
        #[arg(long, env = "SMARTID_MAX_BODY", default_value_t = smartid_server::DEFAULT_MAX_BODY)]
        max_body: usize,
        /// Database connections.
        #[arg(long, env = "SMARTID_DB_CONNECTIONS", default_value_t = 8)]
        db_connections: u32,
        /// Device attestation settings (TOML: [play_integrity], [app_attest]; docs/server.md).
        #[arg(long, env = "SMARTID_ATTESTATION")]
        attestation: Option<PathBuf>,
    },
    /// Create a server key pair, a data key and a channel with one API key in a new folder.
    Init {
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        #[arg(long, default_value = "server-key-1")]
        key_id: String,
        #[arg(long, default_value = "default")]
        channel: String,
    },
    /// Add an API key to a channel (created with the default policy if new); prints the key once.
    AddApiKey {
        #[arg(long, env = "SMARTID_CHANNELS", default_value = "channels.toml")]
        channels: PathBuf,
        #[arg(long)]
        channel: String,
    },
    /// Put a new data key first in the key file and re-encrypt every stored record with it.
    RotateDataKey {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        key_id: String,
    },
    /// Import the bank's reference photos: a CSV of `user,path` lines (path relative to the CSV).
    ImportPhotos {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        channel: String,
        #[arg(long)]
        csv: PathBuf,
    },
}

type AnyResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Serve {
            listen,
            storage,
            server_keys,
            channels,
            models,
            clock_skew,
            max_lifetime,
            max_body,
            db_connections,
            attestation,
        } => (|| -> AnyResult {
            let mut config = ServerConfig::new(
                &storage.database,
                read_server_keys(&server_keys)?,
                DataKeyring::from_file(&storage.data_keys)?,
                Channels::from_file(&channels)?,
                &models.unwrap_or_else(default_models),
            );
            config.listen = listen;
            config.open_policy = OpenPolicy {
                skew_secs: clock_skew,
                max_lifetime_secs: max_lifetime,
            };
            config.max_body_bytes = max_body;
            config.max_db_connections = db_connections;
            if let Some(path) = attestation {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                config.attestation =
                    std::sync::Arc::new(smartid_server::attestation::Verifiers::from_toml(&text)?);
            }
            runtime()?.block_on(smartid_server::serve(
                config,
                smartid_server::shutdown_signal(),
                |_| {},
            ))?;
            Ok(())
        })(),
        Cmd::Init {
            dir,
            key_id,
            channel,
        } => init(&dir, &key_id, &channel),
        Cmd::AddApiKey { channels, channel } => add_api_key(&channels, &channel),
        Cmd::RotateDataKey { storage, key_id } => rotate(&storage, &key_id),
        Cmd::ImportPhotos {
            storage,
            channel,
            csv,
        } => import_photos(&storage, &channel, &csv),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// The repo's models/ when run from a checkout, else ./models.
fn default_models() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    if repo.join("manifest.toml").exists() {
        repo
    } else {
        PathBuf::from("models")
    }
}

fn read_server_keys(path: &Path) -> AnyResult<ServerKeyring> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read server keys {}: {}", path.display(), e.kind()))?,
    );
    let mut ring = ServerKeyring::new();
    let mut n = 0;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        ring.add(KeyPair::parse(line)?);
        n += 1;
    }
    if n == 0 {
        return Err(format!("{}: no SIDSK1 key", path.display()).into());
    }
    Ok(ring)
}

/// Writes a secret file with mode 0600; never replaces an existing file or follows a symlink.
fn write_new_secret(path: &Path, text: &str) -> AnyResult {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("cannot create {}: {}", path.display(), e.kind()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Replaces a file atomically (temp file in the same folder, then rename), keeping it private.
fn replace_file(path: &Path, text: &str) -> AnyResult {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    write_new_secret(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn init(dir: &Path, key_id: &str, channel: &str) -> AnyResult {
    std::fs::create_dir_all(dir)?;
    let pair = KeyPair::generate(key_id)?;
    write_new_secret(
        &dir.join("server.sk"),
        &format!("{}\n", *pair.private_text()),
    )?;
    std::fs::write(dir.join("server.pk"), pair.public().to_text() + "\n")?;
    let data_key = DataKeyring::generate_line("data-key-1")?;
    write_new_secret(&dir.join("data.keys"), &format!("{}\n", *data_key))?;
    let mut channels = Channels::default();
    let api_key = channels.add_api_key(channel)?;
    write_new_secret(&dir.join("channels.toml"), &channels.to_toml()?)?;
    println!("created in {}:", dir.display());
    println!(
        "  server.pk      public key for the app config: {}",
        pair.public().to_text()
    );
    println!("  server.sk      server private key (0600)");
    println!("  data.keys      data key for encryption at rest (0600)");
    println!("  channels.toml  channel '{channel}' with one API key");
    println!("API key for channel '{channel}' (shown once; only its hash is stored):\n{api_key}");
    Ok(())
}

fn add_api_key(path: &Path, channel: &str) -> AnyResult {
    let mut channels = if path.exists() {
        Channels::from_file(path)?
    } else {
        Channels::default()
    };
    let key = channels.add_api_key(channel)?;
    replace_file(path, &channels.to_toml()?)?;
    println!("API key for channel '{channel}' (shown once; only its hash is stored):\n{key}");
    Ok(())
}

fn rotate(storage: &Storage, key_id: &str) -> AnyResult {
    let old = Zeroizing::new(std::fs::read_to_string(&storage.data_keys)?);
    DataKeyring::parse(&old)?;
    let line = DataKeyring::generate_line(key_id)?;
    let text = Zeroizing::new(format!("{}\n{}", *line, *old));
    let keys = DataKeyring::parse(&text)?;
    replace_file(&storage.data_keys, &text)?;
    let (templates, photos) = runtime()?.block_on(async {
        let store = Store::open(&storage.database, 2).await?;
        let r = smartid_server::reencrypt_all(&store, &keys).await;
        store.close().await;
        r
    })?;
    println!(
        "data key '{key_id}' is now first in {}; re-encrypted {templates} template(s) and {photos} photo(s).",
        storage.data_keys.display()
    );
    println!("Restart the server, then remove the old key lines once no server uses them.");
    Ok(())
}

fn import_photos(storage: &Storage, channel: &str, csv: &Path) -> AnyResult {
    if !smartid_server::channels::valid_channel_id(channel) {
        return Err("channel id must be 1 to 64 of [A-Za-z0-9._-]".into());
    }
    let keys = std::sync::Arc::new(DataKeyring::from_file(&storage.data_keys)?);
    let text = std::fs::read_to_string(csv)?;
    let base = csv.parent().unwrap_or(Path::new("."));
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, path)) = line.rsplit_once(',') else {
            return Err(format!("{}:{}: expected user,path", csv.display(), n + 1).into());
        };
        let user = user.trim();
        if user.is_empty() || user.chars().count() > smartid_server::api::MAX_USER_LEN {
            return Err(format!("{}:{}: invalid user", csv.display(), n + 1).into());
        }
        rows.push((user.to_string(), base.join(path.trim())));
    }
    let imported = runtime()?.block_on(async {
        let store = Store::open(&storage.database, 2).await?;
        let source = DbPhotoSource::new(store.clone(), keys);
        let mut imported = 0usize;
        for (i, (user, path)) in rows.iter().enumerate() {
            let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
                format!(
                    "line {}: cannot read {}: {}",
                    i + 1,
                    path.display(),
                    e.kind()
                )
            })?);
            source
                .import(channel, user, &bytes, now_unix())
                .await
                .map_err(|e| format!("line {}: {e}", i + 1))?;
            imported += 1;
        }
        store.close().await;
        Ok::<usize, Box<dyn std::error::Error>>(imported)
    })?;
    println!("imported {imported} reference photo(s) into channel '{channel}' (encrypted at rest)");
    Ok(())
}
