//! The drift table of a codify pull request's body, as GitHub markdown.

/// One drifted property, as the table shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftRow {
    /// The logical id, e.g. `WebSg`.
    pub resource: String,
    /// CloudFormation's property path, e.g. `/SecurityGroupIngress/0/CidrIp`.
    pub property: String,
    /// The template's (expected) value as text; `None` when the template
    /// does not set it.
    pub template_value: Option<String>,
    /// The live (actual) value as text; `None` when it was removed.
    pub live_value: Option<String>,
    /// Who changed it, from CloudTrail.
    pub changed_by: Option<String>,
    /// When, as CloudTrail gives it (RFC 3339).
    pub changed_at: Option<String>,
}

/// A markdown table, one row per drifted property. Cell text is escaped, so
/// a value holding `|`, a backtick or a newline cannot break the table or
/// inject markup.
pub fn drift_table(rows: &[DriftRow]) -> String {
    let mut out = String::from(
        "| Resource | Property | Template value | Live value | Changed by | When |\n\
         |---|---|---|---|---|---|\n",
    );
    for r in rows {
        let cells = [
            code(Some(&r.resource), ""),
            code(Some(&r.property), ""),
            code(r.template_value.as_deref(), "*(not set)*"),
            code(r.live_value.as_deref(), "*(removed)*"),
            text(r.changed_by.as_deref()),
            text(r.changed_at.as_deref()),
        ];
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// A code span that holds any text: fenced with more backticks than the
/// text's longest run, pipes escaped (GitHub splits cells before spans),
/// line breaks shown as `⏎`.
fn code(value: Option<&str>, missing: &str) -> String {
    let Some(v) = value else {
        return missing.to_string();
    };
    if v.is_empty() {
        return "*(empty)*".to_string();
    }
    let v = v
        .replace("\r\n", "⏎")
        .replace(['\n', '\r'], "⏎")
        .replace('|', "\\|");
    let longest = v.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if v.starts_with('`') || v.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{v}{pad}{fence}")
}

/// Plain text with markdown's special characters escaped.
fn text(value: Option<&str>) -> String {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return "—".to_string();
    };
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_drifted_property_is_a_row_with_who_and_when() {
        let table = drift_table(&[DriftRow {
            resource: "WebSg".into(),
            property: "/SecurityGroupIngress/0/CidrIp".into(),
            template_value: Some("10.0.0.0/8".into()),
            live_value: Some("0.0.0.0/0".into()),
            changed_by: Some("arn:aws:sts::1:assumed-role/oncall/alice".into()),
            changed_at: Some("2026-11-28T22:10:00Z".into()),
        }]);
        assert_eq!(
            table,
            "| Resource | Property | Template value | Live value | Changed by | When |\n\
             |---|---|---|---|---|---|\n\
             | `WebSg` | `/SecurityGroupIngress/0/CidrIp` | `10.0.0.0/8` | `0.0.0.0/0` | arn:aws:sts::1:assumed-role/oncall/alice | 2026-11-28T22:10:00Z |\n"
        );
    }

    #[test]
    fn values_with_pipes_backticks_and_newlines_stay_inside_their_cell() {
        let table = drift_table(&[DriftRow {
            resource: "Fn".into(),
            property: "/Code".into(),
            template_value: None,
            live_value: Some("a|b ``c``\nd".into()),
            changed_by: Some("<script>|x".into()),
            changed_at: None,
        }]);
        let row = table.lines().nth(2).unwrap();
        assert_eq!(
            row,
            "| `Fn` | `/Code` | *(not set)* | ```a\\|b ``c``⏎d``` | \\<script\\>\\|x | — |"
        );
        // Six cells: every unescaped pipe is a cell border.
        let borders = row.matches('|').count() - row.matches("\\|").count();
        assert_eq!(borders, 7);
    }
}
