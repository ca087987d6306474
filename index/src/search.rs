//! Search in place on the mapped layout: greedy descent through the upper levels, then a beam
//! search of width `ef` on level 0 (Malkov & Yashunin's algorithm 2), or an exact scan when
//! the filter keeps few items (see [`crate::filter`]).
//!
//! Per-query state (visited marks, the two heaps, the normalised query) lives in one
//! thread-local scratch that is reused: the visited set is a `u32` epoch per slot, so starting
//! a query is one increment instead of clearing or allocating n bits. Rejected: a `HashSet`
//! (hnsw_rs's choice; hashing costs as much as a 64-d distance).

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::distance::prefetch;
use crate::error::{IndexError, Result};
use crate::filter::{Filter, Strategy};
use crate::format::{GRAPH, Metric};
use crate::mapped::{MappedIndex, View};

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit<'a> {
    /// Position of the item in the index (stable within a version).
    pub slot: u32,
    /// The item's external id.
    pub id: &'a str,
    /// Squared Euclidean distance for L2, `1 - cos` for cosine; lower is closer.
    pub distance: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    distance: f32,
    slot: u32,
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.slot.cmp(&other.slot))
    }
}

#[derive(Debug, Default)]
struct Scratch {
    visited: Vec<u32>,
    epoch: u32,
    candidates: BinaryHeap<Reverse<Candidate>>,
    results: BinaryHeap<Candidate>,
}

impl Scratch {
    fn start(&mut self, n: usize) {
        if self.visited.len() < n {
            self.visited.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.visited.fill(0);
            self.epoch = 1;
        }
        self.candidates.clear();
        self.results.clear();
    }

    /// Whether `slot` was visited in this query (without marking it).
    #[inline]
    fn seen(&self, slot: u32) -> bool {
        self.visited.get(slot as usize) == Some(&self.epoch)
    }

    /// Marks `slot` visited; false if it already was. `slot < n` is checked by the caller.
    #[inline]
    fn first_visit(&mut self, slot: u32) -> bool {
        match self.visited.get_mut(slot as usize) {
            Some(mark) if *mark != self.epoch => {
                *mark = self.epoch;
                true
            }
            _ => false,
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The query as the index stores vectors: normalised for cosine.
pub(crate) fn prepare_query(metric: Metric, query: &[f32]) -> Cow<'_, [f32]> {
    match metric {
        Metric::L2 => Cow::Borrowed(query),
        Metric::Cosine => {
            let mut q = query.to_vec();
            crate::distance::normalize(&mut q);
            Cow::Owned(q)
        }
    }
}

/// Keeps the `k` closest of what it is given.
fn push_bounded(heap: &mut BinaryHeap<Candidate>, c: Candidate, k: usize) {
    if heap.len() < k {
        heap.push(c);
    } else if heap.peek().is_some_and(|worst| c < *worst) {
        heap.pop();
        heap.push(c);
    }
}

impl MappedIndex {
    /// The `k` nearest items that pass `filter`, closest first. `ef` (raised to `k`) trades
    /// speed for recall on the graph path; the strategy is chosen by estimated selectivity.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit<'_>>> {
        self.search_with(query, k, ef, filter, Strategy::Auto)
    }

    /// [`MappedIndex::search`] with the strategy forced (tests, benchmarks).
    pub fn search_with(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: &Filter,
        strategy: Strategy,
    ) -> Result<Vec<Hit<'_>>> {
        if query.len() != self.dim() {
            return Err(IndexError::InvalidArgument(format!(
                "query has {} values, the index has dimension {}",
                query.len(),
                self.dim()
            )));
        }
        if query.iter().any(|x| !x.is_finite()) {
            return Err(IndexError::InvalidArgument(
                "query has a non-finite value".into(),
            ));
        }
        // More than every item cannot be returned; clamping also keeps hostile `k` / `ef`
        // from sizing allocations.
        let (k, ef) = (k.min(self.len()), ef.min(self.len()));
        if k == 0 {
            return Ok(Vec::new());
        }
        let query = prepare_query(self.metric(), query);
        let view = self.view()?;
        let strategy = match strategy {
            Strategy::Auto => filter.plan(&view, ef.max(k), self.m0()),
            forced => forced,
        };
        let found = match strategy {
            Strategy::Exact => self.exact_scan(&view, &query, k, filter)?,
            Strategy::Graph | Strategy::Auto => {
                self.graph_search(&view, &query, k, ef.max(k), filter)?
            }
        };
        found
            .into_iter()
            .map(|c| {
                Ok(Hit {
                    slot: c.slot,
                    id: self.id_of(&view, c.slot)?,
                    distance: c.distance,
                })
            })
            .collect()
    }

    /// Estimated fraction of items `filter` lets through (what [`Strategy::Auto`] uses).
    pub fn estimate_selectivity(&self, filter: &Filter) -> Result<f64> {
        Ok(filter.estimate_selectivity(&self.view()?))
    }

    #[inline]
    fn distance_to(&self, view: &View<'_>, query: &[f32], slot: u32) -> Result<f32> {
        let v = view
            .vector(slot)
            .ok_or_else(|| self.corrupt(GRAPH, format!("neighbour {slot} out of range")))?;
        Ok(self.distance.eval(query, v))
    }

    fn neighbours<'a>(&self, view: &View<'a>, level: usize, slot: u32) -> Result<&'a [u32]> {
        let l = &view.levels[level];
        let pos = if level == 0 {
            slot as usize
        } else {
            l.nodes.binary_search(&slot).map_err(|_| {
                self.corrupt(
                    GRAPH,
                    format!("slot {slot} linked on level {level} but not on it"),
                )
            })?
        };
        match (l.offsets.get(pos), l.offsets.get(pos + 1)) {
            (Some(&a), Some(&b)) if a <= b => l.neighbours.get(a as usize..b as usize),
            _ => None,
        }
        .ok_or_else(|| {
            self.corrupt(
                GRAPH,
                format!("bad offsets for slot {slot} on level {level}"),
            )
        })
    }

    fn graph_search(
        &self,
        view: &View<'_>,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: &Filter,
    ) -> Result<Vec<Candidate>> {
        let mut entry = view.entry_point;
        let mut entry_distance = self.distance_to(view, query, entry)?;
        for level in (1..=view.top).rev() {
            let mut improved = true;
            while improved {
                improved = false;
                for &nb in self.neighbours(view, level, entry)? {
                    let d = self.distance_to(view, query, nb)?;
                    if d < entry_distance {
                        (entry, entry_distance) = (nb, d);
                        improved = true;
                    }
                }
            }
        }
        let unrestricted = filter.is_unrestricted();
        SCRATCH.with_borrow_mut(|s| {
            s.start(self.len());
            s.first_visit(entry);
            let start = Candidate {
                distance: entry_distance,
                slot: entry,
            };
            s.candidates.push(Reverse(start));
            if unrestricted || filter.matches(view, entry) {
                s.results.push(start);
            }
            let mut worst = f32::INFINITY;
            while let Some(Reverse(current)) = s.candidates.pop() {
                if s.results.len() >= ef && current.distance > worst {
                    break;
                }
                let neighbours = self.neighbours(view, 0, current.slot)?;
                for &nb in neighbours {
                    if !s.seen(nb)
                        && let Some(v) = view.vector(nb)
                    {
                        prefetch(v);
                    }
                }
                for &nb in neighbours {
                    if !s.first_visit(nb) {
                        continue;
                    }
                    let d = self.distance_to(view, query, nb)?;
                    if s.results.len() < ef || d < worst {
                        let c = Candidate {
                            distance: d,
                            slot: nb,
                        };
                        s.candidates.push(Reverse(c));
                        if unrestricted || filter.matches(view, nb) {
                            push_bounded(&mut s.results, c, ef);
                            if s.results.len() >= ef {
                                worst = s.results.peek().map_or(f32::INFINITY, |w| w.distance);
                            }
                        }
                    }
                }
            }
            let mut found: Vec<Candidate> = s.results.drain().collect();
            found.sort_unstable();
            found.truncate(k);
            Ok(found)
        })
    }

    fn exact_scan(
        &self,
        view: &View<'_>,
        query: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Candidate>> {
        let mut best = BinaryHeap::with_capacity(k + 1);
        let mut consider = |slot: u32| -> Result<()> {
            if filter.matches(view, slot) {
                let distance = self.distance_to(view, query, slot)?;
                push_bounded(&mut best, Candidate { distance, slot }, k);
            }
            Ok(())
        };
        match filter.category_postings(view) {
            Some(lists) => lists
                .into_iter()
                .flatten()
                .try_for_each(|&slot| consider(slot))?,
            None => (0..self.len() as u32).try_for_each(&mut consider)?,
        }
        Ok(best.into_sorted_vec())
    }
}
