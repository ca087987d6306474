//! From a loaded data set to everything the methods need: the catalogue, the test split at
//! `T`, and the validation split at `T_v` carved from the training period only.

use crate::data::{Dataset, Interaction};

use super::EvalError;
use super::report::{Counts, SplitInfo, utc};
use super::split::{Catalog, EventLog, Split, quantile_time, split_at};

/// The evaluation's data, split.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub catalog: Catalog,
    pub log: EventLog,
    /// Test split of the whole log at `T`.
    pub test: Split,
    /// Validation split of the training events at `T_v` (the same fraction of them): what
    /// tuning sees. Nothing at or after `T` is in it.
    pub validation: Split,
    pub test_fraction: f64,
    /// Share of a new user's events (first seen at or after the cut) used as their history.
    pub new_user_history: f64,
    interactions: Vec<Interaction>,
    skipped_rows: usize,
}

impl Prepared {
    /// Splits `data` at the `1 − test_fraction` quantile of time; `new_user_history` is the
    /// share of a user's own events that serve as history when they are first seen after the
    /// cut (0: such users are cold and not evaluated). Validation uses the same rules.
    pub fn new(
        data: Dataset,
        test_fraction: f64,
        new_user_history: f64,
    ) -> Result<Self, EvalError> {
        if !(0.0..1.0).contains(&new_user_history) {
            return Err(EvalError::Split(format!(
                "new-user history share {new_user_history} must be in [0, 1)"
            )));
        }
        let catalog = Catalog::new(data.items);
        let log = EventLog::new(&catalog, &data.interactions);
        let time = quantile_time(&log.events, test_fraction)?;
        let test = split_at(&log.events, time, new_user_history);
        let validation_time = quantile_time(&test.train, test_fraction)?;
        let validation = split_at(&test.train, validation_time, new_user_history);
        if test.test_users.is_empty() {
            return Err(EvalError::Split(format!(
                "no user has both history before {} and new items after it",
                utc(time)
            )));
        }
        Ok(Self {
            catalog,
            log,
            test,
            validation,
            test_fraction,
            new_user_history,
            interactions: data.interactions,
            skipped_rows: data.skipped,
        })
    }

    /// The raw interactions before `T` with catalogue items: what a model may train on.
    pub fn train_interactions(&self) -> Vec<Interaction> {
        self.interactions
            .iter()
            .filter(|e| e.timestamp < self.test.time && self.catalog.idx(&e.item_id).is_some())
            .cloned()
            .collect()
    }

    pub fn split_info(&self) -> SplitInfo {
        SplitInfo {
            time: self.test.time,
            time_utc: utc(self.test.time),
            test_fraction: self.test_fraction,
            new_user_history: self.new_user_history,
            validation_time: self.validation.time,
            validation_time_utc: utc(self.validation.time),
        }
    }

    pub fn counts(&self) -> Counts {
        Counts {
            items: self.catalog.len(),
            users: self.log.user_ids.len(),
            interactions: self.interactions.len(),
            unknown_item_interactions: self.log.unknown_items,
            skipped_rows: self.skipped_rows,
            train_interactions: self.test.train.len(),
            test_interactions: self.test.test_events,
            test_users: self.test.test_users.len(),
            test_targets: self.test.test_users.iter().map(|u| u.targets.len()).sum(),
            new_test_users: self.test.new_users,
            cold_test_users: self.test.cold_users,
            users_without_new_items: self.test.no_new_items,
            validation_users: self.validation.test_users.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SynthConfig, synthesize};

    #[test]
    fn validation_lies_entirely_before_the_test_cut() {
        let data = synthesize(&SynthConfig::new(300, 60, 3000, 5)).unwrap();
        let prepared = Prepared::new(data, 0.2, 0.5).unwrap();
        let t = prepared.test.time;
        assert!(prepared.validation.time <= t);
        assert!(
            prepared
                .validation
                .train
                .iter()
                .all(|e| e.timestamp < prepared.validation.time)
        );
        // A new validation user's history may run past T_v, but never reaches T.
        for user in &prepared.validation.test_users {
            assert!(user.history.iter().all(|h| h.timestamp < t));
        }
        // Validation events (train and held-out alike) are all from before T.
        let validation_events = prepared.validation.train.len() + prepared.validation.test_events;
        assert_eq!(validation_events, prepared.test.train.len());
        assert!(
            prepared
                .train_interactions()
                .iter()
                .all(|e| e.timestamp < t)
        );
        let counts = prepared.counts();
        assert_eq!(counts.train_interactions + counts.test_interactions, 3000);
    }
}
