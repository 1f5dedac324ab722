//! Property tests of normalisation: every normalised span maps back into the original text on
//! char boundaries, and normalising twice changes nothing. And of the shortcut that stops
//! analysing a text once it cannot name an entity, of the regex windows, and of reusing one
//! scratch across activities.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use netra::detect::normalize::{normalize, SlangMap};
use netra::detect::wordlists;
use netra::detect::Lexicon;
use proptest::prelude::*;

fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        Lexicon::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wordlists"))
            .expect("word lists")
    })
}

fn slang() -> &'static SlangMap {
    &lexicon().slang
}

/// Text shaped like posts: words, leetspeak, elongation, hashtags, emoji, HTML, odd Unicode.
fn post() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z]{1,8}",
        "[a-z0-9]{1,6}",
        "#[A-Za-z0-9_]{1,12}",
        "@[a-z_]{1,8}",
        Just(" ".to_string()),
        Just("  ".to_string()),
        Just("g a n j a r".to_string()),
        Just("✌️".to_string()),
        Just("1️⃣".to_string()),
        Just("☝🏽".to_string()),
        Just("<p>".to_string()),
        Just("</p>".to_string()),
        Just("<br/>".to_string()),
        Just("&amp;".to_string()),
        Just("&lt;".to_string()),
        Just("&#39;".to_string()),
        Just("é".to_string()),
        Just("Ｐｒａｂｏｗｏ".to_string()),
        Just("\u{200b}".to_string()),
        Just("e\u{301}".to_string()),
        Just("İ".to_string()),
        Just("—".to_string()),
        Just("❤️".to_string()),
        Just("🙏🏻".to_string()),
        Just("👩‍🏫".to_string()),
        Just("\u{a0}".to_string()),
        Just("🤟".to_string()),
        Just("-".to_string()),
        Just("2".to_string()),
        Just(".".to_string()),
        "\\PC{1,3}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// Every span of the normalised text maps into `text`, on char boundaries.
fn spans_on_char_boundaries(text: &str) -> Result<(), TestCaseError> {
    let n = normalize(text, slang());
    let len = n.text.len();
    for from in 0..len {
        for to in (from + 1)..=len.min(from + 12) {
            let (s, e) = n.original_span(from, to);
            prop_assert!(
                s <= e && e <= text.len(),
                "span {s}..{e} outside {}",
                text.len()
            );
            prop_assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
        }
    }
    Ok(())
}

/// Normalising the normalised text changes nothing.
fn idempotent(text: &str) -> Result<(), TestCaseError> {
    let once = normalize(text, slang()).text;
    let twice = normalize(&once, slang()).text;
    prop_assert_eq!(once, twice);
    Ok(())
}

/// Words of the normalised text are one space apart: no two whitespace chars in a row, so a
/// pattern's `\s` does what `\s+` would (see `wordlists/patterns.txt`).
fn one_space_apart(text: &str) -> Result<(), TestCaseError> {
    let norm = normalize(text, slang()).text;
    let chars: Vec<char> = norm.chars().collect();
    prop_assert!(
        !chars
            .windows(2)
            .any(|w| w[0].is_whitespace() && w[1].is_whitespace()),
        "{norm:?}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn spans_map_into_the_original_on_char_boundaries(text in post()) {
        spans_on_char_boundaries(&text)?;
    }

    #[test]
    fn words_are_one_space_apart(text in post()) {
        one_space_apart(&text)?;
    }

    #[test]
    fn normalisation_is_idempotent(text in post()) {
        idempotent(&text)?;
    }
}

/// Mastodon-style HTML with Latin letters with diacritics, entities and single letters: what
/// the fast path reads itself (tags inside words and hashtags, accented capitals in camel-case
/// hashtags) next to what it must hand over (entities decoding to letters, spaced letters,
/// decomposed accents, letters outside its table).
fn html_post() -> impl Strategy<Value = String> {
    let tags = prop::sample::select(vec![
        "<p>",
        "</p>",
        "<br>",
        "<br/>",
        "<BR >",
        "<span>",
        "</span>",
        "</a>",
        "<a href=\"https://m.example/tags/pemilu\" class=\"mention hashtag\" rel=\"tag\">",
        "<span class=\"h-card\">",
        "<div>",
        "<!-- x -->",
        "<pre>",
        "<em>",
        "< p>",
        "<3",
        "a<b",
        ">",
        "<",
        "<p",
        "</",
        "<<b>>",
    ]);
    let entities = prop::sample::select(vec![
        "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&nbsp;", "&#39;", "&#x27;", "&#8212;",
        "&#x20;", "&bogus;", "&", "& ", "&amp", "&#;",
    ]);
    let chars = prop::sample::select(vec![
        "é", "É", "ß", "ø", "ſ", "ı", "\u{200b}", "\u{200d}", "\u{ad}", "\u{a0}", "\u{fe0f}", "«",
        "»", "—", "✌️", "☝🏽", "😂", "🇮🇩",
    ]);
    // each of these sends the text down the general path
    let rare = prop::sample::select(vec![
        "&#65;",
        "&#35;",
        "&#8203;",
        "e\u{301}",
        "\u{301}",
        "Æ",
        "ª",
        "ǅ",
        "Ĳ",
        "Ｐ",
        "2️⃣",
        "\u{20e3}",
        "\u{e101}",
        "a b c",
        "<p>x</p><p>y</p> z",
    ]);
    let piece = prop_oneof![
        6 => "[a-zA-Z]{1,8}",
        4 => "[a-zA-ZéèêëáàâäãåíïìóöôõúüùñçğışžčÉÜÑĞÇŽ]{1,8}",
        1 => "[a-z0-9]{1,6}",
        2 => "#[A-Za-zéüÉÜ0-9_]{1,12}",
        1 => "[a-zA-Zéü]{1,2}",
        1 => Just("#<span>GanjarMéndez</span>".to_string()),
        6 => prop::sample::select(vec![" ", " ", "  ", ".", ",", "!", "?", "-", "\n", "t.co/x"])
            .prop_map(String::from),
        5 => tags.prop_map(String::from),
        2 => entities.prop_map(String::from),
        2 => chars.prop_map(String::from),
        1 => rare.prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..32).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The fast path must be an optimisation only: same text, same spans as the general path.
    #[test]
    fn fast_and_general_paths_agree(text in post()) {
        let fast = normalize(&text, slang());
        let general = netra::detect::normalize::normalize_general(&text, slang());
        prop_assert_eq!(fast, general);
    }

    /// The same on HTML with diacritics, where the fast path does most of its work (it takes
    /// about two thirds of these texts; the rest it declines, which is always allowed).
    #[test]
    fn fast_and_general_paths_agree_on_html(text in html_post()) {
        if let Some(fast) = netra::detect::normalize::normalize_fast(&text, slang()) {
            let general = netra::detect::normalize::normalize_general(&text, slang());
            prop_assert_eq!(fast, general);
        }
    }

    #[test]
    fn html_spans_map_into_the_original_on_char_boundaries(text in html_post()) {
        spans_on_char_boundaries(&text)?;
    }

    #[test]
    fn html_words_are_one_space_apart(text in html_post()) {
        one_space_apart(&text)?;
    }

    #[test]
    fn html_normalisation_is_idempotent(text in html_post()) {
        idempotent(&text)?;
    }
}

/// Texts made of election words: names (some ambiguous), numbers as digits and words, ballot
/// and finger words, hand signs, blockers, cues, everyday words.
fn election_talk() -> impl Strategy<Value = String> {
    election_words(0..12)
}

fn election_words(count: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    let word = prop_oneof![
        3 => prop::sample::select(vec![
            "prabowo", "anies", "amin", "gibran", "ganjar", "pdip", "partai", "golkar",
            "coblos", "nomor", "no", "urut", "pilih", "nyoblos", "salam", "jari", "driji",
            "02", "03", "2", "3", "12", "25", "dua", "tiga", "loro", "satu", "tps", "juara",
            "✌️", "☝️", "🤟", "dukung", "ayo", "jangan", "kami", "desa", "yang", "#amin",
        ])
        .prop_map(String::from),
        1 => "[a-z]{1,6}",
        1 => "[0-9]{1,3}",
    ];
    prop::collection::vec(word, count).prop_map(|v| v.join(" "))
}

/// The shipped word lists, changed by `edit` before they are compiled.
fn lexicon_with(edit: impl FnOnce(&mut wordlists::RawWordlists, &Path)) -> Lexicon {
    let mut problems = Vec::new();
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wordlists");
    let mut raw = wordlists::read_dir(&shipped, &mut problems).expect("shipped word lists");
    edit(&mut raw, &shipped);
    let lex = Lexicon::compile_raw(&raw, &mut problems).expect("edited word lists");
    assert!(
        problems.iter().all(|p| p.level != wordlists::Level::Error),
        "{problems:?}"
    );
    lex
}

/// The shipped word lists with the patterns of `extra` (in the syntax of `patterns.txt`).
fn lexicon_with_patterns(extra: &str) -> Lexicon {
    lexicon_with(|raw, shipped| {
        let file = shipped.join("patterns.txt");
        raw.patterns
            .extend(wordlists::parse(&file, extra, &mut Vec::new()));
    })
}

/// The shipped word lists with every pattern's `\s` made `\s+`: the same matches on
/// normalised text, but a pattern with no longest match, so the regex set runs over whole
/// texts instead of windows around the cues.
fn lexicon_searching_whole_texts() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        lexicon_with(|raw, _| {
            for entry in raw.patterns.iter_mut().flat_map(|s| s.entries.iter_mut()) {
                entry.value = entry.value.replace("\\s", "\\s+");
            }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// `analyse_if_named` may stop early only when the whole analysis would find no entity.
    #[test]
    fn the_early_stop_agrees_with_the_whole_analysis(text in election_talk()) {
        let whole = netra::detect::signals::analyse(&text, lexicon());
        let early = netra::detect::signals::analyse_if_named(&text, lexicon());
        prop_assert_eq!(early.is_some(), whole.names_an_entity());
    }

    /// Searching the regex set only around its cues finds what a search of the whole text
    /// finds.
    #[test]
    fn regex_windows_find_what_the_whole_text_holds(text in election_words(0..40)) {
        use netra::detect::signals::analyse;
        let windowed = format!("{:?}", analyse(&text, lexicon()));
        let whole = format!("{:?}", analyse(&text, lexicon_searching_whole_texts()));
        prop_assert_eq!(windowed, whole);
    }
}

#[test]
fn the_early_stop_sees_names_numbers_and_hand_signs() {
    use netra::detect::signals::analyse_if_named;
    for named in [
        "dukung prabowo",
        "salam 03 untuk semua",
        "coblos nomor dua",
        "salam tiga jari",
        "✌️ mantap",
    ] {
        assert!(analyse_if_named(named, lexicon()).is_some(), "{named}");
    }
    for unnamed in [
        "kami ke desa",
        "coblos di tps",
        "jari saya sakit",
        "juara 2",
    ] {
        assert!(analyse_if_named(unnamed, lexicon()).is_none(), "{unnamed}");
    }
}

/// A pattern of the word lists can find a number the matcher does not know (`77`): the early
/// stop must still see it.
#[test]
fn the_early_stop_sees_numbers_that_only_a_pattern_finds() {
    let lex = lexicon_with_patterns("[ballot]\npattern = \\bcoblos\\s+kode\\s+([0-9]+)\\b\n");
    let post = "besok coblos kode 77 ya";
    assert!(netra::detect::signals::analyse(post, &lex).names_an_entity());
    assert!(netra::detect::signals::analyse_if_named(post, &lex).is_some());
    assert!(netra::detect::signals::analyse_if_named(post, lexicon()).is_none());
}

/// A captured number word counts only as a word of its own (`tiga`, not the start of
/// `tiganya`), as the regex set's windows assume: without a digit nearby the set is not even
/// run there, and with one it must not read the word either.
#[test]
fn a_captured_number_word_counts_only_as_a_word() {
    let lex = lexicon_with_patterns("[hand_sign]\npattern = \\bjari\\s(dua|tiga)\n");
    let hand_signs = |text: &str| {
        let analysis = format!("{:?}", netra::detect::signals::analyse(text, &lex));
        analysis.matches("hand: true").count()
    };
    assert_ne!(hand_signs("ayo jari tiga"), 0);
    assert_eq!(hand_signs("ayo jari tiganya"), 0);
    assert_eq!(hand_signs("ayo jari tiganya 5"), 0);
}

fn rules() -> &'static netra::detect::Rules {
    static RULES: OnceLock<netra::detect::Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        netra::detect::Rules::load(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/rules.toml"),
        )
        .expect("shipped rules")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// One scratch reused over a run of activities gives what fresh buffers give, for the
    /// detections and for every analysis (spans included): nothing a text leaves in the
    /// scratch shows in a later result. Every other activity quotes the next text, so some
    /// take two analyses.
    #[test]
    fn a_reused_scratch_changes_no_result(
        texts in prop::collection::vec(prop_oneof![post(), html_post(), election_words(0..30)], 1..10)
    ) {
        use netra::detect::eval::activity;
        use netra::detect::signals::{analyse, analyse_with};
        use netra::detect::{detect, detect_with, Scope, Scratch};
        use netra::model::{ActivityKind, Platform};
        let lex = lexicon();
        let scope = Scope::campaign_everywhere(lex);
        let mut scratch = Scratch::default();
        for (i, text) in texts.iter().enumerate() {
            let target = texts.get(i + 1).filter(|_| i % 2 == 1);
            let (kind, author) = match target {
                Some(_) => (ActivityKind::Quote, Some("someone")),
                None => (ActivityKind::Post, None),
            };
            let act = activity(Platform::X, "p", kind, text, author, target.map(String::as_str));
            let fresh = format!("{:?}", detect(&act, lex, rules(), &scope));
            let reused = format!("{:?}", detect_with(&mut scratch, &act, lex, rules(), &scope));
            prop_assert_eq!(fresh, reused);
            let analysed = analyse_with(text, lex, &mut scratch);
            prop_assert_eq!(format!("{:?}", analyse(text, lex)), format!("{analysed:?}"));
            scratch.recycle_analysis(analysed);
        }
    }
}
