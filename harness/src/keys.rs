//! `smartid keygen` and `smartid open`.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use smartid_core::seal::{KeyPair, OpenPolicy, ServerKeyring, open_capture};

use crate::AnyResult;

pub fn keygen(key_id: &str, out: &Path) -> AnyResult {
    let pair = KeyPair::generate(key_id)?;
    let pk_path = out.with_extension("pk");
    let sk_path = out.with_extension("sk");
    std::fs::write(&pk_path, pair.public().to_text() + "\n")?;
    write_private(&sk_path, &pair.private_text())?;
    println!("public key  (put in the app config): {}", pk_path.display());
    println!(
        "private key (server only, mode 0600): {}",
        sk_path.display()
    );
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> AnyResult {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> AnyResult {
    Ok(std::fs::write(path, format!("{text}\n"))?)
}

fn arg_text(s: &str) -> AnyResult<String> {
    match s.strip_prefix('@') {
        Some(path) => Ok(std::fs::read_to_string(path)?.trim().to_string()),
        None => Ok(s.trim().to_string()),
    }
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
