//! Client deadlines. tonic's transport already drops a call whose `grpc-timeout` has passed,
//! but answers `CANCELLED`; clients and dashboards expect `DEADLINE_EXCEEDED`. So handlers
//! run their work under the same deadline, a small margin earlier, and answer it themselves.

use std::time::Duration;

use tonic::metadata::MetadataMap;

/// How much earlier than the transport's timers (the client's and tonic's server-side one)
/// the handler gives up, so its DEADLINE_EXCEEDED reaches the client before the client's own
/// timer turns the call into CANCELLED. An answer past the deadline is useless to the caller
/// anyway, so giving up a few milliseconds early costs nothing real.
pub const MARGIN: Duration = Duration::from_millis(5);

/// The time this call may take: its `grpc-timeout` header (ignored when malformed), capped
/// by the server's own `limits.request_timeout_ms`, less [`MARGIN`].
pub fn budget(metadata: &MetadataMap, server_limit: Duration) -> Duration {
    metadata
        .get("grpc-timeout")
        .and_then(|value| value.to_str().ok())
        .and_then(parse_grpc_timeout)
        .map_or(server_limit, |client| client.min(server_limit))
        .saturating_sub(MARGIN)
}

/// `grpc-timeout` is at most 8 digits and a unit: H, M, S, m (ms), u (µs), n (ns).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_limit_caps_the_client_deadline() {
        let limit = Duration::from_secs(10);
        let mut metadata = MetadataMap::new();
        assert_eq!(budget(&metadata, limit), limit - MARGIN);
        metadata.insert("grpc-timeout", "250m".parse().unwrap());
        assert_eq!(budget(&metadata, limit), Duration::from_millis(245));
        metadata.insert("grpc-timeout", "1H".parse().unwrap());
        assert_eq!(budget(&metadata, limit), limit - MARGIN);
    }

    #[test]
    fn parses_every_unit_and_refuses_junk() {
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout("9n"), Some(Duration::from_nanos(9)));
        for junk in ["", "m", "123456789m", "12x", "-1S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(junk), None, "{junk}");
        }
    }
}
