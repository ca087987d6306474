//! `rankd.v1.Admin`: what is being served, loading another index version, and erasing a
//! user's feedback.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::proto::admin_server::Admin;
use super::proto::{
    ForgetUserRequest, ForgetUserResponse, IndexInfo, InfoRequest, InfoResponse, ReloadRequest,
    ReloadResponse,
};
use super::state::State;
use super::validate;
use crate::rank::Engine;

#[derive(Debug, Clone)]
pub struct AdminService {
    state: Arc<State>,
}

impl AdminService {
    pub fn new(state: Arc<State>) -> Self {
        AdminService { state }
    }
}

fn index_info(engine: &Engine) -> IndexInfo {
    let manifest = engine.index().manifest();
    IndexInfo {
        name: engine.name().to_string(),
        version: engine.version().to_string(),
        item_count: engine.index().len() as u64,
        dimension: engine.index().dim() as u32,
        metric: format!("{:?}", engine.index().metric()).to_lowercase(),
        m: manifest.params.m as u32,
        ef_construction: manifest.params.ef_construction as u32,
        created_at: manifest.created_at.clone(),
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn info(&self, _request: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        let engine = self.state.engine();
        Ok(Response::new(InfoResponse {
            server_version: env!("CARGO_PKG_VERSION").to_string(),
            index: engine.as_deref().map(index_info),
            model_version: engine
                .as_deref()
                .map(|e| e.model_version().to_string())
                .unwrap_or_default(),
            device: crate::model::describe_device(&self.state.device),
            last_reload_error: self.state.last_reload_error(),
        }))
    }

    async fn reload(
        &self,
        request: Request<ReloadRequest>,
    ) -> Result<Response<ReloadResponse>, Status> {
        let version = Some(request.into_inner().version).filter(|v| !v.is_empty());
        let swapped = self.state.reload(version).await?;
        Ok(Response::new(ReloadResponse {
            index: Some(index_info(&swapped.engine)),
            previous_version: swapped.previous.unwrap_or_default(),
        }))
    }

    async fn forget_user(
        &self,
        request: Request<ForgetUserRequest>,
    ) -> Result<Response<ForgetUserResponse>, Status> {
        let user_id = validate::forget_user(request.into_inner(), &self.state.limits)?;
        let state = self.state.clone();
        // It rewrites segment files and fsyncs: a blocking thread, not a runtime worker.
        let removed = tokio::task::spawn_blocking(move || {
            let user = state.feedback.user_key(&user_id);
            state.feedback.forget(&user)
        })
        .await
        .map_err(|e| Status::internal(format!("feedback eraser failed: {e}")))??;
        Ok(Response::new(ForgetUserResponse {
            removed_events: removed as u64,
        }))
    }
}
