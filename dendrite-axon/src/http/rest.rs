//! Our HTTP axon's answers to signed REST requests, as bittensor 11's subnets send theirs: any
//! path that is no synapse call (a request without `bt_header_dendrite_*`), so benches and chaos
//! runs have fast fleets for `Client::request`.
//!
//! Checks, in this order: the body read whole under `max_request_bytes` (413); then the scheme
//! the request carries: Epistula v2 (the reference miner's checks and reasons, 400 with
//! `{"detail": reason}`, then a uuid it has seen: "UUID reused") or btauth/1 (11.3.0's verify,
//! 401 with `{"ok": false, "error", "reason"}`); a request with neither is 401. Then the routes
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

use super::{plain, send_chunk, streamed, Body, Shared};

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

/// Answers one REST request whose head is `parts` and whose body (already read under the
/// bound) is `body`.
pub(super) async fn answer_rest(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    body: &Bytes,
) -> Response<Body> {
    let caller = match verify(shared, parts, body) {
        Ok(caller) => caller,
        Err((status, body)) => return json_response(status, &body, Vec::new()),
    };
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    if path == "/v1/chat/completions" {
        return chat(shared, &caller, body);
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
        "body_sha256": epistula::body_sha256(body),
        "body_bytes": body.len(),
    });
    answer_json(shared, &caller, StatusCode::OK, &echo)
}

/// The request's signature, by the scheme it carries, or the refusal to answer with (its
/// status and JSON body).
fn verify(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    body: &Bytes,
) -> Result<Caller, (StatusCode, Value)> {
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let refuse = |status: StatusCode, body: Value| Err((status, body));
    if has(epistula::HEADER_VERSION) {
        let now_ms = i64::try_from(dendrite_keys::nonce::now_ns() / 1_000_000).unwrap_or(i64::MAX);
        let window = epistula::DEFAULT_WINDOW;
        let verified = match epistula::verify(
            headers.iter().copied(),
            body,
            &shared.hotkey,
            now_ms,
            window,
        ) {
            Ok(verified) => verified,
            Err(e) => return refuse(StatusCode::BAD_REQUEST, json!({"detail": e.to_string()})),
        };
        let fresh = shared
            .rest
            .uuids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(verified.uuid.to_owned(), ())
            .is_none();
        if !fresh {
            return refuse(StatusCode::BAD_REQUEST, json!({"detail": "UUID reused"}));
        }
        return Ok(Caller {
            signed_by: verified.signed_by.to_owned(),
            signed_for: verified.signed_for.map(str::to_owned),
            epistula: true,
        });
    }
    if has(btauth::HEADER_VERSION) {
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let now = i128::from(dendrite_keys::nonce::now_ns());
        let method = parts.method.as_str();
        return match shared
            .rest
            .btauth
            .verify(headers.iter().copied(), body, method, target, now)
        {
            Ok(caller) => Ok(Caller {
                signed_by: caller.hotkey,
                signed_for: None,
                epistula: false,
            }),
            Err(e) => refuse(
                StatusCode::UNAUTHORIZED,
                json!({"ok": false, "error": e.kind(), "reason": e.to_string()}),
            ),
        };
    }
    refuse(
        StatusCode::UNAUTHORIZED,
        json!({"detail": "unsigned request: sign it with Epistula v2 or btauth/1"}),
    )
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
