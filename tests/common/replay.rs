//! A small HTTP/1.1 server on loopback that replays recorded platform responses (status,
//! headers, body) and can misbehave on purpose. Hand-written on tokio so a test controls every
//! byte: slow trickles, endless bodies and redirect loops are as easy as a normal answer.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does for one route.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A normal response.
    Fixed {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Headers, then the body one byte every `every`.
    Trickle { every: Duration, body: Vec<u8> },
    /// A JSON content type and an endless-looking body of `bytes` filler, chunked.
    Huge { bytes: usize },
    /// A gzip-encoded JSON body that inflates to `inflated` bytes: small on the wire, huge
    /// once decoded, so only a cap counted after decompression stops it.
    GzipBomb { inflated: usize },
    /// 302 to the same path on the same server, forever.
    RedirectLoop,
    /// 302 to another host.
    RedirectAway,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Fixed {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Fixed { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// A recorded fixture: `NAME.json` (or `.xml`) with `NAME.headers.json` beside it. Headers
    /// that describe the original transfer (encoding, length) are dropped: the body on disk is
    /// already decoded. Absolute URLs in `link` point at the recorded host; the connector must
    /// take only their query, which the test proves by serving on another host.
    pub fn fixture(dir: &Path, name: &str, body_ext: &str) -> Reply {
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.headers.json")))
                .expect("fixture headers"),
        )
        .expect("fixture headers are JSON");
        let body = std::fs::read(dir.join(format!("{name}.{body_ext}"))).expect("fixture body");
        let status = meta["status"].as_u64().unwrap_or(200) as u16;
        let headers = meta["headers"]
            .as_object()
            .map(|map| {
                map.iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "content-encoding"
                                | "content-length"
                                | "transfer-encoding"
                                | "connection"
                        )
                    })
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Reply::Fixed {
            status,
            headers,
            body,
        }
    }
}

/// Routes are `path` or `path?query` (exact). A request matches its full path+query first, then
/// its path alone.
#[derive(Clone, Default)]
pub struct ReplayServer {
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    /// Every request target received, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    /// Every request head (request line and headers), in order.
    pub heads: Arc<Mutex<Vec<String>>>,
}

impl ReplayServer {
    pub fn route(&self, target: &str, reply: Reply) -> &Self {
        self.routes
            .lock()
            .unwrap()
            .insert(target.to_string(), reply);
        self
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Starts serving on 127.0.0.1 and returns the base URL.
    pub async fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let server = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = server.serve(stream, addr.port()).await;
                });
            }
        });
        format!("http://127.0.0.1:{}", addr.port())
    }

    async fn serve(&self, mut stream: TcpStream, port: u16) -> std::io::Result<()> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await? == 0 {
                return Ok(());
            }
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        self.heads.lock().unwrap().push(head.clone());
        let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        self.requests.lock().unwrap().push(target.clone());
        let path = target.split('?').next().unwrap_or("/").to_string();
        let reply = {
            let routes = self.routes.lock().unwrap();
            routes.get(&target).or_else(|| routes.get(&path)).cloned()
        };
        let reply = reply.unwrap_or_else(|| Reply::json(404, "{\"error\":\"Record not found\"}"));
        match reply {
            Reply::Fixed {
                status,
                headers,
                body,
            } => {
                let mut text = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    text.push_str(&format!("{name}: {value}\r\n"));
                }
                text.push_str("\r\n");
                stream.write_all(text.as_bytes()).await?;
                stream.write_all(&body).await?;
            }
            Reply::Trickle { every, body } => {
                let text = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(text.as_bytes()).await?;
                for b in body {
                    stream.write_all(&[b]).await?;
                    tokio::time::sleep(every).await;
                }
            }
            Reply::Huge { bytes } => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n")
                    .await?;
                let chunk = vec![b'['; 64 * 1024];
                let mut sent = 0;
                while sent < bytes {
                    stream
                        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .await?;
                    stream.write_all(&chunk).await?;
                    stream.write_all(b"\r\n").await?;
                    sent += chunk.len();
                }
                stream.write_all(b"0\r\n\r\n").await?;
            }
            Reply::GzipBomb { inflated } => {
                use std::io::Write;
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                let zeros = vec![b' '; 1024 * 1024];
                let mut written = 0;
                while written < inflated {
                    encoder.write_all(&zeros)?;
                    written += zeros.len();
                }
                let body = encoder.finish()?;
                let text = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(text.as_bytes()).await?;
                stream.write_all(&body).await?;
            }
            Reply::RedirectLoop => {
                let text = format!(
                    "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{port}{target}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                stream.write_all(text.as_bytes()).await?;
            }
            Reply::RedirectAway => {
                stream
                    .write_all(b"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.2:9/admin\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await?;
            }
        }
        stream.shutdown().await
    }
}
