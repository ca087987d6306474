//! The global-timeline split: everything before time `T` is training, a user's test targets
//! are the distinct items they touched at or after `T` that are not already in their training
//! history (those are excluded from ranking, so they could never be hit).
//!
//! A global `T` rather than a per-user random or leave-last-out split, because only a global
//! cut keeps every training event in the past of every test event (no future leaks in through
//! other users' behaviour, e.g. an item's popularity).
//!
//! Users first seen at or after `T` can be evaluated as serving meets them: the model is frozen
//! at `T`, their first events reach it as feedback history, and the rest are targets. Each such
//! user gets a personal cut `c_u ≥ T`; their history is their own events before `c_u`, so no
//! event at or after `T` reaches training or anyone else's input, and no target precedes any
//! history event. Without it, data sets whose users rate in one session (ml-latest-small:
//! 411 of 671 users within a day) leave about 20 warm users after any global cut.

use std::collections::HashMap;

use crate::data::{Interaction, Item};

use super::EvalError;

/// Row of an item in the catalogue (its position in `items.csv`).
pub type ItemIdx = u32;

/// The catalogue with id → row lookup.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub items: Vec<Item>,
    index: HashMap<String, ItemIdx>,
}

impl Catalog {
    /// Later duplicates of an id keep the first row (the readers already refuse duplicates).
    pub fn new(items: Vec<Item>) -> Self {
        let mut index = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            index.entry(item.id.clone()).or_insert(i as ItemIdx);
        }
        Self { items, index }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn idx(&self, id: &str) -> Option<ItemIdx> {
        self.index.get(id).copied()
    }
}

/// One interaction with the user and item interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub user: u32,
    pub item: ItemIdx,
    pub timestamp: i64,
}

/// Interactions resolved against a catalogue.
#[derive(Debug, Clone)]
pub struct EventLog {
    pub events: Vec<Event>,
    pub user_ids: Vec<String>,
    /// Interactions naming an item that is not in the catalogue (dropped).
    pub unknown_items: usize,
}

impl EventLog {
    /// Interns users in order of first appearance; events are sorted by time (stable, so
    /// ties keep file order).
    pub fn new(catalog: &Catalog, interactions: &[Interaction]) -> Self {
        let mut users: HashMap<&str, u32> = HashMap::new();
        let mut user_ids = Vec::new();
        let mut events = Vec::with_capacity(interactions.len());
        let mut unknown_items = 0;
        for event in interactions {
            let Some(item) = catalog.idx(&event.item_id) else {
                unknown_items += 1;
                continue;
            };
            let next = user_ids.len() as u32;
            let user = *users.entry(event.user_id.as_str()).or_insert_with(|| {
                user_ids.push(event.user_id.clone());
                next
            });
            events.push(Event {
                user,
                item,
                timestamp: event.timestamp,
            });
        }
        events.sort_by_key(|e| e.timestamp);
        Self {
            events,
            user_ids,
            unknown_items,
        }
    }
}

/// A training-history entry of a test user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryEvent {
    pub item: ItemIdx,
    pub timestamp: i64,
}

/// A user evaluated after the split.
#[derive(Debug, Clone, PartialEq)]
pub struct TestUser {
    pub user: u32,
    /// Their events before their cut (`T`, or later for a user first seen after `T`), oldest
    /// first (repeats kept: recency pooling may use them).
    pub history: Vec<HistoryEvent>,
    /// Distinct items of `history`, sorted: excluded from their ranking.
    pub exclude: Vec<ItemIdx>,
    /// Distinct items touched at or after `T` and not in `exclude`, sorted.
    pub targets: Vec<ItemIdx>,
}

/// The events before `T` and the users to evaluate after it.
#[derive(Debug, Clone)]
pub struct Split {
    pub time: i64,
    pub train: Vec<Event>,
    pub test_users: Vec<TestUser>,
    /// Events at or after `T`.
    pub test_events: usize,
    /// Users with test events but no training history (nothing to personalise from) that were
    /// not evaluated from their own early test events either.
    pub cold_users: usize,
    /// Test users first seen at or after `T`, whose history is their own first test events.
    pub new_users: usize,
    /// Users whose test items were all already in their history.
    pub no_new_items: usize,
}

/// The time `T` that leaves the last `test_fraction` of `events` (time-sorted) at or after
/// it: the timestamp of event `⌊n·(1 − f)⌋`. Ties at `T` all go to the test side.
pub fn quantile_time(events: &[Event], test_fraction: f64) -> Result<i64, EvalError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(EvalError::Split(format!(
            "test fraction {test_fraction} must be strictly between 0 and 1"
        )));
    }
    if events.len() < 2 {
        return Err(EvalError::Split(format!(
            "{} interactions with catalogue items; need at least 2 to split",
            events.len()
        )));
    }
    // The epsilon keeps e.g. 10 × (1 − 0.8) = 1.9999999999999996 from flooring to 1.
    let cut = ((events.len() as f64) * (1.0 - test_fraction) + 1e-9).floor() as usize;
    Ok(events[cut.min(events.len() - 1)].timestamp)
}

/// Splits time-sorted `events` at `time`. A user with no events before `time` is evaluated
/// when `new_user_history > 0`: the first `⌊n · new_user_history⌋` (at least 1, at most
/// `n − 1`) of their `n` events set their cut, the timestamp of the next one; events before
/// it are history, the rest targets (ties at the cut go to the targets, as at `T`).
pub fn split_at(events: &[Event], time: i64, new_user_history: f64) -> Split {
    let cut = events.partition_point(|e| e.timestamp < time);
    let (train, test) = events.split_at(cut);
    let mut history: HashMap<u32, Vec<HistoryEvent>> = HashMap::new();
    for e in train {
        history.entry(e.user).or_default().push(HistoryEvent {
            item: e.item,
            timestamp: e.timestamp,
        });
    }
    // Time-sorted per user, since `events` are.
    let mut future: HashMap<u32, Vec<(ItemIdx, i64)>> = HashMap::new();
    for e in test {
        future
            .entry(e.user)
            .or_default()
            .push((e.item, e.timestamp));
    }
    let mut users: Vec<u32> = future.keys().copied().collect();
    users.sort_unstable();
    let (mut cold_users, mut new_users, mut no_new_items) = (0, 0, 0);
    let mut test_users = Vec::new();
    for user in users {
        let mut upcoming = future.remove(&user).unwrap_or_default();
        let past = match history.remove(&user) {
            Some(past) => past,
            None => match new_user_cut(&upcoming, new_user_history) {
                Some(cut) => {
                    new_users += 1;
                    upcoming
                        .drain(..cut)
                        .map(|(item, timestamp)| HistoryEvent { item, timestamp })
                        .collect()
                }
                None => {
                    cold_users += 1;
                    continue;
                }
            },
        };
        let mut exclude: Vec<ItemIdx> = past.iter().map(|h| h.item).collect();
        exclude.sort_unstable();
        exclude.dedup();
        let mut targets: Vec<ItemIdx> = upcoming.into_iter().map(|(item, _)| item).collect();
        targets.sort_unstable();
        targets.dedup();
        targets.retain(|t| exclude.binary_search(t).is_err());
        if targets.is_empty() {
            no_new_items += 1;
            continue;
        }
        test_users.push(TestUser {
            user,
            history: past,
            exclude,
            targets,
        });
    }
    Split {
        time,
        train: train.to_vec(),
        test_users,
        test_events: test.len(),
        cold_users,
        new_users,
        no_new_items,
    }
}

/// How many of a new user's time-sorted `events` become history: the events before the
/// timestamp of event `⌊n · share⌋` (clamped to `1..n`); `None` when that leaves no history or
/// no target.
fn new_user_cut(events: &[(ItemIdx, i64)], share: f64) -> Option<usize> {
    if share <= 0.0 || events.len() < 2 {
        return None;
    }
    let at = ((events.len() as f64 * share) as usize).clamp(1, events.len() - 1);
    let cut_time = events[at].1;
    let cut = events.partition_point(|e| e.1 < cut_time);
    (cut > 0).then_some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(user: u32, item: ItemIdx, timestamp: i64) -> Event {
        Event {
            user,
            item,
            timestamp,
        }
    }

    #[test]
    fn nothing_at_or_after_t_reaches_training_or_history() {
        let events = vec![
            ev(0, 1, 10),
            ev(1, 2, 15),
            ev(0, 2, 20),
            ev(0, 3, 30),
            ev(1, 4, 30),
            ev(2, 5, 40),
            ev(0, 1, 50),
        ];
        let split = split_at(&events, 30, 0.0);
        assert!(split.train.iter().all(|e| e.timestamp < 30));
        assert_eq!(split.train.len(), 3);
        assert_eq!(split.test_events, 4);
        for user in &split.test_users {
            assert!(user.history.iter().all(|h| h.timestamp < 30));
        }
        // User 0: history {1, 2}; after T {3, 1}; 1 is already known so only 3 is a target.
        assert_eq!(split.test_users[0].exclude, vec![1, 2]);
        assert_eq!(split.test_users[0].targets, vec![3]);
        assert_eq!(split.test_users[1].targets, vec![4]);
        // User 2 has no history before T.
        assert_eq!(split.cold_users, 1);
        assert_eq!(split.test_users.len(), 2);
    }

    #[test]
    fn a_new_users_history_is_their_own_early_events_and_precedes_their_targets() {
        // User 0 is warm; user 1 arrives after T with four events (two tied at 60); user 2
        // arrives with one event (nothing to split).
        let events = vec![
            ev(0, 1, 10),
            ev(0, 2, 30),
            ev(1, 3, 40),
            ev(1, 4, 50),
            ev(2, 5, 55),
            ev(1, 5, 60),
            ev(1, 3, 60),
        ];
        let split = split_at(&events, 30, 0.5);
        assert_eq!(split.train.len(), 1, "training stays strictly before T");
        assert_eq!(split.new_users, 1);
        assert_eq!(split.cold_users, 1);
        let new = &split.test_users[1];
        assert_eq!(new.user, 1);
        // ⌊4 · 0.5⌋ = 2: the cut is event 2's time (60), so history is the events at 40, 50.
        assert_eq!(
            new.history,
            vec![
                HistoryEvent {
                    item: 3,
                    timestamp: 40
                },
                HistoryEvent {
                    item: 4,
                    timestamp: 50
                }
            ]
        );
        // Item 3 again at 60 is a repeat, so only 5 is a target.
        assert_eq!(new.targets, vec![5]);
        // With the share off, user 1 is cold as before.
        let off = split_at(&events, 30, 0.0);
        assert_eq!(
            (off.new_users, off.cold_users, off.test_users.len()),
            (0, 2, 1)
        );
        // All of a new user's events tied: no history can precede a target.
        let tied = [ev(0, 1, 10), ev(1, 2, 40), ev(1, 3, 40)];
        assert_eq!(split_at(&tied, 30, 0.5).cold_users, 1);
    }

    #[test]
    fn quantile_time_puts_ties_on_the_test_side() {
        let events: Vec<Event> = [1, 2, 3, 3, 3, 4, 5, 6, 7, 8]
            .iter()
            .map(|&t| ev(0, 0, t))
            .collect();
        let t = quantile_time(&events, 0.8).unwrap();
        assert_eq!(t, 3);
        let split = split_at(&events, t, 0.0);
        assert_eq!(split.train.len(), 2);
        assert!(quantile_time(&events, 1.0).is_err());
        assert!(quantile_time(&events[..1], 0.2).is_err());
    }

    #[test]
    fn event_log_drops_unknown_items_and_sorts_by_time() {
        let item = |id: &str| Item {
            id: id.into(),
            title: String::new(),
            categories: vec![],
            brand: None,
            price: None,
        };
        let catalog = Catalog::new(vec![item("a"), item("b")]);
        let inter = |u: &str, i: &str, t: i64| Interaction {
            user_id: u.into(),
            item_id: i.into(),
            timestamp: t,
            event: crate::data::EventKind::View,
            value: None,
        };
        let log = EventLog::new(
            &catalog,
            &[inter("x", "b", 5), inter("y", "zz", 1), inter("y", "a", 2)],
        );
        assert_eq!(log.unknown_items, 1);
        assert_eq!(log.user_ids, vec!["x", "y"]);
        assert_eq!(log.events, vec![ev(1, 0, 2), ev(0, 1, 5)]);
    }
}
