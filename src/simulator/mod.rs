//! The platform simulator (`netra simulate`): a local fake of Mastodon, Bluesky (AppView, PDS,
//! PLC directory) and RSS on one loopback HTTP server, serving a deterministic scripted
//! population. It exists for `netra demo`, integration tests and benchmarks; the daemon never
//! depends on it.
//!
//! # URL layout (`ADDR` = the bound address)
//!
//! | base URL | serves |
//! |---|---|
//! | `http://ADDR/mastodon/<domain>` | Mastodon instance `<domain>` (`mastodon.example`, `sosial.go.example`, `fedi.example`): `/api/v1/accounts/lookup`, `/api/v1/accounts/:id`, `/api/v1/accounts/:id/statuses`, `/api/v1/accounts/:id/following`, `/api/v1/statuses/:id`, `…/favourited_by`, `…/reblogged_by`, `…/context`, `…/history`, and `/@<user>.rss` |
//! | `http://ADDR/bluesky/appview` | AppView XRPC: `com.atproto.identity.resolveHandle`, `app.bsky.actor.getProfile`, `getProfiles`, `app.bsky.graph.getFollows`, `app.bsky.feed.getAuthorFeed`, `getPosts`, `getLikes`, `getRepostedBy`, `getPostThread` |
//! | `http://ADDR/bluesky/pds` | PDS XRPC: `com.atproto.repo.listRecords` (`app.bsky.feed.post`, `.repost`, `.like`) |
//! | `http://ADDR/bluesky/plc/<did>` | DID documents; `#atproto_pds` points at `http://ADDR/bluesky/pds` |
//! | `http://ADDR/rss/<slug>.xml` | RSS 2.0 feeds of the RSS-only employees |
//!
//! Every API response carries the platform's rate-limit headers (`X-RateLimit-*` on Mastodon,
//! `RateLimit-*` on the XRPC services) and errors use the platform's bodies
//! (`{"error":"Record not found"}`, `{"error":"InvalidRequest","message":"Profile not found"}`).
//! DID documents are `application/did+ld+json` like plc.directory's.
//!
//! # Using it from a test
//!
//! ```no_run
//! # async fn demo() -> Result<(), netra::simulator::SimError> {
//! use netra::simulator::{spawn, SimConfig};
//! let sim = spawn(SimConfig { seed: 7, ..SimConfig::default() }).await?;
//! // Point connectors at sim.base_url (see population_out::netra_toml for the exact URLs) …
//! let truth = sim.state.snapshot();
//! for act in truth.observable_activities() {
//!     // act.platform, act.actor_handle, act.kind, act.id, act.target, act.partisan …
//! }
//! sim.stop().await
//! # }
//! ```
//!
//! [`Activity`] documents which id a connector sees for each platform and kind;
//! [`faults`] documents the `--faults` syntax; `SimState::live_step` advances live activity
//! without waiting.
//!
//! The modules: [`population`] (the script and ground truth), [`mastodon`], [`bluesky`], [`rss`]
//! (one per fake platform), [`faults`] and [`ratelimit`] (hostile behaviour and budgets),
//! [`population_out`] (registry files and config for Netra), [`web`] (shared HTTP helpers),
//! [`ids`] and [`rng`] (deterministic identifiers and randomness), [`texts`] (the vocabulary).

pub mod bluesky;
pub mod faults;
pub mod graph;
pub mod ids;
pub mod mastodon;
pub mod population;
pub mod population_out;
pub mod ratelimit;
pub mod rng;
pub mod rss;
pub mod texts;
pub mod web;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

pub use faults::{FaultKind, FaultPlan, FaultSettings, FaultSpecError};
pub use population::{Activity, Employee, Owner, Population, SimAccount, Target};
pub use ratelimit::RateBudget;

use ratelimit::Family;

/// Everything that shapes a simulator run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    /// Employees in the population ([`population::EMPLOYEE_COUNT`] by default).
    pub employees: usize,
    pub faults: FaultPlan,
    /// With `Some(interval)`, one live step of new activity is added every interval.
    pub live: Option<Duration>,
    pub rate_budget: RateBudget,
    pub fault_settings: FaultSettings,
    /// Keep every request's path and query (tests check what a client asked for).
    pub record_requests: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: population::DEFAULT_SEED,
            employees: population::EMPLOYEE_COUNT,
            faults: FaultPlan::default(),
            live: None,
            rate_budget: RateBudget::default(),
            fault_settings: FaultSettings::default(),
            record_requests: false,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    // Causes are not repeated in the messages: `{:#}` prints the chain.
    #[error("invalid --faults")]
    Faults(#[from] FaultSpecError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot write the population files in {dir}")]
    PopulationOut {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("simulator server failed: {0}")]
    Serve(std::io::Error),
}

/// State shared by all handlers.
#[derive(Debug)]
pub struct SimState {
    /// `http://ADDR`, used in absolute URLs (Link headers, `uri`/`url` fields, DID documents).
    pub base_url: String,
    pub config: SimConfig,
    world: RwLock<Population>,
    faults: HashMap<usize, FaultKind>,
    limiter: ratelimit::Limiter,
    requests: std::sync::Mutex<Vec<String>>,
}

impl SimState {
    /// Generates the population for `config.seed` and matches the fault targets to it.
    pub fn new(config: SimConfig, base_url: &str) -> Result<SimState, SimError> {
        let population = Population::generate_sized(config.seed, config.employees);
        let faults = config.faults.resolve(&population)?;
        Ok(SimState {
            base_url: base_url.trim_end_matches('/').to_string(),
            limiter: ratelimit::Limiter::new(config.rate_budget),
            config,
            world: RwLock::new(population),
            faults,
            requests: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Every request's path and query so far, when [`SimConfig::record_requests`] is on.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// A read view of the population; never held across an `.await`.
    pub fn world(&self) -> RwLockReadGuard<'_, Population> {
        self.world.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the population as it is now (the ground truth, including live additions).
    pub fn snapshot(&self) -> Population {
        self.world().clone()
    }

    /// Moves the account script ([`graph`]) to its next phase: new follows, unfollows, profile
    /// edits and deletions become visible. Returns the new phase.
    pub fn advance_account_phase(&self) -> u32 {
        let mut world = self.world.write().unwrap_or_else(|e| e.into_inner());
        world.script.phase += 1;
        world.script.phase
    }

    /// Applies one live step (also used by tests to advance time without waiting).
    pub fn live_step(&self) {
        let interval = self.config.live.unwrap_or(LIVE_INTERVAL);
        let mut world = self.world.write().unwrap_or_else(|e| e.into_inner());
        let step = world.live_steps + 1;
        let before = world.activities.len();
        world.live_step(step, interval.as_millis().max(1) as i64);
        tracing::info!(
            step,
            added = world.activities.len() - before,
            "Added live activity."
        );
    }

    fn fault_for(&self, touched: &[usize]) -> Option<FaultKind> {
        touched
            .iter()
            .find_map(|account| self.faults.get(account).copied())
    }

    /// The Mastodon base URL of instance `domain`.
    pub fn mastodon_base(&self, domain: &str) -> String {
        format!("{}/mastodon/{domain}", self.base_url)
    }
}

/// What a handler hands back: either a finished response or one to build after fault checks.
pub(crate) struct Guard<'a> {
    pub state: &'a SimState,
    pub family: Family,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
}

impl Guard<'_> {
    /// Builds the response with `make` unless an account in `touched` has a fault, in which case
    /// the fault's response is sent instead (or, for `slow`, the real one, slowly).
    pub async fn run(&self, touched: &[usize], make: impl FnOnce() -> Response) -> Response {
        match self.state.fault_for(touched) {
            None => make(),
            Some(FaultKind::Slow) => {
                faults::slow(make(), self.state.config.fault_settings.slow_interval).await
            }
            Some(kind) => {
                let accepts_gzip = self
                    .headers
                    .get(header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("gzip"));
                let info = faults::RequestInfo {
                    path: self.uri.path(),
                    query: self.uri.query(),
                    accepts_gzip,
                };
                faults::respond(
                    kind,
                    self.family,
                    &info,
                    &self.state.config.fault_settings,
                    self.state
                        .limiter
                        .storm(self.state.config.fault_settings.rate_limit_reset),
                )
            }
        }
    }
}

/// The whole HTTP surface.
/// Notes the request's path and query, when asked to.
async fn record_request(
    axum::extract::State(state): axum::extract::State<Arc<SimState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if state.config.record_requests {
        let target = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        state
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(target);
    }
    next.run(request).await
}

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(
            "/mastodon/{domain}/api/v1/accounts/lookup",
            get(mastodon::lookup),
        )
        .route(
            "/mastodon/{domain}/api/v1/accounts/{id}",
            get(mastodon::account),
        )
        .route(
            "/mastodon/{domain}/api/v1/accounts/{id}/statuses",
            get(mastodon::account_statuses),
        )
        .route(
            "/mastodon/{domain}/api/v1/accounts/{id}/following",
            get(mastodon::following),
        )
        .route(
            "/mastodon/{domain}/api/v1/statuses/{id}",
            get(mastodon::status),
        )
        .route(
            "/mastodon/{domain}/api/v1/statuses/{id}/favourited_by",
            get(mastodon::favourited_by),
        )
        .route(
            "/mastodon/{domain}/api/v1/statuses/{id}/reblogged_by",
            get(mastodon::reblogged_by),
        )
        .route(
            "/mastodon/{domain}/api/v1/statuses/{id}/context",
            get(mastodon::context),
        )
        .route(
            "/mastodon/{domain}/api/v1/statuses/{id}/history",
            get(mastodon::history),
        )
        .route("/mastodon/{domain}/{file}", get(rss::mastodon_feed))
        .route("/bluesky/appview/xrpc/{method}", get(bluesky::appview))
        .route("/bluesky/pds/xrpc/{method}", get(bluesky::pds))
        .route("/bluesky/plc/{did}", get(bluesky::plc))
        .route("/rss/{file}", get(rss::blog_feed))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record_request,
        ))
        .with_state(state)
}

async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/bluesky/") {
        web::xrpc_error(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "MethodNotImplemented",
            "Method Not Implemented",
        )
    } else {
        web::mastodon_error(axum::http::StatusCode::NOT_FOUND, "Record not found")
    }
}

/// Spends the client's budget, answers 429 when it is gone, and puts the family's rate-limit
/// headers on every API response.
async fn rate_layer(State(state): State<Arc<SimState>>, request: Request, next: Next) -> Response {
    let Some((family, service)) = ratelimit::classify(request.uri().path()) else {
        return next.run(request).await;
    };
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let (info, allowed) = state.limiter.take(client, &service);
    if !allowed {
        return ratelimit::too_many(family, &info);
    }
    let mut response = next.run(request).await;
    ratelimit::add_headers(family, &info, response.headers_mut());
    response
}

/// Serves until `shutdown` completes, adding live activity meanwhile when configured.
pub async fn run(
    listener: TcpListener,
    state: Arc<SimState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SimError> {
    let live = state.config.live.map(|interval| {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                state.live_step();
            }
        })
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // Graceful shutdown waits for open connections, and a `slow` fault keeps one open for
    // minutes; so after the signal, in-flight responses get SHUTDOWN_GRACE and are then dropped.
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stopping_tx.send(true);
    });
    let mut graceful = stopping_rx.clone();
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
    });
    let mut deadline = stopping_rx;
    let served = tokio::select! {
        served = serve => served,
        _ = async move {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    };
    if let Some(task) = live {
        task.abort();
    }
    served.map_err(SimError::Serve)
}

/// How long in-flight responses may take after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A simulator running in the background of the current tokio runtime (for tests and the demo).
pub struct RunningSimulator {
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub base_url: String,
    pub state: Arc<SimState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), SimError>>>,
}

impl RunningSimulator {
    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) -> Result<(), SimError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Binds `127.0.0.1:0` and starts a simulator in the background.
pub async fn spawn(config: SimConfig) -> Result<RunningSimulator, SimError> {
    spawn_on("127.0.0.1:0", config).await
}

/// Binds `addr` and starts a simulator in the background.
pub async fn spawn_on(addr: &str, config: SimConfig) -> Result<RunningSimulator, SimError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| SimError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    let base_url = format!("http://{local}");
    let state = Arc::new(SimState::new(config, &base_url)?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(RunningSimulator {
        addr: local,
        base_url,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Options of `netra simulate`, as parsed by the CLI.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub addr: String,
    pub seed: u64,
    pub faults: String,
    pub live: bool,
    pub population_out: Option<PathBuf>,
}

/// How often `--live` adds activity.
pub const LIVE_INTERVAL: Duration = Duration::from_secs(20);

/// `netra simulate`: serve until Ctrl-C (or SIGTERM), printing `simulator: http://ADDR` once
/// listening.
pub fn simulate_command(options: SimulateOptions) -> anyhow::Result<()> {
    let plan: FaultPlan = options.faults.parse().map_err(SimError::Faults)?;
    let config = SimConfig {
        seed: options.seed,
        faults: plan,
        live: options.live.then_some(LIVE_INTERVAL),
        ..SimConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(&options.addr)
            .await
            .map_err(|source| SimError::Bind {
                addr: options.addr.clone(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| SimError::Bind {
            addr: options.addr.clone(),
            source,
        })?;
        let base_url = format!("http://{local}");
        let state = Arc::new(SimState::new(config, &base_url)?);
        if let Some(dir) = &options.population_out {
            population_out::write_all(dir, &state.world(), &base_url).map_err(|source| {
                SimError::PopulationOut {
                    dir: dir.clone(),
                    source,
                }
            })?;
            eprintln!("population written to {}", dir.display());
        }
        let summary = state.world().summary();
        tracing::info!(
            seed = options.seed,
            ?summary,
            "Simulator population generated."
        );
        println!("simulator: {base_url}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        run(listener, state, shutdown_signal()).await?;
        Ok::<(), anyhow::Error>(())
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
