//! The whole simulated population scanned through the real connectors over loopback HTTP:
//! every activity the simulator scripted is found, with its kind and target, including likes
//! that are visible only through the watched candidate accounts' `favourited_by` lists.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use netra::config;
use netra::model::{AccountId, ActivityKind, Platform};
use netra::simulator::{self, population_out, SimConfig};
use netra::sources::{AccountRef, Sources};
use netra::store::Store;

/// (actor's registry handle, kind, key) where the key is what both sides agree on: the post
/// itself for own posts, the target post for likes and reposts.
type Seen = (String, ActivityKind, String);

fn last_segment(id: &str) -> String {
    let without_edit = id.split('#').next().unwrap_or(id);
    without_edit
        .rsplit('/')
        .next()
        .unwrap_or(without_edit)
        .to_string()
}

fn normal_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanning_the_whole_population_finds_every_scripted_activity() {
    let sim = simulator::spawn(SimConfig::default())
        .await
        .expect("simulator starts");
    let population = sim.state.snapshot();
    let dir = tempfile::tempdir().unwrap();
    let toml = population_out::netra_toml(dir.path(), &sim.base_url);
    let loaded = config::load_str(&toml, "simulator.toml", Vec::new())
        .expect("the simulator's config loads");
    let sources = Sources::from_config(&loaded.config).unwrap();

    let store = Store::open(&dir.path().join("db"), 16 << 20).unwrap();
    let now = Timestamp::now();
    let employees = population_out::employees_csv(&population, &sim.base_url);
    let report = netra::registry::import_accounts(&store, &employees, now).unwrap();
    assert!(report.errors.is_empty(), "{report}");
    let watched = population_out::watched_csv(&population, &sim.base_url);
    let report = netra::registry::import_watched(&store, &watched, &|_| true, now).unwrap();
    assert!(report.errors.is_empty(), "{report}");

    let since = Timestamp::from_millisecond(simulator::population::history_start_ms()).unwrap()
        - std::time::Duration::from_secs(86_400);
    let accounts = store.accounts().unwrap();
    let handle_of: HashMap<AccountId, String> = accounts
        .iter()
        .map(|a| (a.id, normal_handle(&a.handle)))
        .collect();
    let mut registered: HashMap<Platform, HashMap<String, AccountRef>> = HashMap::new();
    let mut seen: BTreeSet<Seen> = BTreeSet::new();
    let mut record = |activity: &netra::model::Activity| {
        let key = match (activity.platform, activity.kind) {
            (Platform::Mastodon, ActivityKind::Like | ActivityKind::Repost) => last_segment(
                activity
                    .target
                    .as_ref()
                    .and_then(|t| t.url.as_deref())
                    .unwrap_or(""),
            ),
            (Platform::Mastodon, _) => last_segment(&activity.platform_activity_id),
            (Platform::Bluesky, ActivityKind::Like | ActivityKind::Repost) => {
                // like:<did>:<post uri> and repost:<did>:<post uri>
                let id = &activity.platform_activity_id;
                id[id.find("at://").unwrap_or(0)..].to_string()
            }
            _ => activity.platform_activity_id.clone(),
        };
        seen.insert((handle_of[&activity.account_id].clone(), activity.kind, key));
    };

    for account in &accounts {
        let resolved = sources
            .resolve(account.platform, &account.handle)
            .await
            .unwrap();
        let reference = AccountRef {
            account_id: account.id,
            handle: account.handle.clone(),
            platform_id: Some(resolved.platform_id.clone()),
        };
        let page = sources
            .scan_own(account.platform, &reference, None, Some(since))
            .await
            .unwrap();
        page.activities.iter().for_each(&mut record);
        let actor_key = match account.platform {
            Platform::Mastodon => normal_handle(&account.handle),
            _ => resolved.platform_id.clone(),
        };
        registered
            .entry(account.platform)
            .or_default()
            .insert(actor_key, reference);
    }
    let mut likes_seen_in_reverse = 0;
    for watched in store.watched_accounts().unwrap() {
        let resolved = sources
            .resolve(watched.platform, &watched.handle)
            .await
            .unwrap();
        let reference = AccountRef {
            account_id: watched.id,
            handle: watched.handle.clone(),
            platform_id: Some(resolved.platform_id),
        };
        let empty = HashMap::new();
        let candidates = registered.get(&watched.platform).unwrap_or(&empty);
        let page = sources
            .scan_reverse(watched.platform, &reference, candidates, since)
            .await
            .unwrap();
        likes_seen_in_reverse += page
            .activities
            .iter()
            .filter(|a| a.platform == Platform::Mastodon && a.kind == ActivityKind::Like)
            .count();
        page.activities.iter().for_each(&mut record);
    }

    let expected: BTreeSet<Seen> = population
        .observable_activities()
        .map(|activity| {
            let actor =
                normal_handle(&population.accounts[activity.actor].registry_handle(&sim.base_url));
            let key = match (activity.platform, activity.kind) {
                (Platform::Mastodon, ActivityKind::Like | ActivityKind::Repost) => activity
                    .target
                    .as_ref()
                    .map(|t| t.id.clone())
                    .unwrap_or_default(),
                (Platform::Bluesky, ActivityKind::Like | ActivityKind::Repost) => activity
                    .target
                    .as_ref()
                    .map(|t| t.id.clone())
                    .unwrap_or_default(),
                _ => activity.id.clone(),
            };
            (actor, activity.kind, key)
        })
        .collect();
    let missing: Vec<&Seen> = expected.difference(&seen).take(10).collect();
    let extra: Vec<&Seen> = seen.difference(&expected).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} scripted, {} found; missing (first 10): {missing:#?}; not scripted (first 10): {extra:#?}",
        expected.len(),
        seen.len()
    );
    eprintln!(
        "{} scripted activities found, {likes_seen_in_reverse} Mastodon likes through favourited_by",
        seen.len()
    );
    assert!(
        expected.len() > 1000,
        "the population is not trivial: {}",
        expected.len()
    );
    assert!(
        likes_seen_in_reverse > 0,
        "Mastodon likes come only from favourited_by"
    );
    let kinds: BTreeSet<ActivityKind> = seen.iter().map(|s| s.1).collect();
    assert_eq!(
        kinds.len(),
        5,
        "posts, replies, reposts, quotes and likes: {kinds:?}"
    );
    sim.stop().await.unwrap();
}
