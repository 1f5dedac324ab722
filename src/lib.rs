//! Netra watches the public social-media activity of registered civil servants (ASN) and raises
//! possible breaches of political neutrality for human review by their unit's supervisory team.
//! It never decides guilt: every finding is a lead with its evidence and a plain reason.
//!
//! # The flow
//!
//! ```text
//! registry ─▶ scheduler ─▶ sources ──Activity──▶ evidence ─▶ detect ──Finding──▶ review ─▶ outbox ─▶ webhooks
//! ```
//!
//! Data flows one way. Sources never call detection; detection never touches storage; only
//! [`store`] touches sled.
//!
//! # Module map
//!
//! | module | job |
//! |---|---|
//! | [`cli`] | command-line commands and their arguments |
//! | [`config`] | the TOML file and `NETRA_*` overrides, validated into [`config::Config`] |
//! | [`detect`] | pure detection: normalisation, word lists, matching, rules, explanation, eval |
//! | [`model`] | the domain nouns: employees, accounts, activities, findings |
//! | [`store`] | the sled database: trees, keys, transactions, export/import |
//! | [`telemetry`] | logging setup |

pub mod cli;
pub mod config;
pub mod detect;
pub mod model;
pub mod store;
pub mod telemetry;
