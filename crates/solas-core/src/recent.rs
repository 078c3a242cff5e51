//! A set that remembers only recent entries, in bounded memory: two generations, the
//! older dropped when the newer is full or old enough. Stages use it to skip work they did
//! lately (a source already checked, an object already searched) without a set that grows
//! with the stream.

use std::collections::HashSet;
use std::hash::Hash;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RecentSet<T> {
    current: HashSet<T>,
    previous: HashSet<T>,
    /// Entries a generation holds before it becomes the previous one.
    capacity: usize,
    /// How long a generation lasts, at most.
    lifetime: Option<Duration>,
    started: Instant,
}

impl<T: Hash + Eq> RecentSet<T> {
    /// Remembers between `capacity` and twice as many entries, each for at most two
    /// `lifetime`s (when given).
    pub fn new(capacity: usize, lifetime: Option<Duration>) -> RecentSet<T> {
        RecentSet {
            current: HashSet::new(),
            previous: HashSet::new(),
            capacity: capacity.max(1),
            lifetime,
            started: Instant::now(),
        }
    }

    pub fn contains(&self, item: &T) -> bool {
        self.current.contains(item) || self.previous.contains(item)
    }

    pub fn insert(&mut self, item: T) {
        let expired = self.lifetime.is_some_and(|l| self.started.elapsed() >= l);
        if self.current.len() >= self.capacity || expired {
            self.previous = std::mem::take(&mut self.current);
            self.started = Instant::now();
        }
        self.current.insert(item);
    }

    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_forgets_the_oldest_generation_and_stays_bounded() {
        let mut s = RecentSet::new(3, None);
        for i in 0..3 {
            s.insert(i);
        }
        s.insert(3); // 0..3 become the previous generation
        assert!((0..4).all(|i| s.contains(&i)));
        for i in 4..6 {
            s.insert(i);
        }
        s.insert(6); // 0..3 forgotten
        assert!(!s.contains(&0) && s.contains(&3) && s.contains(&6));
        assert!(s.len() <= 6);
        let mut timed = RecentSet::new(100, Some(Duration::ZERO));
        timed.insert(1);
        timed.insert(2);
        timed.insert(3);
        assert!(!timed.contains(&1), "two generations of no time: 1 is gone");
    }
}
