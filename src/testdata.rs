//! Where real data sets live, and how tests that need one behave when it is absent.
//!
//! Data sets and weights are never committed: `rankd data fetch` (or `.ci/run`) puts them in
//! the cache dir. A test that needs one calls [`require`]: on a developer's fresh clone it skips
//! with a message, while CI sets `RANKD_REQUIRE_DATA=1`, installs the data and so turns a
//! missing file into a failure instead of a silent pass.

use std::path::{Path, PathBuf};

/// The data cache: `$RANKD_CACHE_DIR`, else `~/.cache/rankd`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RANKD_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("rankd")
}

/// Returns `path` when it exists. When it does not: panics (a test failure) if
/// `RANKD_REQUIRE_DATA=1`, otherwise prints why the caller skips and returns `None`.
pub fn require(path: impl AsRef<Path>, how_to_get: &str) -> Option<PathBuf> {
    let path = path.as_ref();
    if path.exists() {
        return Some(path.to_path_buf());
    }
    let message = format!("{} is missing ({how_to_get})", path.display());
    assert!(
        std::env::var("RANKD_REQUIRE_DATA").as_deref() != Ok("1"),
        "RANKD_REQUIRE_DATA=1 but {message}"
    );
    eprintln!("skipping: {message}, see README");
    None
}
