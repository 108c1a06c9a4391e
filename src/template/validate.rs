//! Static checks of a template, as CloudFormation would reject it: references
//! to nothing, unknown resource types and attributes, undeclared conditions,
//! bad parameter types, dependency cycles. Every finding is located.

use serde::Serialize;

use super::cycles::{self, Edges};
use super::expr::{Expr, ExprKind, Intrinsic, SubPart};
use super::schema::{SchemaFacts, is_custom_type};
use super::{Template, params};
use crate::doc::{Location, Span};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding in a template or config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable, kebab-case identifier (`unknown-ref`).
    pub code: &'static str,
    pub message: String,
    pub location: Option<Location>,
}

impl Diagnostic {
    pub fn error(
        code: &'static str,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location,
        }
    }

    pub fn warning(
        code: &'static str,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            location,
        }
    }
}

const PSEUDO: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Checks a template against itself and the schema table.
pub fn check_template(t: &Template, schema: &SchemaFacts) -> Vec<Diagnostic> {
    let mut c = Checker {
        t,
        schema,
        out: Vec::new(),
        scope: Vec::new(),
        current: None,
        edges: Edges::new(),
    };
    c.run();
    c.cycles();
    c.out
}

struct Checker<'a> {
    t: &'a Template,
    schema: &'a SchemaFacts,
    out: Vec<Diagnostic>,
    /// Names bound by `Fn::ForEach` and `Fn::Sub` variable maps.
    scope: Vec<String>,
    /// The declared resource being checked, whose references are edges.
    current: Option<String>,
    edges: Edges,
}

impl Checker<'_> {
    fn run(&mut self) {
        let t = self.t;
        if t.resources.is_empty() && t.resource_loops.is_empty() {
            self.out.push(Diagnostic::error(
                "no-resources",
                None,
                "the template declares no Resources; CloudFormation needs at least one",
            ));
        }
        for p in t.parameters.values() {
            if params::kind_of(&p.type_name).is_none() {
                self.out.push(Diagnostic::error(
                    "bad-parameter-type",
                    Some(p.key_span.location()),
                    format!("parameter {} has unknown Type \"{}\"", p.name, p.type_name),
                ));
            }
        }
        for (name, field) in &t.conditions {
            let _ = name;
            self.expr(&field.value);
        }
        for r in t.resources.values() {
            self.current = Some(r.logical_id.clone());
            self.edges.entry(r.logical_id.clone()).or_default();
            self.resource(r);
        }
        self.current = None;
        for l in &t.resource_loops {
            self.expr(&l.collection);
            self.scope.push(l.identifier.clone());
            for (key, field) in &l.fragments {
                if key.starts_with("Fn::ForEach::") {
                    continue; // Nested loops: checked when resolved.
                }
                if let Ok(r) = super::Resource::from_field(key, field) {
                    self.resource(&r);
                }
            }
            self.scope.pop();
        }
        for o in t.outputs.values() {
            if let Some(c) = &o.condition {
                self.condition_name(&c.text, c.span);
            }
            self.expr(&o.value);
            if let Some(e) = &o.export_name {
                self.expr(e);
            }
        }
    }

    fn resource(&mut self, r: &super::Resource) {
        let t = self.t;
        let known_type = self.schema.get(&r.type_name).is_some()
            || is_custom_type(&r.type_name)
            || is_module(&r.type_name)
            || (t.is_sam() && r.type_name.starts_with("AWS::Serverless::"));
        if !known_type {
            let message = format!(
                "resource {} has unknown type {}{}",
                r.logical_id,
                r.type_name,
                suggest(&r.type_name, self.schema.type_names())
            );
            let loc = Some(r.type_span.location());
            // A macro may define its own types, and a registry type outside
            // AWS's namespaces (`MongoDB::Atlas::Cluster`) exists only where
            // it is registered: say so, but CloudFormation may accept it.
            let registry = !["AWS::", "Alexa::"]
                .iter()
                .any(|p| r.type_name.starts_with(p));
            self.out.push(if t.has_macros() || registry {
                Diagnostic::warning("unknown-type", loc, message)
            } else {
                Diagnostic::error("unknown-type", loc, message)
            });
        }
        if let Some(c) = &r.condition {
            self.condition_name(&c.text, c.span);
        }
        for d in &r.depends_on {
            self.edge(&d.text, d.span);
            if !self.is_resource(&d.text) {
                self.out.push(Diagnostic::error(
                    "unknown-dependency",
                    Some(d.span.location()),
                    format!(
                        "{} depends on \"{}\", which is not a resource{}",
                        r.logical_id,
                        d.text,
                        self.suggest_resource(&d.text)
                    ),
                ));
            }
        }
        for e in [&r.properties, &r.deletion_policy, &r.update_replace_policy]
            .into_iter()
            .flatten()
        {
            self.expr(e);
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(i)),
            ExprKind::Map(fields) => {
                for (k, f) in fields {
                    if k.starts_with("Fn::ForEach::") {
                        self.property_loop(&f.value);
                    } else {
                        self.expr(&f.value);
                    }
                }
            }
            ExprKind::Fn(f) => self.function(f, e.span),
            _ => {}
        }
    }

    fn property_loop(&mut self, value: &Expr) {
        let Some([id, collection, fragments]) = value.as_list() else {
            return;
        };
        self.expr(collection);
        self.scope.push(id.as_str().unwrap_or_default().to_string());
        self.expr(fragments);
        self.scope.pop();
    }

    fn function(&mut self, f: &Intrinsic, span: Span) {
        match f {
            Intrinsic::Ref(name) => self.reference(&name.text, name.span),
            Intrinsic::GetAtt {
                resource,
                attribute,
            } => self.get_att(&resource.text, attribute.as_str(), resource.span),
            Intrinsic::Sub { parts, vars } => {
                for v in vars.values() {
                    self.expr(&v.value);
                }
                let depth = self.scope.len();
                self.scope.extend(vars.keys().cloned());
                for part in parts {
                    if let SubPart::Var(var) = part {
                        self.sub_var(var, span);
                    }
                }
                self.scope.truncate(depth);
            }
            Intrinsic::If { condition, .. } => {
                self.condition_name(&condition.text, condition.span);
                f.args().into_iter().for_each(|a| self.expr(a));
            }
            Intrinsic::Condition(name) => self.condition_name(&name.text, name.span),
            Intrinsic::FindInMap { map, .. } => {
                if let Some(m) = map.as_str()
                    && !self.t.mappings.contains_key(m)
                {
                    self.out.push(Diagnostic::error(
                        "unknown-mapping",
                        Some(map.span.location()),
                        format!(
                            "Fn::FindInMap names mapping \"{m}\", which is not declared{}",
                            suggest(m, self.t.mappings.keys().map(String::as_str))
                        ),
                    ));
                }
                f.args().into_iter().for_each(|a| self.expr(a));
            }
            _ => f.args().into_iter().for_each(|a| self.expr(a)),
        }
    }

    fn reference(&mut self, name: &str, span: Span) {
        if self.scope.iter().any(|s| s == name)
            || self.t.parameters.contains_key(name)
            || PSEUDO.contains(&name)
        {
            return;
        }
        if self.is_resource(name) {
            return self.edge(name, span);
        }
        let candidates = self
            .t
            .parameters
            .keys()
            .chain(self.t.resources.keys())
            .map(String::as_str);
        let message = format!(
            "Ref names \"{name}\", which is not a parameter, resource or pseudo parameter{}",
            suggest(name, candidates)
        );
        let d = self.unknown(name, "unknown-ref", span, message);
        self.out.push(d);
    }

    fn sub_var(&mut self, var: &str, span: Span) {
        if self.scope.iter().any(|s| s == var)
            || var.starts_with("AWS::")
            || self.t.parameters.contains_key(var)
        {
            return self.reference(var, span);
        }
        match var.split_once('.') {
            Some((res, attr)) => self.get_att(res, Some(attr), span),
            None => self.reference(var, span),
        }
    }

    fn get_att(&mut self, resource: &str, attribute: Option<&str>, span: Span) {
        self.edge(resource, span);
        let Some(r) = self.t.resources.get(resource) else {
            if !self.is_resource(resource) {
                let message = format!(
                    "Fn::GetAtt names \"{resource}\", which is not a resource{}",
                    self.suggest_resource(resource)
                );
                let d = self.unknown(resource, "unknown-getatt", span, message);
                self.out.push(d);
            }
            return;
        };
        let (Some(attr), Some(facts)) = (attribute, self.schema.get(&r.type_name)) else {
            return;
        };
        if is_custom_type(&r.type_name) || facts.allows_attribute(attr) {
            return;
        }
        let names = facts.attributes.iter().map(String::as_str);
        self.out.push(Diagnostic::error(
            "unknown-attribute",
            Some(span.location()),
            format!(
                "{} ({}) has no attribute \"{attr}\"{}",
                resource,
                r.type_name,
                suggest(attr, names)
            ),
        ));
    }

    /// The resource being checked depends on `to` (when `to` is declared).
    fn edge(&mut self, to: &str, span: Span) {
        if let Some(from) = &self.current
            && self.t.resources.contains_key(to)
        {
            let out = self.edges.entry(from.clone()).or_default();
            out.push((to.to_string(), span));
        }
    }

    /// CloudFormation refuses a template whose resources depend on each
    /// other in a circle; each member is named with where it depends on the next.
    fn cycles(&mut self) {
        for cycle in cycles::find(&self.edges) {
            let members: Vec<String> = cycle
                .iter()
                .map(|(name, span)| format!("{name} ({})", span.location()))
                .collect();
            let first = &cycle[0].0;
            self.out.push(Diagnostic::error(
                "dependency-cycle",
                Some(cycle[0].1.location()),
                format!(
                    "resources depend on each other in a cycle ({} long), which CloudFormation rejects: {} -> {first}",
                    cycle.len(),
                    members.join(" -> ")
                ),
            ));
        }
    }

    fn condition_name(&mut self, name: &str, span: Span) {
        if !self.t.conditions.contains_key(name) {
            self.out.push(Diagnostic::error(
                "unknown-condition",
                Some(span.location()),
                format!(
                    "condition \"{name}\" is not declared in Conditions{}",
                    suggest(name, self.t.conditions.keys().map(String::as_str))
                ),
            ));
        }
    }

    /// A declared resource, or one a `Fn::ForEach` loop would produce.
    fn is_resource(&self, name: &str) -> bool {
        self.t.resources.contains_key(name)
            || self
                .t
                .resource_loops
                .iter()
                .any(|l| l.fragments.keys().any(|k| key_pattern_matches(k, name)))
            || self.generated_by(name, is_module)
    }

    /// Whether `name` extends the logical id of a resource of a type that
    /// expands into more resources named after it: a module's
    /// (`Bucket` in module `Site` is `SiteBucket`) or, with SAM, a
    /// serverless resource's (`MyFunctionRole`).
    fn generated_by(&self, name: &str, kind: fn(&str) -> bool) -> bool {
        self.t.resources.values().any(|r| {
            kind(&r.type_name) && name.len() > r.logical_id.len() && name.starts_with(&r.logical_id)
        })
    }

    /// A reference to nothing is an error, or a warning where the SAM
    /// transform may generate the resource named.
    fn unknown(&self, name: &str, code: &'static str, span: Span, message: String) -> Diagnostic {
        let sam = |t: &str| t.starts_with("AWS::Serverless::");
        if self.t.is_sam() && self.generated_by(name, sam) {
            let message = format!("{message}; the SAM transform may generate it");
            Diagnostic::warning(code, Some(span.location()), message)
        } else {
            Diagnostic::error(code, Some(span.location()), message)
        }
    }

    fn suggest_resource(&self, name: &str) -> String {
        suggest(name, self.t.resources.keys().map(String::as_str))
    }
}

/// A CloudFormation module (`Org::Service::Name::MODULE`), registered in
/// the account; its resources are named after the module's logical id.
fn is_module(type_name: &str) -> bool {
    type_name.ends_with("::MODULE")
}

/// Whether a loop's output key (`Topic${Name}`) could produce `name`.
fn key_pattern_matches(pattern: &str, name: &str) -> bool {
    let mut literal = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find(['$', '&']) {
        if rest[start + 1..].starts_with('{')
            && let Some(end) = rest[start..].find('}')
        {
            literal.push(&rest[..start]);
            rest = &rest[start + end + 1..];
            continue;
        }
        break;
    }
    literal.push(rest);
    if literal.len() == 1 {
        return false;
    }
    let (first, last) = (literal[0], literal[literal.len() - 1]);
    name.starts_with(first) && name.ends_with(last) && name.len() > first.len() + last.len()
}

/// ` (did you mean "X"?)` for the closest candidate, when one is close.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let best = candidates
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!(" (did you mean \"{c}\"?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<String> {
        let t = Template::parse(text).unwrap();
        check_template(&t, SchemaFacts::embedded())
            .into_iter()
            .map(|d| {
                format!(
                    "{}: {}: {}",
                    d.location.map(|l| l.to_string()).unwrap_or_default(),
                    d.code,
                    d.message
                )
            })
            .collect()
    }

    #[test]
    fn a_clean_template_has_no_findings() {
        let t = "Parameters:\n  Env: {Type: String}\nConditions:\n  Prod: !Equals [!Ref Env, prod]\nResources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Condition: Prod\n    Properties:\n      GroupDescription: !Sub '${Env} in ${AWS::Region}'\n  Role: {Type: AWS::IAM::Role, DependsOn: Sg, Properties: {AssumeRolePolicyDocument: {}, Description: !GetAtt Sg.GroupId}}\nOutputs:\n  Id: {Value: !Sub '${Sg.GroupId}'}\n";
        assert_eq!(check(t), Vec::<String>::new());
    }

    #[test]
    fn references_to_nothing_are_located_with_a_suggestion() {
        let t = "Parameters:\n  Env: {Type: String}\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Ref Envv\n      DisplayName: !Sub '${Topik.TopicName}'\n";
        assert_eq!(
            check(t),
            [
                "7:18: unknown-ref: Ref names \"Envv\", which is not a parameter, resource or pseudo parameter (did you mean \"Env\"?)",
                "8:20: unknown-getatt: Fn::GetAtt names \"Topik\", which is not a resource (did you mean \"Topic\"?)",
            ]
        );
    }

    #[test]
    fn unknown_types_attributes_and_conditions() {
        let t = "Resources:\n  B:\n    Type: AWS::S3::Buckett\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Condition: Nope\n    Properties: {GroupDescription: !GetAtt Sg.Arn}\n";
        let found = check(t);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(
            found[3].starts_with("7:36: dependency-cycle: resources depend on each other in a cycle (1 long), which CloudFormation rejects: Sg (7:36) -> Sg"),
            "{found:?}"
        );
        assert!(found[0].starts_with("3:11: unknown-type: resource B has unknown type AWS::S3::Buckett (did you mean \"AWS::S3::Bucket\"?)"), "{found:?}");
        assert!(found[1].starts_with("6:16: unknown-condition"), "{found:?}");
        assert!(
            found[2].contains(
                "unknown-attribute: Sg (AWS::EC2::SecurityGroup) has no attribute \"Arn\""
            ),
            "{found:?}"
        );
    }

    #[test]
    fn loop_identifiers_and_generated_resources_are_known() {
        let t = "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::Topics:\n    - Name\n    - [a, b]\n    - Topic${Name}:\n        Type: AWS::SNS::Topic\n        Properties: {TopicName: !Ref Name}\n  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt Topica.TopicName}}\n";
        assert_eq!(check(t), Vec::<String>::new());
    }

    #[test]
    fn custom_and_sam_types_are_open() {
        let t = "Transform: AWS::Serverless-2016-10-31\nResources:\n  F: {Type: AWS::Serverless::Function}\n  C: {Type: Custom::Thing, Properties: {X: !GetAtt F.Arn, Y: !GetAtt D.Anything}}\n  D: {Type: Custom::Other}\n";
        assert_eq!(check(t), Vec::<String>::new());
    }

    #[test]
    fn dependency_cycles_name_each_member_where_it_depends_on_the_next() {
        let t = "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    DependsOn: Role\n    Properties: {GroupDescription: web}\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {}\n      Description: !Sub '${Topic.TopicName}'\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !GetAtt Sg.GroupId}\n  Free: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref Topic}}\n";
        assert_eq!(
            check(t),
            [
                "4:16: dependency-cycle: resources depend on each other in a cycle (3 long), which CloudFormation rejects: Sg (4:16) -> Role (10:20) -> Topic (13:29) -> Sg"
            ]
        );
    }

    #[test]
    fn a_cycle_5000_resources_long_is_reported_without_overflowing_the_stack() {
        let n = 5000;
        let mut t = String::from("Resources:\n");
        for i in 0..n {
            t.push_str(&format!(
                "  Q{i}: {{Type: AWS::SQS::Queue, DependsOn: Q{}}}\n",
                (i + 1) % n
            ));
        }
        let found = check(&t);
        assert_eq!(found.len(), 1, "{:?}", &found[..found.len().min(3)]);
        assert!(found[0].contains("(5000 long)"));
        assert!(found[0].contains("Q4999 (5001:"), "each member is located");
    }

    #[test]
    fn modules_registry_types_and_sam_generated_names_are_not_errors() {
        // A module and a resource inside it (module id + resource id).
        let t = "Resources:\n  Site:\n    Type: My::Static::Site::MODULE\n    Properties: {Name: web}\n  T: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref SiteBucket}}\n";
        assert_eq!(check(t), Vec::<String>::new());
        // A third-party registry type: a warning, not an error.
        let t = "Resources:\n  R: {Type: Initech::TPS::Report}\n";
        let t = Template::parse(t).unwrap();
        let found = check_template(&t, SchemaFacts::embedded());
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].severity, found[0].code),
            (Severity::Warning, "unknown-type")
        );
        // The role SAM generates for a function.
        let t = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn: {Type: AWS::Serverless::Function}\n  T: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref FnRole, DisplayName: !GetAtt FnRole.Arn}}\n";
        let t = Template::parse(t).unwrap();
        let found = check_template(&t, SchemaFacts::embedded());
        assert!(
            found.iter().all(|d| d.severity == Severity::Warning),
            "{found:?}"
        );
        assert_eq!(found.len(), 2, "{found:?}");
        // Still an error for an AWS type nobody has heard of.
        assert_eq!(
            check("Resources:\n  R: {Type: AWS::TPS::Report}\n").len(),
            1
        );
    }

    #[test]
    fn get_stack_output_and_a_transform_inside_sub_parse() {
        let t = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !GetStackOutput {StackName: producer, OutputName: Name}\n      TopicName:\n        Fn::Sub:\n          Fn::Transform: {Name: Macro}\n";
        assert_eq!(check(t), Vec::<String>::new());
    }
}
