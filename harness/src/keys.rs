//! `smartid keygen` and `smartid open`.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use smartid_core::seal::{KeyPair, OpenPolicy, ServerKeyring, open_capture};

use crate::AnyResult;

/// Writes `<out>.pk` and `<out>.sk`. Refuses to replace anything at either path (a key, or a symlink
/// an attacker planted); the private key is written 0600 to a new temporary file in the same folder,
/// synced, then linked into place (which fails rather than overwrite), so no other user ever sees a
/// readable or half-written key.
pub fn keygen(key_id: &str, out: &Path) -> AnyResult {
    let pair = KeyPair::generate(key_id)?;
    let pk_path = out.with_extension("pk");
    let sk_path = out.with_extension("sk");
    for p in [&pk_path, &sk_path] {
        if p.symlink_metadata().is_ok() {
            return Err(format!("{} exists: refusing to overwrite it", p.display()).into());
        }
    }
    write_private(&sk_path, &pair.private_text())?;
    write_new(&pk_path, (pair.public().to_text() + "\n").as_bytes())?;
    println!("public key  (put in the app config): {}", pk_path.display());
    println!(
        "private key (server only, mode 0600): {}",
        sk_path.display()
    );
    Ok(())
}

/// A new file (never an existing one, never through a symlink).
fn write_new(path: &Path, bytes: &[u8]) -> AnyResult {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> AnyResult {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut suffix = [0u8; 8];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut suffix);
    let tmp = path.with_extension(format!("sk.tmp-{}", hex::encode(suffix)));
    let written = (|| -> AnyResult {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        // link(2) fails if anything (a file, a symlink) is at the destination: never an overwrite.
        std::fs::hard_link(&tmp, path)
            .map_err(|e| format!("{}: {e} (refusing to overwrite it)", path.display()))?;
        Ok(())
    })();
    let _ = std::fs::remove_file(&tmp);
    written
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> AnyResult {
    let mut line = zeroize::Zeroizing::new(String::with_capacity(text.len() + 1));
    line.push_str(text);
    line.push('\n');
    write_new(path, line.as_bytes())
}

/// A sealed string given inline or as `@file`; a file is read only up to the largest sealed text
/// the opener accepts (the opener refuses anything longer anyway).
fn arg_text(s: &str) -> AnyResult<String> {
    use std::io::Read;
    let Some(path) = s.strip_prefix('@') else {
        return Ok(s.trim().to_string());
    };
    let limit = smartid_core::seal::envelope::MAX_PAYLOAD_TEXT as u64 + 2;
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(|e| format!("{path}: {e}"))?
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{path}: {e}"))?;
    if text.len() as u64 > limit {
        return Err(format!("{path}: larger than a sealed capture can be").into());
    }
    Ok(text.trim().to_string())
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn open(key: &Path, template: &str, payload: &str) -> AnyResult {
    eprintln!(
        "smartid open is a DEBUGGING TOOL: it prints decrypted biometric metadata. Never use it on production data."
    );
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(key)?);
    let keyring = ServerKeyring::new().with(KeyPair::parse(&text)?);
    let opened = open_capture(
        &keyring,
        &arg_text(template)?,
        &arg_text(payload)?,
        now_unix(),
        &OpenPolicy::default(),
    )
    .map_err(|e| format!("refused ({}): {e}", e.http_code()))?;
    println!("key id:     {}", opened.key_id);
    println!("session id: {}", opened.session_id);
    println!(
        "template:   model {}, {} values, L2 norm {:.3}",
        opened.template.model_id(),
        opened.template.values().len(),
        opened
            .template
            .values()
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            .sqrt()
    );
    // The evidence frames are faces: listed, not printed.
    let mut payload = serde_json::to_value(&opened.payload)?;
    payload["evidence"] = opened
        .payload
        .evidence
        .iter()
        .map(|f| {
            serde_json::json!({
                "role": f.role, "challenge": f.challenge, "frame": f.frame, "t_ms": f.t_ms,
                "jpeg_bytes": f.jpeg.len(),
            })
        })
        .collect();
    println!("payload:\n{}", serde_json::to_string_pretty(&payload)?);
    Ok(())
}
