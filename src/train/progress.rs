//! Progress bars for training (indicatif): one bar per epoch with loss and throughput. Hidden
//! in tests and library use, where a bar on stderr would only be noise.

use indicatif::{ProgressBar, ProgressStyle};

/// Makes per-epoch bars, or hidden ones.
#[derive(Debug, Clone, Copy)]
pub struct EpochProgress {
    visible: bool,
}

/// One epoch's bar.
#[derive(Debug)]
pub struct EpochBar {
    bar: ProgressBar,
}

impl EpochProgress {
    pub fn new(visible: bool) -> Self {
        Self { visible }
    }

    /// A bar over `examples` examples for `epoch` (0-based) of `epochs` of `stage`.
    pub fn epoch(&self, stage: &str, epoch: usize, epochs: usize, examples: usize) -> EpochBar {
        let bar = if self.visible {
            ProgressBar::new(examples as u64)
        } else {
            ProgressBar::hidden()
        };
        let style = ProgressStyle::with_template(
            "{prefix:>18} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{stage} {}/{epochs}", epoch + 1));
        EpochBar { bar }
    }

    /// A spinner-less bar for a one-off step (embedding texts, mining negatives).
    pub fn task(&self, what: &str, total: usize) -> EpochBar {
        let bar = self.epoch(what, 0, 1, total);
        bar.bar.set_prefix(what.to_owned());
        bar
    }
}

impl EpochBar {
    /// Advances by `n` examples and shows the batch loss.
    pub fn step(&self, n: usize, loss: f32) {
        self.bar.inc(n as u64);
        self.bar.set_message(format!("loss {loss:.4}"));
    }

    /// Advances by `n` without a loss.
    pub fn advance(&self, n: usize) {
        self.bar.inc(n as u64);
    }

    /// Ends the bar showing the epoch's mean loss.
    pub fn finish(&self, mean_loss: f32) {
        self.bar
            .finish_with_message(format!("mean loss {mean_loss:.4}"));
    }

    /// Ends a task bar.
    pub fn done(&self) {
        self.bar.finish();
    }
}
