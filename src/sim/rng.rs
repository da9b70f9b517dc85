//! Seeded random streams: one master seed, one independent stream per named consumer.
//!
//! A stream is derived from the master seed and the consumer's *name* (e.g. `service/storage/latency`),
//! so adding an actor or a fault does not change the draws anyone else sees.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

/// The generator every simulated actor draws from.
pub type SimRng = ChaCha8Rng;

/// Derives the stream called `name` from the master `seed`.
///
/// The derivation (FNV-1a over the name, mixed with the seed through SplitMix64 into a 256-bit ChaCha key)
/// is part of the determinism contract: changing it changes every run's results.
pub fn stream(seed: u64, name: &str) -> SimRng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut state = seed ^ h.rotate_left(17);
    let mut key = [0u8; 32];
    for chunk in key.chunks_exact_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, "service/a");
                move |_| r.random()
            })
            .collect();
        let a2: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, "service/a");
                move |_| r.random()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, "service/b");
                move |_| r.random()
            })
            .collect();
        let a_other_seed: Vec<u64> = (0..4)
            .map({
                let mut r = stream(8, "service/a");
                move |_| r.random()
            })
            .collect();
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_ne!(a, a_other_seed);
    }
}
