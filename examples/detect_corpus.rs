//! A small driver for profiling detection on the benchmark corpus (criterion is too heavy to
//! run under callgrind): `cargo run --release --example detect_corpus -- DATA MODE [POSTS]`,
//! where DATA is the `data` directory of `shared/bench/peers.sh` and MODE is `detect`,
//! `normalize`, `lexicon` (normalisation and the shipped word lists' matcher, without the
//! regexes and rules), `scan` (what `detect` does before evidence and rules: normalisation,
//! matching, the regex windows and the analysis of texts that name an entity), `scanall` (the
//! same analysing every text), `detect-fresh` (`detect` with fresh buffers for every post
//! rather than one reused scratch), `matcherlex` (the shipped lists' matcher alone, over the
//! benchmark's normalised corpus), `matcher500`, `matcher20000` or `paths` (how many posts the
//! fast normaliser takes, checking each against the general path). Prints one checksum line
//! and the time taken.
//! `dump FILE.jsonl` prints every finding (Debug) of every row of a labelled file such as
//! `shared/eval/dev.jsonl`, or of every corpus post when FILE is `corpus`, one line per row:
//! diff two builds' dumps to check that an optimisation changed nothing.
//!
//! Compare variants with instruction counts, which are stable on a busy machine:
//! `valgrind --tool=callgrind target/release/examples/detect_corpus DATA detect 20000`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use netra::detect::eval::activity;
use netra::detect::matcher::{Boundary, Matcher};
use netra::detect::normalize::{normalize, normalize_fast, normalize_general};
use netra::detect::{detect, detect_with, Lexicon, Rules, Scope, Scratch};
use netra::model::{ActivityKind, Platform};

fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out: Vec<String> = text.split('\n').map(str::to_string).collect();
    if out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(args.next().expect("usage: detect_corpus DATA MODE [POSTS]"));
    let mode = args.next().unwrap_or_else(|| "detect".into());
    let limit: usize = args
        .next()
        .map_or(usize::MAX, |n| n.parse().expect("POSTS"));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if data == Path::new("dump") {
        return dump(&root, &mode);
    }
    match mode.as_str() {
        "detect" | "detect-fresh" | "normalize" | "lexicon" | "scan" | "scanall" => {
            #[derive(serde::Deserialize)]
            struct Post {
                text: String,
            }
            let posts: Vec<String> = lines(&data.join("corpus.jsonl"))
                .iter()
                .take(limit)
                .filter_map(|l| serde_json::from_str::<Post>(l).ok())
                .map(|p| p.text)
                .collect();
            let bytes: usize = posts.iter().map(String::len).sum();
            let lex = Lexicon::load(&root.join("wordlists")).expect("word lists");
            let rules = Rules::load(&root.join("config/rules.toml")).expect("rules");
            let scope = Scope::campaign_everywhere(&lex);
            let acts: Vec<_> = posts
                .iter()
                .map(|t| activity(Platform::Mastodon, "b", ActivityKind::Post, t, None, None))
                .collect();
            let mut scratch = Scratch::default();
            let t = Instant::now();
            let mut total = 0usize;
            for a in &acts {
                total += if mode == "detect" {
                    detect_with(&mut scratch, a, &lex, &rules, &scope).len()
                } else if mode == "scan" {
                    match netra::detect::signals::analyse_if_named_with(&a.text, &lex, &mut scratch)
                    {
                        Some(an) => {
                            scratch.recycle_analysis(an);
                            1
                        }
                        None => 0,
                    }
                } else if mode == "scanall" {
                    let an = netra::detect::signals::analyse_with(&a.text, &lex, &mut scratch);
                    scratch.recycle_analysis(an);
                    1
                } else if mode == "detect-fresh" {
                    detect(a, &lex, &rules, &scope).len()
                } else if mode == "lexicon" {
                    let n = normalize(&a.text, &lex.slang);
                    let mut hits = Vec::with_capacity(16);
                    lex.matcher.find_into(&n.text, &mut hits);
                    hits.len()
                } else {
                    normalize(&a.text, &lex.slang).len()
                };
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{mode}: {total} over {} posts, {bytes} bytes, {secs:.3} s, {:.1} MB/s",
                acts.len(),
                bytes as f64 / secs / 1e6
            );
        }
        "paths" => {
            // which posts the fast normaliser takes, and whether it agrees with the general path
            #[derive(serde::Deserialize)]
            struct Post {
                text: String,
            }
            let lex = Lexicon::load(&root.join("wordlists")).expect("word lists");
            let (mut fast, mut general, mut differ) = (0usize, 0usize, 0usize);
            for line in lines(&data.join("corpus.jsonl")).iter().take(limit) {
                let Ok(post) = serde_json::from_str::<Post>(line) else {
                    continue;
                };
                match normalize_fast(&post.text, &lex.slang) {
                    Some(n) => {
                        fast += 1;
                        if n != normalize_general(&post.text, &lex.slang) {
                            differ += 1;
                            eprintln!("differs: {:?}", post.text);
                        }
                    }
                    None => general += 1,
                }
            }
            println!("paths: {fast} posts fast, {general} general, {differ} fast results differ");
        }
        "matcherlex" => {
            // the shipped lists' matcher alone, over the benchmark's normalised corpus
            let posts = lines(&data.join("normalized.txt"));
            let bytes: usize = posts.iter().map(String::len).sum();
            let lex = Lexicon::load(&root.join("wordlists")).expect("word lists");
            let (mut hits, mut scratch) = (Vec::new(), Vec::new());
            let t = Instant::now();
            let mut total = 0usize;
            for p in posts.iter().take(limit) {
                hits.clear();
                lex.matcher.find_with(p, &mut scratch, &mut hits);
                total += hits.len();
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{mode}: {total} hits over {bytes} bytes, {secs:.3} s, {:.1} MB/s",
                bytes as f64 / secs / 1e6
            );
        }
        m => {
            let n: usize = m.trim_start_matches("matcher").parse().expect("MODE");
            let posts: Vec<String> = lines(&data.join("normalized.txt"))
                .into_iter()
                .take(limit)
                .collect();
            let bytes: usize = posts.iter().map(String::len).sum();
            let patterns = lines(&data.join(format!("pnorm_{n}.txt")));
            let t = Instant::now();
            let m = Matcher::new(
                patterns
                    .iter()
                    .filter(|p| !p.is_empty())
                    .map(|p| (p.as_str(), Boundary::Word)),
            )
            .expect("matcher builds");
            println!("build {:.3} s", t.elapsed().as_secs_f64());
            let mut hits = Vec::new();
            let mut scratch = Vec::new();
            let t = Instant::now();
            let mut total = 0usize;
            let mut sum = 0u64;
            for p in &posts {
                hits.clear();
                m.find_with(p, &mut scratch, &mut hits);
                total += hits.len();
                for h in &hits {
                    sum = sum
                        .wrapping_mul(31)
                        .wrapping_add((h.pattern as u64) << 32 | h.start as u64);
                }
            }
            let secs = t.elapsed().as_secs_f64();
            println!("{mode}: {total} hits (checksum {sum:x}) over {} posts, {bytes} bytes, {secs:.3} s, {:.1} MB/s", posts.len(), bytes as f64 / secs / 1e6);
        }
    }
}

fn dump(root: &Path, file: &str) {
    use std::io::Write;
    let lex = Lexicon::load(&root.join("wordlists")).expect("word lists");
    let rules = Rules::load(&root.join("config/rules.toml")).expect("rules");
    let scope = Scope::campaign_everywhere(&lex);
    let acts: Vec<_> = match std::env::var("NETRA_BENCH_DATA") {
        Ok(dir) if file == "corpus" => {
            #[derive(serde::Deserialize)]
            struct Post {
                text: String,
            }
            lines(&Path::new(&dir).join("corpus.jsonl"))
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
                .collect()
        }
        _ => netra::detect::eval::read_rows(Path::new(file))
            .expect("rows")
            .iter()
            .map(|r| {
                let kind = r.kind.parse().expect("kind");
                activity(
                    Platform::X,
                    &r.id,
                    kind,
                    &r.text,
                    r.target_author.as_deref(),
                    r.target_text.as_deref(),
                )
            })
            .collect(),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // one scratch for every row, as a batch caller does: the dump must not change with it
    let mut scratch = Scratch::default();
    for (i, a) in acts.iter().enumerate() {
        let found = detect_with(&mut scratch, a, &lex, &rules, &scope);
        writeln!(out, "{i} {found:?}").expect("stdout");
    }
}
