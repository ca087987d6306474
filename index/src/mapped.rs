//! The read path: open a published version by mapping its files, in O(1).
//!
//! Opening reads the 656-byte header and the manifest, checks magic, version, every size and
//! the header's own checksum, then maps the four data files. Nothing in the graph is parsed
//! and nothing is allocated per node: memory is the page cache, shared by every process that
//! maps the same version. [`MappedIndex::verify`] reads everything (checksums and structure)
//! and is for `rankd index info` and for loading a new version in the background; search does
//! not depend on it, because every access it makes is bounds-checked and a bad value becomes
//! an [`IndexError::Corrupt`], never an out-of-bounds read.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::distance::DistanceFn;
use crate::error::{IndexError, Result};
use crate::format::{
    CATEGORY_COLUMN, DATA_FILES, DTYPE_F32, DTYPE_U32, GRAPH, HEADER_FILE, Header, IDS, ITEMS,
    Layout, MANIFEST_FILE, MAX_LEVELS, Metric, PRICE_COLUMN, Section, VECTORS,
};
use crate::manifest::Manifest;

/// A published index version, mapped read-only.
#[derive(Debug)]
pub struct MappedIndex {
    dir: PathBuf,
    header: Header,
    layout: Layout,
    manifest: Manifest,
    maps: [Mmap; 4],
    pub(crate) distance: DistanceFn,
    /// Header column slots of the category and price columns.
    category_column: usize,
    price_column: usize,
}

/// The attributes of one item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemRef<'a> {
    pub slot: u32,
    pub id: &'a str,
    pub category: u32,
    pub price: f32,
}

/// Maps `file` read-only.
///
/// # Safety
///
/// The caller guarantees that nobody modifies or truncates the file while the map lives.
/// rankd never writes into a published version: the publisher writes a temp directory and
/// renames it, and replaces versions by writing new directories, so the only way to break this
/// is an outside process editing files under the index root. Truncation by such a process
/// would turn reads into SIGBUS; in-place edits would change search results, not memory safety
/// of the typed views, which are plain integers and floats.
unsafe fn map_file(file: &File, path: &Path) -> Result<Mmap> {
    // SAFETY: forwarded from this function's contract.
    unsafe { Mmap::map(file) }.map_err(|e| IndexError::io(path, e))
}

/// Typed views of the mapped sections for one search; cheap to build (no copies).
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub vectors: &'a [f32],
    pub stride: usize,
    pub dim: usize,
    pub levels: [LevelView<'a>; MAX_LEVELS],
    pub top: usize,
    pub entry_point: u32,
    pub categories: &'a [u32],
    pub prices: &'a [f32],
    pub category_values: &'a [u32],
    pub category_offsets: &'a [u64],
    pub category_slots: &'a [u32],
    pub price_quantiles: &'a [f32],
    pub id_offsets: &'a [u64],
    pub id_order: &'a [u32],
    pub id_bytes: &'a [u8],
}

/// One graph level: neighbours of `nodes[i]` (slot `i` on level 0) are
/// `neighbours[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LevelView<'a> {
    pub nodes: &'a [u32],
    pub offsets: &'a [u64],
    pub neighbours: &'a [u32],
}

impl MappedIndex {
    /// Opens the version in `dir` (a `<root>/<name>/<version>` directory).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let header_path = dir.join(HEADER_FILE);
        let bytes = std::fs::read(&header_path).map_err(|e| IndexError::io(&header_path, e))?;
        let (header, layout) = Header::parse(&header_path, &bytes)?;
        let manifest = read_manifest(&dir, &header)?;

        let mut maps = Vec::with_capacity(DATA_FILES.len());
        for (i, name) in DATA_FILES.iter().enumerate() {
            let path = dir.join(name);
            let file = File::open(&path).map_err(|e| IndexError::io(&path, e))?;
            let found = file.metadata().map_err(|e| IndexError::io(&path, e))?.len();
            let expected = layout.file_bytes[i];
            if found != expected || header.files[i].bytes != expected {
                return Err(IndexError::WrongSize {
                    path,
                    expected,
                    found,
                });
            }
            // SAFETY: published versions are never written in place (see `map_file`).
            maps.push(unsafe { map_file(&file, &path)? });
        }
        let maps: [Mmap; 4] = maps
            .try_into()
            .map_err(|_| IndexError::corrupt(&dir, "expected four data files"))?;
        let index = Self {
            dir,
            distance: DistanceFn::new(header.metric()),
            category_column: header.column(CATEGORY_COLUMN, DTYPE_U32).unwrap_or(0),
            price_column: header.column(PRICE_COLUMN, DTYPE_F32).unwrap_or(0),
            header,
            layout,
            manifest,
            maps,
        };
        let view = index.view()?;
        let top = &view.levels[view.top];
        if view.top > 0 && top.nodes.binary_search(&view.entry_point).is_err() {
            return Err(index.corrupt(GRAPH, "entry point is not on the top level"));
        }
        Ok(index)
    }

    /// Opens the version `<root>/<name>/CURRENT` points at.
    pub fn open_current(root: impl AsRef<Path>, name: &str) -> Result<Self> {
        Self::open(crate::publish::current_dir(root.as_ref(), name)?)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn len(&self) -> usize {
        self.header.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.header.count == 0
    }

    pub fn dim(&self) -> usize {
        self.header.dim as usize
    }

    pub fn metric(&self) -> Metric {
        self.header.metric()
    }

    /// Max neighbours per node on level 0 (a build parameter).
    pub fn m0(&self) -> usize {
        self.header.m0 as usize
    }

    /// Bytes of the mapped data files (what resident memory is compared with).
    pub fn file_bytes(&self) -> u64 {
        self.layout.file_bytes.iter().sum()
    }

    pub(crate) fn corrupt(&self, file: usize, what: impl Into<String>) -> IndexError {
        IndexError::corrupt(self.dir.join(DATA_FILES[file]), what)
    }

    fn section<T: bytemuck::Pod>(&self, file: usize, section: Section) -> Result<&[T]> {
        let bytes = self.maps[file]
            .get(section.range())
            .ok_or_else(|| self.corrupt(file, "section past the end of the file"))?;
        bytemuck::try_cast_slice(bytes)
            .map_err(|e| self.corrupt(file, format!("misaligned section: {e}")))
    }

    pub(crate) fn view(&self) -> Result<View<'_>> {
        let l = &self.layout;
        let mut levels = [LevelView::default(); MAX_LEVELS];
        for (view, level) in levels.iter_mut().zip(&l.levels) {
            *view = LevelView {
                nodes: match level.nodes {
                    Some(nodes) => self.section(GRAPH, nodes)?,
                    None => &[],
                },
                offsets: self.section(GRAPH, level.offsets)?,
                neighbours: self.section(GRAPH, level.neighbours)?,
            };
        }
        let column = |slot: usize| {
            l.columns[slot].ok_or_else(|| self.corrupt(ITEMS, "attribute column missing"))
        };
        Ok(View {
            vectors: self.section(
                VECTORS,
                Section {
                    offset: 0,
                    len: l.file_bytes[VECTORS] as usize,
                },
            )?,
            stride: self.header.stride as usize,
            dim: self.header.dim as usize,
            levels,
            top: self.header.max_level as usize,
            entry_point: self.header.entry_point,
            categories: self.section(ITEMS, column(self.category_column)?)?,
            prices: self.section(ITEMS, column(self.price_column)?)?,
            category_values: self.section(ITEMS, l.category_values)?,
            category_offsets: self.section(ITEMS, l.category_offsets)?,
            category_slots: self.section(ITEMS, l.category_slots)?,
            price_quantiles: self.section(ITEMS, l.price_quantiles)?,
            id_offsets: self.section(IDS, l.id_offsets)?,
            id_order: self.section(IDS, l.id_order)?,
            id_bytes: self.section(IDS, l.id_bytes)?,
        })
    }

    /// The stored vector of `slot` (normalised for cosine).
    pub fn vector(&self, slot: u32) -> Result<&[f32]> {
        self.view()?
            .vector(slot)
            .ok_or_else(|| self.slot_error(slot))
    }

    /// The attributes of `slot`.
    pub fn item(&self, slot: u32) -> Result<ItemRef<'_>> {
        let view = self.view()?;
        let s = slot as usize;
        let (Some(&category), Some(&price)) = (view.categories.get(s), view.prices.get(s)) else {
            return Err(self.slot_error(slot));
        };
        Ok(ItemRef {
            slot,
            id: self.id_of(&view, slot)?,
            category,
            price,
        })
    }

    /// The slot of the item with external id `id`, by binary search over the sorted id table.
    pub fn slot_of(&self, id: &str) -> Result<Option<u32>> {
        let view = self.view()?;
        let (mut lo, mut hi) = (0usize, view.id_order.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let slot = view.id_order[mid];
            match self.id_of(&view, slot)?.cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(slot)),
            }
        }
        Ok(None)
    }

    pub(crate) fn id_of<'a>(&'a self, view: &View<'a>, slot: u32) -> Result<&'a str> {
        let s = slot as usize;
        let range = match (view.id_offsets.get(s), view.id_offsets.get(s + 1)) {
            (Some(&a), Some(&b)) if a <= b => a as usize..b as usize,
            _ => return Err(self.corrupt(IDS, format!("id offsets of slot {slot}"))),
        };
        let bytes = view
            .id_bytes
            .get(range)
            .ok_or_else(|| self.corrupt(IDS, format!("id of slot {slot} past the end")))?;
        std::str::from_utf8(bytes)
            .map_err(|_| self.corrupt(IDS, format!("id of slot {slot} is not UTF-8")))
    }

    fn slot_error(&self, slot: u32) -> IndexError {
        IndexError::InvalidArgument(format!("slot {slot} out of range 0..{}", self.len()))
    }

    /// Reads every byte: checks each file's crc32 against the header, then the structure
    /// (offsets, neighbour ids, postings, id table). For tools and background loading.
    pub fn verify(&self) -> Result<()> {
        for (i, map) in self.maps.iter().enumerate() {
            let found = crc32fast::hash(map);
            let expected = self.header.files[i].crc32;
            if found != expected {
                return Err(IndexError::Checksum {
                    path: self.dir.join(DATA_FILES[i]),
                    expected,
                    found,
                });
            }
        }
        crate::verify::structure(self, &self.view()?)
    }
}

impl<'a> View<'a> {
    #[inline]
    pub(crate) fn vector(&self, slot: u32) -> Option<&'a [f32]> {
        let start = slot as usize * self.stride;
        self.vectors.get(start..start + self.dim)
    }
}

fn read_manifest(dir: &Path, header: &Header) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read(&path).map_err(|e| IndexError::io(&path, e))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| IndexError::corrupt(&path, e.to_string()))?;
    let mismatch =
        |what: &str| IndexError::corrupt(&path, format!("{what} disagrees with {HEADER_FILE}"));
    if manifest.format_version != header.format_version {
        return Err(mismatch("format_version"));
    }
    if manifest.count as u64 != header.count || manifest.dim != header.dim as usize {
        return Err(mismatch("count or dim"));
    }
    if manifest.metric != header.metric() {
        return Err(mismatch("metric"));
    }
    for (name, desc) in DATA_FILES.iter().zip(&header.files) {
        let entry = manifest
            .files
            .get(*name)
            .ok_or_else(|| mismatch(&format!("files.{name} (missing)")))?;
        if entry.bytes != desc.bytes || entry.crc32 != format!("{:08x}", desc.crc32) {
            return Err(mismatch(&format!("files.{name}")));
        }
    }
    Ok(manifest)
}
