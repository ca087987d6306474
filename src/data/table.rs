//! A thin layer over the `csv` crate shared by the generic readers and the dataset adapters:
//! columns looked up by header name, cells parsed with errors that name file, line and column,
//! and the `--skip-bad-rows` policy in one place.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use csv::StringRecord;

use super::DataError;

/// How to read bad rows: fail on the first (the default) or skip and count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    pub skip_bad_rows: bool,
}

/// Records read from one file, with what was skipped or ignored on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<T> {
    pub records: Vec<T>,
    /// Rows skipped under [`ReadOptions::skip_bad_rows`].
    pub skipped: usize,
    /// The first skipped row's error, to tell the user what kind of damage the file has.
    pub first_skipped: Option<String>,
    /// Header columns the reader does not know and ignored (a warning is logged too).
    pub ignored_columns: Vec<String>,
}

/// The dialect of a tabular file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    pub delimiter: u8,
    /// RecBole atomic files type their header cells (`user_id:token`); the type is dropped.
    pub typed_header: bool,
    /// RecBole files are not quoted: a `"` in a title is a literal character.
    pub quoting: bool,
}

impl Dialect {
    pub const CSV: Self = Self {
        delimiter: b',',
        typed_header: false,
        quoting: true,
    };
    pub const RECBOLE: Self = Self {
        delimiter: b'\t',
        typed_header: true,
        quoting: false,
    };
}

/// An open table: its path (for messages), reader and header names.
pub(crate) struct Table {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    headers: Vec<String>,
}

impl Table {
    pub fn open(path: &Path, dialect: Dialect) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        Self::from_reader(path, Box::new(BufReader::new(file)), dialect)
    }

    /// `path` only names the source in messages; the bytes come from `reader`.
    pub fn from_reader(
        path: &Path,
        reader: Box<dyn Read>,
        dialect: Dialect,
    ) -> Result<Self, DataError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(dialect.delimiter)
            .quoting(dialect.quoting)
            // Short and long rows are reported by us per column, not as a parser error.
            .flexible(true)
            .from_reader(reader);
        let headers = reader
            .headers()
            .map_err(|source| DataError::Csv {
                path: path.to_path_buf(),
                line: 1,
                source,
            })?
            .iter()
            .map(|h| {
                let h = h.trim().trim_start_matches('\u{feff}');
                let h = if dialect.typed_header {
                    h.split(':').next().unwrap_or(h)
                } else {
                    h
                };
                h.to_string()
            })
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            headers,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn column(&self, name: &str) -> Result<Col, DataError> {
        self.optional_column(name)
            .ok_or_else(|| DataError::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
                found: self.headers.join(","),
            })
    }

    pub fn optional_column(&self, name: &str) -> Option<Col> {
        self.headers
            .iter()
            .position(|h| h == name)
            .map(|index| Col {
                index,
                name: self.headers[index].clone(),
            })
    }

    /// Header names not in `known`.
    pub fn unknown_columns(&self, known: &[&str]) -> Vec<String> {
        self.headers
            .iter()
            .filter(|h| !known.contains(&h.as_str()))
            .cloned()
            .collect()
    }

    /// Reads every row through `parse`, failing on the first bad row or skipping and counting
    /// bad rows per `options`. I/O errors always fail: they are not a property of one row.
    pub fn collect<T>(
        &mut self,
        options: ReadOptions,
        mut parse: impl FnMut(&Row<'_>) -> Result<T, DataError>,
    ) -> Result<Loaded<T>, DataError> {
        let mut loaded = Loaded {
            records: Vec::new(),
            skipped: 0,
            first_skipped: None,
            ignored_columns: Vec::new(),
        };
        let mut record = StringRecord::new();
        loop {
            let result = match self.reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    if record.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    parse(&Row {
                        path: &self.path,
                        record: &record,
                        line,
                    })
                }
                Err(source) if source.is_io_error() => {
                    return Err(DataError::Read {
                        path: self.path.clone(),
                        source,
                    });
                }
                Err(source) => {
                    let line = source.position().map_or(0, |p| p.line());
                    Err(DataError::Csv {
                        path: self.path.clone(),
                        line,
                        source,
                    })
                }
            };
            match result {
                Ok(value) => loaded.records.push(value),
                Err(err) if options.skip_bad_rows && err.is_row_error() => {
                    if loaded.first_skipped.is_none() {
                        loaded.first_skipped = Some(err.to_string());
                    }
                    loaded.skipped += 1;
                }
                Err(err) => return Err(err),
            }
        }
        if loaded.skipped > 0 {
            tracing::warn!(
                path = %self.path.display(),
                skipped = loaded.skipped,
                first = loaded.first_skipped.as_deref().unwrap_or(""),
                "skipped bad rows"
            );
        }
        Ok(loaded)
    }
}

/// A column found in the header.
#[derive(Debug, Clone)]
pub(crate) struct Col {
    index: usize,
    name: String,
}

/// One data row, with where it came from.
pub(crate) struct Row<'a> {
    path: &'a Path,
    record: &'a StringRecord,
    line: u64,
}

impl Row<'_> {
    pub fn line(&self) -> u64 {
        self.line
    }

    pub fn error(&self, col: &Col, message: impl Into<String>) -> DataError {
        DataError::BadCell {
            path: self.path.to_path_buf(),
            line: self.line,
            column: col.name.clone(),
            message: message.into(),
        }
    }

    /// The trimmed cell; a row too short to have it is an error.
    pub fn cell(&self, col: &Col) -> Result<&str, DataError> {
        self.record.get(col.index).map(str::trim).ok_or_else(|| {
            self.error(
                col,
                format!(
                    "missing: the row has {} fields, the header more",
                    self.record.len()
                ),
            )
        })
    }

    /// The cell, or the empty string when the column is absent from the header.
    pub fn optional_cell(&self, col: Option<&Col>) -> Result<&str, DataError> {
        col.map_or(Ok(""), |c| self.cell(c))
    }

    /// A non-empty cell.
    pub fn required(&self, col: &Col) -> Result<&str, DataError> {
        let cell = self.cell(col)?;
        if cell.is_empty() {
            return Err(self.error(col, "empty, but a value is required"));
        }
        Ok(cell)
    }

    /// A non-empty cell parsed as `T`; `what` names the expected kind in the message.
    pub fn parse<T: FromStr>(&self, col: &Col, what: &str) -> Result<T, DataError> {
        let cell = self.required(col)?;
        cell.parse()
            .map_err(|_| self.error(col, format!("`{cell}` is not {what}")))
    }

    /// Like [`Row::parse`], but an empty cell (or an absent column) is `None`.
    pub fn parse_optional<T: FromStr>(
        &self,
        col: Option<&Col>,
        what: &str,
    ) -> Result<Option<T>, DataError> {
        let Some(col) = col else {
            return Ok(None);
        };
        let cell = self.cell(col)?;
        if cell.is_empty() {
            return Ok(None);
        }
        cell.parse()
            .map(Some)
            .map_err(|_| self.error(col, format!("`{cell}` is not {what}")))
    }
}
