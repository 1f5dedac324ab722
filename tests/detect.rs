//! Detection behaviour on the shipped word lists and rules: rule examples, held-out texts,
//! neutral writing about elections, spans, interactions, the lint and the output shapes.

use std::collections::BTreeSet;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use netra::detect::eval::{self, activity, flagged};
use netra::detect::lexicon::Stage;
use netra::detect::rules::check_examples;
use netra::detect::{detect, explain, wordlists, Lexicon, Rules, Scope};
use netra::model::{ActivityKind, Category, Detection, Platform, SpanField};

const THRESHOLD: f32 = 0.5;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiled once per test binary: every test shares it.
fn engine() -> &'static (Lexicon, Rules) {
    static ENGINE: OnceLock<(Lexicon, Rules)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let lex = Lexicon::load(&root().join("wordlists")).expect("shipped word lists load");
        let rules = Rules::load(&root().join("config/rules.toml")).expect("shipped rules load");
        (lex, rules)
    })
}

fn run(
    kind: ActivityKind,
    text: &str,
    author: Option<&str>,
    target: Option<&str>,
) -> Vec<Detection> {
    let (lex, rules) = engine();
    let act = activity(Platform::X, "t", kind, text, author, target);
    detect(&act, lex, rules, &Scope::campaign_everywhere(lex))
}

fn flags(found: &[Detection]) -> Vec<&Detection> {
    flagged(found, THRESHOLD).collect()
}

/// The entities of a post's findings at or above the review threshold.
fn flagged_entities(text: &str) -> BTreeSet<String> {
    let found = run(ActivityKind::Post, text, None, None);
    flags(&found)
        .iter()
        .flat_map(|d| d.entities.iter().cloned())
        .collect()
}

#[test]
fn every_rule_example_behaves_as_written() {
    let (lex, rules) = engine();
    let failures = check_examples(rules, lex, THRESHOLD);
    assert!(
        failures.is_empty(),
        "rule examples that misbehave:\n{}",
        failures
            .iter()
            .map(|f| format!(
                "  {} fires={} {:?} -> {:?}",
                f.rule, f.example.fires, f.example.text, f.fired
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let examples: usize = rules.rules.iter().map(|r| r.examples.len()).sum();
    assert!(
        examples >= rules.rules.len(),
        "every rule carries at least one example"
    );
}

#[test]
fn held_out_texts_are_judged_like_the_dev_set() {
    let (lex, rules) = engine();
    let rows = eval::read_rows(&root().join("tests/data/heldout.jsonl")).expect("held-out file");
    let report = eval::evaluate(&rows, lex, rules, THRESHOLD).expect("evaluates");
    assert!(report.n >= 40, "at least 40 held-out texts");
    assert!(
        report.fp == 0,
        "neutral held-out texts flagged: {:?}",
        report.false_positives
    );
    assert!(
        report.recall >= 0.92,
        "recall {} misses {:?}",
        report.recall,
        report.false_negatives
    );
    assert!(
        report.entity_accuracy >= 0.9,
        "wrong entity on {:?}",
        report.wrong_entity
    );
}

#[test]
fn neutral_writing_about_elections_is_not_flagged() {
    let texts = [
        "Hari ini seluruh pegawai mengikuti ikrar netralitas ASN menjelang Pilpres dan Pileg 14 Februari 2024.",
        "Sosialisasi dari Bawaslu: ASN dilarang memberi like, komentar, atau membagikan unggahan pasangan calon nomor 1, 2 maupun 3.",
        "Berita: KPU menetapkan tiga pasangan capres-cawapres, Anies–Muhaimin, Prabowo–Gibran dan Ganjar–Mahfud.",
        "Pendidikan pemilih: bawa KTP-el ke TPS, coblos satu kali di dalam kotak, jangan coblos di luar garis.",
        "Menurut SKB 2/2022, foto dengan pose jari yang menunjukkan nomor urut paslon termasuk pelanggaran netralitas.",
        "Quick count bukan hasil resmi. Tunggu rekapitulasi KPU ya, jangan sebar hoaks.",
        "Debat ketiga Pilkada Jakarta malam ini: Ridwan Kamil, Dharma Pongrekun dan Pramono Anung bahas banjir.",
        "Kampanye terbuka hari ini, jalan protokol ditutup. Pengendara diminta mencari jalur alternatif.",
        "Ingat, ASN hanya boleh hadir pasif mendengarkan visi misi, tidak boleh memakai atribut partai.",
        "Laporkan dugaan politik uang atau pelanggaran netralitas ke Bawaslu setempat.",
        "Khofifah–Emil ditetapkan KPU sebagai pemenang Pilgub Jatim. Selamat bertugas, semoga amanah.",
        "Amin paling keras terdengar saat doa untuk pemilu yang damai.",
        "Cek namamu di DPT lewat cekdptonline.kpu.go.id sebelum 27 November.",
        "Hak pilih itu rahasia, tentukan sendiri pilihanmu di bilik suara.",
        // everyday phrases that are also slogans, near talk of the president or elections
        "Presiden melantik menteri baru Kabinet Indonesia Maju hari ini.",
        "Program makan bergizi gratis mulai berjalan di sekolah kami, presiden meresmikan.",
        "Gerak cepat Pak Presiden tangani banjir, salut.",
        "Perubahan iklim makin terasa, pemilu pun harus ramah lingkungan.",
        "Timnas menang 3-1, Garuda terbang! Presiden ucapkan selamat.",
        "Gemoy banget kucing tetangga, oke gas kita adopsi.",
        "Cak Imin hari ini hadiri acara Harlah PKB di Surabaya, kata berita.",
        // every camp's hope and every close race's fate, in news about counts and polls
        "Survei: Pilpres kemungkinan berlangsung dua putaran.",
        "Pilkada Jakarta berlangsung dua putaran, putaran kedua digelar bulan depan.",
        "Menurut hitung cepat, pilpres selesai satu putaran.",
        "Hasil hitung cepat: Prabowo-Gibran menang satu putaran.",
        "Quick count Litbang Kompas: Prabowo Gibran unggul, pilpres diprediksi satu putaran.",
        // events and campaign teams in the news: naming them is not taking a side
        "KPK masih memburu Harun Masiku hingga hari ini.",
        "Keluarga korban penculikan aktivis 1998 kembali menggelar Aksi Kamisan di depan Istana.",
        "Menurut Megawati, semua kader adalah petugas partai.",
        "Acara Desak Anies digelar di Yogyakarta malam ini, kata panitia.",
        "TPN Ganjar Mahfud menggelar konferensi pers soal hasil debat.",
        // names and acronyms that are everyday words, beside everyday `ayo` and `dukung`
        "Semoga Allah ganjar kebaikan kalian, ayo dukung program donor darah bulan ini.",
        "Ayo bayar PKB sebelum jatuh tempo.",
        "Bayar #PKB tepat waktu, ada pemutihan denda! Ayo manfaatkan.",
        "Ayo bayar PBB tepat waktu, ada diskon 10 persen.",
        "Sidang Umum PBB membahas Palestina, Indonesia dukung kemerdekaan Palestina.",
        "Dukung skema PPP untuk pembangunan jalan tol Trans Sumatera.",
        "AMIN YA RABB, ayo kita doakan bersama.",
        "Ayo ikut seminar PAN Asia.",
        "Dengarkan dengan matahati, dukung sesama.",
        "Partai Demokrat AS memenangkan pemilu sela di Amerika.",
        "Plh Gubernur Jateng membuka acara, dukung UMKM.",
    ];
    for t in texts {
        let found = run(ActivityKind::Post, t, None, None);
        assert!(
            flags(&found).is_empty(),
            "flagged neutral text {t:?}: {found:?}"
        );
    }
}

#[test]
fn spans_show_what_the_person_wrote() {
    let text = "Ayo coblos PR4B0W0 - g1br4n, #PrabowoGibran2024 ✌️";
    let found = run(ActivityKind::Post, text, None, None);
    let hits = flags(&found);
    assert!(!hits.is_empty(), "{found:?}");
    for d in &hits {
        assert!(d.entities.iter().any(|e| e == "pilpres2024:02"));
        assert!(!d.reason.is_empty());
        for s in &d.spans {
            assert_eq!(s.field, SpanField::Text);
            assert_eq!(
                &text[s.start..s.end],
                s.text,
                "span text is the original slice"
            );
        }
    }
    let all: Vec<&str> = hits
        .iter()
        .flat_map(|d| d.spans.iter().map(|s| s.text.as_str()))
        .collect();
    assert!(
        all.contains(&"PR4B0W0 - g1br4n"),
        "leetspeak name highlighted as written: {all:?}"
    );
}

#[test]
fn phrases_every_camp_uses_take_the_entity_they_stand_beside() {
    // `satu putaran` was one pair's tagline but every camp's wish, and `dua putaran` an
    // attack line on that pair but also what news says of any close race: each counts only
    // beside a name or number, and then for that entity
    let cases = [
        (
            "#AniesMuhaimin2024 menang satu putaran",
            Some("pilpres2024:01"),
        ),
        ("#AMIN2024 menang satu putaran", Some("pilpres2024:01")),
        ("Gas satu putaran, 02 menang", Some("pilpres2024:02")),
        (
            "Jangan biarkan Prabowo menang, harus dua putaran!",
            Some("pilpres2024:02"),
        ),
        // `lanjutkan` beside another race's 2: the number is Khofifah's, not the Pilpres 02's
        (
            "Pilkada Jatim: Khofifah-Emil lanjutkan 2 periode! coblos 2",
            Some("pilkada2024:jatim:parawansa"),
        ),
        ("Lanjutkan! coblos 02", Some("pilpres2024:02")),
        ("AMIN satu putaran", None),
        ("Ayo satu putaran!", None),
    ];
    for (text, entity) in cases {
        let expected: BTreeSet<String> = entity.into_iter().map(String::from).collect();
        assert_eq!(flagged_entities(text), expected, "{text}");
    }
}

#[test]
fn names_that_are_also_words_count_when_written_as_names() {
    // a capital makes `Ganjar` a name, a voting word makes capitals a party or pair
    let cases = [
        ("Ayo dukung Ganjar!", "pilpres2024:03"),
        ("ayo coblos ganjar", "pilpres2024:03"),
        ("Pilih AMIN 2024", "pilpres2024:01"),
        ("#AMIN #KitaPilihPerubahan", "pilpres2024:01"),
        ("Ayo pilih PKB!", "party:pkb"),
        ("Coblos PPP nomor 17", "party:ppp"),
        ("Dukung MATAHATI untuk Sumsel!", "pilkada2024:sumsel:yahya"),
    ];
    for (text, entity) in cases {
        let entities = flagged_entities(text);
        assert!(entities.contains(entity), "{text}: {entities:?}");
    }
}

#[test]
fn campaign_verbs_typed_without_vowels_are_read() {
    for (text, category) in [
        ("cblos 02 yaa", Category::SupportPost),
        ("jgn pilh prabowo!", Category::NegativeCampaign),
    ] {
        let found = run(ActivityKind::Post, text, None, None);
        assert!(
            flags(&found)
                .iter()
                .any(|d| d.category == category && d.entities.iter().any(|e| e == "pilpres2024:02")),
            "{text}: {found:?}"
        );
    }
}

#[test]
fn praise_is_not_read_as_an_attack() {
    // rejecting Israel's team at the U-20 World Cup was cheered by his supporters and blamed
    // on him by his critics: the words alone cannot say which
    let text = "Tolak timnas Israel! Untung ada Pak Ganjar yang berani";
    let found = run(ActivityKind::Post, text, None, None);
    assert!(
        !flags(&found)
            .iter()
            .any(|d| d.category == Category::NegativeCampaign),
        "{found:?}"
    );
}

#[test]
fn partisans_citing_polls_are_still_flagged() {
    // counts (`quick count`) are reported news and lower a score; polls are not neutral
    // words, because campaigners cite them as often as reporters do
    let cases = [
        (
            "Lembaga survei bayaran semua, pokoknya Anies presiden!",
            "pilpres2024:01",
        ),
        (
            "Survei terbaru: elektabilitas Ganjar naik, ayo dukung terus Ganjar Mahfud!",
            "pilpres2024:03",
        ),
        (
            "Alhamdulillah quick count 02 menang, ayo kawal terus! Prabowo Gibran satu putaran",
            "pilpres2024:02",
        ),
    ];
    for (text, entity) in cases {
        let entities = flagged_entities(text);
        assert!(entities.contains(entity), "{text}: {entities:?}");
    }
}

#[test]
fn no_span_lies_inside_another() {
    // the ballot number is read twice: as `02` by the word lists and as `2` by the number
    // pattern after `coblos`; the reviewer should see it once
    let text = "Ayo coblos 02 Prabowo-Gibran! #coblos02";
    let found = run(ActivityKind::Post, text, None, None);
    let hits = flags(&found);
    assert!(!hits.is_empty(), "{found:?}");
    for d in &hits {
        assert!(
            d.spans.iter().any(|s| s.text == "02"),
            "{}: {:?}",
            d.rule_id,
            d.spans
        );
        for (i, a) in d.spans.iter().enumerate() {
            for (j, b) in d.spans.iter().enumerate() {
                let inside = a.field == b.field && b.start <= a.start && a.end <= b.end;
                assert!(i == j || !inside, "{}: {a:?} inside {b:?}", d.rule_id);
            }
        }
    }
}

#[test]
fn interactions_with_watched_accounts_are_flagged_whatever_the_text() {
    for author in [
        "@prabowo",
        "Prabowo",
        "@PRABOWO",
        "@ridwankamil@mastodon.example",
    ] {
        let found = run(
            ActivityKind::Like,
            "",
            Some(author),
            Some("Selamat pagi, sarapan dulu."),
        );
        let hits = flags(&found);
        assert_eq!(hits.len(), 1, "{author}: {found:?}");
        assert_eq!(hits[0].rule_id, "like.watched_account");
        assert!(hits[0]
            .spans
            .iter()
            .any(|s| s.field == SpanField::TargetAuthor));
    }
    let found = run(
        ActivityKind::Like,
        "",
        Some("@tetangga_baik"),
        Some("Selamat pagi, sarapan dulu."),
    );
    assert!(flags(&found).is_empty());
    // a repost of news that quotes a candidate's call to vote by conscience is not campaigning
    let found = run(
        ActivityKind::Repost,
        "",
        Some("@kabar_nasional"),
        Some("Ganjar: kami siap bertanding sehat. Pilih sesuai hati nurani."),
    );
    assert!(flags(&found).is_empty(), "{found:?}");
    // a repost of someone else's campaign text is judged as if the person wrote it
    let found = run(
        ActivityKind::Repost,
        "",
        Some("@warga123"),
        Some("Ayo menangkan Ganjar–Mahfud, coblos nomor 3 tanggal 14 Februari!"),
    );
    let hits = flags(&found);
    assert!(
        hits.iter()
            .any(|d| d.entities.contains(&"pilpres2024:03".to_string())),
        "{found:?}"
    );
}

#[test]
fn extra_watched_accounts_come_from_the_caller() {
    let (lex, rules) = engine();
    let mut scope = Scope::campaign_everywhere(lex);
    assert!(scope.watch(lex, "@timses.kampung", "pilkada2024:jateng:luthfi"));
    assert!(!scope.watch(lex, "@x", "no:such:entity"));
    let act = activity(
        Platform::X,
        "t",
        ActivityKind::Like,
        "",
        Some("timses.kampung"),
        Some("Halo"),
    );
    let found = detect(&act, lex, rules, &scope);
    assert!(flags(&found)
        .iter()
        .any(|d| d.entities == vec!["pilkada2024:jateng:luthfi".to_string()]));
    let without = detect(&act, lex, rules, &Scope::campaign_everywhere(lex));
    assert!(flags(&without).is_empty());
}

#[test]
fn ballot_numbers_resolve_to_the_election_in_scope() {
    let found = run(
        ActivityKind::Post,
        "Warga Semarang, 27 November coblos nomor 2 ya!",
        None,
        None,
    );
    let ents: Vec<&String> = flags(&found)
        .iter()
        .flat_map(|d| d.entities.iter())
        .collect();
    assert!(
        ents.iter().any(|e| *e == "pilkada2024:jateng:luthfi"),
        "{found:?}"
    );
    assert!(!ents.iter().any(|e| *e == "pilpres2024:02"));
    let found = run(
        ActivityKind::Post,
        "14 Februari coblos nomor 2 ya!",
        None,
        None,
    );
    let ents: Vec<&String> = flags(&found)
        .iter()
        .flat_map(|d| d.entities.iter())
        .collect();
    assert!(ents.iter().any(|e| *e == "pilpres2024:02"), "{found:?}");
    // a number without election context is just a number
    assert!(flags(&run(
        ActivityKind::Post,
        "dapet nomor 2 di antrean puskesmas",
        None,
        None
    ))
    .is_empty());
}

#[test]
fn stages_and_regions_come_from_the_calendar() {
    let (lex, rules) = engine();
    let day = "2024-10-10".parse().expect("date");
    let scope = Scope::on(lex, day, Some("jateng"));
    let pilpres = lex
        .elections
        .iter()
        .position(|e| e.id == "pilpres2024")
        .expect("pilpres");
    let dki = lex
        .elections
        .iter()
        .position(|e| e.id == "pilkada2024:dki")
        .expect("dki");
    let jateng = lex
        .elections
        .iter()
        .position(|e| e.id == "pilkada2024:jateng")
        .expect("jateng");
    assert_eq!(scope.stage_of(pilpres), Some(Stage::After));
    assert_eq!(
        scope.stage_of(dki),
        None,
        "another province's pilkada is out of scope"
    );
    assert_eq!(scope.stage_of(jateng), Some(Stage::Campaign));
    // after the vote, support for a Pilpres pair is no longer a campaign finding
    let act = activity(
        Platform::X,
        "t",
        ActivityKind::Post,
        "Dukung terus Ganjar Mahfud!",
        None,
        None,
    );
    assert!(flagged(&detect(&act, lex, rules, &scope), THRESHOLD)
        .next()
        .is_none());
    let during = Scope::on(lex, "2024-01-10".parse().expect("date"), None);
    assert!(flagged(&detect(&act, lex, rules, &during), THRESHOLD)
        .next()
        .is_some());
}

#[test]
fn detection_is_deterministic() {
    let text = "Mas Pram & Bang Doel paling adem, coblos 3 🤟 27 November!";
    assert_eq!(
        run(ActivityKind::Post, text, None, None),
        run(ActivityKind::Post, text, None, None)
    );
}

#[test]
fn check_json_has_the_documented_shape() {
    let text = "Ayo dukung Demokrat di Pemilu 2024!";
    let found = run(ActivityKind::Post, text, None, None);
    let json: serde_json::Value =
        serde_json::from_str(&explain::to_json(&flags(&found))).expect("json");
    let findings = json["findings"].as_array().expect("findings array");
    assert!(!findings.is_empty());
    for f in findings {
        let keys: Vec<&str> = f
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["category", "entities", "reason", "rule", "score", "severity", "spans"]
        );
        for s in f["spans"].as_array().expect("spans") {
            let (a, b) = (
                s["start"].as_u64().expect("start") as usize,
                s["end"].as_u64().expect("end") as usize,
            );
            assert_eq!(&text[a..b], s["text"].as_str().expect("text"));
        }
    }
}

#[test]
fn eval_json_has_the_documented_keys() {
    let (lex, rules) = engine();
    let rows = eval::read_rows(&root().join("tests/data/heldout.jsonl")).expect("rows");
    let report = eval::evaluate(&rows[..10], lex, rules, THRESHOLD).expect("evaluates");
    let json = serde_json::to_value(&report).expect("json");
    let mut keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "entity_accuracy",
            "f1",
            "false_negatives",
            "false_positives",
            "fn",
            "fp",
            "n",
            "per_category",
            "precision",
            "recall",
            "tn",
            "tp"
        ]
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

#[test]
fn lint_reports_each_problem_with_file_and_line() {
    let shipped = wordlists::lint(&root().join("wordlists")).expect("lint runs");
    let errors: Vec<String> = shipped
        .iter()
        .filter(|p| p.level == wordlists::Level::Error)
        .map(|p| p.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "shipped word lists have errors: {errors:#?}"
    );
    for (warning, meaning) in [
        ("never tried", "never tried"),
        ("any length", "searched over whole texts"),
    ] {
        let found: Vec<String> = shipped
            .iter()
            .map(|p| p.to_string())
            .filter(|p| p.contains(warning))
            .collect();
        assert!(found.is_empty(), "shipped patterns {meaning}: {found:#?}");
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(
        d,
        "elections.txt",
        "[e1]\nname = Test\nvote = 2024-02-14\n[e2]\nname = Other\nvote = 14-02-2024\n",
    );
    write(
        d,
        "cues.txt",
        "[support]\ncue = dukung\n[nonsense]\ncue = x\n[ballot]\ncue = pilih\n",
    );
    write(d, "regions.txt", "[r1]\ncue = kota\n");
    write(
        d,
        "patterns.txt",
        "[ballot]\npattern = \\bpilih\\s([1-9])\\b\npattern = \\bdukung\\s([1-9])\\b\npattern = \\bpilih\\s+no\\s([1-9])\\b\n",
    );
    write(d, "slang.txt", "[s]\nmap = yg -> yang\nmap = broken\n");
    write(
        d,
        "entities/a.txt",
        "[x:1]\nelection = e1\nkind = pair\nname = Budi Santoso\nname =\n[x:2]\nelection = nowhere\nkind = pair\nname = Budi Santoso\nwhat is this\n",
    );
    let problems = wordlists::lint(d).expect("lint runs");
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(has("elections.txt:6"), "bad date with its line: {text:#?}");
    assert!(has("cues.txt:3"), "unknown cue list: {text:#?}");
    assert!(has("slang.txt:3"), "malformed slang: {text:#?}");
    // `pilih` is a ballot cue here and `dukung` only a support cue, so the second pattern
    // can never run
    assert!(
        has("patterns.txt:3") && has("never tried"),
        "pattern without a ballot or finger word: {text:#?}"
    );
    assert!(
        !has("patterns.txt:2"),
        "pattern with a ballot word and a longest match: {text:#?}"
    );
    assert!(
        has("patterns.txt:4") && has("any length"),
        "pattern without a longest match: {text:#?}"
    );
    assert!(has("a.txt:5") && has("empty"), "empty entry: {text:#?}");
    assert!(
        has("a.txt:7") && has("unknown election"),
        "unknown id: {text:#?}"
    );
    assert!(
        has("a.txt:9") && has("x:1"),
        "duplicate across entities: {text:#?}"
    );
    assert!(
        has("a.txt:10") && has("malformed"),
        "malformed line: {text:#?}"
    );
    assert!(problems
        .iter()
        .all(|p| p.level == wordlists::Level::Error || p.to_string().contains("warning")));
    assert!(
        Lexicon::load(d).is_err(),
        "errors stop the lexicon from loading"
    );
}

#[test]
fn shadow_rules_are_reported_but_not_flagged() {
    let (lex, _) = engine();
    let toml = r#"
[scoring]
neutral_penalty = 0.3
max_neutral_penalty = 0.6
bonus = 0.05
max_bonus = 0.15

[[rule]]
id = "trial.support"
category = "support_post"
severity = "low"
status = "shadow"
kinds = ["post"]
judge = "own"
all = ["support"]
score = 0.9
reason = "Uji coba: dukungan kepada {entity}"
"#;
    let rules = Rules::parse(toml, Path::new("inline.toml")).expect("parses");
    let act = activity(
        Platform::X,
        "t",
        ActivityKind::Post,
        "Dukung Ganjar Mahfud!",
        None,
        None,
    );
    let found = detect(&act, lex, &rules, &Scope::campaign_everywhere(lex));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].status, netra::model::RuleStatus::Shadow);
    assert_eq!(
        found[0].reason,
        "Uji coba: dukungan kepada Ganjar–Mahfud (03)"
    );
    assert!(flags(&found).is_empty(), "shadow findings are not queued");
    let bad = toml.replace("status = \"shadow\"", "status = \"maybe\"");
    let err = Rules::parse(&bad, Path::new("inline.toml")).expect_err("unknown status");
    assert!(
        err.to_string().contains("trial.support") && err.to_string().contains("maybe"),
        "{err}"
    );
}
