//! Strong customer authentication as a typed step. A write that needs it answers
//! [`Sca::Pending`] with the session; once the member approved (on their phone at Qonto; in
//! a sandbox, [`Client::approve_in_sandbox`]), [`Client::resume`] sends the identical
//! request again with the session token and the same idempotency key.

use crate::transport::Call;
use crate::wire::answers::ScaSession;
use crate::{Client, Error, Result};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// What a write that may need SCA answered.
#[derive(Debug)]
pub enum Sca<T> {
    /// It was done.
    Done(T),
    /// It waits for the member: approve the session, then [`Client::resume`].
    Pending(PendingSca<T>),
}

impl<T> Sca<T> {
    /// The result, or [`Error::ScaStillPending`] if the step is still open.
    pub fn done(self) -> Result<T> {
        match self {
            Sca::Done(value) => Ok(value),
            Sca::Pending(_) => Err(Error::ScaStillPending),
        }
    }
}

/// An SCA session opened for one exact request.
#[derive(Debug)]
pub struct PendingSca<T> {
    /// `sca_session_token`: what the member approves.
    pub token: String,
    /// `card.unlock`, `card.create`, `card.limits_update`, …
    pub action_type: Option<String>,
    call: Box<Call>,
    /// The key of the answer that holds `T` (`card` in `{"card": {...}}`), if any.
    key: Option<&'static str>,
    answer: PhantomData<fn() -> T>,
}

/// The answer as `T`, taken from under `key` when there is one.
fn decode<T: DeserializeOwned>(answer: crate::transport::Answer, key: Option<&'static str>) -> Result<T> {
    let Some(key) = key else { return answer.json() };
    let status = answer.status.as_u16();
    let mut body: serde_json::Value = answer.json()?;
    let inner = body.get_mut(key).map(serde_json::Value::take).unwrap_or_default();
    serde_json::from_value(inner).map_err(|e| Error::Decode { status, detail: e.to_string() })
}

impl Client {
    /// Sends a write that may need SCA: `428` with a session is [`Sca::Pending`].
    pub(crate) async fn write_with_sca<T: DeserializeOwned>(
        &self,
        call: Call,
        key: Option<&'static str>,
    ) -> Result<Sca<T>> {
        let answer = self.transport().send(&call).await?;
        if answer.status.as_u16() == 428 {
            let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            if let Some(token) = body.get("sca_session_token").and_then(|t| t.as_str()) {
                let action_type = body.get("action_type").and_then(|a| a.as_str()).map(str::to_owned);
                return Ok(Sca::Pending(PendingSca {
                    token: token.to_owned(),
                    action_type,
                    call: Box::new(call),
                    key,
                    answer: PhantomData,
                }));
            }
        }
        decode(answer, key).map(Sca::Done)
    }

    /// Sends the pending request again with its session token (and its idempotency key). A
    /// session still waiting answers `Pending` again; a denied or expired one
    /// [`Error::ScaDenied`].
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// if let qonto_client::Sca::Pending(pending) = client.cards().unlock(id).await? {
    ///     client.approve_in_sandbox(&pending).await?;
    ///     let card = client.resume(pending).await?.done()?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resume<T: DeserializeOwned>(&self, pending: PendingSca<T>) -> Result<Sca<T>> {
        let mut call = (*pending.call).clone();
        call.sca_token = Some(pending.token.clone());
        let answer = self.transport().send(&call).await?;
        match answer.status.as_u16() {
            412 => {
                let error = Error::from_answer(412, &answer.body, answer.request_id);
                match error.code() {
                    Some("sca_pending") => Ok(Sca::Pending(pending)),
                    Some("sca_denied") => Err(Error::ScaDenied),
                    _ => Err(error),
                }
            }
            _ => decode(answer, pending.key).map(Sca::Done),
        }
    }

    /// `GET /v2/sca_sessions/{token}`: `waiting`, `allow` or `deny`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, token: &str) -> Result<(), qonto_client::Error> {
    /// let session = client.sca_session(token).await?;
    /// println!("{}", session.result);
    /// # Ok(()) }
    /// ```
    pub async fn sca_session(&self, token: &str) -> Result<ScaSession> {
        self.transport().send(&Call::get(format!("/v2/sca_sessions/{token}"))).await?.json()
    }

    /// Polls the session every `every` until the member answers: `Ok` once approved,
    /// [`Error::ScaDenied`] if denied or expired, [`Error::ScaStillPending`] after `patience`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// use std::time::Duration;
    /// if let qonto_client::Sca::Pending(pending) = client.cards().unlock(id).await? {
    ///     client.wait_for_approval(&pending, Duration::from_secs(2), Duration::from_secs(300)).await?;
    ///     client.resume(pending).await?.done()?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_approval<T>(
        &self,
        pending: &PendingSca<T>,
        every: Duration,
        patience: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + patience;
        loop {
            match &*self.sca_session(&pending.token).await?.result {
                "allow" => return Ok(()),
                "deny" => return Err(Error::ScaDenied),
                _ if Instant::now() >= deadline => return Err(Error::ScaStillPending),
                _ => tokio::time::sleep(every).await,
            }
        }
    }

    /// Approves the session as the member's phone would, through the sandbox's mocked route
    /// (`POST /v2/mocked_sca_sessions/{token}/allow`): Qonto's sandbox and Cardinal have it,
    /// Qonto's production does not.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// if let qonto_client::Sca::Pending(pending) = client.cards().unlock(id).await? {
    ///     client.approve_in_sandbox(&pending).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn approve_in_sandbox<T>(&self, pending: &PendingSca<T>) -> Result<()> {
        self.decide_in_sandbox(&pending.token, true).await
    }

    /// Denies it, as [`Client::approve_in_sandbox`] approves it.
    pub async fn deny_in_sandbox<T>(&self, pending: &PendingSca<T>) -> Result<()> {
        self.decide_in_sandbox(&pending.token, false).await
    }

    async fn decide_in_sandbox(&self, token: &str, allow: bool) -> Result<()> {
        let decision = if allow { "allow" } else { "deny" };
        let call = Call {
            idempotency_key: None,
            ..Call::write(reqwest::Method::POST, format!("/v2/mocked_sca_sessions/{token}/{decision}"), None)
        };
        self.transport().send(&call).await?.json::<serde_json::Value>().map(|_| ())
    }
}
