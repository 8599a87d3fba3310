//! A 10.x synapse request as it goes out: rendered for one axon on one connection's uuid,
//! signed (the 10.x signature and, when asked, btauth/1: both cover the body, so they are made
//! once it exists), and laid out as hyper sends it: the head, then the body's two parts (this
//! axon's, the call's shared one) written together.

use std::net::SocketAddr;

use bytes::{Buf as _, Bytes};
use dendrite_http::{AxonTarget, DendriteFailure, SynapseRequest};
use dendrite_keys::SigningScheme;

use super::synapse::SynapseContext;
use super::Http;
use crate::neutral::transport::RequestBody;

impl Http {
    /// The request to `axon` on a connection of `uuid`, rendered and signed (both 10.x schemes
    /// cover the body, so it is signed now that it exists).
    pub(super) fn signed_request(
        &self,
        uuid: &str,
        axon: &AxonTarget,
        addr: SocketAddr,
        call: &SynapseContext,
    ) -> Result<(http::Request<()>, RequestBody), DendriteFailure> {
        const _: () = assert!(SigningScheme::Synapse10.covers_body());
        const _: () = assert!(SigningScheme::BtAuth1.covers_body());
        let http = self;
        let rendered = http
            .dendrite
            .render_as(uuid, &call.synapse, axon, http.next_nonce());
        let btauth = self.config.btauth.then(|| {
            dendrite_http::btauth::sign(
                http.dendrite.key(),
                "POST",
                &rendered.path,
                &rendered.body.parts(),
                Some(&axon.hotkey),
                http.next_nonce(),
            )
        });
        let (head, body) = http_request(rendered, addr, btauth.as_deref().unwrap_or_default())
            .map_err(DendriteFailure::Client)?;
        Ok((head, body))
    }
}

/// The request as hyper sends it: `Host` first, bittensor's headers in order, the btauth/1
/// headers when asked, then the body's length and type. Fixed names are static (no parse, no
/// allocation) and values take their strings' buffers (no copy).
pub(super) fn http_request(
    rendered: SynapseRequest,
    addr: SocketAddr,
    btauth: &[(&'static str, String)],
) -> Result<(http::Request<()>, RequestBody), String> {
    use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST};
    let invalid = |e: &dyn std::fmt::Display| format!("the request cannot be sent: {e}");
    let value = |text: String| HeaderValue::from_maybe_shared(Bytes::from(text));
    let name = |key: dendrite_http::HeaderKey| match key {
        // dendrite-http's own constants (`bt_header_*`, `name`, `timeout`, ...), all valid
        // lowercase names: `from_static` checks them without allocating.
        std::borrow::Cow::Borrowed(name) => Ok(HeaderName::from_static(name)),
        std::borrow::Cow::Owned(name) => HeaderName::from_bytes(name.as_bytes()),
    };
    let mut headers = HeaderMap::with_capacity(rendered.headers.len() + btauth.len() + 3);
    headers.insert(HOST, value(addr.to_string()).map_err(|e| invalid(&e))?);
    for (key, text) in rendered.headers {
        let name = name(key).map_err(|e| invalid(&e))?;
        headers.append(name, value(text).map_err(|e| invalid(&e))?);
    }
    for (key, text) in btauth {
        let name = HeaderName::from_bytes(key.as_bytes()).map_err(|e| invalid(&e))?;
        headers.append(name, HeaderValue::from_str(text).map_err(|e| invalid(&e))?);
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(rendered.body.len()));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let path = http::uri::PathAndQuery::from_maybe_shared(Bytes::from(rendered.path))
        .map_err(|e| invalid(&e))?;
    let mut request = http::Request::new(());
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from(path);
    *request.headers_mut() = headers;
    let body = rendered.body;
    Ok((request, Bytes::from(body.head).chain(body.fields)))
}
