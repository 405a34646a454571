//! Card-key rotation on PostgreSQL, as an operator lives it: the command hands the new key
//! over in a file before any card moves, a rotation killed midway finishes from that file (or
//! from the key read out of it, after the file was moved), and a rotation whose key cannot be
//! written never starts.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn cardinal(dir: &Path, database: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cardinal"));
    command
        .args(args)
        .current_dir(dir)
        .env("CARDINAL_DATABASE", database)
        .env("CARDINAL_CARD_KEY", common::CARD_KEY)
        .env_remove("CARDINAL_NEW_CARD_KEY")
        .env_remove("CARDINAL_NEW_CARD_KEY_FILE");
    command
}

fn said(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cardinal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A first run seeds the demo organization; `bench seed` adds `cards` more.
fn seeded(database: &str, dir: &Path, cards: usize) {
    let mut first = common::start(database, dir);
    common::first_run_credentials(dir);
    first.child.kill().unwrap();
    let _ = first.child.wait();
    let seed = cardinal(dir, database, &["bench", "seed", "--cards", &cards.to_string(), "--database", database])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(seed.status.success(), "{}", said(&seed));
}

#[test]
fn a_killed_rotation_finishes_from_the_key_file_it_handed_over() {
    let Some((url, schema)) = common::postgres_schema("keys_killed") else { return };
    let database = common::in_schema(&url, &schema);
    let dir = temp_dir("keys-killed");
    seeded(&database, &dir, 20_000);

    let rotate = |file: &str| cardinal(&dir, &database, &["keys", "rotate", "--new-key-file", file]);
    // Kill it at growing moments until a kill lands after the target was recorded.
    let (mut interrupted, mut midway) = (0, false);
    for delay_ms in [20u64, 80, 150, 250, 400, 600] {
        let mut running = rotate("new.key").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        assert!(running.try_wait().unwrap().is_none(), "the rotation finished before a kill at {delay_ms} ms");
        running.kill().unwrap();
        let _ = running.wait();
        interrupted += 1;
        let check = cardinal(&dir, &database, &["keys", "check"]).output().unwrap();
        if said(&check).contains("unfinished") {
            // The key the cards move to is already in the operator's hands.
            assert!(dir.join("new.key").exists(), "a recorded target's key is in the file");
            midway = true;
            break;
        }
    }
    assert!(midway, "one of {interrupted} kills landed mid-way");
    let refused = common::start_refused(&database, &dir, common::CARD_KEY);
    assert!(refused.contains("unfinished"), "a server refuses a half-rotated database: {refused}");

    // The operator moved the file to their secret store: resuming names it where it now is.
    std::fs::rename(dir.join("new.key"), dir.join("moved.key")).unwrap();
    let lost = rotate("elsewhere.key").output().unwrap();
    assert!(!lost.status.success(), "a resume without the new key is refused: {}", said(&lost));
    assert!(said(&lost).contains("moved") || said(&lost).contains("not among the keys"), "{}", said(&lost));
    let finished = rotate("moved.key").output().unwrap();
    assert!(finished.status.success(), "{}", said(&finished));
    let new_key = std::fs::read_to_string(dir.join("moved.key")).unwrap();

    let check = cardinal(&dir, &database, &["keys", "check", "--card-key", new_key.trim()]).output().unwrap();
    assert!(check.status.success(), "{}", said(&check));
    let old = cardinal(&dir, &database, &["keys", "check"]).output().unwrap();
    assert!(!old.status.success() && said(&old).contains("does not open"), "{}", said(&old));
    let server = common::start_with_key(&database, &dir, new_key.trim());
    assert!(common::every_card_number_opens(&server.address, &dir) >= 8);
    eprintln!("PostgreSQL key rotation: {interrupted} kills, finished from the moved key file");
}

#[test]
fn a_rotation_that_cannot_hand_over_its_key_never_starts() {
    let Some((url, schema)) = common::postgres_schema("keys_unwritable") else { return };
    let database = common::in_schema(&url, &schema);
    let dir = temp_dir("keys-unwritable");
    seeded(&database, &dir, 10);

    let nowhere =
        cardinal(&dir, &database, &["keys", "rotate", "--new-key-file", "no/such/dir/new.key"]).output().unwrap();
    assert!(!nowhere.status.success());
    assert!(said(&nowhere).contains("did not start"), "{}", said(&nowhere));
    // A file holding the current key is not overwritten either.
    std::fs::write(dir.join("current.key"), common::CARD_KEY).unwrap();
    let current = cardinal(&dir, &database, &["keys", "rotate", "--new-key-file", "current.key"]).output().unwrap();
    assert!(!current.status.success() && said(&current).contains("holds the current key"), "{}", said(&current));
    assert_eq!(std::fs::read_to_string(dir.join("current.key")).unwrap(), common::CARD_KEY);

    // Nothing was recorded: the old key still serves every card.
    let check = cardinal(&dir, &database, &["keys", "check"]).output().unwrap();
    assert!(check.status.success(), "{}", said(&check));
    let server = common::start(&database, &dir);
    assert!(common::every_card_number_opens(&server.address, &dir) >= 8);
}
