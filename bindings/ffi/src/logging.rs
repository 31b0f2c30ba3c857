//! A `log` facade for integrators: the app hands a sink (Logcat, os_log, its own logger) and a level.
//! What the SDK logs: lifecycle, step changes, failure codes (6001 for a blocked environment). Never pixels, landmarks,
//! templates, scores of a person, coordinates or keys.

use std::sync::{Arc, RwLock};

use crate::error::SmartIdError;
use crate::guard;
use crate::signals::CallbackError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Where SDK log lines go. Called from any thread.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), CallbackError>;
}

static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);

struct Forwarder;

impl log::Log for Forwarder {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let sink = SINK.read().ok().and_then(|s| s.clone());
        if let Some(sink) = sink {
            let level = match record.level() {
                log::Level::Error => LogLevel::Error,
                log::Level::Warn => LogLevel::Warn,
                log::Level::Info => LogLevel::Info,
                log::Level::Debug => LogLevel::Debug,
                log::Level::Trace => LogLevel::Trace,
            };
            // A failing sink must not fail the SDK; there is nowhere else to report it.
            let _ = sink.log(level, record.target().into(), record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static FORWARDER: Forwarder = Forwarder;

/// Sends the SDK's log lines at `max_level` and above to `sink` (replacing any previous sink).
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) -> Result<(), SmartIdError> {
    guard("set_log_sink", || {
        // The first call installs the forwarder; later calls only swap the sink and level.
        let _ = log::set_logger(&FORWARDER);
        log::set_max_level(match max_level {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        });
        let mut slot = SINK
            .write()
            .map_err(|_| SmartIdError::internal("set_log_sink"))?;
        *slot = Some(sink);
        Ok(())
    })
}
