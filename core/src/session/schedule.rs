//! Which frames carry the sampled checks (detector and anti-spoof, identity). Drawn from a CSPRNG
//! (the thread's ChaCha-based generator) so an attacker cannot place fake frames between them: each
//! gap is uniform in 1..=2N−1 frames, N on average. The frames that carry a challenge's neutral,
//! action and return, and the template candidates, are checked whatever the draw (`session`).

use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

pub(super) struct RandomSchedule {
    every: u64,
    next: u64,
    rng: StdRng,
}

impl RandomSchedule {
    /// `rng` seeds the schedule's own generator: the session's CSPRNG, or a replay seed.
    pub(super) fn new(every: u32, rng: &mut StdRng) -> Self {
        let every = u64::from(every.max(1));
        let mut rng = StdRng::from_rng(rng);
        Self {
            every,
            next: Self::gap(every, &mut rng) - 1,
            rng,
        }
    }

    fn gap(every: u64, rng: &mut StdRng) -> u64 {
        rng.random_range(1..=2 * every - 1)
    }

    /// Whether `frame` carries the check; draws the next one when it does.
    pub(super) fn due(&mut self, frame: u64) -> bool {
        if frame < self.next {
            return false;
        }
        self.next = frame + Self::gap(self.every, &mut self.rng);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_average_the_interval_and_vary() {
        let mut rng = StdRng::from_rng(&mut rand::rng());
        let mut s = RandomSchedule::new(5, &mut rng);
        let due: Vec<u64> = (0..10_000).filter(|f| s.due(*f)).collect();
        let mean_gap = 10_000.0 / due.len() as f64;
        assert!((4.5..5.5).contains(&mean_gap), "{mean_gap}");
        let gaps: std::collections::BTreeSet<u64> = due.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps.first(), Some(&1));
        assert_eq!(gaps.last(), Some(&9));
        // The old fixed schedule (n % 5 == 0) would put every check on a multiple of 5.
        assert!(due.iter().filter(|f| *f % 5 != 0).count() > due.len() / 2);
        let mut every = RandomSchedule::new(1, &mut rng);
        assert!((0..50).all(|f| every.due(f)));
    }

    #[test]
    fn a_replay_seed_gives_the_same_frames() {
        let frames = |seed: u64| {
            let mut s = RandomSchedule::new(5, &mut StdRng::seed_from_u64(seed));
            (0..200).filter(|f| s.due(*f)).collect::<Vec<u64>>()
        };
        assert_eq!(frames(7), frames(7));
        assert_ne!(frames(7), frames(8));
    }
}
