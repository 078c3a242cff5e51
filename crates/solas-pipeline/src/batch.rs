//! Batching from a channel: a batch closes when it is full, when no alert has arrived for
//! `idle`, or when its first alert has waited `max_age` (so latency stays bounded under a
//! steady trickle).

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

/// The next batch, or None once the channel is closed and empty.
pub fn next_batch<T>(
    input: &Receiver<T>,
    max: usize,
    idle: Duration,
    max_age: Duration,
) -> Option<Vec<T>> {
    let first = input.recv().ok()?;
    Some(fill(input, first, max, idle, max_age))
}

/// What [`next_or_tick`] found.
#[derive(Debug, PartialEq)]
pub enum Next<T> {
    Batch(Vec<T>),
    /// Nothing arrived for `tick`: time for the caller's periodic work.
    Tick,
    Closed,
}

/// Like [`next_batch`], but gives up after `tick` without a first item, so a stage can do
/// periodic work (e.g. follow the annotation log) while no alerts come.
pub fn next_or_tick<T>(
    input: &Receiver<T>,
    max: usize,
    idle: Duration,
    max_age: Duration,
    tick: Duration,
) -> Next<T> {
    match input.recv_timeout(tick) {
        Ok(first) => Next::Batch(fill(input, first, max, idle, max_age)),
        Err(RecvTimeoutError::Timeout) => Next::Tick,
        Err(RecvTimeoutError::Disconnected) => Next::Closed,
    }
}

fn fill<T>(input: &Receiver<T>, first: T, max: usize, idle: Duration, max_age: Duration) -> Vec<T> {
    let opened = Instant::now();
    let mut batch = vec![first];
    while batch.len() < max {
        let left = max_age.saturating_sub(opened.elapsed());
        if left.is_zero() {
            break;
        }
        match input.recv_timeout(idle.min(left)) {
            Ok(item) => batch.push(item),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_on_size_idle_and_end() {
        let (tx, rx) = crossbeam_channel::bounded(100);
        for i in 0..25 {
            tx.send(i).unwrap();
        }
        let d = Duration::from_millis(20);
        assert_eq!(next_batch(&rx, 10, d, d * 10).unwrap().len(), 10);
        assert_eq!(next_batch(&rx, 10, d, d * 10).unwrap().len(), 10);
        assert_eq!(
            next_batch(&rx, 10, d, d * 10).unwrap(),
            (20..25).collect::<Vec<_>>()
        );
        drop(tx);
        assert!(next_batch(&rx, 10, d, d * 10).is_none());
    }

    #[test]
    fn ticks_while_idle_and_reports_close() {
        let (tx, rx) = crossbeam_channel::bounded(10);
        let d = Duration::from_millis(10);
        assert_eq!(next_or_tick(&rx, 10, d, d, d), Next::<i32>::Tick);
        tx.send(1).unwrap();
        assert_eq!(next_or_tick(&rx, 10, d, d, d), Next::Batch(vec![1]));
        drop(tx);
        assert_eq!(next_or_tick(&rx, 10, d, d, d), Next::Closed);
    }
}
