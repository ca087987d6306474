//! The text encoder: the tiny test BERT's padding/masking/saving, and the real MiniLM against
//! reference embeddings computed by an independent numpy implementation
//! (`tools/encoder_reference.py` → `tests/fixtures/minilm_reference.json`).

use candle_core::Device;
use rankd::model::{MINILM_HINT, TextEncoder, minilm_dir};
use rankd::testdata::require;

use super::model_support::devices;

const TEXTS: [&str; 6] = [
    "red shoe",
    "a blue cotton shirt for men, women and kids",
    "phone case",
    "",
    "drama movie (1994) | drama",
    "leather",
];

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

fn assert_batched_equals_single(encoder: &TextEncoder, texts: &[&str]) {
    for batch in [1, 2, 4, 64] {
        let batched: Vec<Vec<f32>> = encoder.embed(texts, batch).unwrap().to_vec2().unwrap();
        for (text, row) in texts.iter().zip(&batched) {
            let single = encoder.embed_one(text).unwrap();
            let max_diff = row
                .iter()
                .zip(&single)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                max_diff < 1e-5,
                "batch {batch}, {text:?}: max diff {max_diff}"
            );
        }
    }
}

#[test]
fn tiny_encoder_pads_and_masks_so_batches_change_nothing() {
    for device in devices() {
        let encoder = TextEncoder::tiny(4, &device).unwrap();
        assert_batched_equals_single(&encoder, &TEXTS);
        let rows: Vec<Vec<f32>> = encoder.embed(&TEXTS, 8).unwrap().to_vec2().unwrap();
        for row in &rows {
            assert_eq!(row.len(), encoder.dim());
            assert!((row.iter().map(|x| x * x).sum::<f32>().sqrt() - 1.0).abs() < 1e-4);
        }
        assert!(
            cosine(&rows[0], &rows[2]) < 0.9999,
            "different texts must differ"
        );
    }
}

#[test]
fn tiny_encoder_saves_and_loads_back_identically() {
    let encoder = TextEncoder::tiny(4, &Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    encoder.save(dir.path()).unwrap();
    let loaded = TextEncoder::load(dir.path(), &Device::Cpu).unwrap();
    for text in TEXTS {
        assert_eq!(
            encoder.embed_one(text).unwrap(),
            loaded.embed_one(text).unwrap()
        );
    }
    assert_ne!(
        TextEncoder::tiny(5, &Device::Cpu)
            .unwrap()
            .embed_one(TEXTS[0])
            .unwrap(),
        encoder.embed_one(TEXTS[0]).unwrap()
    );
}

#[test]
fn loading_from_a_directory_without_weights_names_the_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = TextEncoder::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("config.json"), "{err}");
}

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<ReferenceSentence>,
}

#[derive(serde::Deserialize)]
struct ReferenceSentence {
    text: String,
    embedding: Vec<f32>,
}

#[test]
fn minilm_matches_the_reference_embeddings() {
    let Some(dir) = require(minilm_dir().join("model.safetensors"), MINILM_HINT) else {
        return;
    };
    let reference: Reference =
        serde_json::from_str(include_str!("../fixtures/minilm_reference.json")).unwrap();
    assert_eq!(reference.sentences.len(), 5);
    for device in devices() {
        let encoder = TextEncoder::load(dir.parent().unwrap(), &device).unwrap();
        assert_eq!(encoder.dim(), 384);
        let texts: Vec<&str> = reference
            .sentences
            .iter()
            .map(|s| s.text.as_str())
            .collect();
        let rows: Vec<Vec<f32>> = encoder.embed(&texts, 8).unwrap().to_vec2().unwrap();
        for (sentence, row) in reference.sentences.iter().zip(&rows) {
            let cos = cosine(row, &sentence.embedding);
            assert!(
                cos >= 0.999,
                "{:?}: cosine {cos} to the reference",
                sentence.text
            );
        }
        assert_batched_equals_single(&encoder, &texts);
    }
}
