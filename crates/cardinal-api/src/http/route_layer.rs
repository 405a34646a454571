//! The one layer every route of the table has: it attaches the route's rule to the request (the
//! credential and SCA checks read it) and times the route for `/metrics`. Written as a plain
//! tower service rather than two `from_fn` layers: each of those cost every request a boxed
//! future, a clone of the services under it and a swap, and this one is on every request.

use crate::http::metrics::RouteSeries;
use crate::http::state::RouteRule;
use axum::extract::Request;
use axum::response::Response;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// Attaches `rule` and records into `series`.
#[derive(Clone, Copy)]
pub struct RouteLayer {
    pub rule: RouteRule,
    pub series: &'static RouteSeries,
}

impl<S> tower::Layer<S> for RouteLayer {
    type Service = RouteService<S>;

    fn layer(&self, inner: S) -> RouteService<S> {
        RouteService { inner, route: *self }
    }
}

#[derive(Clone)]
pub struct RouteService<S> {
    inner: S,
    route: RouteLayer,
}

impl<S> tower::Service<Request> for RouteService<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Timed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Timed<S::Future> {
        request.extensions_mut().insert(self.route.rule);
        Timed { answer: self.inner.call(request), started: Instant::now(), series: self.route.series }
    }
}

pin_project_lite::pin_project! {
    /// The route's answer, counted and timed when it is ready.
    pub struct Timed<F> {
        #[pin]
        answer: F,
        started: Instant,
        series: &'static RouteSeries,
    }
}

impl<F, E> Future for Timed<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = std::task::ready!(this.answer.poll(cx));
        if let Ok(response) = &answer {
            this.series.record(response.status(), this.started.elapsed());
        }
        Poll::Ready(answer)
    }
}
