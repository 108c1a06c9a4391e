//! Markdown that shows text inertly. Live values, resource names and AWS
//! messages come from whoever has console access; in a job summary, a pull
//! request or a codify body they must not add a link, an image, HTML or a
//! table cell. Everything such text becomes passes through here.
//!
//! A code span is the one place GitHub's markdown leaves alone: no
//! emphasis, links, autolinks or HTML inside it. What remains is the table
//! row, which GitHub splits on `|` before anything else, so pipes are
//! escaped too. The tests render with comrak, a CommonMark and GitHub
//! Flavored Markdown implementation that follows GitHub's own (cmark-gfm).

/// `text` as an inline code span, safe in a table cell: fenced with more
/// backticks than any run inside it, pipes escaped, newlines flattened,
/// long text shortened.
pub fn code(text: &str) -> String {
    let flat = shorten(&text.replace(['\n', '\r'], " "));
    let longest = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A span that starts or ends with a backtick needs a space inside the
    // fence (CommonMark strips one on each side).
    let pad = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    if flat.is_empty() {
        return "` `".into();
    }
    format!("{fence}{pad}{}{pad}{fence}", escape_pipes(&flat))
}

/// Plain `text` for a table cell or a paragraph: the characters markdown
/// reads as emphasis, links, images, HTML, headings or cells are escaped,
/// so text stays text. Bare URLs stay unlinked only in [`code`]: use that
/// for values.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.replace(['\n', '\r'], " ").chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '!' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes each `|`: GitHub's table splitter treats `\|` as a pipe inside
/// the cell (even inside a code span) and removes the backslash.
fn escape_pipes(text: &str) -> String {
    text.replace('|', "\\|")
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders with GitHub's extensions (tables, autolinks, strikethrough)
    /// and raw HTML passed through, so an injection would show.
    fn render(markdown: &str) -> String {
        let mut options = comrak::Options::default();
        options.extension.table = true;
        options.extension.autolink = true;
        options.extension.strikethrough = true;
        options.render.r#unsafe = true;
        comrak::markdown_to_html(markdown, &options)
    }

    const HOSTILE: &[&str] = &[
        "0.0.0.0/0 | <img src=x onerror=alert(1)> | [click](https://evil.example)",
        "`code` and ``more`` and a trailing `",
        "![pixel](https://evil.example/p.png)",
        "<script>alert(1)</script> <b>bold</b>",
        "back\\|slash\\\\|double",
        "www.evil.example and https://evil.example/x",
        "*em* _em_ ~~strike~~ # heading",
        "line one\nline two | cell",
    ];

    fn assert_inert(html: &str, value: &str) {
        for bad in ["<a ", "<img", "<script", "<b>", "<em>", "<del>", "<h1"] {
            assert!(!html.contains(bad), "{value:?} rendered {bad}:\n{html}");
        }
        assert_eq!(
            html.matches("<td").count(),
            2,
            "{value:?} changed the cells:\n{html}"
        );
    }

    #[test]
    fn a_hostile_value_in_a_code_cell_is_one_cell_of_plain_text() {
        for value in HOSTILE {
            let table = format!("| a | b |\n|---|---|\n| {} | x |\n", code(value));
            let html = render(&table);
            assert_inert(&html, value);
        }
    }

    #[test]
    fn a_hostile_value_in_a_text_cell_is_one_cell_of_plain_text() {
        for value in HOSTILE
            .iter()
            .filter(|v| !v.contains("www.") && !v.contains("https://"))
        {
            let table = format!("| a | b |\n|---|---|\n| {} | x |\n", text(value));
            let html = render(&table);
            assert_inert(&html, value);
        }
    }

    #[test]
    fn a_code_span_shows_the_value_exactly() {
        for value in ["a`b", "`x`", "plain", "a | b", "<b>"] {
            let html = render(&format!("| a |\n|---|\n| {} |\n", code(value)));
            let shown = html
                .split("<code>")
                .nth(1)
                .and_then(|rest| rest.split("</code>").next())
                .unwrap_or_default()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"");
            assert_eq!(shown, value, "{html}");
        }
    }
}
