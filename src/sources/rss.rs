//! RSS 2.0 and Atom feeds, for accounts whose platform offers nothing else (a Mastodon
//! instance with its API closed, GoToSocial, Pleroma, a blog).
//!
//! A feed shows only the author's own recent posts: no reposts, replies or likes, and only the
//! last N items, so a feed polled too rarely loses posts. The capabilities say so. The account's
//! "handle" is the feed's URL.

use jiff::Timestamp;
use quick_xml::events::Event;
use quick_xml::Reader;

use super::http::{Expect, Fetched, HttpClient};
use super::{html, AccountRef, Capabilities, Resolved, ScanPage, SourceError};
use crate::model::{AccountState, Activity, ActivityKind, EvidenceRef, Platform};

pub const CAPABILITIES: Capabilities = Capabilities {
    platform: Platform::Rss,
    own_kinds: &[ActivityKind::Post],
    reverse_kinds: &[],
    exact_times: true,
    needs_token: false,
    note: "Hanya unggahan sendiri yang terbaru (tanpa boost, balasan, atau suka); unggahan bisa \
           terlewat bila feed jarang dibaca.",
};

/// One item of a feed, whichever dialect it came in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedEntry {
    pub id: String,
    pub link: Option<String>,
    pub text: String,
    pub published: Option<String>,
}

/// Reads the items of an RSS 2.0 or Atom document.
pub fn parse_feed(xml: &[u8]) -> Result<Vec<FeedEntry>, String> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut entries = Vec::new();
    let mut current: Option<FeedEntry> = None;
    let mut field: Option<String> = None;
    let mut title = String::new();
    let mut buffer = Vec::new();
    let mut saw_feed = false;
    loop {
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|error| format!("XML error at byte {}: {error}", reader.error_position()))?;
        match event {
            Event::Start(start) | Event::Empty(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).to_string();
                match name.as_str() {
                    "rss" | "feed" => saw_feed = true,
                    "item" | "entry" => {
                        current = Some(FeedEntry::default());
                        title.clear();
                    }
                    "link" if current.is_some() => {
                        // Atom: <link href="..."/>, preferring rel="alternate" (the default).
                        let mut href = None;
                        let mut rel = None;
                        for attribute in start.attributes().flatten() {
                            let value = attribute
                                .unescape_value()
                                .map(|v| v.to_string())
                                .unwrap_or_default();
                            match attribute.key.local_name().as_ref() {
                                b"href" => href = Some(value),
                                b"rel" => rel = Some(value),
                                _ => {}
                            }
                        }
                        if let (Some(entry), Some(href)) = (current.as_mut(), href) {
                            if rel.as_deref().is_none_or(|r| r == "alternate") {
                                entry.link = Some(href);
                            }
                        }
                    }
                    _ => {}
                }
                field = Some(name);
            }
            Event::Text(text) => {
                let value = text
                    .unescape()
                    .map_err(|error| error.to_string())?
                    .to_string();
                take_text(current.as_mut(), field.as_deref(), &value, &mut title);
            }
            Event::CData(data) => {
                let value = String::from_utf8_lossy(&data).to_string();
                take_text(current.as_mut(), field.as_deref(), &value, &mut title);
            }
            Event::End(end) => {
                let name = end.local_name();
                if matches!(name.as_ref(), b"item" | b"entry") {
                    if let Some(mut entry) = current.take() {
                        if entry.text.is_empty() {
                            entry.text = title.clone();
                        }
                        if entry.id.is_empty() {
                            entry.id = entry.link.clone().unwrap_or_default();
                        }
                        if !entry.id.is_empty() {
                            entries.push(entry);
                        }
                    }
                }
                field = None;
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    if !saw_feed {
        return Err("the document is neither RSS (<rss>) nor Atom (<feed>)".into());
    }
    Ok(entries)
}

fn take_text(entry: Option<&mut FeedEntry>, field: Option<&str>, value: &str, title: &mut String) {
    let Some(entry) = entry else { return };
    match field {
        Some("guid" | "id") => entry.id = value.trim().to_string(),
        Some("link") => entry.link = Some(value.trim().to_string()),
        Some("description" | "content" | "summary" | "encoded") => {
            entry.text = html::to_text(value);
        }
        Some("title") => *title = value.trim().to_string(),
        Some("pubDate" | "published" | "updated" | "date") if entry.published.is_none() => {
            entry.published = Some(value.trim().to_string());
        }
        _ => {}
    }
}

/// RSS dates are RFC 2822; Atom dates RFC 3339.
fn parse_date(value: &str) -> Option<Timestamp> {
    value.parse::<Timestamp>().ok().or_else(|| {
        jiff::fmt::rfc2822::parse(value)
            .ok()
            .map(|zoned| zoned.timestamp())
    })
}

/// The feed connector.
#[derive(Clone)]
pub struct Rss {
    http: HttpClient,
}

impl Rss {
    pub fn new(http: HttpClient) -> Rss {
        Rss { http }
    }

    fn check_url(handle: &str) -> Result<&str, SourceError> {
        let url = handle.trim();
        if url.starts_with("https://") || url.starts_with("http://") {
            Ok(url)
        } else {
            Err(SourceError::BadHandle {
                platform: Platform::Rss,
                handle: handle.to_string(),
                reason: "an RSS account is the feed's http(s) URL",
            })
        }
    }

    async fn fetch(&self, url: &str) -> Result<(Fetched, Vec<FeedEntry>), SourceError> {
        let fetched = self.http.get(url, Expect::Feed, &[]).await?;
        let entries = parse_feed(&fetched.body).map_err(|reason| SourceError::Unexpected {
            url: fetched.url.clone(),
            reason,
        })?;
        Ok((fetched, entries))
    }

    /// A feed is its own id: resolving checks that it is there and is a feed.
    pub async fn resolve(&self, handle: &str) -> Result<Resolved, SourceError> {
        let url = Rss::check_url(handle)?;
        self.fetch(url).await?;
        Ok(Resolved {
            platform_id: url.to_string(),
            handle: url.to_string(),
            state: AccountState::Ok,
        })
    }

    /// Items published after `cursor` (a time), or on a first scan after `backfill_since`;
    /// items without a date are always returned and left to the store's deduplication.
    pub async fn scan_own(
        &self,
        account: &AccountRef,
        cursor: Option<&str>,
        backfill_since: Option<Timestamp>,
    ) -> Result<ScanPage, SourceError> {
        let url = Rss::check_url(&account.handle)?;
        let (fetched, entries) = self.fetch(url).await?;
        let after = cursor.and_then(|c| c.parse::<Timestamp>().ok());
        let mut newest = after;
        let horizon = if cursor.is_none() {
            backfill_since
        } else {
            None
        };
        let mut page = ScanPage::default();
        for entry in entries {
            let published = entry.published.as_deref().and_then(parse_date);
            if let (Some(time), Some(after)) = (published, after) {
                if time <= after {
                    continue;
                }
            }
            if let (Some(time), Some(since)) = (published, horizon) {
                if time < since {
                    continue;
                }
            }
            if let Some(time) = published {
                newest = Some(newest.map_or(time, |n| n.max(time)));
            }
            page.activities.push(Activity {
                platform: Platform::Rss,
                platform_activity_id: entry.id.clone(),
                kind: ActivityKind::Post,
                account_id: account.account_id,
                actor_handle: url.to_string(),
                text: entry.text,
                target: None,
                url: entry.link.or(Some(entry.id)),
                occurred_at: published.unwrap_or(fetched.fetched_at),
                time_exact: published.is_some(),
                observed_at: fetched.fetched_at,
                evidence: Some(EvidenceRef {
                    sha256: fetched.sha256.clone(),
                    url: fetched.url.clone(),
                    fetched_at: fetched.fetched_at,
                }),
            });
        }
        page.cursor = newest.filter(|n| Some(*n) != after).map(|n| n.to_string());
        page.evidence.push(fetched);
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_entries_are_read() {
        let atom = br#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
          <entry><id>tag:a,1</id><link rel="alternate" href="https://a.example/1"/>
          <published>2024-11-01T08:00:00Z</published><content type="html">&lt;p&gt;Coblos &amp;amp; menang&lt;/p&gt;</content></entry>
          <entry><id>tag:a,2</id><title>Judul saja</title></entry></feed>"#;
        let entries = parse_feed(atom).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].link.as_deref(), Some("https://a.example/1"));
        assert_eq!(entries[0].text, "Coblos & menang");
        assert_eq!(entries[1].text, "Judul saja");
        assert_eq!(
            parse_date(entries[0].published.as_deref().unwrap())
                .unwrap()
                .to_string(),
            "2024-11-01T08:00:00Z"
        );
    }

    #[test]
    fn html_and_broken_xml_are_refused() {
        assert!(parse_feed(b"<html><body>hi</body></html>").is_err());
        assert!(
            parse_feed(b"<rss><channel><item><guid>x</guid></item>").is_ok_and(|e| e.len() == 1)
        );
        assert!(parse_feed(b"<rss><channel></item>").is_err());
    }
}
