//! Fuzzes normalisation and matching together: for any input, every normalised span must map
//! into the original on char boundaries, normalising twice must change nothing, and `detect`
//! must not panic and must only report spans that are slices of the text it was given.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use netra::detect::eval::activity;
use netra::detect::normalize::normalize;
use netra::detect::{detect, Lexicon, Rules, Scope};
use netra::model::{ActivityKind, Platform, SpanField};

fn engine() -> &'static (Lexicon, Rules) {
    static ENGINE: OnceLock<(Lexicon, Rules)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let lex = Lexicon::load(&root.join("wordlists")).expect("word lists");
        let rules = Rules::load(&root.join("config/rules.toml")).expect("rules");
        (lex, rules)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (lex, rules) = engine();
    let n = normalize(text, &lex.slang);
    for from in 0..n.len() {
        for to in (from + 1)..=n.len().min(from + 16) {
            let (s, e) = n.original_span(from, to);
            assert!(s <= e && e <= text.len());
            assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
        }
    }
    assert_eq!(
        normalize(&n.text, &lex.slang).text,
        n.text,
        "not idempotent"
    );
    let act = activity(
        Platform::X,
        "fuzz",
        ActivityKind::Quote,
        text,
        Some("@fuzz"),
        Some(text),
    );
    for d in detect(&act, lex, rules, &Scope::campaign_everywhere(lex)) {
        for s in d.spans {
            if s.field != SpanField::TargetAuthor {
                assert_eq!(text.get(s.start..s.end), Some(s.text.as_str()));
            }
        }
    }
});
