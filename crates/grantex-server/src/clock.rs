//! Time for the server: a millisecond UTC [`Timestamp`] and a settable [`Clock`].
//!
//! The hosted server formats every instant as RFC 3339 in UTC with millisecond
//! precision (`2026-11-25T06:07:19.432Z`). [`jiff`] does the parsing, formatting and
//! calendar arithmetic; `Timestamp` only adds the millisecond precision and the
//! saturating arithmetic the server wants.

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::civil::{DateTime, Time};
use jiff::tz::Offset;
use jiff::{RoundMode, SignedDuration, TimestampRound, Unit};

use crate::sync::lock;

/// An instant in UTC with millisecond precision, within jiff's range (the years
/// -9999 to 9999).
///
/// Displays (and parses) as RFC 3339, e.g. `2026-11-25T06:07:19.432Z`, the format of
/// every timestamp the Grantex API sends. Arithmetic saturates at the ends of that
/// range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(
    /// Always a whole number of milliseconds.
    jiff::Timestamp,
);

/// Why a string is not an RFC 3339 timestamp.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct ParseTimestampError {
    input: String,
    reason: String,
}

impl Timestamp {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z (clamped to
    /// jiff's range).
    pub fn from_unix_millis(millis: i64) -> Self {
        let ts = jiff::Timestamp::from_duration(SignedDuration::from_millis(millis)).unwrap_or(
            if millis < 0 {
                jiff::Timestamp::MIN
            } else {
                jiff::Timestamp::MAX
            },
        );
        Timestamp::from_jiff(ts)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn unix_millis(self) -> i64 {
        self.0.as_millisecond()
    }

    /// The system's current time (not the server's [`Clock`]).
    pub fn now_system() -> Self {
        Timestamp::from_jiff(jiff::Timestamp::now())
    }

    /// The instant of a UTC calendar date and time of day, or `None` if a field is out
    /// of range (e.g. month 13, February 30th, hour 24).
    pub fn from_utc(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Option<Self> {
        let datetime = DateTime::new(
            year.try_into().ok()?,
            month.try_into().ok()?,
            day.try_into().ok()?,
            hour.try_into().ok()?,
            minute.try_into().ok()?,
            second.try_into().ok()?,
            0,
        )
        .ok()?;
        Offset::UTC.to_timestamp(datetime).ok().map(Timestamp)
    }

    /// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`); fractions finer
    /// than a millisecond are truncated.
    ///
    /// The parser is jiff's, which also takes the ISO 8601 forms of its Temporal
    /// format (e.g. `2026-11-25T06:07Z`, a `+0100` offset); an offset is required.
    pub fn parse_rfc3339(input: &str) -> Result<Self, ParseTimestampError> {
        input
            .parse::<jiff::Timestamp>()
            .map(Timestamp::from_jiff)
            .map_err(|e| ParseTimestampError {
                input: input.to_owned(),
                reason: e.to_string(),
            })
    }

    /// The UTC hour of day, 0 to 23.
    pub fn hour(self) -> u32 {
        self.utc().hour().unsigned_abs().into()
    }

    /// Minutes since UTC midnight of this instant's day, 0 to 1439.
    pub(crate) fn minute_of_day(self) -> i64 {
        let utc = self.utc();
        i64::from(utc.hour()) * 60 + i64::from(utc.minute())
    }

    /// `hour:minute` UTC on this instant's day.
    pub(crate) fn same_day_at(self, hour: i8, minute: i8) -> Timestamp {
        let at = Time::new(hour, minute, 0, 0).expect("a valid time of day");
        match Offset::UTC.to_timestamp(self.utc().date().to_datetime(at)) {
            Ok(ts) => Timestamp(ts),
            // Only on the first or last day of jiff's range.
            Err(_) => self,
        }
    }

    /// `self + millis` (negative goes back), saturating at the ends of time.
    pub(crate) fn plus_millis(self, millis: i64) -> Timestamp {
        let sum = self.0.saturating_add(SignedDuration::from_millis(millis));
        // Adding a duration (not a calendar span) cannot fail.
        Timestamp::from_jiff(sum.unwrap_or(self.0))
    }

    fn from_jiff(ts: jiff::Timestamp) -> Self {
        let floor = TimestampRound::new()
            .smallest(Unit::Millisecond)
            .mode(RoundMode::Floor);
        // Flooring to a millisecond stays within jiff's range (its lower end is a
        // whole second), so it cannot fail.
        Timestamp(ts.round(floor).unwrap_or(ts))
    }

    fn utc(self) -> DateTime {
        Offset::UTC.to_datetime(self.0)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        match jiff::Timestamp::try_from(time) {
            Ok(ts) => Timestamp::from_jiff(ts),
            Err(_) if time < UNIX_EPOCH => Timestamp::from_unix_millis(i64::MIN),
            Err(_) => Timestamp::from_unix_millis(i64::MAX),
        }
    }
}

impl From<Timestamp> for SystemTime {
    fn from(ts: Timestamp) -> Self {
        let millis = ts.unix_millis();
        if millis >= 0 {
            UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs())
        }
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        self.plus_millis(duration_millis(rhs))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Duration) -> Timestamp {
        self.plus_millis(-duration_millis(rhs))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // jiff writes RFC 3339 in UTC (`Z`); the precision fixes three fraction digits.
        write!(f, "{:.3}", self.0)
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(s)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

pub(crate) fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The server's notion of "now": system time by default, or frozen at / shifted to
/// any instant so that detection windows, off-hours and rate-limit windows are
/// testable without waiting.
///
/// Cloning is cheap and every clone controls the same clock.
///
/// ```
/// use grantex_server::{Clock, Timestamp};
/// use std::time::Duration;
///
/// let clock = Clock::new();
/// let t = Timestamp::parse_rfc3339("2026-11-25T06:07:19.432Z").unwrap();
/// clock.set(t);
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now().to_string(), "2026-11-25T06:08:19.432Z");
/// clock.reset(); // back to system time
/// ```
#[derive(Clone, Debug, Default)]
pub struct Clock {
    mode: Arc<Mutex<ClockMode>>,
}

#[derive(Clone, Copy, Debug)]
enum ClockMode {
    /// System time plus an offset (from [`Clock::advance`] / [`Clock::rewind`]).
    System { offset_millis: i64 },
    /// Frozen at an instant until set, advanced or reset.
    Fixed(Timestamp),
}

impl Default for ClockMode {
    fn default() -> Self {
        ClockMode::System { offset_millis: 0 }
    }
}

impl Clock {
    /// A clock following system time.
    pub fn new() -> Self {
        Clock::default()
    }

    /// The current instant of this clock.
    pub fn now(&self) -> Timestamp {
        match *lock(&self.mode) {
            ClockMode::System { offset_millis } => {
                Timestamp::now_system().plus_millis(offset_millis)
            }
            ClockMode::Fixed(at) => at,
        }
    }

    /// Freezes the clock at `at`: `now()` returns `at` until the clock is changed again.
    pub fn set(&self, at: Timestamp) {
        *lock(&self.mode) = ClockMode::Fixed(at);
    }

    /// Moves the clock forward by `by`. A frozen clock stays frozen (at the later
    /// instant); a running clock keeps running, `by` ahead of system time.
    pub fn advance(&self, by: Duration) {
        self.shift_millis(duration_millis(by));
    }

    /// Moves the clock back by `by` (the opposite of [`Clock::advance`]).
    pub fn rewind(&self, by: Duration) {
        self.shift_millis(-duration_millis(by));
    }

    /// Moves the clock by a signed number of milliseconds.
    pub fn shift_millis(&self, millis: i64) {
        let mut mode = lock(&self.mode);
        *mode = match *mode {
            ClockMode::System { offset_millis } => ClockMode::System {
                offset_millis: offset_millis.saturating_add(millis),
            },
            ClockMode::Fixed(at) => ClockMode::Fixed(at.plus_millis(millis)),
        };
    }

    /// Back to plain system time (unfrozen, no offset).
    pub fn reset(&self) {
        *lock(&self.mode) = ClockMode::default();
    }

    /// Whether the clock is frozen by [`Clock::set`].
    pub fn is_frozen(&self) -> bool {
        matches!(*lock(&self.mode), ClockMode::Fixed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let t = Timestamp::parse_rfc3339("2026-11-25T06:07:19.432Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-25T06:07:19.432Z");
        assert_eq!(t.unix_millis(), 1_795_586_839_432);
        assert_eq!(
            Timestamp::from_unix_millis(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2024-02-29T23:00:00.5+01:00")
                .unwrap()
                .to_string(),
            "2024-02-29T22:00:00.500Z"
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2000-03-01T00:00:00.123456Z")
                .unwrap()
                .to_string(),
            "2000-03-01T00:00:00.123Z"
        );
        // Sub-millisecond fractions are cut towards the past, before 1970 too.
        assert_eq!(
            Timestamp::parse_rfc3339("1969-12-31T23:59:59.9995Z")
                .unwrap()
                .unix_millis(),
            -1
        );
        for bad in [
            "",
            "2026-11-25",
            "2026-11-25T06:07:19",
            "2026-02-30T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T06:07:19.Z",
            "2026-11-25T06:07:19Zjunk",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn calendar_fields_and_days() {
        let t = Timestamp::parse_rfc3339("2026-11-25T23:59:30.250Z").unwrap();
        assert_eq!(t.hour(), 23);
        assert_eq!(t.minute_of_day(), 23 * 60 + 59);
        assert_eq!(t.same_day_at(6, 0).to_string(), "2026-11-25T06:00:00.000Z");
        let before_1970 = Timestamp::from_unix_millis(-1);
        assert_eq!(before_1970.hour(), 23);
        assert_eq!(
            before_1970.same_day_at(0, 0).to_string(),
            "1969-12-31T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_utc(2024, 2, 29, 12, 0, 0).map(|t| t.to_string()),
            Some("2024-02-29T12:00:00.000Z".to_owned())
        );
        assert_eq!(Timestamp::from_utc(2026, 2, 29, 0, 0, 0), None);
        assert_eq!(Timestamp::from_utc(2026, 13, 1, 0, 0, 0), None);
        assert_eq!(Timestamp::from_utc(2026, 1, 1, 24, 0, 0), None);
    }

    #[test]
    fn arithmetic_saturates_at_the_ends_of_time() {
        let max = Timestamp::from_unix_millis(i64::MAX);
        assert_eq!(max.plus_millis(1), max);
        assert_eq!(max.to_string(), "9999-12-30T22:00:00.999Z");
        assert_eq!(max.plus_millis(-1).unix_millis(), max.unix_millis() - 1);
        let min = Timestamp::from_unix_millis(i64::MIN);
        assert_eq!(min - Duration::from_secs(1), min);
        assert_eq!(
            Timestamp::from(SystemTime::from(Timestamp::from_unix_millis(-1500))),
            Timestamp::from_unix_millis(-1500)
        );
    }
}
