//! The generic format: `items.csv` (`item_id,title,categories,brand,price`) and
//! `interactions.csv` (`user_id,item_id,timestamp,event,value`), read and written.
//!
//! Columns are found by header name, so their order is free. `item_id` (and for interactions
//! `user_id`, `timestamp`, `event`) must be present; the other columns may be missing or
//! empty. Unknown columns are ignored with a warning rather than rejected, so an export with
//! extra fields still loads.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};

use super::table::{Dialect, Loaded, ReadOptions, Row, Table};
use super::{DataError, Interaction, Item};

/// Separates category names inside the `categories` cell.
pub const CATEGORY_SEPARATOR: char = '|';

const ITEM_COLUMNS: [&str; 5] = ["item_id", "title", "categories", "brand", "price"];
const INTERACTION_COLUMNS: [&str; 5] = ["user_id", "item_id", "timestamp", "event", "value"];

/// Reads `items.csv`.
pub fn read_items(path: &Path, options: ReadOptions) -> Result<Loaded<Item>, DataError> {
    items_from_table(Table::open(path, Dialect::CSV)?, options)
}

/// Reads items in the generic format from `reader`; `name` labels errors.
pub fn read_items_from(
    name: &Path,
    reader: impl Read + 'static,
    options: ReadOptions,
) -> Result<Loaded<Item>, DataError> {
    items_from_table(
        Table::from_reader(name, Box::new(reader), Dialect::CSV)?,
        options,
    )
}

/// Reads `interactions.csv`.
pub fn read_interactions(
    path: &Path,
    options: ReadOptions,
) -> Result<Loaded<Interaction>, DataError> {
    interactions_from_table(Table::open(path, Dialect::CSV)?, options)
}

/// Reads interactions in the generic format from `reader`; `name` labels errors.
pub fn read_interactions_from(
    name: &Path,
    reader: impl Read + 'static,
    options: ReadOptions,
) -> Result<Loaded<Interaction>, DataError> {
    interactions_from_table(
        Table::from_reader(name, Box::new(reader), Dialect::CSV)?,
        options,
    )
}

fn warn_unknown(table: &Table, known: &[&str]) -> Vec<String> {
    let unknown = table.unknown_columns(known);
    if !unknown.is_empty() {
        tracing::warn!(
            path = %table.path().display(),
            columns = %unknown.join(","),
            "ignoring unknown columns"
        );
    }
    unknown
}

/// Splits a `categories` cell; empty names (from `a||b` or a trailing `|`) are dropped.
pub fn split_categories(cell: &str) -> Vec<String> {
    cell.split(CATEGORY_SEPARATOR)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

fn items_from_table(mut table: Table, options: ReadOptions) -> Result<Loaded<Item>, DataError> {
    let id = table.column("item_id")?;
    let title = table.optional_column("title");
    let categories = table.optional_column("categories");
    let brand = table.optional_column("brand");
    let price = table.optional_column("price");
    let ignored = warn_unknown(&table, &ITEM_COLUMNS);
    let path = table.path().to_path_buf();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut loaded = table.collect(options, |row: &Row<'_>| {
        let item_id = row.required(&id)?.to_string();
        let price_value = row.parse_optional::<f32>(price.as_ref(), "a number")?;
        if let (Some(p), Some(col)) = (price_value, price.as_ref())
            && !(p.is_finite() && p >= 0.0)
        {
            return Err(row.error(
                col,
                format!("price {p} is not a finite, non-negative number"),
            ));
        }
        if let Some(&first) = first_line.get(&item_id) {
            return Err(DataError::DuplicateItem {
                path: path.clone(),
                line: row.line(),
                id: item_id,
                first_line: first,
            });
        }
        first_line.insert(item_id.clone(), row.line());
        let brand = row.optional_cell(brand.as_ref())?;
        Ok(Item {
            id: item_id,
            title: row.optional_cell(title.as_ref())?.to_string(),
            categories: split_categories(row.optional_cell(categories.as_ref())?),
            brand: (!brand.is_empty()).then(|| brand.to_string()),
            price: price_value,
        })
    })?;
    loaded.ignored_columns = ignored;
    Ok(loaded)
}

fn interactions_from_table(
    mut table: Table,
    options: ReadOptions,
) -> Result<Loaded<Interaction>, DataError> {
    let user = table.column("user_id")?;
    let item = table.column("item_id")?;
    let timestamp = table.column("timestamp")?;
    let event = table.column("event")?;
    let value = table.optional_column("value");
    let ignored = warn_unknown(&table, &INTERACTION_COLUMNS);
    let mut loaded = table.collect(options, |row: &Row<'_>| {
        // Cells in file order, so a short row reports its first missing column.
        let user_id = row.required(&user)?.to_string();
        let item_id = row.required(&item)?.to_string();
        let timestamp = row.parse(&timestamp, "an integer Unix time in seconds")?;
        let kind = row.required(&event)?;
        let event = kind.parse().map_err(|m: String| row.error(&event, m))?;
        let value_parsed = row.parse_optional::<f32>(value.as_ref(), "a number")?;
        if let (Some(v), Some(col)) = (value_parsed, value.as_ref())
            && !v.is_finite()
        {
            return Err(row.error(col, format!("value {v} is not finite")));
        }
        Ok(Interaction {
            user_id,
            item_id,
            timestamp,
            event,
            value: value_parsed,
        })
    })?;
    loaded.ignored_columns = ignored;
    Ok(loaded)
}

/// Writes a generic-format file: to `<path>.tmp`, renamed over `path` by [`finish`], so a
/// crash never leaves a half-written file under the real name.
///
/// [`finish`]: CsvSink::finish
#[derive(Debug)]
pub struct CsvSink {
    path: PathBuf,
    tmp: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
    rows: u64,
}

impl CsvSink {
    fn create(path: &Path, header: &[&str]) -> Result<Self, DataError> {
        // The rename would replace whatever is there: refuse devices, pipes and folders
        // (`--out /dev/stdout` run as root would otherwise turn /dev/stdout into a file).
        if let Ok(meta) = std::fs::metadata(path)
            && !meta.is_file()
        {
            return Err(DataError::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "exists and is not a regular file; give a file path",
                ),
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = File::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
        let mut sink = Self {
            path: path.to_path_buf(),
            tmp,
            writer: csv::Writer::from_writer(BufWriter::new(file)),
            rows: 0,
        };
        sink.record(header)?;
        sink.rows = 0;
        Ok(sink)
    }

    /// An `items.csv` writer.
    pub fn items(path: &Path) -> Result<Self, DataError> {
        Self::create(path, &ITEM_COLUMNS)
    }

    /// An `interactions.csv` writer.
    pub fn interactions(path: &Path) -> Result<Self, DataError> {
        Self::create(path, &INTERACTION_COLUMNS)
    }

    fn record(&mut self, cells: &[&str]) -> Result<(), DataError> {
        self.rows += 1;
        self.writer
            .write_record(cells)
            .map_err(|e| DataError::io(&self.tmp, e.into()))
    }

    pub fn write_item(&mut self, item: &Item) -> Result<(), DataError> {
        if let Some(bad) = item
            .categories
            .iter()
            .find(|c| c.contains(CATEGORY_SEPARATOR))
        {
            return Err(DataError::Unwritable {
                path: self.path.clone(),
                what: format!("item `{}`", item.id),
                message: format!("category `{bad}` contains the separator `|`"),
            });
        }
        let price = item.price.map(|p| p.to_string()).unwrap_or_default();
        self.record(&[
            &item.id,
            &item.title,
            &item.categories.join("|"),
            item.brand.as_deref().unwrap_or(""),
            &price,
        ])
    }

    pub fn write_interaction(&mut self, event: &Interaction) -> Result<(), DataError> {
        let value = event.value.map(|v| v.to_string()).unwrap_or_default();
        self.record(&[
            &event.user_id,
            &event.item_id,
            &event.timestamp.to_string(),
            event.event.as_str(),
            &value,
        ])
    }

    /// Flushes and moves the file into place; returns the number of data rows written.
    pub fn finish(self) -> Result<u64, DataError> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| DataError::io(&self.tmp, e.into_error()))?
            .into_inner()
            .map_err(|e| DataError::io(&self.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| DataError::io(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| DataError::io(&self.path, e))?;
        Ok(self.rows)
    }
}

/// Writes `items.csv` at `path`.
pub fn write_items<'a>(
    path: &Path,
    items: impl IntoIterator<Item = &'a Item>,
) -> Result<u64, DataError> {
    let mut sink = CsvSink::items(path)?;
    for item in items {
        sink.write_item(item)?;
    }
    sink.finish()
}

/// Writes `interactions.csv` at `path`.
pub fn write_interactions<'a>(
    path: &Path,
    events: impl IntoIterator<Item = &'a Interaction>,
) -> Result<u64, DataError> {
    let mut sink = CsvSink::interactions(path)?;
    for event in events {
        sink.write_interaction(event)?;
    }
    sink.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::data::EventKind;

    fn items(text: impl Into<Vec<u8>>, skip: bool) -> Result<Loaded<Item>, DataError> {
        read_items_from(
            Path::new("items.csv"),
            Cursor::new(text.into()),
            ReadOptions {
                skip_bad_rows: skip,
            },
        )
    }

    fn interactions(
        text: impl Into<Vec<u8>>,
        skip: bool,
    ) -> Result<Loaded<Interaction>, DataError> {
        read_interactions_from(
            Path::new("interactions.csv"),
            Cursor::new(text.into()),
            ReadOptions {
                skip_bad_rows: skip,
            },
        )
    }

    #[test]
    fn writing_over_something_that_is_not_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = CsvSink::interactions(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(dir.path().is_dir(), "the folder is still there");
    }

    #[test]
    fn items_parse_with_empty_cells_and_any_column_order() {
        let loaded = items(
            "title,item_id,price,categories,brand\n\
             Red shoe,a1,19.5,Shoes|Running,Acme\n\
             ,a2,,,\n",
            false,
        )
        .unwrap();
        assert_eq!(loaded.records.len(), 2);
        assert_eq!(loaded.records[0].categories, vec!["Shoes", "Running"]);
        assert_eq!(loaded.records[0].brand.as_deref(), Some("Acme"));
        assert_eq!(loaded.records[0].price, Some(19.5));
        assert_eq!(
            loaded.records[1],
            Item {
                id: "a2".into(),
                title: String::new(),
                categories: vec![],
                brand: None,
                price: None
            }
        );
    }

    #[test]
    fn extra_item_columns_are_ignored_and_reported() {
        let loaded = items("item_id,title,colour\nx,Hat,red\n", false).unwrap();
        assert_eq!(loaded.ignored_columns, vec!["colour"]);
        assert_eq!(loaded.records[0].title, "Hat");
    }

    #[test]
    fn bad_price_names_file_line_and_column() {
        let err = items("item_id,title,price\na,A,1\nb,B,cheap\n", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "items.csv:3: column `price`: `cheap` is not a number"
        );
        let err = items("item_id,price\na,-2\n", false).unwrap_err();
        assert!(matches!(err, DataError::BadCell { line: 2, ref column, .. } if column == "price"));
    }

    #[test]
    fn missing_id_column_and_duplicate_ids_are_errors() {
        let err = items("title,price\nA,1\n", false).unwrap_err();
        assert!(matches!(err, DataError::MissingColumn { ref column, .. } if column == "item_id"));
        let err = items("item_id\na\nb\na\n", false).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::DuplicateItem {
                    line: 4,
                    first_line: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn bad_interaction_cells_name_their_column() {
        let header = "user_id,item_id,timestamp,event,value\n";
        let cases: [(&str, &str, u64); 5] = [
            ("u,i,10,like,\n", "event", 2),
            ("u,i,yesterday,view,\n", "timestamp", 2),
            ("u,i,10,view,\n,i,11,view,\n", "user_id", 3),
            ("u,i,10,rating,NaN\n", "value", 2),
            ("u,i\n", "timestamp", 2),
        ];
        for (rows, column, line) in cases {
            match interactions(format!("{header}{rows}"), false) {
                Err(DataError::BadCell {
                    column: c, line: l, ..
                }) => assert_eq!((c.as_str(), l), (column, line), "{rows}"),
                other => panic!("{rows}: expected a bad cell, got {other:?}"),
            }
        }
    }

    #[test]
    fn skip_bad_rows_counts_and_keeps_the_good_ones() {
        let loaded = interactions(
            "user_id,item_id,timestamp,event,value\n\
             u1,i1,100,view,\n\
             u1,i2,oops,view,\n\
             u2,i1,101,RATING,4.5\n\
             u2,i3,102,teleport,\n",
            true,
        )
        .unwrap();
        assert_eq!(loaded.skipped, 2);
        assert_eq!(loaded.records.len(), 2);
        assert_eq!(loaded.records[1].event, EventKind::Rating);
        assert_eq!(loaded.records[1].value, Some(4.5));
        assert!(
            loaded
                .first_skipped
                .unwrap()
                .contains(":3: column `timestamp`")
        );
    }

    #[test]
    fn invalid_utf8_is_a_csv_error_with_its_line_and_skippable() {
        let text = b"item_id,title\na,A\nb,\xff\xfe\nc,C\n".to_vec();
        let err = items(text.clone(), false).unwrap_err();
        assert!(matches!(err, DataError::Csv { line: 3, .. }), "{err}");
        let loaded = items(text, true).unwrap();
        assert_eq!(loaded.skipped, 1);
        assert_eq!(loaded.records.len(), 2);
    }

    #[test]
    fn write_then_read_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let items_in = vec![
            Item {
                id: "1".into(),
                title: "Toy Story, \"the\" film".into(),
                categories: vec!["Animation".into(), "Comedy".into()],
                brand: Some("Pixar".into()),
                price: Some(9.99),
            },
            Item {
                id: "2".into(),
                title: "Heat".into(),
                categories: vec![],
                brand: None,
                price: None,
            },
        ];
        let events_in = vec![Interaction {
            user_id: "u".into(),
            item_id: "1".into(),
            timestamp: 881_250_949,
            event: EventKind::Rating,
            value: Some(3.5),
        }];
        let ip = dir.path().join("items.csv");
        let ep = dir.path().join("interactions.csv");
        assert_eq!(write_items(&ip, &items_in).unwrap(), 2);
        assert_eq!(write_interactions(&ep, &events_in).unwrap(), 1);
        assert_eq!(
            read_items(&ip, ReadOptions::default()).unwrap().records,
            items_in
        );
        assert_eq!(
            read_interactions(&ep, ReadOptions::default())
                .unwrap()
                .records,
            events_in
        );
    }

    #[test]
    fn writer_refuses_a_category_with_the_separator() {
        let dir = tempfile::tempdir().unwrap();
        let item = Item {
            id: "1".into(),
            title: "t".into(),
            categories: vec!["a|b".into()],
            brand: None,
            price: None,
        };
        let err = write_items(&dir.path().join("items.csv"), [&item]).unwrap_err();
        assert!(matches!(err, DataError::Unwritable { .. }));
    }
}
