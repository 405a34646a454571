//! One request, sent: the credential and staging headers, an idempotency key on writes, the
//! SCA session when one is presented, `429` retried after `Retry-After`, the answer read as the
//! wire type or as an [`Error`].

use crate::error::Error;
use crate::Result;
use backon::Retryable;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// The most a `Retry-After` is waited for before the call gives up instead.
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// How the client proves who it is.
#[derive(Clone)]
pub enum Auth {
    /// An OAuth access token: `Authorization: Bearer <token>`.
    Bearer(String),
    /// An API key: `Authorization: <login>:<secret>` (Qonto's form, no scheme word).
    ApiKey { login: String, secret: String },
}

impl std::fmt::Debug for Auth {
    /// Never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(…)"),
            Auth::ApiKey { login, .. } => write!(f, "ApiKey({login}:…)"),
        }
    }
}

impl Auth {
    fn header(&self) -> String {
        match self {
            Auth::Bearer(token) => format!("Bearer {token}"),
            Auth::ApiKey { login, secret } => format!("{login}:{secret}"),
        }
    }
}

/// A request as it is sent, and sent again: an SCA completion repeats it with the same
/// idempotency key and body.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub idempotency_key: Option<String>,
    pub sca_token: Option<String>,
    /// A file sent as `multipart/form-data` in part `file` (Qonto's uploads), instead of a JSON body.
    pub file: Option<FilePart>,
}

/// A file to upload: its name and its bytes (cheap to clone for a retry).
#[derive(Debug, Clone)]
pub struct FilePart {
    pub file_name: String,
    pub content: bytes::Bytes,
}

impl FilePart {
    /// The multipart body and its `Content-Type`, with a fresh boundary.
    fn body(&self) -> (String, Vec<u8>) {
        let boundary = format!("qonto-client-{}", uuid::Uuid::new_v4().simple());
        let name: String = self.file_name.chars().filter(|c| !c.is_control() && *c != '"').collect();
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        let body = [head.as_bytes(), &self.content, tail.as_bytes()].concat();
        (format!("multipart/form-data; boundary={boundary}"), body)
    }
}

impl Call {
    pub fn get(path: impl Into<String>) -> Call {
        Call {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotency_key: None,
            sca_token: None,
            file: None,
        }
    }

    /// A write: it carries a fresh idempotency key (Qonto keeps it 30 minutes).
    pub fn write(method: Method, path: impl Into<String>, body: Option<Value>) -> Call {
        let key = uuid::Uuid::new_v4().to_string();
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body,
            idempotency_key: Some(key),
            sca_token: None,
            file: None,
        }
    }

    /// An upload: `POST` with `file` in a multipart body, and a fresh idempotency key.
    pub fn upload(path: impl Into<String>, file: FilePart) -> Call {
        Call { file: Some(file), ..Call::write(Method::POST, path, None) }
    }

    pub fn query(mut self, query: Vec<(String, String)>) -> Call {
        self.query = query;
        self
    }
}

/// An answer: its status, its request id, its body.
pub struct Answer {
    pub status: StatusCode,
    pub request_id: Option<String>,
    pub body: bytes::Bytes,
}

impl Answer {
    /// The body as `T`, or the error it describes.
    pub fn json<T: DeserializeOwned>(self) -> Result<T> {
        if !self.status.is_success() {
            return Err(Error::from_answer(self.status.as_u16(), &self.body, self.request_id));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::Decode { status: self.status.as_u16(), detail: e.to_string() })
    }

    /// Success without a body to read (`204`).
    pub fn empty(self) -> Result<()> {
        match self.status.is_success() {
            true => Ok(()),
            false => Err(Error::from_answer(self.status.as_u16(), &self.body, self.request_id)),
        }
    }
}

pub struct Transport {
    pub base_url: String,
    http: reqwest::Client,
    auth: Auth,
    staging_token: Option<String>,
    retries: u32,
    /// How long one call may take (a stream is not bounded).
    timeout: Duration,
}

impl Transport {
    pub fn new(
        base_url: String,
        auth: Auth,
        staging_token: Option<String>,
        retries: u32,
        timeout: Duration,
    ) -> Result<Transport> {
        Ok(Transport { base_url, http: http_client()?, auth, staging_token, retries, timeout })
    }

    /// Sends `call`, waiting out `429`s for their `Retry-After` (`backon` retries: at most
    /// `retries` times, never for longer than a minute); any other answer is returned as it is.
    pub async fn send(&self, call: &Call) -> Result<Answer> {
        self.send_as(call, &self.auth).await
    }

    /// Sends `call` with another credential (Cardinal's control API takes the operator token).
    pub async fn send_as(&self, call: &Call, auth: &Auth) -> Result<Answer> {
        let policy =
            backon::ConstantBuilder::default().with_delay(Duration::from_secs(1)).with_max_times(self.retries as usize);
        (|| self.send_once(call, auth))
            .retry(policy)
            .when(|e| matches!(e, Error::RateLimited { .. }))
            // backon asks with `None` once the retries are spent: then stop, whatever the server says.
            .adjust(|e, planned| match (e, planned) {
                (_, None) => None,
                (Error::RateLimited { retry_after: Some(s) }, Some(_)) => {
                    Some(Duration::from_secs(*s)).filter(|wait| *wait <= LONGEST_WAIT)
                }
                (_, planned) => planned,
            })
            .await
    }

    /// A long-lived answer (server-sent events), read as it comes; refused ones are errors.
    pub async fn open_stream(&self, call: &Call, auth: &Auth) -> Result<reqwest::Response> {
        let response = self.request(call, auth).header("accept", "text/event-stream").send().await?;
        if !response.status().is_success() {
            let (status, id) = (response.status().as_u16(), request_id(response.headers()));
            return Err(Error::from_answer(status, &response.bytes().await?, id));
        }
        Ok(response)
    }

    /// One attempt: a `429` is [`Error::RateLimited`], with its `Retry-After`.
    async fn send_once(&self, call: &Call, auth: &Auth) -> Result<Answer> {
        let response = self.request(call, auth).timeout(self.timeout).send().await?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(response.headers()).unwrap_or(Duration::from_secs(1));
            return Err(Error::RateLimited { retry_after: Some(wait.as_secs()) });
        }
        let request_id = request_id(response.headers());
        let body = response.bytes().await?;
        Ok(Answer { status, request_id, body })
    }

    fn request(&self, call: &Call, auth: &Auth) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.base_url, call.path);
        let mut request = self.http.request(call.method.clone(), url).header("authorization", auth.header());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(token) = &self.staging_token {
            request = request.header("x-qonto-staging-token", token);
        }
        if let Some(key) = &call.idempotency_key {
            request = request.header("x-qonto-idempotency-key", key);
        }
        if let Some(token) = &call.sca_token {
            request = request.header("x-qonto-sca-session-token", token);
        }
        if let Some(body) = &call.body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        if let Some(file) = &call.file {
            let (content_type, body) = file.body();
            request = request.header("content-type", content_type).body(body);
        }
        request
    }
}

fn request_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds = headers.get("retry-after")?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

/// rustls with ring and Mozilla's roots; no redirects (an API answer is never one).
fn http_client() -> Result<reqwest::Client> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("qonto-client-rust/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Config(e.to_string()))
}
