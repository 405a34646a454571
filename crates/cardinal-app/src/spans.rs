//! Spans written in flags: a whole number and a unit (`10s`, `5m`, `2h`, `1d`, `2500ms`). Every
//! flag that takes one — rate-limit windows, webhook retry delays and disabling, the database
//! timeout — reads it here.

use jiff::SignedDuration;

/// Units in seconds: rate-limit windows go up to hours, webhook spans up to days.
pub const UP_TO_HOURS: &[(&str, u64)] = &[("s", 1), ("m", 60), ("h", 3600)];
pub const UP_TO_DAYS: &[(&str, u64)] = &[("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)];
/// Units in milliseconds, for timeouts.
pub const MILLIS_UP_TO_MINUTES: &[(&str, u64)] = &[("ms", 1), ("s", 1000), ("m", 60_000)];

/// `text` counted in the unit whose factor in `units` is 1 (seconds for [`UP_TO_DAYS`],
/// milliseconds for [`MILLIS_UP_TO_MINUTES`]); `None` for anything else.
pub fn span(text: &str, units: &[(&str, u64)]) -> Option<u64> {
    let text = text.trim();
    let (amount, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let (_, factor) = units.iter().find(|(name, _)| *name == unit)?;
    amount.parse::<u64>().ok()?.checked_mul(*factor)
}

/// A span of whole seconds, days at most (`10s`, `5m`, `2h`, `1d`), at least a second and at
/// most `most_days`; the errors name `what` the flag sets ("a retry delay").
pub fn seconds_up_to_days(text: &str, what: &str, most_days: u64) -> Result<SignedDuration, String> {
    let seconds = span(text, UP_TO_DAYS)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{text:?} is not {what} such as 10s, 5m, 2h or 1d"))?;
    if seconds > most_days * 86_400 {
        return Err(format!("{text:?}: {what} is at least 1s and at most {most_days}d"));
    }
    Ok(SignedDuration::from_secs(seconds as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_count_in_their_tables_unit() {
        assert_eq!(span("2h", UP_TO_HOURS), Some(7200));
        assert_eq!(span(" 2500ms ", MILLIS_UP_TO_MINUTES), Some(2500));
        assert_eq!(span("1m", MILLIS_UP_TO_MINUTES), Some(60_000));
        for bad in ["", "10", "ms", "1d", "1.5s", "-1s", "99999999999999999999s"] {
            assert_eq!(span(bad, MILLIS_UP_TO_MINUTES), None, "{bad:?}");
        }
        assert!(seconds_up_to_days("8d", "a retry delay", 7).unwrap_err().contains("at most 7d"));
        assert_eq!(seconds_up_to_days("5d", "a span", 365), Ok(SignedDuration::from_hours(120)));
    }
}
