//! Per-user recent history in memory: what the next `Rank` for a user merges with the
//! request's own recent items. Bounded per user (newest kept) and in users (least recently
//! active evicted), so memory stays flat whatever the traffic.

use std::collections::VecDeque;
use std::num::NonZeroUsize;

use lru::LruCache;

use super::pseudonym::UserKey;

#[derive(Debug)]
pub struct UserHistory {
    per_user: usize,
    users: LruCache<UserKey, VecDeque<String>>,
}

impl UserHistory {
    pub fn new(per_user: NonZeroUsize, max_users: NonZeroUsize) -> Self {
        UserHistory {
            per_user: per_user.get(),
            users: LruCache::new(max_users),
        }
    }

    /// Records that `user` interacted with `item_id` (newest last in time order of calls).
    /// A repeated item moves to the front instead of appearing twice.
    pub fn push(&mut self, user: UserKey, item_id: &str) {
        let items = self.users.get_or_insert_mut(user, VecDeque::new);
        if let Some(pos) = items.iter().position(|i| i == item_id) {
            items.remove(pos);
        }
        items.push_front(item_id.to_string());
        items.truncate(self.per_user);
    }

    /// The user's items, newest first.
    pub fn recent(&mut self, user: &UserKey) -> Vec<String> {
        self.users
            .get(user)
            .map(|items| items.iter().cloned().collect())
            .unwrap_or_default()
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
            history.push(user, item);
        }
        assert_eq!(history.recent(&user), ["d", "b", "c"]);
    }

    #[test]
    fn least_recently_active_user_is_evicted() {
        let mut history = UserHistory::new(nz(3), nz(2));
        let (a, b, c) = (UserKey([1; 32]), UserKey([2; 32]), UserKey([3; 32]));
        history.push(a, "x");
        history.push(b, "y");
        history.recent(&a);
        history.push(c, "z");
        assert_eq!(history.users.len(), 2);
        assert!(history.recent(&b).is_empty());
        assert_eq!(history.recent(&a), ["x"]);
    }
}
