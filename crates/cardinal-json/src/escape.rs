//! The inside of a JSON string, escaped as serde_json escapes it: `"`, `\` and the control
//! characters below U+0020, with the short forms `\b \t \n \f \r` and `\u00xx` (lowercase hex)
//! for the others. All of them are ASCII, so text is scanned by bytes, without decoding UTF-8,
//! and a byte found is always at a character boundary.

fn escaped(byte: u8) -> bool {
    (byte < 0x20) | (byte == b'"') | (byte == b'\\')
}

/// Eight bytes at a time (SWAR): a compiler-vectorized pass over the whole text had a long
/// set-up for the short strings a document is made of (keys, ids, names: a few to 40 bytes),
/// and counted 7 instructions a byte in a card's answer; this counts about 2.
pub fn needs_escaping(text: &str) -> bool {
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        if any_escaped(u64::from_le_bytes(word)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&byte| escaped(byte))
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether any of `word`'s bytes is below `n` (`n` ≤ 0x80): the subtraction borrows into a
/// byte's high bit only when the byte is below `n` (and `!word` drops bytes whose own high bit
/// was set). A borrow can mark a byte above a marked one too, so the answer is only right as
/// "any", which is all this needs.
fn any_below(word: u64, n: u8) -> bool {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH_BITS != 0
}

fn any_escaped(word: u64) -> bool {
    any_below(word, 0x20)
        | any_below(word ^ (ONES * u64::from(b'"')), 1)
        | any_below(word ^ (ONES * u64::from(b'\\')), 1)
}

/// Appends `text`, escaped, to `out` (the quotes around it are the caller's).
pub fn push_escaped(out: &mut Vec<u8>, text: &str) {
    escape_runs(text, |run| out.extend_from_slice(run.as_bytes()));
}

/// [`push_escaped`] for a `String` (the log's lines).
pub fn push_escaped_str(out: &mut String, text: &str) {
    escape_runs(text, |run| out.push_str(run));
}

/// Hands `put` the runs of `text` that need no escaping and, between them, the escapes.
fn escape_runs(text: &str, mut put: impl FnMut(&str)) {
    if !needs_escaping(text) {
        put(text);
        return;
    }
    let mut plain_from = 0;
    for (at, &byte) in text.as_bytes().iter().enumerate() {
        if !escaped(byte) {
            continue;
        }
        put(&text[plain_from..at]);
        let mut spelled = [0; 6];
        put(escape_of(byte, &mut spelled));
        plain_from = at + 1;
    }
    put(&text[plain_from..]);
}

fn escape_of(byte: u8, spelled: &mut [u8; 6]) -> &str {
    match byte {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        0x08 => "\\b",
        b'\t' => "\\t",
        b'\n' => "\\n",
        0x0c => "\\f",
        b'\r' => "\\r",
        control => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            *spelled = [b'\\', b'u', b'0', b'0', HEX[usize::from(control >> 4)], HEX[usize::from(control & 0xf)]];
            // Six ASCII bytes.
            std::str::from_utf8(spelled).unwrap_or("\\ufffd")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_jsons(text: &str) -> String {
        let quoted = serde_json::to_string(text).unwrap();
        quoted[1..quoted.len() - 1].to_string()
    }

    #[test]
    fn every_ascii_character_is_escaped_as_serde_json_escapes_it() {
        for byte in 0u8..=0x7f {
            let text = format!("a{}b", byte as char);
            let mut ours = String::new();
            push_escaped_str(&mut ours, &text);
            assert_eq!(ours, serde_jsons(&text), "byte {byte:#04x}");
            assert_eq!(needs_escaping(&text), ours != text, "byte {byte:#04x}");
        }
    }

    #[test]
    fn the_eight_byte_scan_finds_what_the_byte_scan_finds_at_every_place() {
        for character in ['\0', '\u{1f}', ' ', '!', '"', '#', '[', '\\', ']', '\u{7f}', 'é', '€', '\u{1F4B3}'] {
            for place in 0..20 {
                let text: String = (0..20).map(|at| if at == place { character } else { 'a' }).collect();
                let expected = text.bytes().any(escaped);
                assert_eq!(needs_escaping(&text), expected, "{character:?} at {place}");
            }
        }
    }

    #[test]
    fn text_beyond_ascii_is_written_as_it_is() {
        let text = "Zoë \u{1F4B3} \"quoted\" \\ \u{7f}\u{80}\u{2028} end\n";
        let mut ours = Vec::new();
        push_escaped(&mut ours, text);
        assert_eq!(String::from_utf8(ours).unwrap(), serde_jsons(text));
    }
}
