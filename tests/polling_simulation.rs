//! A discrete-event simulation of polling 20,000 accounts under one host budget of 60 requests
//! a minute, comparing the square-root policy (with rates learned from what polls find) against
//! uniform round-robin. Simulated time, deterministic seed: the figures are the same on every
//! machine, so they can be asserted.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use netra::scheduler::policy::{fit_scale, interval, PolicyConfig, RateEstimate};

const ACCOUNTS: usize = 20_000;
const BUDGET_PER_SEC: f64 = 1.0; // 60 requests per minute
const DAYS: f64 = 40.0;
const WARM_UP_DAYS: f64 = 10.0;
const DAY: f64 = 86_400.0;
const REFIT_EVERY: f64 = 6.0 * 3600.0;

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        (-2.0 * self.unit().ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

/// Heavy-tailed rates, after the population model of `shared/bench/poll_model.py`: 35% dormant
/// (up to one post a fortnight), 55% ordinary (lognormal, median 2 a day), 10% heavy
/// (lognormal, median 25 a day).
fn posting_rates(rng: &mut Rng) -> Vec<f64> {
    (0..ACCOUNTS)
        .map(|_| {
            let per_day = match rng.unit() {
                u if u < 0.35 => rng.unit() / 14.0,
                u if u < 0.90 => (2.0f64.ln() + rng.normal()).exp(),
                _ => (25.0f64.ln() + 0.8 * rng.normal()).exp(),
            };
            per_day / DAY
        })
        .collect()
}

/// Each account's post times over the whole run (Poisson).
fn post_times(rates: &[f64], rng: &mut Rng) -> Vec<Vec<f64>> {
    rates
        .iter()
        .map(|rate| {
            let mut times = Vec::new();
            let mut t = 0.0;
            loop {
                t += -rng.unit().ln() / rate;
                if t > DAYS * DAY {
                    return times;
                }
                times.push(t);
            }
        })
        .collect()
}

struct Outcome {
    mean_delay: f64,
    p95_delay: f64,
    /// The longest gap between two polls of one account after warm-up.
    longest_gap: f64,
}

fn summarise(mut delays: Vec<f64>, longest_gap: f64) -> Outcome {
    delays.sort_by(f64::total_cmp);
    let mean_delay = delays.iter().sum::<f64>() / delays.len() as f64;
    let p95_delay = delays[(delays.len() as f64 * 0.95) as usize];
    Outcome {
        mean_delay,
        p95_delay,
        longest_gap,
    }
}

/// Delays of the posts in (`from`, `to`] of one account; moves its read position.
fn collect(posts: &[f64], next: &mut usize, to: f64, delays: &mut Vec<f64>) -> u32 {
    let mut found = 0;
    while *next < posts.len() && posts[*next] <= to {
        if posts[*next] >= WARM_UP_DAYS * DAY {
            delays.push(to - posts[*next]);
        }
        *next += 1;
        found += 1;
    }
    found
}

fn round_robin(posts: &[Vec<f64>]) -> Outcome {
    let period = ACCOUNTS as f64 / BUDGET_PER_SEC;
    let mut delays = Vec::new();
    for (index, account_posts) in posts.iter().enumerate() {
        let mut next = 0;
        let mut poll = index as f64 / BUDGET_PER_SEC;
        while poll <= DAYS * DAY + period {
            collect(account_posts, &mut next, poll, &mut delays);
            poll += period;
        }
    }
    summarise(delays, period)
}

fn square_root_policy(posts: &[Vec<f64>], config: &PolicyConfig) -> Outcome {
    let mut estimates = vec![RateEstimate::default(); ACCOUNTS];
    let mut last_poll = vec![0.0f64; ACCOUNTS];
    let mut next_post = vec![0usize; ACCOUNTS];
    let mut delays = Vec::new();
    let mut longest_gap = 0.0f64;
    // Everyone is due at once at the start, staggered by account number.
    let mut due: BinaryHeap<Reverse<(u64, usize)>> =
        (0..ACCOUNTS).map(|i| Reverse((i as u64, i))).collect();
    let mut scale = 0.0;
    let mut next_refit = 0.0;
    let slot = 1.0 / BUDGET_PER_SEC;
    let mut now = 0.0;
    while now <= DAYS * DAY + config.max_interval.as_secs_f64() {
        if now >= next_refit {
            let rates: Vec<f64> = estimates.iter().map(|e| e.per_day(config)).collect();
            // A little headroom, so lateness does not pile up when estimates jump.
            scale = fit_scale(&rates, BUDGET_PER_SEC * 0.97, config);
            next_refit = now + REFIT_EVERY;
        }
        // Work-conserving: each slot reads the account whose turn comes first.
        let Reverse((_, account)) = due.pop().expect("every account is always queued");
        let found = collect(&posts[account], &mut next_post[account], now, &mut delays);
        let elapsed = now - last_poll[account];
        if last_poll[account] >= WARM_UP_DAYS * DAY {
            longest_gap = longest_gap.max(elapsed);
        }
        estimates[account].observe(found, Duration::from_secs_f64(elapsed), config);
        last_poll[account] = now;
        let wait = interval(estimates[account].per_day(config), 1.0, scale, config);
        due.push(Reverse(((now + wait.as_secs_f64()) as u64, account)));
        now += slot;
    }
    summarise(delays, longest_gap)
}

#[test]
fn square_root_polling_beats_round_robin_without_starving_anyone() {
    let mut rng = Rng(20_240_214);
    let rates = posting_rates(&mut rng);
    let posts = post_times(&rates, &mut rng);
    let config = PolicyConfig::new(Duration::from_secs(300), Duration::from_secs(24 * 3600));

    let uniform = round_robin(&posts);
    let policy = square_root_policy(&posts, &config);
    let ratio = policy.mean_delay / uniform.mean_delay;
    eprintln!(
        "posts: {}; round robin: mean {:.0} s, p95 {:.0} s; square-root policy: mean {:.0} s, \
         p95 {:.0} s, longest gap {:.0} s; mean ratio {ratio:.3}",
        posts.iter().map(Vec::len).sum::<usize>(),
        uniform.mean_delay,
        uniform.p95_delay,
        policy.mean_delay,
        policy.p95_delay,
        policy.longest_gap,
    );
    assert!(ratio <= 0.45, "mean delay ratio {ratio:.3} exceeds 0.45");
    let allowed = config.max_interval.as_secs_f64() * 1.05;
    assert!(
        policy.longest_gap <= allowed,
        "an account waited {:.0} s",
        policy.longest_gap
    );
}
