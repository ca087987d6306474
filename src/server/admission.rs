//! Admission in front of tonic's router, as tower layers over the raw HTTP/2 request (they
//! need the method path, which tonic's per-service interceptors do not see):
//!
//! ```text
//!  request ─► (tonic: per-connection limit, shed) ─► Auth ─► InFlight ─► router
//!               RESOURCE_EXHAUSTED                  UNAUTHENTICATED  RESOURCE_EXHAUSTED
//!                                                   PERMISSION_DENIED
//! ```
//!
//! Health checks pass both layers untouched: probes must work without credentials and must
//! not be refused because the server is busy, or an orchestrator would restart a pod for
//! being loaded.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use prometheus::IntCounterVec;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tower::{Layer, Service};

use super::tokens::{Role, TokenTable};

const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// What a method path requires of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Health: no token.
    Open,
    /// A token holding this role.
    Role(Role),
    /// Any valid token: reflection, and unknown methods (so that an anonymous caller cannot
    /// map the service by probing for UNIMPLEMENTED).
    AnyToken,
}

fn access(path: &str) -> Access {
    if path.starts_with(HEALTH_PREFIX) {
        return Access::Open;
    }
    match path {
        "/rankd.v1.Ranker/Rank" => Access::Role(Role::Rank),
        "/rankd.v1.Ranker/Feedback" => Access::Role(Role::Feedback),
        _ if path.starts_with("/rankd.v1.Admin/") => Access::Role(Role::Admin),
        _ => Access::AnyToken,
    }
}

/// Decides, before the router sees a call, whether it may proceed. The ticket is held until
/// the call's response is ready (the in-flight limit's permit; nothing for auth).
pub trait Policy: Clone + Send + Sync + 'static {
    type Ticket: Send + 'static;

    fn admit<B>(&self, request: &Request<B>) -> Result<Self::Ticket, Status>;
}

/// A tower layer applying a [`Policy`]; a refused call is answered with the policy's status
/// without reaching the router.
#[derive(Debug, Clone)]
pub struct Admission<P>(pub P);

impl<S, P: Clone> Layer<S> for Admission<P> {
    type Service = Admitted<S, P>;

    fn layer(&self, inner: S) -> Admitted<S, P> {
        Admitted {
            inner,
            policy: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Admitted<S, P> {
    inner: S,
    policy: P,
}

impl<S, P, B, R> Service<Request<B>> for Admitted<S, P>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    P: Policy,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Response<R>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.policy.admit(&request) {
            Ok(ticket) => {
                let call = self.inner.call(request);
                Box::pin(async move {
                    let response = call.await;
                    drop(ticket);
                    response
                })
            }
            Err(status) => Box::pin(std::future::ready(Ok(status.into_http()))),
        }
    }
}

/// Checks `authorization: Bearer <token>` against the token table and the method's role.
#[derive(Debug, Clone)]
pub struct Auth {
    tokens: Option<Arc<TokenTable>>,
    rejected: IntCounterVec,
}

impl Auth {
    /// `tokens: None` lets every call through (auth explicitly disabled).
    pub fn new(tokens: Option<TokenTable>, rejected: IntCounterVec) -> Self {
        Auth {
            tokens: tokens.map(Arc::new),
            rejected,
        }
    }

    fn reject(&self, reason: &str, status: Status) -> Status {
        self.rejected.with_label_values(&[reason]).inc();
        status
    }
}

impl Policy for Auth {
    type Ticket = ();

    fn admit<B>(&self, request: &Request<B>) -> Result<(), Status> {
        let Some(tokens) = &self.tokens else {
            return Ok(());
        };
        let required = access(request.uri().path());
        if required == Access::Open {
            return Ok(());
        }
        let header = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| {
                self.reject(
                    "unauthenticated",
                    Status::unauthenticated("missing `authorization: Bearer <token>` metadata"),
                )
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                self.reject(
                    "unauthenticated",
                    Status::unauthenticated("`authorization` metadata is not `Bearer <token>`"),
                )
            })?;
        let roles = tokens.roles_of(token.trim()).ok_or_else(|| {
            self.reject("unauthenticated", Status::unauthenticated("unknown token"))
        })?;
        match required {
            Access::Role(role) if !roles.contains(role) => Err(self.reject(
                "permission_denied",
                Status::permission_denied(format!(
                    "this token lacks the `{}` role that {} needs",
                    role.name(),
                    request.uri().path()
                )),
            )),
            _ => Ok(()),
        }
    }
}

/// At most `limit` calls in flight across all connections; past it a call is refused at once
/// with RESOURCE_EXHAUSTED instead of queueing, so overload shows up as fast errors that
/// clients can back off from, not as growing latency for everyone.
#[derive(Debug, Clone)]
pub struct InFlight {
    permits: Arc<Semaphore>,
    limit: usize,
    rejected: IntCounterVec,
}

impl InFlight {
    pub fn new(limit: usize, rejected: IntCounterVec) -> Self {
        InFlight {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            rejected,
        }
    }
}

impl Policy for InFlight {
    /// `None` for health checks, which are never counted.
    type Ticket = Option<OwnedSemaphorePermit>;

    fn admit<B>(&self, request: &Request<B>) -> Result<Self::Ticket, Status> {
        if access(request.uri().path()) == Access::Open {
            return Ok(None);
        }
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| {
            self.rejected.with_label_values(&["in_flight_limit"]).inc();
            Status::resource_exhausted(format!(
                "server is at its limit of {} calls in flight (limits.max_in_flight); retry \
                 with backoff",
                self.limit
            ))
        })?;
        Ok(Some(permit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_map_to_roles() {
        assert_eq!(access("/grpc.health.v1.Health/Check"), Access::Open);
        assert_eq!(access("/grpc.health.v1.Health/Watch"), Access::Open);
        assert_eq!(access("/rankd.v1.Ranker/Rank"), Access::Role(Role::Rank));
        assert_eq!(
            access("/rankd.v1.Ranker/Feedback"),
            Access::Role(Role::Feedback)
        );
        assert_eq!(access("/rankd.v1.Admin/Reload"), Access::Role(Role::Admin));
        assert_eq!(
            access("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Access::AnyToken
        );
        assert_eq!(access("/rankd.v1.Ranker/Unknown"), Access::AnyToken);
        assert_eq!(access("/grpc.health.v1.Healthz"), Access::AnyToken);
    }
}
