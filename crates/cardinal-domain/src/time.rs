//! Time helpers: the wire format and calendar arithmetic in an organization's time zone.

use jiff::{tz::TimeZone, Timestamp};

/// RFC 3339, UTC, second precision, `Z` suffix: the only timestamp format on the wire.
pub fn rfc3339(ts: Timestamp) -> String {
    Rfc3339::of(ts).as_str().to_owned()
}

/// A timestamp's wire text ([`rfc3339`]) on the stack, for writers that copy it anyway (every
/// answer's timestamps go through it). Written digit by digit: `strftime` parses its format
/// at each call, 1,500 instructions a timestamp against about 100 here.
pub struct Rfc3339 {
    text: [u8; 20],
    /// Years outside 0000–9999 (`strftime` writes them with a sign or more digits).
    unusual: Option<String>,
}

impl Rfc3339 {
    pub fn of(ts: Timestamp) -> Rfc3339 {
        Rfc3339::usual(ts)
            .unwrap_or_else(|| Rfc3339 { text: [0; 20], unusual: Some(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()) })
    }

    /// The text of a timestamp of a year in 0000–9999 (every real one); `None` for others.
    fn usual(ts: Timestamp) -> Option<Rfc3339> {
        let at = jiff::tz::Offset::UTC.to_datetime(ts);
        let year = at.year();
        if !(0..=9999).contains(&year) {
            return None;
        }
        let mut text = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, value: i64, width: usize| {
            let mut value = value;
            for place in (at..at + width).rev() {
                text[place] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, year.into(), 4);
        put(5, at.month().into(), 2);
        put(8, at.day().into(), 2);
        put(11, at.hour().into(), 2);
        put(14, at.minute().into(), 2);
        put(17, at.second().into(), 2);
        Some(Rfc3339 { text, unusual: None })
    }

    pub fn as_str(&self) -> &str {
        match &self.unusual {
            Some(text) => text,
            // Only ASCII digits and separators were written.
            None => std::str::from_utf8(&self.text).unwrap_or_default(),
        }
    }
}

/// A timestamp serialized as jiff's own `Serialize` writes it (its `Display`: RFC 3339 with a
/// fraction only when there is one), for the documents the stores keep as text and compare as
/// text. Whole seconds of usual years take [`Rfc3339`]'s path: jiff's `Display` costs 800
/// instructions a timestamp, three in every card change the writer saves.
pub struct StoredTime<'a>(pub &'a Timestamp);

impl serde::Serialize for StoredTime<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A fraction goes to jiff: only whole seconds are written without one.
        match (self.0.subsec_nanosecond() == 0).then(|| Rfc3339::usual(*self.0)).flatten() {
            Some(text) => s.serialize_str(text.as_str()),
            None => s.collect_str(self.0),
        }
    }
}

/// `#[serde(serialize_with)]` for a stored timestamp ([`StoredTime`]).
pub fn stored<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&StoredTime(ts), s)
}

/// `#[serde(serialize_with)]` for an optional stored timestamp ([`StoredTime`]).
pub fn stored_option<S: serde::Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(ts) => s.serialize_some(&StoredTime(ts)),
        None => s.serialize_none(),
    }
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
    fn the_fast_format_writes_what_strftime_writes() {
        let by_strftime = |ts: Timestamp| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut seconds: i64 = 1;
        let mut samples = vec![Timestamp::MIN, Timestamp::MAX, Timestamp::UNIX_EPOCH];
        samples.extend(
            ["0000-01-01T00:00:00Z", "9999-12-30T21:59:59Z", "2024-02-29T12:00:00.999Z", "1969-12-31T23:59:59Z"]
                .iter()
                .map(|t| t.parse::<Timestamp>().unwrap()),
        );
        // A spread over the whole range: a multiplicative walk visits every field's values.
        for _ in 0..20_000 {
            seconds = seconds.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let span = Timestamp::MAX.as_second() - Timestamp::MIN.as_second();
            samples.push(Timestamp::from_second(Timestamp::MIN.as_second() + seconds.rem_euclid(span)).unwrap());
        }
        for ts in samples {
            assert_eq!(Rfc3339::of(ts).as_str(), by_strftime(ts), "{ts}");
            assert_eq!(rfc3339(ts), by_strftime(ts));
        }
    }

    #[test]
    fn stored_times_read_as_jiff_writes_them() {
        let samples =
            ["2023-11-07T05:31:56Z", "2023-11-07T05:31:56.789Z", "0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"];
        let mut samples: Vec<Timestamp> = samples.iter().map(|t| t.parse().unwrap()).collect();
        samples.extend([Timestamp::MIN, Timestamp::MAX, Timestamp::from_second(-1).unwrap()]);
        for ts in samples {
            let jiffs = serde_json::to_string(&ts).unwrap();
            assert_eq!(serde_json::to_string(&StoredTime(&ts)).unwrap(), jiffs);
            #[derive(serde::Serialize)]
            struct Both {
                #[serde(serialize_with = "stored_option")]
                maybe: Option<Timestamp>,
                #[serde(serialize_with = "stored")]
                surely: Timestamp,
            }
            let both = serde_json::to_string(&Both { maybe: Some(ts), surely: ts }).unwrap();
            assert_eq!(both, format!(r#"{{"maybe":{jiffs},"surely":{jiffs}}}"#));
        }
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
