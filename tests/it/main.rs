//! driftsync's integration tests: one binary, one module per area.

mod action;
mod attribution;
mod bad_input;
mod check;
mod cli;
mod codify;
mod corpus;
mod deep;
mod github;
mod github_prism;
mod iam_policy;
mod source;
mod source_http;
mod support;
mod sync;
mod testbed;
mod version;
