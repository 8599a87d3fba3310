//! Reading a 10.x axon's answer into the synapse's result as the 10.5.0 dendrite does, and the
//! dendrite's own failures with their status codes and messages.
//!
//! On 200 the body (the synapse the axon returned) replaces the sent fields, terminal infos
//! included; on any other status the axon's status and the body's `message` are kept. Then the
//! response's `bt_header_axon_*` / `bt_header_dendrite_*` fill in over both infos, and the
//! dendrite's status becomes the axon's. A body or header that does not parse is the
//! dendrite's 422, as in 10.5.0. Invariant: nothing here panics on a peer's bytes.

use crate::terminal::{Side, TerminalInfo};
use crate::value::PyValue;

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
    /// The status code 10.5.0 sets for it.
    pub fn status_code(&self) -> i64 {
        match self {
            DendriteFailure::Timeout | DendriteFailure::Cut(_) => 408,
            DendriteFailure::Unavailable | DendriteFailure::Disconnected => 503,
            DendriteFailure::Payload(_) => 400,
            DendriteFailure::Client(_) => 500,
            DendriteFailure::Parse(_) => 422,
        }
    }

    /// The status message 10.5.0 writes (`Request timeout after 12.0 seconds`, `Service
    /// unavailable at 127.0.0.1:8091/Dummy`, …).
    pub fn message(&self, site: CallSite<'_>) -> String {
        match self {
            DendriteFailure::Timeout => format!(
                "Request timeout after {} seconds",
                crate::value::float_repr(site.timeout)
            ),
            DendriteFailure::Unavailable => format!(
                "Service unavailable at {}:{}/{}",
                site.ip, site.port, site.name
            ),
            DendriteFailure::Disconnected => "Service disconnected: Server disconnected".to_owned(),
            DendriteFailure::Payload(why) => format!("Payload error: {why}"),
            DendriteFailure::Client(why) => format!("Client error: {why}"),
            DendriteFailure::Parse(why) => format!("Failed to parse response: {why}"),
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
    /// On 200, the synapse the axon returned (a JSON object), whose fields replace the sent
    /// ones; `None` otherwise.
    pub fields: Option<PyValue>,
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
    body: &[u8],
    sent_dendrite: &TerminalInfo,
    sent_axon: &TerminalInfo,
) -> Result<SynapseAnswer, DendriteFailure> {
    let json = PyValue::parse(body).map_err(|e| DendriteFailure::Parse(e.to_string()))?;
    let mut dendrite = sent_dendrite.clone();
    let mut axon = sent_axon.clone();
    let fields = if status == 200 {
        if !matches!(json, PyValue::Dict(_)) {
            return Err(DendriteFailure::Parse(
                "the answer is not a JSON object".into(),
            ));
        }
        dendrite = json
            .get("dendrite")
            .map(TerminalInfo::from_json)
            .unwrap_or_default();
        axon = json
            .get("axon")
            .map(TerminalInfo::from_json)
            .unwrap_or_default();
        Some(json)
    } else {
        let message = match &json {
            PyValue::Dict(_) => match json.get("message") {
                Some(PyValue::Str(m)) => Some(m.clone()),
                Some(PyValue::None) | None => None,
                Some(other) => Some(other.py_str()),
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
    dendrite.overlay(&from_dendrite);
    axon.overlay(&from_axon);
    dendrite.status_code = axon.status_code;
    dendrite.status_message = axon.status_message.clone();
    Ok(())
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
