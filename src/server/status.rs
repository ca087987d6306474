//! The one place where engine and validation errors become gRPC status codes.

use tonic::Status;

use super::validate::FieldError;

impl From<FieldError> for Status {
    fn from(err: FieldError) -> Status {
        Status::invalid_argument(err.to_string())
    }
}
