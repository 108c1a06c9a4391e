use serde_json::json;

use super::*;
use crate::template::Unresolved;

fn v(j: serde_json::Value) -> Value {
    Value::from_json(&j)
}

fn text(j: serde_json::Value) -> Value {
    Value::String(j.to_string())
}

#[test]
fn a_policy_as_json_text_equals_the_same_policy_as_an_object() {
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    assert_eq!(
        equivalent(&v(doc.clone()), &text(doc)),
        Some(POLICY_DOCUMENT)
    );
}

#[test]
fn one_statement_object_equals_a_list_of_one() {
    let e = json!({"Statement": {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}});
    let a = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["*"]}]});
    assert_eq!(equivalent(&v(e), &v(a)), Some(POLICY_DOCUMENT));
}

#[test]
fn statement_action_and_resource_order_do_not_matter() {
    let e = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"]},
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]});
    let a = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}]});
    assert_eq!(equivalent(&v(e), &v(a)), Some(POLICY_DOCUMENT));
}

#[test]
fn principals_compare_as_iam_stores_them() {
    let e = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": ["111111111111", "arn:aws:iam::222222222222:role/x"]}, "Action": "sns:Subscribe", "Resource": "*"}]});
    let a = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::222222222222:role/x", "arn:aws:iam::111111111111:root"]}, "Action": "sns:Subscribe", "Resource": "*"}]});
    assert_eq!(equivalent(&v(e), &v(a)), Some(POLICY_DOCUMENT));
}

#[test]
fn condition_values_are_sets_of_text() {
    let e = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": false}, "StringEquals": {"aws:SourceAccount": "111111111111"}}}]});
    let a = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {"aws:SourceAccount": ["111111111111"]}}}]});
    assert_eq!(equivalent(&v(e), &v(a)), Some(POLICY_DOCUMENT));
}

#[test]
fn a_widened_policy_is_not_equivalent() {
    let e = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    let a = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}]});
    assert_eq!(equivalent(&v(e), &v(a)), None);
    let other_principal = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "333333333333"}, "Action": "s3:GetObject", "Resource": "*"}]});
    let star = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]});
    assert_eq!(equivalent(&v(other_principal), &v(star)), None);
}

#[test]
fn an_explicit_old_version_is_not_the_default() {
    let e = json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    let a = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    assert_eq!(equivalent(&v(e), &v(a)), None);
}

#[test]
fn unresolved_template_values_match_what_they_could_be() {
    let mut statement = IndexMap::new();
    statement.insert("Effect".to_string(), Value::String("Allow".into()));
    statement.insert("Action".to_string(), Value::String("s3:GetObject".into()));
    statement.insert(
        "Resource".to_string(),
        Value::unresolved(Unresolved::Expr {
            function: "Fn::Sub".into(),
            text: "arn:aws:s3:::${Bucket}/*".into(),
        }),
    );
    let e = Value::Map(IndexMap::from([(
        "Statement".to_string(),
        Value::List(vec![Value::Map(statement)]),
    )]));
    let fits = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs-123/*"}]});
    let other = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs-123"}]});
    assert_eq!(equivalent(&e, &v(fits)), Some(UNRESOLVED));
    assert_eq!(equivalent(&e, &v(other)), None);
}

#[test]
fn only_objects_with_a_statement_are_policies() {
    assert!(is_policy(&v(json!({"Statement": []}))));
    assert!(is_policy(&text(json!({"Statement": []}))));
    assert!(!is_policy(&v(
        json!({"deadLetterTargetArn": "arn", "maxReceiveCount": 3})
    )));
    assert!(!is_policy(&Value::String("{not json, Statement".into())));
}

#[test]
fn an_account_id_equals_its_root_arn_in_any_partition() {
    assert_eq!(account_of("111111111111"), "111111111111");
    assert_eq!(account_of("arn:aws:iam::111111111111:root"), "111111111111");
    assert_eq!(
        account_of("arn:aws-cn:iam::111111111111:root"),
        "111111111111"
    );
    assert_eq!(
        account_of("arn:aws:iam::111111111111:role/x"),
        "arn:aws:iam::111111111111:role/x"
    );
    assert_eq!(
        account_of("arn:aws:iam::1111:root"),
        "arn:aws:iam::1111:root"
    );
}
