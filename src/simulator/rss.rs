//! RSS 2.0 feeds: Mastodon's `/@<user>.rss` (own public posts only, no boosts or replies, 20
//! items by default, `?limit=` up to 200, like `mastodon_user_rss_*.xml`) and the blogs of the
//! RSS-only employees at `/rss/<slug>.xml` (guids are `tag:` URIs, not links).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;

use super::ids;
use super::population::{Population, MASTODON_DOMAINS};
use super::ratelimit::Family;
use super::web::{self, escape_html, Query};
use super::{Guard, SimState};
use crate::model::{ActivityKind, Platform};

struct Item {
    guid: String,
    permalink: bool,
    link: String,
    pub_date: String,
    description: String,
}

/// The channel and its items; `image` is the avatar Mastodon puts in `<image>` and
/// `<webfeeds:icon>`.
fn render(
    title: &str,
    description: &str,
    link: &str,
    image: Option<&str>,
    generator: &str,
    items: &[Item],
) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:webfeeds=\"http://webfeeds.org/rss/1.0\" xmlns:media=\"http://search.yahoo.com/mrss/\">\n  <channel>\n");
    xml.push_str(&format!("    <title>{}</title>\n", escape_html(title)));
    xml.push_str(&format!(
        "    <description>{}</description>\n",
        escape_html(description)
    ));
    xml.push_str(&format!("    <link>{}</link>\n", escape_html(link)));
    if let Some(image) = image {
        xml.push_str(&format!(
            "    <image>\n      <url>{}</url>\n      <title>{}</title>\n      <link>{}</link>\n    </image>\n",
            escape_html(image),
            escape_html(title),
            escape_html(link)
        ));
    }
    if let Some(first) = items.first() {
        xml.push_str(&format!(
            "    <lastBuildDate>{}</lastBuildDate>\n",
            first.pub_date
        ));
    }
    if let Some(image) = image {
        xml.push_str(&format!(
            "    <webfeeds:icon>{}</webfeeds:icon>\n",
            escape_html(image)
        ));
    }
    xml.push_str(&format!("    <generator>{generator}</generator>\n"));
    for item in items {
        xml.push_str("    <item>\n");
        xml.push_str(&format!(
            "      <guid isPermaLink=\"{}\">{}</guid>\n",
            item.permalink,
            escape_html(&item.guid)
        ));
        xml.push_str(&format!("      <link>{}</link>\n", escape_html(&item.link)));
        xml.push_str(&format!("      <pubDate>{}</pubDate>\n", item.pub_date));
        xml.push_str(&format!(
            "      <description>{}</description>\n",
            escape_html(&item.description)
        ));
        xml.push_str("    </item>\n");
    }
    xml.push_str("  </channel>\n</rss>\n");
    xml
}

fn rss_response(xml: String) -> Response {
    let mut response = web::bytes_response(
        StatusCode::OK,
        "application/rss+xml; charset=utf-8",
        xml.into_bytes(),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60, public"),
    );
    response
}

fn not_found() -> Response {
    web::bytes_response(
        StatusCode::NOT_FOUND,
        "text/html; charset=utf-8",
        b"<html><body><h1>404 Not Found</h1></body></html>".to_vec(),
    )
}

fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape_html(text))
}

/// Own posts and quotes of `account`, newest first (no boosts, replies or likes).
fn own_posts(world: &Population, account: usize, limit: usize) -> Vec<usize> {
    world.index.by_actor[account]
        .iter()
        .rev()
        .copied()
        .filter(|&i| {
            matches!(
                world.activities[i].kind,
                ActivityKind::Post | ActivityKind::Quote
            )
        })
        .take(limit)
        .collect()
}

/// `GET /mastodon/:domain/@:user.rss`.
pub async fn mastodon_feed(
    State(state): State<Arc<SimState>>,
    Path((domain, file)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let user = file.strip_prefix('@').and_then(|f| f.strip_suffix(".rss"));
    let found = match user {
        Some(user) if MASTODON_DOMAINS.contains(&domain.as_str()) => state
            .world()
            .index
            .mastodon_acct
            .get(&(domain.clone(), user.to_lowercase()))
            .copied(),
        _ => None,
    };
    let Some(account) = found else {
        return not_found();
    };
    let limit = Query::parse(uri.query())
        .ruby_int("limit")
        .map(|l| l.clamp(1, 200) as usize)
        .unwrap_or(20);
    Guard {
        state: &state,
        family: Family::Mastodon,
        uri: &uri,
        headers: &headers,
    }
    .run(&[account], || {
        let world = state.world();
        let a = &world.accounts[account];
        let home = state.mastodon_base(&a.domain);
        let items: Vec<Item> = own_posts(&world, account, limit)
            .into_iter()
            .map(|i| {
                let act = &world.activities[i];
                let url = format!("{home}/@{}/{}", a.username, act.id);
                Item {
                    guid: url.clone(),
                    permalink: true,
                    link: url,
                    pub_date: ids::rfc822(act.created_ms),
                    description: paragraph(&act.text),
                }
            })
            .collect();
        let description = format!("Public posts from @{}@{}", a.username, a.domain);
        rss_response(render(
            &a.display_name,
            &description,
            &format!("{home}/@{}", a.username),
            Some(&format!("{home}/avatars/original/missing.png")),
            "Mastodon v4.4.0",
            &items,
        ))
    })
    .await
}

/// `GET /rss/:slug.xml`: an RSS-only employee's blog.
pub async fn blog_feed(
    State(state): State<Arc<SimState>>,
    Path(file): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let found = file
        .strip_suffix(".xml")
        .and_then(|slug| state.world().index.rss_slug.get(slug).copied())
        .filter(|&a| state.world().accounts[a].platform == Platform::Rss);
    let Some(account) = found else {
        return not_found();
    };
    Guard {
        state: &state,
        family: Family::Rss,
        uri: &uri,
        headers: &headers,
    }
    .run(&[account], || {
        let world = state.world();
        let a = &world.accounts[account];
        let feed_url = format!("{}{}", state.base_url, a.handle);
        let items: Vec<Item> = own_posts(&world, account, 50)
            .into_iter()
            .map(|i| {
                let act = &world.activities[i];
                let n = act.id.rsplit('/').next().unwrap_or_default();
                Item {
                    guid: act.id.clone(),
                    permalink: false,
                    link: format!("{}/rss/{}/{n}", state.base_url, a.username),
                    pub_date: ids::rfc822(act.created_ms),
                    description: paragraph(&act.text),
                }
            })
            .collect();
        rss_response(render(
            &format!("Catatan {}", a.display_name),
            &a.note,
            &feed_url,
            None,
            "netra-simulator",
            &items,
        ))
    })
    .await
}
