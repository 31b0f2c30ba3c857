//! App integrity: the signing certificate (Android) or code signature (iOS) the platform reports,
//! compared with the values the bank configured.

use super::signals::PlatformSignals;
use super::{Finding, Severity, Threat};

/// Lower-case hex without separators (`AB:CD:…` and `abcd…` compare equal).
fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub fn check(signals: &dyn PlatformSignals, expected: &[String]) -> Vec<Finding> {
    if expected.is_empty() {
        return Vec::new();
    }
    match signals.app_signature() {
        None => vec![Finding::new(
            Threat::AppTampered,
            Severity::High,
            "integrity.signature",
            "the platform supplied no app signature",
        )],
        Some(sig) => {
            let sig = normalise(&sig);
            if expected.iter().any(|e| normalise(e) == sig) {
                Vec::new()
            } else {
                vec![Finding::new(
                    Threat::AppTampered,
                    Severity::Critical,
                    "integrity.signature",
                    "app signature differs from the expected one",
                )]
            }
        }
    }
}
