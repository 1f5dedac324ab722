//! Direct access to a store's raw trees, below Netra, as an attacker with access to the files
//! (sled) or to the database (PostgreSQL) would have: for tamper tests on either engine.

use std::path::Path;

/// One tree's raw keys and values.
pub trait RawTree {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    fn insert(&self, key: &[u8], value: &[u8]);
    fn remove(&self, key: &[u8]);
}

impl RawTree for sled::Tree {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        sled::Tree::get(self, key).unwrap().map(|v| v.to_vec())
    }
    fn insert(&self, key: &[u8], value: &[u8]) {
        sled::Tree::insert(self, key, value).unwrap();
    }
    fn remove(&self, key: &[u8]) {
        sled::Tree::remove(self, key).unwrap();
    }
}

struct PostgresTree {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    tree: String,
}

impl RawTree for PostgresTree {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let rows = self
            .runtime
            .block_on(self.client.query(
                "SELECT value FROM netra_kv WHERE tree = $1 AND key = $2",
                &[&self.tree, &key],
            ))
            .unwrap();
        rows.first().map(|row| row.get(0))
    }
    fn insert(&self, key: &[u8], value: &[u8]) {
        self.runtime
            .block_on(self.client.execute(
                "INSERT INTO netra_kv (tree, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (tree, key) DO UPDATE SET value = EXCLUDED.value",
                &[&self.tree, &key, &value],
            ))
            .unwrap();
    }
    fn remove(&self, key: &[u8]) {
        self.runtime
            .block_on(self.client.execute(
                "DELETE FROM netra_kv WHERE tree = $1 AND key = $2",
                &[&self.tree, &key],
            ))
            .unwrap();
    }
}

/// Runs `change` on tree `name` of the store at `path`, wherever that store lives (see
/// `netra::store::Store::open`), with Netra closed.
pub fn tamper(path: &Path, name: &str, change: impl FnOnce(&dyn RawTree)) {
    match std::env::var(netra::store::POSTGRES_FOR_DIRECTORIES) {
        Ok(url) if netra::store::is_postgres_url(&url) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let (client, connection) = runtime
                .block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls))
                .unwrap();
            runtime.spawn(connection);
            let schema = netra::store::schema_for_directory(path);
            runtime
                .block_on(client.batch_execute(&format!("SET search_path TO \"{schema}\"")))
                .unwrap();
            change(&PostgresTree {
                runtime,
                client,
                tree: name.to_string(),
            });
        }
        _ => {
            let db = super::retry(|| sled::open(path));
            let tree = db.open_tree(name).unwrap();
            change(&tree);
            db.flush().unwrap();
        }
    }
}
