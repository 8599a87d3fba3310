//! Agreement with the real Python bittensor 3.7.0: endpoint JSON and tensors, token ids of 1,100
//! strings and padded batches. Fixtures: `tests/fixtures/format.json` (`cargo xtask fixtures`).

use dendrite_format::{BittensorTokenizer, Endpoint, EndpointError, PAD_TOKEN_ID};
use dendrite_wire::Tensor;
use serde_json::Value;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../fixtures/format.json")).expect("valid JSON")
}

fn ids(value: &Value) -> Vec<i64> {
    serde_json::from_value(value.clone()).expect("list of ints")
}

#[test]
fn endpoint_json_and_tensors_are_byte_identical_to_python() {
    let fx = fixtures();
    for case in fx["endpoints"].as_array().unwrap() {
        let expected_tensor = case.get("tensor").map(ids);
        if case.get("dummy").is_some() {
            let dummy = Endpoint::dummy();
            assert_eq!(dummy.dumps(), case["json"].as_str().unwrap());
            let t = dummy.to_tensor().unwrap();
            assert_eq!(t.as_slice::<i64>().unwrap(), &expected_tensor.unwrap()[..]);
            let all_padding = Tensor::from_vec(vec![-1i64; 250], [250]).unwrap();
            assert_eq!(Endpoint::from_tensor(&all_padding).unwrap(), dummy);
            continue;
        }
        let num = |k: &str| case[k].as_u64().unwrap();
        let endpoint = Endpoint {
            version: num("version") as u32,
            uid: num("uid"),
            hotkey: case["hotkey"].as_str().unwrap().into(),
            ip: case["ip"].as_str().unwrap().into(),
            ip_type: num("ip_type") as u8,
            port: num("port") as u16,
            protocol: num("protocol") as u32,
            coldkey: case["coldkey"].as_str().unwrap().into(),
            modality: num("modality") as u32,
        };
        endpoint.validate().unwrap();
        assert_eq!(endpoint.dumps(), case["json"].as_str().unwrap());
        match expected_tensor {
            Some(expected) => {
                let t = endpoint.to_tensor().unwrap();
                assert_eq!(t.shape(), &[250]);
                assert_eq!(t.as_slice::<i64>().unwrap(), &expected[..], "{endpoint}");
                assert_eq!(Endpoint::from_tensor(&t).unwrap(), endpoint);
            }
            None => assert!(matches!(
                endpoint.to_tensor(),
                Err(EndpointError::TooLarge(251))
            )),
        }
    }
}

#[test]
fn every_string_tokenizes_to_the_python_ids() {
    let fx = fixtures();
    let tokenizer = BittensorTokenizer::shared().unwrap();
    let cases = fx["strings"].as_array().unwrap();
    assert!(cases.len() >= 1000);
    let mut mismatches = Vec::new();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let expected = ids(&case["ids"]);
        let actual = tokenizer.encode(text).unwrap();
        if actual != expected {
            mismatches.push(format!("{text:?}: {actual:?} vs {expected:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} strings differ, e.g. {}",
        mismatches.len(),
        cases.len(),
        mismatches
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn batches_pad_on_the_left_like_python() {
    let fx = fixtures();
    assert_eq!(fx["pad_token_id"].as_i64().unwrap(), PAD_TOKEN_ID);
    assert_eq!(fx["padding_side"], "left");
    let tokenizer = BittensorTokenizer::shared().unwrap();
    for case in fx["batches"].as_array().unwrap() {
        let texts: Vec<String> = serde_json::from_value(case["texts"].clone()).unwrap();
        let expected: Vec<Vec<i64>> = serde_json::from_value(case["ids"].clone()).unwrap();
        let batch = tokenizer.encode_batch(&texts).unwrap();
        assert_eq!(
            batch.shape(),
            &[expected.len(), expected[0].len()],
            "{texts:?}"
        );
        let flat: Vec<i64> = expected.concat();
        assert_eq!(batch.as_slice::<i64>().unwrap(), &flat[..], "{texts:?}");
    }
}
