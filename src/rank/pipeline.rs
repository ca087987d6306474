//! The ranking pipeline over one [`Engine`]:
//!
//! ```text
//!  prepare:  history (request ∪ server) ─► user tower ─► retrieve (HNSW + filter, plus the
//!            popular items it missed; popularity alone for a user with no signal) ─► features
//!  score:    one ranker pass: in process (`rank_blocking`) or through the batcher (server)
//!  finish:   sort by score (ties: retrieval rank) ─► top-k ─► explanations when asked
//! ```
//!
//! Split in two halves around scoring so the server can send the features through the
//! dynamic batcher while `rankd recommend` scores in process, with the same code either side.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rankd_index::{Filter, Metric};

use super::{Engine, ItemFilter, RankError, RankQuery};
use crate::model::{POPULAR_CANDIDATES, RankerRows, UserContext, popular_extras};

/// Beam width of the graph search: at least this, and at least the candidates asked for.
const MIN_EF: usize = 64;

/// Candidates with their ranker input rows, waiting for scores.
#[derive(Debug)]
pub struct Prepared {
    candidates: Vec<Candidate>,
    /// Shared with the batcher's job, so scoring through it copies no rows.
    rows: Arc<RankerRows>,
    timings: Vec<(&'static str, Duration)>,
    unknown_recent_items: usize,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    slot: u32,
    retrieval_score: f32,
    retrieval_rank: u32,
}

/// The answer to one query.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub items: Vec<RankedItem>,
    pub index_version: String,
    pub model_version: String,
    /// Per stage, in pipeline order.
    pub timings: Vec<(&'static str, Duration)>,
    pub unknown_recent_items: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RankedItem {
    pub item_id: String,
    pub title: String,
    pub score: f32,
    pub retrieval_score: f32,
    pub retrieval_rank: u32,
    /// `(feature group, contribution)`; only with `explain`.
    pub contributions: Vec<(String, f32)>,
}

fn timed<T>(
    timings: &mut Vec<(&'static str, Duration)>,
    stage: &'static str,
    f: impl FnOnce() -> Result<T, RankError>,
) -> Result<T, RankError> {
    let started = Instant::now();
    let out = f();
    timings.push((stage, started.elapsed()));
    out
}

impl Engine {
    /// Everything before scoring. `server_history` is what feedback recorded for the user,
    /// newest first; the request's own recent items come first.
    pub fn prepare(
        &self,
        query: &RankQuery,
        server_history: &[String],
    ) -> Result<Prepared, RankError> {
        let mut timings = Vec::with_capacity(6);
        let (history, unknown_recent_items) = self.resolve_history(query, server_history)?;
        let user = timed(&mut timings, "embed_user", || {
            let recent = history
                .iter()
                .map(|&slot| Ok(self.index.vector(slot)?.to_vec()))
                .collect::<Result<Vec<_>, RankError>>()?;
            let context = UserContext {
                recent,
                query: query.query_text.clone(),
            };
            Ok(self.models.embed_users(&[context])?.remove(0))
        })?;
        let candidates = timed(&mut timings, "retrieve", || {
            let Some(filter) =
                self.filter(&query.filter, query.exclude_seen.then_some(&history))?
            else {
                return Ok(Vec::new());
            };
            if history.is_empty() && query.query_text.is_none() {
                self.popular_candidates(&user, &filter, query.num_candidates)
            } else {
                self.mixed_candidates(&user, &filter, query.num_candidates)
            }
        })?;
        let rows = timed(&mut timings, "features", || {
            let inputs = candidates
                .iter()
                .map(|c| Ok((self.index.vector(c.slot)?, c.slot, c.retrieval_score)))
                .collect::<Result<Vec<_>, RankError>>()?;
            Ok(self
                .models
                .ranker_rows(&self.item_table, &user, &history, inputs.into_iter())?)
        })?;
        Ok(Prepared {
            candidates,
            rows: Arc::new(rows),
            timings,
            unknown_recent_items,
        })
    }

    /// Known history slots, newest first and deduplicated, and how many of the request's
    /// recent ids the index does not know.
    ///
    /// The server's feedback history goes first: it holds events recorded as they happened,
    /// typically newer than the caller's own view of the user (which its backend assembled
    /// earlier), and the user tower weighs the first items most.
    fn resolve_history(
        &self,
        query: &RankQuery,
        server_history: &[String],
    ) -> Result<(Vec<u32>, usize), RankError> {
        let mut seen = HashSet::new();
        let mut slots = Vec::new();
        for id in server_history {
            if let Some(slot) = self.index.slot_of(id)?
                && seen.insert(slot)
            {
                slots.push(slot);
            }
        }
        let mut unknown = 0;
        for id in &query.recent_item_ids {
            match self.index.slot_of(id)? {
                Some(slot) if seen.insert(slot) => slots.push(slot),
                Some(_) => {}
                None => unknown += 1,
            }
        }
        Ok((slots, unknown))
    }

    /// The index filter for a request, or `None` when it can match nothing (every requested
    /// category is unknown).
    fn filter(
        &self,
        filter: &ItemFilter,
        seen: Option<&Vec<u32>>,
    ) -> Result<Option<Filter>, RankError> {
        let mut out = Filter::new();
        if !filter.categories.is_empty() {
            let ids: Vec<u32> = filter
                .categories
                .iter()
                .filter_map(|name| self.category_ids.get(name).copied())
                .collect();
            if ids.is_empty() {
                return Ok(None);
            }
            out = out.categories(ids);
        }
        if filter.min_price.is_some() || filter.max_price.is_some() {
            // Items without a price are stored as +inf (`build.rs`); an open upper bound is
            // f32::MAX, not +inf, so they fail every price bound, a lower one included.
            out = out.price_range(
                filter.min_price.unwrap_or(0.0),
                filter.max_price.unwrap_or(f32::MAX),
            );
        }
        let mut excluded = Vec::new();
        for id in &filter.exclude_item_ids {
            excluded.extend(self.index.slot_of(id)?);
        }
        excluded.extend(seen.into_iter().flatten().copied());
        Ok(Some(out.exclude_slots(excluded)))
    }

    fn similarity(&self, distance: f32) -> f32 {
        match self.index.metric() {
            Metric::Cosine => 1.0 - distance,
            Metric::L2 => -distance,
        }
    }

    fn search_candidates(
        &self,
        user: &[f32],
        filter: &Filter,
        n: usize,
    ) -> Result<Vec<Candidate>, RankError> {
        let hits = self.index.search(user, n, n.max(MIN_EF), filter)?;
        Ok(hits
            .iter()
            .enumerate()
            .map(|(rank, hit)| Candidate {
                slot: hit.slot,
                retrieval_score: self.similarity(hit.distance),
                retrieval_rank: rank as u32,
            })
            .collect())
    }

    /// The ANN hits plus popular items retrieval missed, `n` in all at most: a third of the
    /// budget (up to [`POPULAR_CANDIDATES`]) goes to the most popular matching items, the rest
    /// to the graph search. The towers' log-Q correction keeps popularity out of the retrieval
    /// score, and the ranker (which sees popularity) can only promote what it is shown; it was
    /// trained on the same mix, and `rankd eval`'s "retrieval + ranker" measures it (200 + 100).
    fn mixed_candidates(
        &self,
        user: &[f32],
        filter: &Filter,
        n: usize,
    ) -> Result<Vec<Candidate>, RankError> {
        let extras = POPULAR_CANDIDATES.min(n / 3);
        let mut candidates = self.search_candidates(user, filter, n - extras)?;
        let retrieved: Vec<u32> = candidates.iter().map(|c| c.slot).collect();
        let excluded = |slot: u32| {
            self.index
                .item(slot)
                .map_or(true, |item| !filter.accepts(&item))
        };
        for slot in popular_extras(&retrieved, &self.popular, extras, excluded) {
            candidates.push(Candidate {
                slot,
                retrieval_score: dot(user, self.index.vector(slot)?),
                retrieval_rank: candidates.len() as u32,
            });
        }
        Ok(candidates)
    }

    /// Cold start with no signal: the most popular matching items.
    fn popular_candidates(
        &self,
        user: &[f32],
        filter: &Filter,
        n: usize,
    ) -> Result<Vec<Candidate>, RankError> {
        let mut out = Vec::with_capacity(n);
        for &slot in &self.popular {
            if out.len() == n {
                break;
            }
            if filter.accepts(&self.index.item(slot)?) {
                out.push(Candidate {
                    slot,
                    retrieval_score: dot(user, self.index.vector(slot)?),
                    retrieval_rank: out.len() as u32,
                });
            }
        }
        Ok(out)
    }

    /// Top-k by score, ties broken by retrieval rank, with explanations when asked.
    pub fn finish(
        &self,
        query: &RankQuery,
        prepared: Prepared,
        scores: &[f32],
    ) -> Result<Ranked, RankError> {
        let Prepared {
            candidates,
            rows,
            mut timings,
            unknown_recent_items,
        } = prepared;
        let order = timed(&mut timings, "select", || {
            let mut order: Vec<usize> = (0..candidates.len()).collect();
            order.sort_by(|&a, &b| {
                scores[b].total_cmp(&scores[a]).then(
                    candidates[a]
                        .retrieval_rank
                        .cmp(&candidates[b].retrieval_rank),
                )
            });
            order.truncate(query.k);
            Ok(order)
        })?;
        let explanations = if query.explain {
            timed(&mut timings, "explain", || {
                Ok(self.models.explain_rows(&rows.select(&order))?)
            })?
        } else {
            Vec::new()
        };
        let items = order
            .iter()
            .enumerate()
            .map(|(pos, &i)| {
                let c = candidates[i];
                let item = &self.items[c.slot as usize];
                let contributions = explanations
                    .get(pos)
                    .map(|e| {
                        e.contributions
                            .iter()
                            .map(|(group, value)| (group_name(*group), *value))
                            .collect()
                    })
                    .unwrap_or_default();
                RankedItem {
                    item_id: item.id.clone(),
                    title: item.title.clone(),
                    score: scores[i],
                    retrieval_score: c.retrieval_score,
                    retrieval_rank: c.retrieval_rank,
                    contributions,
                }
            })
            .collect();
        Ok(Ranked {
            items,
            index_version: self.version().to_string(),
            model_version: self.model_version().to_string(),
            timings,
            unknown_recent_items,
        })
    }

    /// The whole pipeline in process, scoring in one pass on this thread.
    pub fn rank_blocking(
        &self,
        query: &RankQuery,
        server_history: &[String],
    ) -> Result<Ranked, RankError> {
        let mut prepared = self.prepare(query, server_history)?;
        let started = Instant::now();
        let scores = self.models.score_rows(&prepared.rows)?;
        prepared.timings.push(("score", started.elapsed()));
        self.finish(query, prepared, &scores)
    }
}

fn group_name(group: crate::model::FeatureGroup) -> String {
    serde_json::to_value(group)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{group:?}"))
}

impl Prepared {
    /// The candidates' ranker input rows, in candidate order.
    pub fn rows(&self) -> &Arc<RankerRows> {
        &self.rows
    }

    /// Records the scoring stage's duration (the batcher's wait and pass).
    pub fn record_stage(&mut self, stage: &'static str, elapsed: Duration) {
        self.timings.push((stage, elapsed));
    }
}

/// The retrieval score of an item found outside the graph search (vectors are normalised).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
