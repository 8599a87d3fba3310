//! A synapse as a request or response names it: its type, its serializers and its
//! `synapse_data` parameter proto.
#![no_main]

use dendrite_wire::proto;
use dendrite_wire::Synapse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, params)) = data.split_first() else {
        return;
    };
    let wire = proto::Synapse {
        synapse_type: i32::from(kind % 8),
        synapse_data: params.to_vec().into(),
        ..Default::default()
    };
    if let Ok(synapse) = Synapse::from_wire(&wire) {
        let _ = synapse.validate();
        let _ = synapse.params_bytes();
    }
    if let Ok(wire) = <proto::Synapse as prost::Message>::decode(data) {
        let _ = Synapse::from_wire(&wire);
    }
});
