//! Server-Sent Events (`text/event-stream`), parsed as the WHATWG EventSource rules say, from
//! bytes as they arrive: an event may be split across reads anywhere (inside a line, between
//! `\r` and `\n`, inside a UTF-8 character), and [`SseParser::push`] gives each event once its
//! blank line arrived.
//!
//! The rules kept: lines end with CRLF, LF or CR; a UTF-8 BOM at the start is dropped; a line
//! starting with `:` is a comment; `field: value` (one space after the colon dropped), a line
//! without a colon is a field with an empty value; `data` lines join with `\n`; `event` names
//! the type (default `message`); `id` sets the last event id (ignored when it holds NUL);
//! `retry` takes ASCII digits only; other fields are ignored; a blank line dispatches the event,
//! none when no `data` came; an event the stream ends in the middle of is dropped. Bytes that
//! are no UTF-8 read as U+FFFD.
//!
//! **Invariants:** the parser never panics on any bytes; what it holds between reads is the
//! partial line and the event being built (the caller bounds the stream's bytes); any split of
//! a stream into reads gives the same events.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// Its type: the `event` field, else `message`.
    pub event: String,
    /// Its `data` lines joined with `\n`.
    pub data: String,
    /// The last event id when it was dispatched (empty when none was set).
    pub id: String,
    /// The `retry` field's milliseconds, if this event carried a valid one.
    pub retry: Option<u64>,
}

/// An incremental `text/event-stream` parser.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The bytes of the line not yet ended.
    line: Vec<u8>,
    /// The previous byte ended a line with `\r`: a `\n` next belongs to it.
    after_cr: bool,
    /// Some byte was read (the BOM is dropped only at the very start).
    started: bool,
    data: String,
    event: String,
    has_data: bool,
    last_id: String,
    retry: Option<u64>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `bytes`, the next part of the stream, and appends the events they complete to
    /// `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        for &byte in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match byte {
                b'\n' if after_cr => {}
                b'\n' => self.end_line(out),
                b'\r' => {
                    self.end_line(out);
                    self.after_cr = true;
                }
                _ => self.line.push(byte),
            }
        }
    }

    /// The bytes held for a line not yet ended and an event not yet dispatched (for a caller
    /// that bounds what a stream may hold).
    pub fn pending_bytes(&self) -> usize {
        self.line.len() + self.data.len() + self.event.len()
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let raw = std::mem::take(&mut self.line);
        let mut text: &str = &String::from_utf8_lossy(&raw);
        if !self.started {
            self.started = true;
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        let text = text.to_owned();
        if text.is_empty() {
            self.dispatch(out);
            return;
        }
        if text.starts_with(':') {
            return;
        }
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text.as_str(), ""),
        };
        match field {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "event" => self.event = value.to_owned(),
            "id" if !value.contains('\0') => self.last_id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let retry = self.retry.take();
        let event = std::mem::take(&mut self.event);
        if !std::mem::take(&mut self.has_data) {
            self.data.clear();
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        if data.ends_with('\n') {
            data.pop();
        }
        out.push(SseEvent {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
            retry,
        });
    }
}

/// Every event of a whole stream (the events it ends in the middle of dropped).
pub fn parse_all(stream: &[u8]) -> Vec<SseEvent> {
    let mut out = Vec::new();
    SseParser::new().push(stream, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn the_specs_examples() {
        // WHATWG's examples: multi-line data, comments, a field without a value, ids.
        let stream = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n";
        let events = parse_all(stream);
        assert_eq!(
            data(&events),
            ["first event", "second event", " third event"]
        );
        assert_eq!(events[0].id, "1");
        assert_eq!(events[1].id, "", "an id line without a value resets it");
        let stream = b"data: YHOO\ndata: +2\ndata: 10\n\n";
        assert_eq!(data(&parse_all(stream)), ["YHOO\n+2\n10"]);
        let stream = b"data\n\ndata\ndata\n\ndata:";
        assert_eq!(
            data(&parse_all(stream)),
            ["", "\n"],
            "the last event never ended"
        );
    }

    #[test]
    fn types_line_endings_bom_and_retry() {
        let stream =
            "\u{feff}event: add\r\ndata: 73857293\r\n\r\nretry: 10x\rretry: 250\rdata: x\r\r";
        let events = parse_all(stream.as_bytes());
        assert_eq!(events[0].event, "add");
        assert_eq!(events[0].data, "73857293");
        assert_eq!(events[1].event, "message");
        assert_eq!(events[1].retry, Some(250));
        assert_eq!(parse_all(b"event: x\n\n"), [], "no data, no event");
        assert_eq!(data(&parse_all(b"data: a\xffb\n\n")), ["a\u{fffd}b"]);
    }

    #[test]
    fn openai_style_streams_end_with_done() {
        let stream =
            b"data: {\"choices\": [{\"delta\": {\"content\": \"tok0 \"}}]}\n\ndata: [DONE]\n\n";
        let events = parse_all(stream);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].data, "[DONE]");
    }
}
