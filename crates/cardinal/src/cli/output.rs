//! What commands print: lines and tables for people, JSON for scripts.

use qonto_client::wire::Card;
use serde::Serialize;

/// Prints `value` as JSON with `--json`, else the lines `human` makes.
pub fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        println!("{}", human(value));
    }
}

/// Rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect())];
    out.extend(rows.iter().map(|r| line(r.clone())));
    out.join("\n")
}

/// Euros with their cents: `12.50`.
pub fn euros(amount: cardinal_domain::Cents) -> String {
    let sign = if amount.0 < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", amount.0.abs() / 100, amount.0.abs() % 100)
}

/// One card on one line.
pub fn card_line(card: &Card) -> String {
    format!(
        "{} {} {} •••• {}{} (spent {} of {} € this month)",
        card.id,
        card.card_level,
        card.status,
        card.last_digits.as_deref().unwrap_or("····"),
        if card.nickname.is_empty() { String::new() } else { format!(" \"{}\"", card.nickname) },
        euros(card.payment_monthly_spent.0),
        card.payment_monthly_limit.0 .0 / 100,
    )
}

pub fn card_row(card: &Card) -> Vec<String> {
    vec![
        card.id.to_string(),
        card.card_level.to_string(),
        card.status.to_string(),
        card.last_digits.clone().unwrap_or_default(),
        card.nickname.clone(),
        format!("{}/{}", euros(card.payment_monthly_spent.0), card.payment_monthly_limit.0 .0 / 100),
    ]
}

pub const CARD_HEADER: [&str; 6] = ["ID", "LEVEL", "STATUS", "LAST4", "NICKNAME", "SPENT/LIMIT €"];
