//! A PostgreSQL that hangs (paused, or behind a partition: it stops answering but does not
//! refuse) gets 503 with `Retry-After` within about a second from every request and from
//! `/readyz`, on each of two processes; when it answers again, so do they (issue 20). The
//! hang is a proxy in this test that stops forwarding. Runs when `CARDINAL_TEST_POSTGRES_URL`
//! is set (`scripts/test` sets it).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::*;

/// Forwards connections to `upstream` until paused; while paused it reads nothing from either
/// side and forwards nothing, holding new connections too, as a hung server would.
struct Proxy {
    address: String,
    paused: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let paused = Arc::new(AtomicBool::new(false));
        let held = paused.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, paused) = (upstream.clone(), held.clone());
                std::thread::spawn(move || {
                    while paused.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    let Ok(server) = TcpStream::connect(&upstream) else { return };
                    // As the driver does: small messages go out at once, not after an ACK.
                    let _ = (client.set_nodelay(true), server.set_nodelay(true));
                    let (client_in, server_in) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                    let to_server = pump(client_in, server, paused.clone());
                    pump(server_in, client, paused);
                    let _ = to_server.join();
                });
            }
        });
        Proxy { address, paused }
    }

    fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, paused: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        from.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buffer = [0u8; 16 * 1024];
        loop {
            if paused.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            match from.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    if to.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    })
}

/// One request's status, `Retry-After` and how long it took.
fn timed(address: &str, method: &str, path: &str, auth: &str) -> (u16, Option<String>, Duration) {
    let started = Instant::now();
    let (status, _, head) = http_with_head(address, method, path, auth, &[], None).expect("the server answers");
    (status, header(&head, "retry-after"), started.elapsed())
}

#[test]
fn a_hung_postgres_answers_503_within_about_a_second_on_every_process() {
    let Some((url, schema)) = postgres_schema("hang") else { return };
    // postgres://user@host:port/db → the same through the proxy.
    let (before, rest) = url.split_once('@').expect("a user in the test URL");
    let (upstream, after) = rest.split_once('/').expect("a database in the test URL");
    let proxy = Proxy::start(upstream.to_owned());
    let database = in_schema(&format!("{before}@{}/{after}", proxy.address), &schema);
    let dir = std::env::temp_dir().join(format!("cardinal-hang-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let processes = [start(&database, &dir), start(&database, &dir)];
    let setup = organization(&processes[0].address);
    let card = &setup.cards[0];
    let show = format!("/v2/cards/{card}");
    for process in &processes {
        assert_eq!(timed(&process.address, "GET", &show, &setup.owner).0, 200);
    }

    proxy.pause(true);
    let mut slowest = Duration::ZERO;
    for process in &processes {
        for (method, path, auth) in [
            ("GET", "/readyz", ""),
            ("GET", show.as_str(), setup.owner.as_str()),
            ("PUT", &format!("/v2/cards/{card}/lock"), setup.owner.as_str()),
        ] {
            let (status, retry_after, took) = timed(&process.address, method, path, auth);
            assert_eq!(status, 503, "{method} {path} while the database hangs");
            assert!(retry_after.is_some(), "{method} {path}: 503 says when to retry");
            assert!(took < Duration::from_millis(2500), "{method} {path} took {took:?}");
            slowest = slowest.max(took);
        }
    }
    eprintln!("with the database hung, the slowest answer took {slowest:?}");

    proxy.pause(false);
    let recovered = Instant::now();
    for process in &processes {
        while timed(&process.address, "GET", "/readyz", "").0 != 200 {
            assert!(recovered.elapsed() < Duration::from_secs(20), "still not ready after the database came back");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(timed(&process.address, "GET", &show, &setup.owner).0, 200);
    }
    eprintln!("ready again {:?} after the database answered", recovered.elapsed());
    drop(processes);
    let _ = Command::new("psql").args([&url, "-q", "-c", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")]).status();
}

/// A busy PostgreSQL is not a hung one: a card whose row another transaction holds for 2.5 s
/// (longer than the 1 s timeout) is locked once that transaction ends, because the server keeps
/// answering meanwhile (the heartbeat, other calls). Only a silent server gets 503 early.
#[test]
fn a_busy_postgres_is_waited_for() {
    let Some((url, schema)) = postgres_schema("busy") else { return };
    let dir = std::env::temp_dir().join(format!("cardinal-busy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let process = start(&in_schema(&url, &schema), &dir);
    let setup = organization(&process.address);
    let card = setup.cards[0].clone();
    let holder = {
        let (url, card) = (url.clone(), card.clone());
        let hold = format!(
            "BEGIN; SELECT id FROM {schema}.cards WHERE id = '{card}' FOR UPDATE; SELECT pg_sleep(2.5); COMMIT;"
        );
        std::thread::spawn(move || psql(&url, &hold))
    };
    // Held once the holder sleeps: a fixed pause lost the race to psql's start on a busy machine.
    let sleeping =
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%pg_sleep(2.5)%'";
    let asked = Instant::now();
    while psql_value(&url, sleeping) != "1" {
        assert!(asked.elapsed() < Duration::from_secs(10), "the holder never took the row");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, retry_after, took) = timed(&process.address, "PUT", &format!("/v2/cards/{card}/lock"), &setup.owner);
    holder.join().unwrap();
    assert_eq!(status, 200, "waited for the row (Retry-After {retry_after:?}) after {took:?}");
    assert!(took > Duration::from_millis(1500), "it did wait for the row: {took:?}");
    drop(process);
    let _ = Command::new("psql").args([&url, "-q", "-c", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")]).status();
}

/// The one value `query` answers, as psql prints it unaligned.
fn psql_value(url: &str, query: &str) -> String {
    let out = Command::new("psql").args([url, "-qtAc", query]).output().expect("psql runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
