//! The durable, segmented, append-only feedback log.
//!
//! Files `<dir>/<number:020>.log`, appended in order; a new segment starts when the current
//! one passes `segment_bytes`, so retention and erasure rewrite or drop whole small files
//! instead of one ever-growing file. Each append writes one batch of frames with a single
//! `write` and then syncs per the [`FsyncPolicy`]; the RPC is acknowledged only after that.
//!
//! Opening replays every segment. A frame cut short at the very end of the newest segment is a
//! write that never finished (a crash mid-append, never acknowledged): it is reported and
//! truncated away. Damage anywhere else could hide acknowledged events, so it is an error
//! naming the file and offset rather than something skipped silently.
//!
//! The log keeps each segment's [`Span`] (record count, oldest and newest event time) in
//! memory, so a retention sweep decides what to delete without reading files again. Retention
//! and erasure on the log live in `segments/upkeep.rs`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::FeedbackError;
use super::record::{FeedbackRecord, Frame, decode_frame};
use super::rewrite;

mod upkeep;

/// When appended batches are forced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    /// fsync after every batch, before the RPC answers: no acknowledged event is ever lost.
    EveryBatch,
    /// fsync when the last one is older than the interval: a crash can lose that much.
    Interval,
    /// Leave it to the OS: survives a process crash, not a power loss.
    Never,
}

/// What replay found and repaired.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub segments: usize,
    pub records: usize,
    /// Bytes of an unfinished last write cut from the newest segment, and where.
    pub truncated_tail: Option<(PathBuf, u64, usize)>,
}

/// The events a segment holds: how many, and the range of their timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub records: usize,
    pub oldest_ms: i64,
    pub newest_ms: i64,
}

impl Default for Span {
    /// Empty: older than any cutoff, so an empty sealed segment is always expired.
    fn default() -> Self {
        Span {
            records: 0,
            oldest_ms: i64::MAX,
            newest_ms: i64::MIN,
        }
    }
}

impl Span {
    pub fn add(&mut self, timestamp_ms: i64) {
        self.records += 1;
        self.oldest_ms = self.oldest_ms.min(timestamp_ms);
        self.newest_ms = self.newest_ms.max(timestamp_ms);
    }
}

#[derive(Debug, Clone)]
struct Segment {
    number: u64,
    path: PathBuf,
    span: Span,
}

#[derive(Debug)]
pub struct SegmentLog {
    dir: PathBuf,
    segment_bytes: u64,
    fsync: FsyncPolicy,
    fsync_interval: Duration,
    last_sync: Instant,
    /// Closed segments, oldest first; nothing appends to them again.
    sealed: Vec<Segment>,
    /// The segment appends go to, through `current`.
    active: Segment,
    current: File,
    current_len: u64,
}

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}.log"))
}

/// Segment files in the directory, oldest first.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, FeedbackError> {
    let io = |source| FeedbackError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(number) = number {
            segments.push((number, path));
        }
    }
    segments.sort();
    Ok(segments)
}

pub(super) fn read_file(path: &Path) -> Result<Vec<u8>, FeedbackError> {
    std::fs::read(path).map_err(|source| FeedbackError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn open_append(path: &Path) -> Result<File, FeedbackError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| FeedbackError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Makes a new file's directory entry durable too (a synced file in an unsynced directory
/// entry can vanish on power loss).
pub(super) fn sync_dir(dir: &Path) -> Result<(), FeedbackError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| FeedbackError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Decodes every frame of one segment, calling `each` per record. Returns the length of the
/// valid prefix and, when the file ends in an unfinished frame, that it does.
pub(super) fn scan_segment(
    path: &Path,
    bytes: &[u8],
    is_newest: bool,
    mut each: impl FnMut(FeedbackRecord),
) -> Result<(u64, bool), FeedbackError> {
    let mut offset = 0usize;
    while offset < bytes.len() {
        match decode_frame(&bytes[offset..]) {
            Frame::Record(record, len) => {
                each(record);
                offset += len;
            }
            // Incomplete at the end of the newest file, or a complete-looking last frame with a
            // bad checksum (a torn page), is an unfinished write.
            Frame::Incomplete if is_newest => return Ok((offset as u64, true)),
            Frame::Corrupt { len, .. } if is_newest && offset + len == bytes.len() => {
                return Ok((offset as u64, true));
            }
            Frame::Incomplete => {
                return Err(FeedbackError::Corrupt {
                    path: path.to_path_buf(),
                    offset: offset as u64,
                    reason: "record cut short in a segment that is not the newest",
                });
            }
            Frame::Corrupt { reason, .. } => {
                return Err(FeedbackError::Corrupt {
                    path: path.to_path_buf(),
                    offset: offset as u64,
                    reason,
                });
            }
        }
    }
    Ok((offset as u64, false))
}

impl SegmentLog {
    /// Opens (creating if needed) the log in `dir`, replaying every record into `each`.
    pub fn open(
        dir: &Path,
        segment_bytes: u64,
        fsync: FsyncPolicy,
        fsync_interval: Duration,
        mut each: impl FnMut(FeedbackRecord),
    ) -> Result<(SegmentLog, ReplayReport), FeedbackError> {
        std::fs::create_dir_all(dir).map_err(|source| FeedbackError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        rewrite::remove_unfinished(dir)?;
        let listed = list_segments(dir)?;
        let mut report = ReplayReport {
            segments: listed.len(),
            ..ReplayReport::default()
        };
        let mut segments = Vec::with_capacity(listed.len());
        let mut newest_len = 0;
        for (i, (number, path)) in listed.into_iter().enumerate() {
            let is_newest = i + 1 == report.segments;
            let bytes = read_file(&path)?;
            let mut span = Span::default();
            let (valid, torn) = scan_segment(&path, &bytes, is_newest, |record| {
                span.add(record.timestamp_ms);
                each(record);
            })?;
            report.records += span.records;
            if torn {
                let cut = bytes.len() - valid as usize;
                tracing::warn!(
                    file = %path.display(),
                    offset = valid,
                    bytes = cut,
                    "feedback log ends in an unfinished write; truncating it"
                );
                let file = OpenOptions::new().write(true).open(&path);
                file.and_then(|f| f.set_len(valid).and_then(|()| f.sync_all()))
                    .map_err(|source| FeedbackError::Io {
                        path: path.clone(),
                        source,
                    })?;
                report.truncated_tail = Some((path.clone(), valid, cut));
            }
            newest_len = valid;
            segments.push(Segment { number, path, span });
        }
        let active = segments.pop().unwrap_or_else(|| Segment {
            number: 1,
            path: segment_path(dir, 1),
            span: Span::default(),
        });
        let current = open_append(&active.path)?;
        if report.segments == 0 {
            sync_dir(dir)?;
        }
        let log = SegmentLog {
            dir: dir.to_path_buf(),
            segment_bytes,
            fsync,
            fsync_interval,
            last_sync: Instant::now(),
            sealed: segments,
            active,
            current,
            current_len: newest_len,
        };
        Ok((log, report))
    }

    /// Appends a batch and makes it durable per the fsync policy. On a failed write the
    /// segment is cut back to where the batch started, so no half batch is left in the log.
    pub fn append(&mut self, records: &[FeedbackRecord]) -> Result<(), FeedbackError> {
        if self.current_len >= self.segment_bytes {
            self.roll()?;
        }
        let mut buf = Vec::with_capacity(records.len() * 96);
        for record in records {
            record.encode_frame(&mut buf);
        }
        let written = self
            .current
            .write_all(&buf)
            .and_then(|()| self.sync_if_due());
        if let Err(source) = written {
            // Best effort: if even this fails, replay's tail check still refuses the damage.
            let _ = self.current.set_len(self.current_len);
            return Err(FeedbackError::Io {
                path: self.active.path.clone(),
                source,
            });
        }
        self.current_len += buf.len() as u64;
        for record in records {
            self.active.span.add(record.timestamp_ms);
        }
        Ok(())
    }

    fn sync_if_due(&mut self) -> std::io::Result<()> {
        let due = match self.fsync {
            FsyncPolicy::EveryBatch => true,
            FsyncPolicy::Interval => self.last_sync.elapsed() >= self.fsync_interval,
            FsyncPolicy::Never => false,
        };
        if due {
            self.current.sync_data()?;
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    fn roll(&mut self) -> Result<(), FeedbackError> {
        self.current
            .sync_all()
            .map_err(|source| FeedbackError::Io {
                path: self.active.path.clone(),
                source,
            })?;
        let number = self.active.number + 1;
        let next = Segment {
            number,
            path: segment_path(&self.dir, number),
            span: Span::default(),
        };
        self.current = open_append(&next.path)?;
        self.current_len = 0;
        self.sealed.push(std::mem::replace(&mut self.active, next));
        sync_dir(&self.dir)
    }

    /// Reads every record currently in the log, oldest first (for exports). Safe beside a
    /// running server: rewrites replace files atomically, and a segment that retention
    /// deletes between listing and reading is skipped (its events are expired anyway).
    pub fn read_all(dir: &Path) -> Result<Vec<FeedbackRecord>, FeedbackError> {
        let segments = list_segments(dir)?;
        let mut records = Vec::new();
        for (i, (_, path)) in segments.iter().enumerate() {
            let bytes = match std::fs::read(path) {
                Ok(bytes) => bytes,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(FeedbackError::Io {
                        path: path.clone(),
                        source,
                    });
                }
            };
            scan_segment(path, &bytes, i + 1 == segments.len(), |r| records.push(r))?;
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::tests::sample;
    use super::*;

    fn open(dir: &Path, segment_bytes: u64) -> (SegmentLog, ReplayReport, Vec<FeedbackRecord>) {
        let mut seen = Vec::new();
        let (log, report) = SegmentLog::open(
            dir,
            segment_bytes,
            FsyncPolicy::EveryBatch,
            Duration::ZERO,
            |r| seen.push(r),
        )
        .unwrap();
        (log, report, seen)
    }

    #[test]
    fn appended_records_replay_in_order_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _, _) = open(dir.path(), 200);
        let batches: Vec<Vec<FeedbackRecord>> = (0..10)
            .map(|b| {
                (0..3)
                    .map(|i| sample(b, &format!("item-{b}-{i}")))
                    .collect()
            })
            .collect();
        for batch in &batches {
            log.append(batch).unwrap();
        }
        drop(log);
        let (_, report, seen) = open(dir.path(), 200);
        assert_eq!(seen, batches.concat());
        assert!(report.segments > 1, "expected rolling, got {report:?}");
        assert_eq!(report.truncated_tail, None);
    }

    #[test]
    fn torn_tail_is_truncated_and_reported_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _, _) = open(dir.path(), 1 << 20);
        log.append(&[sample(1, "a"), sample(1, "b")]).unwrap();
        drop(log);
        let path = segment_path(dir.path(), 1);
        let good_len = std::fs::metadata(&path).unwrap().len();
        // A crash in the middle of the next append: half a frame on disk.
        let mut half = Vec::new();
        sample(1, "c").encode_frame(&mut half);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&half[..half.len() / 2]).unwrap();
        drop(file);

        let (mut log, report, seen) = open(dir.path(), 1 << 20);
        assert_eq!(seen.len(), 2);
        let (torn_path, offset, cut) = report.truncated_tail.unwrap();
        assert_eq!(
            (torn_path, offset, cut),
            (path.clone(), good_len, half.len() / 2)
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len);
        log.append(&[sample(1, "d")]).unwrap();
        drop(log);
        let items: Vec<String> = SegmentLog::read_all(dir.path())
            .unwrap()
            .into_iter()
            .map(|r| r.item_id)
            .collect();
        assert_eq!(items, ["a", "b", "d"]);
    }

    #[test]
    fn damage_before_the_tail_is_an_error_naming_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _, _) = open(dir.path(), 1 << 20);
        log.append(&[sample(1, "a"), sample(1, "b")]).unwrap();
        drop(log);
        let path = segment_path(dir.path(), 1);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[12] ^= 0xff; // inside the first record's payload
        std::fs::write(&path, &bytes).unwrap();
        let err = SegmentLog::open(
            dir.path(),
            1 << 20,
            FsyncPolicy::EveryBatch,
            Duration::ZERO,
            |_| {},
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("offset 0"), "{message}");
        // Nothing was truncated: the damaged file is kept for an operator to inspect.
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}
