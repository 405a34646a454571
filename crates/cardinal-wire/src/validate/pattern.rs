//! The `pattern` keyword, compiled once per schema.

/// A `pattern` compiled. Most request patterns are one ASCII character class repeated
/// (`^[a-z0-9_]{1,64}$`): those are checked as a set of characters and a count, without the
/// regex engine's 1,400 instructions a match.
pub(super) enum Pattern {
    Repeated {
        class: [bool; 128],
        min: usize,
        max: usize,
    },
    Regex(regex_lite::Regex),
    /// A pattern that does not compile matches nothing; the test over every request schema
    /// compiles them all.
    Broken,
}

impl Pattern {
    pub(super) fn new(pattern: &str) -> Pattern {
        match Pattern::repeated_class(pattern) {
            Some(repeated) => repeated,
            None => regex_lite::Regex::new(pattern).map_or(Pattern::Broken, Pattern::Regex),
        }
    }

    /// `^[class]{n}$` or `^[class]{min,max}$`, the class made of printable ASCII characters
    /// and ranges of them, none of them special (`\`, `[`, `]` and `^` say something else
    /// inside a class, and `&&` and `~~` are set operations); `None` for any other pattern.
    fn repeated_class(pattern: &str) -> Option<Pattern> {
        let (class, count) = pattern.strip_prefix("^[")?.strip_suffix("}$")?.split_once("]{")?;
        let (min, max) = match count.split_once(',') {
            Some((min, max)) => (min.parse().ok()?, max.parse().ok()?),
            None => (count.parse().ok()?, count.parse().ok()?),
        };
        let bytes = class.as_bytes();
        let plain = |b: &u8| b.is_ascii_graphic() && !matches!(b, b'\\' | b'[' | b']' | b'^' | b'&' | b'~' | b'-');
        let mut set = [false; 128];
        let mut i = 0;
        while i < bytes.len() {
            // A `-` first or last in the class is itself.
            if bytes[i] == b'-' && (i == 0 || i + 1 == bytes.len()) {
                set[b'-' as usize] = true;
                i += 1;
                continue;
            }
            match bytes.get(i + 1..i + 3) {
                // A range, `a-z`.
                Some([b'-', last]) if plain(&bytes[i]) && plain(last) && bytes[i] <= *last => {
                    (bytes[i]..=*last).for_each(|b| set[b as usize] = true);
                    i += 3;
                }
                _ if plain(&bytes[i]) => {
                    set[bytes[i] as usize] = true;
                    i += 1;
                }
                _ => return None,
            }
        }
        (min <= max && !class.is_empty()).then_some(Pattern::Repeated { class: set, min, max })
    }

    pub(super) fn is_match(&self, text: &str) -> bool {
        match self {
            Pattern::Repeated { class, min, max } => {
                (*min..=*max).contains(&text.len()) && text.bytes().all(|b| class.get(b as usize) == Some(&true))
            }
            Pattern::Regex(regex) => regex.is_match(text),
            Pattern::Broken => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_class_matches_what_the_regex_matches() {
        let patterns = [r"^[A-Za-z]{2}$", r"^[a-z0-9-]{1,50}$", r"^[A-Z]{2}$", r"^[a-z0-9_]{1,64}$", r"^[-a-c]{0,3}$"];
        let texts = [
            "", "a", "FR", "fr", "Fr", "F", "FRA", "F1", "é", "éé", "a-b", "-", "--", "abc_def", "a b", "x\n", "\nab",
            "aé", "ABC", "a-c", "zz", "0", "_", "~", "ab\u{0}", "[", "]", "^",
        ];
        let long = ["a".repeat(50), "a".repeat(51), "a".repeat(64), "a".repeat(65)];
        for pattern in patterns {
            assert!(matches!(Pattern::new(pattern), Pattern::Repeated { .. }), "{pattern} is a repeated class");
            let regex = regex_lite::Regex::new(pattern).unwrap();
            for text in texts.iter().copied().chain(long.iter().map(String::as_str)) {
                assert_eq!(Pattern::new(pattern).is_match(text), regex.is_match(text), "{pattern} on {text:?}");
            }
        }
        for other in [r"^[!-~]([ -~]*[!-~])?$", r"^[a-z]+$", r"^[\w]{2}$", r"^[^a]{2}$", r"[a-z]{2}", r"^[a-]{2}x$"] {
            assert!(!matches!(Pattern::new(other), Pattern::Repeated { .. }), "{other} is left to the regex");
        }
        assert!(matches!(Pattern::new("^[a-z"), Pattern::Broken));
    }
}
