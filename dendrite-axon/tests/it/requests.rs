//! Hand-built requests against a real dendrite-axon over loopback: the 3.x axon's auth rules
//! and request checks (the cases of `../shared/peer/raw_cases.py`), with its statuses, codes
//! and messages.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use dendrite_axon::{serve, AxonConfig, AxonHandle, ToyModel, DEFAULT_GRADIENT_LOG_BYTES};
use dendrite_keys::signature::{sign_header, signed_text, SignatureFormat};
use dendrite_keys::Keypair;
use dendrite_wire::proto::bittensor_client::BittensorClient;
use dendrite_wire::proto::{ReturnCode, Serializer, TensorMessage};
use dendrite_wire::synapse::{TextCausalLM, TextLastHiddenState, NETWORK_DIM};
use dendrite_wire::{serializer, Synapse, Tensor};
use tonic::transport::Channel;

struct Peer {
    axon: AxonHandle,
    model: Arc<ToyModel>,
    client: BittensorClient<Channel>,
    alice: Keypair,
    nonce: u64,
}

const UUID: &str = "3c0e6c2e-raw-cases";

impl Peer {
    async fn start() -> Peer {
        let model = Arc::new(ToyModel::recording(DEFAULT_GRADIENT_LOG_BYTES));
        let axon = serve(
            &Keypair::from_uri("//Bob").unwrap(),
            model.clone(),
            AxonConfig::default(),
        )
        .await
        .unwrap();
        let channel = Channel::from_shared(format!("http://{}", axon.local_addr()))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let nonce = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Peer {
            axon,
            model,
            client: BittensorClient::new(channel),
            alice: Keypair::from_uri("//Alice").unwrap(),
            nonce,
        }
    }

    fn next_signature(&mut self) -> String {
        self.nonce += 1;
        sign_header(&self.alice, 370, self.axon.hotkey(), self.nonce, UUID)
    }

    async fn call(
        &mut self,
        message: TensorMessage,
        metadata: &[(&'static str, String)],
        backward: bool,
    ) -> Result<TensorMessage, tonic::Status> {
        let mut request = tonic::Request::new(message);
        for (k, v) in metadata {
            request.metadata_mut().insert(*k, v.parse().unwrap());
        }
        let response = if backward {
            self.client.backward(request).await
        } else {
            self.client.forward(request).await
        };
        response.map(|r| r.into_inner())
    }
}

fn base(
    signature: Option<String>,
    version: Option<&str>,
    request_type: &str,
) -> Vec<(&'static str, String)> {
    let mut md = vec![
        ("rpc-auth-header", "Bittensor".to_string()),
        ("request_type", request_type.to_string()),
    ];
    if let Some(v) = version {
        md.push(("bittensor-version", v.to_string()));
    }
    if let Some(s) = signature {
        md.push(("bittensor-signature", s));
    }
    md
}

fn lhs() -> Synapse {
    TextLastHiddenState::default().into()
}

fn request(tensors: Vec<Tensor>, synapses: &[Synapse]) -> TensorMessage {
    TensorMessage {
        version: 370,
        hotkey: Keypair::from_uri("//Alice").unwrap().ss58_address().into(),
        tensors: tensors
            .iter()
            .map(|t| serializer::serialize(t, Serializer::Msgpack).unwrap())
            .collect(),
        synapses: synapses
            .iter()
            .map(|s| s.to_wire(ReturnCode::Success, ""))
            .collect(),
        requires_grad: true,
        ..Default::default()
    }
}

fn hello() -> Tensor {
    Tensor::from_vec(vec![31373i64, 995], [1, 2]).unwrap()
}

fn code(response: &TensorMessage) -> ReturnCode {
    ReturnCode::try_from(response.return_code).unwrap()
}

fn synapse_codes(response: &TensorMessage) -> Vec<ReturnCode> {
    response
        .synapses
        .iter()
        .map(|s| ReturnCode::try_from(s.return_code).unwrap())
        .collect()
}

#[tokio::test]
async fn auth_rules_of_the_3x_axon() {
    let mut peer = Peer::start().await;
    let ok = peer.next_signature();
    let r = peer
        .call(
            request(vec![hello()], &[lhs()]),
            &base(Some(ok.clone()), Some("370"), "1"),
            false,
        )
        .await
        .unwrap();
    assert_eq!(code(&r), ReturnCode::Success);
    assert_eq!(r.tensors.len(), 1);
    assert_eq!(r.hotkey, peer.axon.hotkey());

    // The legacy v1 signature is still accepted.
    peer.nonce += 1;
    let v1 = sign_header(&peer.alice, 300, "", peer.nonce, UUID);
    let r = peer
        .call(
            request(vec![hello()], &[lhs()]),
            &base(Some(v1), Some("370"), "1"),
            false,
        )
        .await
        .unwrap();
    assert_eq!(code(&r), ReturnCode::Success);

    let charlie = Keypair::from_uri("//Charlie").unwrap();
    let n = peer.nonce + 10;
    let alice = peer.alice.ss58_address().to_string();
    let text = signed_text(SignatureFormat::V2, n, &alice, peer.axon.hotkey(), UUID);
    let by_charlie = format!(
        "{n}.{alice}.0x{}.{UUID}",
        hex::encode(charlie.sign(text.as_bytes()))
    );
    let for_alice = sign_header(&peer.alice, 370, &alice, n + 1, UUID);
    let fresh = sign_header(&peer.alice, 370, peer.axon.hotkey(), n + 2, UUID);
    let cases = [
        (
            "replayed_nonce",
            base(Some(ok), Some("370"), "1"),
            "Nonce is too small",
        ),
        (
            "missing_signature",
            base(None, Some("370"), "1"),
            "Request signature missing",
        ),
        (
            "version_369",
            base(Some(fresh.clone()), Some("369"), "1"),
            "Incorrect Version",
        ),
        (
            "missing_version",
            base(Some(fresh.clone()), None, "1"),
            "int() argument must be a string, a bytes-like object or a real number, not 'NoneType'",
        ),
        (
            "signed_by_other_key",
            base(Some(by_charlie), Some("370"), "1"),
            "Signature mismatch",
        ),
        (
            "wrong_receiver_hotkey",
            base(Some(for_alice), Some("370"), "1"),
            "Signature mismatch",
        ),
        (
            "garbage_signature_format",
            base(Some("hello".into()), Some("370"), "1"),
            "Unknown signature format",
        ),
    ];
    for (case, metadata, message) in cases {
        let status = peer
            .call(request(vec![hello()], &[lhs()]), &metadata, false)
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{case}");
        assert_eq!(status.message(), message, "{case}");
    }
    assert_eq!(peer.axon.forward_count(), 2);
}

#[tokio::test]
async fn request_checks_give_the_references_codes() {
    let mut peer = Peer::start().await;
    let topk_too_big: Synapse = TextCausalLM::with_topk(60_000).into();
    let one_d = Tensor::from_vec(vec![1i64, 2, 3], [3]).unwrap();
    let cases: Vec<(&str, TensorMessage, ReturnCode, Vec<ReturnCode>)> = vec![
        // The Python axon crashes on these two (gRPC UNKNOWN); we answer them.
        (
            "empty_tensors",
            request(vec![], &[lhs()]),
            ReturnCode::RequestShapeException,
            vec![ReturnCode::RequestShapeException],
        ),
        (
            "two_synapses_one_tensor",
            request(vec![hello()], &[lhs(), TextCausalLM::with_topk(4).into()]),
            ReturnCode::RequestShapeException,
            vec![ReturnCode::RequestShapeException; 2],
        ),
        (
            "tensor_1d_shape_error",
            request(vec![one_d], &[lhs()]),
            ReturnCode::RequestShapeException,
            vec![ReturnCode::RequestShapeException],
        ),
        (
            "no_synapses",
            request(vec![hello()], &[]),
            ReturnCode::RequestShapeException,
            vec![],
        ),
        (
            "causallm_topk_too_big",
            request(vec![hello()], &[topk_too_big]),
            ReturnCode::ResponseSerializationException,
            vec![ReturnCode::ResponseSerializationException],
        ),
    ];
    for (case, message, expected, per_synapse) in cases {
        let signature = peer.next_signature();
        let r = peer
            .call(message, &base(Some(signature), Some("370"), "1"), false)
            .await
            .unwrap();
        assert_eq!(code(&r), expected, "{case}");
        assert_eq!(synapse_codes(&r), per_synapse, "{case}");
        assert!(r.tensors.is_empty(), "{case}");
    }
    let signature = peer.next_signature();
    let one_d = Tensor::from_vec(vec![1i64, 2, 3], [3]).unwrap();
    let r = peer
        .call(
            request(vec![one_d], &[lhs()]),
            &base(Some(signature), Some("370"), "1"),
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        r.synapses[0].message,
        "Input shape exception with error:forward_request_tensor.shape must be in [-1, -1], got: [3] for synapse: TextLastHiddenState"
    );
}

#[tokio::test]
async fn an_unknown_synapse_type_is_not_implemented_and_the_others_still_answer() {
    let mut peer = Peer::start().await;
    let mut message = request(vec![hello(), hello()], &[lhs(), lhs()]);
    message.synapses[1].synapse_type = 99;
    let signature = peer.next_signature();
    let r = peer
        .call(message, &base(Some(signature), Some("370"), "1"), false)
        .await
        .unwrap();
    assert_eq!(code(&r), ReturnCode::Success);
    assert_eq!(
        synapse_codes(&r),
        vec![ReturnCode::Success, ReturnCode::NotImplemented]
    );
    assert_eq!(r.tensors.len(), 2);
}

#[tokio::test]
async fn backward_checks_and_delivery() {
    let mut peer = Peer::start().await;
    let synapse = lhs();
    let grad = Tensor::from_vec(
        (0..2 * NETWORK_DIM).map(|i| i as f32).collect::<Vec<_>>(),
        [1, 2, NETWORK_DIM],
    )
    .unwrap();
    let mut good = request(vec![hello()], std::slice::from_ref(&synapse));
    good.tensors
        .push(synapse.serialize_backward_request(&hello(), &grad).unwrap());
    let cases = [
        ("backward", good, ReturnCode::Success),
        (
            "empty",
            request(vec![], std::slice::from_ref(&synapse)),
            ReturnCode::EmptyRequest,
        ),
        (
            "one_tensor",
            request(vec![hello()], std::slice::from_ref(&synapse)),
            ReturnCode::InvalidRequest,
        ),
        (
            "three_tensors",
            request(
                vec![hello(), hello(), hello()],
                std::slice::from_ref(&synapse),
            ),
            ReturnCode::RequestShapeException,
        ),
    ];
    for (case, message, expected) in cases {
        let signature = peer.next_signature();
        let r = peer
            .call(message, &base(Some(signature), Some("370"), "2"), true)
            .await
            .unwrap();
        assert_eq!(code(&r), expected, "{case}");
        assert_eq!(synapse_codes(&r), vec![expected], "{case}");
    }
    let received = peer.model.gradients();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].grad.to_vec::<f32>(), grad.to_vec::<f32>());
}
