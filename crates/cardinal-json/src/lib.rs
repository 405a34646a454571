//! Compact JSON for serde types: byte for byte what `serde_json::to_vec` writes, at a fraction
//! of its cost.
//!
//! Profiles of card writes (issue 27) put a quarter of a lock/unlock's instructions in
//! serde_json: the answer's card and the stored card document, 1.4–1.8 KB each. Most of it was
//! escaping strings, keys included, which serde_json does a byte at a time through a lookup
//! table. Here a string is first checked in one pass the compiler vectorizes, and written whole
//! when nothing in it needs escaping — nearly always: keys, ids, timestamps, enum names.
//! Everything else (numbers by `itoa` and `zmij`, `null` for non-finite floats, the forms of
//! enums, map keys) is serde_json's, and the tests compare the two outputs.

mod escape;
mod ser;

pub use escape::{needs_escaping, push_escaped, push_escaped_str};
pub use ser::Error;

use serde::Serialize;

/// `value` as compact JSON, as `serde_json::to_vec` writes it.
pub fn to_vec<T: ?Sized + Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(256);
    write(&mut out, value)?;
    Ok(out)
}

/// `value` as compact JSON text, as `serde_json::to_string` writes it.
pub fn to_string<T: ?Sized + Serialize>(value: &T) -> Result<String, Error> {
    let bytes = to_vec(value)?;
    // Only whole `&str`s, ASCII escapes and ASCII digits are ever written.
    String::from_utf8(bytes).map_err(|_| Error::custom_message("the JSON written is not UTF-8"))
}

/// Appends `value` as compact JSON to `out`. On an error, `out` may hold part of it.
pub fn write<T: ?Sized + Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut ser::Writer { out })
}
