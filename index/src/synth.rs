//! Seeded synthetic vectors for tests, benches and the 1M-item figures: a mixture of
//! low-dimensional Gaussian clusters. Uniform (or full-rank Gaussian) noise has no
//! neighbourhood structure and makes every ANN index look bad in a way real embeddings never
//! do; real embeddings lie near low-dimensional manifolds, which is what each cluster here is.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// [`clustered_with`] at centre spread 4: clusters lie well apart (their centres are about
/// four cluster diameters from each other).
pub fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    clustered_with(n, dim, clusters, 4.0, seed)
}

/// `n` rows of `dim` floats, row-major. Each row is `centre + basis * z + noise`: `clusters`
/// centres drawn with standard deviation `centre_spread`, a random `dim x latent` basis per
/// cluster with `latent = clamp(dim / 4, 2, 16)` and unit `z` (so about unit spread per
/// dimension inside a cluster), plus noise of 0.1 in every dimension. At a spread near 1 the
/// clusters overlap, as topics in real embeddings do; at 4 they are islands. The same seed
/// gives the same rows on every machine.
pub fn clustered_with(
    n: usize,
    dim: usize,
    clusters: usize,
    centre_spread: f32,
    seed: u64,
) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let clusters = clusters.max(1);
    let latent = (dim / 4).clamp(2, 16);
    let centres: Vec<f32> = (0..clusters * dim)
        .map(|_| centre_spread * gaussian(&mut rng))
        .collect();
    let bases: Vec<f32> = (0..clusters * dim * latent)
        .map(|_| gaussian(&mut rng))
        .collect();
    let mut rows = Vec::with_capacity(n * dim);
    let mut z = vec![0f32; latent];
    for _ in 0..n {
        let c = rng.random_range(0..clusters);
        z.iter_mut().for_each(|x| *x = gaussian(&mut rng));
        let centre = &centres[c * dim..(c + 1) * dim];
        let basis = &bases[c * dim * latent..(c + 1) * dim * latent];
        for (j, &mean) in centre.iter().enumerate() {
            let row = &basis[j * latent..(j + 1) * latent];
            let projected: f32 = row.iter().zip(&z).map(|(a, b)| a * b).sum();
            rows.push(mean + projected / (latent as f32).sqrt() + 0.1 * gaussian(&mut rng));
        }
    }
    rows
}

/// A standard normal sample (Box-Muller); rand_distr would be one more dependency for this.
fn gaussian(rng: &mut impl Rng) -> f32 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_rows_and_rows_cluster() {
        let a = clustered(200, 8, 4, 7);
        assert_eq!(a, clustered(200, 8, 4, 7));
        assert_ne!(a, clustered(200, 8, 4, 8));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        let var = a.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / a.len() as f32;
        // Centre spread 4 plus unit in-cluster spread: total variance near 17, far above
        // the noise alone.
        assert!(var > 4.0, "variance {var}");
    }
}
