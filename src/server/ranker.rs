//! `rankd.v1.Ranker`: thin handlers — validate, call the engine, convert.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tonic::{Code, Request, Response, Status};

use super::proto::ranker_server::Ranker;
use super::proto::{FeedbackRequest, FeedbackResponse, RankRequest, RankResponse};
use super::state::State;
use super::{convert, deadline, validate};
use crate::rank::{Engine, RankError, RankQuery, Ranked, ScoreInput};

#[derive(Debug, Clone)]
pub struct RankerService {
    state: Arc<State>,
}

impl RankerService {
    pub fn new(state: Arc<State>) -> Self {
        RankerService { state }
    }

    fn observe<T>(&self, rpc: &str, started: Instant, result: &Result<T, Status>) {
        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        self.state.metrics.observe_rpc(rpc, code, started);
        let queued = self
            .state
            .batcher
            .stats()
            .queued_jobs
            .load(Ordering::Relaxed);
        self.state.metrics.queue_depth.set(queued as i64);
        if code == Code::ResourceExhausted {
            self.state.metrics.shed.inc();
        }
    }

    async fn rank_request(&self, request: Request<RankRequest>) -> Result<RankResponse, Status> {
        let budget = deadline::budget(request.metadata(), self.state.limits.request_timeout());
        let mut query = validate::rank_request(request.into_inner(), &self.state.limits)?;
        if query.request_id.is_empty() {
            query.request_id = format!("{:016x}", rand::random::<u64>());
        }
        let engine = self.state.engine().ok_or(RankError::NotLoaded)?;
        let explain = query.explain;
        let request_id = query.request_id.clone();
        let work = rank(self.state.clone(), engine, query);
        // Nothing left after the margin: answer now. A zero `tokio::time::timeout` only fires
        // at the timer's next millisecond tick, and a small Rank can finish first.
        if budget.is_zero() {
            return Err(RankError::DeadlineExceeded(budget).into());
        }
        let ranked = tokio::time::timeout(budget, work)
            .await
            .map_err(|_| RankError::DeadlineExceeded(budget))??;
        for (stage, elapsed) in &ranked.timings {
            self.state.metrics.observe_stage(stage, *elapsed);
        }
        Ok(convert::rank_response(request_id, ranked, explain))
    }

    async fn feedback_request(
        &self,
        request: Request<FeedbackRequest>,
    ) -> Result<FeedbackResponse, Status> {
        let events = convert::feedback_events(request.into_inner(), &self.state.limits)?;
        let state = self.state.clone();
        // The append does file I/O and fsync: a blocking thread, not a runtime worker.
        let stored = tokio::task::spawn_blocking(move || state.feedback.record(&events))
            .await
            .map_err(|e| Status::internal(format!("feedback writer failed: {e}")))??;
        self.state.metrics.feedback_events.inc_by(stored as u64);
        Ok(FeedbackResponse {
            stored: stored as u32,
        })
    }
}

/// The pipeline on one engine snapshot: prepare on a blocking thread, score through the
/// batcher, finish. Dropping this future (deadline) drops the batcher's reply channel, and the
/// batcher then skips the job.
async fn rank(
    state: Arc<State>,
    engine: Arc<Engine>,
    query: RankQuery,
) -> Result<Ranked, RankError> {
    let history = query
        .user_id
        .as_deref()
        .map(|user| state.feedback.recent_items(user))
        .unwrap_or_default();
    let query = Arc::new(query);
    let (prep_engine, prep_query) = (engine.clone(), query.clone());
    let mut prepared = blocking(&state, move || prep_engine.prepare(&prep_query, &history)).await?;
    let started = Instant::now();
    let input = ScoreInput {
        models: engine.models().clone(),
        rows: prepared.rows().clone(),
    };
    let scores = state.batcher.score(input).await?;
    prepared.record_stage("score", started.elapsed());
    blocking(&state, move || engine.finish(&query, prepared, &scores)).await
}

async fn blocking<T: Send + 'static>(
    state: &State,
    f: impl FnOnce() -> Result<T, RankError> + Send + 'static,
) -> Result<T, RankError> {
    let _slot = state
        .cpu_slots
        .acquire()
        .await
        .map_err(|e| RankError::Worker(e.to_string()))?;
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|join| Err(RankError::Worker(join.to_string())))
}

#[tonic::async_trait]
impl Ranker for RankerService {
    async fn rank(&self, request: Request<RankRequest>) -> Result<Response<RankResponse>, Status> {
        let started = Instant::now();
        let result = self.rank_request(request).await;
        self.observe("Rank", started, &result);
        result.map(Response::new)
    }

    async fn feedback(
        &self,
        request: Request<FeedbackRequest>,
    ) -> Result<Response<FeedbackResponse>, Status> {
        let started = Instant::now();
        let result = self.feedback_request(request).await;
        self.observe("Feedback", started, &result);
        result.map(Response::new)
    }
}
