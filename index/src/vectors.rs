//! Vector files in and out: NumPy `.npy` (2-D, little-endian, C order), `.fvecs`/`.ivecs`
//! (the ann-benchmarks/TEXMEX format), and IDX (`*-idx3-ubyte[.gz]`, Fashion-MNIST's format).
//!
//! Hand-written rather than via npyz/ndarray-npy: only the 2-D numeric subset is needed, and
//! every error must name the file and the field that is wrong.

use std::io::Read;
use std::path::Path;

use crate::error::{IndexError, Result};

/// A row-major matrix read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix<T> {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<T>,
}

impl<T> Matrix<T> {
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        self.rows = self.rows.min(rows);
        self.data.truncate(self.rows * self.dim);
    }
}

fn read_all(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| IndexError::io(path, e))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| IndexError::parse(path, format!("gzip: {e}")))?;
        return Ok(out);
    }
    Ok(raw)
}

fn name_of(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    name.unwrap_or_default()
}

/// Reads float vectors from `.npy` (f32, f64, u8, i32), `.fvecs`, or IDX (u8), chosen by the
/// file name.
pub fn read_vectors(path: &Path) -> Result<Matrix<f32>> {
    let name = name_of(path);
    let bytes = read_all(path)?;
    if name.contains("idx3-ubyte") {
        read_idx(path, &bytes)
    } else if name.ends_with(".fvecs") {
        read_xvecs(path, &bytes, f32::from_le_bytes)
    } else if name.ends_with(".npy") {
        read_npy(path, &bytes, |v| Some(v as f32))
    } else {
        Err(IndexError::parse(
            path,
            "unknown vector format: expected .npy, .fvecs or *-idx3-ubyte[.gz]",
        ))
    }
}

/// Reads integer rows (ground truth neighbour ids) from `.npy` (integer dtypes) or `.ivecs`.
pub fn read_ids(path: &Path) -> Result<Matrix<u32>> {
    let bytes = read_all(path)?;
    if name_of(path).ends_with(".ivecs") {
        let m = read_xvecs(path, &bytes, i32::from_le_bytes)?;
        let data = m.data.into_iter().map(|v| u32::try_from(v).ok());
        let data: Option<Vec<u32>> = data.collect();
        let data = data.ok_or_else(|| IndexError::parse(path, "negative id"))?;
        return Ok(Matrix {
            rows: m.rows,
            dim: m.dim,
            data,
        });
    }
    read_npy(path, &bytes, |v| {
        (v >= 0.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0).then_some(v as u32)
    })
}

fn read_xvecs<T>(path: &Path, bytes: &[u8], parse: impl Fn([u8; 4]) -> T) -> Result<Matrix<T>> {
    let word = |at: usize| -> Option<[u8; 4]> { bytes.get(at..at + 4)?.try_into().ok() };
    let dim = word(0)
        .map(u32::from_le_bytes)
        .ok_or_else(|| IndexError::parse(path, "empty file"))?;
    let dim = dim as usize;
    let row_bytes = 4 * (dim + 1);
    if dim == 0 || !bytes.len().is_multiple_of(row_bytes) {
        return Err(IndexError::parse(
            path,
            format!("dimension {dim} does not divide {} bytes", bytes.len()),
        ));
    }
    let rows = bytes.len() / row_bytes;
    let mut data = Vec::with_capacity(rows * dim);
    for (r, row) in bytes.chunks_exact(row_bytes).enumerate() {
        if row[..4] != bytes[..4] {
            return Err(IndexError::parse(
                path,
                format!("row {r}: dimension differs from row 0"),
            ));
        }
        data.extend(
            row[4..]
                .chunks_exact(4)
                .map(|b| parse([b[0], b[1], b[2], b[3]])),
        );
    }
    Ok(Matrix { rows, dim, data })
}

fn read_idx(path: &Path, bytes: &[u8]) -> Result<Matrix<f32>> {
    let word = |i: usize| -> Option<usize> {
        let b = bytes.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let too_short = || IndexError::parse(path, "IDX header truncated");
    if word(0).ok_or_else(too_short)? != 0x0803 {
        return Err(IndexError::parse(
            path,
            "IDX magic is not 0x00000803 (u8, 3 dimensions)",
        ));
    }
    let (rows, h, w) = (
        word(1).ok_or_else(too_short)?,
        word(2).ok_or_else(too_short)?,
        word(3).ok_or_else(too_short)?,
    );
    let dim = h * w;
    let body = &bytes[16..];
    if body.len() != rows * dim {
        return Err(IndexError::parse(
            path,
            format!("{rows} x {h} x {w} bytes expected, found {}", body.len()),
        ));
    }
    Ok(Matrix {
        rows,
        dim,
        data: body.iter().map(|&b| f32::from(b)).collect(),
    })
}

/// NumPy header fields this reader understands.
struct NpyHeader {
    descr: String,
    rows: usize,
    dim: usize,
    data_start: usize,
}

fn parse_npy_header(path: &Path, bytes: &[u8]) -> Result<NpyHeader> {
    let bad = |what: &str| IndexError::parse(path, format!("npy header: {what}"));
    if bytes.get(..6) != Some(b"\x93NUMPY") {
        return Err(bad("missing \\x93NUMPY magic"));
    }
    let major = *bytes.get(6).ok_or_else(|| bad("truncated"))?;
    let (len, start) = match major {
        1 => (
            bytes
                .get(8..10)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize),
            10,
        ),
        2 | 3 => (
            bytes
                .get(8..12)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize),
            12,
        ),
        v => return Err(bad(&format!("version {v}"))),
    };
    let len = len.ok_or_else(|| bad("truncated"))?;
    let text = bytes
        .get(start..start + len)
        .ok_or_else(|| bad("truncated"))?;
    let text = std::str::from_utf8(text).map_err(|_| bad("not text"))?;
    let field = |key: &str| -> Option<&str> {
        let at = text.find(&format!("'{key}'"))? + key.len() + 2;
        Some(text[at..].trim_start().strip_prefix(':')?.trim_start())
    };
    let descr = field("descr")
        .and_then(|v| v.strip_prefix('\'')?.split('\'').next())
        .ok_or_else(|| bad("descr"))?;
    if field("fortran_order").is_none_or(|v| !v.starts_with("False")) {
        return Err(bad("fortran_order must be False"));
    }
    let shape = field("shape")
        .and_then(|v| v.strip_prefix('(')?.split(')').next())
        .ok_or_else(|| bad("shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad("shape"))?;
    let [rows, dim] = dims[..] else {
        return Err(bad(&format!("shape {shape:?} is not 2-D")));
    };
    Ok(NpyHeader {
        descr: descr.to_owned(),
        rows,
        dim,
        data_start: start + len,
    })
}

fn read_npy<T>(path: &Path, bytes: &[u8], convert: impl Fn(f64) -> Option<T>) -> Result<Matrix<T>> {
    let h = parse_npy_header(path, bytes)?;
    let width = match h.descr.as_str() {
        "|u1" | "<u1" => 1,
        "<f4" | "<i4" | "<u4" => 4,
        "<f8" | "<i8" | "<u8" => 8,
        other => {
            return Err(IndexError::parse(
                path,
                format!("npy dtype {other} (expected <f4, <f8, |u1 or an integer)"),
            ));
        }
    };
    let body = &bytes[h.data_start.min(bytes.len())..];
    let count = h
        .rows
        .checked_mul(h.dim)
        .ok_or_else(|| IndexError::parse(path, "shape overflows"))?;
    if Some(body.len()) != count.checked_mul(width) {
        return Err(IndexError::parse(
            path,
            format!(
                "{} x {} {} values need {} bytes, found {}",
                h.rows,
                h.dim,
                h.descr,
                count.saturating_mul(width),
                body.len()
            ),
        ));
    }
    let value = |b: &[u8]| -> f64 {
        match h.descr.as_str() {
            "<f4" => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            "<i4" => f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            "<u4" => f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            "<f8" => f64::from_le_bytes(b.try_into().unwrap_or_default()),
            "<i8" => i64::from_le_bytes(b.try_into().unwrap_or_default()) as f64,
            "<u8" => u64::from_le_bytes(b.try_into().unwrap_or_default()) as f64,
            _ => f64::from(b[0]),
        }
    };
    let mut data = Vec::with_capacity(count);
    for (i, b) in body.chunks_exact(width).enumerate() {
        let v = value(b);
        let converted = convert(v).ok_or_else(|| {
            IndexError::parse(
                path,
                format!(
                    "row {}, column {}: value {v} out of range",
                    i / h.dim,
                    i % h.dim
                ),
            )
        })?;
        data.push(converted);
    }
    Ok(Matrix {
        rows: h.rows,
        dim: h.dim,
        data,
    })
}

/// Writes a 2-D `.npy`: `<f4` for floats, `<u4` for ids.
pub fn write_npy<T: NpyElement>(path: &Path, m: &Matrix<T>) -> Result<()> {
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({}, {}), }}",
        T::DESCR,
        m.rows,
        m.dim
    );
    // Pad so the data starts on a 64-byte boundary, as NumPy does.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + m.data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(bytemuck::cast_slice(&m.data));
    std::fs::write(path, out).map_err(|e| IndexError::io(path, e))
}

/// Element types [`write_npy`] can write.
pub trait NpyElement: bytemuck::Pod {
    const DESCR: &'static str;
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
}

impl NpyElement for u32 {
    const DESCR: &'static str = "<u4";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_and_bad_files_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.npy");
        let m = Matrix {
            rows: 2,
            dim: 3,
            data: vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.5],
        };
        write_npy(&path, &m).unwrap();
        assert_eq!(read_vectors(&path).unwrap(), m);
        let ids = Matrix {
            rows: 1,
            dim: 2,
            data: vec![7u32, 9],
        };
        let ids_path = dir.path().join("gt.npy");
        write_npy(&ids_path, &ids).unwrap();
        assert_eq!(read_ids(&ids_path).unwrap(), ids);

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = read_vectors(&path).unwrap_err().to_string();
        assert!(
            err.contains("v.npy") && err.contains("need 24 bytes"),
            "{err}"
        );
    }

    #[test]
    fn fvecs_rows_are_read_and_ragged_files_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.fvecs");
        let mut bytes = Vec::new();
        for row in [[1.0f32, 2.0], [3.0, 4.0]] {
            bytes.extend_from_slice(&2u32.to_le_bytes());
            row.iter()
                .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
        }
        std::fs::write(&path, &bytes).unwrap();
        let m = read_vectors(&path).unwrap();
        assert_eq!((m.rows, m.dim, m.data), (2, 2, vec![1.0, 2.0, 3.0, 4.0]));
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        assert!(matches!(read_vectors(&path), Err(IndexError::Parse { .. })));
    }

    #[test]
    fn idx_images_become_rows_of_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t-idx3-ubyte");
        let mut bytes = Vec::new();
        for word in [0x0803u32, 2, 1, 2] {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        bytes.extend_from_slice(&[0, 255, 7, 8]);
        std::fs::write(&path, &bytes).unwrap();
        let m = read_vectors(&path).unwrap();
        assert_eq!((m.rows, m.dim, m.data), (2, 2, vec![0.0, 255.0, 7.0, 8.0]));
    }
}
