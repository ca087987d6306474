//! Run-time device choice: CUDA when the binary was built with the `cuda` feature and a GPU is
//! present, otherwise the CPU. The choice is logged once, so a slow run on the CPU is never a
//! mystery.

use std::str::FromStr;

use candle_core::Device;

use super::error::{ModelError, Result};

/// Which device the caller asks for (`--device auto|cpu|cuda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DevicePreference {
    /// The GPU when the build has CUDA and one is present, else the CPU.
    #[default]
    Auto,
    /// The CPU even when a GPU is present.
    Cpu,
    /// The GPU or an error: for runs that would be pointless on the CPU.
    Cuda,
}

impl FromStr for DevicePreference {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            other => Err(ModelError::InvalidInput(format!(
                "unknown device {other:?}: expected auto, cpu or cuda"
            ))),
        }
    }
}

/// Picks the device for `preference` and logs which one it is.
pub fn select_device(preference: DevicePreference) -> Result<Device> {
    let device = match preference {
        DevicePreference::Cpu => Device::Cpu,
        DevicePreference::Auto if cuda_present() => Device::new_cuda(0)?,
        DevicePreference::Auto => Device::Cpu,
        DevicePreference::Cuda if cuda_present() => Device::new_cuda(0)?,
        DevicePreference::Cuda => {
            return Err(ModelError::Device(if cfg!(feature = "cuda") {
                "no CUDA GPU found".to_owned()
            } else {
                "this binary was built without the `cuda` feature".to_owned()
            }));
        }
    };
    tracing::info!(
        device = describe(&device),
        ?preference,
        "model device selected"
    );
    Ok(device)
}

/// Environment variable that sizes candle's CPU worker pool.
const CANDLE_THREADS_VAR: &str = "CANDLE_NUM_THREADS";

/// Turns candle's CPU worker pool off (`CANDLE_NUM_THREADS=1`) unless the user set it; matrix
/// multiplications keep their rayon threads. Returns whether it changed anything.
///
/// candle 0.11's pool waits for its workers by spinning; on a 2-core machine with anything
/// else running, the waiting thread burns the core the worker needs. Measured on ML-100k
/// training (2-core VM, loaded): one tower epoch 80 s with the pool, 12 s without. Rejected:
/// `RAYON_NUM_THREADS=1`, which also serialises the matmuls (15 s).
///
/// The variable is read once, at the first parallel CPU op, so call this first thing in
/// `main`. It only acts while the process has a single thread (checked in `/proc`), where
/// setting an environment variable cannot race with another thread reading one.
pub fn configure_cpu_threads() -> bool {
    set_while_single_threaded(CANDLE_THREADS_VAR, "1")
}

/// Environment variable that sizes rayon's pool and candle's matmul parallelism (read at
/// every matmul).
const RAYON_THREADS_VAR: &str = "RAYON_NUM_THREADS";

/// For `rankd serve` on the CPU: each matmul on one thread (`RAYON_NUM_THREADS=1`) unless the
/// user set it. Concurrent requests already keep the cores busy, and splitting one request's
/// small pass across cores only adds hand-offs: measured with `rankd loadgen` at concurrency 8
/// (100k items, 500 candidates, 2 cores), server CPU per request 3.05 → 2.35 ms and QPS
/// 443 → 590. Training and index builds keep the parallel matmuls. Call it before the runtime
/// starts, for the same reason as [`configure_cpu_threads`].
pub fn configure_cpu_threads_for_serving() -> bool {
    set_while_single_threaded(RAYON_THREADS_VAR, "1")
}

fn set_while_single_threaded(var: &str, value: &str) -> bool {
    if std::env::var_os(var).is_some() || !single_threaded() {
        return false;
    }
    // SAFETY: `set_var` is unsound only when another thread reads or writes the environment
    // at the same time; `single_threaded` just confirmed there is no other thread.
    unsafe { std::env::set_var(var, value) };
    true
}

/// Whether this process has exactly one thread (Linux `/proc`; false where unknown).
fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:"))
                .map(|n| n.trim() == "1")
        })
        .unwrap_or(false)
}

/// A short name for logs and reports: `cpu` or `cuda:N`.
pub fn describe(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_owned(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// Whether CUDA can be used: the build must have it (`cuda_is_available` is false without the
/// feature) and a GPU must answer.
fn cuda_present() -> bool {
    candle_core::utils::cuda_is_available() && Device::new_cuda(0).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_preference_always_gives_the_cpu() {
        let device = select_device(DevicePreference::Cpu).unwrap();
        assert!(device.is_cpu());
        assert_eq!(describe(&device), "cpu");
    }

    #[test]
    fn device_names_parse_and_unknown_names_are_rejected() {
        assert_eq!(
            "cpu".parse::<DevicePreference>().unwrap(),
            DevicePreference::Cpu
        );
        assert_eq!(
            "auto".parse::<DevicePreference>().unwrap(),
            DevicePreference::Auto
        );
        assert!(matches!(
            "tpu".parse::<DevicePreference>(),
            Err(ModelError::InvalidInput(_))
        ));
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_preference_without_the_feature_is_an_error() {
        assert!(matches!(
            select_device(DevicePreference::Cuda),
            Err(ModelError::Device(_))
        ));
    }
}
