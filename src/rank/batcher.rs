//! Dynamic batching: many requests' candidates scored in one forward pass.
//!
//! Actor threads own the scorer (and so the device); a cloneable [`BatcherHandle`] sends
//! each request's candidates with a oneshot reply. An actor runs one pass when
//! `max_batch_candidates` are queued or `max_wait` has passed since the oldest queued job,
//! whichever comes first (with the default wait of 0: at once, with what is queued). The
//! queue is bounded: when it is full, [`BatcherHandle::score`] fails at once with
//! [`BatchError::QueueFull`] (the server answers `RESOURCE_EXHAUSTED`) rather than letting
//! latency grow without bound.
//!
//! `workers` actors share the queue: one on a GPU (one stream; passes would only contend),
//! one per core on the CPU, where a pass runs on one thread and a single actor would leave
//! the other cores idle while requests wait for it.
//!
//! Plain OS threads with a std bounded channel, not tokio tasks: a forward pass is seconds
//! of CPU at worst and would stall a runtime worker, and `recv_timeout` is exactly the
//! "first job, then wait at most `max_wait` for more" loop this needs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// One request's candidates, as one job: sent whole, so a request's inputs are never split
/// into per-candidate values that the pass would have to gather again.
pub trait BatchInput: Send + 'static {
    /// Candidates in the job: the number of scores it gets back.
    fn candidates(&self) -> usize;
}

/// Scores the jobs of one pass: [`BatchInput::candidates`] scores per job, jobs in order,
/// concatenated. Implementations must be row-independent (a candidate's score does not
/// depend on its batch-mates), which is what makes batched scores equal single scores.
pub trait BatchScorer: Send + 'static {
    type Input: BatchInput;
    type Error: std::fmt::Display + Send + 'static;

    fn score(&mut self, jobs: &[Self::Input]) -> Result<Vec<f32>, Self::Error>;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatcherConfig {
    /// Run a pass once this many candidates are queued.
    pub max_batch_candidates: usize,
    /// Or once the oldest queued job has waited this long.
    pub max_wait_us: u64,
    /// Jobs (requests) that may wait; beyond this, callers are shed.
    pub queue_capacity: usize,
    /// Passes that may run at once, each on its own thread; 0: one per CPU core when the
    /// model runs on the CPU, one on a GPU.
    pub workers: usize,
}

impl BatcherConfig {
    /// `workers`, with 0 resolved for a model on the CPU (`on_cpu`) or on a GPU.
    pub fn workers_for(&self, on_cpu: bool) -> usize {
        match self.workers {
            0 if on_cpu => std::thread::available_parallelism().map_or(1, |n| n.get()),
            0 => 1,
            n => n,
        }
    }
}

/// No wait by default: a pass takes the first job and whatever else is already queued, so an
/// idle server scores at once and a busy one batches what queued during the previous pass.
/// Measured on the 2-core load test (100k items, 500 candidates, concurrency 8): the former
/// 2 ms wait added its full length at low load and never filled a pass on the CPU; a GPU
/// deployment that wants fuller passes sets `max_wait_us`.
impl Default for BatcherConfig {
    fn default() -> Self {
        BatcherConfig {
            max_batch_candidates: 4_096,
            max_wait_us: 0,
            queue_capacity: 256,
            workers: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("the inference queue is full ({0} requests waiting); retry with backoff")]
    QueueFull(usize),
    #[error("the inference worker has stopped")]
    Stopped,
    #[error("scoring failed: {0}")]
    Scorer(String),
}

/// Counters the metrics layer reads; updated by the actor.
#[derive(Debug, Default)]
pub struct BatcherStats {
    pub queued_jobs: AtomicUsize,
}

struct Job<I> {
    input: I,
    reply: oneshot::Sender<Result<Vec<f32>, BatchError>>,
    span: tracing::Span,
}

/// Observes each pass (for metrics): number of candidates and jobs in it, and its duration.
pub type PassObserver = Arc<dyn Fn(usize, usize, Duration) + Send + Sync>;

pub struct BatcherHandle<I> {
    tx: SyncSender<Job<I>>,
    capacity: usize,
    stats: Arc<BatcherStats>,
}

impl<I> Clone for BatcherHandle<I> {
    fn clone(&self) -> Self {
        BatcherHandle {
            tx: self.tx.clone(),
            capacity: self.capacity,
            stats: self.stats.clone(),
        }
    }
}

impl<I> std::fmt::Debug for BatcherHandle<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatcherHandle")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<I: BatchInput> BatcherHandle<I> {
    /// Starts `config.workers` actor threads (at least one; resolve 0 with
    /// [`BatcherConfig::workers_for`] first); they stop when every handle is dropped.
    pub fn spawn<S: BatchScorer<Input = I> + Clone>(
        scorer: S,
        config: &BatcherConfig,
        observe: PassObserver,
    ) -> BatcherHandle<I> {
        let capacity = config.queue_capacity.max(1);
        let (tx, rx) = mpsc::sync_channel(capacity);
        // One receiver for all actors: whoever holds the lock gathers the next pass.
        let rx = Arc::new(Mutex::new(rx));
        let stats = Arc::new(BatcherStats::default());
        for worker in 0..config.workers.max(1) {
            let actor = Actor {
                scorer: scorer.clone(),
                max_candidates: config.max_batch_candidates.max(1),
                max_wait: Duration::from_micros(config.max_wait_us),
                stats: stats.clone(),
                observe: observe.clone(),
            };
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("rankd-batcher-{worker}"))
                .spawn(move || actor.run(&rx))
                .expect("spawning a batcher thread");
        }
        BatcherHandle {
            tx,
            capacity,
            stats,
        }
    }

    /// Scores `input` in some upcoming pass. Fails at once when the queue is full.
    pub async fn score(&self, input: I) -> Result<Vec<f32>, BatchError> {
        if input.candidates() == 0 {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            input,
            reply,
            span: tracing::Span::current(),
        };
        match self.tx.try_send(job) {
            Ok(()) => {
                self.stats.queued_jobs.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_)) => return Err(BatchError::QueueFull(self.capacity)),
            Err(TrySendError::Disconnected(_)) => return Err(BatchError::Stopped),
        }
        answer.await.map_err(|_| BatchError::Stopped)?
    }

    pub fn stats(&self) -> &BatcherStats {
        &self.stats
    }
}

struct Actor<S: BatchScorer> {
    scorer: S,
    max_candidates: usize,
    max_wait: Duration,
    stats: Arc<BatcherStats>,
    observe: PassObserver,
}

impl<S: BatchScorer> Actor<S> {
    fn run(mut self, rx: &Mutex<mpsc::Receiver<Job<S::Input>>>) {
        loop {
            // The lock only while gathering: a guard in the `while let` scrutinee would live
            // through the pass and serialise the workers.
            let gathered = self.gather(&rx.lock());
            let Some(jobs) = gathered else {
                return;
            };
            self.stats
                .queued_jobs
                .fetch_sub(jobs.len(), Ordering::Relaxed);
            self.pass(jobs);
        }
    }

    /// The next pass's jobs: the first to arrive, then more until the pass is full or
    /// `max_wait` is up. `None` once every handle is gone.
    fn gather(&self, rx: &mpsc::Receiver<Job<S::Input>>) -> Option<Vec<Job<S::Input>>> {
        let first = rx.recv().ok()?;
        let deadline = Instant::now() + self.max_wait;
        let mut candidates = first.input.candidates();
        let mut jobs = vec![first];
        while candidates < self.max_candidates {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(job) => {
                    candidates += job.input.candidates();
                    jobs.push(job);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        Some(jobs)
    }

    fn pass(&mut self, jobs: Vec<Job<S::Input>>) {
        // A caller that gave up (deadline passed, client went away) is not worth scoring.
        let jobs: Vec<_> = jobs.into_iter().filter(|j| !j.reply.is_closed()).collect();
        if jobs.is_empty() {
            return;
        }
        let mut lengths = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut inputs = Vec::with_capacity(jobs.len());
        let span = jobs[0].span.clone();
        for job in jobs {
            lengths.push(job.input.candidates());
            inputs.push(job.input);
            replies.push(job.reply);
        }
        let candidates: usize = lengths.iter().sum();
        let _entered = span.enter();
        let started = Instant::now();
        let result = self.scorer.score(&inputs);
        (self.observe)(candidates, replies.len(), started.elapsed());
        match result {
            Ok(scores) if scores.len() == candidates => {
                let mut rest = scores.as_slice();
                for (reply, len) in replies.into_iter().zip(lengths) {
                    let (mine, tail) = rest.split_at(len);
                    rest = tail;
                    let _ = reply.send(Ok(mine.to_vec()));
                }
            }
            Ok(scores) => {
                let err = BatchError::Scorer(format!(
                    "scorer returned {} scores for {candidates} inputs",
                    scores.len(),
                ));
                replies
                    .into_iter()
                    .for_each(|r| drop(r.send(Err(err.clone()))));
            }
            Err(err) => {
                let err = BatchError::Scorer(err.to_string());
                replies
                    .into_iter()
                    .for_each(|r| drop(r.send(Err(err.clone()))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Score = 2x + 1, and records every pass's size.
    #[derive(Clone)]
    struct Affine {
        passes: Arc<Mutex<Vec<usize>>>,
        delay: Duration,
    }

    impl BatchInput for Vec<f32> {
        fn candidates(&self) -> usize {
            self.len()
        }
    }

    impl BatchScorer for Affine {
        type Input = Vec<f32>;
        type Error = String;

        fn score(&mut self, jobs: &[Vec<f32>]) -> Result<Vec<f32>, String> {
            std::thread::sleep(self.delay);
            self.passes
                .lock()
                .unwrap()
                .push(jobs.iter().map(Vec::len).sum());
            Ok(jobs.iter().flatten().map(|x| 2.0 * x + 1.0).collect())
        }
    }

    fn spawn(
        config: BatcherConfig,
        delay: Duration,
    ) -> (BatcherHandle<Vec<f32>>, Arc<Mutex<Vec<usize>>>) {
        let passes = Arc::new(Mutex::new(Vec::new()));
        let scorer = Affine {
            passes: passes.clone(),
            delay,
        };
        (
            BatcherHandle::spawn(scorer, &config, Arc::new(|_, _, _| {})),
            passes,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_passes_and_get_their_own_scores() {
        let config = BatcherConfig {
            max_batch_candidates: 1_000,
            max_wait_us: 50_000,
            queue_capacity: 64,
            workers: 1,
        };
        let (handle, passes) = spawn(config, Duration::ZERO);
        let tasks: Vec<_> = (0..8)
            .map(|r| {
                let handle = handle.clone();
                tokio::spawn(async move {
                    let inputs: Vec<f32> = (0..10).map(|i| (r * 100 + i) as f32).collect();
                    let scores = handle.score(inputs.clone()).await.unwrap();
                    (inputs, scores)
                })
            })
            .collect();
        for task in tasks {
            let (inputs, scores) = task.await.unwrap();
            let expected: Vec<f32> = inputs.iter().map(|x| 2.0 * x + 1.0).collect();
            assert_eq!(scores, expected);
        }
        let passes = passes.lock().unwrap();
        assert_eq!(passes.iter().sum::<usize>(), 80);
        assert!(passes.len() < 8, "no batching happened: {passes:?}");
    }

    #[tokio::test]
    async fn a_full_batch_runs_without_waiting_for_max_wait() {
        let config = BatcherConfig {
            max_batch_candidates: 10,
            max_wait_us: 60_000_000,
            queue_capacity: 4,
            workers: 1,
        };
        let (handle, _) = spawn(config, Duration::ZERO);
        let scores = tokio::time::timeout(Duration::from_secs(5), handle.score(vec![1.0; 10]))
            .await
            .expect("a full batch must not wait a minute");
        assert_eq!(scores.unwrap(), vec![3.0; 10]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn full_queue_sheds_at_once_and_recovers() {
        let config = BatcherConfig {
            max_batch_candidates: 1,
            max_wait_us: 0,
            queue_capacity: 2,
            workers: 1,
        };
        let (handle, _) = spawn(config, Duration::from_millis(200));
        let in_flight: Vec<_> = (0..6)
            .map(|_| {
                let handle = handle.clone();
                tokio::spawn(async move { handle.score(vec![1.0]).await })
            })
            .collect();
        let mut shed = 0;
        let mut served = 0;
        for task in in_flight {
            match task.await.unwrap() {
                Ok(_) => served += 1,
                Err(BatchError::QueueFull(2)) => shed += 1,
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert!(shed >= 1, "nothing was shed");
        assert!(served >= 2, "too little was served");
        assert_eq!(handle.score(vec![0.5]).await.unwrap(), vec![2.0]);
    }

    /// Counts passes running at the same moment.
    #[derive(Clone, Default)]
    struct Overlap {
        running: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    impl BatchScorer for Overlap {
        type Input = Vec<f32>;
        type Error = String;

        fn score(&mut self, jobs: &[Vec<f32>]) -> Result<Vec<f32>, String> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(150));
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(jobs.iter().flatten().copied().collect())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_run_passes_side_by_side() {
        let config = BatcherConfig {
            max_batch_candidates: 1,
            max_wait_us: 0,
            queue_capacity: 8,
            workers: 2,
        };
        let scorer = Overlap::default();
        let handle = BatcherHandle::spawn(scorer.clone(), &config, Arc::new(|_, _, _| {}));
        let calls: Vec<_> = (0..4)
            .map(|i| {
                let handle = handle.clone();
                tokio::spawn(async move { handle.score(vec![i as f32]).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            assert_eq!(call.await.unwrap().unwrap(), vec![i as f32]);
        }
        assert_eq!(scorer.most.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn zero_workers_means_one_per_core_on_the_cpu_and_one_on_a_gpu() {
        let auto = BatcherConfig::default();
        assert_eq!(auto.workers_for(false), 1);
        assert!(auto.workers_for(true) >= 1);
        let fixed = BatcherConfig {
            workers: 3,
            ..BatcherConfig::default()
        };
        assert_eq!((fixed.workers_for(true), fixed.workers_for(false)), (3, 3));
    }
}
