//! cardinal-json writes what serde_json writes, byte for byte, for every serde data type.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

fn same<T: Serialize + ?Sized>(value: &T) {
    let theirs = serde_json::to_string(value).expect("serde_json writes it");
    let ours = cardinal_json::to_string(value).expect("cardinal-json writes it");
    assert_eq!(ours, theirs);
    assert_eq!(cardinal_json::to_vec(value).unwrap(), theirs.into_bytes());
}

fn both_refuse<T: Serialize + ?Sized>(value: &T) {
    assert!(serde_json::to_string(value).is_err());
    assert!(cardinal_json::to_string(value).is_err());
}

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Newtype(u32);

#[derive(Serialize)]
struct Pair(i8, &'static str);

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Plain,
    Wrapped(u8),
    Tuple(u8, bool),
    Fields { a: Option<u8>, b: Vec<u8> },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Tagged {
    Card { id: u32, nickname: Option<String> },
    Other,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Either {
    Number(f64),
    Text(String),
}

#[derive(Serialize)]
struct Everything {
    yes: bool,
    no: bool,
    small: i8,
    negative: i64,
    huge: u128,
    tiny: i128,
    float: f64,
    single: f32,
    letter: char,
    text: String,
    nothing: Option<u8>,
    something: Option<Option<u8>>,
    unit: (),
    unit_struct: Unit,
    newtype: Newtype,
    pair: Pair,
    kinds: Vec<Kind>,
    tagged: Vec<Tagged>,
    either: Vec<Either>,
    #[serde(flatten)]
    flattened: BTreeMap<String, u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    empty: Vec<u8>,
    empty_map: BTreeMap<u8, u8>,
}

#[test]
fn every_serde_data_type_is_written_alike() {
    same(&Everything {
        yes: true,
        no: false,
        small: -128,
        negative: i64::MIN,
        huge: u128::MAX,
        tiny: i128::MIN,
        float: 0.1,
        single: 1.5,
        letter: '"',
        text: "Zoë\t\u{1}\u{1F4B3}".into(),
        nothing: None,
        something: Some(None),
        unit: (),
        unit_struct: Unit,
        newtype: Newtype(7),
        pair: Pair(-1, "x"),
        kinds: vec![
            Kind::Plain,
            Kind::Wrapped(1),
            Kind::Tuple(2, true),
            Kind::Fields { a: Some(3), b: vec![4, 5] },
            Kind::Fields { a: None, b: vec![] },
        ],
        tagged: vec![Tagged::Card { id: 1, nickname: Some("A \"card\"".into()) }, Tagged::Other],
        either: vec![Either::Number(2.0), Either::Text("two".into())],
        flattened: [("extra".to_string(), 1), ("more\n".to_string(), 2)].into(),
        skipped: None,
        empty: vec![],
        empty_map: BTreeMap::new(),
    });
}

#[test]
fn floats_are_written_alike_and_non_finite_ones_as_null() {
    for float in [0.0, -0.0, 1.0, -2.5, 0.1 + 0.2, 1e21, 1e-7, 123456789.125, f64::MAX, f64::MIN_POSITIVE, f64::EPSILON]
    {
        same(&float);
        same(&(float as f32));
    }
    for special in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        same(&special);
        same(&(special as f32));
    }
}

/// A map whose keys serialize as what they hold: floats, newtypes and options as keys.
struct Keyed<K>(Vec<(K, u8)>);

impl<K: Serialize> Serialize for Keyed<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[test]
fn map_keys_are_written_alike_or_refused_alike() {
    same(&BTreeMap::from([(1u8, "one"), (200, "two hundred")]));
    same(&BTreeMap::from([(-5i64, 1), (i64::MAX, 2)]));
    same(&BTreeMap::from([(u128::MAX, 1)]));
    same(&BTreeMap::from([(true, 1), (false, 0)]));
    same(&BTreeMap::from([('k', 1), ('"', 2)]));
    same(&BTreeMap::from([(Kind::Plain, 1)]));
    same(&BTreeMap::from([("tab\tkey", 1)]));
    same(&Keyed(vec![(1.5f64, 1), (-0.0, 2), (1e21, 3)]));
    same(&Keyed(vec![(Newtype(3), 1)]));
    same(&Keyed(vec![(Some("some"), 1)]));
    both_refuse(&Keyed(vec![(f64::NAN, 1)]));
    both_refuse(&Keyed(vec![(None::<u8>, 1)]));
    both_refuse(&Keyed(vec![((), 1)]));
    both_refuse(&BTreeMap::from([(Kind::Wrapped(1), 1)]));
    both_refuse(&BTreeMap::from([(vec![1u8], 1)]));
}

#[test]
fn bytes_are_an_array_of_numbers() {
    struct Bytes(&'static [u8]);
    impl Serialize for Bytes {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
    same(&Bytes(b"\x00\x7f\xff"));
    same(&Bytes(b""));
}

#[test]
fn a_json_value_is_written_alike() {
    let value: serde_json::Value =
        serde_json::from_str(r#"{"b":[1,-2,3.5,1e300,null,true,"x\u0000y"],"a":{"nested":{"deep":[]}},"c":"é\"\\/"}"#)
            .unwrap();
    same(&value);
}

/// Text of every kind, drawn from a fixed seed: ASCII with its control characters, quotes and
/// backslashes, and characters of two, three and four bytes.
#[test]
fn drawn_strings_are_written_alike() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: Vec<char> =
        (0u32..0x80).filter_map(char::from_u32).chain(['é', '€', '\u{2028}', '\u{1F4B3}']).collect();
    for _ in 0..2000 {
        let len = (next() % 40) as usize;
        let text: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
        same(&text);
        same(&BTreeMap::from([(text.clone(), text.as_str())]));
    }
}
