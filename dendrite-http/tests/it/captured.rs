//! Our requests against the real 10.5.0 dendrite's, byte for byte (`tests/fixtures/
//! captured-10.5.0.json`, copied from `shared/peer10/captured-example.json`: three requests as
//! the real dendrite sent them to a real axon, and the axon's raw answers).

use base64::Engine as _;
use dendrite_http::terminal::TerminalInfo;
use dendrite_http::{read_answer, AxonTarget, Dendrite, PyValue, SynapseCall};
use dendrite_keys::Keypair;
use serde_json::Value;

fn capture() -> Value {
    let text = include_str!("../fixtures/captured-10.5.0.json");
    serde_json::from_str(text).expect("the capture is JSON")
}

/// A raw HTTP/1.1 message split into its start line, headers in order, and body.
fn split_raw(raw: &[u8]) -> (String, Vec<(String, String)>, Vec<u8>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap().to_owned();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (start, headers, raw[end + 4..].to_vec())
}

/// The synapses of the capture as `shared/peer10/synapses.py` declares them: name, required
/// fields, hash fields.
fn declared(name: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match name {
        "Dummy" => (&["dummy_input"], &[]),
        "Hashed" => (&["text"], &["text"]),
        _ => (&[], &[]),
    }
}

#[test]
fn requests_are_the_real_dendrites_byte_for_byte() {
    let capture = capture();
    let alice = Keypair::from_uri("//Alice").unwrap();
    assert_eq!(capture["dendrite_hotkey"], alice.ss58_address());
    let exchanges = capture["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 3);
    for exchange in exchanges {
        let request = &exchange["request"];
        let raw = base64::engine::general_purpose::STANDARD
            .decode(request["raw_b64"].as_str().unwrap())
            .unwrap();
        let (start, headers, body) = split_raw(&raw);
        let sent = PyValue::parse(&body).unwrap();
        let dendrite_sent = sent.get("dendrite").unwrap();
        let axon_sent = sent.get("axon").unwrap();
        let PyValue::Int(nonce) = dendrite_sent.get("nonce").unwrap() else {
            panic!("a nonce")
        };
        let PyValue::Str(uuid) = dendrite_sent.get("uuid").unwrap() else {
            panic!("a uuid")
        };
        let PyValue::Int(total_size) = sent.get("total_size").unwrap() else {
            panic!("a size")
        };
        let name = request["synapse"].as_str().unwrap();
        let PyValue::Dict(items) = &sent else {
            panic!()
        };
        // The subclass fields: everything after the base class's computed_body_hash.
        let at = items
            .iter()
            .position(|(k, _)| k == "computed_body_hash")
            .unwrap();
        let fields = PyValue::Dict(items[at + 1..].to_vec());
        let (required, hashed) = declared(name);
        let call =
            SynapseCall::new(name, 12.0, &fields, required, hashed, Some(*total_size)).unwrap();
        let dendrite = Dendrite::with_uuid(alice.clone(), "192.0.2.1", uuid.clone());
        let axon = TerminalInfo::from_json(axon_sent);
        let target = AxonTarget {
            ip: axon.ip.clone().unwrap(),
            port: axon.port.unwrap() as u16,
            hotkey: axon.hotkey.clone().unwrap(),
            uid: None,
        };
        let ours = dendrite.render(&call, &target, *nonce);
        assert_eq!(
            ours.signed_message,
            request["signed_message"].as_str().unwrap()
        );
        // sr25519 signatures are randomised: ours must verify, then we compare the bytes with
        // the capture's signature in its place.
        let our_signature = ours
            .headers
            .iter()
            .find(|(k, _)| k == "bt_header_dendrite_signature");
        let signature = hex::decode(&our_signature.unwrap().1[2..]).unwrap();
        assert!(dendrite_keys::keys::verify(
            &alice.public_key(),
            ours.signed_message.as_bytes(),
            &signature.try_into().unwrap()
        ));
        let PyValue::Str(theirs) = dendrite_sent.get("signature").unwrap() else {
            panic!()
        };
        let signed = dendrite_http::Signed {
            uuid,
            nonce: *nonce,
            message: ours.signed_message,
            signature: theirs.clone(),
        };
        let ours = dendrite.render_signed(&call, &target, signed);
        assert_eq!(start, format!("POST {} HTTP/1.1", ours.path));
        let bittensor: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "Host"
                        | "Accept"
                        | "Accept-Encoding"
                        | "User-Agent"
                        | "Content-Length"
                        | "Content-Type"
                )
            })
            .cloned()
            .collect();
        let ours_headers: Vec<(String, String)> = ours
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        assert_eq!(ours_headers, bittensor, "{name}: headers in order");
        assert_eq!(ours.body.to_vec(), &body[..], "{name}: body");
    }
}

#[test]
fn answers_are_read_as_the_real_dendrite_read_them() {
    let capture = capture();
    for exchange in capture["exchanges"].as_array().unwrap() {
        let request = base64::engine::general_purpose::STANDARD
            .decode(exchange["request"]["raw_b64"].as_str().unwrap())
            .unwrap();
        let sent = PyValue::parse(&split_raw(&request).2).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(exchange["response"]["raw_b64"].as_str().unwrap())
            .unwrap();
        let (start, headers, body) = split_raw(&raw);
        let status: u16 = start.split(' ').nth(1).unwrap().parse().unwrap();
        let answer = read_answer(
            status,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())),
            &body.into(),
            &TerminalInfo::from_json(sent.get("dendrite").unwrap()),
            &TerminalInfo::from_json(sent.get("axon").unwrap()),
        )
        .unwrap();
        let real = &exchange["dendrite_result"];
        assert_eq!(
            answer.status_code(),
            real["status_code"].as_i64(),
            "{start}"
        );
        assert_eq!(
            answer.dendrite.status_message.as_deref(),
            real["status_message"].as_str()
        );
        match &real["result"] {
            Value::Object(synapse) => {
                // deserialize=False: the whole synapse; its infos must be ours.
                assert!(answer.fields.is_none());
                for (side, ours) in [("axon", &answer.axon), ("dendrite", &answer.dendrite)] {
                    let theirs = &synapse[side];
                    assert_eq!(ours.status_code, theirs["status_code"].as_i64());
                    assert_eq!(ours.hotkey.as_deref(), theirs["hotkey"].as_str());
                    assert_eq!(ours.ip.as_deref(), theirs["ip"].as_str());
                    assert_eq!(ours.port, theirs["port"].as_i64());
                    assert_eq!(ours.nonce.map(|n| n as u64), theirs["nonce"].as_u64());
                }
                assert_eq!(
                    answer.axon.process_time,
                    synapse["axon"]["process_time"].as_f64()
                );
            }
            deserialized => {
                let fields = answer.fields.as_ref().unwrap();
                let out = ["dummy_output", "out"]
                    .iter()
                    .find_map(|k| fields.get(k))
                    .unwrap();
                assert_eq!(out.to_value().dumps(), deserialized.to_string());
                assert_eq!(answer.axon.status_code, Some(200));
            }
        }
    }
}
