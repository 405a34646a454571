//! `GET /v2/bank_accounts/{id}/iban_certificate`: the account's IBAN certificate as a one-page
//! PDF (holder, IBAN, BIC, bank, date), in the language of `?locale=` or, by default, of the
//! organization's country — as Qonto serves it.

use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::params::Params;
use crate::{AppState, Mode};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use cardinal_store::{BankAccount, Organization};
use jiff::civil::Date;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use uuid::Uuid;

/// The locales Qonto's endpoint documents.
pub const LOCALES: [&str; 7] = ["en", "fr", "it", "de", "es", "pt", "nl"];

pub async fn download(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let locale = locale(&Params::parse(query.as_deref()), &principal.organization)?;
    let not_found = || ApiError::not_found("bank account");
    let id = Uuid::parse_str(&raw).map_err(|_| not_found())?;
    let account = state.store.bank_account(principal.organization.id, id).await?.ok_or_else(not_found)?;
    if account.status != "active" {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("an IBAN certificate exists only for an active account; this one is {}", account.status),
        ));
    }
    let organization = &principal.organization;
    let issued_on = organization.now().to_zoned(organization.time_zone()).date();
    let certificate = Certificate {
        organization,
        account: &account,
        issued_on,
        text: Text::of(locale),
        sandbox: state.config.mode == Mode::Sandbox,
    };
    Ok(pdf_response(certificate.render(), &format!("iban_certificate_{}.pdf", account.iban)))
}

/// `?locale=`, else the language of the organization's country, else English.
fn locale(params: &Params, organization: &Organization) -> ApiResult<&'static str> {
    if let Some(wanted) = params.one("locale") {
        return LOCALES.iter().find(|l| **l == wanted).copied().ok_or_else(|| {
            ApiError::parameter(
                "not_in_list",
                "locale",
                format!("locale {wanted:?} is not one of: {}", LOCALES.join(", ")),
            )
        });
    }
    let country = organization.country.to_ascii_lowercase();
    let by_country = match country.as_str() {
        "fr" | "be" | "lu" | "mc" => "fr",
        "it" => "it",
        "de" | "at" => "de",
        "es" => "es",
        "pt" => "pt",
        "nl" => "nl",
        _ => "en",
    };
    Ok(by_country)
}

fn pdf_response(bytes: Vec<u8>, filename: &str) -> Response {
    crate::http::files::download(bytes, "application/pdf", filename)
}

struct Certificate<'a> {
    organization: &'a Organization,
    account: &'a BankAccount,
    issued_on: Date,
    text: Text,
    sandbox: bool,
}

const A4: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 64.0;

impl Certificate<'_> {
    fn render(&self) -> Vec<u8> {
        let (catalog, pages, page, regular, bold, contents, info) =
            (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5), Ref::new(6), Ref::new(7));
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(pages);
        pdf.pages(pages).kids([page]).count(1);
        let mut p = pdf.page(page);
        p.media_box(Rect::new(0.0, 0.0, A4.0, A4.1)).parent(pages).contents(contents);
        p.resources().fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold);
        p.finish();
        // The 14 standard fonts need no embedding; WinAnsi covers the languages served.
        for (id, font) in [(regular, b"Helvetica".as_slice()), (bold, b"Helvetica-Bold".as_slice())] {
            pdf.type1_font(id).base_font(Name(font)).encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.document_info(info).title(pdf_writer::TextStr(self.text.title)).producer(pdf_writer::TextStr("Cardinal"));
        pdf.stream(contents, &self.content());
        pdf.finish()
    }

    fn content(&self) -> Vec<u8> {
        let t = &self.text;
        let mut c = Content::new();
        let mut y = A4.1 - MARGIN - 20.0;
        line(&mut c, b"F2", 20.0, MARGIN, y, t.title);
        y -= 28.0;
        line(&mut c, b"F1", 10.0, MARGIN, y, &format!("{} {}", t.issued_on, self.issued_on));
        y -= 40.0;
        line(&mut c, b"F1", 11.0, MARGIN, y, t.statement);
        y -= 36.0;
        let iban = grouped(&self.account.iban);
        let rows = [
            (t.holder, self.organization.legal_name.as_str()),
            (t.account, self.account.name.as_str()),
            ("IBAN", iban.as_str()),
            ("BIC", self.account.bic.as_str()),
            (t.bank, bank_name(&self.account.bic)),
            (t.currency, self.account.currency.as_str()),
        ];
        for (label, value) in rows {
            line(&mut c, b"F1", 10.0, MARGIN, y, label);
            line(&mut c, b"F2", 12.0, MARGIN + 150.0, y, value);
            y -= 26.0;
        }
        c.set_stroke_gray(0.8).move_to(MARGIN, y).line_to(A4.0 - MARGIN, y).stroke();
        if self.sandbox {
            line(&mut c, b"F1", 9.0, MARGIN, MARGIN, t.sandbox_note);
        }
        c.finish().to_vec()
    }
}

fn line(c: &mut Content, font: &[u8], size: f32, x: f32, y: f32, text: &str) {
    c.begin_text().set_font(Name(font), size).next_line(x, y).show(Str(&win_ansi(text))).end_text();
}

/// The IBAN in groups of four, as printed on bank documents.
fn grouped(iban: &str) -> String {
    iban.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

fn bank_name(bic: &str) -> &'static str {
    match bic.starts_with("QNTO") {
        true => "Qonto (Olinda SAS)",
        false => "-",
    }
}

/// Text in the standard fonts' WinAnsi encoding: Latin-1 maps to itself, the euro sign to
/// 0x80; anything else cannot be drawn with them and shows as `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|ch| match ch as u32 {
            0x20..=0x7e | 0xa0..=0xff => ch as u8,
            0x20ac => 0x80,
            _ => b'?',
        })
        .collect()
}

struct Text {
    title: &'static str,
    issued_on: &'static str,
    statement: &'static str,
    holder: &'static str,
    account: &'static str,
    bank: &'static str,
    currency: &'static str,
    sandbox_note: &'static str,
}

impl Text {
    fn of(locale: &str) -> Text {
        let t = |title, issued_on, statement, holder, account, bank, currency, sandbox_note| Text {
            title,
            issued_on,
            statement,
            holder,
            account,
            bank,
            currency,
            sandbox_note,
        };
        match locale {
            "fr" => t(
                "Attestation de coordonnées bancaires (RIB)",
                "Émise le",
                "Nous certifions que le compte ci-dessous est ouvert dans nos livres au nom de :",
                "Titulaire",
                "Compte",
                "Banque",
                "Devise",
                "Document de sandbox émis par Cardinal : sans valeur bancaire.",
            ),
            "it" => t(
                "Certificato IBAN",
                "Emesso il",
                "Certifichiamo che il conto seguente è aperto presso di noi a nome di:",
                "Intestatario",
                "Conto",
                "Banca",
                "Valuta",
                "Documento sandbox emesso da Cardinal: privo di valore bancario.",
            ),
            "de" => t(
                "IBAN-Bescheinigung",
                "Ausgestellt am",
                "Wir bestätigen, dass das folgende Konto bei uns geführt wird für:",
                "Kontoinhaber",
                "Konto",
                "Bank",
                "Währung",
                "Sandbox-Dokument von Cardinal: kein gültiger Banknachweis.",
            ),
            "es" => t(
                "Certificado de IBAN",
                "Emitido el",
                "Certificamos que la cuenta siguiente está abierta en nuestros libros a nombre de:",
                "Titular",
                "Cuenta",
                "Banco",
                "Divisa",
                "Documento de sandbox emitido por Cardinal: sin valor bancario.",
            ),
            "pt" => t(
                "Certificado de IBAN",
                "Emitido em",
                "Certificamos que a conta abaixo está aberta nos nossos registos em nome de:",
                "Titular",
                "Conta",
                "Banco",
                "Moeda",
                "Documento de sandbox emitido pelo Cardinal: sem valor bancário.",
            ),
            "nl" => t(
                "IBAN-certificaat",
                "Uitgegeven op",
                "Wij verklaren dat de onderstaande rekening bij ons geopend is op naam van:",
                "Rekeninghouder",
                "Rekening",
                "Bank",
                "Valuta",
                "Sandboxdocument van Cardinal: geen geldig bankbewijs.",
            ),
            _ => t(
                "IBAN certificate",
                "Issued on",
                "We certify that the account below is held in our books in the name of:",
                "Account holder",
                "Account",
                "Bank",
                "Currency",
                "Sandbox document issued by Cardinal: not valid as proof of bank details.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_encoded_for_the_standard_fonts() {
        assert_eq!(win_ansi("Émise €5"), vec![0xc9, b'm', b'i', b's', b'e', b' ', 0x80, b'5']);
        assert_eq!(win_ansi("日本"), b"??".to_vec());
    }

    #[test]
    fn ibans_print_in_groups_of_four() {
        assert_eq!(grouped("FR7616958000016400000000123"), "FR76 1695 8000 0164 0000 0000 123");
    }
}
