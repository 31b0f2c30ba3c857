//! Duplicate faces: an exact search over a channel's enrolled templates, held decrypted in this
//! process's memory only (built from the database at start-up, updated after each committed change).
//!
//! Exact means every template is scored: at 128 values a template, a scan is a few multiply-adds per
//! value, linear in the number of enrollments (benches/duplicates.rs; docs/server.md has the figures and
//! what to do past them). The index belongs to one server process: run one process per database, or
//! restart the others after a change (they rebuild at start-up).

use std::collections::HashMap;
use std::sync::RwLock;

use smartid_core::matching::Metric;
use zeroize::Zeroize;

/// One channel's templates, stored contiguously for a cache-friendly scan.
#[derive(Default)]
struct ChannelIndex {
    dim: usize,
    users: Vec<String>,
    values: Vec<f32>,
    position: HashMap<String, usize>,
}

impl Drop for ChannelIndex {
    fn drop(&mut self) {
        self.values.zeroize();
    }
}

impl ChannelIndex {
    fn upsert(&mut self, user: &str, values: &[f32]) {
        if self.users.is_empty() {
            self.dim = values.len();
        }
        if values.len() != self.dim {
            // The server accepts one model (one dimension); a mismatch cannot be indexed.
            return;
        }
        match self.position.get(user) {
            Some(&i) => self.values[i * self.dim..(i + 1) * self.dim].copy_from_slice(values),
            None => {
                if self.values.len() + values.len() > self.values.capacity() {
                    // Grow by hand so the old buffer is wiped, not freed with templates in it.
                    let mut grown =
                        Vec::with_capacity((self.values.capacity() * 2).max(64 * self.dim));
                    grown.extend_from_slice(&self.values);
                    self.values.zeroize();
                    self.values = grown;
                }
                self.position.insert(user.to_string(), self.users.len());
                self.users.push(user.to_string());
                self.values.extend_from_slice(values);
            }
        }
    }

    fn remove(&mut self, user: &str) {
        let Some(i) = self.position.remove(user) else {
            return;
        };
        let last = self.users.len() - 1;
        if i != last {
            let (head, tail) = self.values.split_at_mut(last * self.dim);
            head[i * self.dim..(i + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
            self.users.swap(i, last);
            self.position.insert(self.users[i].clone(), i);
        }
        self.users.pop();
        self.values[last * self.dim..].zeroize();
        self.values.truncate(last * self.dim);
    }

    fn matches(
        &self,
        probe: &[f32],
        metric: Metric,
        threshold: f32,
        except: Option<&str>,
    ) -> Vec<String> {
        if probe.len() != self.dim || self.dim == 0 {
            return Vec::new();
        }
        let mut found = Vec::new();
        for (user, row) in self.users.iter().zip(self.values.chunks_exact(self.dim)) {
            if Some(user.as_str()) == except {
                continue;
            }
            if metric.is_match(score(metric, probe, row), threshold) {
                found.push(user.clone());
            }
        }
        found.sort();
        found
    }
}

/// The metric's score, with the Euclidean case kept to a plain sum of squares compared after one sqrt.
fn score(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::Euclidean => {
            let mut acc = [0f32; 8];
            let chunks = a.len() / 8 * 8;
            for (ca, cb) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
                for k in 0..8 {
                    let d = ca[k] - cb[k];
                    acc[k] += d * d;
                }
            }
            let mut sum: f32 = acc.iter().sum();
            for (x, y) in a[chunks..].iter().zip(&b[chunks..]) {
                sum += (x - y) * (x - y);
            }
            sum.sqrt()
        }
        Metric::Cosine => metric.score(a, b),
    }
}

/// Every channel's index.
#[derive(Default)]
pub struct DuplicateIndex {
    channels: RwLock<HashMap<String, ChannelIndex>>,
}

impl std::fmt::Debug for DuplicateIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DuplicateIndex({} templates)", self.len())
    }
}

impl DuplicateIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn upsert(&self, channel: &str, user: &str, values: &[f32]) {
        let mut map = self
            .channels
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(channel.to_string())
            .or_default()
            .upsert(user, values);
    }

    pub fn remove(&self, channel: &str, user: &str) {
        let mut map = self
            .channels
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = map.get_mut(channel) {
            c.remove(user);
        }
    }

    /// Users of `channel` whose template matches `probe` at `threshold`, except `except` (the user
    /// being enrolled), sorted.
    pub fn search(
        &self,
        channel: &str,
        probe: &[f32],
        metric: Metric,
        threshold: f32,
        except: Option<&str>,
    ) -> Vec<String> {
        // A poisoned lock still holds a consistent index: never answer "no duplicates" because of it.
        let map = self
            .channels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(channel)
            .map(|c| c.matches(probe, metric, threshold, except))
            .unwrap_or_default()
    }

    /// Templates held, all channels.
    pub fn len(&self) -> usize {
        self.channels
            .read()
            .map(|m| m.values().map(|c| c.users.len()).sum())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn v(seed: f32) -> Vec<f32> {
        (0..128)
            .map(|i| ((i as f32) * 0.7 + seed).sin() * 0.1)
            .collect()
    }

    #[test]
    fn finds_the_same_face_in_the_same_channel_only() {
        let idx = DuplicateIndex::new();
        idx.upsert("a", "alice", &v(1.0));
        idx.upsert("a", "bob", &v(2.0));
        idx.upsert("b", "alice-at-b", &v(1.0));
        let m = Metric::Euclidean;
        assert_eq!(idx.search("a", &v(1.0), m, 0.6, None), vec!["alice"]);
        assert_eq!(
            idx.search("a", &v(1.0), m, 0.6, Some("alice")),
            Vec::<String>::new()
        );
        assert_eq!(idx.search("b", &v(1.0), m, 0.6, None), vec!["alice-at-b"]);
        assert!(idx.search("c", &v(1.0), m, 0.6, None).is_empty());
        // Far from both.
        let far: Vec<f32> = v(1.0).iter().map(|x| x + 0.2).collect();
        assert!(idx.search("a", &far, m, 0.6, None).is_empty());
    }

    #[test]
    fn removal_and_replacement_keep_rows_and_users_aligned() {
        let idx = DuplicateIndex::new();
        for (i, u) in ["u0", "u1", "u2", "u3"].iter().enumerate() {
            idx.upsert("a", u, &v(i as f32 * 10.0));
        }
        idx.remove("a", "u1");
        idx.remove("a", "nobody");
        assert_eq!(idx.len(), 3);
        let m = Metric::Euclidean;
        for (i, u) in ["u0", "u2", "u3"].iter().enumerate() {
            let seed = [0.0, 20.0, 30.0][i];
            assert_eq!(idx.search("a", &v(seed), m, 0.01, None), vec![*u]);
        }
        assert!(idx.search("a", &v(10.0), m, 0.01, None).is_empty());
        idx.upsert("a", "u3", &v(10.0));
        assert_eq!(idx.search("a", &v(10.0), m, 0.01, None), vec!["u3"]);
        assert!(idx.search("a", &v(30.0), m, 0.01, None).is_empty());
    }

    #[test]
    fn unrolled_distance_equals_the_metric() {
        for n in [128usize, 130, 5] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).cos()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.5).sin()).collect();
            let want = Metric::Euclidean.score(&a, &b);
            assert!((score(Metric::Euclidean, &a, &b) - want).abs() < 1e-4);
        }
    }
}
