//! The guide's request fields, read from a JSON object with the guide's codes for what is wrong.

use serde_json::{Map, Value};

use super::Reply;
use crate::codes::ApiCode;

/// Longest accepted `User` (an e-mail address is at most 254 characters).
pub const MAX_USER_LEN: usize = 256;

/// `User`: required, a non-blank string (403 when null, missing or blank; 400 for another type, too long
/// or control characters).
pub fn user(req: &Map<String, Value>) -> Result<String, Reply> {
    match req.get("User") {
        None | Some(Value::Null) => Err(Reply::because(ApiCode::UserEmpty, "user_missing")),
        Some(Value::String(u)) => {
            // Control characters are refused wherever they are, before trimming: `trim` would remove a
            // leading tab or vertical tab and accept what the schema (and a log line) must not.
            if u.chars().any(char::is_control) {
                return Err(Reply::because(
                    ApiCode::BadRequest,
                    "user_control_characters",
                ));
            }
            let u = u.trim();
            if u.is_empty() {
                Err(Reply::because(ApiCode::UserEmpty, "user_empty"))
            } else if u.chars().count() > MAX_USER_LEN {
                Err(Reply::because(ApiCode::BadRequest, "user_too_long"))
            } else {
                Ok(u.to_string())
            }
        }
        Some(_) => Err(Reply::because(ApiCode::BadRequest, "user_not_a_string")),
    }
}

/// `Template` / `PayLoad`: required strings (412 when missing or empty; 400 for another JSON type).
pub fn sealed<'a>(req: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, Reply> {
    let (missing, wrong) = match name {
        "Template" => ("template_missing", "template_not_a_string"),
        _ => ("payload_missing", "payload_not_a_string"),
    };
    match req.get(name) {
        None | Some(Value::Null) => Err(Reply::because(ApiCode::TemplateFormat, missing)),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(Reply::because(ApiCode::TemplateFormat, missing))
        }
        Some(Value::String(s)) => Ok(s.trim()),
        Some(_) => Err(Reply::because(ApiCode::BadRequest, wrong)),
    }
}

/// `OverWrite`: optional; the guide sends the string `"true"`. `"true"`/`"false"` in any case and JSON
/// booleans are accepted; anything else is a 400 rather than a silent "no".
pub fn overwrite(req: &Map<String, Value>) -> Result<bool, Reply> {
    match req.get("OverWrite") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") || s.trim().is_empty() => {
            Ok(false)
        }
        Some(_) => Err(Reply::because(ApiCode::BadRequest, "overwrite_invalid")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn req(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn user_rules() {
        assert_eq!(user(&req(json!({"User": " a@b.c "}))).unwrap(), "a@b.c");
        for (v, code) in [
            (json!({}), 403),
            (json!({"User": null}), 403),
            (json!({"User": ""}), 403),
            (json!({"User": "   "}), 403),
            (json!({"User": 5}), 400),
            (json!({"User": ["a"]}), 400),
            (json!({"User": "a\u{0}b"}), 400),
            // Found by schemathesis: a control character trimmed away was accepted.
            (json!({"User": "\u{b}\u{a7}"}), 400),
            (json!({"User": "a\t"}), 400),
            (json!({"User": "\u{85}a"}), 400),
            (json!({"User": "x".repeat(257)}), 400),
        ] {
            assert_eq!(
                user(&req(v.clone())).unwrap_err().code.number(),
                code,
                "{v}"
            );
        }
    }

    #[test]
    fn overwrite_rules() {
        for (v, want) in [
            (json!({}), Some(false)),
            (json!({"OverWrite": "true"}), Some(true)),
            (json!({"OverWrite": "TRUE"}), Some(true)),
            (json!({"OverWrite": true}), Some(true)),
            (json!({"OverWrite": "false"}), Some(false)),
            (json!({"OverWrite": "yes"}), None),
            (json!({"OverWrite": 1}), None),
        ] {
            assert_eq!(overwrite(&req(v.clone())).ok(), want, "{v}");
        }
    }

    #[test]
    fn sealed_field_rules() {
        assert_eq!(
            sealed(&req(json!({"Template": "abc"})), "Template").unwrap(),
            "abc"
        );
        assert_eq!(
            sealed(&req(json!({})), "Template")
                .unwrap_err()
                .code
                .number(),
            412
        );
        assert_eq!(
            sealed(&req(json!({"PayLoad": ""})), "PayLoad")
                .unwrap_err()
                .code
                .number(),
            412
        );
        assert_eq!(
            sealed(&req(json!({"PayLoad": {}})), "PayLoad")
                .unwrap_err()
                .code
                .number(),
            400
        );
    }
}
