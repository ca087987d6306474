//! Integration tests of rankd-index, compiled into one binary:
//!
//! | module | guards |
//! |---|---|
//! | `round_trip` | build → publish → open → search, CURRENT, ids and attributes, input errors |
//! | `corruption` | truncated, flipped, wrong-version and mismatched files give typed errors |
//! | `filters` | filters never leak; recall at 1 % and 30 % selectivity; strategy choice |
//! | `fashion_mnist` | recall on real vectors, mapped search vs hnsw_rs's search |
//! | `fixture_v1` | the committed format-v1 index still opens and searches |

mod common;
mod corruption;
mod fashion_mnist;
mod filters;
mod fixture_v1;
mod round_trip;
