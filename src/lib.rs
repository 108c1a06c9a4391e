//! driftsync keeps AWS CloudFormation stacks exactly as their Git repository
//! says.
//!
//! Data flows one way:
//!
//! ```text
//! source ─ Revision ─▶ config ─ StackSpec ─▶ template::resolve ─ DesiredStack ─┐
//! live ─ LiveStack (deployed template, parameters, drift, resource state) ─────┤
//!                                                    drift::detect ─▶ DriftReport
//!                                                    policy::decide ─▶ Decisions
//!                                                    plan::build    ─▶ Plan
//!                                                    remediate::execute ─▶ Outcome
//! ```
//!
//! `doc`, `template`, `drift`, `policy`, `plan` and `report` are pure (no
//! I/O); `source` is the only module that reads git; `live` reads AWS and
//! `remediate` writes it; `github` opens, updates and closes codify pull
//! requests; `store` is the only one that keeps state on disk
//! (SQLite and the audit log); the CLI (`cli`) is the only place that prints
//! or exits.

pub mod allowed_hosts;
pub mod check;
pub mod cli;
pub mod codify;
pub mod config;
pub mod doc;
pub mod drift;
pub mod github;
pub mod iam;
pub mod live;
pub mod load;
pub mod plan;
pub mod policy;
pub mod remediate;
pub mod report;
pub mod source;
pub mod store;
pub mod sync;
pub mod template;
pub mod trust;
