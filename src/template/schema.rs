//! Resource schema facts for every CloudFormation resource type: identifiers,
//! create-only / read-only / write-only properties, unordered lists, GetAtt
//! attributes, defaults and handler permissions.
//!
//! The table is generated from the CloudFormation resource provider schemas
//! by `scripts/gen-schema-facts` (see docs/schema-facts.md) and embedded in
//! the binary. It is read-only data, parsed once on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::Deserialize;

use super::path::PropertyPath;

const EMBEDDED: &str = include_str!("schema_facts.json");

/// The whole table.
#[derive(Debug, Deserialize)]
pub struct SchemaFacts {
    pub source: String,
    #[serde(default)]
    pub schema_date: Option<String>,
    types: HashMap<String, TypeFacts>,
}

/// What the schema says about one resource type. Paths are JSON pointers
/// below `Properties`, with `*` for any list item or map key.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TypeFacts {
    pub primary_identifier: Vec<String>,
    pub create_only: Vec<String>,
    pub read_only: Vec<String>,
    pub write_only: Vec<String>,
    pub unordered_lists: Vec<String>,
    pub properties: Vec<String>,
    pub required: Vec<String>,
    /// GetAtt names; an entry ending in `*` is a prefix pattern.
    pub attributes: Vec<String>,
    pub defaults: IndexMap<String, serde_json::Value>,
    /// Defaults the schema states only in a description ("The default
    /// value is ``x86_64``."), typed by the property's schema.
    pub documented_defaults: IndexMap<String, serde_json::Value>,
    pub permissions: IndexMap<String, Vec<String>>,
    pub tagging: Option<Tagging>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Tagging {
    pub taggable: bool,
    pub tag_property: Option<String>,
    pub tag_updatable: Option<bool>,
}

impl SchemaFacts {
    /// The table embedded in this binary.
    pub fn embedded() -> &'static SchemaFacts {
        static TABLE: OnceLock<SchemaFacts> = OnceLock::new();
        TABLE.get_or_init(|| {
            serde_json::from_str(EMBEDDED).expect("embedded schema facts are valid JSON")
        })
    }

    pub fn get(&self, type_name: &str) -> Option<&TypeFacts> {
        self.types.get(type_name)
    }

    /// The IAM actions the schemas list for these handlers (`read`,
    /// `update`, ...) of these types, sorted and without repeats. Types the
    /// table lacks, and handlers a type does not declare, add nothing.
    pub fn handler_permissions<'t>(
        &self,
        types: impl IntoIterator<Item = &'t String>,
        handlers: &[&str],
    ) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for f in types.into_iter().filter_map(|t| self.get(t)) {
            for h in handlers {
                out.extend(f.permissions.get(*h).into_iter().flatten().cloned());
            }
        }
        out
    }

    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
}

/// Whether a type is open-ended: any attribute and any property may be used.
pub fn is_custom_type(type_name: &str) -> bool {
    type_name.starts_with("Custom::") || type_name == "AWS::CloudFormation::CustomResource"
}

impl TypeFacts {
    /// Whether changing the property at `path` replaces the resource: a
    /// create-only property at, above or below it.
    pub fn requires_replacement(&self, path: &PropertyPath) -> bool {
        self.create_only
            .iter()
            .any(|p| path.is_within(p) || path.contains(p))
    }

    /// Whether the property at `path` is set only when the resource is
    /// created: a create-only property at or above it.
    pub fn is_create_only(&self, path: &PropertyPath) -> bool {
        self.create_only.iter().any(|p| path.is_within(p))
    }

    pub fn is_read_only(&self, path: &PropertyPath) -> bool {
        self.read_only.iter().any(|p| path.is_within(p))
    }

    pub fn is_write_only(&self, path: &PropertyPath) -> bool {
        self.write_only.iter().any(|p| path.is_within(p))
    }

    /// Whether the list at `path` is a set (`insertionOrder: false`).
    pub fn is_unordered(&self, path: &PropertyPath) -> bool {
        self.unordered_lists.iter().any(|p| path.matches(p))
    }

    /// Whether `Fn::GetAtt` may name this attribute.
    pub fn allows_attribute(&self, attribute: &str) -> bool {
        self.attributes.iter().any(|a| match a.strip_suffix('*') {
            Some(prefix) => attribute.starts_with(prefix),
            None => a == attribute,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_knows_security_groups() {
        let facts = SchemaFacts::embedded();
        assert!(facts.len() > 1500);
        let sg = facts.get("AWS::EC2::SecurityGroup").unwrap();
        assert!(sg.is_unordered(&PropertyPath::parse("/SecurityGroupIngress")));
        assert!(sg.requires_replacement(&PropertyPath::parse("/VpcId")));
        assert!(!sg.requires_replacement(&PropertyPath::parse("/SecurityGroupIngress/0/FromPort")));
        assert!(sg.allows_attribute("GroupId"));
        assert!(!sg.allows_attribute("Arn"));
    }

    #[test]
    fn stack_outputs_are_a_prefix_pattern() {
        let stack = SchemaFacts::embedded()
            .get("AWS::CloudFormation::Stack")
            .unwrap();
        assert!(stack.allows_attribute("Outputs.VpcId"));
        assert!(!stack.allows_attribute("Vpc"));
    }
}
