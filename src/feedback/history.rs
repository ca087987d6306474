//! Per-user recent history in memory: what the next `Rank` for a user merges with the
//! request's own recent items. Bounded per user (newest kept) and in users (least recently
//! active evicted), so memory stays flat whatever the traffic. Each item keeps its event's
//! time, so a retention sweep can drop what the log no longer holds.

use std::collections::VecDeque;
use std::num::NonZeroUsize;

use lru::LruCache;

use super::pseudonym::UserKey;

#[derive(Debug)]
pub struct UserHistory {
    per_user: usize,
    /// Per user: (item id, event time in ms), newest first.
    users: LruCache<UserKey, VecDeque<(String, i64)>>,
}

impl UserHistory {
    pub fn new(per_user: NonZeroUsize, max_users: NonZeroUsize) -> Self {
        UserHistory {
            per_user: per_user.get(),
            users: LruCache::new(max_users),
        }
    }

    /// Records that `user` interacted with `item_id` at `timestamp_ms` (newest last in time
    /// order of calls). A repeated item moves to the front instead of appearing twice.
    pub fn push(&mut self, user: UserKey, item_id: &str, timestamp_ms: i64) {
        let items = self.users.get_or_insert_mut(user, VecDeque::new);
        if let Some(pos) = items.iter().position(|(i, _)| i == item_id) {
            items.remove(pos);
        }
        items.push_front((item_id.to_string(), timestamp_ms));
        items.truncate(self.per_user);
    }

    /// The user's items, newest first.
    pub fn recent(&mut self, user: &UserKey) -> Vec<String> {
        self.users
            .get(user)
            .map(|items| items.iter().map(|(item, _)| item.clone()).collect())
            .unwrap_or_default()
    }

    /// Drops everything held for `user` (erasure).
    pub fn forget(&mut self, user: &UserKey) {
        self.users.pop(user);
    }

    /// Drops items whose event is older than `cutoff_ms`, and users left with none. Walks
    /// every user: it runs once per retention sweep, not per request.
    pub fn expire(&mut self, cutoff_ms: i64) {
        let mut emptied = Vec::new();
        for (user, items) in self.users.iter_mut() {
            items.retain(|(_, at)| *at >= cutoff_ms);
            if items.is_empty() {
                emptied.push(*user);
            }
        }
        for user in emptied {
            self.users.pop(&user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    #[test]
    fn newest_first_bounded_per_user_without_duplicates() {
        let mut history = UserHistory::new(nz(3), nz(10));
        let user = UserKey([1; 32]);
        for item in ["a", "b", "c", "b", "d"] {
            history.push(user, item, 0);
        }
        assert_eq!(history.recent(&user), ["d", "b", "c"]);
    }

    #[test]
    fn least_recently_active_user_is_evicted() {
        let mut history = UserHistory::new(nz(3), nz(2));
        let (a, b, c) = (UserKey([1; 32]), UserKey([2; 32]), UserKey([3; 32]));
        history.push(a, "x", 0);
        history.push(b, "y", 0);
        history.recent(&a);
        history.push(c, "z", 0);
        assert_eq!(history.users.len(), 2);
        assert!(history.recent(&b).is_empty());
        assert_eq!(history.recent(&a), ["x"]);
    }

    #[test]
    fn expire_drops_old_items_and_empty_users_and_forget_drops_a_user() {
        let mut history = UserHistory::new(nz(5), nz(10));
        let (a, b) = (UserKey([1; 32]), UserKey([2; 32]));
        history.push(a, "old", 100);
        history.push(a, "new", 300);
        history.push(b, "old", 100);
        history.expire(200);
        assert_eq!(history.recent(&a), ["new"]);
        assert_eq!(history.users.len(), 1, "b had only expired items");
        history.forget(&a);
        assert!(history.recent(&a).is_empty());
        assert_eq!(history.users.len(), 0);
    }
}
