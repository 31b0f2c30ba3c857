//! RASP: is the device and its environment trustworthy enough to capture a face on?
//!
//! Every check is offline and synchronous, reads files through an injectable root (so tests point it at
//! fixture trees), and records what it saw as a [`Finding`]. A [`RaspPolicy`] says per threat whether
//! to block the capture, only report it, or ignore it; the whole [`EnvironmentReport`] goes sealed into
//! the payload so the bank's server decides with the evidence.

pub mod debugger;
#[cfg(any(target_os = "linux", target_os = "android", test))]
mod elf;
pub mod emulator;
pub mod hooking;
pub mod integrity;
mod interpose;
pub mod location;
mod maps;
mod memscan;
pub mod network;
mod ports;
pub mod root;
pub mod signals;
mod sockdiag;
mod sys;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use location::{Location, LocationPolicy, Region};
pub use signals::{BuildProperty, DesktopSignals, PlatformSignals, StaticSignals};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threat {
    /// A debugger or tracer is attached.
    Debugger,
    /// Instrumentation (Frida, Substrate, Xposed) is in the process.
    Hooking,
    /// The device is rooted or jailbroken.
    Root,
    /// The system partition is mounted writable.
    WritableSystem,
    /// An emulator, simulator or virtual machine.
    Emulator,
    Vpn,
    Proxy,
    /// The OS says the location is mocked.
    MockLocation,
    /// The location breaks the configured policy (missing, inaccurate, outside the allowed regions).
    LocationPolicy,
    /// The app's signature differs from the expected one, or the platform reports a repackaged build
    /// (a debuggable release).
    AppTampered,
    /// Device settings that weaken it without being an attack: developer options or ADB enabled, the
    /// app installed from outside a trusted store. Reported by default: many genuine users have them.
    DeviceSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Block,
    Report,
    Ignore,
}

impl Action {
    fn report() -> Self {
        Action::Report
    }
}

/// One thing a check saw. `evidence` names files, properties or interfaces, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    pub threat: Threat,
    pub severity: Severity,
    /// Which check produced it (`debugger.tracer_pid`, `hooking.maps`, …).
    pub check: String,
    pub evidence: String,
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// A check that could not run in this process or on this platform (a file the OS does not let an app
/// read, a facility the platform lacks): a server never reads its silence as a clean result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SkippedCheck {
    /// The check that did not run (`hooking.frida_port`, `root.magisk`, …).
    pub check: String,
    /// Why, naming paths or facilities, never personal data.
    pub reason: String,
}

impl SkippedCheck {
    /// Bounded like [`Finding::new`] (Payload::validate accepts 256 bytes per string).
    pub fn new(check: &str, reason: impl Into<String>) -> Self {
        Self {
            check: bounded(check.into(), 128),
            reason: bounded(reason.into(), 256),
        }
    }
}

/// At most this many skipped checks go into a report (Payload::validate accepts 32).
pub const MAX_SKIPPED: usize = 32;

/// Sorts, dedups and bounds a list of skipped checks.
fn normalise_skipped(skipped: &mut Vec<SkippedCheck>) {
    skipped.sort();
    skipped.dedup();
    skipped.truncate(MAX_SKIPPED);
}

impl Finding {
    pub fn new(
        threat: Threat,
        severity: Severity,
        check: &str,
        evidence: impl Into<String>,
    ) -> Self {
        // Bounded, so a payload never carries more than an opener accepts (Payload::validate: 256 and
        // 1024 bytes); evidence can come from the app (instrumentation names) or the system (paths).
        Self {
            threat,
            severity,
            check: bounded(check.into(), 128),
            evidence: bounded(evidence.into(), 512),
        }
    }
}

/// The platform whose checks run. Detected from the build target by default; tests set it to check
/// Android or iOS fixture trees on a Linux host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Android,
    Ios,
    Linux,
    Macos,
    Other,
}

impl Platform {
    pub fn current() -> Self {
        if cfg!(target_os = "android") {
            Self::Android
        } else if cfg!(target_os = "ios") {
            Self::Ios
        } else if cfg!(target_os = "linux") {
            Self::Linux
        } else if cfg!(target_os = "macos") {
            Self::Macos
        } else {
            Self::Other
        }
    }

    pub fn is_mobile(self) -> bool {
        matches!(self, Self::Android | Self::Ios)
    }

    /// /proc exists (Linux kernels).
    fn has_procfs(self) -> bool {
        matches!(self, Self::Android | Self::Linux)
    }
}

/// Where the checks read files: `/` on a device, a fixture tree in tests.
///
/// On the system root, files are read with raw system calls (`sys`): an `LD_PRELOAD` shim or a hook on
/// libc's `open`/`read` does not see or rewrite what the checks read. Fixture trees use `std::fs`.
#[derive(Debug, Clone)]
pub struct FsRoot(PathBuf);

/// Why a file could not be read or a path could not be looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// It does not exist.
    Absent,
    /// The process may not look (a directory it cannot search, a file it cannot open, SELinux).
    Denied,
    /// Some other error.
    Failed,
}

impl Unreadable {
    fn from_errno(e: sys::Errno) -> Self {
        if e.is_absent() {
            Self::Absent
        } else if e == sys::Errno::EACCES || e == sys::Errno::EPERM {
            Self::Denied
        } else {
            Self::Failed
        }
    }

    fn from_io(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => Self::Absent,
            std::io::ErrorKind::PermissionDenied => Self::Denied,
            _ => Self::Failed,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Denied => "permission denied",
            Self::Failed => "unreadable",
        }
    }
}

impl FsRoot {
    pub fn system() -> Self {
        Self(PathBuf::from("/"))
    }

    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self(dir.into())
    }

    pub fn is_system(&self) -> bool {
        self.0 == Path::new("/")
    }

    /// `abs` is an absolute device path like `/proc/self/status`.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.0.join(abs.trim_start_matches('/'))
    }

    /// Reads a small text file; `None` when absent or unreadable (a check then sees nothing).
    pub fn read(&self, abs: &str) -> Option<String> {
        self.read_checked(abs).ok()
    }

    /// Reads a text file (at most 16 MiB), saying why not when it cannot.
    pub fn read_checked(&self, abs: &str) -> Result<String, Unreadable> {
        let bytes = if self.is_system() {
            sys::read_file(abs, sys::MAX_FILE).map_err(Unreadable::from_errno)?
        } else {
            std::fs::read(self.path(abs)).map_err(|e| Unreadable::from_io(&e))?
        };
        Ok(String::from_utf8_lossy(&bytes[..bytes.len().min(sys::MAX_FILE)]).into_owned())
    }

    pub fn exists(&self, abs: &str) -> bool {
        self.probe(abs) == Ok(true)
    }

    /// Whether `abs` exists: `Ok(true)`/`Ok(false)`, or why the process could not tell.
    pub fn probe(&self, abs: &str) -> Result<bool, Unreadable> {
        if self.is_system() {
            return sys::exists(abs).map_err(Unreadable::from_errno);
        }
        match std::fs::symlink_metadata(self.path(abs)) {
            Ok(_) => Ok(true),
            Err(e) => match Unreadable::from_io(&e) {
                Unreadable::Absent => Ok(false),
                other => Err(other),
            },
        }
    }

    pub fn list(&self, abs: &str) -> Vec<String> {
        self.list_checked(abs).unwrap_or_default()
    }

    /// The sorted names in a directory, or why it cannot be listed.
    pub fn list_checked(&self, abs: &str) -> Result<Vec<String>, Unreadable> {
        if self.is_system() {
            return sys::list_dir(abs).map_err(Unreadable::from_errno);
        }
        let d = std::fs::read_dir(self.path(abs)).map_err(|e| Unreadable::from_io(&e))?;
        let mut v: Vec<String> = d
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        v.sort();
        Ok(v)
    }

    /// Probes each path for check `check`: the ones present, and a [`SkippedCheck`] naming the
    /// directories of the ones the process could not look at (`/data/adb` from an Android app).
    fn probe_all<'a>(
        &self,
        check: &str,
        paths: &[&'a str],
        skipped: &mut Vec<SkippedCheck>,
    ) -> Vec<&'a str> {
        let mut present = Vec::new();
        let mut hidden: Vec<&str> = Vec::new();
        for p in paths {
            match self.probe(p) {
                Ok(true) => present.push(*p),
                Ok(false) => {}
                Err(_) => {
                    let dir = p.rsplit_once('/').map_or(*p, |(d, _)| d);
                    let dir = if dir.is_empty() { "/" } else { dir };
                    if !hidden.contains(&dir) {
                        hidden.push(dir);
                    }
                }
            }
        }
        if !hidden.is_empty() {
            skipped.push(SkippedCheck::new(
                check,
                format!("not accessible to this process: {}", hidden.join(", ")),
            ));
        }
        present
    }
}

/// Per-threat decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaspPolicy {
    pub debugger: Action,
    pub hooking: Action,
    pub root: Action,
    pub writable_system: Action,
    pub emulator: Action,
    pub vpn: Action,
    pub proxy: Action,
    pub mock_location: Action,
    pub location_policy: Action,
    pub app_tampered: Action,
    /// Absent in policies written before it existed: reported.
    #[serde(default = "Action::report")]
    pub device_settings: Action,
}

impl RaspPolicy {
    /// A bank's phone app: block what lets an attacker inject frames or read memory; report network
    /// facts (VPNs are common and legitimate) and let the server weigh them.
    pub fn mobile() -> Self {
        Self {
            debugger: Action::Block,
            hooking: Action::Block,
            root: Action::Block,
            writable_system: Action::Block,
            emulator: Action::Block,
            vpn: Action::Report,
            proxy: Action::Report,
            mock_location: Action::Block,
            location_policy: Action::Report,
            app_tampered: Action::Block,
            device_settings: Action::Report,
        }
    }

    /// The desktop harness is a test bench: everything is reported, nothing blocks.
    pub fn desktop() -> Self {
        Self {
            debugger: Action::Report,
            hooking: Action::Report,
            root: Action::Report,
            writable_system: Action::Report,
            emulator: Action::Report,
            vpn: Action::Report,
            proxy: Action::Report,
            mock_location: Action::Report,
            location_policy: Action::Report,
            app_tampered: Action::Report,
            device_settings: Action::Report,
        }
    }

    pub fn for_platform(p: Platform) -> Self {
        if p.is_mobile() {
            Self::mobile()
        } else {
            Self::desktop()
        }
    }

    /// Replaces one threat's action.
    pub fn set_action(&mut self, t: Threat, action: Action) {
        let slot = match t {
            Threat::Debugger => &mut self.debugger,
            Threat::Hooking => &mut self.hooking,
            Threat::Root => &mut self.root,
            Threat::WritableSystem => &mut self.writable_system,
            Threat::Emulator => &mut self.emulator,
            Threat::Vpn => &mut self.vpn,
            Threat::Proxy => &mut self.proxy,
            Threat::MockLocation => &mut self.mock_location,
            Threat::LocationPolicy => &mut self.location_policy,
            Threat::AppTampered => &mut self.app_tampered,
            Threat::DeviceSettings => &mut self.device_settings,
        };
        *slot = action;
    }

    pub fn action(&self, t: Threat) -> Action {
        match t {
            Threat::Debugger => self.debugger,
            Threat::Hooking => self.hooking,
            Threat::Root => self.root,
            Threat::WritableSystem => self.writable_system,
            Threat::Emulator => self.emulator,
            Threat::Vpn => self.vpn,
            Threat::Proxy => self.proxy,
            Threat::MockLocation => self.mock_location,
            Threat::LocationPolicy => self.location_policy,
            Threat::AppTampered => self.app_tampered,
            Threat::DeviceSettings => self.device_settings,
        }
    }
}

/// What the checks need beyond the policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaspConfig {
    pub location: LocationPolicy,
    /// Accepted app signatures (sha256 hex of the signing certificate or bundle); empty = not checked.
    pub expected_signatures: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Block,
}

/// The result of the checks. Deterministic: findings sorted, times on the session's frame clock, so
/// equal environments and frames give byte-identical JSON in the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentReport {
    pub platform: Platform,
    pub decision: Decision,
    /// Threats whose policy is `block` and that were found.
    pub blocking: Vec<Threat>,
    /// Findings whose policy is `block` or `report`, over every run.
    pub findings: Vec<Finding>,
    /// Checks that could not run here (at most [`MAX_SKIPPED`], sorted): absent from a clean result is
    /// "looked and saw nothing", listed here is "could not look".
    #[serde(default)]
    pub skipped: Vec<SkippedCheck>,
    /// Attestation token from the platform (Play Integrity / App Attest), for the server to verify.
    pub attestation: Option<String>,
    /// When the checks ran in the session (start, during the capture, before sealing).
    #[serde(default)]
    pub runs: Vec<CheckRun>,
    /// The policy the device applied: a server sees a threat the app chose to ignore or only report.
    #[serde(default)]
    pub policy: Option<RaspPolicy>,
}

/// The moment of a capture at which the checks ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckPhase {
    /// Before the first frame (`CaptureSession::new`).
    Start,
    /// During the capture, at unpredictable moments and at every step change.
    Capture,
    /// Just before the result is sealed.
    Seal,
}

/// One run of the checks within a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRun {
    pub phase: CheckPhase,
    /// Session time in ms (frame clock, 0 = first frame) when the checks ran.
    pub at_ms: u64,
    pub decision: Decision,
    /// Findings this run saw (after the policy).
    pub findings: u32,
}

impl EnvironmentReport {
    /// Folds a later run into this report: findings and blocking threats accumulate (a threat seen
    /// once stays on record), the decision is the worst seen, the newest attestation token wins.
    pub fn merge(&mut self, later: EnvironmentReport, run: CheckRun) {
        self.findings.extend(later.findings);
        self.findings.sort();
        self.findings.dedup();
        self.skipped.extend(later.skipped);
        normalise_skipped(&mut self.skipped);
        self.blocking.extend(later.blocking);
        self.blocking.sort();
        self.blocking.dedup();
        if later.decision == Decision::Block {
            self.decision = Decision::Block;
        }
        if later.attestation.is_some() {
            self.attestation = later.attestation;
        }
        self.runs.push(run);
    }

    /// The blocking threats as text for an error message (`hooking, debugger`).
    pub fn blocking_names(&self) -> String {
        self.blocking
            .iter()
            .map(|t| {
                serde_json::to_value(t)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Everything the checks need, owned by a capture session so it can run them itself: at the start,
/// during the capture and before sealing. A caller cannot hand a session a report it made up.
#[derive(Clone)]
pub struct EnvironmentChecks {
    root: FsRoot,
    platform: Platform,
    signals: Arc<dyn PlatformSignals>,
    policy: RaspPolicy,
    config: RaspConfig,
}

impl std::fmt::Debug for EnvironmentChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvironmentChecks")
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

impl EnvironmentChecks {
    /// This device's files and platform, with the platform layer's signals.
    pub fn new(signals: Arc<dyn PlatformSignals>, policy: RaspPolicy, config: RaspConfig) -> Self {
        Self {
            root: FsRoot::system(),
            platform: Platform::current(),
            signals,
            policy,
            config,
        }
    }

    /// The default policy of this platform (mobile: block; desktop: report).
    pub fn for_this_platform(signals: Arc<dyn PlatformSignals>) -> Self {
        Self::new(
            signals,
            RaspPolicy::for_platform(Platform::current()),
            RaspConfig::default(),
        )
    }

    /// Checks a fixture tree as if it were `platform` (tests, `smartid env --root`).
    pub fn with_root(mut self, root: FsRoot, platform: Platform) -> Self {
        self.root = root;
        self.platform = platform;
        self
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// Runs every check once.
    pub fn run(&self) -> EnvironmentReport {
        run_checks(
            &self.root,
            self.platform,
            self.signals.as_ref(),
            &self.policy,
            &self.config,
        )
    }

    /// One run split in two: the platform layer's answers, asked now on this thread (apps write their
    /// `PlatformSignals` for the capture thread, and an iOS one hops to the main thread), and the
    /// checks on them, which may then run on any thread ([`PreparedRun::run`]): the session's worker
    /// during a capture, where reading `/proc` and the loaded images costs no camera frame.
    #[cfg(feature = "capture")]
    pub(crate) fn prepare(self: &Arc<Self>) -> PreparedRun {
        let s = self.signals.as_ref();
        // Exactly what `run_checks` asks: properties on Android only, the signature only when the
        // config expects one; never the attestation (asked while sealing).
        let answers = StaticSignals {
            build_properties: if self.platform == Platform::Android {
                s.build_properties()
            } else {
                Vec::new()
            },
            instrumentation: s.instrumentation(),
            location: s.location(),
            vpn_active: s.vpn_active(),
            proxy: s.proxy(),
            app_signature: if self.config.expected_signatures.is_empty() {
                None
            } else {
                s.app_signature()
            },
            attestation_token: None,
        };
        PreparedRun {
            checks: self.clone(),
            answers,
        }
    }

    /// Asks the platform for an attestation bound to `request_hash`: once per capture, while sealing
    /// (`seal::envelope::attestation_request_hash`).
    pub fn attest(&self, request_hash: &[u8; 32]) -> Option<String> {
        self.signals.attestation_token(request_hash)
    }
}

/// A check run whose platform answers were gathered on the thread that asked for it
/// ([`EnvironmentChecks::prepare`]).
#[cfg(feature = "capture")]
pub(crate) struct PreparedRun {
    checks: Arc<EnvironmentChecks>,
    answers: StaticSignals,
}

#[cfg(feature = "capture")]
impl PreparedRun {
    /// Runs every check on the gathered answers: the same report as [`EnvironmentChecks::run`] then.
    pub(crate) fn run(&self) -> EnvironmentReport {
        let c = &self.checks;
        run_checks(&c.root, c.platform, &self.answers, &c.policy, &c.config)
    }
}

/// Runs every check and applies the policy: a one-off report (the harness's `smartid env`; an
/// attestation needs a capture to bind to, so there is none). Returns the report and how long the
/// checks took.
pub fn check_environment(
    root: &FsRoot,
    platform: Platform,
    signals: &dyn PlatformSignals,
    policy: &RaspPolicy,
    config: &RaspConfig,
) -> (EnvironmentReport, std::time::Duration) {
    let start = Instant::now();
    let report = run_checks(root, platform, signals, policy, config);
    (report, start.elapsed())
}

fn run_checks(
    root: &FsRoot,
    platform: Platform,
    signals: &dyn PlatformSignals,
    policy: &RaspPolicy,
    config: &RaspConfig,
) -> EnvironmentReport {
    let mut all = Vec::new();
    let mut skipped = Vec::new();
    all.extend(debugger::check(root, platform, &mut skipped));
    all.extend(hooking::check(root, platform, signals, &mut skipped));
    all.extend(root::check(root, platform, signals, &mut skipped));
    all.extend(emulator::check(root, platform, signals, &mut skipped));
    all.extend(network::check(root, platform, signals, &mut skipped));
    normalise_skipped(&mut skipped);
    all.extend(location::check(signals, &config.location));
    all.extend(integrity::check(signals, &config.expected_signatures));
    let mut findings: Vec<Finding> = all
        .into_iter()
        .filter(|f| policy.action(f.threat) != Action::Ignore)
        .collect();
    findings.sort();
    findings.dedup();
    let mut blocking: Vec<Threat> = findings
        .iter()
        .filter(|f| policy.action(f.threat) == Action::Block)
        .map(|f| f.threat)
        .collect();
    blocking.sort();
    blocking.dedup();
    EnvironmentReport {
        platform,
        decision: if blocking.is_empty() {
            Decision::Allow
        } else {
            Decision::Block
        },
        blocking,
        findings,
        skipped,
        attestation: None,
        runs: Vec::new(),
        policy: Some(policy.clone()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// A run prepared on one thread and checked on another reports what a run in one go does, and
    /// asks the platform layer on the preparing thread only, once per method it needs.
    #[cfg(feature = "capture")]
    #[test]
    fn a_prepared_run_reports_what_a_direct_run_does() {
        use super::*;
        use std::sync::Mutex;
        use std::thread::ThreadId;

        #[derive(Default)]
        struct Recording {
            asked: Mutex<Vec<(&'static str, ThreadId)>>,
        }
        impl Recording {
            fn note(&self, method: &'static str) {
                if let Ok(mut a) = self.asked.lock() {
                    a.push((method, std::thread::current().id()));
                }
            }
        }
        impl PlatformSignals for Recording {
            fn build_properties(&self) -> Vec<BuildProperty> {
                self.note("build_properties");
                vec![BuildProperty::new("ro.debuggable", "1")]
            }
            fn instrumentation(&self) -> Vec<String> {
                self.note("instrumentation");
                vec!["hooking:xposed".into()]
            }
            fn vpn_active(&self) -> Option<bool> {
                self.note("vpn_active");
                Some(true)
            }
            fn app_signature(&self) -> Option<String> {
                self.note("app_signature");
                Some("ab".repeat(32))
            }
        }
        let signals = Arc::new(Recording::default());
        let tree = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rasp/rooted");
        let config = RaspConfig {
            expected_signatures: vec!["cd".repeat(32)],
            ..RaspConfig::default()
        };
        let checks = Arc::new(
            EnvironmentChecks::new(signals.clone(), RaspPolicy::mobile(), config)
                .with_root(FsRoot::at(tree), Platform::Android),
        );
        let direct = checks.run();
        let prepared = checks.prepare();
        let here = std::thread::current().id();
        let asked: Vec<_> = signals.asked.lock().map(|a| a.clone()).unwrap_or_default();
        let elsewhere = std::thread::spawn(move || prepared.run()).join().unwrap();
        assert_eq!(
            serde_json::to_value(&elsewhere).unwrap(),
            serde_json::to_value(&direct).unwrap()
        );
        // Root, hooking, VPN and a signature mismatch: the answers reached the checks.
        assert_eq!(direct.decision, Decision::Block);
        for t in [
            Threat::Root,
            Threat::Hooking,
            Threat::Vpn,
            Threat::AppTampered,
        ] {
            assert!(direct.findings.iter().any(|f| f.threat == t), "{t:?}");
        }
        let after_prepare = signals.asked.lock().map(|a| a.clone()).unwrap_or_default();
        assert_eq!(
            asked.len(),
            after_prepare.len(),
            "the run asked nothing more"
        );
        let prepared_asks = &after_prepare[after_prepare.len() - 4..];
        assert!(prepared_asks.iter().all(|(_, t)| *t == here));
        let mut methods: Vec<_> = prepared_asks.iter().map(|(m, _)| *m).collect();
        methods.sort_unstable();
        assert_eq!(
            methods,
            [
                "app_signature",
                "build_properties",
                "instrumentation",
                "vpn_active"
            ]
        );
    }

    #[test]
    fn findings_are_bounded_on_a_character_boundary() {
        let f = super::Finding::new(
            super::Threat::Hooking,
            super::Severity::High,
            "hooking.platform",
            "é".repeat(400),
        );
        assert!(f.evidence.len() <= 512 && f.evidence.chars().all(|c| c == 'é'));
        assert_eq!(f.evidence.chars().count(), 256);
    }

    #[test]
    fn skipped_checks_are_bounded_and_merged_without_duplicates() {
        use super::*;
        let s = SkippedCheck::new(&"c".repeat(300), "r".repeat(300));
        assert!(s.check.len() <= 128 && s.reason.len() <= 256);
        let report = |skipped: Vec<SkippedCheck>| EnvironmentReport {
            platform: Platform::Android,
            decision: Decision::Allow,
            blocking: vec![],
            findings: vec![],
            skipped,
            attestation: None,
            runs: vec![],
            policy: None,
        };
        let net = SkippedCheck::new("hooking.frida_port", "/proc/net: permission denied");
        let adb = SkippedCheck::new("root.magisk", "not accessible to this process: /data/adb");
        let mut a = report(vec![net.clone()]);
        let run = CheckRun {
            phase: CheckPhase::Capture,
            at_ms: 5,
            decision: Decision::Allow,
            findings: 0,
        };
        a.merge(report(vec![adb.clone(), net.clone()]), run);
        assert_eq!(a.skipped, vec![net, adb]);
        let many = (0..100)
            .map(|i| SkippedCheck::new(&format!("c{i:03}"), "r"))
            .collect();
        a.merge(report(many), run);
        assert_eq!(a.skipped.len(), MAX_SKIPPED);
        // Reports written before the field existed still parse.
        let mut v = serde_json::to_value(&a).unwrap();
        v.as_object_mut().unwrap().remove("skipped");
        let back: EnvironmentReport = serde_json::from_value(v).unwrap();
        assert!(back.skipped.is_empty());
    }
}
