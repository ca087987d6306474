//! `rankd.v1.Ranker`: thin handlers — validate, call the engine, convert.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::State;
use super::proto::ranker_server::Ranker;
use super::proto::{FeedbackRequest, FeedbackResponse, RankRequest, RankResponse};
use super::validate;

#[derive(Debug, Clone)]
pub struct RankerService {
    state: Arc<State>,
}

impl RankerService {
    pub fn new(state: Arc<State>) -> Self {
        RankerService { state }
    }
}

#[tonic::async_trait]
impl Ranker for RankerService {
    async fn rank(&self, request: Request<RankRequest>) -> Result<Response<RankResponse>, Status> {
        let _query = validate::rank_request(request.into_inner(), &self.state.limits)?;
        Err(self.state.not_loaded())
    }

    async fn feedback(
        &self,
        _request: Request<FeedbackRequest>,
    ) -> Result<Response<FeedbackResponse>, Status> {
        Err(self.state.not_loaded())
    }
}
