//! The write path, second half: write a [`BuiltIndex`] as a new version and make it current.
//!
//! ```text
//! <root>/<name>/.tmp-<pid>-<nanos>/   write every file, fsync each, fsync the dir
//!        │ rename (atomic, same filesystem)
//!        ▼
//! <root>/<name>/v000007/              fsync <root>/<name>
//! <root>/<name>/CURRENT               "v000007\n": written to a temp file, fsynced, renamed over
//! ```
//!
//! A reader sees either the old version or the complete new one, never a half-written
//! directory, and a crash at any point leaves at worst a stray `.tmp-*` directory. Versions are
//! numbered, not timestamped, so "newest" is unambiguous; two publishers racing for a number
//! both succeed because `rename` onto an existing non-empty directory fails and the loser
//! takes the next one.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::attach::Attachment;
use crate::builder::BuiltIndex;
use crate::error::{IndexError, Result};
use crate::format::{CATEGORY_COLUMN, Layout, PRICE_COLUMN};
use crate::format::{
    ColumnDesc, DATA_FILES, DTYPE_F32, DTYPE_U32, FORMAT_VERSION, FileDesc, HEADER_FILE, Header,
    LevelDesc, MAGIC, MANIFEST_FILE, PRICE_QUANTILES, ROW_ALIGN_FLOATS,
};
use crate::manifest::{FileEntry, Manifest, Provenance};

/// The file holding the current version's directory name.
pub const CURRENT_FILE: &str = "CURRENT";

/// How to publish.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    pub provenance: Provenance,
    /// Also write hnsw_rs's own dump, for `rankd index search-bench` (as large again as the
    /// vectors plus the graph; serving never reads it).
    pub reference_dump: bool,
    /// Files or folders the version carries besides the index (models, catalogue), copied in
    /// before the version becomes visible and listed with checksums in the manifest.
    pub attachments: Vec<Attachment>,
}

/// What [`BuiltIndex::publish`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub version: String,
    pub dir: PathBuf,
}

/// A file being written: counts bytes and folds them into a crc32 on the way.
struct CheckedFile {
    path: PathBuf,
    out: BufWriter<File>,
    crc: crc32fast::Hasher,
    bytes: u64,
}

impl CheckedFile {
    fn create(path: PathBuf) -> Result<Self> {
        let file = File::create(&path).map_err(|e| IndexError::io(&path, e))?;
        Ok(Self {
            path,
            out: BufWriter::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
            bytes: 0,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| IndexError::io(&self.path, e))?;
        self.crc.update(bytes);
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Writes one section and pads to the next 8-byte boundary, mirroring `Layout`.
    fn section<T: bytemuck::Pod>(&mut self, values: &[T]) -> Result<()> {
        self.write(bytemuck::cast_slice(values))?;
        self.pad()
    }

    fn pad(&mut self) -> Result<()> {
        let pad = (8 - self.bytes % 8) % 8;
        self.write(&[0u8; 8][..pad as usize])
    }

    fn finish(self) -> Result<FileDesc> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| IndexError::io(&self.path, e.into_error()))?;
        file.sync_all().map_err(|e| IndexError::io(&self.path, e))?;
        Ok(FileDesc {
            bytes: self.bytes,
            crc32: self.crc.finalize(),
            reserved: 0,
        })
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| IndexError::io(dir, e))
}

/// Index names become directory names: keep them to one safe path component.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IndexError::InvalidArgument(format!(
            "index or version name {name:?}: use letters, digits, '.', '_', '-'"
        )))
    }
}

fn version_number(name: &str) -> Option<u64> {
    name.strip_prefix('v')
        .filter(|digits| digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
}

fn next_version(name_dir: &Path) -> Result<u64> {
    let entries = std::fs::read_dir(name_dir).map_err(|e| IndexError::io(name_dir, e))?;
    let mut newest = 0;
    for entry in entries {
        let entry = entry.map_err(|e| IndexError::io(name_dir, e))?;
        if let Some(n) = entry.file_name().to_str().and_then(version_number) {
            newest = newest.max(n);
        }
    }
    Ok(newest + 1)
}

impl BuiltIndex {
    /// Writes this index as a new version of `<root>/<name>` and points `CURRENT` at it.
    pub fn publish(&self, root: &Path, name: &str, options: &PublishOptions) -> Result<Published> {
        check_name(name)?;
        let name_dir = root.join(name);
        std::fs::create_dir_all(&name_dir).map_err(|e| IndexError::io(&name_dir, e))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tmp = name_dir.join(format!(".tmp-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&tmp).map_err(|e| IndexError::io(&tmp, e))?;
        let header = self.write_files(&tmp)?;
        if options.reference_dump {
            self.reference().dump(&tmp)?;
        }
        let attached = crate::attach::copy_all(&tmp, &options.attachments)?;

        let mut number = next_version(&name_dir)?;
        let mut attempts = 0;
        let (version, dir) = loop {
            let version = format!("v{number:06}");
            let manifest = self.manifest(name, &version, &header, options, attached.clone());
            let manifest_path = tmp.join(MANIFEST_FILE);
            let json = serde_json::to_vec_pretty(&manifest)
                .map_err(|e| IndexError::InvalidArgument(format!("manifest: {e}")))?;
            write_synced(&manifest_path, &json)?;
            sync_dir(&tmp)?;
            let dir = name_dir.join(&version);
            match std::fs::rename(&tmp, &dir) {
                Ok(()) => break (version, dir),
                Err(e) if dir.exists() && attempts < 100 => {
                    tracing::debug!(%version, error = %e, "version taken, trying the next");
                    number += 1;
                    attempts += 1;
                }
                Err(e) => return Err(IndexError::io(&dir, e)),
            }
        };
        sync_dir(&name_dir)?;
        set_current(&name_dir, &version)?;
        Ok(Published { version, dir })
    }

    fn write_files(&self, dir: &Path) -> Result<Header> {
        let mut header = self.header();
        let layout = Layout::of(&header)
            .ok_or_else(|| IndexError::InvalidArgument("index too large for the format".into()))?;
        let writers: [fn(&Self, &mut CheckedFile) -> Result<()>; 4] = [
            Self::write_vectors,
            Self::write_graph,
            Self::write_items,
            Self::write_ids,
        ];
        for (i, write) in writers.iter().enumerate() {
            let mut file = CheckedFile::create(dir.join(DATA_FILES[i]))?;
            write(self, &mut file)?;
            let desc = file.finish()?;
            if desc.bytes != layout.file_bytes[i] {
                return Err(IndexError::corrupt(
                    dir.join(DATA_FILES[i]),
                    format!(
                        "wrote {} bytes, layout needs {}",
                        desc.bytes, layout.file_bytes[i]
                    ),
                ));
            }
            header.files[i] = desc;
        }
        header.seal();
        write_synced(&dir.join(HEADER_FILE), bytemuck::bytes_of(&header))?;
        Ok(header)
    }

    fn header(&self) -> Header {
        let mut levels = [LevelDesc::default(); crate::format::MAX_LEVELS];
        for (desc, level) in levels.iter_mut().zip(&self.levels) {
            *desc = LevelDesc {
                nodes: (level.offsets.len() - 1) as u64,
                edges: level.neighbours.len() as u64,
            };
        }
        let mut columns = [ColumnDesc::default(); crate::format::MAX_COLUMNS];
        columns[0] = ColumnDesc::new(CATEGORY_COLUMN, DTYPE_U32);
        columns[1] = ColumnDesc::new(PRICE_COLUMN, DTYPE_F32);
        Header {
            magic: MAGIC,
            format_version: FORMAT_VERSION,
            header_bytes: std::mem::size_of::<Header>() as u32,
            metric: self.metric.code(),
            dim: self.dim as u32,
            stride: self.stride() as u32,
            max_level: (self.levels.len() - 1) as u32,
            count: self.len() as u64,
            entry_point: self.entry_point,
            m: self.params.m as u32,
            m0: self.m0() as u32,
            ef_construction: self.params.ef_construction as u32,
            categories: self.category_postings().0.len() as u64,
            id_bytes: self.ids.iter().map(|id| id.len() as u64).sum(),
            levels,
            files: [FileDesc::default(); 4],
            columns,
            reserved: [0; 8],
            header_crc: 0,
            padding: 0,
        }
    }

    fn stride(&self) -> usize {
        self.dim.div_ceil(ROW_ALIGN_FLOATS) * ROW_ALIGN_FLOATS
    }

    fn write_vectors(&self, file: &mut CheckedFile) -> Result<()> {
        let pad = vec![0f32; self.stride() - self.dim];
        for row in self.vectors.chunks_exact(self.dim) {
            file.write(bytemuck::cast_slice(row))?;
            file.write(bytemuck::cast_slice(&pad))?;
        }
        Ok(())
    }

    fn write_graph(&self, file: &mut CheckedFile) -> Result<()> {
        for (l, level) in self.levels.iter().enumerate() {
            if l > 0 {
                file.section(&level.nodes)?;
            }
            file.section(&level.offsets)?;
            file.section(&level.neighbours)?;
        }
        Ok(())
    }

    /// Distinct categories (sorted), offsets into the slot list, slots grouped by category.
    fn category_postings(&self) -> (Vec<u32>, Vec<u64>, Vec<u32>) {
        let mut slots: Vec<u32> = (0..self.len() as u32).collect();
        slots.sort_by_key(|&s| (self.categories[s as usize], s));
        let (mut values, mut offsets) = (Vec::new(), Vec::new());
        for (i, &slot) in slots.iter().enumerate() {
            let category = self.categories[slot as usize];
            if values.last() != Some(&category) {
                values.push(category);
                offsets.push(i as u64);
            }
        }
        offsets.push(slots.len() as u64);
        (values, offsets, slots)
    }

    fn price_quantiles(&self) -> Vec<f32> {
        let mut sorted = self.prices.clone();
        sorted.sort_by(f32::total_cmp);
        let last = sorted.len() - 1;
        (0..PRICE_QUANTILES)
            .map(|i| sorted[(i * last).div_ceil(PRICE_QUANTILES - 1)])
            .collect()
    }

    fn write_items(&self, file: &mut CheckedFile) -> Result<()> {
        file.section(&self.categories)?;
        file.section(&self.prices)?;
        let (values, offsets, slots) = self.category_postings();
        file.section(&values)?;
        file.section(&offsets)?;
        file.section(&slots)?;
        file.section(&self.price_quantiles())
    }

    fn write_ids(&self, file: &mut CheckedFile) -> Result<()> {
        let mut offsets = Vec::with_capacity(self.len() + 1);
        let mut total = 0u64;
        offsets.push(0);
        for id in &self.ids {
            total += id.len() as u64;
            offsets.push(total);
        }
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.ids[a as usize].cmp(&self.ids[b as usize]));
        file.section(&offsets)?;
        file.section(&order)?;
        for id in &self.ids {
            file.write(id.as_bytes())?;
        }
        file.pad()
    }

    fn manifest(
        &self,
        name: &str,
        version: &str,
        header: &Header,
        options: &PublishOptions,
        attachments: BTreeMap<String, FileEntry>,
    ) -> Manifest {
        let files: BTreeMap<String, FileEntry> = DATA_FILES
            .iter()
            .zip(&header.files)
            .map(|(file, desc)| {
                let entry = FileEntry {
                    bytes: desc.bytes,
                    crc32: format!("{:08x}", desc.crc32),
                };
                ((*file).to_owned(), entry)
            })
            .collect();
        Manifest {
            format_version: FORMAT_VERSION,
            name: name.to_owned(),
            version: version.to_owned(),
            created_at: jiff::Timestamp::now().to_string(),
            metric: self.metric,
            dim: self.dim,
            count: self.len(),
            params: self.params,
            m0: self.m0(),
            level_nodes: header.levels[..self.levels.len()]
                .iter()
                .map(|l| l.nodes)
                .collect(),
            categories: header.categories as usize,
            files,
            provenance: options.provenance.clone(),
            reference_dump: options.reference_dump,
            attachments,
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(|e| IndexError::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| IndexError::io(path, e))
}

/// Atomically points `<name_dir>/CURRENT` at `version`.
pub fn set_current(name_dir: &Path, version: &str) -> Result<()> {
    check_name(version)?;
    let tmp = name_dir.join(format!(".{CURRENT_FILE}.tmp-{}", std::process::id()));
    write_synced(&tmp, format!("{version}\n").as_bytes())?;
    let current = name_dir.join(CURRENT_FILE);
    std::fs::rename(&tmp, &current).map_err(|e| IndexError::io(&current, e))?;
    sync_dir(name_dir)
}

/// The version `CURRENT` names.
pub fn current_version(name_dir: &Path) -> Result<String> {
    let path = name_dir.join(CURRENT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| IndexError::io(&path, e))?;
    let version = text.trim();
    check_name(version).map_err(|_| IndexError::corrupt(&path, format!("names {version:?}")))?;
    Ok(version.to_owned())
}

/// The directory of the current version of `<root>/<name>`.
pub fn current_dir(root: &Path, name: &str) -> Result<PathBuf> {
    check_name(name)?;
    let name_dir = root.join(name);
    Ok(name_dir.join(current_version(&name_dir)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_parse_only_in_the_published_shape() {
        assert_eq!(version_number("v000012"), Some(12));
        assert_eq!(version_number("v12"), None);
        assert_eq!(version_number(".tmp-1-2"), None);
        assert_eq!(version_number("v00001x"), None);
    }

    #[test]
    fn names_that_escape_the_root_are_refused() {
        for bad in ["", "..", "../x", "a/b", ".hidden", "a b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        check_name("fashion-mnist_v2.1").unwrap();
    }
}
