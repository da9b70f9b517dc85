//! Level meters: peak, RMS, silence, over any number of blocks; and the clipped samples their stage
//! counted (where the signal was clamped: the converters, the USB stream).

use super::lin_to_db;

/// Level below which a block counts as silent [dBFS RMS].
pub const SILENCE_DBFS: f64 = -60.0;

/// [`SILENCE_DBFS`] as a mean square: 10^(-60/10) (a test holds the two together).
const SILENCE_MEAN_SQUARE: f64 = 1e-6;

/// The measures of one channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelMeter {
    /// Largest |sample|.
    pub peak: f64,
    /// Sum of squares.
    pub sum_sq: f64,
    /// Samples measured.
    pub samples: u64,
    /// Samples clipped at this channel's stage (counted where the clamp is, added by the caller).
    pub clipped: u64,
    /// Blocks of bit-exact zeros.
    pub zero_blocks: u64,
    /// Blocks below [`SILENCE_DBFS`] (zero blocks included).
    pub quiet_blocks: u64,
    /// Blocks measured.
    pub blocks: u64,
}

impl ChannelMeter {
    /// Measures one block.
    pub fn add(&mut self, block: &[f32]) {
        super::simd::wide(
            #[inline(always)]
            || self.add_block(block),
        )
    }

    /// [`ChannelMeter::add`], inlined into each build of [`super::simd::wide`].
    #[inline(always)]
    fn add_block(&mut self, block: &[f32]) {
        // Branch-free over lanes of 8, so that the loop vectorises; partial sums in f32 per lane, folded
        // into f64 per block.
        let mut peak = [0f32; 8];
        let mut sq = [0f32; 8];
        let mut nonzero = [0u32; 8];
        let mut chunks = block.chunks_exact(8);
        for c in &mut chunks {
            for k in 0..8 {
                let a = c[k].abs();
                peak[k] = if a > peak[k] { a } else { peak[k] };
                sq[k] += c[k] * c[k];
                nonzero[k] += u32::from(c[k] != 0.0);
            }
        }
        for (k, &s) in chunks.remainder().iter().enumerate() {
            let a = s.abs();
            peak[k] = if a > peak[k] { a } else { peak[k] };
            sq[k] += s * s;
            nonzero[k] += u32::from(s != 0.0);
        }
        let peak = peak.iter().fold(0f32, |m, x| m.max(*x));
        let sum: f64 = sq.iter().map(|x| f64::from(*x)).sum();
        let all_zero = nonzero.iter().all(|n| *n == 0);
        self.fold(f64::from(peak), sum, all_zero, block.len());
    }

    /// Measures a block of `frames` samples of +0.0 without reading it: the same as [`ChannelMeter::add`]
    /// of it.
    pub fn add_silence(&mut self, frames: usize) {
        self.fold(0.0, 0.0, true, frames);
    }

    /// The measures of one block of `frames` samples of +0.0 ([`ChannelMeter::add_silence`]).
    pub fn silence(frames: usize) -> Self {
        let mut m = ChannelMeter::default();
        m.add_silence(frames);
        m
    }

    /// Takes in a block of `len` samples: its peak, its sum of squares, whether it is all zeros.
    #[inline(always)]
    fn fold(&mut self, peak: f64, sum: f64, all_zero: bool, len: usize) {
        self.peak = self.peak.max(peak);
        self.sum_sq += sum;
        self.samples += len as u64;
        self.blocks += 1;
        if all_zero {
            self.zero_blocks += 1;
        }
        // Below SILENCE_DBFS RMS: the mean square below its square (no logarithm per block).
        if len == 0 || sum / (len as f64) < SILENCE_MEAN_SQUARE {
            self.quiet_blocks += 1;
        }
    }

    /// Adds another meter's measures.
    pub fn merge(&mut self, o: &ChannelMeter) {
        self.peak = self.peak.max(o.peak);
        self.sum_sq += o.sum_sq;
        self.samples += o.samples;
        self.clipped += o.clipped;
        self.zero_blocks += o.zero_blocks;
        self.quiet_blocks += o.quiet_blocks;
        self.blocks += o.blocks;
    }

    /// Peak level [dBFS] (`None` without samples or for bit-exact silence).
    pub fn peak_dbfs(&self) -> Option<f64> {
        (self.samples > 0 && self.peak > 0.0).then(|| lin_to_db(self.peak))
    }

    /// RMS level [dBFS] (`None` without samples or for bit-exact silence).
    pub fn rms_dbfs(&self) -> Option<f64> {
        (self.samples > 0 && self.sum_sq > 0.0).then(|| lin_to_db((self.sum_sq / self.samples as f64).sqrt()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_block_measures_the_same_unread() {
        for frames in [0, 1, 7, 64, 256, 1024] {
            let (mut read, mut unread) = (ChannelMeter::default(), ChannelMeter::default());
            // After a block of sound, so that a peak and a sum are there to keep.
            let sound: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin() * 0.5).collect();
            read.add(&sound);
            unread.add(&sound);
            read.add(&vec![0.0; frames]);
            unread.add_silence(frames);
            assert_eq!(read, unread, "{frames} frames");
            assert_eq!(read.sum_sq.to_bits(), unread.sum_sq.to_bits());
            assert_eq!(read.peak.to_bits(), unread.peak.to_bits());
        }
    }

    #[test]
    fn the_silence_threshold_is_the_same_level_in_both_forms() {
        assert!((SILENCE_MEAN_SQUARE / 10f64.powf(SILENCE_DBFS / 10.0) - 1.0).abs() < 1e-12);
        // A square wave's RMS is its amplitude: a block at -60.1 dBFS RMS is quiet, one at -59.9 is not.
        let square = |dbfs: f64| {
            let a = 10f64.powf(dbfs / 20.0) as f32;
            (0..256).map(|i| if i % 2 == 0 { a } else { -a }).collect::<Vec<f32>>()
        };
        let mut m = ChannelMeter::default();
        m.add(&square(-60.1));
        m.add(&square(-59.9));
        assert_eq!(m.quiet_blocks, 1);
        assert_eq!(m.blocks, 2);
    }
}
