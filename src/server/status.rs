//! The one place where engine and validation errors become gRPC status codes.

use tonic::Status;

use super::state::ReloadError;
use super::validate::FieldError;
use crate::feedback::FeedbackError;
use crate::rank::{BatchError, RankError};

impl From<FieldError> for Status {
    fn from(err: FieldError) -> Status {
        Status::invalid_argument(err.to_string())
    }
}

impl From<RankError> for Status {
    fn from(err: RankError) -> Status {
        match err {
            RankError::NotLoaded => Status::unavailable(
                "no index is loaded yet; health reports NOT_SERVING for rankd.v1.Ranker until one is",
            ),
            RankError::Batch(BatchError::QueueFull(n)) => Status::resource_exhausted(format!(
                "the inference queue is full ({n} requests waiting); retry with backoff"
            )),
            RankError::Batch(BatchError::Stopped) => {
                Status::unavailable("the inference worker has stopped")
            }
            RankError::DeadlineExceeded(after) => Status::deadline_exceeded(format!(
                "the deadline passed after {} ms",
                after.as_millis()
            )),
            other => {
                tracing::error!(error = %other, "rank failed");
                Status::internal(other.to_string())
            }
        }
    }
}

/// Storing (Feedback) and erasing (Admin.ForgetUser) alike: the log could not be written.
/// The message names the file, never the user (the error types hold no user id).
impl From<FeedbackError> for Status {
    fn from(err: FeedbackError) -> Status {
        tracing::error!(error = %err, "feedback log write failed");
        Status::unavailable(format!("the feedback log could not be written: {err}"))
    }
}

impl From<ReloadError> for Status {
    fn from(err: ReloadError) -> Status {
        Status::failed_precondition(err.to_string())
    }
}
