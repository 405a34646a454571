//! `cardinal keys rotate` re-seals every card's number and CVV under a new card-data key;
//! `cardinal keys check` tells whether a key opens a database.
//!
//! The database says where a rotation stands, so a kill at any moment loses nothing:
//! - `card_key_check` names the key the cards are committed to (see `database::CARD_KEY_CHECK`);
//! - `card_key_rotating_to` names the new key while cards move to it.
//!
//! The command generates the new key itself and writes it to a file only its owner can read
//! (and reads it back) before it records the target or moves a card: a rotation never starts
//! towards a key the operator was not handed. Each card is re-sealed in a transaction of its
//! batch, so at every moment each card opens under the old or the new key. A server refuses to
//! start while a rotation is unfinished; running the command again resumes it from the same
//! file, then commits to the new key: `card_key_check` becomes the new key's, a SQLite
//! database's key file takes the new key, and the marker goes.

use crate::config::{CheckArgs, RotateArgs};
use crate::database::{
    create_private, open_store, sibling_with, without_password, write_private, SideFiles, CARD_KEY_CHECK,
};
use cardinal_api::secrets::{CardKey, CardVault};
use cardinal_store::{CardSecrets, Store};
use std::path::{Path, PathBuf};
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
    let new_key_file = new_key_file(&args, &files);
    let keys = Keys::gather(&args, &files, &new_key_file)?;
    let pending = store.setting(CARD_KEY_ROTATING_TO).await.map_err(|e| e.to_string())?;
    let (old, new) = match &pending {
        // Cards were all moved and the check committed: only the tidying was interrupted.
        Some(target) if *target == committed => {
            let new = keys.find(target).ok_or_else(|| missing_key("new", target, &new_key_file))?;
            return finish(store.as_ref(), &files, &new_key_file, new).await;
        }
        Some(target) => {
            let old = keys.find(&committed).ok_or_else(|| missing_key("current", &committed, &new_key_file))?;
            let new = keys.find(target).ok_or_else(|| missing_key("new", target, &new_key_file))?;
            println!("Resuming the interrupted rotation to key {target}.");
            (old, new)
        }
        None => {
            let old = keys.find(&committed).ok_or_else(|| missing_key("current", &committed, &new_key_file))?;
            let new = hand_over_new_key(&new_key_file, args.new_key.as_deref(), &old)?;
            println!(
                "The new card-data key (check value {}) is in {} (readable by you only): keep it, the cards are \
                 moving to it.",
                new.check_value(),
                shown(&new_key_file)
            );
            store.set_setting(CARD_KEY_ROTATING_TO, Some(&new.check_value())).await.map_err(|e| e.to_string())?;
            (old, new)
        }
    };
    let moved = reseal_all(store.as_ref(), &old, &new, args.batch.max(1)).await?;
    let secrets = reseal_webhook_secrets(store.as_ref(), &old, &new).await?;
    let signing_key =
        cardinal_api::app::oauth::id_token::reseal(store.as_ref(), &CardVault::new(&old), &CardVault::new(&new))
            .await?;
    store.set_setting(CARD_KEY_CHECK, Some(&new.check_value())).await.map_err(|e| e.to_string())?;
    let signing_key = if signing_key { " and the OpenID signing key" } else { "" };
    println!("Re-sealed {moved} cards and {secrets} webhook secrets{signing_key} under key {}.", new.check_value());
    finish(store.as_ref(), &files, &new_key_file, new).await
}

/// Commits to the new key: a SQLite database's key file takes it (replaced in one rename),
/// then the marker goes.
async fn finish(store: &dyn Store, files: &SideFiles, new_key_file: &Path, new: CardKey) -> Result<(), String> {
    if let Some(key_file) = &files.key {
        let staged = sibling_with(key_file, "staged");
        write_private(&staged, &new.to_base64())?;
        std::fs::rename(&staged, key_file)
            .map_err(|e| format!("cannot move {} to {}: {e}", staged.display(), key_file.display()))?;
        if Some(new_key_file) == next_file(files).as_deref() {
            let _ = std::fs::remove_file(new_key_file);
        }
    }
    store.set_setting(CARD_KEY_ROTATING_TO, None).await.map_err(|e| e.to_string())?;
    match &files.key {
        Some(path) => println!("Done: the card-data key is now {} (in {}).", new.check_value(), path.display()),
        None => println!(
            "Done: every card is sealed under key {}, which is in {}. Give it to every server \
             (CARDINAL_CARD_KEY), keep it in your secret store, then delete that file.",
            new.check_value(),
            shown(new_key_file)
        ),
    }
    Ok(())
}

fn missing_key(which: &str, check: &str, new_key_file: &Path) -> String {
    format!(
        "the {which} card-data key (check value {check}) is not among the keys given: pass the current key \
         with --card-key, and the new one's file with --new-key-file (looked for {})",
        shown(new_key_file)
    )
}

/// A path as the operator can find it again: absolute.
fn shown(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned()).display().to_string()
}

/// `cardinal.key.next`: the new key while a rotation moves cards to it.
fn next_file(files: &SideFiles) -> Option<PathBuf> {
    files.key.as_deref().map(|key| sibling_with(key, "next"))
}

/// `--new-key-file`, or `<database>.key.next` beside a SQLite file, or `./cardinal.key.next`.
fn new_key_file(args: &RotateArgs, files: &SideFiles) -> PathBuf {
    args.new_key_file.clone().or_else(|| next_file(files)).unwrap_or_else(|| PathBuf::from("cardinal.key.next"))
}

/// The key a fresh rotation moves to, in `path` before this returns. A key already there that
/// is not the current one was left by a start killed before it recorded its target: it is the
/// one to use (it may already be in the operator's hands). Otherwise the key is `given` or
/// generated, written, and read back; a file that cannot be written stops the rotation here.
fn hand_over_new_key(path: &Path, given: Option<&str>, old: &CardKey) -> Result<CardKey, String> {
    let given = given.map(CardKey::parse).transpose()?;
    if let Some(left) = read_key(path)? {
        if left.check_value() == old.check_value() {
            return Err(format!(
                "{} holds the current key (from an earlier rotation): move it to your secret store, or name \
                 another file with --new-key-file",
                shown(path)
            ));
        }
        if given.as_ref().is_some_and(|g| g.check_value() != left.check_value()) {
            return Err(format!("{} holds another new key than --new-key: remove one of them", shown(path)));
        }
        return Ok(left);
    }
    let new = given.unwrap_or_else(CardKey::generate);
    if new.check_value() == old.check_value() {
        return Err("the new key is the current key".into());
    }
    create_private(path, &new.to_base64())
        .map_err(|e| format!("{e}: the rotation did not start, so no key can be lost"))?;
    sync_parent(path);
    match read_key(path)? {
        Some(back) if back.check_value() == new.check_value() => Ok(new),
        _ => Err(format!("{} does not read back as the key written: the rotation did not start", shown(path))),
    }
}

/// The key in a file; `None` when there is no file. A file that is not a key is an error: it
/// is not this command's to overwrite.
fn read_key(path: &Path) -> Result<Option<CardKey>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => CardKey::parse(&text).map(Some).map_err(|e| {
            format!("{} exists but is not a card key ({e}): move it away or name another --new-key-file", shown(path))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", shown(path))),
    }
}

/// The file's name is durable too once its directory is synced (a crash keeps the file).
fn sync_parent(path: &Path) {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
}

/// Every key the command can see: flags, the key file and the new-key file.
struct Keys {
    known: Vec<CardKey>,
}

impl Keys {
    fn gather(args: &RotateArgs, files: &SideFiles, new_key_file: &Path) -> Result<Keys, String> {
        let mut known = Vec::new();
        for text in args.card_key.iter().chain(&args.new_key) {
            known.push(CardKey::parse(text)?);
        }
        for path in files.key.iter().map(PathBuf::as_path).chain([new_key_file]) {
            if let Ok(text) = std::fs::read_to_string(path) {
                known.push(CardKey::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?);
            }
        }
        Ok(Keys { known })
    }

    fn find(&self, check: &str) -> Option<CardKey> {
        self.known.iter().find(|k| k.check_value() == check).cloned()
    }
}

/// `cardinal keys generate --out FILE`: a fresh key, in a new file only its owner can read.
pub fn generate(path: &Path) -> Result<(), String> {
    let key = CardKey::generate();
    create_private(path, &key.to_base64())
        .map_err(|e| format!("{e} (a key file is never overwritten: name a new file with --out)"))?;
    sync_parent(path);
    println!("A new card-data key (check value {}) is in {} (readable by you only).", key.check_value(), shown(path));
    Ok(())
}

/// `cardinal keys check`: whether the key `serve` would be given opens the database, from the
/// check value the database records and by opening a sample of its cards. Exit status 0 only
/// when a server would start with it.
pub async fn check(args: CheckArgs) -> Result<(), String> {
    let files = SideFiles::for_database(&args.database)?;
    let key = match (&args.card_key, &files.key) {
        (Some(text), _) => CardKey::parse(text)?,
        (None, Some(path)) => read_key(path)?.ok_or_else(|| format!("no key given and no key file {}", shown(path)))?,
        (None, None) => return Err("give the key to check with --card-key or CARDINAL_CARD_KEY".into()),
    };
    let store = open_store(&args.database, crate::database::COMMAND_TIMEOUT).await?;
    let database = without_password(&args.database);
    let recorded = store.setting(CARD_KEY_CHECK).await.map_err(|e| e.to_string())?;
    let pending = store.setting(CARD_KEY_ROTATING_TO).await.map_err(|e| e.to_string())?;
    let (opened, sampled) = open_sample(store.as_ref(), &key).await?;
    let check = key.check_value();
    match (recorded, pending) {
        (_, Some(target)) if target == check => Err(format!(
            "key {check} is the one an unfinished rotation on {database} moves the cards to ({opened} of \
             {sampled} sampled cards open with it): run `cardinal keys rotate` again to finish, then serve with it"
        )),
        (Some(recorded), Some(target)) if recorded == check => Err(format!(
            "key {check} is {database}'s current key, but a rotation to key {target} is unfinished: run \
             `cardinal keys rotate` again to finish it"
        )),
        (Some(recorded), _) if recorded != check => {
            Err(format!("key {check} does not open {database}: its cards are sealed with key {recorded}"))
        }
        _ if opened < sampled => Err(format!(
            "key {check} matches {database}'s check value, yet only {opened} of {sampled} sampled cards open with it"
        )),
        (recorded, _) => {
            let note = if recorded.is_none() { " (no server has recorded a key there yet)" } else { "" };
            println!("OK: key {check} opens {database}{note}: {opened} of {sampled} sampled cards open with it.");
            Ok(())
        }
    }
}

/// How many of the first 100 cards open under `key`, of how many there are.
async fn open_sample(store: &dyn Store, key: &CardKey) -> Result<(usize, usize), String> {
    let vault = CardVault::new(key);
    let cards = store.sealed_cards(None, 100).await.map_err(|e| e.to_string())?;
    let opened = cards.iter().filter(|(id, sealed)| vault.open(*id, &sealed.pan_ciphertext).is_some()).count();
    Ok((opened, cards.len()))
}

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

/// Moves every card still under `old` to `new`, batch by batch; returns how many moved.
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
