//! Test behaviours: ways an axon can misbehave on purpose, switchable while it runs.

use std::time::Duration;

use dendrite_wire::proto::ReturnCode;

/// How the axon answers. `Normal` serves the handler; the others are faults for tests,
/// benchmarks and the demo's dead endpoints.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Behaviour {
    /// Serve the handler.
    #[default]
    Normal,
    /// Serve the handler after sleeping this long.
    Delay(Duration),
    /// Accept the request and never answer.
    Hang,
    /// Answer every synapse with this code (and no tensors).
    FixedCode(ReturnCode),
    /// Answer a Forward's first synapse with this code and serve the others: an endpoint that
    /// half failed.
    FirstSynapseCode(ReturnCode),
    /// Answer `Success` with tensor buffers that are not msgpack.
    GarbageTensors,
    /// Answer `Success` with tensors of the wrong shape.
    WrongShape,
    /// Answer `Success` with int64 tensors where floats are expected (and vice versa).
    WrongDtype,
    /// Answer `Success` with one tensor fewer than synapses.
    MissingTensor,
    /// Fail the RPC with this gRPC status code.
    Status(tonic::Code),
    /// Answer `Success` with NaN and infinities among float response values.
    NonFinite,
    /// Close every new connection as soon as it is accepted.
    DropConnection,
    /// Close the next N new connections as soon as they are accepted, then serve normally.
    DropConnections(u32),
}
