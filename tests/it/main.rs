//! driftsync's integration tests: one binary, one module per area.

mod action;
mod artifacts;
mod attribution;
mod aws_errors;
mod bad_input;
mod cfn_lint_good;
mod check;
mod cli;
mod codify;
mod corpus;
mod deep;
mod github;
mod github_prism;
mod iam_policy;
mod nested;
mod secrets;
mod source;
mod source_http;
mod state;
mod support;
mod sync;
mod testbed;
mod usage;
mod verify_commits;
mod version;
