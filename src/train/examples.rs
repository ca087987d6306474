//! Training examples: each user's interactions in time order, as vocabulary rows, and the
//! (user, position) pairs that say "given the items before this one, predict this one".

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::Interaction;
use crate::model::ItemVocab;

/// Every user's item rows in time order (ties keep input order); unknown items are dropped.
#[derive(Debug, Clone, Default)]
pub struct Sequences {
    /// Per user: `(item row, timestamp)`, oldest first.
    pub users: Vec<Vec<(u32, i64)>>,
}

/// One next-item example: the target is `users[user][pos]`, the history what came before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    pub user: u32,
    pub pos: u32,
}

impl Sequences {
    /// Groups interactions by user (users in order of first appearance, so runs are equal).
    pub fn new(vocab: &ItemVocab, interactions: &[Interaction]) -> Self {
        let mut index = std::collections::HashMap::new();
        let mut users: Vec<Vec<(u32, i64)>> = Vec::new();
        for event in interactions {
            let row = vocab.item_row(&event.item_id);
            if row == 0 {
                continue;
            }
            let user = *index.entry(event.user_id.as_str()).or_insert_with(|| {
                users.push(Vec::new());
                users.len() - 1
            });
            users[user].push((row, event.timestamp));
        }
        for seq in &mut users {
            seq.sort_by_key(|&(_, ts)| ts);
        }
        Self { users }
    }

    /// Examples whose target time lies in `[from, to)`.
    pub fn examples(&self, from: i64, to: i64) -> Vec<Example> {
        let mut out = Vec::new();
        for (user, seq) in self.users.iter().enumerate() {
            for (pos, &(_, ts)) in seq.iter().enumerate() {
                if ts >= from && ts < to {
                    out.push(Example {
                        user: user as u32,
                        pos: pos as u32,
                    });
                }
            }
        }
        out
    }

    /// `(user, item row)` of every interaction strictly before `before`: what the
    /// co-visitation table may be fitted on.
    pub fn pairs_before(&self, before: i64) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for (user, seq) in self.users.iter().enumerate() {
            out.extend(
                seq.iter()
                    .filter(|&&(_, ts)| ts < before)
                    .map(|&(row, _)| (user as u32, row)),
            );
        }
        out
    }

    /// The target row of an example.
    pub fn target(&self, example: Example) -> u32 {
        self.users[example.user as usize][example.pos as usize].0
    }

    /// Up to `len` history rows before the example, most recent first.
    pub fn history(&self, example: Example, len: usize) -> impl Iterator<Item = u32> + '_ {
        let seq = &self.users[example.user as usize][..example.pos as usize];
        seq.iter().rev().take(len).map(|&(row, _)| row)
    }
}

/// The time before which `1 − holdout` of the interactions fall: towers train before it, the
/// ranker after it (so the ranker sees retrieval scores on interactions the towers did not
/// fit, as at serving time).
pub fn holdout_time(interactions: &[Interaction], holdout: f32) -> i64 {
    let mut times: Vec<i64> = interactions.iter().map(|e| e.timestamp).collect();
    if times.is_empty() {
        return 0;
    }
    times.sort_unstable();
    let cut = ((1.0 - holdout.clamp(0.0, 1.0)) * times.len() as f32) as usize;
    times.get(cut).copied().unwrap_or(i64::MAX)
}

/// Shuffles `examples` with the run's RNG (a copy, so the caller's order stays).
pub fn shuffled(examples: &[Example], rng: &mut ChaCha8Rng) -> Vec<Example> {
    let mut out = examples.to_vec();
    out.shuffle(rng);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{EventKind, Item};

    fn event(user: &str, item: &str, timestamp: i64) -> Interaction {
        Interaction {
            user_id: user.into(),
            item_id: item.into(),
            timestamp,
            event: EventKind::Click,
            value: None,
        }
    }

    fn vocab() -> ItemVocab {
        let items: Vec<Item> = ["a", "b", "c"]
            .iter()
            .map(|id| Item {
                id: (*id).into(),
                title: String::new(),
                categories: vec![],
                brand: None,
                price: None,
            })
            .collect();
        ItemVocab::from_items(&items)
    }

    #[test]
    fn sequences_are_time_ordered_and_history_is_strictly_before_the_target() {
        let events = [
            event("u", "b", 20),
            event("u", "a", 10),
            event("v", "c", 5),
            event("u", "zz", 15),
            event("u", "c", 30),
        ];
        let seqs = Sequences::new(&vocab(), &events);
        assert_eq!(seqs.users[0], vec![(1, 10), (2, 20), (3, 30)]);
        let examples = seqs.examples(15, 31);
        assert_eq!(
            examples,
            vec![Example { user: 0, pos: 1 }, Example { user: 0, pos: 2 }]
        );
        assert_eq!(seqs.target(examples[1]), 3);
        assert_eq!(seqs.history(examples[1], 5).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(seqs.history(examples[1], 1).collect::<Vec<_>>(), vec![2]);
        assert_eq!(seqs.pairs_before(20), vec![(0, 1), (1, 3)]);
        assert_eq!(seqs.pairs_before(i64::MIN), vec![]);
    }

    #[test]
    fn holdout_time_splits_at_the_quantile() {
        let events: Vec<Interaction> = (0..10).map(|t| event("u", "a", t)).collect();
        assert_eq!(holdout_time(&events, 0.2), 8);
        assert_eq!(holdout_time(&events, 0.0), i64::MAX);
        assert_eq!(holdout_time(&[], 0.2), 0);
    }
}
