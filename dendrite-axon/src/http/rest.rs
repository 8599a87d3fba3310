//! Our HTTP axon's answers to signed REST requests, as bittensor 11's subnets send theirs: any
//! path that is no synapse call (a request without `bt_header_dendrite_*`), so benches and chaos
//! runs have fast fleets for `Client::request`.
//!
//! Checks, in this order: the scheme the request carries, its header checks first, before a byte
//! of body is read: Epistula v2 (the reference miner's checks and reasons: headers, version,
//! uuid, window, receiver; 400 with `{"detail": reason}`) or btauth/1 (11.3.0's: shape,
//! receiver, freshness; 401 with `{"ok": false, "error", "reason"}`); a request with neither is
//! 401. Then the body, read under `max_request_bytes` (413) within `body_timeout` (408) and
//! hashed as it comes; then the signature over that hash (and for Epistula a uuid it has seen:
//! "UUID reused"; for btauth/1 its replay store). Then the routes
//! of the reference miner: `POST /v1/chat/completions` (`{"max_tokens": N, "stream": bool}`:
//! JSON, or N Server-Sent Events `data: {"choices": [{"delta": {"content": "tokI "}}]}`
//! `token_delay` apart, then `data: [DONE]`), `/slow?ms=N` (the echo after N ms), and any other
//! path the echo (`{"ok", "signed_by", "method", "path", "body_sha256", "body_bytes"}`).
//! Answers to Epistula requests are signed with Epistula for their sender unless
//! `sign_answers` is off.
//!
//! **Invariants:** a uuid is remembered only once its request verified, in a bounded store (the
//! least recently seen forgotten first); nothing a stranger sends is kept before that.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use dendrite_http::btauth::{self, Verifier};
use dendrite_http::epistula;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode};
use lru::LruCache;
use serde_json::{json, Value};

use hyper::body::Incoming;

use super::{plain, read_request_body, send_chunk, streamed, Body, Refusal, Shared};

/// What a REST request's signature verified.
struct Caller {
    /// The sender's SS58 address.
    signed_by: String,
    /// The receiver it named (Epistula), if any.
    signed_for: Option<String>,
    /// Whether it came with Epistula (its answer is then signed with Epistula).
    epistula: bool,
}

/// The REST side of one axon: the uuids of verified Epistula requests, and btauth/1's verifier.
pub(super) struct RestState {
    uuids: Mutex<LruCache<String, ()>>,
    btauth: Verifier,
}

impl RestState {
    /// The state of an axon whose hotkey is `hotkey`, remembering at most `capacity` uuids.
    pub(super) fn new(hotkey: &str, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        RestState {
            uuids: Mutex::new(LruCache::new(capacity)),
            btauth: Verifier::new(hotkey),
        }
    }
}

/// Answers one REST request whose head is `parts`: its scheme's header checks, then its body
/// (read under the bounds and hashed), then its signature, then the route.
pub(super) async fn answer_rest(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    body: Incoming,
) -> Response<Body> {
    let headers = super::header_pairs(&parts.headers);
    let pending = match check_head(shared, &headers) {
        Ok(pending) => pending,
        Err((status, body)) => return json_response(status, &body, Vec::new()),
    };
    let body = match read_request_body(shared, body, true).await {
        Ok(body) => body,
        Err(Refusal::Status(status, message)) => return plain(status, message),
        Err(Refusal::Internal) => return plain(500, "Internal Server Error"),
    };
    let sha256 = body.sha256.clone().unwrap_or_default();
    let body = body.bytes;
    let caller = match finish(shared, parts, pending, &sha256) {
        Ok(caller) => caller,
        Err((status, body)) => return json_response(status, &body, Vec::new()),
    };
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    if path == "/v1/chat/completions" {
        return chat(shared, &caller, &body);
    }
    if path == "/slow" {
        let ms = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("ms="))
            .and_then(|ms| ms.parse::<u64>().ok())
            .unwrap_or(1000)
            .min(600_000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let echo = json!({
        "ok": true,
        "signed_by": caller.signed_by,
        "signed_for": caller.signed_for,
        "method": parts.method.as_str(),
        "path": path,
        "body_sha256": sha256,
        "body_bytes": body.len(),
    });
    answer_json(shared, &caller, StatusCode::OK, &echo)
}

/// A request whose scheme's header checks passed, waiting for its body's hash.
enum Pending<'h> {
    /// Epistula v2.
    Epistula(epistula::HeadChecked<'h>),
    /// btauth/1.
    BtAuth(btauth::HeadChecked<'h>),
}

/// The refusal of a REST request: its status and JSON body.
type Refused = (StatusCode, Value);

/// The checks of the scheme the request carries that need no body, or the refusal.
fn check_head<'h>(
    shared: &Shared,
    headers: &'h [(&'h str, &'h str)],
) -> Result<Pending<'h>, Refused> {
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if has(epistula::HEADER_VERSION) {
        let now_ms = i64::try_from(dendrite_keys::nonce::now_ns() / 1_000_000).unwrap_or(i64::MAX);
        return epistula::check_head(
            headers.iter().copied(),
            &shared.hotkey,
            now_ms,
            epistula::DEFAULT_WINDOW,
        )
        .map(Pending::Epistula)
        .map_err(|e| (StatusCode::BAD_REQUEST, json!({"detail": e.to_string()})));
    }
    if has(btauth::HEADER_VERSION) {
        let now = i128::from(dendrite_keys::nonce::now_ns());
        return shared
            .rest
            .btauth
            .check_head(headers.iter().copied(), now)
            .map(Pending::BtAuth)
            .map_err(btauth_refusal);
    }
    Err((
        StatusCode::UNAUTHORIZED,
        json!({"detail": "unsigned request: sign it with Epistula v2 or btauth/1"}),
    ))
}

/// 11.3.0's 401 of a btauth/1 failure.
fn btauth_refusal(e: btauth::AuthError) -> Refused {
    (
        StatusCode::UNAUTHORIZED,
        json!({"ok": false, "error": e.kind(), "reason": e.to_string()}),
    )
}

/// The signature over the body's hash, then the scheme's replay check.
fn finish(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    pending: Pending<'_>,
    body_sha256: &str,
) -> Result<Caller, Refused> {
    match pending {
        Pending::Epistula(checked) => {
            let verified = checked
                .finish(body_sha256)
                .map_err(|e| (StatusCode::BAD_REQUEST, json!({"detail": e.to_string()})))?;
            let fresh = shared
                .rest
                .uuids
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .put(verified.uuid.to_owned(), ())
                .is_none();
            if !fresh {
                return Err((StatusCode::BAD_REQUEST, json!({"detail": "UUID reused"})));
            }
            Ok(Caller {
                signed_by: verified.signed_by.to_owned(),
                signed_for: verified.signed_for.map(str::to_owned),
                epistula: true,
            })
        }
        Pending::BtAuth(checked) => {
            let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let caller = checked
                .finish(
                    &shared.rest.btauth,
                    body_sha256,
                    parts.method.as_str(),
                    target,
                )
                .map_err(btauth_refusal)?;
            Ok(Caller {
                signed_by: caller.hotkey,
                signed_for: None,
                epistula: false,
            })
        }
    }
}

/// `/v1/chat/completions`: the tokens as one JSON answer, or as events.
fn chat(shared: &Shared, caller: &Caller, body: &Bytes) -> Response<Body> {
    let request: Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(_) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"detail": "Invalid body"}),
                Vec::new(),
            )
        }
    };
    let tokens = request["max_tokens"].as_u64().unwrap_or(8).min(100_000);
    if !request["stream"].as_bool().unwrap_or(false) {
        let text: Vec<String> = (0..tokens).map(|i| format!("tok{i}")).collect();
        let answer =
            json!({"choices": [{"message": {"role": "assistant", "content": text.join(" ")}}]});
        return answer_json(shared, caller, StatusCode::OK, &answer);
    }
    let delay = shared.config.token_delay;
    let response = Response::builder().status(StatusCode::OK);
    streamed(response, move |send| async move {
        for i in 0..tokens {
            let delta = json!({"choices": [{"delta": {"content": format!("tok{i} ")}}]});
            if !send_chunk(&send, Bytes::from(format!("data: {delta}\n\n"))).await {
                return;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        send_chunk(&send, Bytes::from_static(b"data: [DONE]\n\n")).await;
    })
}

/// A JSON answer, signed with Epistula for an Epistula caller unless the axon says not.
fn answer_json(
    shared: &Shared,
    caller: &Caller,
    status: StatusCode,
    value: &Value,
) -> Response<Body> {
    let data = serde_json::to_vec(value).unwrap_or_default();
    let signature = if caller.epistula && shared.config.sign_answers {
        let uuid = uuid::Uuid::new_v4().to_string();
        let now_ms = dendrite_keys::nonce::now_ns() / 1_000_000;
        epistula::sign(&shared.key, &data, &uuid, now_ms, Some(&caller.signed_by))
    } else {
        Vec::new()
    };
    json_response_bytes(status, data, signature)
}

fn json_response(
    status: StatusCode,
    value: &Value,
    headers: Vec<(&'static str, String)>,
) -> Response<Body> {
    json_response_bytes(
        status,
        serde_json::to_vec(value).unwrap_or_default(),
        headers,
    )
}

fn json_response_bytes(
    status: StatusCode,
    data: Vec<u8>,
    headers: Vec<(&'static str, String)>,
) -> Response<Body> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response
        .body(Full::new(Bytes::from(data)).boxed())
        .unwrap_or_else(|_| plain(500, "Internal Server Error"))
}
