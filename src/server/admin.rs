//! `rankd.v1.Admin`: what is being served, and loading another index version.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::State;
use super::proto::admin_server::Admin;
use super::proto::{InfoRequest, InfoResponse, ReloadRequest, ReloadResponse};

#[derive(Debug, Clone)]
pub struct AdminService {
    state: Arc<State>,
}

impl AdminService {
    pub fn new(state: Arc<State>) -> Self {
        AdminService { state }
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn info(&self, _request: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        Ok(Response::new(InfoResponse {
            server_version: env!("CARGO_PKG_VERSION").to_string(),
            index: None,
            model_version: String::new(),
            device: String::new(),
            last_reload_error: String::new(),
        }))
    }

    async fn reload(
        &self,
        _request: Request<ReloadRequest>,
    ) -> Result<Response<ReloadResponse>, Status> {
        Err(self.state.not_loaded())
    }
}
