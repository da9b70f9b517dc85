//! Level meters: peak, RMS, clipped samples, silence, over any number of blocks.

use super::lin_to_db;

/// Level below which a block counts as silent [dBFS RMS].
pub const SILENCE_DBFS: f64 = -60.0;

/// The measures of one channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelMeter {
    /// Largest |sample|.
    pub peak: f64,
    /// Sum of squares.
    pub sum_sq: f64,
    /// Samples measured.
    pub samples: u64,
    /// Samples at or above full scale.
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
        let mut peak = 0f32;
        let mut sum = 0f64;
        let mut all_zero = true;
        for &s in block {
            let a = s.abs();
            peak = peak.max(a);
            sum += f64::from(s) * f64::from(s);
            all_zero &= s == 0.0;
            if a >= 1.0 {
                self.clipped += 1;
            }
        }
        self.peak = self.peak.max(f64::from(peak));
        self.sum_sq += sum;
        self.samples += block.len() as u64;
        self.blocks += 1;
        if all_zero {
            self.zero_blocks += 1;
        }
        if block.is_empty() || lin_to_db((sum / block.len() as f64).sqrt()) < SILENCE_DBFS {
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
