//! The text encoder: all-MiniLM-L6-v2 (a 6-layer BERT) through candle-transformers, the
//! `tokenizers` crate, mean pooling over real tokens and L2 normalisation — the recipe of
//! sentence-transformers' `all-MiniLM-L6-v2`, checked against reference values in
//! `tests/integration/model_encoder.rs`.
//!
//! Padding is done here, not by the tokenizer: the shipped `tokenizer.json` pads every input to
//! a fixed 128 tokens, which would make short product titles cost as much as long ones. Texts
//! are instead sorted by length and padded per batch to the batch's longest text, with an
//! attention mask so that padding changes nothing (tested: batched == one at a time).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, IndexOp, Tensor};
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use tokenizers::Tokenizer;

use super::error::{ModelError, Result};
use super::init::SeededVars;
use super::tiny;

/// The files of an encoder directory (the layout of the Hugging Face model folder).
pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// Longest input in tokens, as sentence-transformers' `max_seq_length` for this model.
const MAX_TOKENS: usize = 256;

/// How to get the MiniLM weights when they are missing.
pub const MINILM_HINT: &str = "run `rankd data fetch minilm`";

/// Where `rankd data fetch minilm` puts the encoder: `<cache>/minilm/`.
pub fn minilm_dir() -> PathBuf {
    crate::testdata::cache_dir().join("minilm")
}

/// Where an encoder's weights came from, so that `save` can reproduce them.
#[derive(Debug, Clone)]
enum Source {
    /// A directory with the three files; saving copies them.
    Dir(PathBuf),
    /// Built in memory from a seed; saving writes the weights.
    Seeded(SeededVars),
}

/// A sentence encoder: text in, L2-normalised `dim()`-vector out.
pub struct TextEncoder {
    bert: BertModel,
    tokenizer: Tokenizer,
    config_json: String,
    hidden: usize,
    device: Device,
    source: Source,
}

impl std::fmt::Debug for TextEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextEncoder")
            .field("dim", &self.hidden)
            .field("source", &self.source)
            .finish()
    }
}

impl TextEncoder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            if !path.exists() {
                return Err(ModelError::Missing {
                    path,
                    hint: MINILM_HINT.to_owned(),
                });
            }
            Ok(path)
        };
        let config_path = read(CONFIG_FILE)?;
        let tokenizer_path = read(TOKENIZER_FILE)?;
        let weights_path = read(WEIGHTS_FILE)?;
        let config_json =
            std::fs::read_to_string(&config_path).map_err(ModelError::io(&config_path))?;
        let config: BertConfig =
            serde_json::from_str(&config_json).map_err(ModelError::json(&config_path))?;
        let tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|err| ModelError::Tokenizer(format!("{}: {err}", tokenizer_path.display())))?;
        let bytes = std::fs::read(&weights_path).map_err(ModelError::io(&weights_path))?;
        let vb = candle_nn::VarBuilder::from_buffered_safetensors(bytes, DType::F32, device)?;
        let bert = BertModel::load(vb, &config)?;
        Self::assemble(
            bert,
            tokenizer,
            config_json,
            &config,
            device,
            Source::Dir(dir.to_path_buf()),
        )
    }

    /// A tiny randomly initialised BERT (2 layers, 32 wide) with a small word-piece vocabulary:
    /// for unit tests that need an encoder but not a good one. Same seed, same weights.
    pub fn tiny(seed: u64, device: &Device) -> Result<Self> {
        let config_json = tiny::config_json();
        let config: BertConfig = serde_json::from_str(&config_json)
            .map_err(ModelError::json("<tiny encoder config>"))?;
        let vars = SeededVars::new(seed, device);
        let bert = BertModel::load(vars.builder(), &config)?;
        let tokenizer = tiny::tokenizer()?;
        Self::assemble(
            bert,
            tokenizer,
            config_json,
            &config,
            device,
            Source::Seeded(vars),
        )
    }

    fn assemble(
        bert: BertModel,
        mut tokenizer: Tokenizer,
        config_json: String,
        config: &BertConfig,
        device: &Device,
        source: Source,
    ) -> Result<Self> {
        // Padding is ours (see the module doc); truncation keeps inputs within the positions.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..Default::default()
            }))
            .map_err(|err| ModelError::Tokenizer(err.to_string()))?;
        Ok(Self {
            bert,
            tokenizer,
            config_json,
            hidden: config.hidden_size,
            device: device.clone(),
            source,
        })
    }

    /// Output width (384 for MiniLM).
    pub fn dim(&self) -> usize {
        self.hidden
    }

    /// The device the encoder runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Embeds `texts` in batches of at most `batch` texts (sorted by length to waste little
    /// on padding); returns an `(n, dim)` tensor of unit rows in input order.
    pub fn embed(&self, texts: &[&str], batch: usize) -> Result<Tensor> {
        if texts.is_empty() {
            return Ok(Tensor::zeros((0, self.hidden), DType::F32, &self.device)?);
        }
        let ids = texts
            .iter()
            .map(|text| self.token_ids(text))
            .collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut sorted_rows = Vec::with_capacity(texts.len().div_ceil(batch.max(1)));
        for chunk in order.chunks(batch.max(1)) {
            let chunk_ids: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            sorted_rows.push(self.embed_padded(&chunk_ids)?);
        }
        let sorted = Tensor::cat(&sorted_rows, 0)?;
        // Row r of `sorted` belongs to text order[r]; invert the permutation to restore order.
        let mut inverse = vec![0u32; order.len()];
        for (row, &text) in order.iter().enumerate() {
            inverse[text] = row as u32;
        }
        let inverse = Tensor::new(inverse.as_slice(), &self.device)?;
        Ok(sorted.index_select(&inverse, 0)?)
    }

    fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|err| ModelError::Tokenizer(format!("encoding {text:?}: {err}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// One forward pass over texts padded to the longest; mean pooling over real tokens only.
    fn embed_padded(&self, ids: &[&[u32]]) -> Result<Tensor> {
        let len = ids.iter().map(|row| row.len()).max().unwrap_or(0).max(1);
        let mut flat_ids = Vec::with_capacity(ids.len() * len);
        let mut flat_mask = Vec::with_capacity(ids.len() * len);
        for row in ids {
            flat_ids.extend_from_slice(row);
            flat_ids.extend(std::iter::repeat_n(0u32, len - row.len()));
            flat_mask.extend(std::iter::repeat_n(1u32, row.len()));
            flat_mask.extend(std::iter::repeat_n(0u32, len - row.len()));
        }
        let shape = (ids.len(), len);
        let input_ids = Tensor::from_vec(flat_ids, shape, &self.device)?;
        let mask = Tensor::from_vec(flat_mask, shape, &self.device)?;
        let token_types = input_ids.zeros_like()?;
        let hidden = self.bert.forward(&input_ids, &token_types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        super::l2_normalize(&mean)
    }

    /// Embeds one text; the same as row 0 of `embed(&[text], 1)`.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.embed(&[text], 1)?.i(0)?.to_vec1()?)
    }

    /// Writes the encoder as a directory that [`TextEncoder::load`] reads back.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(ModelError::io(dir))?;
        let config_path = dir.join(CONFIG_FILE);
        std::fs::write(&config_path, &self.config_json).map_err(ModelError::io(&config_path))?;
        let tokenizer_path = dir.join(TOKENIZER_FILE);
        match &self.source {
            Source::Dir(from) => {
                for name in [TOKENIZER_FILE, WEIGHTS_FILE] {
                    let (src, dst) = (from.join(name), dir.join(name));
                    if src != dst {
                        // A hard link costs nothing for the 90 MB weights; copy across devices.
                        let _ = std::fs::remove_file(&dst);
                        if std::fs::hard_link(&src, &dst).is_err() {
                            std::fs::copy(&src, &dst).map_err(ModelError::io(&dst))?;
                        }
                    }
                }
                Ok(())
            }
            Source::Seeded(vars) => {
                self.tokenizer.save(&tokenizer_path, false).map_err(|err| {
                    ModelError::Tokenizer(format!("{}: {err}", tokenizer_path.display()))
                })?;
                vars.save(&dir.join(WEIGHTS_FILE))
            }
        }
    }
}
