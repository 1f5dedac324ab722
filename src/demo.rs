//! `netra demo`: all of Netra on one machine in one command. A fresh temporary data directory,
//! the simulator's fake platforms with live activity, its population and candidate accounts
//! registered, a demo reviewer with a token, and the daemon with the web page, until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use jiff::Timestamp;

use crate::access::{self, Role, Scope};
use crate::config::{self, ConfigSource};
use crate::simulator::{self, population_out, SimConfig};
use crate::store::NewUser;

/// A directory removed when the demo ends, however it ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let name = format!(
            "netra-demo-{}-{}",
            std::process::id(),
            Timestamp::now().as_millisecond()
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the demo on `addr` until a signal.
pub fn run(addr: SocketAddr) -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let sim = simulator::spawn(SimConfig {
            live: Some(simulator::LIVE_INTERVAL),
            ..SimConfig::default()
        })
        .await
        .context("cannot start the simulator")?;
        population_out::write_all(dir.path(), &sim.state.snapshot(), &sim.base_url)
            .context("cannot write the simulator's population")?;
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(key, _)| !key.starts_with("NETRA_"))
            .collect();
        env.push(("NETRA_HTTP_LISTEN".into(), addr.to_string()));
        let loaded = config::load(&ConfigSource::File(dir.path().join("netra.toml")), env)?;
        let store = crate::cli::open_store(&loaded)?;
        let now = Timestamp::now();
        let employees = std::fs::read_to_string(dir.path().join("employees.csv"))?;
        let report = crate::registry::import_accounts(&store, &employees, now)?;
        tracing::info!(%report, "Registered the simulator's employees.");
        let watched = crate::app::import_watched(&loaded, &store, &dir.path().join("watched.csv"))?;
        tracing::info!(report = %watched, "Registered the candidate and party accounts.");
        let user = store.add_user(
            NewUser {
                name: "demo".into(),
                role: Role::Reviewer,
                scope: Scope::All,
                senior: true,
                employee_id: None,
            },
            "demo",
            now,
        )?;
        let token = access::new_token_secret()
            .map_err(|e| anyhow::anyhow!("no randomness for the demo token: {e}"))?;
        store.add_token(user.id, &access::token_digest(&token), "demo", now)?;
        println!("url: http://{addr}");
        println!("token: {token}");
        eprintln!(
            "Buka url di peramban dan masuk dengan token di atas. Ctrl-C untuk berhenti. \
             (Open the url in a browser and log in with the token; Ctrl-C stops.)"
        );
        let summary = crate::app::serve_until_signal(&loaded, store).await?;
        tracing::info!(%summary, "Demo stopped.");
        sim.stop().await.context("stopping the simulator")?;
        Ok::<_, anyhow::Error>(())
    })
}
