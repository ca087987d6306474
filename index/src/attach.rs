//! Attachments: files a version carries besides the index itself (the models that produced
//! its vectors, the item catalogue), copied into the version before it becomes visible so a
//! reader that opens a version finds all of it or none of it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use crate::error::{IndexError, Result};
use crate::manifest::FileEntry;

/// A file or folder to copy into the version folder as `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Relative path inside the version folder, e.g. `models` or `items.csv`.
    pub name: String,
    pub source: PathBuf,
}

/// Copies every attachment under `dir`, fsyncing each file; returns their sizes and CRCs keyed
/// by path relative to `dir` (`/`-separated), for the manifest.
pub fn copy_all(dir: &Path, attachments: &[Attachment]) -> Result<BTreeMap<String, FileEntry>> {
    let mut entries = BTreeMap::new();
    for attachment in attachments {
        let relative = Path::new(&attachment.name);
        let plain = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if attachment.name.is_empty() || !plain {
            return Err(IndexError::InvalidArgument(format!(
                "attachment name {:?} must be a relative path without `..`",
                attachment.name
            )));
        }
        copy_tree(
            &attachment.source,
            &dir.join(relative),
            &attachment.name,
            &mut entries,
        )?;
    }
    Ok(entries)
}

fn copy_tree(
    source: &Path,
    target: &Path,
    name: &str,
    entries: &mut BTreeMap<String, FileEntry>,
) -> Result<()> {
    let meta = std::fs::metadata(source).map_err(|e| IndexError::io(source, e))?;
    if meta.is_dir() {
        std::fs::create_dir_all(target).map_err(|e| IndexError::io(target, e))?;
        let mut children: Vec<PathBuf> = std::fs::read_dir(source)
            .map_err(|e| IndexError::io(source, e))?
            .map(|entry| {
                entry
                    .map(|e| e.path())
                    .map_err(|e| IndexError::io(source, e))
            })
            .collect::<Result<_>>()?;
        children.sort();
        for child in children {
            let file_name = child
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            copy_tree(
                &child,
                &target.join(&file_name),
                &format!("{name}/{file_name}"),
                entries,
            )?;
        }
        return File::open(target)
            .and_then(|d| d.sync_all())
            .map_err(|e| IndexError::io(target, e));
    }
    let entry = copy_file(source, target)?;
    entries.insert(name.to_owned(), entry);
    Ok(())
}

fn copy_file(source: &Path, target: &Path) -> Result<FileEntry> {
    let mut input = File::open(source).map_err(|e| IndexError::io(source, e))?;
    let file = File::create(target).map_err(|e| IndexError::io(target, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut crc = crc32fast::Hasher::new();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|e| IndexError::io(source, e))?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| IndexError::io(target, e))?;
        bytes += n as u64;
    }
    let file = out
        .into_inner()
        .map_err(|e| IndexError::io(target, e.into_error()))?;
    file.sync_all().map_err(|e| IndexError::io(target, e))?;
    Ok(FileEntry {
        bytes,
        crc32: format!("{:08x}", crc.finalize()),
    })
}
