//! Whatever the bytes, opening and searching give a typed error naming the file, never a
//! panic or an out-of-bounds read.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rankd_index::format::{DATA_FILES, HEADER_FILE, Header, MANIFEST_FILE};
use rankd_index::synth::clustered;
use rankd_index::{Filter, IndexError, MappedIndex, Metric};

use crate::common::{build, publish, small_params};

const DIM: usize = 8;

fn published(seed: u64, n: usize) -> (tempfile::TempDir, PathBuf) {
    let built = build(&clustered(n, DIM, 4, seed), DIM, Metric::L2, small_params());
    let root = tempfile::tempdir().unwrap();
    let dir = publish(&built, root.path(), "c");
    (root, dir)
}

fn names_file(err: &IndexError, file: &str) -> bool {
    err.to_string().contains(file)
}

/// Opens and, when that works, exercises every read path; returns the first error.
fn open_and_use(dir: &Path) -> Result<(), IndexError> {
    let index = MappedIndex::open(dir)?;
    let query = vec![0.5f32; DIM];
    for filter in [
        Filter::new(),
        Filter::new().categories([1, 2]).price_range(0.0, 500.0),
    ] {
        index.search(&query, 5, 20, &filter)?;
    }
    for slot in [0, index.len() as u32 / 2, index.len() as u32 - 1] {
        index.item(slot)?;
        index.vector(slot)?;
    }
    index.slot_of("item-000003")?;
    index.verify()
}

fn header_words(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(HEADER_FILE)).unwrap()
}

/// Rewrites the header with a valid checksum, so field checks (not the crc) must catch it.
fn write_sealed_header(dir: &Path, mut bytes: Vec<u8>) {
    let crc_at = std::mem::offset_of!(Header, header_crc);
    let crc = crc32fast::hash(&bytes[..crc_at]);
    bytes[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(dir.join(HEADER_FILE), bytes).unwrap();
}

#[test]
fn truncated_files_give_wrong_size_naming_the_file() {
    let (_root, dir) = published(1, 300);
    for name in std::iter::once(HEADER_FILE).chain(DATA_FILES) {
        let path = dir.join(name);
        let original = std::fs::read(&path).unwrap();
        for keep in [0, 5, original.len() - 1] {
            std::fs::write(&path, &original[..keep]).unwrap();
            let err = MappedIndex::open(&dir).unwrap_err();
            assert!(
                matches!(err, IndexError::WrongSize { .. }),
                "{name} at {keep}: {err}"
            );
            assert!(names_file(&err, name), "{err}");
        }
        std::fs::write(&path, &original).unwrap();
    }
    open_and_use(&dir).unwrap();
}

#[test]
fn flipped_bytes_are_caught_by_the_header_crc_or_verify() {
    let (_root, dir) = published(2, 300);
    let header = header_words(&dir);
    let mut flipped = header.clone();
    flipped[20] ^= 0x40;
    std::fs::write(dir.join(HEADER_FILE), &flipped).unwrap();
    let err = MappedIndex::open(&dir).unwrap_err();
    assert!(
        matches!(err, IndexError::Checksum { .. }) && names_file(&err, HEADER_FILE),
        "{err}"
    );
    std::fs::write(dir.join(HEADER_FILE), &header).unwrap();

    for name in DATA_FILES {
        let path = dir.join(name);
        let original = std::fs::read(&path).unwrap();
        let mut flipped = original.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x01;
        std::fs::write(&path, &flipped).unwrap();
        let index = MappedIndex::open(&dir).unwrap();
        let err = index.verify().unwrap_err();
        assert!(
            matches!(err, IndexError::Checksum { .. }) && names_file(&err, name),
            "{err}"
        );
        std::fs::write(&path, &original).unwrap();
    }
}

#[test]
fn wrong_magic_and_wrong_version_are_named() {
    let (_root, dir) = published(3, 100);
    let header = header_words(&dir);
    let mut other = header.clone();
    other[8..12].copy_from_slice(&2u32.to_le_bytes());
    std::fs::write(dir.join(HEADER_FILE), &other).unwrap();
    let err = MappedIndex::open(&dir).unwrap_err();
    assert!(
        matches!(
            err,
            IndexError::WrongVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("format version 2"), "{err}");

    let mut other = header.clone();
    other[..8].copy_from_slice(b"NOTANIDX");
    std::fs::write(dir.join(HEADER_FILE), &other).unwrap();
    assert!(matches!(
        MappedIndex::open(&dir),
        Err(IndexError::BadMagic { .. })
    ));
}

#[test]
fn files_from_another_version_are_mismatched() {
    let (_root, dir) = published(4, 200);
    let (_other_root, other) = published(5, 300);
    std::fs::copy(other.join(MANIFEST_FILE), dir.join(MANIFEST_FILE)).unwrap();
    let err = MappedIndex::open(&dir).unwrap_err();
    assert!(
        matches!(err, IndexError::Corrupt { .. }) && names_file(&err, MANIFEST_FILE),
        "{err}"
    );

    let (_root, dir) = published(4, 200);
    let graph = std::fs::read(dir.join("graph.bin")).unwrap();
    std::fs::copy(other.join("graph.bin"), dir.join("graph.bin")).unwrap();
    let err = MappedIndex::open(&dir).unwrap_err();
    assert!(names_file(&err, "graph.bin"), "{err}");
    std::fs::write(dir.join("graph.bin"), graph).unwrap();

    std::fs::remove_file(dir.join("ids.bin")).unwrap();
    let err = MappedIndex::open(&dir).unwrap_err();
    assert!(
        matches!(err, IndexError::Io { .. }) && names_file(&err, "ids.bin"),
        "{err}"
    );
}

#[test]
fn hostile_header_fields_with_valid_checksums_never_panic() {
    let (_root, dir) = published(6, 200);
    let header = header_words(&dir);
    let crc_at = std::mem::offset_of!(Header, header_crc);
    for at in (12..crc_at).step_by(4) {
        for value in [0u32, 1, 2, 17, 0x7fff_ffff, u32::MAX] {
            let mut bytes = header.clone();
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            write_sealed_header(&dir, bytes);
            // Either refused at open with a typed error, or usable without panicking.
            let _ = open_and_use(&dir);
        }
    }
    std::fs::write(dir.join(HEADER_FILE), &header).unwrap();
    open_and_use(&dir).unwrap();
}

#[test]
fn random_overwrites_of_data_files_never_panic() {
    let (_root, dir) = published(7, 400);
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut refused = 0;
    for name in DATA_FILES {
        let path = dir.join(name);
        let original = std::fs::read(&path).unwrap();
        for _ in 0..150 {
            let mut bytes = original.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len() - 4);
                let value: u32 = match rng.random_range(0..3) {
                    0 => u32::MAX,
                    1 => rng.random_range(0..1_000),
                    _ => rng.random(),
                };
                bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            std::fs::write(&path, &bytes).unwrap();
            if let Err(err) = open_and_use(&dir) {
                assert!(
                    names_file(&err, name) || matches!(err, IndexError::InvalidArgument(_)),
                    "{err}"
                );
                refused += 1;
            }
        }
        std::fs::write(&path, &original).unwrap();
    }
    // verify() checks every crc, so nearly every mutation is refused somewhere.
    assert!(refused > 500, "only {refused} of 600 mutations refused");
}
