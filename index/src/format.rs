//! The on-disk format shared by the write path ([`crate::publish`]) and the read path
//! ([`crate::mapped`]): one `#[repr(C)]` header and the byte layout of every data file,
//! computed from the header alone.
//!
//! ```text
//! <version>/header.bin   Header (this file's struct, little-endian, crc32 of itself)
//!           vectors.bin  count x stride f32, row-major; stride = dim rounded up to 8 (32 bytes)
//!           graph.bin    per level l: [nodes u32 x n_l (l > 0 only)] [offsets u64 x n_l+1]
//!                                     [neighbours u32 x edges_l]
//!           items.bin    columns (u32/f32 x count each) [category values u32 x c]
//!                        [category offsets u64 x c+1] [slots by category u32 x count]
//!                        [price quantiles f32 x 257]
//!           ids.bin      [offsets u64 x count+1] [slots sorted by id u32 x count] [utf-8 bytes]
//! ```
//!
//! Every section starts on an 8-byte boundary and the files are mapped page-aligned, so each
//! section casts to its element type without copying. The sizes of all files follow from the
//! header, so opening checks them in O(levels) without reading the data; checksums (one per
//! file, in the header) are verified on request because reading 1 GB is not O(1).
//!
//! Why several files and not one: a header in its own small file can be read with a plain
//! `read` before anything is mapped, and the per-file checksums say which part is damaged.

use std::path::Path;

use bytemuck::{Pod, Zeroable};

use crate::error::{IndexError, Result};

#[cfg(not(all(target_endian = "little", target_pointer_width = "64")))]
compile_error!("the rankd index format is little-endian and addresses files with 64-bit offsets");

/// First bytes of `header.bin`.
pub const MAGIC: [u8; 8] = *b"RANKDIDX";
/// The format this build writes and reads. Bump it (and keep a fixture of the old one under
/// `index/tests/fixtures/`) whenever a byte of the layout changes meaning.
pub const FORMAT_VERSION: u32 = 1;
/// hnsw_rs never builds more than 16 layers.
pub const MAX_LEVELS: usize = 16;
/// Attribute column slots in the header; two are used, the rest is room to grow.
pub const MAX_COLUMNS: usize = 8;
/// Price quantiles stored for selectivity estimates (0 %, 1/256, ..., 100 %).
pub const PRICE_QUANTILES: usize = 257;
/// Rows are padded to this many floats so each starts on a 32-byte (AVX) boundary.
pub const ROW_ALIGN_FLOATS: usize = 8;

pub const HEADER_FILE: &str = "header.bin";
pub const MANIFEST_FILE: &str = "manifest.json";
/// The data files, in the order of [`Header::files`].
pub const DATA_FILES: [&str; 4] = ["vectors.bin", "graph.bin", "items.bin", "ids.bin"];
pub(crate) const VECTORS: usize = 0;
pub(crate) const GRAPH: usize = 1;
pub(crate) const ITEMS: usize = 2;
pub(crate) const IDS: usize = 3;

pub(crate) const CATEGORY_COLUMN: &str = "category";
pub(crate) const PRICE_COLUMN: &str = "price";
pub(crate) const DTYPE_U32: u32 = 1;
pub(crate) const DTYPE_F32: u32 = 2;

/// How distances are measured. `Cosine` normalises vectors at build and query time and then
/// ranks by inner product, so it also serves "inner product on normalised vectors".
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Squared Euclidean distance (ranks like Euclidean, without the square root).
    L2,
    /// `1 - cos(a, b)`.
    Cosine,
}

impl Metric {
    pub(crate) fn code(self) -> u32 {
        match self {
            Metric::L2 => 1,
            Metric::Cosine => 2,
        }
    }

    pub(crate) fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(Metric::L2),
            2 => Some(Metric::Cosine),
            _ => None,
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metric::L2 => "l2",
            Metric::Cosine => "cosine",
        })
    }
}

impl std::str::FromStr for Metric {
    type Err = IndexError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "l2" | "euclidean" => Ok(Metric::L2),
            "cosine" | "ip" | "dot" => Ok(Metric::Cosine),
            other => Err(IndexError::InvalidArgument(format!(
                "unknown metric {other:?}, expected l2 or cosine"
            ))),
        }
    }
}

/// Node and edge counts of one graph level.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct LevelDesc {
    pub nodes: u64,
    pub edges: u64,
}

/// Length and crc32 of one data file.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct FileDesc {
    pub bytes: u64,
    pub crc32: u32,
    pub reserved: u32,
}

/// One fixed-width attribute column in `items.bin`; an all-zero entry is an unused slot.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct ColumnDesc {
    /// NUL-padded ASCII name.
    pub name: [u8; 16],
    pub dtype: u32,
    pub reserved: u32,
}

impl ColumnDesc {
    pub(crate) fn new(name: &str, dtype: u32) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Self {
            name: bytes,
            dtype,
            reserved: 0,
        }
    }

    pub(crate) fn is_used(&self) -> bool {
        self.dtype != 0
    }

    pub(crate) fn name_is(&self, name: &str) -> bool {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(16);
        &self.name[..end] == name.as_bytes()
    }
}

/// The versioned header, stored verbatim (little-endian) in `header.bin`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct Header {
    pub magic: [u8; 8],
    pub format_version: u32,
    /// `size_of::<Header>()` of the writer, so a reader can tell a grown header.
    pub header_bytes: u32,
    pub metric: u32,
    pub dim: u32,
    /// Floats per stored row (`dim` rounded up to [`ROW_ALIGN_FLOATS`]).
    pub stride: u32,
    /// Highest graph level; levels `0..=max_level` are stored.
    pub max_level: u32,
    pub count: u64,
    /// Slot the search starts from (a node of the top level).
    pub entry_point: u32,
    /// Build parameters: max neighbours on upper levels / on level 0, ef at construction.
    pub m: u32,
    pub m0: u32,
    pub ef_construction: u32,
    /// Distinct category ids (entries of the category postings table).
    pub categories: u64,
    /// Total bytes of the external id strings.
    pub id_bytes: u64,
    pub levels: [LevelDesc; MAX_LEVELS],
    pub files: [FileDesc; 4],
    pub columns: [ColumnDesc; MAX_COLUMNS],
    pub reserved: [u64; 8],
    /// crc32 of every byte before this field.
    pub header_crc: u32,
    pub padding: u32,
}

/// Byte range of one section inside a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Section {
    pub offset: usize,
    pub len: usize,
}

impl Section {
    pub(crate) fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// Sections of one graph level inside `graph.bin`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LevelLayout {
    /// Sorted slots present on this level; `None` on level 0, where every slot is.
    pub nodes: Option<Section>,
    pub offsets: Section,
    pub neighbours: Section,
}

/// Where everything is, derived from a header.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub file_bytes: [u64; 4],
    pub levels: Vec<LevelLayout>,
    /// Attribute columns by header slot; `None` for unused slots.
    pub columns: Vec<Option<Section>>,
    pub category_values: Section,
    pub category_offsets: Section,
    pub category_slots: Section,
    pub price_quantiles: Section,
    pub id_offsets: Section,
    pub id_order: Section,
    pub id_bytes: Section,
}

/// Hands out 8-byte-aligned sections with overflow-checked arithmetic, so a hostile header
/// yields an error and never a wrapped size.
struct Cursor(u64);

impl Cursor {
    fn take(&mut self, count: u64, width: u64) -> Option<Section> {
        let len = count.checked_mul(width)?;
        let start = self.0;
        let end = start.checked_add(len)?;
        self.0 = end.checked_add(7)? & !7;
        Some(Section {
            offset: usize::try_from(start).ok()?,
            len: usize::try_from(len).ok()?,
        })
    }
}

impl Layout {
    /// The layout a valid header implies, or `None` when its counts overflow.
    pub(crate) fn of(h: &Header) -> Option<Layout> {
        let count = h.count;
        let vectors = count.checked_mul(u64::from(h.stride))?.checked_mul(4)?;

        let mut graph = Cursor(0);
        let mut levels = Vec::with_capacity(h.max_level as usize + 1);
        for (level, desc) in h.levels.iter().enumerate().take(h.max_level as usize + 1) {
            let nodes = if level == 0 {
                None
            } else {
                Some(graph.take(desc.nodes, 4)?)
            };
            let offsets = graph.take(desc.nodes.checked_add(1)?, 8)?;
            let neighbours = graph.take(desc.edges, 4)?;
            levels.push(LevelLayout {
                nodes,
                offsets,
                neighbours,
            });
        }

        let mut items = Cursor(0);
        let mut columns = Vec::with_capacity(MAX_COLUMNS);
        for column in &h.columns {
            columns.push(if column.is_used() {
                Some(items.take(count, 4)?)
            } else {
                None
            });
        }
        let category_values = items.take(h.categories, 4)?;
        let category_offsets = items.take(h.categories.checked_add(1)?, 8)?;
        let category_slots = items.take(count, 4)?;
        let price_quantiles = items.take(PRICE_QUANTILES as u64, 4)?;

        let mut ids = Cursor(0);
        let id_offsets = ids.take(count.checked_add(1)?, 8)?;
        let id_order = ids.take(count, 4)?;
        let id_bytes = ids.take(h.id_bytes, 1)?;

        Some(Layout {
            file_bytes: [vectors, graph.0, items.0, ids.0],
            levels,
            columns,
            category_values,
            category_offsets,
            category_slots,
            price_quantiles,
            id_offsets,
            id_order,
            id_bytes,
        })
    }
}

impl Header {
    /// Byte offset of `header_crc`: the checksum covers everything before it.
    const CRC_END: usize = std::mem::offset_of!(Header, header_crc);

    pub(crate) fn seal(&mut self) {
        self.header_crc = crc32fast::hash(&bytemuck::bytes_of(self)[..Self::CRC_END]);
    }

    pub(crate) fn metric(&self) -> Metric {
        // `parse` refused unknown codes, and a Header only leaves this module through it or
        // through the builder.
        Metric::from_code(self.metric).unwrap_or(Metric::L2)
    }

    pub(crate) fn column(&self, name: &str, dtype: u32) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name_is(name) && c.dtype == dtype)
    }

    /// Reads and checks a header: magic, version, size, checksum and every field the layout
    /// depends on. Never trusts a count before it is bounded.
    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<(Header, Layout)> {
        let size = std::mem::size_of::<Header>();
        let wrong_size = || IndexError::WrongSize {
            path: path.to_path_buf(),
            expected: size as u64,
            found: bytes.len() as u64,
        };
        let magic = bytes.get(..8).ok_or_else(wrong_size)?;
        if magic != MAGIC {
            return Err(IndexError::BadMagic {
                path: path.to_path_buf(),
                found: magic.to_vec(),
            });
        }
        let version = bytes.get(8..12).ok_or_else(wrong_size)?;
        let version = u32::from_le_bytes([version[0], version[1], version[2], version[3]]);
        if version != FORMAT_VERSION {
            return Err(IndexError::WrongVersion {
                path: path.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if bytes.len() != size {
            return Err(wrong_size());
        }
        let h: Header = bytemuck::pod_read_unaligned(bytes);
        let crc = crc32fast::hash(&bytes[..Self::CRC_END]);
        if crc != h.header_crc {
            return Err(IndexError::Checksum {
                path: path.to_path_buf(),
                expected: h.header_crc,
                found: crc,
            });
        }
        h.check_fields()
            .map_err(|what| IndexError::corrupt(path, what))?;
        let layout = Layout::of(&h).ok_or_else(|| IndexError::corrupt(path, "counts overflow"))?;
        Ok((h, layout))
    }

    fn check_fields(&self) -> std::result::Result<(), String> {
        if self.header_bytes as usize != std::mem::size_of::<Header>() {
            return Err(format!("header_bytes is {}", self.header_bytes));
        }
        if Metric::from_code(self.metric).is_none() {
            return Err(format!("unknown metric code {}", self.metric));
        }
        let expected_stride = (self.dim as usize).div_ceil(ROW_ALIGN_FLOATS) * ROW_ALIGN_FLOATS;
        if self.dim == 0 || self.stride as usize != expected_stride {
            return Err(format!("dim {} with stride {}", self.dim, self.stride));
        }
        if self.count == 0 || self.count > u64::from(u32::MAX) {
            return Err(format!("item count {}", self.count));
        }
        if u64::from(self.entry_point) >= self.count {
            return Err(format!(
                "entry point {} of {}",
                self.entry_point, self.count
            ));
        }
        let levels = self.max_level as usize + 1;
        if levels > MAX_LEVELS {
            return Err(format!("max level {}", self.max_level));
        }
        if self.levels[0].nodes != self.count {
            return Err("level 0 does not hold every item".into());
        }
        for l in 1..MAX_LEVELS {
            let (upper, lower) = (self.levels[l], self.levels[l - 1]);
            let used = l < levels;
            if (used && (upper.nodes == 0 || upper.nodes > lower.nodes))
                || (!used && upper != LevelDesc::default())
            {
                return Err(format!("level {l} has {} nodes", upper.nodes));
            }
        }
        if self.categories > self.count {
            return Err(format!(
                "{} categories for {} items",
                self.categories, self.count
            ));
        }
        if self.column(CATEGORY_COLUMN, DTYPE_U32).is_none()
            || self.column(PRICE_COLUMN, DTYPE_F32).is_none()
        {
            return Err("category or price column missing".into());
        }
        Ok(())
    }
}
