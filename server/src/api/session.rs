//! `POST /api/kyc/session` `{User}`: a one-time capture token for one user of the caller's channel.
//!
//! The bank's backend asks for it when its app is about to capture and hands the token text to the
//! app, which passes it to the SDK (`captureToken`). The server draws the challenges (CSPRNG), so a
//! clip prepared in advance does not know them; the capture that carries the token is accepted once,
//! for this user, before `ExpiresAt`.

use rand::RngExt as _;
use serde_json::{Map, Value, json};
use smartid_core::liveness::active::ChallengeKind;
use smartid_core::seal::CaptureToken;

use super::{AppState, Caller, Reply, fields};
use crate::channels::TokenPolicy;
use crate::codes::ApiCode;

pub async fn run(s: &AppState, caller: &Caller, req: &Map<String, Value>) -> Reply {
    match issue(s, caller, req).await {
        Ok(r) | Err(r) => r,
    }
}

/// `n` challenges drawn with the system CSPRNG, no two in a row the same.
fn draw(n: u32) -> Vec<ChallengeKind> {
    let mut rng = rand::rng();
    let mut out: Vec<ChallengeKind> = Vec::with_capacity(n as usize);
    while out.len() < n as usize {
        let k = ChallengeKind::ALL[rng.random_range(0..ChallengeKind::ALL.len())];
        if out.last() != Some(&k) {
            out.push(k);
        }
    }
    out
}

async fn issue(s: &AppState, caller: &Caller, req: &Map<String, Value>) -> Result<Reply, Reply> {
    let policy = &caller.channel.policy;
    if policy.capture_token == TokenPolicy::Off {
        return Err(Reply::because(ApiCode::BadRequest, "capture_tokens_off"));
    }
    let user = fields::user(req)?;
    let now = crate::now_unix();
    let mut nonce = [0u8; 16];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
    let token = CaptureToken {
        nonce,
        expires_at: now.saturating_add(policy.token_ttl_secs),
        challenges: draw(policy.token_challenges),
    };
    let text = token
        .to_text()
        .map_err(|_| Reply::because(ApiCode::Internal, "capture_token"))?;
    let names: Vec<&str> = token.challenges.iter().map(|k| k.name()).collect();
    s.store
        .issue_token(
            &token.nonce_hex(),
            &caller.channel.id,
            &user,
            &names.join(","),
            now,
            token.expires_at,
        )
        .await
        .map_err(|e| Reply::storage(&e))?;
    Ok(Reply::new(ApiCode::Ok)
        .with("User", json!(user))
        .with("CaptureToken", json!(text))
        .with("ExpiresAt", json!(token.expires_at))
        .with("Challenges", json!(names)))
}
