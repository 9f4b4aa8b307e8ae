//! Points in time. The domain never reads the clock: `now` arrives through [`crate::ports::Clock`].

use std::fmt;

use time::OffsetDateTime;

pub use time::Duration;

/// A UTC instant with microsecond precision (what every supported database stores exactly).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime); // Invariant: UTC offset, whole microseconds.

impl Timestamp {
    /// Converts any instant to UTC and truncates it to whole microseconds.
    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(time::UtcOffset::UTC);
        let micros = utc.microsecond();
        Self(utc.replace_microsecond(micros).unwrap_or(utc))
    }
    /// Microseconds since the Unix epoch.
    pub fn unix_micros(&self) -> i64 {
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
    }
    /// The instant at `micros` microseconds since the Unix epoch, if representable.
    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok().map(Self)
    }
    /// The underlying date-time (UTC).
    pub fn as_datetime(&self) -> OffsetDateTime {
        self.0
    }
    /// This instant moved by `duration` (saturating at the representable range).
    pub fn plus(&self, duration: Duration) -> Self {
        Self(self.0.checked_add(duration).unwrap_or(self.0))
    }
    /// This instant moved back by `duration` (saturating at the representable range).
    pub fn minus(&self, duration: Duration) -> Self {
        Self(self.0.checked_sub(duration).unwrap_or(self.0))
    }
    /// Whole seconds (rounded up, at least 1) from `earlier` until this instant: what a
    /// `Retry-After` says.
    pub fn seconds_after(&self, earlier: Timestamp) -> u64 {
        let micros = self.unix_micros().saturating_sub(earlier.unix_micros()).max(0);
        u64::try_from(micros.saturating_add(999_999) / 1_000_000).unwrap_or(u64::MAX).max(1)
    }
    /// RFC 3339 text, e.g. `2026-11-23T10:00:00Z`.
    pub fn to_rfc3339(&self) -> String {
        self.0.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_unix_micros_without_loss() {
        let at = Timestamp::from_datetime(time::macros::datetime!(2026-11-23 10:00:00.123456789 UTC));
        assert_eq!(at.unix_micros() % 1_000_000, 123_456);
        assert_eq!(Timestamp::from_unix_micros(at.unix_micros()), Some(at));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_rfc3339_reads_as_utc() {
        let at = Timestamp::from_datetime(time::macros::datetime!(2026-11-23 10:00:00 UTC));
        assert_eq!(at.plus(Duration::milliseconds(1_500)).seconds_after(at), 2);
        assert_eq!(at.plus(Duration::seconds(90)).seconds_after(at), 90);
        assert_eq!(at.seconds_after(at), 1, "never zero");
        assert_eq!(at.to_rfc3339(), "2026-11-23T10:00:00Z");
    }
}
