//! Showing a card's number (spec §3.4): `GET /v2/cards/{id}/data_view` hands out a single-use
//! link valid five minutes; the page behind it is the only place PAN and CVV ever appear.

use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::issuing::audit::audit_event;
use crate::render::page::{self, escape};
use crate::secrets::{hash_secret, new_token};
use crate::v2::cards::{card_for, CardId};
use crate::wire::answers::DataViewLink;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cardinal_domain::CardAction;
use cardinal_store::{Actor, ActorKind, DataViewToken};
use jiff::SignedDuration;
use serde_json::json;

const LIFETIME: SignedDuration = SignedDuration::from_mins(5);
pub const PAGE_PATH: &str = "/card_data";

/// `GET /v2/cards/{id}/data_view` → `{"iframe_url"}`.
pub async fn link(
    State(state): State<AppState>,
    principal: Principal,
    CardId(id): CardId,
    headers: HeaderMap,
) -> ApiResult<Json<DataViewLink>> {
    if principal.kind == cardinal_store::CredentialKind::ApiKey {
        // An API key reads as the owner but is nobody: card numbers are for a member's
        // OAuth token only, so the view can name who saw them (spec §2.3).
        return Err(ApiError::forbidden("card details need a member's OAuth access token; API keys may not see them"));
    }
    let stored = card_for(&state, &principal, id, CardAction::ViewData).await?;
    let token = new_token();
    let now = principal.now();
    state
        .store
        .insert_data_view_token(DataViewToken {
            token_hash: hash_secret(&token),
            card_id: stored.card.id,
            organization_id: principal.organization.id,
            membership_id: principal.membership.id,
            expires_at: now.saturating_add(LIFETIME).unwrap_or(jiff::Timestamp::MAX),
        })
        .await?;
    // The page speaks the language the integrator's request asked for (spec §3.4): the link
    // carries it, so the browser that opens it does not decide. A `lang` added to the link
    // later overrides it (the last one counts).
    let lang = accepted_language(&headers).map(|lang| format!("?lang={lang}")).unwrap_or_default();
    Ok(Json(DataViewLink { iframe_url: format!("{}{PAGE_PATH}/{token}{lang}", state.config.public_url) }))
}

/// `GET /card_data/{token}`: the card's details once, then a "link expired" page (410).
pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = language(query.as_deref(), &headers);
    let text = Text::of(lang);
    let request_id = crate::http::trace::request_id();
    let audit: cardinal_store::DataViewAudit = Box::new(move |stored, member, now| {
        let actor = Actor { kind: ActorKind::Membership, id: Some(member) };
        audit_event(&stored.card, "data_view", actor, Some(stored.card.status(now)), now, &request_id, json!({}))
    });
    let opened = match state.store.open_data_view(&hash_secret(&token), jiff::Timestamp::now(), audit).await {
        Ok(opened) => opened,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some((stored, secrets)) = opened else {
        return html(StatusCode::GONE, lang, &expired_body(&text));
    };
    let card = &stored.card;
    let (Some(pan), Some(cvv)) =
        (state.vault.open(card.id, &secrets.pan_ciphertext), state.vault.open(card.id, &secrets.cvv_ciphertext))
    else {
        tracing::error!(card_id = %card.id, "card data could not be decrypted: wrong card-data key?");
        return ApiError::internal().into_response();
    };
    let holder = card
        .embossed_name
        .clone()
        .unwrap_or_else(|| format!("{} {}", stored.holder.first_name, stored.holder.last_name).to_uppercase());
    let grouped: Vec<String> = pan.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let expiry = format!("{:02}/{:02}", card.exp_month, card.exp_year.rem_euclid(100));
    let body = format!(
        r#"<main class="card"><dl>
<dt>{holder_label}</dt><dd id="holder">{holder}</dd>
<dt>{number_label}</dt><dd id="pan">{pan}</dd>
<div class="row"><div><dt>{expiry_label}</dt><dd id="expiry">{expiry}</dd></div><div><dt>{cvv_label}</dt><dd id="cvv">{cvv}</dd></div></div>
</dl></main>"#,
        holder_label = text.holder,
        number_label = text.number,
        expiry_label = text.expiry,
        cvv_label = text.cvv,
        holder = escape(&holder),
        pan = grouped.join(" "),
    );
    html(StatusCode::OK, lang, &body)
}

fn expired_body(text: &Text) -> String {
    format!(r#"<main class="card expired"><h1>{}</h1><p>{}</p></main>"#, text.expired_title, text.expired_detail)
}

fn html(status: StatusCode, lang: &str, body: &str) -> Response {
    let page = format!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=504">
<title>Card details</title>
<style>
html,body{{margin:0;width:504px;height:460px;overflow:hidden;font-family:Helvetica,Arial,sans-serif;background:#fff;color:#1d1d1b}}
.card{{box-sizing:border-box;width:504px;height:460px;padding:40px}}
dt{{font-size:13px;color:#6b6b6b;margin-top:22px}} dd{{margin:6px 0 0;font-size:24px;letter-spacing:1px;font-variant-numeric:tabular-nums}}
.row{{display:flex;gap:64px}} h1{{font-size:22px}} p{{color:#6b6b6b}}
</style></head><body>{body}</body></html>"#
    );
    page::html(status, page, "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
}

const LANGUAGES: [&str; 6] = ["en", "fr", "it", "es", "de", "pt"];

/// `?lang=`, else the first supported language of `Accept-Language`, else English.
fn language(query: Option<&str>, headers: &HeaderMap) -> &'static str {
    page::language(query, "lang", headers, &LANGUAGES)
}

fn accepted_language(headers: &HeaderMap) -> Option<&'static str> {
    page::accepted_language(headers, &LANGUAGES)
}

struct Text {
    holder: &'static str,
    number: &'static str,
    expiry: &'static str,
    cvv: &'static str,
    expired_title: &'static str,
    expired_detail: &'static str,
}

impl Text {
    fn of(lang: &str) -> Text {
        let t = |holder, number, expiry, cvv, expired_title, expired_detail| Text {
            holder,
            number,
            expiry,
            cvv,
            expired_title,
            expired_detail,
        };
        match lang {
            "fr" => t(
                "Titulaire",
                "Numéro de carte",
                "Date d'expiration",
                "Cryptogramme",
                "Ce lien a expiré",
                "Pour des raisons de sécurité, ce lien ne peut être ouvert qu'une fois. Demandez-en un nouveau.",
            ),
            "it" => t(
                "Titolare",
                "Numero della carta",
                "Data di scadenza",
                "CVV",
                "Questo link è scaduto",
                "Per motivi di sicurezza questo link può essere aperto una sola volta. Richiedine uno nuovo.",
            ),
            "es" => t(
                "Titular",
                "Número de tarjeta",
                "Fecha de caducidad",
                "CVV",
                "Este enlace ha caducado",
                "Por seguridad, este enlace solo puede abrirse una vez. Solicita uno nuevo.",
            ),
            "de" => t(
                "Karteninhaber",
                "Kartennummer",
                "Ablaufdatum",
                "Prüfnummer",
                "Dieser Link ist abgelaufen",
                "Aus Sicherheitsgründen kann dieser Link nur einmal geöffnet werden. Fordern Sie einen neuen an.",
            ),
            "pt" => t(
                "Titular",
                "Número do cartão",
                "Data de validade",
                "CVV",
                "Este link expirou",
                "Por motivos de segurança, este link só pode ser aberto uma vez. Peça um novo.",
            ),
            _ => t(
                "Cardholder",
                "Card number",
                "Expiry date",
                "CVV",
                "This link has expired",
                "For your security this link can be opened only once. Please request a new one.",
            ),
        }
    }
}
