//! Location supplied by the platform, checked against the bank's policy. Coordinates never appear in
//! findings: they are personal data.

use serde::{Deserialize, Serialize};

use super::signals::PlatformSignals;
use super::{Finding, Severity, Threat};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    /// Radius of 68% confidence, metres.
    pub accuracy_m: f64,
    /// The OS flags the fix as coming from a mock provider.
    pub mock: bool,
}

/// A latitude/longitude rectangle (e.g. a country's bounding box).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub name: String,
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

impl Region {
    pub fn contains(&self, l: &Location) -> bool {
        (self.min_lat..=self.max_lat).contains(&l.latitude)
            && (self.min_lon..=self.max_lon).contains(&l.longitude)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocationPolicy {
    /// A capture without a location is a finding.
    pub required: bool,
    /// Fixes less accurate than this (metres) are a finding.
    pub max_accuracy_m: Option<f64>,
    /// When non-empty, the location must fall in one of these.
    pub allowed_regions: Vec<Region>,
}

pub fn check(signals: &dyn PlatformSignals, policy: &LocationPolicy) -> Vec<Finding> {
    let mut out = Vec::new();
    let f = |sev, check: &str, ev: &str| Finding::new(Threat::LocationPolicy, sev, check, ev);
    match signals.location() {
        None => {
            if policy.required {
                out.push(f(
                    Severity::High,
                    "location.missing",
                    "no location was supplied",
                ));
            }
        }
        Some(l) => {
            if l.mock {
                out.push(Finding::new(
                    Threat::MockLocation,
                    Severity::Critical,
                    "location.mock",
                    "the OS flags the location as mocked",
                ));
            }
            let valid = l.latitude.is_finite()
                && l.longitude.is_finite()
                && (-90.0..=90.0).contains(&l.latitude)
                && (-180.0..=180.0).contains(&l.longitude)
                && l.accuracy_m.is_finite()
                && l.accuracy_m >= 0.0;
            if !valid {
                out.push(f(
                    Severity::High,
                    "location.invalid",
                    "coordinates are out of range",
                ));
                return out;
            }
            if let Some(max) = policy.max_accuracy_m
                && l.accuracy_m > max
            {
                out.push(f(
                    Severity::Medium,
                    "location.accuracy",
                    "location is less accurate than the policy allows",
                ));
            }
            if !policy.allowed_regions.is_empty()
                && !policy.allowed_regions.iter().any(|r| r.contains(&l))
            {
                out.push(f(
                    Severity::High,
                    "location.region",
                    "location is outside the allowed regions",
                ));
            }
        }
    }
    out
}
