//! [`Compression`]: the gRPC message compressions a dendrite may send and an axon may answer in.
//! Both sides always accept either; this only chooses what is sent.

/// A gRPC message compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip: every gRPC implementation reads it (the Python 3.7.0 axon included).
    Gzip,
    /// zstd: faster and smaller; only peers that list it in `grpc-accept-encoding`.
    Zstd,
}

impl Compression {
    /// Its name in `grpc-encoding` (and on command lines): `gzip` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The compression named `name` (`gzip`, `zstd`); `None` for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        [Compression::Gzip, Compression::Zstd]
            .into_iter()
            .find(|c| c.name() == name)
    }

    /// tonic's name for it.
    pub fn encoding(self) -> tonic::codec::CompressionEncoding {
        match self {
            Compression::Gzip => tonic::codec::CompressionEncoding::Gzip,
            Compression::Zstd => tonic::codec::CompressionEncoding::Zstd,
        }
    }
}
