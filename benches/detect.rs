//! Throughput of the matcher alone and of the whole `detect`, over the benchmark corpus and
//! pattern lists made by `shared/bench/peers.sh` (so the figures sit beside the peers').
//!
//! Set `NETRA_BENCH_DATA` to the `data` directory peers.sh wrote (`corpus.jsonl`,
//! `normalized.txt`, `pnorm_500.txt`, `pnorm_20000.txt`). Without it only the lexicon compile
//! is measured and the corpus benchmarks are skipped with a note.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use netra::detect::eval::activity;
use netra::detect::matcher::{Boundary, Matcher};
use netra::detect::{detect, detect_with, Lexicon, Rules, Scope, Scratch};
use netra::model::{Activity, ActivityKind, Platform};

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("NETRA_BENCH_DATA")?);
    if dir.join("normalized.txt").exists() {
        Some(dir)
    } else {
        eprintln!(
            "NETRA_BENCH_DATA={} has no normalized.txt: run shared/bench/peers.sh",
            dir.display()
        );
        None
    }
}

/// One entry per `\n`-separated line, as the peers' bench.py splits the files.
fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out: Vec<String> = text.split('\n').map(str::to_string).collect();
    if out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lexicon_compile(c: &mut Criterion) {
    let dir = root().join("wordlists");
    c.bench_function("lexicon_compile", |b| {
        b.iter(|| Lexicon::load(black_box(&dir)).expect("word lists"))
    });
}

fn matcher(c: &mut Criterion) {
    let Some(dir) = data_dir() else {
        eprintln!("matcher: NETRA_BENCH_DATA not set, skipped");
        return;
    };
    let posts = lines(&dir.join("normalized.txt"));
    let bytes: usize = posts.iter().map(|p| p.len()).sum();
    let mut group = c.benchmark_group("matcher_per_post");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Bytes(bytes as u64));
    for n in [500, 20000] {
        let patterns = lines(&dir.join(format!("pnorm_{n}.txt")));
        let m = Matcher::new(
            patterns
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| (p.as_str(), Boundary::Word)),
        )
        .expect("matcher builds");
        group.bench_function(format!("{n}_patterns"), |b| {
            let mut hits = Vec::with_capacity(64);
            let mut scratch = Vec::with_capacity(4096);
            b.iter(|| {
                let mut total = 0usize;
                for p in &posts {
                    hits.clear();
                    m.find_with(black_box(p), &mut scratch, &mut hits);
                    total += hits.len();
                }
                total
            })
        });
    }
    group.finish();
}

fn whole_detect(c: &mut Criterion) {
    let Some(dir) = data_dir() else {
        eprintln!("detect: NETRA_BENCH_DATA not set, skipped");
        return;
    };
    #[derive(serde::Deserialize)]
    struct Post {
        text: String,
    }
    let posts: Vec<Activity> = lines(&dir.join("corpus.jsonl"))
        .iter()
        .filter_map(|l| serde_json::from_str::<Post>(l).ok())
        .map(|p| {
            activity(
                Platform::Mastodon,
                "b",
                ActivityKind::Post,
                &p.text,
                None,
                None,
            )
        })
        .collect();
    let bytes: usize = posts.iter().map(|a| a.text.len()).sum();
    let lex = Lexicon::load(&root().join("wordlists")).expect("word lists");
    let rules = Rules::load(&root().join("config/rules.toml")).expect("rules");
    let scope = Scope::campaign_everywhere(&lex);
    let mut group = c.benchmark_group("detect_per_post");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(bytes as u64));
    // one scratch for the whole run, as a caller judging activity after activity keeps one
    let mut scratch = Scratch::default();
    group.bench_function("shipped_word_lists", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for a in &posts {
                total += detect_with(&mut scratch, black_box(a), &lex, &rules, &scope).len();
            }
            total
        })
    });
    // fresh buffers for every activity: what `detect` alone does
    group.bench_function("shipped_word_lists_fresh_buffers", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for a in &posts {
                total += detect(black_box(a), &lex, &rules, &scope).len();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, lexicon_compile, matcher, whole_detect);
criterion_main!(benches);
