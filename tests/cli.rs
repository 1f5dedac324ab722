//! The `netra` binary as an operator runs it: exit codes and what it prints.

use std::path::Path;
use std::process::{Command, Output};

fn netra(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netra"))
        .args(args)
        .current_dir(dir)
        .env_remove("NETRA_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("the netra binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn config_check_reports_every_error_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[http]\nlisten = \"127.0.0.1:8080\"\ncolour = \"blue\"\n\n[scan]\n\
         min_poll_interval_secs = -30\nmax_poll_interval_secs = \"an hour\"\n",
    )
    .unwrap();
    let output = netra(dir.path(), &["--config", "bad.toml", "config", "check"]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("3 configuration errors"), "{stderr}");
    assert!(
        stderr.contains("bad.toml: http.colour: unknown key"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("bad.toml: scan.max_poll_interval_secs: expects an integer, found a string"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.toml: scan.min_poll_interval_secs: must not be negative, got -30"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn config_check_prints_the_effective_config_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "very-secret-token\n").unwrap();
    std::fs::write(
        dir.path().join("ok.toml"),
        "[sources.x]\nbearer_token_file = \"token\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_netra"))
        .args(["--config", "ok.toml", "config", "check"])
        .current_dir(dir.path())
        .env("NETRA_HTTP_LISTEN", "127.0.0.1:9191")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("listen = \"127.0.0.1:9191\""), "{stdout}");
    assert!(stdout.contains("bearer_token = \"<redacted>\""), "{stdout}");
    assert!(!stdout.contains("very-secret") && !text(&output.stderr).contains("very-secret"));
}

#[test]
fn without_a_config_file_the_built_in_default_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let output = netra(dir.path(), &["config", "check"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("<built-in default>"));
}

#[test]
fn export_import_round_trip_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    // A store made by the library, then dumped and restored by the binary.
    {
        let store = netra::store::Store::open(&dir.path().join("a"), 8 << 20).unwrap();
        let employee = netra::model::Employee {
            employee_id: "198501012010011001".into(),
            name: "Siti <script>".into(),
            unit: netra::model::UnitPath::parse("bkn/kanreg-vii").unwrap(),
            position: "Pranata Komputer".into(),
            status: netra::model::EmploymentStatus::Pppk,
            active: true,
            registered_at: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        };
        store.put_employee(&employee).unwrap();
        store
            .register_account(
                &employee.employee_id,
                netra::model::Platform::Bluesky,
                "siti.bsky.social",
                employee.registered_at,
            )
            .unwrap();
    }
    let with_store = |name: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_netra"))
            .args(args)
            .current_dir(dir.path())
            .env("NETRA_STORE_PATH", name)
            .output()
            .unwrap()
    };
    let first = with_store("a", &["export", "first.jsonl"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let restored = with_store("b", &["import", "first.jsonl"]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let second = with_store("b", &["export", "-"]);
    assert!(second.status.success());
    let original = std::fs::read_to_string(dir.path().join("first.jsonl")).unwrap();
    assert_eq!(text(&second.stdout), original);
    assert!(original.contains("siti.bsky.social"));

    // Importing again into the now non-empty store is refused and says why.
    let again = with_store("b", &["import", "first.jsonl"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("needs an empty store"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn version_and_help_work() {
    let dir = tempfile::tempdir().unwrap();
    let version = netra(dir.path(), &["--version"]);
    assert!(text(&version.stdout).starts_with("netra "));
    let unknown = netra(dir.path(), &["frobnicate"]);
    assert!(!unknown.status.success());
}

#[test]
fn accounts_import_reports_rows_and_exits_non_zero_on_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pegawai.csv"),
        "employee_id,name,unit,position,status,platform,handle\n\
         1001,Ani,kemendagri/biro-umum,Staf,pns,mastodon,@ani@m.example\n\
         1002,Budi,kemendagri/biro-umum,Staf,pns,bluesky,budi\n",
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_netra"))
            .args(["accounts", "import", "pegawai.csv"])
            .current_dir(dir.path())
            .env("NETRA_STORE_PATH", "db")
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(first.status.code(), Some(3), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert!(stdout.contains("1 accounts added"), "{stdout}");
    assert!(
        stdout.contains("line 3, column handle: 'budi' is not a Bluesky handle"),
        "{stdout}"
    );
    let second = text(&run().stdout);
    assert!(second.contains("0 accounts added, 1 unchanged"), "{second}");
}

#[test]
fn import_activities_judges_and_stores_lines_or_rejects_the_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_netra"))
            .args(args)
            .current_dir(dir.path())
            .env("NETRA_STORE_PATH", "db")
            .env("NETRA_DETECT_WORDLISTS_DIR", format!("{root}/wordlists"))
            .env(
                "NETRA_DETECT_RULES_FILE",
                format!("{root}/config/rules.toml"),
            )
            .output()
            .unwrap()
    };
    std::fs::write(
        dir.path().join("pegawai.csv"),
        "employee_id,name,unit,position,status,platform,handle\n\
         1001,Ani,kemendagri/biro-umum,Staf,pns,facebook,ani.susanti\n",
    )
    .unwrap();
    assert!(run(&["accounts", "import", "pegawai.csv"]).status.success());

    let good = "{\"platform\":\"facebook\",\"account\":\"ani.susanti\",\"kind\":\"like\",\"id\":\"fb-1\",\"occurred_at\":\"2024-01-20T08:00:00+07:00\",\"target\":{\"author\":\"@prabowo\",\"text\":\"Terima kasih relawan!\"}}\n\
                {\"platform\":\"facebook\",\"account\":\"ani.susanti\",\"kind\":\"post\",\"id\":\"fb-2\",\"occurred_at\":\"2024-01-20T09:00:00+07:00\",\"text\":\"Selamat pagi, semangat bekerja melayani masyarakat\"}\n";
    let bad = format!("{good}{{\"platform\":\"facebook\",\"account\":\"orang.lain\",\"kind\":\"post\",\"id\":\"fb-3\",\"occurred_at\":\"2024-01-20T09:00:00Z\",\"text\":\"halo\"}}\n");
    std::fs::write(dir.path().join("bad.jsonl"), bad).unwrap();
    let rejected = run(&["import-activities", "bad.jsonl"]);
    assert_eq!(rejected.status.code(), Some(3));
    let stderr = text(&rejected.stderr);
    assert!(
        stderr.contains("line 3: account: facebook account 'orang.lain' is not registered"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    std::fs::write(dir.path().join("good.jsonl"), good).unwrap();
    let imported = run(&["import-activities", "good.jsonl"]);
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    assert!(
        text(&imported.stdout).contains("imported 2 new activities"),
        "{}",
        text(&imported.stdout)
    );
    let listed = run(&["findings", "list", "--json"]);
    let lines: Vec<serde_json::Value> = text(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty(), "liking a candidate's post is a finding");
    assert!(lines
        .iter()
        .all(|f| f["activity_id"] == "fb-1" && f["unit"] == "kemendagri/biro-umum"));
    assert!(
        lines.iter().any(|f| f["category"] == "like_candidate"),
        "{lines:?}"
    );
    // Importing again adds nothing.
    let again = run(&["import-activities", "good.jsonl"]);
    assert!(text(&again.stdout).contains("imported 0 new activities, 0 new findings"));
}
