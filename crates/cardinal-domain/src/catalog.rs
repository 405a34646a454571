//! The card designs Cardinal offers per level (names from Qonto's published design codes),
//! and how each one looks. The API serves the images itself.

use crate::card::CardLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Dark,
    Light,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Design {
    pub code: &'static str,
    pub level: CardLevel,
    pub theme: Theme,
    /// `#RRGGBB`: the card's dominant colour, used for gradients in clients and our images.
    pub gradient_hex_color: &'static str,
    /// Whether new cards may still be ordered with it.
    pub is_active: bool,
}

const fn design(code: &'static str, level: CardLevel, theme: Theme, color: &'static str) -> Design {
    Design { code, level, theme, gradient_hex_color: color, is_active: true }
}

/// Every design, the first of each level being that level's default.
pub const DESIGNS: &[Design] = &[
    design("standard.recycled.plastic.2023", CardLevel::Standard, Theme::Dark, "#1D1D1B"),
    design("plus.recycled.plastic.black.2023", CardLevel::Plus, Theme::Dark, "#111111"),
    design("plus.recycled.plastic.silver.2023", CardLevel::Plus, Theme::Light, "#C8C8C8"),
    design("plus.recycled.plastic.lilac.2023", CardLevel::Plus, Theme::Light, "#C7B9E6"),
    design("metal.graphite.black.2019", CardLevel::Metal, Theme::Dark, "#2B2B2B"),
    design("metal.mineral.gray.2024", CardLevel::Metal, Theme::Light, "#8E9196"),
    design("metal.sand.gold.2024", CardLevel::Metal, Theme::Light, "#CDB68A"),
    design("virtual.default.2017", CardLevel::Virtual, Theme::Dark, "#000000"),
    design("virtual.blueberry.2025", CardLevel::Virtual, Theme::Dark, "#3B4CCA"),
    design("virtual.sakura.2025", CardLevel::Virtual, Theme::Light, "#F4B6C2"),
    design("virtual.default.2017", CardLevel::VirtualPartner, Theme::Dark, "#000000"),
    design("flash.default.2021", CardLevel::Flash, Theme::Light, "#F5C242"),
    design("advertising.default.2023", CardLevel::Advertising, Theme::Dark, "#5A3FD8"),
];

pub fn designs_of(level: CardLevel) -> impl Iterator<Item = &'static Design> {
    DESIGNS.iter().filter(move |d| d.level == level)
}

pub fn default_design(level: CardLevel) -> &'static Design {
    designs_of(level).next().expect("every level has a design")
}

/// The design with this code for this level, if the level offers it.
pub fn find(level: CardLevel, code: &str) -> Option<&'static Design> {
    designs_of(level).find(|d| d.code == code)
}

/// Any design with this code, whatever the level (for serving images).
pub fn by_code(code: &str) -> Option<&'static Design> {
    DESIGNS.iter().find(|d| d.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_has_a_default_that_it_offers() {
        for level in CardLevel::ALL {
            let d = default_design(*level);
            assert_eq!(find(*level, d.code), Some(d));
            assert!(d.gradient_hex_color.len() == 7 && d.gradient_hex_color.starts_with('#'));
        }
    }
}
