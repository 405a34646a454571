//! Operating Cardinal: ports, files, keys, logs, connections and TLS, through the built binary.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

mod server;
use server::*;

#[test]
fn a_busy_port_suggests_bind_and_creates_nothing() {
    let (first_dir, second_dir) = (temp_dir(), temp_dir());
    let mut first = Server::start(&first_dir);
    first.wait_for("These credentials are saved in");
    let address = first.base.strip_prefix("http://").unwrap().to_owned();
    let stderr = refused_start(&second_dir, &address, &[]);
    assert!(stderr.contains("already in use") && stderr.contains("--bind"), "{stderr}");
    let created: Vec<_> = std::fs::read_dir(&second_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(created.is_empty(), "nothing is created before the port is bound: {created:?}");
    first.terminate();
}

#[test]
fn a_second_server_on_the_same_sqlite_file_refuses() {
    let dir = temp_dir();
    let mut first = Server::start(&dir);
    first.wait_for("These credentials are saved in");
    let stderr = refused_start(&dir, "127.0.0.1:0", &[]);
    assert!(stderr.contains("in use by another Cardinal process"), "{stderr}");
    let (status, _, _) = first.request("GET", "/readyz", None);
    assert_eq!(status, 200, "the first server is untouched");
    first.terminate();
    // Once it stopped, the file is free again.
    let mut again = Server::start(&dir);
    again.wait_for("Demo credentials:");
    again.terminate();
}

#[test]
fn a_missing_or_wrong_card_key_refuses_to_start() {
    let dir = temp_dir();
    let mut first = Server::start(&dir);
    first.wait_for("These credentials are saved in");
    first.terminate();
    let key_file = dir.join("cardinal.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let stderr = refused_start(&dir, "127.0.0.1:0", &[]);
    assert!(stderr.contains("is missing") && stderr.contains("cardinal.key"), "{stderr}");
    assert!(!key_file.exists(), "no new key was generated for sealed cards");
    let wrong = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let stderr = refused_start(&dir, "127.0.0.1:0", &[("CARDINAL_CARD_KEY", wrong)]);
    assert!(stderr.contains("does not match"), "{stderr}");
    assert!(!stderr.contains(wrong) && !stderr.contains(key.trim()), "keys are never printed: {stderr}");
    std::fs::write(&key_file, &key).unwrap();
    let mut restored = Server::start(&dir);
    restored.wait_for("Demo credentials:");
    restored.terminate();
}

#[test]
fn a_later_start_that_generates_the_admin_token_saves_it() {
    let dir = temp_dir();
    let mut first = Server::start_with(&dir, &[("CARDINAL_ADMIN_TOKEN", "given-by-the-operator")]);
    first.wait_for("These credentials are saved in");
    first.terminate();
    let credentials_path = dir.join("cardinal.credentials.json");
    let before: Value = serde_json::from_str(&std::fs::read_to_string(&credentials_path).unwrap()).unwrap();
    assert!(before["operator_token"].is_null(), "a configured token is the operator's to keep");
    let mut later = Server::start(&dir);
    later.wait_for("Operator token:");
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&credentials_path).unwrap()).unwrap();
    let token = after["operator_token"].as_str().expect("the generated token is saved");
    assert_eq!(after["control_api_admin_token"].as_str(), Some(token), "under its former name too");
    assert_eq!(after["base_url"], later.base.as_str(), "the base URL is today's");
    let card = after["card_id"].as_str().unwrap();
    let (status, _, _) =
        later.request("GET", &format!("/_operator/cards/{card}/events"), Some(&format!("Bearer {token}")));
    assert_eq!(status, 200);
    let (status, _, _) =
        later.request("GET", &format!("/_sandbox/cards/{card}/events"), Some(&format!("Bearer {token}")));
    assert_eq!(status, 200, "the former sandbox path still answers");
    later.terminate();
}

#[test]
fn an_unwritable_database_path_is_named() {
    let dir = temp_dir();
    let output = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database", "sqlite:///proc/cardinal-nowhere/cards.db"])
        .env_remove("CARDINAL_CARD_KEY")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/proc/cardinal-nowhere/cards.db"), "{stderr}");
}

#[test]
fn logs_have_no_colours_off_a_terminal_and_json_logs_say_what_started() {
    let dir = temp_dir();
    let mut pretty = cardinal(&dir, "127.0.0.1:0", &[]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let lines = stderr_until(&mut pretty, "started");
    let _ = pretty.kill();
    let _ = pretty.wait();
    assert!(lines.iter().any(|l| l.contains("started")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "no escape codes in a pipe: {lines:?}");

    let mut json = cardinal(&dir, "127.0.0.1:0", &[("CARDINAL_LOG_FORMAT", "json")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_until(&mut json, "\"started\"");
    let _ = json.kill();
    let _ = json.wait();
    let started: Value = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "started")
        .unwrap_or_else(|| panic!("a JSON start-up event: {lines:?}"));
    let fields = &started["fields"];
    assert!(fields["address"].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")), "{fields}");
    assert_eq!(fields["mode"], "sandbox");
    assert!(fields["database"].as_str().is_some_and(|d| d.ends_with("cardinal.db")), "{fields}");
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn idle_and_half_sent_connections_do_not_lock_out_a_normal_client() {
    let dir = temp_dir();
    let mut server = start_with_flags(&dir, &["--idle-timeout", "1", "--max-connections", "300"]);
    server.wait_for("These credentials are saved in");
    let address = server.base.strip_prefix("http://").unwrap().to_owned();
    // 2,000 connections: most say nothing, some send half a request head and stop.
    let mut hogs = Vec::new();
    for i in 0..2_000 {
        let Ok(mut stream) = TcpStream::connect(&address) else { break };
        if i % 4 == 0 {
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
        }
        hogs.push(stream);
    }
    assert!(hogs.len() >= 1_000, "opened {} connections", hogs.len());
    let started = std::time::Instant::now();
    let (status, body, _) = server.request("GET", "/healthz", None);
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < Duration::from_secs(15), "served in {:?}", started.elapsed());
    eprintln!("idle connections: {} open, a normal client served in {:?}", hogs.len(), started.elapsed());
    // The silent ones were closed by the server: reading them ends.
    let first = &mut hogs[1];
    first.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buffer = [0u8; 64];
    let closed = match first.read(&mut buffer) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "an idle connection is closed by the server, not left open");
    drop(hogs);
    server.terminate();
}

#[test]
fn a_body_that_stops_arriving_gets_408_not_a_5xx() {
    let dir = temp_dir();
    let mut server = start_with_flags(&dir, &["--idle-timeout", "1"]);
    server.wait_for("These credentials are saved in");
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cardinal.credentials.json")).unwrap()).unwrap();
    let owner = credentials["owner_access_token"].as_str().unwrap();
    let card = credentials["card_id"].as_str().unwrap();
    let address = server.base.strip_prefix("http://").unwrap().to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        stream,
        "PATCH /v2/cards/{card}/nickname HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {owner}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"card\":"
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut raw = String::new();
    let _ = stream.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 408"), "{raw}");
    assert!(raw.contains("request_timeout"), "{raw}");
    assert!(started.elapsed() < Duration::from_secs(10), "answered in {:?}", started.elapsed());
    server.terminate();
}

#[test]
fn key_rotation_survives_kills_and_every_card_stays_readable() {
    let dir = temp_dir();
    let mut first = Server::start(&dir);
    first.wait_for("These credentials are saved in");
    first.terminate();
    let database = dir.join("cardinal.db");
    let old_key = std::fs::read_to_string(dir.join("cardinal.key")).unwrap();
    let seeded = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["bench", "seed", "--cards", "3000", "--database"])
        .arg(format!("sqlite://{}", database.display()))
        .env("CARDINAL_CARD_KEY", old_key.trim())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(seeded.success());
    let total = sealed_cards(&database).len();
    assert!(total > 3000);

    // Kill the rotation at growing moments; after each kill every card opens under a key.
    let (old, mut tried_kills, mut mixed) = (vault(&old_key), 0, 0);
    for delay_ms in [5u64, 40, 120, 250, 400] {
        let mut running = rotate_command(&dir).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = running.try_wait().unwrap().is_some();
        let _ = running.kill();
        let _ = running.wait();
        if finished {
            break;
        }
        tried_kills += 1;
        let Ok(next_key) = std::fs::read_to_string(dir.join("cardinal.key.next")) else { continue };
        let new = vault(&next_key);
        let mut under_new = 0;
        for (id, pan, cvv) in sealed_cards(&database) {
            let opens = |v: &cardinal_api::secrets::CardVault| v.open(id, &pan).is_some() && v.open(id, &cvv).is_some();
            assert!(opens(&old) || opens(&new), "card {id} is unreadable after a kill at {delay_ms} ms");
            under_new += usize::from(opens(&new));
        }
        mixed += usize::from(under_new > 0 && under_new < total);
        // Meanwhile a server refuses to start on the half-rotated database. (A kill before the
        // rotation recorded its target leaves every card under the old key: a server may start.)
        if rotation_pending(&database) {
            let stderr = refused_start(&dir, "127.0.0.1:0", &[]);
            assert!(stderr.contains("keys rotate"), "{stderr}");
        }
    }
    assert!(tried_kills >= 2, "the rotation was interrupted at least twice");
    assert!(mixed >= 1, "at least one kill landed mid-way, with cards under both keys");
    eprintln!("key rotation: {tried_kills} kills, {mixed} mid-way, {total} cards, 0 unreadable after any kill");

    let finished = rotate_command(&dir).output().unwrap();
    assert!(finished.status.success(), "{}", String::from_utf8_lossy(&finished.stderr));
    assert!(!dir.join("cardinal.key.next").exists());
    let new_key = std::fs::read_to_string(dir.join("cardinal.key")).unwrap();
    assert_ne!(new_key.trim(), old_key.trim());
    let new = vault(&new_key);
    let cards = sealed_cards(&database);
    assert_eq!(cards.len(), total);
    for (id, pan, cvv) in &cards {
        assert!(new.open(*id, pan).is_some() && new.open(*id, cvv).is_some(), "card {id} is under the new key");
        assert!(old.open(*id, pan).is_none(), "card {id} no longer opens with the old key");
    }

    // The server starts with the new key and shows a card's number.
    let mut server = Server::start(&dir);
    server.wait_for("Demo credentials:");
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cardinal.credentials.json")).unwrap()).unwrap();
    let owner = format!("Bearer {}", credentials["owner_access_token"].as_str().unwrap());
    let card = credentials["card_id"].as_str().unwrap();
    let (status, link, _) = server.request("GET", &format!("/v2/cards/{card}/data_view"), Some(&owner));
    assert_eq!(status, 200, "{link}");
    let page_path = link["iframe_url"].as_str().unwrap().strip_prefix(&server.base).unwrap().to_owned();
    let address = server.base.strip_prefix("http://").unwrap().to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(stream, "GET {page_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200") && page.contains("id=\"pan\">5117"), "the page shows the number: {page}");
    server.terminate();
}

#[test]
fn tls_self_signed_serves_https_and_says_so() {
    let dir = temp_dir();
    let mut server = start_with_flags(&dir, &["--tls", "self-signed"]);
    assert!(server.base.starts_with("https://"), "the start-up line says https: {}", server.base);
    let tls_line = server.wait_for("TLS: self-signed certificate");
    let cert = dir.join("cardinal.tls.crt");
    assert!(tls_line.contains(&cert.display().to_string()), "{tls_line}");
    let try_line = server.wait_for("/v2/cards -H");
    assert!(try_line.contains(&format!("curl --cacert {} -s", cert.display())), "curl trusts it: {try_line}");
    server.wait_for("These credentials are saved in");
    let curl = |extra: &[&str], path: &str| {
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"])
            .args(extra)
            .arg(format!("{}{path}", server.base))
            .output()
            .unwrap()
    };
    let ok = curl(&["--cacert", cert.to_str().unwrap()], "/healthz");
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "200", "HTTPS with the printed certificate");
    let untrusted = curl(&[], "/healthz");
    assert_ne!(String::from_utf8_lossy(&untrusted.stdout), "200", "an unknown certificate is not trusted");
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cardinal.credentials.json")).unwrap()).unwrap();
    assert!(credentials["base_url"].as_str().unwrap().starts_with("https://"));
    server.terminate();

    // The files it made serve as a configured certificate too; production refuses self-signed.
    let key = dir.join("cardinal.tls.key");
    let configured =
        start_with_flags(&dir, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert!(configured.base.starts_with("https://"));
    configured.terminate();
    let output = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["serve", "--mode", "production", "--tls", "self-signed", "--bind", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite://{}", dir.join("prod.db").display()))
        .env("CARDINAL_CARD_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sandbox"), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_bad_webhook_retry_schedule_refuses_to_start() {
    let dir = temp_dir();
    let stderr = refused_start(&dir, "127.0.0.1:0", &[("CARDINAL_WEBHOOK_RETRY_DELAYS", "1s,soon")]);
    assert!(stderr.contains("--webhook-retry-delays") && stderr.contains("\"soon\""), "{stderr}");
}
