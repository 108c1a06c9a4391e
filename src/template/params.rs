//! Parameter types and constraints, checked as CloudFormation checks them
//! when a stack is created or updated.

use super::Parameter;

/// A parameter's value after type checking.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// `String`, `Number` and single AWS-specific types. `Ref` to a `Number`
    /// parameter yields a string in CloudFormation, too.
    String(String),
    /// `CommaDelimitedList`, `List<Number>` and `List<AWS::...>` types.
    List(Vec<String>),
    /// `AWS::SSM::Parameter::Value<...>`: the value names an SSM parameter
    /// that CloudFormation reads at deploy time.
    Ssm(String),
}

/// The kinds of parameter type CloudFormation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    String,
    Number,
    NumberList,
    StringList,
    Ssm,
}

const AWS_SPECIFIC: &[&str] = &[
    "AWS::EC2::AvailabilityZone::Name",
    "AWS::EC2::Image::Id",
    "AWS::EC2::Instance::Id",
    "AWS::EC2::KeyPair::KeyName",
    "AWS::EC2::SecurityGroup::GroupName",
    "AWS::EC2::SecurityGroup::Id",
    "AWS::EC2::Subnet::Id",
    "AWS::EC2::Volume::Id",
    "AWS::EC2::VPC::Id",
    "AWS::Route53::HostedZone::Id",
    "AWS::SSM::Parameter::Name",
];

/// Classifies a parameter type name; `None` for a type CloudFormation rejects.
pub fn kind_of(type_name: &str) -> Option<ParamKind> {
    let t = type_name.trim();
    Some(match t {
        "String" => ParamKind::String,
        "Number" => ParamKind::Number,
        "List<Number>" => ParamKind::NumberList,
        "CommaDelimitedList" => ParamKind::StringList,
        _ if t.starts_with("AWS::SSM::Parameter::Value<") && t.ends_with('>') => ParamKind::Ssm,
        _ if AWS_SPECIFIC.contains(&t) => ParamKind::String,
        _ if t.starts_with("List<")
            && t.ends_with('>')
            && AWS_SPECIFIC.contains(&&t[5..t.len() - 1]) =>
        {
            ParamKind::StringList
        }
        _ => return None,
    })
}

/// Checks a raw value against a parameter's type and constraints.
///
/// # Errors
/// A message saying which constraint the value breaks.
pub fn check(param: &Parameter, raw: &str) -> Result<ParamValue, String> {
    let kind = kind_of(&param.type_name)
        .ok_or_else(|| format!("unknown parameter type \"{}\"", param.type_name))?;
    match kind {
        ParamKind::Ssm => Ok(ParamValue::Ssm(raw.to_string())),
        ParamKind::String => {
            check_scalar(param, raw)?;
            Ok(ParamValue::String(raw.to_string()))
        }
        ParamKind::Number => {
            check_number(param, raw)?;
            check_allowed(param, raw)?;
            Ok(ParamValue::String(raw.to_string()))
        }
        ParamKind::StringList | ParamKind::NumberList => {
            let items: Vec<String> = if raw.is_empty() {
                Vec::new()
            } else {
                raw.split(',').map(|s| s.trim().to_string()).collect()
            };
            for item in &items {
                if kind == ParamKind::NumberList {
                    check_number(param, item)?;
                }
                check_allowed(param, item)?;
            }
            Ok(ParamValue::List(items))
        }
    }
}

fn check_scalar(param: &Parameter, raw: &str) -> Result<(), String> {
    let len = raw.chars().count() as u64;
    if let Some(min) = param.min_length
        && len < min
    {
        return Err(format!("\"{raw}\" is shorter than MinLength {min}"));
    }
    if let Some(max) = param.max_length
        && len > max
    {
        return Err(format!("\"{raw}\" is longer than MaxLength {max}"));
    }
    if let Some(pattern) = &param.allowed_pattern {
        // CloudFormation matches the whole value, with Java's regex rules:
        // `\d` and `\w` are ASCII, as in regex-lite (which also compiles far
        // faster than the full engine). A pattern it cannot compile is left to
        // CloudFormation rather than guessed at.
        if let Ok(re) = regex_lite::Regex::new(&format!("^(?:{pattern})$"))
            && !re.is_match(raw)
        {
            return Err(format!("\"{raw}\" does not match AllowedPattern {pattern}"));
        }
    }
    check_allowed(param, raw)
}

fn check_number(param: &Parameter, raw: &str) -> Result<(), String> {
    let n: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("\"{raw}\" is not a number"))?;
    if let Some(min) = param.min_value
        && n < min
    {
        return Err(format!("{raw} is less than MinValue {min}"));
    }
    if let Some(max) = param.max_value
        && n > max
    {
        return Err(format!("{raw} is greater than MaxValue {max}"));
    }
    Ok(())
}

fn check_allowed(param: &Parameter, raw: &str) -> Result<(), String> {
    if !param.allowed_values.is_empty() && !param.allowed_values.iter().any(|a| a == raw) {
        return Err(format!(
            "\"{raw}\" is not one of the AllowedValues {:?}",
            param.allowed_values
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Span;

    fn param(type_name: &str) -> Parameter {
        Parameter {
            name: "P".into(),
            key_span: Span::default(),
            type_name: type_name.into(),
            default: None,
            no_echo: false,
            allowed_values: vec![],
            allowed_pattern: None,
            min_length: None,
            max_length: None,
            min_value: None,
            max_value: None,
        }
    }

    #[test]
    fn lists_are_split_and_trimmed() {
        let v = check(&param("CommaDelimitedList"), "a, b ,c").unwrap();
        assert_eq!(
            v,
            ParamValue::List(vec!["a".into(), "b".into(), "c".into()])
        );
        let v = check(&param("List<AWS::EC2::Subnet::Id>"), "subnet-1,subnet-2").unwrap();
        assert_eq!(
            v,
            ParamValue::List(vec!["subnet-1".into(), "subnet-2".into()])
        );
    }

    #[test]
    fn numbers_are_checked_and_stay_strings() {
        let mut p = param("Number");
        p.max_value = Some(10.0);
        assert_eq!(check(&p, "7").unwrap(), ParamValue::String("7".into()));
        assert!(check(&p, "11").unwrap_err().contains("MaxValue"));
        assert!(check(&p, "seven").unwrap_err().contains("not a number"));
        assert!(check(&param("List<Number>"), "1,x").is_err());
    }

    #[test]
    fn allowed_values_and_patterns_match_the_whole_value() {
        let mut p = param("String");
        p.allowed_values = vec!["prod".into(), "dev".into()];
        assert!(check(&p, "prod").is_ok());
        assert!(check(&p, "production").is_err());
        let mut p = param("String");
        p.allowed_pattern = Some("[a-z]+".into());
        assert!(check(&p, "abc").is_ok());
        assert!(check(&p, "abc1").is_err());
    }

    #[test]
    fn ssm_and_unknown_types() {
        assert_eq!(
            check(&param("AWS::SSM::Parameter::Value<String>"), "/app/ami").unwrap(),
            ParamValue::Ssm("/app/ami".into())
        );
        assert!(
            check(&param("Strin"), "x")
                .unwrap_err()
                .contains("unknown parameter type")
        );
    }
}
