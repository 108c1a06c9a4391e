//! Property paths in CloudFormation's PropertyPath format
//! (`/SecurityGroupIngress/0/CidrIp`), and schema pointer patterns that may
//! hold `*` for any list index or map key (`/Tags/*/Key`).

use std::fmt;

/// One step into a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path below a resource's `Properties`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropertyPath(pub Vec<Segment>);

impl PropertyPath {
    pub fn root() -> Self {
        PropertyPath(Vec::new())
    }

    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Key(k.to_string()));
        PropertyPath(v)
    }

    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Index(i));
        PropertyPath(v)
    }

    /// Parses `/A/0/B`: all-digit segments are indexes.
    pub fn parse(text: &str) -> Self {
        PropertyPath(
            text.split('/')
                .filter(|s| !s.is_empty())
                .map(|s| match s.parse::<usize>() {
                    Ok(i) if !s.starts_with('+') => Segment::Index(i),
                    _ => Segment::Key(s.to_string()),
                })
                .collect(),
        )
    }

    /// Whether a schema pattern (`/Tags/*/Key`) names exactly this path.
    pub fn matches(&self, pattern: &str) -> bool {
        let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        pat.len() == self.0.len() && self.prefix_matches(&pat)
    }

    /// Whether the pattern names this path or something above it.
    pub fn is_within(&self, pattern: &str) -> bool {
        let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        pat.len() <= self.0.len() && self.prefix_matches(&pat)
    }

    /// Whether the pattern names something at or below this path.
    pub fn contains(&self, pattern: &str) -> bool {
        let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        pat.len() >= self.0.len() && self.prefix_matches(&pat[..self.0.len()])
    }

    fn prefix_matches(&self, pat: &[&str]) -> bool {
        self.0.iter().zip(pat).all(|(seg, p)| {
            *p == "*"
                || match seg {
                    Segment::Key(k) => k == p,
                    Segment::Index(i) => p.parse::<usize>() == Ok(*i),
                }
        })
    }

    /// The top-level property name, if any.
    pub fn first_key(&self) -> Option<&str> {
        match self.0.first() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for seg in &self.0 {
            match seg {
                Segment::Key(k) => write!(f, "/{k}")?,
                Segment::Index(i) => write!(f, "/{i}")?,
            }
        }
        Ok(())
    }
}

impl serde::Serialize for PropertyPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_in_cloudformation_format() {
        let p = PropertyPath::root()
            .key("SecurityGroupIngress")
            .index(0)
            .key("CidrIp");
        assert_eq!(p.to_string(), "/SecurityGroupIngress/0/CidrIp");
        assert_eq!(PropertyPath::parse("/SecurityGroupIngress/0/CidrIp"), p);
    }

    #[test]
    fn schema_patterns_match_with_wildcards() {
        let p = PropertyPath::parse("/Tags/3/Key");
        assert!(p.matches("/Tags/*/Key"));
        assert!(!p.matches("/Tags"));
        assert!(p.is_within("/Tags"));
        assert!(!PropertyPath::parse("/Tags").is_within("/Tags/*/Key"));
        assert!(PropertyPath::parse("/Tags").contains("/Tags/*/Key"));
    }
}
