//! A tiny BERT for unit tests: the MiniLM architecture shrunk to 2 layers of width 32, with a
//! word-piece vocabulary of special tokens, letters, digits and a few whole words. Its weights
//! are random (seeded), so its embeddings mean nothing, but every code path of the real
//! encoder (tokenising, padding, masking, pooling, saving) runs in milliseconds.

use std::str::FromStr;

use tokenizers::Tokenizer;

use super::error::{ModelError, Result};

const SPECIAL: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const WORDS: [&str; 16] = [
    "red", "blue", "shoe", "shirt", "phone", "case", "cotton", "leather", "the", "a", "for", "men",
    "women", "kids", "movie", "drama",
];

fn vocabulary() -> Vec<String> {
    let mut vocab: Vec<String> = SPECIAL.iter().map(|s| (*s).to_owned()).collect();
    let chars = ('a'..='z').chain('0'..='9');
    vocab.extend(chars.clone().map(String::from));
    vocab.extend(chars.map(|c| format!("##{c}")));
    vocab.extend(WORDS.iter().map(|w| (*w).to_owned()));
    vocab.extend([".", ",", "|", "(", ")", "-", "'", "&"].map(String::from));
    vocab
}

/// The BERT config JSON (the same fields as MiniLM's `config.json`).
pub fn config_json() -> String {
    serde_json::json!({
        "vocab_size": vocabulary().len(),
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "max_position_embeddings": 64,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "model_type": "bert"
    })
    .to_string()
}

/// A BERT-style word-piece tokenizer (lower-casing, [CLS] … [SEP]) over the tiny vocabulary,
/// built from the same JSON layout as MiniLM's `tokenizer.json` (the tokenizers crate's
/// builder API wants its own hash-map type, the JSON route needs none).
pub fn tokenizer() -> Result<Tokenizer> {
    let vocab: serde_json::Map<String, serde_json::Value> = vocabulary()
        .into_iter()
        .enumerate()
        .map(|(i, token)| (token, serde_json::Value::from(i)))
        .collect();
    let json = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": {
            "type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": null, "lowercase": true
        },
        "pre_tokenizer": { "type": "BertPreTokenizer" },
        "post_processor": { "type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2] },
        "decoder": null,
        "model": {
            "type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab
        }
    });
    Tokenizer::from_str(&json.to_string())
        .map_err(|err| ModelError::Tokenizer(format!("building the tiny tokenizer: {err}")))
}
