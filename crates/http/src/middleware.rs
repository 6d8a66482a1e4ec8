//! Request id, request metrics, and the envelope that gives every error response the
//! standard body.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse};
use tracing::Instrument;
use uuid::Uuid;

use crate::error::ErrorBody;

/// The id of one request, echoed in `X-Request-Id` and every error body and log line.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client or proxy may supply the id (to correlate across services) if it is short and
/// plain; anything else is replaced, so ids are safe to log and echo.
fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let plain = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then(|| value.to_owned())
}

/// Assigns the request id, runs the request inside a span that carries it, logs the outcome.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = incoming_id(&req).unwrap_or_else(|| Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// Counts and times every request by method, route template (`/api/v1/users/{id}`, never the
/// raw path, so ids and probes for random paths do not become series) and status, and keeps
/// the number in flight.
pub async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let method = method_label(req.method());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let _in_flight = InFlight::enter();
    let started = Instant::now();
    let response = next.call(req).await?;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("gatehouse_http_requests_total", &labels).increment(1);
    metrics::histogram!("gatehouse_http_request_duration_seconds", &labels).record(elapsed);
    Ok(response)
}

/// Help text for the request series, for the exporter to publish.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "gatehouse_http_requests_total",
        "HTTP requests by method, route template and status."
    );
    metrics::describe_histogram!(
        "gatehouse_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method, route template and status."
    );
    metrics::describe_gauge!(
        "gatehouse_http_requests_in_flight",
        "HTTP requests being served now."
    );
}

/// The method as a label; methods the API does not use share one value, so a client
/// inventing methods cannot invent series.
fn method_label(method: &actix_web::http::Method) -> String {
    use actix_web::http::Method;
    match *method {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::OPTIONS => method.as_str().to_owned(),
        _ => "OTHER".to_owned(),
    }
}

/// One request in flight, for as long as it lives: a request whose client goes away is
/// dropped mid-way, and must still leave the gauge.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        metrics::gauge!("gatehouse_http_requests_in_flight").increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("gatehouse_http_requests_in_flight").decrement(1.0);
    }
}

/// Rewrites every error response (4xx, 5xx) into the standard error body, whatever produced
/// it: a handler, an extractor, the router (404, 405) or actix itself.
pub async fn error_envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    // Handlers and extractors report errors as responses, so an `Err` here can only come
    // from middleware further in, which does not produce any.
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    let for_people = response
        .response()
        .extensions()
        .get::<crate::console::HumanPage>()
        .is_some();
    if !(status.is_client_error() || status.is_server_error()) || for_people {
        return Ok(response);
    }
    let mut body = response
        .response()
        .extensions()
        .get::<ErrorBody>()
        .cloned()
        .unwrap_or_else(|| ErrorBody::for_status(status));
    body.request_id = request_id;
    let json = serde_json::to_vec(&body).unwrap_or_default();
    Ok(response.map_body(|head, _| {
        head.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        head.headers.remove(header::CONTENT_LENGTH);
        BoxBody::new(json)
    }))
}

/// Used where a handler wants an empty success.
pub(crate) fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
