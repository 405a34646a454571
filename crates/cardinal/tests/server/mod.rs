//! Starting the built `cardinal` binary as a user does and talking to it over TCP: what the
//! end-to-end tests share.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub base: String,
    pub lines: mpsc::Receiver<String>,
    pub printed: Vec<String>,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[])
    }

    /// Starts with extra environment variables (`CARDINAL_ADMIN_TOKEN`, …).
    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::started(cardinal(dir, "127.0.0.1:0", env))
    }

    /// Runs `command` and reads the URL it prints first.
    fn started(mut command: Command) -> Server {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start cardinal");
        let lines = lines_of(child.stdout.take().unwrap());
        let mut server = Server { child, base: String::new(), lines, printed: vec![] };
        let first = server.next_line();
        let url = first
            .strip_prefix("Cardinal listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"));
        server.base = url.to_owned();
        server
    }

    pub fn next_line(&mut self) -> String {
        let line = self.lines.recv_timeout(Duration::from_secs(20)).expect("the server printed a line in time");
        self.printed.push(line.clone());
        line
    }

    /// Reads printed lines until one contains `needle`.
    pub fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self.next_line();
            if line.contains(needle) {
                return line;
            }
        }
    }

    pub fn request(&self, method: &str, path: &str, auth: Option<&str>) -> (u16, Value, String) {
        self.request_with(method, path, auth, "")
    }

    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        extra_headers: &str,
    ) -> (u16, Value, String) {
        let address = self.base.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let auth_line = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth_line}{extra_headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null), head.to_owned())
    }

    /// Graceful stop, as an init system does it.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "cardinal exits cleanly on SIGTERM, got {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// `cardinal serve` on `dir/cardinal.db` with only the environment given.
pub fn cardinal(dir: &Path, bind: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cardinal"));
    command
        .args(["serve", "--bind", bind, "--database"])
        .arg(format!("sqlite://{}", dir.join("cardinal.db").display()))
        .env_remove("CARDINAL_ADMIN_TOKEN")
        .env_remove("CARDINAL_STAGING_TOKEN")
        .env_remove("CARDINAL_CARD_KEY")
        .env_remove("CARDINAL_MODE");
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// A start that must fail: its stderr. A server that starts instead is stopped (after 20 s at
/// most) and the test fails, rather than waiting for it forever.
pub fn refused_start(dir: &Path, bind: &str, env: &[(&str, &str)]) -> String {
    let mut child =
        cardinal(dir, bind, env).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the start should have been refused, but the server started");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "the start should have been refused");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    stderr
}

/// Whether the database records an unfinished key rotation.
pub fn rotation_pending(database: &Path) -> bool {
    let conn = rusqlite::Connection::open(database).unwrap();
    conn.query_row("SELECT count(*) FROM settings WHERE key = 'card_key_rotating_to'", [], |r| r.get::<_, i64>(0))
        .unwrap()
        > 0
}

pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cardinal-e2e-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// Reads stderr lines of a started server until one contains `needle` (or 20 s pass).
pub fn stderr_until(child: &mut Child, needle: &str) -> Vec<String> {
    let lines = lines_of(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(20)) {
        let found = line.contains(needle);
        seen.push(line);
        if found {
            break;
        }
    }
    seen
}

/// A server started with extra flags, its first stdout line read.
pub fn start_with_flags(dir: &Path, flags: &[&str]) -> Server {
    let mut command = cardinal(dir, "127.0.0.1:0", &[]);
    command.args(flags);
    Server::started(command)
}

/// The lines a child prints on `stream`, read by a thread of their own.
pub fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// Every card's sealed number and CVV, straight from the database file.
pub fn sealed_cards(database: &Path) -> Vec<(uuid::Uuid, Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(database).unwrap();
    let mut statement = conn.prepare("SELECT id, pan_ciphertext, cvv_ciphertext FROM cards").unwrap();
    statement
        .query_map([], |r| {
            let id: String = r.get(0)?;
            Ok((uuid::Uuid::parse_str(&id).unwrap(), r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

pub fn vault(key_text: &str) -> cardinal_api::secrets::CardVault {
    cardinal_api::secrets::CardVault::new(&cardinal_api::secrets::CardKey::parse(key_text).unwrap())
}

pub fn rotate_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cardinal"));
    command
        .args(["keys", "rotate", "--batch", "2", "--database"])
        .arg(format!("sqlite://{}", dir.join("cardinal.db").display()))
        .env_remove("CARDINAL_CARD_KEY")
        .env_remove("CARDINAL_NEW_CARD_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}
