//! Time helpers: the wire format and calendar arithmetic in an organization's time zone.

use jiff::{tz::TimeZone, Timestamp};

/// RFC 3339, UTC, second precision, `Z` suffix: the only timestamp format on the wire.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A timestamp truncated to whole seconds: Cardinal stores and compares times at the
/// precision the wire shows, so a value read back equals the value written.
pub fn whole_seconds(ts: Timestamp) -> Timestamp {
    Timestamp::from_second(ts.as_second()).expect("a valid timestamp truncated stays valid")
}

/// The first instant after a card expiring at the end of `month`/`year` stops being valid,
/// i.e. local midnight on the first day of the following month in `tz`.
pub fn end_of_expiry_month(year: i16, month: i8, tz: &TimeZone) -> Timestamp {
    let (y, m) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    jiff::civil::date(y, m, 1).to_zoned(tz.clone()).map(|z| z.timestamp()).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_z_and_whole_seconds() {
        let ts: Timestamp = "2023-11-07T05:31:56.789Z".parse().unwrap();
        assert_eq!(rfc3339(ts), "2023-11-07T05:31:56Z");
        assert_eq!(rfc3339(whole_seconds(ts)), "2023-11-07T05:31:56Z");
    }

    #[test]
    fn expiry_is_local_midnight_after_the_month() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let end = end_of_expiry_month(2028, 3, &paris);
        assert_eq!(rfc3339(end), "2028-03-31T22:00:00Z");
        let end = end_of_expiry_month(2028, 12, &paris);
        assert_eq!(rfc3339(end), "2028-12-31T23:00:00Z");
    }
}
