//! Response codes: the enrollment guide's codes (seed 000) plus the few a real HTTP service needs, and
//! how each travels.
//!
//! The code is always in the JSON body (`Code`). The HTTP status is a *standard* one chosen so that no
//! client or proxy acts on it by itself: answering HTTP 408 makes OkHttp silently send the request again,
//! 407 makes clients look for proxy credentials, 425 invites a retry of early data, 426 asks for a
//! protocol upgrade. docs/decisions/0004-server-response-codes.md has the table and the reasons.

use serde::Serialize;

/// A code a bank's backend can branch on. Numbers are stable (never renumbered, only added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "u16")]
pub enum ApiCode {
    /// 200: done (enrolled, un-enrolled, authenticated — see the body for the decision).
    Ok,
    /// 403: `User` missing, null, empty or blank.
    UserEmpty,
    /// 406: no enrollment for this user in the caller's channel.
    UserNotFound,
    /// 407: the capture did not verify (decryption, binding, replay, policy, duplicate face, photo).
    TemplateValidation,
    /// 408: the user is already enrolled and `OverWrite` was not `"true"`.
    AlreadyEnrolled,
    /// 410: the caller's channel has no enrollment record at all.
    ChannelNotFound,
    /// 412: `Template` or `PayLoad` missing or not a SmartId sealed capture.
    TemplateFormat,
    /// 425: issued in the future or inconsistent timestamps.
    TimestampInvalid,
    /// 426: the capture has expired.
    TemplateExpired,
    /// 500: internal error (database, storage key).
    Internal,
    /// 701: a service the server calls failed (the reference-photo source).
    ServiceCall,
    // Beyond the guide: what any HTTP API must answer.
    /// 400: the body is not a JSON object with the documented field types.
    BadRequest,
    /// 401: `X-Api-Key` missing or not a known key.
    Unauthorized,
    /// 404: no such endpoint.
    NoRoute,
    /// 405: wrong HTTP method for the endpoint.
    MethodNotAllowed,
    /// 413: body larger than the configured limit.
    BodyTooLarge,
    /// 415: the body is not declared as `application/json`.
    UnsupportedMediaType,
    /// 429: this API key's rate limit is exhausted; retry after the `Retry-After` seconds.
    RateLimited,
    /// 503: the server is shutting down or its database is unreachable.
    Unavailable,
}

impl ApiCode {
    pub fn number(self) -> u16 {
        match self {
            ApiCode::Ok => 200,
            ApiCode::UserEmpty => 403,
            ApiCode::UserNotFound => 406,
            ApiCode::TemplateValidation => 407,
            ApiCode::AlreadyEnrolled => 408,
            ApiCode::ChannelNotFound => 410,
            ApiCode::TemplateFormat => 412,
            ApiCode::TimestampInvalid => 425,
            ApiCode::TemplateExpired => 426,
            ApiCode::Internal => 500,
            ApiCode::ServiceCall => 701,
            ApiCode::BadRequest => 400,
            ApiCode::Unauthorized => 401,
            ApiCode::NoRoute => 404,
            ApiCode::MethodNotAllowed => 405,
            ApiCode::BodyTooLarge => 413,
            ApiCode::UnsupportedMediaType => 415,
            ApiCode::RateLimited => 429,
            ApiCode::Unavailable => 503,
        }
    }

    /// The HTTP status the code travels with: a standard status no client, proxy or load balancer
    /// retries or intercepts on its own.
    pub fn http_status(self) -> u16 {
        match self {
            ApiCode::Ok => 200,
            ApiCode::UserEmpty | ApiCode::BadRequest => 400,
            ApiCode::Unauthorized => 401,
            ApiCode::UserNotFound | ApiCode::ChannelNotFound | ApiCode::NoRoute => 404,
            ApiCode::MethodNotAllowed => 405,
            ApiCode::AlreadyEnrolled => 409,
            ApiCode::BodyTooLarge => 413,
            ApiCode::UnsupportedMediaType => 415,
            ApiCode::TemplateValidation
            | ApiCode::TemplateFormat
            | ApiCode::TimestampInvalid
            | ApiCode::TemplateExpired => 422,
            ApiCode::RateLimited => 429,
            ApiCode::Internal => 500,
            ApiCode::ServiceCall => 502,
            ApiCode::Unavailable => 503,
        }
    }

    /// The guide's wording where it has one.
    pub fn message(self) -> &'static str {
        match self {
            ApiCode::Ok => "OK",
            ApiCode::UserEmpty => "User cannot be null or empty",
            ApiCode::UserNotFound => "User not found",
            ApiCode::TemplateValidation => "Template validation failed",
            ApiCode::AlreadyEnrolled => "User already enrolled (send OverWrite=true to replace)",
            ApiCode::ChannelNotFound => "User channel not found",
            ApiCode::TemplateFormat => "Template format invalid",
            ApiCode::TimestampInvalid => "Timestamp invalid",
            ApiCode::TemplateExpired => "Template expired",
            ApiCode::Internal => "Internal error",
            ApiCode::ServiceCall => "Service call error",
            ApiCode::BadRequest => "Malformed request body",
            ApiCode::Unauthorized => "Missing or invalid X-Api-Key",
            ApiCode::NoRoute => "No such endpoint",
            ApiCode::MethodNotAllowed => "Method not allowed",
            ApiCode::BodyTooLarge => "Request body too large",
            ApiCode::UnsupportedMediaType => "Content-Type must be application/json",
            ApiCode::RateLimited => "Rate limit exceeded",
            ApiCode::Unavailable => "Service unavailable",
        }
    }

    /// Every code, for the docs test and the OpenAPI check.
    pub const ALL: [ApiCode; 19] = [
        ApiCode::Ok,
        ApiCode::UserEmpty,
        ApiCode::UserNotFound,
        ApiCode::TemplateValidation,
        ApiCode::AlreadyEnrolled,
        ApiCode::ChannelNotFound,
        ApiCode::TemplateFormat,
        ApiCode::TimestampInvalid,
        ApiCode::TemplateExpired,
        ApiCode::Internal,
        ApiCode::ServiceCall,
        ApiCode::BadRequest,
        ApiCode::Unauthorized,
        ApiCode::NoRoute,
        ApiCode::MethodNotAllowed,
        ApiCode::BodyTooLarge,
        ApiCode::UnsupportedMediaType,
        ApiCode::RateLimited,
        ApiCode::Unavailable,
    ];
}

impl From<ApiCode> for u16 {
    fn from(code: ApiCode) -> u16 {
        code.number()
    }
}

/// The guide's code for a capture that did not open.
pub fn for_open_error(e: &smartid_core::seal::OpenError) -> ApiCode {
    match e.http_code() {
        412 => ApiCode::TemplateFormat,
        425 => ApiCode::TimestampInvalid,
        426 => ApiCode::TemplateExpired,
        _ => ApiCode::TemplateValidation,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// No code travels as an HTTP status a client or proxy acts on by itself.
    #[test]
    fn no_code_travels_as_a_status_clients_act_on() {
        for code in ApiCode::ALL {
            let status = code.http_status();
            assert!(
                ![407, 408, 425, 426].contains(&status),
                "{code:?} travels as {status}"
            );
            assert!((200..600).contains(&status));
        }
    }

    #[test]
    fn numbers_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ApiCode::ALL {
            assert!(seen.insert(code.number()), "{code:?}");
        }
    }
}
