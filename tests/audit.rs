//! The audit log's hash chain on a real sled database: an edited, a removed and a cut-off entry
//! are each found at the right place, by the store and by `netra audit verify`; a rewritten
//! history is caught against an external checkpoint. Also the user and token commands.

mod common;

use std::path::Path;
use std::process::Command;

use common::raw::RawTree;
use jiff::Timestamp;
use netra::access::{Role, Scope};
use netra::store::{AuditDraft, NewUser, Store};

fn store_with_history(path: &Path) -> (u64, String) {
    let store = Store::open(path, 8 << 20).unwrap();
    store
        .add_user(
            NewUser {
                name: "admin".into(),
                role: Role::Admin,
                scope: Scope::All,
                senior: false,
                employee_id: None,
            },
            "cli",
            Timestamp::now(),
        )
        .unwrap();
    for n in 0..5 {
        store
            .audit(
                AuditDraft::new("user:1:admin", "evidence.read", format!("finding:{n}")),
                common::at(n),
            )
            .unwrap();
    }
    let report = store.verify_audit(None).unwrap();
    assert_eq!(report.first_broken, None);
    assert_eq!(report.entries, 6);
    (report.head_seq, report.head_hash)
}

fn reopen(path: &Path) -> Store {
    common::retry(|| Store::open(path, 8 << 20))
}

/// Changes the raw audit tree below Netra, as an attacker with access to the files or the
/// database would.
fn tamper(path: &Path, change: impl FnOnce(&dyn RawTree)) {
    common::raw::tamper(path, "audit", change);
}

fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn first_broken(path: &Path, checkpoint: Option<(u64, &str)>) -> Option<u64> {
    let store = reopen(path);
    store
        .verify_audit(checkpoint)
        .unwrap()
        .first_broken
        .map(|b| b.seq)
}

#[test]
fn an_edited_entry_is_found_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    tamper(dir.path(), |tree| {
        let value = tree.get(&key(3)).unwrap();
        let text = String::from_utf8_lossy(&value).replace("finding:1", "finding:9");
        assert_ne!(text.as_bytes(), &value[..]);
        tree.insert(&key(3), text.as_bytes());
    });
    assert_eq!(first_broken(dir.path(), None), Some(3));
}

#[test]
fn a_removed_entry_is_found_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    tamper(dir.path(), |tree| {
        tree.remove(&key(4));
    });
    assert_eq!(first_broken(dir.path(), None), Some(4));
}

#[test]
fn a_cut_tail_and_a_rewritten_history_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (head_seq, head_hash) = store_with_history(dir.path());
    tamper(dir.path(), |tree| {
        tree.remove(&key(head_seq));
    });
    assert_eq!(first_broken(dir.path(), None), Some(head_seq));

    // A history rebuilt from scratch verifies on its own, but not against the head recorded
    // outside the store before.
    let rebuilt = tempfile::tempdir().unwrap();
    let store = Store::open(rebuilt.path(), 8 << 20).unwrap();
    for n in 0..6 {
        store
            .audit(
                AuditDraft::new("forger", "nothing", format!("x:{n}")),
                common::at(n),
            )
            .unwrap();
    }
    drop(store);
    assert_eq!(first_broken(rebuilt.path(), None), None);
    assert_eq!(
        first_broken(rebuilt.path(), Some((head_seq, &head_hash))),
        Some(head_seq)
    );
}

fn netra(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netra"))
        .args(args)
        .env("NETRA_STORE_PATH", dir.join("data"))
        .env(
            "NETRA_CONFIG",
            env!("CARGO_MANIFEST_DIR").to_string() + "/config/netra.toml",
        )
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn the_commands_add_users_print_tokens_alone_and_verify_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let added = netra(
        dir.path(),
        &[
            "users",
            "add",
            "siti",
            "--role",
            "reviewer",
            "--unit",
            "kemenkumham/kanwil-sumsel",
        ],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let bad = netra(
        dir.path(),
        &["users", "add", "x", "--role", "boss", "--unit", "/"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("boss"));

    let created = netra(dir.path(), &["tokens", "create", "siti"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let stdout = String::from_utf8(created.stdout).unwrap();
    let token = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "the token alone on stdout");
    assert!(token.starts_with("asnt_") && token.len() == 69, "{token}");

    let store = reopen(&dir.path().join("data"));
    let (_, user) = store
        .authenticate(&netra::access::token_digest(token))
        .unwrap()
        .expect("the printed token authenticates");
    assert_eq!(user.name, "siti");
    drop(store);

    let revoked = netra(dir.path(), &["tokens", "revoke", "1"]);
    assert!(revoked.status.success());
    let store = reopen(&dir.path().join("data"));
    assert!(store
        .authenticate(&netra::access::token_digest(token))
        .unwrap()
        .is_none());
    drop(store);

    let verified = netra(dir.path(), &["audit", "verify"]);
    assert!(verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stderr).contains("intact: 3 entries"));
    tamper(&dir.path().join("data"), |tree| {
        tree.remove(&key(2));
    });
    let broken = netra(dir.path(), &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("broken at entry 2"));
}
