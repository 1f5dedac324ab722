//! The polling policy: how often to read each account, given a host's request budget.
//!
//! Pure arithmetic on rates and times, with no clock and no I/O, so it can be tested with a
//! virtual clock and simulated over months of traffic in a second.
//!
//! # Why the square-root rule
//!
//! A post waits, on average, half its account's polling interval before Netra sees it. With
//! posting rates `λᵢ` and a budget of `B` polls per second, the average wait per post,
//! `Σ λᵢ·Tᵢ/2 / Σ λᵢ`, subject to `Σ 1/Tᵢ = B`, is smallest when `1/Tᵢ ∝ √λᵢ` (a Lagrange
//! multiplier gives it in one line). Busy accounts are read more often than quiet ones, but far
//! less than in proportion to their rate; and every interval is clamped to the configured
//! `[min, max]`, so a quiet account is never starved past `max`.
//!
//! Rates are not known; they are estimated per account from what each poll finds, with a
//! gamma prior (a new account starts at [`PolicyConfig::prior_per_day`]) and exponential
//! forgetting, so an account that starts campaigning is noticed within days.

use std::time::Duration;

const DAY_SECS: f64 = 86_400.0;

/// The knobs of the policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyConfig {
    /// No account is polled more often than this.
    pub min_interval: Duration,
    /// No account waits longer than this between polls.
    pub max_interval: Duration,
    /// What an account with no history is assumed to post per day.
    pub prior_per_day: f64,
    /// How much history the prior is worth, in days.
    pub prior_days: f64,
    /// Observations lose half their weight after this long.
    pub half_life: Duration,
}

impl PolicyConfig {
    pub fn new(min_interval: Duration, max_interval: Duration) -> PolicyConfig {
        PolicyConfig {
            min_interval,
            max_interval,
            prior_per_day: 0.5,
            prior_days: 1.0,
            half_life: Duration::from_secs(7 * 86_400),
        }
    }
}

/// A decayed count of activities over a decayed observation time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateEstimate {
    /// Activities seen, decayed.
    pub events: f64,
    /// Seconds observed, decayed.
    pub exposure_secs: f64,
}

impl RateEstimate {
    /// Adds one poll's finding: `new_events` activities over `elapsed` since the last poll.
    pub fn observe(&mut self, new_events: u32, elapsed: Duration, config: &PolicyConfig) {
        let elapsed_secs = elapsed.as_secs_f64();
        let decay = 0.5f64.powf(elapsed_secs / config.half_life.as_secs_f64().max(1.0));
        self.events = self.events * decay + f64::from(new_events);
        self.exposure_secs = self.exposure_secs * decay + elapsed_secs;
    }

    /// Activities per day: the posterior mean under the gamma prior.
    pub fn per_day(&self, config: &PolicyConfig) -> f64 {
        let prior_events = config.prior_per_day * config.prior_days;
        let days = self.exposure_secs / DAY_SECS + config.prior_days;
        (prior_events + self.events) / days
    }
}

/// The interval for an account with `rate_per_day` under the scale `scale` (see
/// [`fit_scale`]): `scale / √rate`, clamped. `weight` > 1 polls the account more often (an
/// account in a region whose election is in its campaign stage).
pub fn interval(rate_per_day: f64, weight: f64, scale: f64, config: &PolicyConfig) -> Duration {
    let effective = (rate_per_day * weight).max(1e-9);
    let secs = scale / effective.sqrt();
    clamp(secs, config)
}

fn clamp(secs: f64, config: &PolicyConfig) -> Duration {
    let min = config.min_interval.as_secs_f64();
    let max = config.max_interval.as_secs_f64().max(min);
    Duration::from_secs_f64(if secs.is_finite() {
        secs.clamp(min, max)
    } else {
        max
    })
}

/// Finds the scale at which the accounts' polls add up to `budget_per_sec` (or as close as
/// the clamps allow). Polls per second fall as the scale grows, so a bisection on its
/// logarithm finds it; 60 steps are far below a microsecond's precision.
pub fn fit_scale(effective_rates: &[f64], budget_per_sec: f64, config: &PolicyConfig) -> f64 {
    let polls_per_sec = |scale: f64| -> f64 {
        effective_rates
            .iter()
            .map(|rate| 1.0 / clamp(scale / rate.max(1e-9).sqrt(), config).as_secs_f64())
            .sum()
    };
    let (mut low, mut high) = (1e-3f64.ln(), 1e12f64.ln());
    for _ in 0..60 {
        let middle = (low + high) / 2.0;
        if polls_per_sec(middle.exp()) > budget_per_sec {
            low = middle;
        } else {
            high = middle;
        }
    }
    high.exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PolicyConfig {
        PolicyConfig::new(Duration::from_secs(300), Duration::from_secs(86_400))
    }

    #[test]
    fn busier_accounts_are_polled_more_often_but_less_than_in_proportion() {
        let c = config();
        let scale = 20_000.0;
        let quiet = interval(1.0, 1.0, scale, &c);
        let busy = interval(16.0, 1.0, scale, &c);
        assert_eq!(quiet.as_secs_f64() / busy.as_secs_f64(), 4.0, "√16 = 4");
        let campaign = interval(1.0, 16.0, scale, &c);
        assert_eq!(campaign, busy, "a weight acts like a higher rate");
    }

    #[test]
    fn intervals_stay_inside_the_configured_bounds() {
        let c = config();
        assert_eq!(interval(1e-9, 1.0, 1e9, &c), c.max_interval);
        assert_eq!(interval(1e9, 1.0, 1.0, &c), c.min_interval);
        assert_eq!(interval(0.0, 0.0, f64::INFINITY, &c), c.max_interval);
    }

    #[test]
    fn the_fitted_scale_spends_the_budget() {
        let c = config();
        let rates: Vec<f64> = (1..=1000).map(|i| (i % 50) as f64 * 0.2 + 0.01).collect();
        let budget = 0.5; // polls per second
        let scale = fit_scale(&rates, budget, &c);
        let spent: f64 = rates
            .iter()
            .map(|r| 1.0 / interval(*r, 1.0, scale, &c).as_secs_f64())
            .sum();
        assert!((spent - budget).abs() / budget < 1e-6, "spent {spent}");
        // A budget beyond what the minimum interval allows is simply not reached.
        let all_min = fit_scale(&rates, 1e6, &c);
        assert_eq!(interval(0.01, 1.0, all_min, &c), c.min_interval);
    }

    #[test]
    fn estimates_start_at_the_prior_and_follow_what_is_seen() {
        let c = config();
        let mut estimate = RateEstimate::default();
        assert!((estimate.per_day(&c) - c.prior_per_day).abs() < 1e-12);
        for _ in 0..30 {
            estimate.observe(10, Duration::from_secs(86_400), &c);
        }
        assert!(
            (estimate.per_day(&c) - 10.0).abs() < 1.0,
            "{}",
            estimate.per_day(&c)
        );
        // Going quiet is noticed: after two half-lives the estimate has dropped by well over half.
        for _ in 0..14 {
            estimate.observe(0, Duration::from_secs(86_400), &c);
        }
        assert!(estimate.per_day(&c) < 4.0, "{}", estimate.per_day(&c));
    }
}
