//! Opening a capture and holding it to the caller's channel policy. Everything the payload says is the
//! device's claim (the app holds no secret); these checks refuse captures that *admit* to being weaker
//! than the policy, replays, and templates from a model this server cannot compare.

use smartid_core::rasp::Decision;
use smartid_core::seal::{CaptureOpened, OpenError, open_capture};

use super::{AppState, Caller, Reply};
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

/// Opens and checks a capture; `Err` is the reply to send.
pub async fn capture(
    s: &AppState,
    caller: &Caller,
    template: &str,
    payload: &str,
    now: u64,
) -> Result<CaptureOpened, Reply> {
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
        Ok(false) => Ok(opened),
        Ok(true) => Err(Reply::because(ApiCode::TemplateValidation, "replayed")),
        Err(e) => Err(Reply::storage(&e)),
    }
}
