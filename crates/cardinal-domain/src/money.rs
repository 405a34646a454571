//! Money is integer cents everywhere inside Cardinal; euros exist only on the wire.

use serde::{Deserialize, Serialize};

/// An amount in euro cents. Never a float: limits and balances must add up to the cent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub const fn euros(whole: i64) -> Cents {
        Cents(whole * 100)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl std::ops::Add for Cents {
    type Output = Cents;
    fn add(self, other: Cents) -> Cents {
        Cents(self.0 + other.0)
    }
}

impl std::ops::Sub for Cents {
    type Output = Cents;
    fn sub(self, other: Cents) -> Cents {
        Cents(self.0 - other.0)
    }
}

impl std::fmt::Display for Cents {
    /// Euros with at most two decimals, as the wire prints them: `1000`, `12.5`, `12.55`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (euros, cents) = (abs / 100, abs % 100);
        match cents {
            0 => write!(f, "{sign}{euros}"),
            c if c % 10 == 0 => write!(f, "{sign}{euros}.{}", c / 10),
            c => write!(f, "{sign}{euros}.{c:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_the_wire() {
        assert_eq!(Cents(100_000).to_string(), "1000");
        assert_eq!(Cents(1250).to_string(), "12.5");
        assert_eq!(Cents(1255).to_string(), "12.55");
        assert_eq!(Cents(5).to_string(), "0.05");
        assert_eq!(Cents(-1255).to_string(), "-12.55");
    }
}
