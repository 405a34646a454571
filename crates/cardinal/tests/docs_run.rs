//! Docs run as pasted: every shell block of README.md and docs/ marked
//! `<!-- runnable: FIXTURE -->` (the line before its fence) runs in bash against what FIXTURE
//! names, with the built `cardinal` first on `PATH` (as after the README's `cargo install`).
//! A document's blocks of one fixture run in order in one shell, so later blocks see the
//! variables earlier ones set, as a reader pasting them into one terminal would.
//!
//! Fixtures:
//! - `sandbox`: a fresh sandbox server on `cardinal.db` in the working directory, first run done;
//! - `rotate-sqlite`: the same, stopped (a key rotation needs the servers stopped);
//! - `rotate-postgres`: a sandbox server on a fresh PostgreSQL schema (`CARDINAL_DATABASE`,
//!   `CARDINAL_CARD_KEY` exported as for `serve`), first run done, stopped;
//! - `operator`: a fresh production server on SQLite, `CARDINAL_OPERATOR_TOKEN` and
//!   `CARDINAL_PUBLIC_URL` exported as its operator would have them.
//!
//! A marker may add `; expect: TEXT`: the group's output must contain TEXT.

mod common;
mod server;

use server::{temp_dir, Server};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Block {
    file: String,
    line: usize,
    fixture: String,
    expect: Vec<String>,
    code: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn documents() -> Vec<PathBuf> {
    let root = root();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The marked blocks of every document, in order.
fn runnable_blocks() -> Vec<Block> {
    let root = root();
    let mut blocks = Vec::new();
    for path in documents() {
        let file = path.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let marker = lines[i].trim().strip_prefix("<!-- runnable:").and_then(|m| m.strip_suffix("-->"));
            let (Some(marker), Some(fence)) = (marker, lines.get(i + 1)) else {
                i += 1;
                continue;
            };
            assert!(
                matches!(fence.trim(), "```sh" | "```bash"),
                "{file}:{}: a runnable marker before no shell block",
                i + 1
            );
            let mut parts = marker.split(';').map(str::trim);
            let fixture = parts.next().unwrap().to_owned();
            let expect = parts.filter_map(|p| p.strip_prefix("expect:")).map(|e| e.trim().to_owned()).collect();
            let body: Vec<&str> = lines[i + 2..].iter().take_while(|l| l.trim() != "```").copied().collect();
            // A block indented in a list item is pasted without its indentation.
            let indent = fence.len() - fence.trim_start().len();
            let code = body.iter().map(|l| l.get(indent..).unwrap_or(l.trim_start())).collect::<Vec<_>>().join("\n");
            blocks.push(Block { file: file.clone(), line: i + 2, fixture, expect, code });
            i += body.len() + 2;
        }
    }
    blocks
}

/// The blocks of one fixture, grouped by document, in document order.
fn groups(fixture: &str) -> Vec<(String, Vec<Block>)> {
    let mut groups: Vec<(String, Vec<Block>)> = Vec::new();
    for block in runnable_blocks().into_iter().filter(|b| b.fixture == fixture) {
        match groups.last_mut() {
            Some((file, blocks)) if *file == block.file => blocks.push(block),
            _ => groups.push((block.file.clone(), vec![block])),
        }
    }
    groups
}

/// Whether the tools the docs' blocks use are here (`.ci/run` installs them; elsewhere a
/// missing one skips these tests, saying so).
fn tools_present() -> bool {
    let missing: Vec<&str> = ["bash", "curl", "jq"]
        .into_iter()
        .filter(|tool| Command::new(tool).arg("--version").output().is_err())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI has {missing:?}");
    eprintln!("skipped: the docs' shell blocks need {missing:?}");
    false
}

/// Runs a group's blocks in one bash, in `dir`, with `env`; panics with the output on failure.
fn run_group(file: &str, blocks: &[Block], dir: &Path, env: &[(&str, String)]) -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cardinal")).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut script = String::from("set -euo pipefail\n");
    for block in blocks {
        script.push_str(&format!("# {file}:{}\n{}\n", block.line, block.code));
    }
    let mut command = Command::new("bash");
    command.arg("-c").arg(&script).current_dir(dir).env("PATH", path);
    for name in ["CARDINAL_DATABASE", "CARDINAL_CARD_KEY", "CARDINAL_ADMIN_TOKEN", "CARDINAL_OPERATOR_TOKEN"] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("bash runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let lines: Vec<String> = blocks.iter().map(|b| b.line.to_string()).collect();
    let context = format!("{file} (blocks at lines {})\n--- stdout\n{stdout}\n--- stderr\n{stderr}", lines.join(", "));
    assert!(output.status.success(), "a runnable block failed: {context}");
    assert!(!stderr.contains("jq: error") && !stderr.contains("parse error"), "jq could not read an answer: {context}");
    for expected in blocks.iter().flat_map(|b| &b.expect) {
        assert!(stdout.contains(expected.as_str()), "the output lacks {expected:?}: {context}");
    }
    eprintln!("{file}: {} runnable block(s) ran", blocks.len());
    stdout.into_owned()
}

#[test]
fn every_marker_names_a_known_fixture() {
    let known = ["sandbox", "rotate-sqlite", "rotate-postgres", "operator"];
    let blocks = runnable_blocks();
    for block in &blocks {
        assert!(
            known.contains(&block.fixture.as_str()),
            "{}:{}: unknown fixture {}",
            block.file,
            block.line,
            block.fixture
        );
    }
    assert!(blocks.len() >= 15, "most shell blocks are runnable: {} are", blocks.len());
}

#[test]
fn sandbox_blocks_run_as_pasted() {
    if !tools_present() {
        return;
    }
    for (file, blocks) in groups("sandbox") {
        let dir = temp_dir();
        let mut server = Server::start(&dir);
        server.wait_for("These credentials are saved in");
        run_group(&file, &blocks, &dir, &[]);
        server.terminate();
    }
}

#[test]
fn operator_blocks_run_as_pasted() {
    if !tools_present() {
        return;
    }
    for (file, blocks) in groups("operator") {
        let dir = temp_dir();
        let token = "docs-operator-token-0123456789abcdef";
        let key = common::CARD_KEY;
        let server = Server::start_with(
            &dir,
            &[("CARDINAL_MODE", "production"), ("CARDINAL_OPERATOR_TOKEN", token), ("CARDINAL_CARD_KEY", key)],
        );
        let env = [("CARDINAL_OPERATOR_TOKEN", token.to_owned()), ("CARDINAL_PUBLIC_URL", server.base.clone())];
        run_group(&file, &blocks, &dir, &env);
        server.terminate();
    }
}

#[test]
fn sqlite_key_rotation_runs_as_documented_and_every_card_opens() {
    if !tools_present() {
        return;
    }
    let groups = groups("rotate-sqlite");
    assert!(!groups.is_empty(), "docs/production.md documents a SQLite rotation");
    for (file, blocks) in groups {
        let dir = temp_dir();
        let mut first = Server::start(&dir);
        first.wait_for("These credentials are saved in");
        first.terminate();
        let old_key = std::fs::read_to_string(dir.join("cardinal.key")).unwrap();
        run_group(&file, &blocks, &dir, &[]);
        let new_key = std::fs::read_to_string(dir.join("cardinal.key")).unwrap();
        assert_ne!(old_key.trim(), new_key.trim(), "the key changed");
        let database = dir.join("cardinal.db");
        let vault = server::vault(&new_key);
        let cards = server::sealed_cards(&database);
        assert!(!cards.is_empty());
        for (id, pan, cvv) in &cards {
            assert!(vault.open(*id, pan).is_some() && vault.open(*id, cvv).is_some(), "card {id} opens");
        }
        let mut server = Server::start(&dir);
        server.wait_for("Demo credentials:");
        server.terminate();
    }
}

#[test]
fn postgres_key_rotation_runs_as_documented_and_every_card_opens() {
    if !tools_present() {
        return;
    }
    let Some((url, schema)) = common::postgres_schema("docs_rotation") else { return };
    let database = common::in_schema(&url, &schema);
    let groups = groups("rotate-postgres");
    assert!(!groups.is_empty(), "docs/production.md documents a PostgreSQL rotation");
    for (file, blocks) in groups {
        let dir = temp_dir();
        // A first run seeds the demo organization's cards under the current key.
        let mut first = common::start(&database, &dir);
        common::first_run_credentials(&dir);
        first.child.kill().unwrap();
        let _ = first.child.wait();
        let env = [("CARDINAL_DATABASE", database.clone()), ("CARDINAL_CARD_KEY", common::CARD_KEY.to_owned())];
        let mut blocks = blocks;
        // What the operator exported last is the key the servers get next.
        blocks.last_mut().unwrap().code.push_str("\nprintf %s \"$CARDINAL_CARD_KEY\" > key-after-rotation");
        run_group(&file, &blocks, &dir, &env);
        let new_key = std::fs::read_to_string(dir.join("key-after-rotation")).unwrap();
        assert_ne!(new_key.trim(), common::CARD_KEY);
        let check = Command::new(env!("CARGO_BIN_EXE_cardinal"))
            .args(["keys", "check", "--database", &database, "--card-key", &new_key])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&check.stdout);
        assert!(check.status.success() && said.contains("OK"), "{said}{}", String::from_utf8_lossy(&check.stderr));
        // Every card opens: a server with the new key shows each card's number.
        let server = common::start_with_key(&database, &dir, new_key.trim());
        let cards = common::every_card_number_opens(&server.address, &dir);
        assert!(cards >= 8, "{cards} cards opened");
        let old = common::start_refused(&database, &dir, common::CARD_KEY);
        assert!(old.contains("does not match"), "the old key is refused: {old}");
    }
}

/// The first block of `language` in a document.
fn first_block(file: &str, language: &str) -> String {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let start = text.find(&format!("```{language}\n")).unwrap_or_else(|| panic!("{file} has a {language} block"));
    let rest = &text[start + language.len() + 4..];
    rest[..rest.find("```").unwrap()].to_owned()
}

const VECTOR_HEADER: &str = "t=1704110400,v1=56aff06dc227db80d6568a5070f912c601c31f20451745d257cbc0b5dfa93805";

#[test]
fn the_python_signature_check_accepts_qontos_test_vector_and_refuses_it_late() {
    let check = format!(
        "{}\nheader = {VECTOR_HEADER:?}\nbody = b'{{\"test\":\"data\"}}'\n\
         assert verify('test-secret', header, body, now=1704110400)\n\
         assert not verify('test-secret', header, body, now=1704110400 + 301)\n\
         assert not verify('other-secret', header, body, now=1704110400)\n\
         assert not verify('test-secret', 't=1704110400', body, now=1704110400)\n\
         assert not verify('test-secret', header, body)\nprint('ok')\n",
        first_block("docs/webhooks.md", "python")
    );
    let Ok(output) = Command::new("python3").args(["-c", &check]).output() else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI has python3");
        return eprintln!("skipped: no python3");
    };
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_node_signature_check_accepts_qontos_test_vector_and_refuses_it_late() {
    let check = format!(
        "{}\nconst header = {VECTOR_HEADER:?};\nconst body = Buffer.from('{{\"test\":\"data\"}}');\n\
         const assert = require('node:assert');\n\
         assert(verify('test-secret', header, body, {{ now: 1704110400 }}));\n\
         assert(!verify('test-secret', header, body, {{ now: 1704110400 + 301 }}));\n\
         assert(!verify('other-secret', header, body, {{ now: 1704110400 }}));\n\
         assert(!verify('test-secret', 't=1704110400,v1=00', body, {{ now: 1704110400 }}));\n\
         assert(!verify('test-secret', header, body));\nconsole.log('ok');\n",
        first_block("docs/webhooks.md", "js")
    );
    let Ok(output) = Command::new("node").args(["-e", &check]).output() else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI has node");
        return eprintln!("skipped: no node");
    };
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
