//! The card-spend workflow end to end (spec §9), over HTTP against the running binary: an
//! employee asks for a card, the owner approves it with SCA, the card pays, the employee attaches
//! the receipt, finance labels the transaction, and the transaction list shows it all. And a
//! client still sending a body when it is refused reads its answer.

mod server;

use serde_json::{json, Value};
use server::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// One request on its own connection: status, body bytes, head.
fn call(
    server: &Server,
    method: &str,
    path: &str,
    auth: Option<&str>,
    headers: &str,
    body: &[u8],
) -> (u16, Vec<u8>, String) {
    let address = server.base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(&[head.as_bytes(), body].concat()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, raw[split + 4..].to_vec(), head)
}

fn json_call(server: &Server, method: &str, path: &str, auth: &str, body: Value) -> (u16, Value) {
    let headers = "Content-Type: application/json\r\n";
    let (status, bytes, _) = call(server, method, path, Some(auth), headers, body.to_string().as_bytes());
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn multipart(name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "story-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
    );
    let body = [head.as_bytes(), content, format!("\r\n--{boundary}--\r\n").as_bytes()].concat();
    (format!("Content-Type: multipart/form-data; boundary={boundary}\r\n"), body)
}

#[test]
fn request_approve_pay_attach_label_and_list() {
    let dir = temp_dir();
    let mut server = Server::start(&dir);
    server.wait_for("These credentials are saved in");
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cardinal.credentials.json")).unwrap()).unwrap();
    let token_of = |role: &str| {
        let member = credentials["memberships"].as_array().unwrap().iter().find(|m| m["role"] == role).unwrap();
        format!("Bearer {}", member["access_token"].as_str().unwrap())
    };
    let (owner, employee) = (token_of("owner"), token_of("employee"));
    let operator = format!("Bearer {}", credentials["operator_token"].as_str().unwrap());
    let organization = credentials["organization"]["id"].as_str().unwrap().to_owned();

    // 1. The employee asks for a virtual card.
    let ask = json!({"request_virtual_card": {"note": "client dinners", "payment_monthly_limit": "300.00"}});
    let (status, asked) = json_call(&server, "POST", "/v2/requests/virtual_cards", &employee, ask);
    assert_eq!(status, 200, "{asked}");
    let request = asked["request_virtual_card"]["id"].as_str().unwrap().to_owned();

    // 2. The owner approves it: SCA first (the demo organization requires it), then the card.
    let approve = format!("/v2/requests/virtual_cards/{request}/approve");
    let (status, challenge) = json_call(&server, "POST", &approve, &owner, json!({}));
    assert_eq!(status, 428, "{challenge}");
    let sca = challenge["sca_session_token"].as_str().unwrap().to_owned();
    let (status, _, _) = call(&server, "POST", &format!("/v2/mocked_sca_sessions/{sca}/allow"), None, "", b"");
    assert_eq!(status, 200);
    let headers = format!("Content-Type: application/json\r\nX-Qonto-Sca-Session-Token: {sca}\r\n");
    let (status, approved, _) = call(&server, "POST", &approve, Some(&owner), &headers, b"{}");
    let approved: Value = serde_json::from_slice(&approved).unwrap();
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["request_virtual_card"]["status"], "approved");
    // Qonto's request carries no card id: the employee finds the new card among theirs.
    let (_, cards, _) = call(&server, "GET", "/v2/cards?per_page=100", Some(&employee), "", b"");
    let cards: Value = serde_json::from_slice(&cards).unwrap();
    let card = cards["cards"].as_array().unwrap().iter().find(|c| c["payment_monthly_limit"].as_f64() == Some(300.0));
    let card = card.expect("the card issued with the requested budget")["id"].as_str().unwrap().to_owned();

    // 3. The card pays; the payment settles.
    let purchase = json!({"amount": 64.9, "channel": "online", "merchant": {"name": "Le Comptoir", "category": "restaurant_and_bar", "country": "FR"}});
    let (status, paid) =
        json_call(&server, "POST", &format!("/_sandbox/cards/{card}/authorizations"), &operator, purchase);
    assert_eq!((status, paid["authorization"]["decision"].as_str()), (200, Some("approved")), "{paid}");
    let transaction = paid["authorization"]["transaction_id"].as_str().unwrap().to_owned();
    let (status, _) =
        json_call(&server, "POST", &format!("/_sandbox/transactions/{transaction}/settle"), &operator, json!({}));
    assert_eq!(status, 200);

    // 4. The employee attaches the receipt.
    let (content_type, body) = multipart("dinner.pdf", PDF);
    let attach = format!("/v2/transactions/{transaction}/attachments");
    let (status, answer, _) = call(&server, "POST", &attach, Some(&employee), &content_type, &body);
    assert_eq!((status, answer.len()), (200, 0));

    // 5. Finance labels the transaction.
    let labels = format!("/_sandbox/organizations/{organization}/labels");
    let (status, list) = json_call(&server, "POST", &labels, &operator, json!({"name": "Expenses"}));
    assert_eq!(status, 201, "{list}");
    let parent = list["label"]["id"].as_str().unwrap();
    let (_, label) = json_call(&server, "POST", &labels, &operator, json!({"name": "Meals", "parent_id": parent}));
    let label = label["label"]["id"].as_str().unwrap().to_owned();
    let put = format!("/_sandbox/transactions/{transaction}/labels");
    let (status, _) = json_call(&server, "PUT", &put, &operator, json!({"label_ids": [label]}));
    assert_eq!(status, 200);

    // 6. The list shows it all, and the receipt downloads from its link.
    let account = paid_account(&server, &owner);
    let query = format!(
        "/v2/transactions?bank_account_id={account}&with_attachments=true&includes[]=attachments&includes[]=labels"
    );
    let (status, listed, _) = call(&server, "GET", &query, Some(&owner), "", b"");
    let listed: Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(status, 200);
    let item = listed["transactions"].as_array().unwrap().iter().find(|t| t["id"] == transaction.as_str()).unwrap();
    assert_eq!((item["status"].as_str(), item["amount"].as_f64()), (Some("completed"), Some(64.9)));
    assert_eq!(item["labels"], json!([{"id": label, "name": "Meals", "parent_id": parent}]));
    let receipt = &item["attachments"][0];
    assert_eq!(
        (receipt["file_name"].as_str(), receipt["file_size"].as_str()),
        (Some("dinner.pdf"), Some(&*PDF.len().to_string()))
    );
    let url = receipt["url"].as_str().unwrap();
    let path = &url[server.base.len()..];
    let (status, file, head) = call(&server, "GET", path, None, "", b"");
    assert_eq!((status, file.as_slice()), (200, PDF));
    assert!(head.to_ascii_lowercase().contains("content-disposition: attachment"), "{head}");
    server.terminate();
}

fn paid_account(server: &Server, owner: &str) -> String {
    let (_, body, _) = call(server, "GET", "/v2/bank_accounts", Some(owner), "", b"");
    let accounts: Value = serde_json::from_slice(&body).unwrap();
    accounts["bank_accounts"][0]["id"].as_str().unwrap().to_owned()
}

/// A chunked upload to an unknown route, and one with a wrong token: the server answers before
/// reading the body, and the client, still sending megabytes, reads that answer (no reset).
#[test]
fn a_client_still_sending_reads_the_refusal() {
    let dir = temp_dir();
    let server = Server::start(&dir);
    for (path, auth, status) in [("/v2/nowhere", "", 404), ("/v2/attachments", "Authorization: Bearer wrong\r\n", 401)]
    {
        let address = server.base.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .unwrap();
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..64 {
            // 4 MB in 64 KiB chunks, well past what the kernel buffers for an unread socket.
            write!(stream, "{:x}\r\n", chunk.len()).unwrap();
            stream.write_all(&chunk).expect("the server reads what it does not need instead of resetting");
            stream.write_all(b"\r\n").unwrap();
        }
        stream.write_all(b"0\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        let mut buffer = [0u8; 4096];
        // Read until the JSON answer is whole (the connection may stay open).
        loop {
            let n = stream.read(&mut buffer).unwrap();
            raw.extend_from_slice(&buffer[..n]);
            if n == 0 || raw.ends_with(b"}") || raw.ends_with(b"}\n") {
                break;
            }
        }
        let text = String::from_utf8_lossy(&raw);
        let code: u16 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert_eq!(code, status, "{path}: {text}");
        assert!(text.contains("\"errors\""), "{path}: a JSON error: {text}");
    }
    server.terminate();
}
