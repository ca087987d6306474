//! Bearer tokens and their roles: the `[auth]` section, the token file format and a lookup
//! that takes the same time whichever token (if any) matches.
//!
//! Format, one token per line (`#` starts a comment), in a file (`auth.tokens_file`, mounted
//! from a secret) and/or in the `RANKD_TOKENS` variable (entries separated by newlines or `;`):
//!
//! ```text
//! # roles            token (16+ visible ASCII characters, no `#` or `;`)
//! rank,feedback      3f9c1b7e0a6d4c2f8e5b9a1d7c3e6f02
//! admin              b8e2d4f6a1c3e5f7092b4d6f8a0c2e4f
//! ```
//!
//! Never on the command line: argv is world-readable through `/proc` and lands in shell
//! history. Only SHA-256 digests are kept in memory after loading.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// The variable tokens may come from, in the file's format.
pub const TOKENS_ENV: &str = "RANKD_TOKENS";

/// Shortest token accepted: 16 random bytes is the least a guess should have to beat.
pub const MIN_TOKEN_LEN: usize = 16;

/// The `[auth]` config section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// File of `<role>[,<role>...] <token>` lines; see the module docs.
    pub tokens_file: Option<PathBuf>,
    /// Accept every call without a token. Must be said explicitly (loopback demos, tests,
    /// or a mesh that authenticates callers before they reach the pod).
    pub disabled: bool,
}

/// What a token may call. Health checks need no token at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `Ranker.Rank`.
    Rank,
    /// `Ranker.Feedback`.
    Feedback,
    /// Every `Admin` method.
    Admin,
}

impl Role {
    const ALL: [Role; 3] = [Role::Rank, Role::Feedback, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Rank => "rank",
            Role::Feedback => "feedback",
            Role::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Role::Rank => 1,
            Role::Feedback => 2,
            Role::Admin => 4,
        }
    }
}

/// A set of roles (a bit set, so that the lookup can select it without branching).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles(u8);

impl Roles {
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "no tokens configured: set auth.tokens_file or {TOKENS_ENV}, or auth.disabled = true \
         to accept calls without a token"
    )]
    NotConfigured,
    #[error("auth.disabled = true contradicts tokens given in {0}; choose one")]
    Contradiction(String),
    #[error("auth.tokens_file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `source` names the file or the variable; the token itself is never echoed.
    #[error("{source_name} entry {entry}: {problem}")]
    Invalid {
        source_name: String,
        entry: usize,
        problem: String,
    },
}

/// Digests of the accepted tokens with their roles.
#[derive(Debug, Clone)]
pub struct TokenTable {
    entries: Vec<([u8; 32], Roles)>,
}

impl AuthConfig {
    /// The tokens to enforce, or `None` when auth is explicitly disabled. `env_tokens` is the
    /// value of [`TOKENS_ENV`], passed in so tests need not touch the process environment.
    pub fn token_table(&self, env_tokens: Option<&str>) -> Result<Option<TokenTable>, TokenError> {
        let env_tokens = env_tokens.filter(|text| !text.trim().is_empty());
        if self.disabled {
            return match (&self.tokens_file, env_tokens) {
                (Some(path), _) => Err(TokenError::Contradiction(format!(
                    "auth.tokens_file {}",
                    path.display()
                ))),
                (None, Some(_)) => Err(TokenError::Contradiction(TOKENS_ENV.to_string())),
                (None, None) => Ok(None),
            };
        }
        let mut table = TokenTable {
            entries: Vec::new(),
        };
        if let Some(path) = &self.tokens_file {
            let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
                path: path.clone(),
                source,
            })?;
            table.add(
                &format!("auth.tokens_file {}", path.display()),
                text.lines(),
            )?;
        }
        if let Some(text) = env_tokens {
            table.add(TOKENS_ENV, text.split(['\n', ';']))?;
        }
        if table.entries.is_empty() {
            return Err(TokenError::NotConfigured);
        }
        Ok(Some(table))
    }
}

impl TokenTable {
    fn add<'a>(
        &mut self,
        source_name: &str,
        lines: impl Iterator<Item = &'a str>,
    ) -> Result<(), TokenError> {
        for (index, line) in lines.enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let invalid = |problem: String| TokenError::Invalid {
                source_name: source_name.to_string(),
                entry: index + 1,
                problem,
            };
            let (roles, token) = parse_entry(line).map_err(invalid)?;
            let digest = digest(token);
            if self.entries.iter().any(|(known, _)| *known == digest) {
                return Err(invalid("repeats a token given earlier".into()));
            }
            self.entries.push((digest, roles));
        }
        Ok(())
    }

    /// The roles of `token`, if it is one of ours. Every entry is compared, in constant time,
    /// whether or not an earlier one matched: timing reveals neither which token matched nor
    /// how many leading bytes of a guess were right. Comparing digests also makes the work
    /// independent of the presented token's length.
    pub fn roles_of(&self, token: &str) -> Option<Roles> {
        let presented = digest(token);
        let mut found = 0u8;
        for (known, roles) in &self.entries {
            found.conditional_assign(&roles.0, known.ct_eq(&presented));
        }
        (found != 0).then_some(Roles(found))
    }
}

fn parse_entry(line: &str) -> Result<(Roles, &str), String> {
    let mut parts = line.split_whitespace();
    let (Some(roles), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected `<role>[,<role>...] <token>`".into());
    };
    let mut bits = 0u8;
    for name in roles.split(',') {
        let role = Role::ALL
            .into_iter()
            .find(|role| role.name() == name)
            .ok_or_else(|| format!("unknown role `{name}`; expected rank, feedback or admin"))?;
        bits |= role.bit();
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("token must be visible ASCII (it travels in a gRPC metadata value)".into());
    }
    if token.len() < MIN_TOKEN_LEN {
        return Err(format!(
            "token is shorter than {MIN_TOKEN_LEN} characters (generate one with \
             `openssl rand -hex 32`)"
        ));
    }
    Ok((Roles(bits), token))
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANK: &str = "rank-token-0123456789";
    const ADMIN: &str = "admin-token-0123456789";

    fn table(text: &str) -> Result<Option<TokenTable>, TokenError> {
        AuthConfig::default().token_table(Some(text))
    }

    #[test]
    fn roles_are_looked_up_per_token() {
        let table = table(&format!("rank,feedback {RANK} # the shop\n\nadmin {ADMIN}"))
            .unwrap()
            .unwrap();
        let rank = table.roles_of(RANK).unwrap();
        assert!(rank.contains(Role::Rank) && rank.contains(Role::Feedback));
        assert!(!rank.contains(Role::Admin));
        let admin = table.roles_of(ADMIN).unwrap();
        assert!(admin.contains(Role::Admin) && !admin.contains(Role::Rank));
        assert_eq!(table.roles_of("rank-token-012345678"), None);
        assert_eq!(table.roles_of(""), None);
    }

    #[test]
    fn env_entries_split_on_semicolons_and_add_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, format!("admin {ADMIN}\n")).unwrap();
        let config = AuthConfig {
            tokens_file: Some(file),
            disabled: false,
        };
        let table = config
            .token_table(Some(&format!(
                "rank {RANK}; feedback feedback-token-0123456789"
            )))
            .unwrap()
            .unwrap();
        assert!(table.roles_of(ADMIN).unwrap().contains(Role::Admin));
        assert!(table.roles_of(RANK).unwrap().contains(Role::Rank));
        let feedback = table.roles_of("feedback-token-0123456789").unwrap();
        assert!(feedback.contains(Role::Feedback));
    }

    #[test]
    fn bad_entries_name_the_source_and_entry_but_not_the_token() {
        for (text, expected) in [
            (
                format!("rank {RANK}\nshopper {ADMIN}"),
                "unknown role `shopper`",
            ),
            ("rank short".to_string(), "shorter than 16"),
            (format!("rank {RANK} extra"), "expected `<role>"),
            (format!("rank {RANK}\nadmin {RANK}"), "repeats a token"),
        ] {
            let err = table(&text).unwrap_err().to_string();
            assert!(err.contains(TOKENS_ENV) && err.contains(expected), "{err}");
            assert!(!err.contains(RANK) && !err.contains(ADMIN), "{err}");
        }
    }

    #[test]
    fn no_tokens_is_refused_unless_auth_is_disabled() {
        let err = AuthConfig::default().token_table(None).unwrap_err();
        assert!(err.to_string().contains("auth.disabled = true"), "{err}");
        assert!(matches!(
            table("# only a comment"),
            Err(TokenError::NotConfigured)
        ));
        let disabled = AuthConfig {
            tokens_file: None,
            disabled: true,
        };
        assert!(disabled.token_table(None).unwrap().is_none());
        let err = disabled
            .token_table(Some(&format!("rank {RANK}")))
            .unwrap_err();
        assert!(err.to_string().contains(TOKENS_ENV), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let config = AuthConfig {
            tokens_file: Some(PathBuf::from("/nonexistent/rankd-tokens")),
            disabled: false,
        };
        let err = config.token_table(None).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/rankd-tokens"),
            "{err}"
        );
    }
}
