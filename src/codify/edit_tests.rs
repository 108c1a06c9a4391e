use serde_json::json;

use super::*;
use crate::template::PropertyPath;

fn at(path: &str, op: Op) -> Edit {
    Edit {
        path: PropertyPath::parse(path).0,
        op,
    }
}

fn yaml(text: &str, edits: &[Edit]) -> String {
    apply(text, Format::Yaml, edits).unwrap()
}

fn json_edit(text: &str, edits: &[Edit]) -> String {
    apply(text, Format::Json, edits).unwrap()
}

const SG: &str = "# The web tier.\nResources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup  # keep\n    Properties:\n      GroupDescription: 'web tier'\n      SecurityGroupIngress:\n        # HTTPS only\n        - CidrIp: 10.0.0.0/8\n          FromPort: 443   # port\n          ToPort: 443\n\n      Tags:\n        - {Key: team, Value: web}\n      VpcId: !Ref Vpc\n";

#[test]
fn a_replaced_scalar_changes_only_its_own_bytes() {
    let out = yaml(
        SG,
        &[at(
            "/Resources/Sg/Properties/SecurityGroupIngress/0/FromPort",
            Op::Replace(json!(8443)),
        )],
    );
    assert_eq!(
        out,
        SG.replace("FromPort: 443   # port", "FromPort: 8443   # port")
    );
}

#[test]
fn a_replaced_string_keeps_its_quotes_and_a_tag_becomes_a_literal() {
    let out = yaml(
        SG,
        &[
            at(
                "/Resources/Sg/Properties/GroupDescription",
                Op::Replace(json!("web's tier")),
            ),
            at(
                "/Resources/Sg/Properties/VpcId",
                Op::Replace(json!("vpc-123")),
            ),
        ],
    );
    let want = SG
        .replace("'web tier'", "'web''s tier'")
        .replace("!Ref Vpc", "vpc-123");
    assert_eq!(out, want);
}

#[test]
fn strings_that_would_read_back_as_other_types_are_quoted() {
    let text = "A: x\nB: 5\n";
    let out = yaml(
        text,
        &[
            at("/A", Op::Replace(json!("yes"))),
            at("/B", Op::Replace(json!("6"))),
        ],
    );
    assert_eq!(out, "A: \"yes\"\nB: 6\n");
    // The same value spelled otherwise would read back as the old one.
    let out = yaml(
        "A: true\nB: 5\nC: 1.5\n",
        &[
            at("/A", Op::Replace(json!("yes"))),
            at("/B", Op::Replace(json!("0x1F"))),
            at("/C", Op::Replace(json!("2.50"))),
        ],
    );
    assert_eq!(out, "A: \"yes\"\nB: \"0x1F\"\nC: \"2.50\"\n");
    assert_eq!(
        yaml("A: x\n", &[at("/A", Op::Replace(json!("a: b")))]),
        "A: \"a: b\"\n"
    );
}

#[test]
fn an_added_list_item_follows_its_siblings_style() {
    let out = yaml(
        SG,
        &[at(
            "/Resources/Sg/Properties/SecurityGroupIngress/1",
            Op::Add(json!({"CidrIp": "0.0.0.0/0", "FromPort": 22, "ToPort": 22})),
        )],
    );
    let want = SG.replace(
        "          ToPort: 443\n",
        "          ToPort: 443\n        - CidrIp: 0.0.0.0/0\n          FromPort: 22\n          ToPort: 22\n",
    );
    assert_eq!(out, want);
}

#[test]
fn an_item_added_before_an_existing_one_goes_on_its_own_line_above() {
    let text = "L:\n  - a  # first\n  - b\n";
    assert_eq!(
        yaml(text, &[at("/L/0", Op::Add(json!("z")))]),
        "L:\n  - z\n  - a  # first\n  - b\n"
    );
}

#[test]
fn an_added_key_goes_after_the_last_one_at_the_same_indentation() {
    let out = yaml(
        SG,
        &[at(
            "/Resources/Sg/Properties/GroupName",
            Op::Add(json!("web")),
        )],
    );
    let want = SG.replace(
        "      VpcId: !Ref Vpc\n",
        "      VpcId: !Ref Vpc\n      GroupName: web\n",
    );
    assert_eq!(out, want);
}

#[test]
fn flow_collections_get_flow_entries() {
    let out = yaml(
        SG,
        &[
            at(
                "/Resources/Sg/Properties/Tags/0/Owner",
                Op::Add(json!("ops")),
            ),
            at(
                "/Resources/Sg/Properties/Tags/1",
                Op::Add(json!({"Key": "env", "Value": "prod"})),
            ),
        ],
    );
    let want = SG.replace(
        "        - {Key: team, Value: web}\n",
        "        - {Key: team, Value: web, Owner: ops}\n        - {Key: env, Value: prod}\n",
    );
    assert_eq!(out, want);
}

#[test]
fn a_removed_key_or_item_takes_its_lines_and_nothing_else() {
    let out = yaml(
        SG,
        &[at(
            "/Resources/Sg/Properties/SecurityGroupIngress/0/ToPort",
            Op::Remove,
        )],
    );
    assert_eq!(out, SG.replace("          ToPort: 443\n", ""));
    let out = yaml(SG, &[at("/Resources/Sg/Properties/Tags", Op::Remove)]);
    assert_eq!(
        out,
        SG.replace("      Tags:\n        - {Key: team, Value: web}\n", "")
    );
    let out = yaml(
        SG,
        &[at(
            "/Resources/Sg/Properties/SecurityGroupIngress/0/CidrIp",
            Op::Remove,
        )],
    );
    assert_eq!(
        out,
        SG.replace(
            "        - CidrIp: 10.0.0.0/8\n          FromPort",
            "        - FromPort"
        )
    );
    let text = "L:\n  - a\n  - b  # b\n  - c\n";
    assert_eq!(yaml(text, &[at("/L/1", Op::Remove)]), "L:\n  - a\n  - c\n");
}

#[test]
fn a_block_value_replaced_by_a_collection_stays_block() {
    let text = "P:\n  A:\n    x: 1\n  B: 2\n";
    assert_eq!(
        yaml(text, &[at("/P/A", Op::Replace(json!({"y": [1, 2]})))]),
        "P:\n  A:\n    y:\n      - 1\n      - 2\n  B: 2\n"
    );
}

const JSON: &str = "{\n  \"Resources\": {\n    \"Q\": {\n      \"Type\": \"AWS::SQS::Queue\",\n      \"Properties\": {\n        \"DelaySeconds\": 5,\n        \"Tags\": [\n          {\"Key\": \"a\", \"Value\": \"b\"}\n        ]\n      }\n    }\n  }\n}\n";

#[test]
fn json_values_are_replaced_added_and_removed_with_their_commas() {
    let out = json_edit(
        JSON,
        &[at(
            "/Resources/Q/Properties/DelaySeconds",
            Op::Replace(json!("10")),
        )],
    );
    assert_eq!(
        out,
        JSON.replace("\"DelaySeconds\": 5", "\"DelaySeconds\": 10")
    );
    let out = json_edit(
        JSON,
        &[at(
            "/Resources/Q/Properties/VisibilityTimeout",
            Op::Add(json!(60)),
        )],
    );
    assert_eq!(
        out,
        JSON.replace(
            "        ]\n      }",
            "        ],\n        \"VisibilityTimeout\": 60\n      }"
        )
    );
    let out = json_edit(
        JSON,
        &[at("/Resources/Q/Properties/DelaySeconds", Op::Remove)],
    );
    assert_eq!(out, JSON.replace("        \"DelaySeconds\": 5,\n", ""));
    let out = json_edit(JSON, &[at("/Resources/Q/Properties/Tags", Op::Remove)]);
    assert_eq!(
        out,
        JSON.replace(
            ",\n        \"Tags\": [\n          {\"Key\": \"a\", \"Value\": \"b\"}\n        ]",
            ""
        )
    );
    let out = json_edit(
        JSON,
        &[at(
            "/Resources/Q/Properties/Tags/1",
            Op::Add(json!({"Key": "c", "Value": "d"})),
        )],
    );
    assert_eq!(
        out,
        JSON.replace(
            "{\"Key\": \"a\", \"Value\": \"b\"}\n",
            "{\"Key\": \"a\", \"Value\": \"b\"},\n          {\"Key\":\"c\",\"Value\":\"d\"}\n"
        )
    );
    assert!(crate::doc::parse(&out, Format::Json).is_ok());
}

#[test]
fn missing_paths_existing_keys_and_overlaps_are_errors() {
    let e = apply(
        SG,
        Format::Yaml,
        &[at("/Resources/Nope/Properties/X", Op::Replace(json!(1)))],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/Resources/Nope: nothing is written there to change"
    );
    let e = apply(
        SG,
        Format::Yaml,
        &[at("/Resources/Sg/Type", Op::Add(json!("x")))],
    )
    .unwrap_err();
    assert!(matches!(e, EditError::Exists { .. }), "{e}");
    let e = apply(
        SG,
        Format::Yaml,
        &[
            at("/Resources/Sg/Properties/Tags", Op::Remove),
            at(
                "/Resources/Sg/Properties/Tags/0/Key",
                Op::Replace(json!("x")),
            ),
        ],
    )
    .unwrap_err();
    assert!(matches!(e, EditError::Overlap { .. }), "{e}");
}

#[test]
fn a_key_after_a_block_scalar_goes_after_its_text_not_after_the_next_key() {
    let text = "P:\n  Code: |\n    line one\n    line two\n\nQ: 1\n";
    assert_eq!(
        yaml(text, &[at("/P/Added", Op::Add(json!("x")))]),
        "P:\n  Code: |\n    line one\n    line two\n  Added: x\n\nQ: 1\n"
    );
    // P's only key: P stays an (empty) map.
    assert_eq!(yaml(text, &[at("/P/Code", Op::Remove)]), "P: {}\n\nQ: 1\n");
}

#[test]
fn a_trailing_comment_on_an_edited_line_is_kept_in_every_style() {
    let cases = [
        (
            "R:\n  P:\n    Value: \"30\"   # seconds\n    Next: 1\n",
            "/R/P/Value",
            "R:\n  P:\n    Value: \"120\"   # seconds\n    Next: 1\n",
        ),
        (
            "R:\n  P:\n    Value: '30'   # seconds\n",
            "/R/P/Value",
            "R:\n  P:\n    Value: '120'   # seconds\n",
        ),
        (
            "R:\n  P:\n    Value: 30   # seconds\n",
            "/R/P/Value",
            "R:\n  P:\n    Value: 120   # seconds\n",
        ),
        (
            "R:\n  P:\n    Value: 30\t# seconds\n",
            "/R/P/Value",
            "R:\n  P:\n    Value: 120\t# seconds\n",
        ),
        (
            "R:\n  P: {Value: \"30\", Unit: s}   # seconds\n",
            "/R/P/Value",
            "R:\n  P: {Value: \"120\", Unit: s}   # seconds\n",
        ),
        (
            "R:\n  P: [\"30\", '40']  # seconds\n",
            "/R/P/1",
            "R:\n  P: [\"30\", '120']  # seconds\n",
        ),
        (
            "R:\n  P:\n    - \"30\" # seconds\n",
            "/R/P/0",
            "R:\n  P:\n    - \"120\" # seconds\n",
        ),
    ];
    for (text, path, want) in cases {
        let out = yaml(text, &[at(path, Op::Replace(json!("120")))]);
        assert_eq!(out, want, "editing {path} in {text:?}");
    }
}

#[test]
fn removing_the_only_entry_of_a_block_collection_leaves_it_empty_not_null() {
    // Found by the codify_edit fuzz target: `Outputs:` with nothing under it
    // reads back as null.
    let text = "Outputs:\n  OutputModuleAtt:\n    Value: !Ref ModuleResource\nResources: {}\n";
    assert_eq!(
        yaml(text, &[at("/Outputs/OutputModuleAtt", Op::Remove)]),
        "Outputs: {}\nResources: {}\n"
    );
    let text = "L:\n  - a  # only\nM: 1\n";
    assert_eq!(yaml(text, &[at("/L/0", Op::Remove)]), "L: []\nM: 1\n");
    // A comment between the key and the entry would swallow the `{}`.
    for text in ["P:\n  # why\n  a: 1\n", "P:  # why\n  a: 1\n"] {
        assert!(
            apply(text, Format::Yaml, &[at("/P/a", Op::Remove)]).is_err(),
            "{text}"
        );
    }
}
