//! Reading a 10.x axon's answer into the synapse's result as the 10.5.0 dendrite does, and the
//! dendrite's own failures with their status codes and messages.
//!
//! On 200 the body (the synapse the axon returned) replaces the sent fields, terminal infos
//! included; on any other status the axon's status and the body's `message` are kept. Then the
//! response's `bt_header_axon_*` / `bt_header_dendrite_*` fill in over both infos, and the
//! dendrite's status becomes the axon's. A body or header that does not parse is the
//! dendrite's 422, as in 10.5.0. Invariant: nothing here panics on a peer's bytes.

use bytes::Bytes;

use crate::doc::Doc;
use crate::echoed::Elided;
use crate::terminal::{Side, TerminalInfo};

/// 10.5.0's `DENDRITE_ERROR_MAPPING`, in its order: the exception class a failed call raised
/// (asyncio's `TimeoutError`, the others aiohttp's), the status code it sets (`None`: the
/// error's own code) and the first words of its message. The one table: [`DendriteFailure`]
/// words its messages from it, and the Python module maps exceptions by it
/// (`_native.ERROR_MAPPING`).
pub const ERROR_MAPPING: [(&str, Option<i64>, &str); 8] = [
    ("TimeoutError", Some(408), "Request timeout"),
    ("ClientConnectorError", Some(503), "Service unavailable"),
    ("ClientResponseError", None, "Client response error"),
    ("ClientPayloadError", Some(400), "Payload error"),
    ("ClientError", Some(500), "Client error"),
    ("ServerTimeoutError", Some(504), "Server timeout error"),
    ("ServerDisconnectedError", Some(503), "Service disconnected"),
    (
        "ServerConnectionError",
        Some(503),
        "Service connection error",
    ),
];

/// What 10.5.0 sets for an exception [`ERROR_MAPPING`] does not name: 422 and these words.
pub const UNMAPPED_ERROR: (i64, &str) = (422, "Failed to parse response");

/// The status code and message words of the exception class `name` in [`ERROR_MAPPING`].
fn mapped(name: &str) -> (Option<i64>, &'static str) {
    ERROR_MAPPING
        .iter()
        .find(|(class, _, _)| *class == name)
        .map_or(
            (Some(UNMAPPED_ERROR.0), UNMAPPED_ERROR.1),
            |&(_, code, words)| (code, words),
        )
}

/// A call that ended in the dendrite, not at the axon: 10.5.0's `DENDRITE_ERROR_MAPPING`.
#[derive(Clone, Debug, PartialEq)]
pub enum DendriteFailure {
    /// The deadline passed (connect, send or read): 408.
    Timeout,
    /// The connection was refused or could not be made: 503.
    Unavailable,
    /// The axon closed the connection before answering: 503.
    Disconnected,
    /// The answer's body was shorter than it said, or its framing broke: 400.
    Payload(String),
    /// Another client-side error (e.g. an answer over the size bound): 500.
    Client(String),
    /// The answer could not be read as the synapse: 422.
    Parse(String),
    /// The caller's policy ended the call before its deadline (a quorum was met): 408, with
    /// the policy's message (ours; 10.5.0 has no such policy).
    Cut(String),
}

/// What a call's synapse needs to say about where it went, for failure messages.
#[derive(Clone, Copy, Debug)]
pub struct CallSite<'a> {
    /// The axon's IP as requested.
    pub ip: &'a str,
    /// Its port.
    pub port: u16,
    /// The synapse's name.
    pub name: &'a str,
    /// The synapse's timeout in seconds.
    pub timeout: f64,
}

impl DendriteFailure {
    /// The exception class 10.5.0 raises for it ([`ERROR_MAPPING`]; a parse failure is no
    /// class of the table, a cut is ours and reads as a timeout).
    fn class(&self) -> &'static str {
        match self {
            DendriteFailure::Timeout | DendriteFailure::Cut(_) => "TimeoutError",
            DendriteFailure::Unavailable => "ClientConnectorError",
            DendriteFailure::Disconnected => "ServerDisconnectedError",
            DendriteFailure::Payload(_) => "ClientPayloadError",
            DendriteFailure::Client(_) => "ClientError",
            DendriteFailure::Parse(_) => "ValueError",
        }
    }

    /// The status code 10.5.0 sets for it.
    pub fn status_code(&self) -> i64 {
        mapped(self.class()).0.unwrap_or(UNMAPPED_ERROR.0)
    }

    /// The status message 10.5.0 writes (`Request timeout after 12.0 seconds`, `Service
    /// unavailable at 127.0.0.1:8091/Dummy`, …).
    pub fn message(&self, site: CallSite<'_>) -> String {
        let words = mapped(self.class()).1;
        match self {
            DendriteFailure::Timeout => format!(
                "{words} after {} seconds",
                crate::value::float_repr(site.timeout)
            ),
            DendriteFailure::Unavailable => {
                format!("{words} at {}:{}/{}", site.ip, site.port, site.name)
            }
            DendriteFailure::Disconnected => format!("{words}: Server disconnected"),
            DendriteFailure::Payload(why)
            | DendriteFailure::Client(why)
            | DendriteFailure::Parse(why) => format!("{words}: {why}"),
            DendriteFailure::Cut(why) => why.clone(),
        }
    }
}

/// The synapse's state after a call: its infos, status and (on 200) the axon's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct SynapseAnswer {
    /// The dendrite's side; `status_code`/`status_message` are the call's result.
    pub dendrite: TerminalInfo,
    /// The axon's side.
    pub axon: TerminalInfo,
    /// On 200, the synapse the axon returned (a JSON object, its strings sharing the body's
    /// bytes), whose fields replace the sent ones; `None` otherwise.
    pub fields: Option<Doc>,
}

impl SynapseAnswer {
    /// The call's status code (`dendrite.status_code`).
    pub fn status_code(&self) -> Option<i64> {
        self.dendrite.status_code
    }

    /// The synapse after a failure of the dendrite's own: the sent infos, the failure's
    /// status and message on the dendrite's side, no fields.
    pub fn failed(
        sent_dendrite: TerminalInfo,
        sent_axon: TerminalInfo,
        failure: &DendriteFailure,
        site: CallSite<'_>,
    ) -> SynapseAnswer {
        let mut dendrite = sent_dendrite;
        dendrite.status_code = Some(failure.status_code());
        dendrite.status_message = Some(failure.message(site));
        SynapseAnswer {
            dendrite,
            axon: sent_axon,
            fields: None,
        }
    }
}

/// Reads an answer (`status`, its headers, its whole body) to a request that sent
/// `sent_dendrite`/`sent_axon`; `Err` is the dendrite's own failure (422 for a body or header
/// that does not parse).
pub fn read_answer<'h>(
    status: u16,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    body: &Bytes,
    sent_dendrite: &TerminalInfo,
    sent_axon: &TerminalInfo,
) -> Result<SynapseAnswer, DendriteFailure> {
    read_elided_answer(status, headers, body, None, sent_dendrite, sent_axon)
}

/// [`read_answer`] of a body that [`crate::echoed::elide`] rearranged (`elided`), its sent
/// string put back; the same answer as the body before (a parse error's position may differ).
pub fn read_elided_answer<'h>(
    status: u16,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    body: &Bytes,
    elided: Option<&Elided>,
    sent_dendrite: &TerminalInfo,
    sent_axon: &TerminalInfo,
) -> Result<SynapseAnswer, DendriteFailure> {
    let json = parse_elided(body, elided).map_err(|e| DendriteFailure::Parse(e.to_string()))?;
    let mut dendrite = sent_dendrite.clone();
    let mut axon = sent_axon.clone();
    let fields = if status == 200 {
        if !matches!(json, Doc::Dict(_)) {
            return Err(DendriteFailure::Parse(
                "the answer is not a JSON object".into(),
            ));
        }
        dendrite = json
            .get("dendrite")
            .map(|info| TerminalInfo::from_json(&info.to_value()))
            .unwrap_or_default();
        axon = json
            .get("axon")
            .map(|info| TerminalInfo::from_json(&info.to_value()))
            .unwrap_or_default();
        Some(json)
    } else {
        let message = match &json {
            Doc::Dict(_) => match json.get("message") {
                Some(Doc::Str(m)) => Some(m.as_str().to_owned()),
                Some(Doc::None) | None => None,
                Some(other) => Some(other.to_value().py_str()),
            },
            _ => {
                return Err(DendriteFailure::Parse(
                    "the error answer is not a JSON object".into(),
                ))
            }
        };
        axon.status_code = Some(i64::from(status));
        axon.status_message = message;
        None
    };
    overlay_headers(&mut dendrite, &mut axon, headers)?;
    Ok(SynapseAnswer {
        dendrite,
        axon,
        fields,
    })
}

/// The synapse after a streamed answer's head (`text/event-stream`: the body is the stream's
/// chunks, not the synapse): the axon's status and infos from the headers, no fields. 10.5.0
/// rebuilds the rest from the user's `extract_response_json`.
pub fn read_stream_head<'h>(
    status: u16,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    sent_dendrite: &TerminalInfo,
    sent_axon: &TerminalInfo,
) -> Result<SynapseAnswer, DendriteFailure> {
    let mut dendrite = sent_dendrite.clone();
    let mut axon = sent_axon.clone();
    axon.status_code = Some(i64::from(status));
    overlay_headers(&mut dendrite, &mut axon, headers)?;
    Ok(SynapseAnswer {
        dendrite,
        axon,
        fields: None,
    })
}

/// The response's `bt_header_*` over both infos (their non-`None` fields win), then the
/// dendrite's status becomes the axon's; a header value that does not parse is the dendrite's
/// 422.
fn overlay_headers<'h>(
    dendrite: &mut TerminalInfo,
    axon: &mut TerminalInfo,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
) -> Result<(), DendriteFailure> {
    let (from_dendrite, from_axon) = infos_from_headers(headers)?;
    dendrite.overlay(&from_dendrite);
    axon.overlay(&from_axon);
    dendrite.status_code = axon.status_code;
    dendrite.status_message = axon.status_message.clone();
    Ok(())
}

/// The dendrite's and the axon's terminal infos an answer's `bt_header_dendrite_*` and
/// `bt_header_axon_*` headers carry (names in any case; other headers ignored), each value read
/// as pydantic would coerce it; a value of a known field that does not read is a parse failure.
/// The one rule, for our answers and the Python module's `process_server_response`
/// (`_native.terminal_headers`).
pub fn infos_from_headers<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
) -> Result<(TerminalInfo, TerminalInfo), DendriteFailure> {
    let (mut from_dendrite, mut from_axon) = (TerminalInfo::default(), TerminalInfo::default());
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        let (info, field) = if let Some(field) = lower.strip_prefix(Side::Dendrite.prefix()) {
            (&mut from_dendrite, field.to_owned())
        } else if let Some(field) = lower.strip_prefix(Side::Axon.prefix()) {
            (&mut from_axon, field.to_owned())
        } else {
            continue;
        };
        let text = String::from_utf8_lossy(value);
        if !info.set_from_header(&field, &text) && is_terminal_field(&field) {
            return Err(DendriteFailure::Parse(format!(
                "header {name} has an invalid value {text:?}"
            )));
        }
    }
    Ok((from_dendrite, from_axon))
}

fn is_terminal_field(name: &str) -> bool {
    matches!(
        name,
        "status_code"
            | "status_message"
            | "process_time"
            | "ip"
            | "port"
            | "version"
            | "nonce"
            | "uuid"
            | "hotkey"
            | "signature"
    )
}

/// The document of `body`, read from where `elided` left it (its sent string put back), or
/// whole.
fn parse_elided(body: &Bytes, elided: Option<&Elided>) -> Result<Doc, sonic_rs::Error> {
    let Some(elided) = elided else {
        return Doc::parse(body);
    };
    let mut doc = Doc::parse(&body.slice(elided.start()..))?;
    if elided.restore(&mut doc) {
        return Ok(doc);
    }
    // Never for a body `elide` rearranged (its invariants); the body as it came, read again.
    Doc::parse(&Bytes::from(elided.original(body)))
}
