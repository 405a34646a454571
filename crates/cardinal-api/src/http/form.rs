//! `application/x-www-form-urlencoded` bodies and queries the OAuth endpoints take, parsed
//! by `form_urlencoded`. RFC 6749 §3.1: a parameter sent twice is refused, and one sent
//! empty is as if it were absent. U+0000 is refused, as everywhere (spec §1.1): PostgreSQL
//! cannot store it.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Form {
    values: HashMap<String, String>,
}

impl Form {
    /// The parameters, or the name of the first one given twice.
    pub fn parse(bytes: &[u8]) -> Result<Form, String> {
        let mut values = HashMap::new();
        for (name, value) in form_urlencoded::parse(bytes) {
            if name.contains('\0') || value.contains('\0') {
                return Err(format!("{} must not contain the character U+0000", name.replace('\0', "")));
            }
            if value.is_empty() {
                continue;
            }
            if values.insert(name.clone().into_owned(), value.into_owned()).is_some() {
                return Err(format!("{name} is given more than once"));
            }
        }
        Ok(Form { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn owned(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_absent() {
        let form = Form::parse(b"a=1&b=&c=x%20y").unwrap();
        assert_eq!((form.get("a"), form.get("b"), form.get("c")), (Some("1"), None, Some("x y")));
        assert_eq!(Form::parse(b"a=1&a=2").unwrap_err(), "a is given more than once");
        assert_eq!(Form::parse(b"nonce=a%00b").unwrap_err(), "nonce must not contain the character U+0000");
    }
}
