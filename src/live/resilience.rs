//! How every AWS call copes with a slow or struggling service: timeouts so
//! nothing waits for ever, and retries that recover from throttling in
//! about the time the throttling lasts.
//!
//! - Retries use the SDK's *standard* mode: exponential backoff with full
//!   jitter, capped per attempt, and a retry quota that stops retrying
//!   during an outage. Not *adaptive* mode: its client-side rate limiter is
//!   shared by every request of a client, so one throttled stack slowed all
//!   the others (AWS recommends it only for single-resource clients), and
//!   it recovered far more slowly than the throttling did.
//! - `AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS`, when set, win: the operator's
//!   SDK settings are theirs.
//! - Every call has a connect timeout, a timeout per HTTP attempt (a
//!   server that accepts and never answers), and one for all attempts.
//!
//! See the AWS pages: "Configuring timeouts in the AWS SDK for Rust" and
//! "Retry behavior" in the SDKs and Tools reference.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 8;
/// The first retry waits up to this long (full jitter), doubling each time...
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
/// ...up to this long.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// Establishing a connection (the SDK's own default, stated).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);
/// One HTTP attempt, from sending to the whole answer. Every API driftsync
/// calls answers in well under a second; long operations are polled.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// One call, all its attempts and backoffs.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// The retry configuration, unless the environment sets the SDK's own.
pub(super) fn retry_config(var: impl Fn(&str) -> Option<String>) -> Option<RetryConfig> {
    if var("AWS_RETRY_MODE").is_some() || var("AWS_MAX_ATTEMPTS").is_some() {
        return None;
    }
    Some(
        RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(INITIAL_BACKOFF)
            .with_max_backoff(MAX_BACKOFF),
    )
}

/// What a failure that retries could not overcome says about them, so a
/// reader knows how hard driftsync tried and where that is set.
pub(super) fn gave_up(var: impl Fn(&str) -> Option<String>) -> String {
    let attempts = match var("AWS_MAX_ATTEMPTS") {
        Some(n) => format!("{n} attempts (AWS_MAX_ATTEMPTS)"),
        None if var("AWS_RETRY_MODE").is_some() => "the attempts AWS_RETRY_MODE allows".into(),
        None => format!("{MAX_ATTEMPTS} attempts (set AWS_MAX_ATTEMPTS for more)"),
    };
    format!(
        "[gave up after up to {attempts}, {} s per attempt, {} s per call]",
        ATTEMPT_TIMEOUT.as_secs(),
        OPERATION_TIMEOUT.as_secs()
    )
}

/// Timeouts for every call.
pub(super) fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_sdk_retry_settings_win() {
        assert!(retry_config(|_| None).is_some());
        assert!(retry_config(|k| (k == "AWS_MAX_ATTEMPTS").then(|| "10".into())).is_none());
        assert!(retry_config(|k| (k == "AWS_RETRY_MODE").then(|| "adaptive".into())).is_none());
    }

    #[test]
    fn giving_up_says_how_hard_it_tried_and_where_that_is_set() {
        assert_eq!(
            gave_up(|_| None),
            "[gave up after up to 8 attempts (set AWS_MAX_ATTEMPTS for more), 20 s per attempt, 60 s per call]"
        );
        assert!(
            gave_up(|k| (k == "AWS_MAX_ATTEMPTS").then(|| "12".into()))
                .contains("12 attempts (AWS_MAX_ATTEMPTS)")
        );
    }

    #[test]
    fn the_longest_a_call_can_back_off_fits_in_its_operation_timeout() {
        let backoff: Duration = (0..MAX_ATTEMPTS - 1)
            .map(|n| (INITIAL_BACKOFF * 2u32.pow(n)).min(MAX_BACKOFF))
            .sum();
        assert!(backoff < OPERATION_TIMEOUT, "{backoff:?}");
    }
}
