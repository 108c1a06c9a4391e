//! Typing of plain (unquoted) YAML scalars.
//!
//! AWS documents that CloudFormation reads YAML 1.1, without the binary, omap,
//! pairs, set and timestamp types. So a plain `Yes`, `on` or `false` is a
//! boolean, `0777` is the octal integer 511, `0x1F` is 31 and `1:30` is the
//! sexagesimal 90, exactly as the resolvers of PyYAML (cfn-lint, cfn-flip) and
//! SnakeYAML read them. Like both, the single letters `y` and `n` stay strings,
//! and timestamps such as `2010-09-09` stay strings. See docs/yaml.md.

/// The type YAML 1.1 gives a scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalarKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

impl ScalarKind {
    /// Types a plain scalar's text.
    pub fn of_plain(text: &str) -> ScalarKind {
        if let Some(kind) = null_or_bool(text) {
            return kind;
        }
        match text.as_bytes().first() {
            Some(b'0'..=b'9' | b'+' | b'-' | b'.') => number(text).unwrap_or(ScalarKind::Str),
            _ => ScalarKind::Str,
        }
    }

    /// Types a scalar carrying a core tag (`!!int` and friends); `None` when
    /// the text does not fit the tag.
    pub fn of_core_tag(tag: &str, text: &str) -> Option<ScalarKind> {
        let plain = ScalarKind::of_plain(text);
        match tag {
            "str" => Some(ScalarKind::Str),
            "null" => matches!(plain, ScalarKind::Null).then_some(plain),
            "bool" => matches!(plain, ScalarKind::Bool(_)).then_some(plain),
            "int" => matches!(plain, ScalarKind::Int(_)).then_some(plain),
            "float" => match plain {
                ScalarKind::Int(i) => Some(ScalarKind::Float(i as f64)),
                ScalarKind::Float(_) => Some(plain),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            ScalarKind::Null => "null",
            ScalarKind::Bool(_) => "a boolean",
            ScalarKind::Int(_) | ScalarKind::Float(_) => "a number",
            ScalarKind::Str => "a string",
        }
    }
}

fn null_or_bool(text: &str) -> Option<ScalarKind> {
    Some(match text {
        "" | "~" | "null" | "Null" | "NULL" => ScalarKind::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            ScalarKind::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            ScalarKind::Bool(false)
        }
        _ => return None,
    })
}

fn number(text: &str) -> Option<ScalarKind> {
    let (negative, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() {
        return None;
    }
    let sign = if negative { -1 } else { 1 };
    if let Some(kind) = special_float(body, negative, text) {
        return Some(kind);
    }
    if let Some(bits) = body.strip_prefix("0b") {
        return radix_int(bits, 2).map(|v| ScalarKind::Int(sign * v));
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return radix_int(hex, 16).map(|v| ScalarKind::Int(sign * v));
    }
    if body.contains(':') {
        return sexagesimal(body).map(|v| match v {
            ScalarKind::Int(i) => ScalarKind::Int(sign * i),
            ScalarKind::Float(f) => ScalarKind::Float(sign as f64 * f),
            other => other,
        });
    }
    if body.contains('.') {
        return decimal_float(body).map(|f| ScalarKind::Float(sign as f64 * f));
    }
    if body.len() > 1 && body.starts_with('0') {
        return radix_int(&body[1..], 8).map(|v| ScalarKind::Int(sign * v));
    }
    if !body.bytes().all(|b| b.is_ascii_digit() || b == b'_') || body.starts_with('_') {
        return None;
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    Some(match digits.parse::<i64>() {
        Ok(v) => ScalarKind::Int(sign * v),
        // Too large for i64: YAML still calls it an integer; keep its magnitude.
        Err(_) => ScalarKind::Float(sign as f64 * digits.parse::<f64>().ok()?),
    })
}

fn special_float(body: &str, negative: bool, text: &str) -> Option<ScalarKind> {
    match body {
        ".inf" | ".Inf" | ".INF" => Some(ScalarKind::Float(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        })),
        // NaN takes no sign in YAML 1.1.
        ".nan" | ".NaN" | ".NAN" if text == body => Some(ScalarKind::Float(f64::NAN)),
        _ => None,
    }
}

fn radix_int(digits: &str, radix: u32) -> Option<i64> {
    if digits.is_empty() || !digits.chars().all(|c| c == '_' || c.is_digit(radix)) {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    i64::from_str_radix(&clean, radix).ok()
}

/// `[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?` or `\.[0-9_]+(...)?`
fn decimal_float(body: &str) -> Option<f64> {
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = mantissa.split_once('.')?;
    let int_ok = if int_part.is_empty() {
        !frac.is_empty()
    } else {
        int_part.as_bytes()[0].is_ascii_digit()
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !int_ok || !digits_ok(int_part) || !digits_ok(frac) {
        return None;
    }
    if let Some(exp) = exponent {
        let rest = exp.strip_prefix(['+', '-'])?;
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    body.replace('_', "").parse::<f64>().ok()
}

/// Base 60: `190:20:30` is 685230, `1:30.5` is 90.5.
fn sexagesimal(body: &str) -> Option<ScalarKind> {
    let mut parts = body.split(':');
    let first = parts.next()?;
    if first.is_empty() || !first.as_bytes()[0].is_ascii_digit() || first.starts_with('0') {
        return None;
    }
    let mut value = radix_int(first, 10)? as f64;
    let rest: Vec<&str> = parts.collect();
    let mut is_float = false;
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let (whole, frac) = match part.split_once('.') {
            Some((w, f)) if last => (w, Some(f)),
            Some(_) => return None,
            None => (*part, None),
        };
        if whole.is_empty() || whole.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = whole.parse().ok()?;
        if n > 59 {
            return None;
        }
        value = value * 60.0 + f64::from(n);
        if let Some(frac) = frac {
            if !frac.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
                return None;
            }
            is_float = true;
            value += format!("0.{}", frac.replace('_', "")).parse::<f64>().ok()?;
        }
    }
    Some(if is_float {
        ScalarKind::Float(value)
    } else {
        ScalarKind::Int(value as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::ScalarKind::{self, *};

    fn kind(s: &str) -> ScalarKind {
        ScalarKind::of_plain(s)
    }

    #[test]
    fn yes_no_on_off_are_booleans_as_in_yaml_1_1() {
        for t in ["yes", "Yes", "YES", "on", "On", "true", "True"] {
            assert_eq!(kind(t), Bool(true), "{t}");
        }
        for f in ["no", "No", "off", "OFF", "false", "FALSE"] {
            assert_eq!(kind(f), Bool(false), "{f}");
        }
    }

    #[test]
    fn single_letters_and_odd_cases_stay_strings() {
        for s in ["y", "n", "Y", "N", "yEs", "tRue", "nULL"] {
            assert_eq!(kind(s), Str, "{s}");
        }
    }

    #[test]
    fn integers_in_every_yaml_1_1_radix() {
        assert_eq!(kind("0777"), Int(511));
        assert_eq!(kind("0x1F"), Int(31));
        assert_eq!(kind("0b101"), Int(5));
        assert_eq!(kind("-42"), Int(-42));
        assert_eq!(kind("+7"), Int(7));
        assert_eq!(kind("1_000"), Int(1000));
        assert_eq!(kind("190:20:30"), Int(685_230));
        assert_eq!(kind("0"), Int(0));
    }

    #[test]
    fn floats_need_a_dot_and_a_signed_exponent() {
        assert_eq!(kind("1.5"), Float(1.5));
        assert_eq!(kind(".5"), Float(0.5));
        assert_eq!(kind("1.0e+3"), Float(1000.0));
        assert_eq!(kind("1e5"), Str);
        assert_eq!(kind("1.0e5"), Str);
        assert_eq!(kind("-.inf"), Float(f64::NEG_INFINITY));
        assert!(matches!(kind(".nan"), Float(f) if f.is_nan()));
    }

    #[test]
    fn things_that_only_look_numeric_are_strings() {
        for s in [
            "08",
            "2010-09-09",
            "1.2.3",
            "10.0.0.0/8",
            "0xZZ",
            "-",
            "1:60",
            "80:80:80:99",
        ] {
            assert_eq!(kind(s), Str, "{s}");
        }
    }

    #[test]
    fn nulls() {
        for s in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(kind(s), Null, "{s}");
        }
    }
}
