//! Issuing a card, for a member's request and for the control API's seeding alike: a fresh
//! PAN and CVV are generated and sealed here, and only their ciphertexts leave.

use crate::secrets::{new_cvv, new_pan, CardVault};
use cardinal_domain::issuing::Blueprint;
use cardinal_domain::{Card, CardLevel, Cents};
use cardinal_store::{CardSecrets, Membership, NewCard};
use jiff::{tz::TimeZone, Timestamp};
use uuid::Uuid;

/// Issues a card: PAN and CVV are generated, sealed, and only their ciphertexts leave here.
#[allow(clippy::too_many_arguments)]
pub fn card(
    vault: &CardVault,
    level: CardLevel,
    holder: &Membership,
    bank_account_id: Uuid,
    initiator_id: Uuid,
    payment_monthly_limit: Cents,
    atm_monthly_limit: Cents,
    now: Timestamp,
    tz: &TimeZone,
) -> (Card, CardSecrets) {
    let id = crate::ids::random();
    let pan = new_pan();
    let secrets = CardSecrets {
        pan_ciphertext: vault.seal(id, &pan),
        cvv_ciphertext: vault.seal(id, &new_cvv()),
        pan_fingerprint: vault.fingerprint(&pan),
    };
    let blueprint = Blueprint {
        id,
        organization_id: holder.organization_id,
        bank_account_id,
        holder_id: holder.id,
        holder_first_name: holder.first_name.clone(),
        holder_last_name: holder.last_name.clone(),
        initiator_id,
        level,
        payment_monthly_limit,
        atm_monthly_limit,
        last_digits: pan[pan.len() - 4..].to_owned(),
    };
    (Card::issue(blueprint, now, tz), secrets)
}

/// Gives a card a new PAN and CVV (after a PAN collision), keeping everything else.
pub fn reissue_pan(vault: &CardVault, new: &mut NewCard) {
    let pan = new_pan();
    new.secrets = CardSecrets {
        pan_ciphertext: vault.seal(new.card.id, &pan),
        cvv_ciphertext: vault.seal(new.card.id, &new_cvv()),
        pan_fingerprint: vault.fingerprint(&pan),
    };
    new.card.last_digits = pan[pan.len() - 4..].to_owned();
}
