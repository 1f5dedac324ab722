//! HTML fragments (Mastodon `content`, RSS descriptions) to the plain text a person read.
//!
//! Platforms send sanitised HTML: paragraphs, line breaks, links, spans. Tags are dropped,
//! block ends become line breaks, and character references are decoded, so `&lt;script&gt;`
//! stays the text `<script>` and is escaped again wherever it is shown.

/// Converts an HTML fragment to text.
pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find(['<', '&']) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if rest.starts_with('<') {
            // A tag starts with a letter, '/' or '!'; any other '<' ("1 < 2") is text.
            let opens_tag = rest[1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
            let end = rest.find('>').filter(|_| opens_tag);
            let Some(end) = end else {
                out.push('<');
                rest = &rest[1..];
                continue;
            };
            let tag = rest[1..end].trim().to_ascii_lowercase();
            let name = tag
                .trim_start_matches('/')
                .split([' ', '/'])
                .next()
                .unwrap_or("");
            let breaks_line = matches!(name, "br" | "p" | "div" | "li" | "blockquote");
            if breaks_line
                && (tag.starts_with('/') || name == "br")
                && !out.ends_with('\n')
                && !out.is_empty()
            {
                out.push('\n');
            }
            rest = &rest[end + 1..];
        } else {
            let (decoded, used) = decode_reference(rest);
            out.push_str(&decoded);
            rest = &rest[used..];
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// Decodes one character reference at the start of `text` (which begins with '&'); returns
/// the text and the bytes consumed. An unknown reference is kept as written.
fn decode_reference(text: &str) -> (String, usize) {
    let Some(end) = text[1..].find(';').map(|i| i + 1).filter(|&i| i <= 12) else {
        return ("&".into(), 1);
    };
    let name = &text[1..end];
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" | "#39" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let number =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    name.strip_prefix('#')
                        .and_then(|dec| dec.parse::<u32>().ok())
                };
            number.and_then(char::from_u32)
        }
    };
    match decoded {
        Some(c) => (c.to_string(), end + 1),
        None => ("&".into(), 1),
    }
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn mastodon_content_becomes_readable_text() {
        let html = "<p>Ayo <a href=\"https://m.example/tags/Pemilu\" class=\"mention hashtag\" rel=\"tag\">#<span>Pemilu</span></a> damai!</p><p>Baris&nbsp;dua<br />tiga &amp; &lt;script&gt; &#128076; &#x1F44D;</p>";
        assert_eq!(
            to_text(html),
            "Ayo #Pemilu damai!\nBaris dua\ntiga & <script> 👌 👍"
        );
    }

    #[test]
    fn stray_markup_characters_are_kept_as_text() {
        assert_eq!(
            to_text("1 < 2 & 3 > 2 &bogus; &"),
            "1 < 2 & 3 > 2 &bogus; &"
        );
        assert_eq!(to_text("tanpa tag"), "tanpa tag");
    }
}
