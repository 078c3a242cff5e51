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
    Some(batch)
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
}
