//! Opening a capture and holding it to the caller's channel policy.
//!
//! The payload's claims are the device's word (the app holds no secret). What the server checks for
//! itself, each by the channel's policy: the capture token it issued (this user, once, unexpired, its
//! challenges), the device attestation bound to this capture, and the evidence frames re-verified with
//! its own models. The result joins the reply as `Verification`.

use serde_json::{Value, json};
use smartid_core::rasp::Decision;
use smartid_core::seal::{CaptureOpened, OpenError, open_capture};
use smartid_core::verify::{VerifyConfig, reverify};

use super::{AppState, Caller, Reply};
use crate::attestation::{AttestationCheck, check_attestation};
use crate::channels::{AttestationPolicy, EvidencePolicy, TokenPolicy};
use crate::codes::{ApiCode, for_open_error};

/// A stable reason for each way a capture does not open.
fn open_reason(e: &OpenError) -> &'static str {
    match e {
        OpenError::Encoding => "not_base64url",
        OpenError::Malformed => "malformed",
        OpenError::WrongKind(_) => "wrong_kind",
        OpenError::UnknownVersion(_) => "unknown_version",
        OpenError::UnknownKeyId => "unknown_key_id",
        OpenError::BindingMismatch => "binding_mismatch",
        OpenError::DecryptionFailed => "decryption_failed",
        OpenError::TemplateFormat => "template_content",
        OpenError::PayloadFormat => "payload_content",
        OpenError::PayloadMismatch => "payload_mismatch",
        OpenError::IssuedInFuture => "issued_in_future",
        OpenError::TimestampInvalid => "timestamps_inconsistent",
        OpenError::Expired => "expired",
    }
}

/// A capture that passed every check of the channel's policy.
pub struct Checked {
    pub opened: CaptureOpened,
    /// The capture token's nonce (hex), to be used up in the transaction that acts on the capture.
    pub token: Option<String>,
    /// What the server verified itself (`Verification` in the reply).
    pub verification: Value,
}

/// Opens and checks a capture made for `user`; `Err` is the reply to send.
pub async fn capture(
    s: &AppState,
    caller: &Caller,
    user: &str,
    template: &str,
    payload: &str,
    now: u64,
) -> Result<Checked, Reply> {
    let opened = open_capture(&s.server_keys, template, payload, now, &s.open_policy)
        .map_err(|e| Reply::because(for_open_error(&e), open_reason(&e)))?;
    let t = &opened.template;
    let a = &s.accepted;
    if t.model_id() != a.id || t.metric() != a.metric || t.dim() != a.dim {
        return Err(Reply::because(
            ApiCode::TemplateValidation,
            "model_not_accepted",
        ));
    }
    let p = &opened.payload;
    let policy = &caller.channel.policy;
    if (p.test_mode || p.liveness.test_mode) && !policy.allow_test_mode {
        return Err(Reply::because(ApiCode::TemplateValidation, "test_mode"));
    }
    if !policy.liveness.accepts(p.liveness.mode) {
        return Err(Reply::because(
            ApiCode::TemplateValidation,
            "liveness_below_policy",
        ));
    }
    if p.environment.decision == Decision::Block {
        return Err(Reply::because(
            ApiCode::TemplateValidation,
            "environment_blocked",
        ));
    }
    // Fast refusal of a replay before any work; the transaction that uses the capture re-checks.
    match s.store.session_seen(&opened.session_id.to_hex()).await {
        Ok(false) => {}
        Ok(true) => return Err(Reply::because(ApiCode::TemplateValidation, "replayed")),
        Err(e) => return Err(Reply::storage(&e)),
    }
    let token = capture_token(s, caller, user, &opened, now).await?;
    let attestation = attestation(s, caller, &opened, now)?;
    let evidence = evidence(s, caller, &opened).await?;
    let verification = json!({
        "CaptureToken": if token.is_some() { "verified" } else { "none" },
        "Attestation": attestation,
        "Evidence": evidence,
    });
    Ok(Checked {
        opened,
        token,
        verification,
    })
}

/// The token the capture was made with: issued by this server, for this channel and user, unused,
/// unexpired, with the challenges the capture says it asked. The nonce to use up, if any.
async fn capture_token(
    s: &AppState,
    caller: &Caller,
    user: &str,
    opened: &CaptureOpened,
    now: u64,
) -> Result<Option<String>, Reply> {
    let refuse = |reason| Err(Reply::because(ApiCode::TemplateValidation, reason));
    let policy = caller.channel.policy.capture_token;
    let Some(nonce) = opened.token_nonce else {
        return match policy {
            TokenPolicy::Require => refuse("capture_token_required"),
            _ => Ok(None),
        };
    };
    if policy == TokenPolicy::Off {
        return refuse("capture_tokens_off");
    }
    let nonce = hex::encode(nonce);
    let record = s
        .store
        .token(&nonce)
        .await
        .map_err(|e| Reply::storage(&e))?;
    // Another channel's token reads as unknown: nothing leaks across channels.
    let Some(record) = record.filter(|r| r.channel == caller.channel.id) else {
        return refuse("capture_token_unknown");
    };
    if record.user != user {
        return refuse("capture_token_other_user");
    }
    if record.used {
        return refuse("capture_token_used");
    }
    if now > record.expires_at {
        return Err(Reply::because(
            ApiCode::TemplateExpired,
            "capture_token_expired",
        ));
    }
    // A capture that ran challenges must have run the token's; one that ran none (passive) is held
    // to the channel's liveness policy instead, and its frames to the anti-spoof model.
    let asked: Vec<&str> = opened
        .payload
        .liveness
        .challenges_asked
        .iter()
        .map(|k| k.name())
        .collect();
    let ran_challenges = opened.payload.liveness.mode.active();
    if ran_challenges && !record.challenges.is_empty() && record.challenges != asked.join(",") {
        return refuse("capture_token_challenges");
    }
    Ok(Some(nonce))
}

/// The device attestation, by the channel's policy: its report, or the refusal.
fn attestation(
    s: &AppState,
    caller: &Caller,
    opened: &CaptureOpened,
    now: u64,
) -> Result<Value, Reply> {
    let policy = caller.channel.policy.attestation;
    if policy == AttestationPolicy::Ignore {
        return Ok(json!("ignored"));
    }
    let check = check_attestation(
        s.attestation.as_ref(),
        opened.payload.environment.attestation.as_deref(),
        &opened.attestation_request_hash,
        now,
    );
    let report = check.report();
    match (&check, policy) {
        (AttestationCheck::Verified(_), _) | (_, AttestationPolicy::Report) => Ok(report),
        (AttestationCheck::Missing, _) => Err(Reply::because(
            ApiCode::TemplateValidation,
            "attestation_required",
        )
        .with("Verification", json!({ "Attestation": report }))),
        _ => Err(
            Reply::because(ApiCode::TemplateValidation, "attestation_failed")
                .with("Verification", json!({ "Attestation": report })),
        ),
    }
}

/// The evidence frames re-verified with the server's models, by the channel's policy.
async fn evidence(s: &AppState, caller: &Caller, opened: &CaptureOpened) -> Result<Value, Reply> {
    let policy = caller.channel.policy.evidence;
    if policy == EvidencePolicy::Off {
        return Ok(json!("off"));
    }
    let engine = s
        .matcher
        .engine()
        .map_err(|_| Reply::because(ApiCode::Internal, "models"))?;
    let template = opened.template.clone();
    let payload = opened.payload.clone();
    // A capture without frames fails verification (`no_evidence`) even when the policy only reports.
    let cfg = VerifyConfig::default();
    // At most one re-verification per core at a time: the models are CPU-bound, and a queue of
    // captures must not starve every other request.
    let _slot = s
        .reverify_slots
        .acquire()
        .await
        .map_err(|_| Reply::because(ApiCode::Internal, "reverification"))?;
    let verdict = tokio::task::spawn_blocking(move || reverify(&engine, &template, &payload, &cfg))
        .await
        .map_err(|_| Reply::because(ApiCode::Internal, "reverification"))?
        .map_err(|_| Reply::because(ApiCode::Internal, "reverification"))?;
    let reasons: Vec<&str> = verdict.reasons.iter().map(|r| r.name()).collect();
    let report = json!({
        "Passed": verdict.passed,
        "Reasons": reasons,
        "Frames": verdict.frames,
        "AntiSpoof": verdict.antispoof,
    });
    if policy == EvidencePolicy::Require && !verdict.passed {
        return Err(
            Reply::because(ApiCode::TemplateValidation, "reverification_failed")
                .with("Verification", json!({ "Evidence": report })),
        );
    }
    Ok(report)
}
