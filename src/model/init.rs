//! Seeded weight initialisation.
//!
//! candle-nn's `VarMap` draws initial weights from the device's global RNG, which cannot be
//! seeded on the CPU, so two training runs would start from different weights. This backend
//! plugs into `VarBuilder` instead: every layer constructor (`candle_nn::linear`, `embedding`,
//! BERT's loaders) asks it for a tensor by name, and it draws one from a ChaCha stream seeded
//! by the caller. The layers are built in a fixed order, so the same seed gives the same weights
//! on every run and every machine. The variables are kept so the optimiser can train them and
//! `save` can write them out.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, NormalOrUniform};
use candle_nn::{Init, VarBuilder};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::error::{ModelError, Result};

/// Trainable variables created from a seed, by name. Cloning shares the variables.
#[derive(Clone)]
pub struct SeededVars {
    inner: Arc<Mutex<Inner>>,
    device: Device,
}

struct Inner {
    rng: ChaCha8Rng,
    vars: BTreeMap<String, Var>,
}

impl std::fmt::Debug for SeededVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeededVars")
            .field("vars", &self.inner.lock().vars.len())
            .finish()
    }
}

impl SeededVars {
    /// An empty set of variables whose initial values come from `seed`.
    pub fn new(seed: u64, device: &Device) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                rng: ChaCha8Rng::seed_from_u64(seed),
                vars: BTreeMap::new(),
            })),
            device: device.clone(),
        }
    }

    /// A builder that creates (or returns the already created) variables of this set.
    pub fn builder(&self) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(self.clone()), DType::F32, self.device.clone())
    }

    /// All variables, in name order (the order does not matter to AdamW but keeps runs equal).
    pub fn all_vars(&self) -> Vec<Var> {
        self.inner.lock().vars.values().cloned().collect()
    }

    /// Current values by name.
    pub fn tensors(&self) -> std::collections::HashMap<String, Tensor> {
        let inner = self.inner.lock();
        inner
            .vars
            .iter()
            .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
            .collect()
    }

    /// Writes the current values as one safetensors file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let tensors = self.tensors();
        candle_core::safetensors::save(&tensors, path).map_err(|err| match err {
            candle_core::Error::Io(source) => ModelError::Io {
                path: path.to_path_buf(),
                source,
            },
            other => ModelError::Candle(other),
        })
    }

    fn draw(&self, inner: &mut Inner, shape: &Shape, init: Init) -> Result<Tensor> {
        let n = shape.elem_count();
        let values: Vec<f32> = match init {
            Init::Const(value) => vec![value as f32; n],
            Init::Uniform { lo, up } => (0..n)
                .map(|_| inner.rng.random_range(lo..up) as f32)
                .collect(),
            Init::Randn { mean, stdev } => normal(&mut inner.rng, n, mean, stdev)?,
            Init::Kaiming {
                dist,
                fan,
                non_linearity,
            } => {
                let fan = match fan {
                    FanInOut::FanIn => FanInOut::FanIn.for_shape(shape),
                    FanInOut::FanOut => FanInOut::FanOut.for_shape(shape),
                };
                let std = non_linearity.gain() / (fan.max(1) as f64).sqrt();
                match dist {
                    NormalOrUniform::Normal => normal(&mut inner.rng, n, 0.0, std)?,
                    NormalOrUniform::Uniform => {
                        let bound = 3f64.sqrt() * std;
                        (0..n)
                            .map(|_| inner.rng.random_range(-bound..bound) as f32)
                            .collect()
                    }
                }
            }
        };
        Ok(Tensor::from_vec(values, shape.clone(), &self.device)?)
    }
}

fn normal(rng: &mut ChaCha8Rng, n: usize, mean: f64, stdev: f64) -> Result<Vec<f32>> {
    let dist = Normal::new(mean, stdev).map_err(|err| {
        ModelError::InvalidInput(format!("normal init N({mean}, {stdev}): {err}"))
    })?;
    Ok((0..n).map(|_| dist.sample(rng) as f32).collect())
}

impl candle_nn::var_builder::SimpleBackend for SeededVars {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        init: Init,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut inner = self.inner.lock();
        if let Some(var) = inner.vars.get(name) {
            if var.shape() != &shape {
                candle_core::bail!(
                    "variable {name} exists with shape {:?}, asked for {shape:?}",
                    var.shape()
                );
            }
            return Ok(var.as_tensor().clone());
        }
        let tensor = self
            .draw(&mut inner, &shape, init)
            .map_err(candle_core::Error::wrap)?
            .to_dtype(dtype)?
            .to_device(device)?;
        let var = Var::from_tensor(&tensor)?;
        let tensor = var.as_tensor().clone();
        inner.vars.insert(name.to_owned(), var);
        Ok(tensor)
    }

    fn get_unchecked(
        &self,
        name: &str,
        _dtype: DType,
        _device: &Device,
    ) -> candle_core::Result<Tensor> {
        match self.inner.lock().vars.get(name) {
            Some(var) => Ok(var.as_tensor().clone()),
            None => candle_core::bail!("no variable named {name}"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.inner.lock().vars.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_layer(seed: u64) -> Vec<f32> {
        let vars = SeededVars::new(seed, &Device::Cpu);
        let layer = candle_nn::linear(8, 4, vars.builder().pp("l")).unwrap();
        layer.weight().flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn same_seed_gives_same_weights_and_other_seeds_differ() {
        assert_eq!(first_layer(7), first_layer(7));
        assert_ne!(first_layer(7), first_layer(8));
    }

    #[test]
    fn asking_twice_returns_the_same_variable() {
        let vars = SeededVars::new(1, &Device::Cpu);
        let a = vars
            .builder()
            .get_with_hints((2, 3), "w", candle_nn::init::DEFAULT_KAIMING_NORMAL)
            .unwrap();
        let b = vars.builder().get((2, 3), "w").unwrap();
        assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
        assert_eq!(vars.all_vars().len(), 1);
        assert!(vars.builder().get((3, 3), "w").is_err());
    }
}
