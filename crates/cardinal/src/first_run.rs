//! Sandbox first run: seed a demo organization into an empty database, print how to call it
//! and keep the same credentials in a file beside the database. Later starts point there.

use crate::database::{write_private, SideFiles};
use cardinal_api::operator::organizations::created_organization_body;
use cardinal_api::sandbox::seed::{self, OrganizationPlan};
use cardinal_api::AppState;
use cardinal_domain::Role;
use serde_json::{json, Value};
use std::path::Path;

pub async fn greet(
    state: &AppState,
    files: &SideFiles,
    new_admin_token: Option<&str>,
    staging: bool,
    ca_certificate: Option<&Path>,
) -> Result<(), String> {
    if !state.store.is_empty().await.map_err(|e| e.to_string())? {
        if let Some(path) = &files.credentials {
            refresh_credentials(path, &state.config.public_url, new_admin_token)?;
            match std::fs::canonicalize(path) {
                Ok(found) => println!("Demo credentials: {}", found.display()),
                // Another process (in another directory) made the demo organization: its
                // credentials are in the file it wrote, not here.
                Err(_) => println!(
                    "Demo credentials: not in {} (another Cardinal process on this database wrote them beside \
                     itself); list organizations with GET /_sandbox/organizations and the operator token",
                    std::path::absolute(path).unwrap_or_else(|_| path.clone()).display()
                ),
            }
        }
        if let Some(token) = new_admin_token {
            println!("Operator token: {token}");
        }
        return Ok(());
    }
    let plan = OrganizationPlan {
        legal_name: Some("Cardinal Demo SAS".into()),
        slug: Some("cardinal-demo".into()),
        ..OrganizationPlan::default()
    };
    let created = seed::build(plan, &state.vault, jiff::Timestamp::now());
    let body = serde_json::to_value(created_organization_body(state, &created)).map_err(|e| e.to_string())?;
    match state.store.create_organization(created.seed).await {
        Ok(()) => {}
        // Another process sharing the database seeded it a moment ago: it printed the credentials.
        Err(cardinal_store::StoreError::Conflict(_)) => {
            println!("The demo organization was seeded by another Cardinal process on this database.");
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    }
    let mut summary = summary(&state.config.public_url, &body, new_admin_token, staging);
    if let Some(ca) = ca_certificate {
        // A self-signed certificate: curl must be told to trust it, or the lines fail silently.
        summary["tls_ca_certificate"] = ca.display().to_string().into();
    }
    println!("{}", instructions(&summary));
    if let Some(path) = &files.credentials {
        let text = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
        write_private(path, &text)?;
        println!("These credentials are saved in {}", path.display());
    }
    Ok(())
}

/// A later start keeps the credentials file true: today's base URL (the port may differ),
/// and the admin token when this start generated one (a database whose stored hash was lost,
/// or a first start on a database another process seeded).
fn refresh_credentials(path: &Path, base_url: &str, new_admin_token: Option<&str>) -> Result<(), String> {
    let mut credentials = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str::<Value>(&text).unwrap_or_else(|_| json!({})),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && new_admin_token.is_some() => json!({}),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let Some(fields) = credentials.as_object_mut() else { return Ok(()) };
    let before = fields.clone();
    fields.insert("base_url".into(), base_url.into());
    if let Some(token) = new_admin_token {
        fields.insert("operator_token".into(), token.into());
        fields.insert("control_api_admin_token".into(), token.into());
    }
    if *fields == before {
        return Ok(());
    }
    let text = serde_json::to_string_pretty(&credentials).map_err(|e| e.to_string())?;
    write_private(path, &text)
}

fn token_of(body: &Value, role: Role) -> Value {
    body["memberships"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["role"] == role.as_str()))
        .map(|m| m["access_token"].clone())
        .unwrap_or(Value::Null)
}

fn summary(base_url: &str, body: &Value, admin_token: Option<&str>, staging: bool) -> Value {
    let owner_card = body["cards"]
        .as_array()
        .and_then(|cards| {
            let owner_id = body["memberships"].as_array()?.iter().find(|m| m["role"] == "owner")?["id"].clone();
            cards.iter().find(|c| c["holder_id"] == owner_id && c["card_level"] == "virtual").map(|c| c["id"].clone())
        })
        .unwrap_or(Value::Null);
    json!({
        "base_url": base_url,
        "organization": body["organization"],
        "api_key": format!("{}:{}", body["api_key"]["login"].as_str().unwrap_or_default(), body["api_key"]["secret_key"].as_str().unwrap_or_default()),
        "owner_access_token": token_of(body, Role::Owner),
        "admin_access_token": token_of(body, Role::Admin),
        "memberships": body["memberships"],
        "card_id": owner_card,
        "operator_token": admin_token,
        "control_api_admin_token": admin_token,
        "staging_token_required": staging,
    })
}

fn instructions(s: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let (base, owner, admin, card) =
        (text(&s["base_url"]), text(&s["owner_access_token"]), text(&s["admin_access_token"]), text(&s["card_id"]));
    // With a staging token configured, every /v2 call must carry it (its value is the operator's).
    let staging =
        if s["staging_token_required"] == true { " -H \"X-Qonto-Staging-Token: $CARDINAL_STAGING_TOKEN\"" } else { "" };
    let curl = match s["tls_ca_certificate"].as_str() {
        Some(ca) => format!("curl --cacert {ca}"),
        None => "curl".to_owned(),
    };
    let mut out = format!(
        "\nFirst run: seeded the demo organization {slug}.\n\
         \n  Base URL:            {base}\
         \n  Owner access token:  {owner}\
         \n  Admin access token:  {admin}\
         \n  API key (read-only): {api_key}\
         \n  A card id:           {card}\n\
         \nTry it:\
         \n  {curl} -s {base}/v2/cards -H 'Authorization: Bearer {owner}'{staging}\
         \n  {curl} -s -X PUT {base}/v2/cards/{card}/lock -H 'Authorization: Bearer {owner}'{staging}\
         \n  {curl} -s -X PUT {base}/v2/cards/{card}/unlock -H 'Authorization: Bearer {admin}'{staging}\
         \n\nUnlock needs strong customer authentication: the call above answers 428 with an\
         \nsca_session_token. Keep it, approve it, then repeat the unlock with it:\
         \n  SCA_TOKEN=$({curl} -s -X PUT {base}/v2/cards/{card}/unlock -H 'Authorization: Bearer {admin}'{staging} | jq -r .sca_session_token)\
         \n  {curl} -s -X POST {base}/v2/mocked_sca_sessions/$SCA_TOKEN/allow{staging}\
         \n  {curl} -s -X PUT {base}/v2/cards/{card}/unlock -H 'Authorization: Bearer {admin}' -H \"X-Qonto-Sca-Session-Token: $SCA_TOKEN\"{staging}\n",
        slug = text(&s["organization"]["slug"]),
        api_key = text(&s["api_key"]),
    );
    if let Some(token) = s["operator_token"].as_str() {
        out.push_str(&format!("\n  Operator token (operator and sandbox control API): {token}\n"));
    }
    out
}
