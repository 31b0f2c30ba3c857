//! `POST /api/kyc/authenticate` `{User, Template, PayLoad}`: a new capture against the enrolled template
//! (Smile ID's SmartSelfie authentication). 200 carries the decision, the score and the threshold; the
//! capture is used up whatever the decision, so a rejected face cannot be retried with the same capture.

use serde_json::{Map, Value, json};
use smartid_core::seal::Template;

use super::{AppState, Caller, Reply, fields, verify};
use crate::at_rest::RowBinding;
use crate::codes::ApiCode;
use crate::db::ConsumeOutcome;

pub async fn run(s: &AppState, caller: &Caller, req: &Map<String, Value>) -> Reply {
    match authenticate(s, caller, req).await {
        Ok(r) | Err(r) => r,
    }
}

async fn authenticate(
    s: &AppState,
    caller: &Caller,
    req: &Map<String, Value>,
) -> Result<Reply, Reply> {
    let user = fields::user(req)?;
    let template = fields::sealed(req, "Template")?;
    let payload = fields::sealed(req, "PayLoad")?;
    let now = crate::now_unix();
    let checked = verify::capture(s, caller, &user, template, payload, now).await?;
    let opened = &checked.opened;
    let channel = caller.channel.id.as_str();

    let stored = s
        .store
        .enrollment(channel, &user)
        .await
        .map_err(|e| Reply::storage(&e))?;
    let Some(stored) = stored else {
        let exists = s
            .store
            .channel_exists(channel)
            .await
            .map_err(|e| Reply::storage(&e))?;
        return Err(if exists {
            Reply::because(ApiCode::UserNotFound, "not_enrolled")
        } else {
            Reply::because(ApiCode::ChannelNotFound, "channel_has_no_enrollments")
        });
    };
    let row = RowBinding::template(channel, &user);
    let plain = s
        .data_keys
        .open(&stored.data_key_id, &stored.ciphertext, row)
        .map_err(|_| Reply::because(ApiCode::Internal, "stored_template"))?;
    let enrolled = Template::from_bytes(&plain)
        .map_err(|_| Reply::because(ApiCode::Internal, "stored_template"))?;
    let score = match opened.template.compare(&enrolled) {
        Ok(score) => score,
        // Enrolled with a model this server no longer accepts: re-enroll the user.
        Err(_) => {
            return Err(Reply::because(
                ApiCode::TemplateValidation,
                "enrolled_with_another_model",
            ));
        }
    };
    let session_id = opened.session_id.to_hex();
    let token = checked.token.as_deref().map(|t| (t, user.as_str()));
    let outcome = s
        .store
        .consume_capture(&session_id, channel, opened.payload.expires_at, token, now)
        .await
        .map_err(|e| Reply::storage(&e))?;
    match outcome {
        ConsumeOutcome::Consumed => {}
        ConsumeOutcome::Replayed => {
            return Err(Reply::because(ApiCode::TemplateValidation, "replayed"));
        }
        ConsumeOutcome::TokenUsed => {
            return Err(Reply::because(
                ApiCode::TemplateValidation,
                "capture_token_used",
            ));
        }
    }
    let a = &s.accepted;
    Ok(Reply::new(ApiCode::Ok)
        .with("User", json!(user))
        .with("SessionId", json!(session_id))
        .with(
            "Authenticated",
            json!(a.metric.is_match(score, a.threshold)),
        )
        .with("Score", json!(score))
        .with("Threshold", json!(a.threshold))
        .with("Metric", json!(a.metric.name()))
        .with("Verification", checked.verification))
}
