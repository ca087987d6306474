//! The evaluation report: one JSON document, the same as a markdown table, and a PNG plot
//! (see `plot.rs`), all written into the report directory.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::EvalError;
use super::itemknn::TuningPoint;
use super::recommender::MethodResult;

/// The split, stated so a reader can reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitInfo {
    /// `T`: training is strictly before it, test at or after.
    pub time: i64,
    pub time_utc: String,
    /// Share of interactions (the latest) at or after `T`.
    pub test_fraction: f64,
    /// Share of a user's own events used as history when first seen at or after the cut.
    #[serde(default)]
    pub new_user_history: f64,
    /// `T_v`, the validation cut inside the training period (ItemKNN tuning).
    pub validation_time: i64,
    pub validation_time_utc: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub items: usize,
    pub users: usize,
    pub interactions: usize,
    /// Interactions naming items missing from the catalogue (dropped).
    pub unknown_item_interactions: usize,
    /// Bad rows skipped by `--skip-bad-rows`.
    pub skipped_rows: usize,
    pub train_interactions: usize,
    pub test_interactions: usize,
    /// Users evaluated: a history and at least one new item after it.
    pub test_users: usize,
    pub test_targets: usize,
    /// Of `test_users`, those first seen at or after `T` (history: their own first events).
    #[serde(default)]
    pub new_test_users: usize,
    /// Users active after `T` with no history to evaluate from (not evaluated).
    pub cold_test_users: usize,
    /// Users active after `T` who only revisited training items (not evaluated).
    pub users_without_new_items: usize,
    pub validation_users: usize,
}

/// ItemKNN's tuning curve on the validation split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnTuning {
    pub chosen_k: usize,
    pub curve: Vec<TuningPoint>,
}

/// Ranker quality on held-out (user, item) pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerQuality {
    pub auc: f64,
    /// AUC of the two-tower retrieval score alone on the same pairs: what the ranker must beat.
    pub retrieval_auc: f64,
    pub logloss: f64,
    pub pairs: usize,
    pub positives: usize,
    /// How the pairs were drawn.
    pub pairs_from: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub dataset: String,
    pub split: SplitInfo,
    pub counts: Counts,
    /// Every seed used (model training, sampling).
    pub seed: u64,
    /// Evaluated list length and ranking space.
    pub protocol: String,
    pub itemknn: KnnTuning,
    pub methods: Vec<MethodResult>,
    pub ranker: Option<RankerQuality>,
    pub notes: Vec<String>,
}

pub const JSON_FILE: &str = "report.json";
pub const MARKDOWN_FILE: &str = "report.md";
pub const PLOT_FILE: &str = "report.png";

impl EvalReport {
    /// The results table in markdown.
    pub fn table(&self) -> String {
        let mut out = String::from("| method |");
        let names = self.methods.first().map(|m| m.metrics.named());
        for (name, _) in names.iter().flatten() {
            let _ = write!(out, " {name} |");
        }
        out.push_str(" users | seconds |\n|---|");
        for _ in names.iter().flatten() {
            out.push_str("---:|");
        }
        out.push_str("---:|---:|\n");
        for m in &self.methods {
            let _ = write!(out, "| {} |", m.name);
            for (_, v) in m.metrics.named() {
                let _ = write!(out, " {v:.4} |");
            }
            let _ = writeln!(out, " {} | {:.1} |", m.users, m.seconds);
        }
        out
    }

    pub fn markdown(&self) -> String {
        let c = &self.counts;
        let s = &self.split;
        let mut out = format!("# rankd eval: {}\n\n", self.dataset);
        let _ = writeln!(
            out,
            "Split on a global timeline at T = {} ({}): train before, test at or after \
             (latest {:.0}% of interactions). Validation cut for ItemKNN tuning at {} ({}). \
             Seed {}.\n",
            s.time,
            s.time_utc,
            s.test_fraction * 100.0,
            s.validation_time,
            s.validation_time_utc,
            self.seed
        );
        if s.new_user_history > 0.0 {
            let _ = writeln!(
                out,
                "Users first seen at or after T are evaluated as serving meets them: the models \
                 and baselines stay fitted on events before T only, the first {:.0}% of the \
                 user's own events (by time) are their history, the rest their targets.\n",
                s.new_user_history * 100.0
            );
        }
        let _ = writeln!(
            out,
            "Counts: {} items, {} users, {} interactions ({} with unknown items dropped, {} bad \
             rows skipped); train {}, test {}; {} test users ({} of them first seen after T) \
             with {} target items ({} cold users and {} users with only repeat items not \
             evaluated); {} validation users.\n",
            c.items,
            c.users,
            c.interactions,
            c.unknown_item_interactions,
            c.skipped_rows,
            c.train_interactions,
            c.test_interactions,
            c.test_users,
            c.new_test_users,
            c.test_targets,
            c.cold_test_users,
            c.users_without_new_items,
            c.validation_users
        );
        let _ = writeln!(out, "Protocol: {}\n", self.protocol);
        out.push_str(&self.table());
        let _ = write!(
            out,
            "\nItemKNN neighbourhood size chosen on validation: k = {} (NDCG@10:",
            self.itemknn.chosen_k
        );
        for p in &self.itemknn.curve {
            let _ = write!(out, " k={} {:.4};", p.k, p.metrics.ndcg_10);
        }
        out.push_str(")\n");
        if let Some(r) = &self.ranker {
            let _ = writeln!(
                out,
                "\nRanker on held-out pairs: AUC {:.4} (the retrieval score alone: {:.4}), logloss \
                 {:.4} ({} pairs, {} positive; {}).",
                r.auc, r.retrieval_auc, r.logloss, r.pairs, r.positives, r.pairs_from
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "\n- {note}");
        }
        out
    }

    /// Writes `report.json`, `report.md` and `report.png` into `dir` (created).
    pub fn write(&self, dir: &Path) -> Result<(), EvalError> {
        std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
        let json =
            serde_json::to_string_pretty(self).map_err(|e| EvalError::Report(e.to_string()))?;
        let path = dir.join(JSON_FILE);
        std::fs::write(&path, json + "\n").map_err(|e| EvalError::io(&path, e))?;
        let path = dir.join(MARKDOWN_FILE);
        std::fs::write(&path, self.markdown()).map_err(|e| EvalError::io(&path, e))?;
        super::plot::draw(self, &dir.join(PLOT_FILE))
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for Unix seconds, by the civil-from-days algorithm (H. Hinnant),
/// so the report needs no date-time dependency.
pub fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(881_250_949), "1997-12-04 15:55:49 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
    }
}
