//! Distance kernels: squared L2 and `1 - dot`, with an AVX2+FMA build chosen at run time.
//!
//! The kernels are plain Rust over 16 independent lanes, which LLVM turns into two 8-wide
//! registers; the AVX2 copy is the same code compiled with `#[target_feature]`. Rejected:
//! hand-written `std::arch` intrinsics (raw-pointer loads, more unsafe for no measured gain)
//! and anndists' kernels (scalar unless a feature is turned on; a sequential float sum cannot
//! be vectorised). hnsw_rs is given these same kernels through [`HnswDistance`], so the
//! benchmark against it compares graph search, not arithmetic.

use hnsw_rs::prelude::Distance;

use crate::format::Metric;

const LANES: usize = 16;

/// Folds `step(acc, a[i], b[i])` over 16 independent accumulators, then sums them; the lanes
/// are what lets LLVM vectorise a float reduction without reassociating it.
#[inline(always)]
fn fold_lanes(a: &[f32], b: &[f32], step: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let n = a.len().min(b.len());
    let (ac, ar) = a[..n].as_chunks::<LANES>();
    let (bc, br) = b[..n].as_chunks::<LANES>();
    let mut acc = [0f32; LANES];
    for (x, y) in ac.iter().zip(bc) {
        for i in 0..LANES {
            acc[i] = step(acc[i], x[i], y[i]);
        }
    }
    let tail = ar.iter().zip(br).fold(0f32, |t, (&x, &y)| step(t, x, y));
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn l2_lanes<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    fold_lanes(a, b, |acc, x, y| {
        let d = x - y;
        if FMA { d.mul_add(d, acc) } else { acc + d * d }
    })
}

#[inline(always)]
fn dot_lanes<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    fold_lanes(
        a,
        b,
        |acc, x, y| if FMA { x.mul_add(y, acc) } else { acc + x * y },
    )
}

/// Both kernels compiled for AVX2 + FMA (8-wide registers, fused multiply-add).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn eval_avx2(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::L2 => l2_lanes::<true>(a, b),
        Metric::Cosine => 1.0 - dot_lanes::<true>(a, b),
    }
}

/// A distance function for one metric on this CPU. `Copy`, two bytes; the two branches in
/// [`DistanceFn::eval`] go the same way for a whole search, so the branch predictor makes
/// them nearly free; a search monomorphised per kernel was the rejected, larger alternative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DistanceFn {
    metric: Metric,
    avx2: bool,
}

impl DistanceFn {
    /// Detects the CPU once per call; cheap (a cached cpuid).
    pub fn new(metric: Metric) -> Self {
        #[cfg(target_arch = "x86_64")]
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        Self { metric, avx2 }
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Distance between two vectors of the same length (lower is closer).
    #[inline]
    pub fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is only true when `new` detected AVX2 and FMA on this CPU, which
            // is all `eval_avx2`'s target features require.
            return unsafe { eval_avx2(self.metric, a, b) };
        }
        match self.metric {
            Metric::L2 => l2_lanes::<false>(a, b),
            Metric::Cosine => 1.0 - dot_lanes::<false>(a, b),
        }
    }
}

/// Asks the CPU to start loading the first cache lines of `v` (a hint: no effect on results).
/// The search issues it for every unvisited neighbour before computing any of their
/// distances, so the memory latencies overlap instead of queueing one vector at a time.
#[inline]
pub(crate) fn prefetch(v: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in v.chunks(16).take(4) {
        // SAFETY: `_mm_prefetch` needs only SSE, which every x86_64 CPU has, and a prefetch
        // never faults or reads into the program, whatever the address.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
}

/// Scales `v` to unit length (left alone when it is all zeros).
pub fn normalize(v: &mut [f32]) {
    let norm = dot_lanes::<false>(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The same kernels behind hnsw_rs's `Distance` trait, for building and for the reference
/// search. anndists' `DistDot` asserts `1 - dot >= 0`, which rounding breaks on normalised
/// vectors; this one does not panic.
#[derive(Debug, Clone, Copy)]
pub struct HnswDistance(pub DistanceFn);

impl Distance<f32> for HnswDistance {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        self.0.eval(va, vb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
        match metric {
            Metric::L2 => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
            Metric::Cosine => 1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>(),
        }
    }

    #[test]
    fn kernels_match_naive_sums_for_every_length() {
        for metric in [Metric::L2, Metric::Cosine] {
            let fast = DistanceFn::new(metric);
            let plain = DistanceFn {
                metric,
                avx2: false,
            };
            for len in [1, 7, 8, 15, 16, 17, 33, 64, 100, 784] {
                let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
                let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
                let want = naive(metric, &a, &b);
                for got in [fast.eval(&a, &b), plain.eval(&a, &b)] {
                    assert!(
                        (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                        "{len}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn normalize_gives_unit_length_and_keeps_zero_vectors() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }
}
