//! The Bittensor tokenizer: GPT-2 byte-level BPE with `<|endoftext|>` (50256) as the special,
//! end-of-text and padding token, padding on the left, as `utils/tokenizer_utils.prep_tokenizer`
//! sets up the Hugging Face GPT-2 tokenizer. The vocabulary ships in this crate; nothing is
//! downloaded.
//!
//! ```
//! use dendrite_format::BittensorTokenizer;
//! let tokenizer = BittensorTokenizer::shared().unwrap();
//! assert_eq!(tokenizer.encode("hello world").unwrap(), vec![31373, 995]);
//! let batch = tokenizer.encode_batch(&["hi", "hello world"]).unwrap();
//! assert_eq!(batch.shape(), &[2, 2]);
//! assert_eq!(batch.as_slice::<i64>().unwrap(), &[50256, 5303, 31373, 995]); // left padding
//! ```

use crate::FormatError;
use dendrite_wire::Tensor;
use std::collections::HashMap;
use std::sync::OnceLock;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

/// GPT-2's vocabulary (`encoder.json`).
const VOCAB_JSON: &[u8] = include_bytes!("../assets/gpt2/vocab.json");
/// GPT-2's merges (`vocab.bpe`).
const MERGES_TXT: &str = include_str!("../assets/gpt2/merges.txt");

/// The end-of-text token, also used for padding.
pub const EOS_TOKEN: &str = "<|endoftext|>";
/// Id of [`EOS_TOKEN`]; the padding id.
pub const PAD_TOKEN_ID: i64 = 50256;
/// Batches of strings are truncated to this many tokens (`model_max_length`).
pub const MODEL_MAX_LENGTH: usize = 1024;

/// The GPT-2 tokenizer as bittensor prepares it.
pub struct BittensorTokenizer {
    inner: Tokenizer,
}

fn tokenizer_error(e: impl std::fmt::Display) -> FormatError {
    FormatError::Tokenizer(e.to_string())
}

impl BittensorTokenizer {
    /// Builds the tokenizer from the vocabulary shipped in the crate (~100 ms); prefer [`shared`].
    ///
    /// [`shared`]: BittensorTokenizer::shared
    pub fn new() -> Result<Self, FormatError> {
        let vocab: HashMap<String, u32> =
            serde_json::from_slice(VOCAB_JSON).map_err(tokenizer_error)?;
        let merges = MERGES_TXT
            .lines()
            .filter(|line| !line.starts_with("#version") && !line.is_empty())
            .map(|line| {
                line.split_once(' ')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .ok_or_else(|| FormatError::Tokenizer(format!("bad merge line {line:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab.into_iter().collect::<Vocab>(), merges)
            .build()
            .map_err(tokenizer_error)?;
        let mut inner = Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
        inner.with_decoder(Some(ByteLevel::default()));
        inner.add_special_tokens(&[AddedToken::from(EOS_TOKEN, true)]);
        Ok(BittensorTokenizer { inner })
    }

    /// One tokenizer for the whole process, built on first use.
    pub fn shared() -> Result<&'static Self, FormatError> {
        static SHARED: OnceLock<Result<BittensorTokenizer, FormatError>> = OnceLock::new();
        SHARED
            .get_or_init(BittensorTokenizer::new)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Token ids of one text, as `tokenizer(text)['input_ids']` (no truncation, no padding).
    pub fn encode(&self, text: &str) -> Result<Vec<i64>, FormatError> {
        let encoding = self
            .inner
            .encode_fast(text, false)
            .map_err(tokenizer_error)?;
        Ok(encoding.get_ids().iter().map(|&id| i64::from(id)).collect())
    }

    /// A `[B, S]` int64 batch as `tokenizer(texts, padding=True, truncation=True)`: each text cut
    /// to [`MODEL_MAX_LENGTH`] tokens, shorter ones padded on the left with [`PAD_TOKEN_ID`].
    pub fn encode_batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<Tensor, FormatError> {
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = self
            .inner
            .encode_batch_fast(inputs, false)
            .map_err(tokenizer_error)?;
        let longest = encodings
            .iter()
            .map(|e| e.get_ids().len().min(MODEL_MAX_LENGTH))
            .max()
            .unwrap_or(0);
        let mut ids = Vec::with_capacity(encodings.len() * longest);
        for encoding in &encodings {
            let row = &encoding.get_ids()[..encoding.get_ids().len().min(MODEL_MAX_LENGTH)];
            ids.extend(std::iter::repeat_n(PAD_TOKEN_ID, longest - row.len()));
            ids.extend(row.iter().map(|&id| i64::from(id)));
        }
        Tensor::from_vec(ids, [encodings.len(), longest]).map_err(tokenizer_error)
    }

    /// Text of token ids (ids outside the vocabulary are skipped).
    pub fn decode(&self, ids: &[i64]) -> Result<String, FormatError> {
        let ids: Vec<u32> = ids
            .iter()
            .filter_map(|&id| u32::try_from(id).ok())
            .collect();
        self.inner.decode(&ids, false).map_err(tokenizer_error)
    }
}
