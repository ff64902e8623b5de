//! Receive times on the local clock, as analysisd shows them (`localtime_r`).

/// Unix second `seconds` in the system time zone (the epoch for an out-of-range value).
pub fn local(seconds: i64) -> jiff::ZonedDateTime {
    jiff::Timestamp::from_second(seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(jiff::tz::TimeZone::system())
}
