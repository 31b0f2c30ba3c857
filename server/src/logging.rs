//! Structured logs: one JSON object per line on stderr. Request events carry the route, channel, code,
//! HTTP status and duration — never a user id, template, payload, score or key (a user id is personal
//! data; a bank correlates requests by time and channel).

use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

static LEVEL: OnceLock<log::LevelFilter> = OnceLock::new();

struct JsonLogger;

static LOGGER: JsonLogger = JsonLogger;

impl log::Log for JsonLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut fields = Map::new();
        fields.insert("target".into(), json!(record.target()));
        fields.insert("msg".into(), json!(record.args().to_string()));
        write_line(record.level(), "log", fields);
    }

    fn flush(&self) {}
}

fn max_level() -> log::LevelFilter {
    *LEVEL.get().unwrap_or(&log::LevelFilter::Info)
}

/// Installs the JSON logger (level from `SMARTID_LOG`: error, warn, info, debug, off). Idempotent.
pub fn init() {
    let level = std::env::var("SMARTID_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(log::LevelFilter::Info);
    if LEVEL.set(level).is_ok() && log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

/// Writes one event with its fields.
pub fn event(level: log::Level, event: &str, fields: Map<String, Value>) {
    if level <= max_level() && log::max_level() != log::LevelFilter::Off {
        write_line(level, event, fields);
    }
}

fn write_line(level: log::Level, event: &str, fields: Map<String, Value>) {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut line = Map::new();
    line.insert("ts_ms".into(), json!(ts));
    line.insert("level".into(), json!(level.as_str().to_ascii_lowercase()));
    line.insert("event".into(), json!(event));
    line.extend(fields);
    let mut text = Value::Object(line).to_string();
    text.push('\n');
    // A log line that cannot be written is dropped, never a reason to fail a request.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
