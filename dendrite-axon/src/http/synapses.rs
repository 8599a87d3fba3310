//! The synapses our 10.x axon serves: the toy counterparts of `shared/peer10/synapses.py`
//! (`Dummy`, `TensorEcho`, `Hashed`, `Slow`, `Stream`), with their required and hash fields
//! and what each handler writes back; and `Paths`, a price-path subnet's answer (Synth's shape:
//! `n_paths` paths of `n_steps` floats), for the numeric answers' benchmark.

use std::time::Duration;

use base64::Engine as _;
use dendrite_http::PyValue;
use dendrite_wire::{msgpack, Tensor};

/// One served synapse class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// `dummy_output = dummy_input * 2`.
    Dummy,
    /// `y = x * 2` for a float32 `bt.Tensor` `x`.
    TensorEcho,
    /// `out = text.upper()`; `text` is hashed.
    Hashed,
    /// Sleeps `delay_s`, then `out = x`.
    Slow,
    /// Streams `tok0 ` … `tok{n-1} `, 20 ms apart (`text/event-stream`).
    Stream,
    /// `paths` = `n_paths` random walks of `n_steps` prices (floats written in full, as a
    /// simulation's are), the same for the same request.
    Paths,
}

impl Served {
    /// The synapses of `shared/peer10/synapses.py`, served always, in the order 10.5.0's 404
    /// lists them (after `Synapse`).
    pub const ALL: [Served; 5] = [
        Served::Dummy,
        Served::TensorEcho,
        Served::Hashed,
        Served::Slow,
        Served::Stream,
    ];

    /// The synapses an axon serves: [`Served::ALL`], then `Paths` where asked
    /// (`HttpAxonConfig::serve_paths`), in the order its 404 lists them.
    pub fn served(with_paths: bool) -> impl Iterator<Item = Served> {
        Served::ALL
            .into_iter()
            .chain(with_paths.then_some(Served::Paths))
    }

    /// The class name, also the route.
    pub fn name(self) -> &'static str {
        match self {
            Served::Dummy => "Dummy",
            Served::TensorEcho => "TensorEcho",
            Served::Hashed => "Hashed",
            Served::Slow => "Slow",
            Served::Stream => "Stream",
            Served::Paths => "Paths",
        }
    }

    /// The synapse named `name` (any of them, `Paths` included).
    pub fn from_name(name: &str) -> Option<Served> {
        Served::served(true).find(|s| s.name() == name)
    }

    /// Fields without a default: a request must carry them (as `bt_header_input_obj_*` and in
    /// the body).
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Served::Dummy => &["dummy_input"],
            Served::TensorEcho => &[],
            Served::Hashed => &["text"],
            Served::Slow => &["x", "delay_s"],
            Served::Stream => &["n"],
            Served::Paths => &["n_paths", "n_steps"],
        }
    }

    /// `required_hash_fields`.
    pub fn hash_fields(self) -> &'static [&'static str] {
        match self {
            Served::Hashed => &["text"],
            _ => &[],
        }
    }

    /// The subclass fields and their defaults, in declaration order: a request's body is read
    /// into these (missing optional ones take their default).
    pub fn fields(self) -> &'static [(&'static str, FieldDefault)] {
        match self {
            Served::Dummy => &[
                ("dummy_input", FieldDefault::Required),
                ("dummy_output", FieldDefault::None),
            ],
            Served::TensorEcho => &[("x", FieldDefault::None), ("y", FieldDefault::None)],
            Served::Hashed => &[
                ("text", FieldDefault::Required),
                ("out", FieldDefault::None),
            ],
            Served::Slow => &[
                ("x", FieldDefault::Required),
                ("delay_s", FieldDefault::Required),
                ("out", FieldDefault::None),
            ],
            Served::Stream => &[
                ("n", FieldDefault::Required),
                ("toks", FieldDefault::EmptyList),
            ],
            Served::Paths => &[
                ("n_paths", FieldDefault::Required),
                ("n_steps", FieldDefault::Required),
                ("paths", FieldDefault::None),
            ],
        }
    }

    /// What the handler waits before answering.
    pub fn delay(self, fields: &[(String, PyValue)]) -> Duration {
        match (self, lookup(fields, "delay_s")) {
            (Served::Slow, Some(PyValue::Float(s))) if s.is_finite() && *s > 0.0 => {
                Duration::from_secs_f64(s.min(3600.0))
            }
            (Served::Slow, Some(PyValue::Int(s))) if *s > 0 => {
                Duration::from_secs((*s).min(3600) as u64)
            }
            _ => Duration::ZERO,
        }
    }

    /// Runs the handler on the request's fields; `Err` is a handler failure (500).
    pub fn handle(self, fields: &mut [(String, PyValue)]) -> Result<(), String> {
        match self {
            Served::Dummy => {
                let Some(PyValue::Int(input)) = lookup(fields, "dummy_input") else {
                    return Err("dummy_input is not an int".into());
                };
                let output = input.checked_mul(2).ok_or("dummy_input overflows")?;
                set(fields, "dummy_output", PyValue::Int(output));
            }
            Served::TensorEcho => {
                if let Some(x) = lookup(fields, "x").filter(|x| **x != PyValue::None) {
                    let y = double_tensor(x)?;
                    set(fields, "y", y);
                }
            }
            Served::Hashed => {
                let Some(PyValue::Str(text)) = lookup(fields, "text") else {
                    return Err("text is not a str".into());
                };
                let upper = text.to_uppercase();
                set(fields, "out", PyValue::Str(upper));
            }
            Served::Slow => {
                let x = lookup(fields, "x").cloned().unwrap_or(PyValue::None);
                set(fields, "out", x);
            }
            Served::Stream => {}
            Served::Paths => {
                let count = |name| match lookup(fields, name) {
                    Some(PyValue::Int(n)) if (0..=MAX_PATH_ITEMS).contains(n) => Ok(*n as usize),
                    _ => Err(format!("{name} is not an int in 0..={MAX_PATH_ITEMS}")),
                };
                let paths = price_paths(count("n_paths")?, count("n_steps")?);
                set(fields, "paths", paths);
            }
        }
        Ok(())
    }

    /// The chunks a streaming synapse sends, in order (empty for the others).
    pub fn chunks(self, fields: &[(String, PyValue)]) -> Vec<String> {
        match (self, lookup(fields, "n")) {
            (Served::Stream, Some(PyValue::Int(n))) => (0..(*n).clamp(0, 10_000))
                .map(|i| format!("tok{i} "))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The most paths, and steps per path, a `Paths` request may ask for.
const MAX_PATH_ITEMS: i128 = 1_000;

/// `paths` random walks of `steps` prices from 100,000, each step ±0.1% at most (a fixed
/// generator: the same request gets the same answer).
fn price_paths(paths: usize, steps: usize) -> PyValue {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let walk = |state: &mut u64| {
        let mut price = 100_000.0f64;
        (0..steps)
            .map(|_| {
                // xorshift64*: a uniform draw in [-1, 1).
                *state ^= *state >> 12;
                *state ^= *state << 25;
                *state ^= *state >> 27;
                let draw = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64;
                price *= 1.0 + 0.001 * (draw / (1u64 << 52) as f64 - 1.0);
                PyValue::Float(price)
            })
            .collect()
    };
    PyValue::List(
        (0..paths)
            .map(|_| PyValue::List(walk(&mut state)))
            .collect(),
    )
}

/// A field's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldDefault {
    /// None: the request must give it.
    Required,
    /// `None`.
    None,
    /// `[]`.
    EmptyList,
}

impl FieldDefault {
    /// The default's value (`None` for a required field, which is never read from here).
    pub fn value(self) -> PyValue {
        match self {
            FieldDefault::Required | FieldDefault::None => PyValue::None,
            FieldDefault::EmptyList => PyValue::List(Vec::new()),
        }
    }
}

fn lookup<'a>(fields: &'a [(String, PyValue)], name: &str) -> Option<&'a PyValue> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn set(fields: &mut [(String, PyValue)], name: &str, value: PyValue) {
    if let Some((_, slot)) = fields.iter_mut().find(|(k, _)| k == name) {
        *slot = value;
    }
}

/// `x * 2` of a float32 `bt.Tensor` (`{buffer: base64(msgpack-numpy), dtype, shape}`).
fn double_tensor(x: &PyValue) -> Result<PyValue, String> {
    let Some(PyValue::Str(buffer)) = x.get("buffer") else {
        return Err("x.buffer is not a str".into());
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(buffer)
        .map_err(|e| format!("x.buffer is not base64: {e}"))?;
    let tensor = msgpack::decode(&raw.into()).map_err(|e| format!("x.buffer: {e}"))?;
    let values = tensor
        .as_slice::<f32>()
        .map_err(|e| format!("x is not float32: {e}"))?;
    let doubled: Vec<f32> = values.iter().map(|v| v * 2.0).collect();
    let shape = tensor.shape().to_vec();
    let y = Tensor::from_vec(doubled, shape.clone()).map_err(|e| e.to_string())?;
    let packed = msgpack::encode(&y).map_err(|e| e.to_string())?;
    Ok(PyValue::Dict(vec![
        (
            "buffer".into(),
            PyValue::Str(base64::engine::general_purpose::STANDARD.encode(packed)),
        ),
        ("dtype".into(), PyValue::Str("float32".into())),
        (
            "shape".into(),
            PyValue::List(shape.iter().map(|d| PyValue::Int(*d as i128)).collect()),
        ),
    ]))
}
