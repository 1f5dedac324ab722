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
//! [`store`] touches the database.
//!
//! # Module map
//!
//! | module | job |
//! |---|---|
//! | [`access`] | users, roles, unit scopes, API tokens, and the one policy function |
//! | [`alerts`] | alert webhooks: the outbox delivery worker, signing, formats, SSRF guard |
//! | [`app`] | wiring of the long-lived commands: serve, scan, imports, findings list |
//! | [`cli`] | command-line commands and their arguments |
//! | [`config`] | the TOML file and `NETRA_*` overrides, validated into [`config::Config`] |
//! | [`daemon`] | the service loop: registry → scheduler → scans, with a clean stop |
//! | [`http`] | the HTTP API and pages: `router(state)` |
//! | [`judging`] | the pipeline's judge: detection in its election context (day, region, watched accounts) |
//! | [`metrics`] | counters and gauges in the Prometheus text format |
//! | [`demo`] | `netra demo`: simulator, registration, a demo reviewer and the daemon in one command |
//! | [`detect`] | pure detection: normalisation, word lists, matching, rules, explanation, eval |
//! | [`model`] | the domain nouns: employees, accounts, activities, findings |
//! | [`ops`] | backups with checksums, the retention and backup schedules, access-request exports |
//! | [`packet`] | evidence packets per case: printable HTML and self-verifying JSON |
//! | [`pipeline`] | one scan of one account: fetch, keep evidence, judge, store with the cursor |
//! | [`registry`] | who is watched: employees, accounts, candidate accounts; CSV import |
//! | [`report`] | reports to leadership per unit and period: JSON, CSV, printable HTML with SVG charts |
//! | [`review`] | the review workflow as pure rules: claims (leases), decisions, reopening |
//! | [`scheduler`] | when to read which account: the polling policy |
//! | [`snapshots`] | account snapshots: following list and profile compared with the last one → follow, unfollow, profile activities |
//! | [`simulator`] | `netra simulate`: fake Mastodon, Bluesky and RSS on loopback with a scripted population (demo, tests, benchmarks; never on the daemon's path) |
//! | [`sources`] | platform connectors: responses in, [`model::Activity`] out |
//! | [`store`] | the database (sled, or PostgreSQL for replicas): trees, keys, transactions, export/import, replica claims |
//! | [`telemetry`] | logging setup |

pub mod access;
pub mod alerts;
pub mod app;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod detect;
pub mod http;
pub mod judging;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod packet;
pub mod pipeline;
pub mod registry;
pub mod report;
pub mod review;
pub mod scheduler;
pub mod simulator;
pub mod snapshots;
pub mod sources;
pub mod store;
pub mod telemetry;
