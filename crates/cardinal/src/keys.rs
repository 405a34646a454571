//! `cardinal keys rotate`: re-seal every card's number and CVV under a new card-data key.
//!
//! The database says where a rotation stands, so a kill at any moment loses nothing:
//! - `card_key_check` names the key the cards are committed to (see `database::CARD_KEY_CHECK`);
//! - `card_key_rotating_to` names the new key while cards move to it.
//!
//! Each card is re-sealed in a transaction of its batch, so at every moment each card opens
//! under the old or the new key. A server refuses to start while a rotation is unfinished;
//! running the command again resumes it (the new key is kept in `<database>.key.next` for
//! SQLite, or given again with `--new-key`), then commits to the new key: `card_key_check`
//! becomes the new key's, the `.next` file becomes the key file, and the marker goes.

use crate::config::RotateArgs;
use crate::database::{open_store, sibling_with, write_private, SideFiles, CARD_KEY_CHECK};
use cardinal_api::secrets::{CardKey, CardVault};
use cardinal_store::{CardSecrets, Store};
use std::path::PathBuf;
use uuid::Uuid;

pub use crate::database::CARD_KEY_ROTATING_TO;

pub async fn rotate(args: RotateArgs) -> Result<(), String> {
    let files = SideFiles::for_database(&args.database)?;
    // A server holding this SQLite file would keep sealing cards with the old key.
    let _exclusive = files.lock_database()?;
    let store = open_store(&args.database, crate::database::COMMAND_TIMEOUT).await?;
    let committed = store
        .setting(CARD_KEY_CHECK)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("this database has no card-key check value yet: start `cardinal serve` on it once first")?;
    let keys = Keys::gather(&args, &files)?;
    let pending = store.setting(CARD_KEY_ROTATING_TO).await.map_err(|e| e.to_string())?;
    let (old, new) = match &pending {
        // Cards were all moved and the check committed: only the tidying was interrupted.
        Some(target) if *target == committed => {
            let new = keys.find(target).ok_or_else(|| missing_key("new", target))?;
            return finish(store.as_ref(), &files, new).await;
        }
        Some(target) => {
            let old = keys.find(&committed).ok_or_else(|| missing_key("current", &committed))?;
            let new = keys.find(target).ok_or_else(|| missing_key("new", target))?;
            println!("Resuming the interrupted rotation to key {target}.");
            (old, new)
        }
        None => {
            let old = keys.find(&committed).ok_or_else(|| missing_key("current", &committed))?;
            let new = keys.new_key(&files, &old)?;
            store.set_setting(CARD_KEY_ROTATING_TO, Some(&new.check_value())).await.map_err(|e| e.to_string())?;
            (old, new)
        }
    };
    let moved = reseal_all(store.as_ref(), &old, &new, args.batch.max(1)).await?;
    let secrets = reseal_webhook_secrets(store.as_ref(), &old, &new).await?;
    store.set_setting(CARD_KEY_CHECK, Some(&new.check_value())).await.map_err(|e| e.to_string())?;
    println!("Re-sealed {moved} cards and {secrets} webhook secrets under key {}.", new.check_value());
    finish(store.as_ref(), &files, new).await
}

/// Commits to the new key: its file takes the key file's place, then the marker goes.
async fn finish(store: &dyn Store, files: &SideFiles, new: CardKey) -> Result<(), String> {
    if let (Some(key_file), Some(next)) = (&files.key, next_file(files)) {
        if next.exists() {
            std::fs::rename(&next, key_file)
                .map_err(|e| format!("cannot move {} to {}: {e}", next.display(), key_file.display()))?;
        }
    }
    store.set_setting(CARD_KEY_ROTATING_TO, None).await.map_err(|e| e.to_string())?;
    match &files.key {
        Some(path) => println!("Done: the card-data key is now {} (in {}).", new.check_value(), path.display()),
        None => println!("Done: restart every server with the new key (check value {}).", new.check_value()),
    }
    Ok(())
}

fn missing_key(which: &str, check: &str) -> String {
    format!(
        "the {which} card-data key (check value {check}) is not among the keys given: \
         pass it with --card-key or --new-key"
    )
}

/// `cardinal.key.next`: the new key while a rotation moves cards to it.
fn next_file(files: &SideFiles) -> Option<PathBuf> {
    files.key.as_deref().map(|key| sibling_with(key, "next"))
}

/// Every key the command can see: flags, the key file and its `.next`.
struct Keys {
    known: Vec<CardKey>,
    new_flag: Option<CardKey>,
}

impl Keys {
    fn gather(args: &RotateArgs, files: &SideFiles) -> Result<Keys, String> {
        let mut known = Vec::new();
        if let Some(text) = &args.card_key {
            known.push(CardKey::parse(text)?);
        }
        let new_flag = args.new_key.as_deref().map(CardKey::parse).transpose()?;
        known.extend(new_flag.clone());
        for path in files.key.iter().chain(next_file(files).as_ref()) {
            if let Ok(text) = std::fs::read_to_string(path) {
                known.push(CardKey::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?);
            }
        }
        Ok(Keys { known, new_flag })
    }

    fn find(&self, check: &str) -> Option<CardKey> {
        self.known.iter().find(|k| k.check_value() == check).cloned()
    }

    /// The key to move to: `--new-key`, a `.next` file left by a start that was killed before
    /// it recorded its target, or (SQLite) a fresh one saved to `.next` before any card uses it.
    fn new_key(&self, files: &SideFiles, old: &CardKey) -> Result<CardKey, String> {
        let next = next_file(files);
        let left_over = next.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).map(|t| CardKey::parse(&t));
        let new = match (&self.new_flag, left_over, &next) {
            (Some(given), _, _) => given.clone(),
            (None, Some(left_over), _) => left_over?,
            (None, None, Some(_)) => CardKey::generate(),
            (None, None, None) => return Err("a PostgreSQL database's new key must be given with --new-key".into()),
        };
        if new.check_value() == old.check_value() {
            return Err("the new key is the current key".into());
        }
        if let Some(path) = &next {
            write_private(path, &new.to_base64())?;
        }
        Ok(new)
    }
}

/// Moves every card still under `old` to `new`, batch by batch; returns how many moved.
/// Webhook subscriptions' signing secrets, sealed with the same key: few, in one transaction.
/// A secret the new key opens already moved (a resumed rotation).
async fn reseal_webhook_secrets(store: &dyn Store, old: &CardKey, new: &CardKey) -> Result<usize, String> {
    let (old, new) = (CardVault::new(old), CardVault::new(new));
    let mut resealed = Vec::new();
    for (id, sealed) in store.webhook_secrets().await.map_err(|e| e.to_string())? {
        if new.open(id, &sealed).is_some() {
            continue;
        }
        let secret =
            old.open(id, &sealed).ok_or_else(|| format!("webhook subscription {id}: its secret does not open"))?;
        resealed.push((id, new.seal(id, &secret)));
    }
    let count = resealed.len();
    store.reseal_webhook_secrets(resealed).await.map_err(|e| e.to_string())?;
    Ok(count)
}

async fn reseal_all(store: &dyn Store, old: &CardKey, new: &CardKey, batch: u32) -> Result<u64, String> {
    let (old, new) = (CardVault::new(old), CardVault::new(new));
    let progress = Progress::start();
    let (mut after, mut moved, mut seen) = (None::<Uuid>, 0u64, 0u64);
    loop {
        let page = store.sealed_cards(after, batch).await.map_err(|e| e.to_string())?;
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        seen += page.len() as u64;
        let mut resealed = Vec::new();
        for (id, sealed) in &page {
            if let Some(secrets) = reseal(*id, sealed, &old, &new)? {
                resealed.push((*id, secrets));
            }
        }
        moved += resealed.len() as u64;
        store.reseal_cards(resealed).await.map_err(|e| e.to_string())?;
        progress.update(seen, page.len() as u64, moved);
    }
    progress.finish(seen, moved);
    Ok(moved)
}

/// The card's secrets sealed under `new`; `None` when they already are.
fn reseal(id: Uuid, sealed: &CardSecrets, old: &CardVault, new: &CardVault) -> Result<Option<CardSecrets>, String> {
    if new.open(id, &sealed.pan_ciphertext).is_some() {
        return Ok(None);
    }
    let (Some(pan), Some(cvv)) = (old.open(id, &sealed.pan_ciphertext), old.open(id, &sealed.cvv_ciphertext)) else {
        return Err(format!("card {id} opens under neither the current nor the new key; nothing more was changed"));
    };
    Ok(Some(CardSecrets {
        pan_ciphertext: new.seal(id, &pan),
        cvv_ciphertext: new.seal(id, &cvv),
        pan_fingerprint: new.fingerprint(&pan),
    }))
}

/// A spinner with counts on a terminal; a plain line every 10,000 cards otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn start() -> Progress {
        let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = on_terminal.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    /// After a batch that brought the count from `seen - batch` to `seen`.
    fn update(&self, seen: u64, batch: u64, moved: u64) {
        match &self.bar {
            Some(bar) => bar.set_message(format!("{seen} cards checked, {moved} re-sealed")),
            None if seen / 10_000 > (seen - batch) / 10_000 => {
                eprintln!("keys rotate: {seen} cards checked, {moved} re-sealed")
            }
            None => {}
        }
    }

    fn finish(&self, seen: u64, moved: u64) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(format!("{seen} cards checked, {moved} re-sealed"));
        }
    }
}
