//! TLS to PostgreSQL: a PostgreSQL of the test's own (initdb in a temporary directory), serving
//! a certificate for `localhost` that a certificate authority made by the test signed, and
//! refusing any connection that is not TLS. Cardinal connects with `verify-full` and serves;
//! a wrong authority, a host the certificate does not name, and plain text are refused.
//!
//! Needs PostgreSQL's server binaries (`initdb`, `postgres`); skipped, saying so, without them
//! (and failing in CI, which has them).

mod common;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The directory holding `initdb` and `postgres`, if installed.
fn server_binaries() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("postgres").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// PostgreSQL refuses to run as root: then it runs as the `postgres` user.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn give_to_server_user(path: &Path) {
    if is_root() {
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(path).status().unwrap();
        assert!(status.success());
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A certificate authority, and a server certificate for `localhost` it signed.
struct Certificates {
    ca: String,
    other_ca: String,
    server: String,
    server_key: String,
}

fn certificates() -> Certificates {
    let authority = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    };
    let (ca, other) = (authority("Cardinal test CA"), authority("Another CA"));
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&server_key, &ca).unwrap();
    Certificates { ca: ca.pem(), other_ca: other.pem(), server: server.pem(), server_key: server_key.serialize_pem() }
}

/// A PostgreSQL that accepts TLS connections only; stopped when dropped.
struct TlsPostgres {
    child: Child,
    port: u16,
    bin: PathBuf,
    data: PathBuf,
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        // The child may be runuser, which does not pass signals on: pg_ctl stops the server.
        let _ = as_server_user(&self.bin.join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

fn start_postgres(bin: &Path, dir: &Path, certs: &Certificates) -> TlsPostgres {
    let data = dir.join("data");
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::write(tls.join("server.crt"), &certs.server).unwrap();
    std::fs::write(tls.join("server.key"), &certs.server_key).unwrap();
    std::fs::set_permissions(tls.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    give_to_server_user(dir);
    let initdb = as_server_user(&bin.join("initdb"))
        .args(["-D"])
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "--no-sync"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(initdb.status.success(), "initdb: {}", String::from_utf8_lossy(&initdb.stderr));
    // Only TLS connections get in.
    let hba = "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\nlocal all all trust\n";
    std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
    give_to_server_user(&data.join("pg_hba.conf"));
    let port = free_port();
    let child = as_server_user(&bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "ssl=on", "-c", "fsync=off"])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", dir.display()))
        .arg("-c")
        .arg(format!("ssl_cert_file={}", tls.join("server.crt").display()))
        .arg("-c")
        .arg(format!("ssl_key_file={}", tls.join("server.key").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = TlsPostgres { child, port, bin: bin.to_owned(), data };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the test's PostgreSQL did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// Starts `cardinal serve` on `url` and asks `/readyz`: a start opens the store (migrations and
/// all), so success means TLS sessions carried real work. The error says why it did not.
fn opens(url: &str, dir: &Path) -> Result<String, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database", url])
        .env("CARDINAL_CARD_KEY", common::CARD_KEY)
        .env("CARDINAL_ADMIN_TOKEN", common::ADMIN)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut process = common::try_listening(output)?;
    let (status, body) = common::http(&process.address, "GET", "/readyz", "", &[], None).unwrap();
    let _ = process.child.kill();
    if status == 200 {
        Ok(body.to_string())
    } else {
        Err(format!("readyz {status}: {body}"))
    }
}

#[test]
fn verify_full_connects_to_a_tls_only_postgresql_and_refuses_a_wrong_authority() {
    let Some(bin) = server_binaries() else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI has PostgreSQL's server binaries");
        eprintln!("skipped: no PostgreSQL server binaries under /usr/lib/postgresql");
        return;
    };
    let dir = std::env::temp_dir().join(format!("cardinal-pg-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let certs = certificates();
    let (ca, other_ca) = (dir.join("ca.pem"), dir.join("other-ca.pem"));
    std::fs::write(&ca, &certs.ca).unwrap();
    std::fs::write(&other_ca, &certs.other_ca).unwrap();
    let postgres = start_postgres(&bin, &dir, &certs);
    let url = |host: &str, query: &str| format!("postgres://postgres@{host}:{}/postgres?{query}", postgres.port);
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();

    let full = url("localhost", &format!("sslmode=verify-full&sslrootcert={}", ca.display()));
    opens(&full, &work).expect("verify-full with the right authority connects and serves");

    let wrong = url("localhost", &format!("sslmode=verify-full&sslrootcert={}", other_ca.display()));
    let refused = opens(&wrong, &work).expect_err("a certificate from another authority is refused");
    assert!(refused.contains("UnknownIssuer") && refused.contains("localhost"), "{refused}");

    // The certificate names localhost, not 127.0.0.1: verify-full refuses, verify-ca accepts.
    let by_address = url("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={}", ca.display()));
    let refused = opens(&by_address, &work).expect_err("a host the certificate does not name is refused");
    assert!(refused.contains("not valid for name"), "{refused}");
    opens(&url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={}", ca.display())), &work)
        .expect("verify-ca checks the authority, not the name");

    // The server takes TLS only: these connections were encrypted, and plain text is refused.
    let plain = opens(&url("localhost", "sslmode=disable"), &work).expect_err("plain text is refused");
    assert!(plain.contains("no encryption") || plain.contains("pg_hba"), "{plain}");
    opens(&url("localhost", "sslmode=require"), &work).expect("require encrypts without a root");
    eprintln!(
        "PostgreSQL over TLS: verify-full, verify-ca and require connect; wrong CA, wrong name, plain text refused"
    );
}
