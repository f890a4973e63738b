//! Time for the server: a millisecond UTC [`Timestamp`] and a settable [`Clock`].
//!
//! The hosted server formats every instant as RFC 3339 in UTC with millisecond
//! precision (`2026-11-25T06:07:19.432Z`); no date crate is needed for that, only
//! the civil-from-days arithmetic below.

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// An instant in UTC with millisecond precision.
///
/// Displays (and parses) as RFC 3339, e.g. `2026-11-25T06:07:19.432Z`, the format of
/// every timestamp the Grantex API sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: i64,
}

/// Why a string is not an RFC 3339 timestamp.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct ParseTimestampError {
    input: String,
    reason: &'static str,
}

impl Timestamp {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Timestamp { millis }
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub const fn unix_millis(self) -> i64 {
        self.millis
    }

    /// The system's current time (not the server's [`Clock`]).
    pub fn now_system() -> Self {
        SystemTime::now().into()
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
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        Some(Timestamp::from_unix_millis(
            days * MILLIS_PER_DAY + secs * 1000,
        ))
    }

    /// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`); fractions finer
    /// than a millisecond are truncated.
    pub fn parse_rfc3339(input: &str) -> Result<Self, ParseTimestampError> {
        parse_rfc3339(input).map_err(|reason| ParseTimestampError {
            input: input.to_owned(),
            reason,
        })
    }

    /// The UTC hour of day, 0 to 23.
    pub fn hour(self) -> u32 {
        (self.millis.rem_euclid(MILLIS_PER_DAY) / 3_600_000) as u32
    }

    /// Milliseconds since UTC midnight of this instant's day.
    pub(crate) fn millis_of_day(self) -> i64 {
        self.millis.rem_euclid(MILLIS_PER_DAY)
    }

    /// UTC midnight starting this instant's day.
    pub(crate) fn start_of_day(self) -> Timestamp {
        Timestamp::from_unix_millis(self.millis - self.millis_of_day())
    }

    /// `self + millis` (negative goes back), saturating at the ends of time.
    pub(crate) fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(self.millis.saturating_add(millis))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        let millis = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_millis() as i64,
            Err(before) => -(before.duration().as_millis() as i64),
        };
        Timestamp::from_unix_millis(millis)
    }
}

impl From<Timestamp> for SystemTime {
    fn from(ts: Timestamp) -> Self {
        if ts.millis >= 0 {
            UNIX_EPOCH + Duration::from_millis(ts.millis as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis(ts.millis.unsigned_abs())
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
        let days = self.millis.div_euclid(MILLIS_PER_DAY);
        let ms_of_day = self.millis_of_day();
        let (year, month, day) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ms_of_day % 1000
        )
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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01, as (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_rfc3339(s: &str) -> Result<Timestamp, &'static str> {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<u32, &'static str> {
        let part = b.get(range).ok_or("too short")?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err("expected digits");
        }
        Ok(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let expect = |i: usize, allowed: &[u8]| -> Result<(), &'static str> {
        match b.get(i) {
            Some(c) if allowed.contains(c) => Ok(()),
            _ => Err("unexpected separator"),
        }
    };
    let year = digits(0..4)?;
    expect(4, b"-")?;
    let month = digits(5..7)?;
    expect(7, b"-")?;
    let day = digits(8..10)?;
    expect(10, b"Tt ")?;
    let hour = digits(11..13)?;
    expect(13, b":")?;
    let minute = digits(14..16)?;
    expect(16, b":")?;
    let second = digits(17..19)?;
    let mut i = 19;
    let mut millis = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis = millis * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err("empty fraction");
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_minutes: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() => {
            expect(i + 3, b":")?;
            let oh = digits(i + 1..i + 3)?;
            let om = digits(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return Err("offset out of range");
            }
            let minutes = i64::from(oh * 60 + om);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return Err("expected Z or a ±HH:MM offset at the end"),
    };
    let base = Timestamp::from_utc(i64::from(year), month, day, hour, minute, second)
        .ok_or("field out of range")?;
    Ok(base.plus_millis(i64::from(millis) - offset_minutes * 60_000))
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

    fn mode(&self) -> MutexGuard<'_, ClockMode> {
        // The mode is plain data: a panic elsewhere cannot leave it inconsistent.
        self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current instant of this clock.
    pub fn now(&self) -> Timestamp {
        match *self.mode() {
            ClockMode::System { offset_millis } => {
                Timestamp::now_system().plus_millis(offset_millis)
            }
            ClockMode::Fixed(at) => at,
        }
    }

    /// Freezes the clock at `at`: `now()` returns `at` until the clock is changed again.
    pub fn set(&self, at: Timestamp) {
        *self.mode() = ClockMode::Fixed(at);
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
        let mut mode = self.mode();
        *mode = match *mode {
            ClockMode::System { offset_millis } => ClockMode::System {
                offset_millis: offset_millis.saturating_add(millis),
            },
            ClockMode::Fixed(at) => ClockMode::Fixed(at.plus_millis(millis)),
        };
    }

    /// Back to plain system time (unfrozen, no offset).
    pub fn reset(&self) {
        *self.mode() = ClockMode::default();
    }

    /// Whether the clock is frozen by [`Clock::set`].
    pub fn is_frozen(&self) -> bool {
        matches!(*self.mode(), ClockMode::Fixed(_))
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
    fn every_day_round_trips() {
        for days in -800_000..800_000i64 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
