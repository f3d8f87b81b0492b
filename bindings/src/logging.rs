//! The `log` crate's output, bridged to the platform's log: logcat on Android, the unified log
//! on Apple platforms, standard error elsewhere (the host JVM tests, desktop). Off until the
//! app calls [`set_log_level`]. Panics are logged wherever they happen.

use std::sync::Once;

use crate::error::{guard, panic_message, VeilError};
use crate::types::LogLevel;

/// Tag (Android) and subsystem (Apple) of Veil's log lines.
pub const LOG_TAG: &str = "Veil";

static INIT_LOGGER: Once = Once::new();
static INIT_PANIC_HOOK: Once = Once::new();

/// Sends Veil's log to the platform's log at `level` and above: logcat with tag `Veil` on
/// Android, the unified log with subsystem `Veil` on iOS and macOS, standard error elsewhere.
/// May be called again to change the level; `LogLevel.OFF` silences it. Also makes sure that a
/// panic inside Veil is logged before it is returned as `VeilError.Internal`.
#[uniffi::export]
pub fn set_log_level(level: LogLevel) -> Result<(), VeilError> {
    guard(|| {
        install_panic_hook();
        let filter: log::LevelFilter = level.into();
        INIT_LOGGER.call_once(install_logger);
        log::set_max_level(filter);
        log::info!("log level set to {filter}");
        Ok(())
    })
}

/// Installs (once) a panic hook that writes the panic to the log, then runs the previous hook.
/// Called by [`set_log_level`] and by every filter constructor.
pub(crate) fn install_panic_hook() {
    INIT_PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            log::error!("panic{location}: {}", panic_message(info.payload()));
            previous(info);
        }));
    });
}

#[cfg(target_os = "android")]
fn install_logger() {
    // Pass everything to liblog; `log::set_max_level` does the filtering.
    android_logger::init_once(
        android_logger::Config::default()
            .with_tag(LOG_TAG)
            .with_max_level(log::LevelFilter::Trace),
    );
}

#[cfg(target_vendor = "apple")]
fn install_logger() {
    // Fails only when the app already installed another `log` logger; then that one is used.
    let _ = oslog::OsLogger::new(LOG_TAG)
        .level_filter(log::LevelFilter::Trace)
        .init();
}

#[cfg(not(any(target_os = "android", target_vendor = "apple")))]
fn install_logger() {
    // Fails only when the host already installed another `log` logger; then that one is used.
    let _ = log::set_logger(&StderrLogger);
}

/// A minimal logger for hosts without a platform log: one line per record on standard error.
#[cfg(not(any(target_os = "android", target_vendor = "apple")))]
struct StderrLogger;

#[cfg(not(any(target_os = "android", target_vendor = "apple")))]
impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "[{LOG_TAG} {} {}] {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}
