//! `POST /api/kyc/enroll` `{User, Template, PayLoad, OverWrite}` (seed 000).

use serde_json::{Map, Value, json};
use smartid_core::seal::Template;

use super::{AppState, Caller, Reply, fields, verify};
use crate::at_rest::RowBinding;
use crate::channels::{DuplicatesPolicy, PhotoPolicy};
use crate::codes::ApiCode;
use crate::db::{EnrollOutcome, NewEnrollment};
use crate::photos::PhotoError;

pub async fn run(s: &AppState, caller: &Caller, req: &Map<String, Value>) -> Reply {
    match enroll(s, caller, req).await {
        Ok(r) | Err(r) => r,
    }
}

async fn enroll(s: &AppState, caller: &Caller, req: &Map<String, Value>) -> Result<Reply, Reply> {
    let user = fields::user(req)?;
    let template = fields::sealed(req, "Template")?;
    let payload = fields::sealed(req, "PayLoad")?;
    let overwrite = fields::overwrite(req)?;
    let now = crate::now_unix();
    let checked = verify::capture(s, caller, &user, template, payload, now).await?;
    let opened = &checked.opened;
    let channel = caller.channel.id.as_str();
    let policy = &caller.channel.policy;

    // Slow work first, outside the channel's lock: the photo source and the model.
    let photo = match policy.reference_photo {
        PhotoPolicy::Off => None,
        p => Some(reference_photo(s, channel, &user, &opened.template, p).await?),
    };
    let row = RowBinding::template(channel, &user);
    let sealed = s
        .data_keys
        .seal(&opened.template.to_bytes(), row)
        .map_err(|_| Reply::because(ApiCode::Internal, "data_key"))?;

    let lock = s.channel_lock(channel);
    let _one_at_a_time = lock.lock().await;

    let values = opened.template.values();
    let previous = match policy.duplicates {
        DuplicatesPolicy::Off => None,
        _ => {
            let threshold = policy.duplicate_threshold.unwrap_or(s.accepted.threshold);
            Some(
                s.index
                    .search(channel, values, s.accepted.metric, threshold, Some(&user)),
            )
        }
    };
    if policy.duplicates == DuplicatesPolicy::Refuse
        && let Some(users) = previous.as_ref().filter(|u| !u.is_empty())
    {
        return Err(
            Reply::because(ApiCode::TemplateValidation, "duplicate_face")
                .with("UserIDsOfPreviousRegistrants", json!(users)),
        );
    }

    let session_id = opened.session_id.to_hex();
    let outcome = s
        .store
        .enroll(
            &NewEnrollment {
                channel,
                user: &user,
                ciphertext: &sealed.text,
                data_key_id: &sealed.key_id,
                model_id: opened.template.model_id(),
                session_id: &session_id,
                session_expires_at: opened.payload.expires_at,
                token: checked.token.as_deref(),
                now,
            },
            overwrite,
        )
        .await
        .map_err(|e| Reply::storage(&e))?;
    match outcome {
        EnrollOutcome::Enrolled { replaced } => {
            s.index.upsert(channel, &user, values);
            let mut reply = Reply::new(ApiCode::Ok)
                .with("User", json!(user))
                .with("SessionId", json!(session_id))
                .with("Replaced", json!(replaced))
                .with("Verification", checked.verification);
            if let Some(users) = previous {
                reply = reply.with("UserIDsOfPreviousRegistrants", json!(users));
            }
            if let Some(p) = photo {
                reply = reply.with("ReferencePhoto", p);
            }
            Ok(reply)
        }
        EnrollOutcome::AlreadyEnrolled => {
            Err(Reply::because(ApiCode::AlreadyEnrolled, "already_enrolled"))
        }
        EnrollOutcome::Replayed => Err(Reply::because(ApiCode::TemplateValidation, "replayed")),
        EnrollOutcome::TokenUsed => Err(Reply::because(
            ApiCode::TemplateValidation,
            "capture_token_used",
        )),
    }
}

/// Longest wait for the reference-photo source (701 after it).
const PHOTO_SOURCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Compares the capture with the photo on file; the JSON to report, or the refusal.
pub(super) async fn reference_photo(
    s: &AppState,
    channel: &str,
    user: &str,
    template: &Template,
    policy: PhotoPolicy,
) -> Result<Value, Reply> {
    let require = policy == PhotoPolicy::Require;
    let fetched = tokio::time::timeout(PHOTO_SOURCE_TIMEOUT, s.photos.photo(channel, user))
        .await
        .unwrap_or_else(|_| Err(PhotoError::Source("timed out".into())));
    let image = match fetched {
        Ok(Some(image)) => image,
        Ok(None) if require => {
            return Err(Reply::because(
                ApiCode::TemplateValidation,
                "no_reference_photo",
            ));
        }
        Ok(None) => return Ok(json!({ "OnFile": false })),
        Err(e) => return Err(photo_error(&e)),
    };
    let matcher = s.matcher.clone();
    let embedded = tokio::task::spawn_blocking(move || matcher.embed(&image))
        .await
        .map_err(|_| Reply::because(ApiCode::Internal, "reference_photo"))?;
    let reference = match embedded {
        Ok(t) => t,
        Err(PhotoError::Unusable(_)) if require => {
            return Err(Reply::because(
                ApiCode::TemplateValidation,
                "reference_photo_unusable",
            ));
        }
        Err(PhotoError::Unusable(_)) => return Ok(json!({ "OnFile": true, "Usable": false })),
        Err(e) => return Err(photo_error(&e)),
    };
    let score = template
        .compare(&reference)
        .map_err(|_| Reply::because(ApiCode::Internal, "reference_photo_model"))?;
    let matched = s.accepted.metric.is_match(score, s.accepted.threshold);
    let report = json!({
        "OnFile": true,
        "Usable": true,
        "Match": matched,
        "Score": score,
        "Threshold": s.accepted.threshold,
        "Metric": s.accepted.metric.name(),
    });
    if require && !matched {
        return Err(
            Reply::because(ApiCode::TemplateValidation, "reference_photo_mismatch")
                .with("ReferencePhoto", report),
        );
    }
    Ok(report)
}

fn photo_error(e: &PhotoError) -> Reply {
    crate::logging::event(
        log::Level::Error,
        "reference_photo_error",
        super::obj(json!({ "error": e.to_string() })),
    );
    match e {
        PhotoError::Models(_) => Reply::because(ApiCode::Internal, "models"),
        PhotoError::Internal(_) => Reply::because(ApiCode::Internal, "reference_photo_storage"),
        _ => Reply::because(ApiCode::ServiceCall, "reference_photo_source"),
    }
}
