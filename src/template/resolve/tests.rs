use indexmap::IndexMap;
use serde_json::json;

use super::*;
use crate::template::Template;

fn inputs(params: &[(&str, &str)]) -> Inputs {
    Inputs {
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<IndexMap<_, _>>(),
        pseudo: Pseudo {
            region: Some("eu-west-1".into()),
            stack_name: Some("web".into()),
            ..Pseudo::default()
        },
        known: Known::default(),
    }
}

fn resolve_text(text: &str, params: &[(&str, &str)]) -> Result<DesiredStack, ResolveError> {
    resolve(&Template::parse(text).unwrap(), &inputs(params))
}

fn props(stack: &DesiredStack, id: &str) -> serde_json::Value {
    serde_json::to_value(&stack.resources[id].properties).unwrap()
}

#[test]
fn parameters_defaults_and_pseudo_parameters_resolve() {
    let s = resolve_text(
        "Parameters:\n  Env: {Type: String, Default: dev}\n  Port: {Type: Number}\nResources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: !Sub '/${Env}/${AWS::Region}/${AWS::StackName}'\n      Value: !Ref Port\n      Tier: !Sub '${AWS::Partition}.${AWS::URLSuffix}'\n",
        &[("Port", "8080")],
    )
    .unwrap();
    assert_eq!(
        props(&s, "P"),
        json!({"Name": "/dev/eu-west-1/web", "Value": "8080", "Tier": "aws.amazonaws.com"})
    );
    assert!(s.parameters["Env"].from_default);
}

#[test]
fn refs_to_resources_and_getatts_stay_unresolved_unless_known() {
    let text = "Resources:\n  Role: {Type: AWS::IAM::Role}\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Role: !GetAtt Role.Arn\n      Description: !Sub 'role ${Role} in ${AWS::AccountId}'\n";
    let s = resolve_text(text, &[]).unwrap();
    assert_eq!(
        props(&s, "Fn"),
        json!({"Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Description": {"Fn::Sub": "role ${Role} in ${AWS::AccountId}"}})
    );
    let mut inp = inputs(&[]);
    inp.known
        .physical_ids
        .insert("Role".into(), "web-Role-1".into());
    inp.known.attributes.insert(
        ("Role".into(), "Arn".into()),
        Value::String("arn:aws:iam::1:role/x".into()),
    );
    inp.pseudo.account_id = Some("123456789012".into());
    let s = resolve(&Template::parse(text).unwrap(), &inp).unwrap();
    assert_eq!(
        props(&s, "Fn"),
        json!({"Role": "arn:aws:iam::1:role/x", "Description": "role web-Role-1 in 123456789012"})
    );
}

#[test]
fn conditions_drop_resources_and_pick_if_branches() {
    let text = "Parameters:\n  Env: {Type: String}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\n  NotProd: !Not [!Condition IsProd]\nResources:\n  OnlyProd: {Type: AWS::SNS::Topic, Condition: IsProd}\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      DelaySeconds: !If [IsProd, 0, 5]\n      QueueName: !If [NotProd, !Ref AWS::NoValue, prod-queue]\n";
    let dev = resolve_text(text, &[("Env", "dev")]).unwrap();
    assert!(!dev.resources.contains_key("OnlyProd"));
    assert_eq!(props(&dev, "Q"), json!({"DelaySeconds": 5}));
    let prod = resolve_text(text, &[("Env", "prod")]).unwrap();
    assert!(prod.resources.contains_key("OnlyProd"));
    assert_eq!(
        props(&prod, "Q"),
        json!({"DelaySeconds": 0, "QueueName": "prod-queue"})
    );
    assert_eq!(prod.conditions["NotProd"], Some(false));
}

#[test]
fn conditions_on_unknown_values_are_undecided() {
    let text = "Conditions:\n  InMain: !Equals [!Ref AWS::AccountId, '111111111111']\nResources:\n  T: {Type: AWS::SNS::Topic, Condition: InMain, Properties: {TopicName: !If [InMain, a, b]}}\n";
    let s = resolve_text(text, &[]).unwrap();
    assert_eq!(s.conditions["InMain"], None);
    assert_eq!(s.resources["T"].condition, Some(("InMain".into(), None)));
    assert_eq!(
        props(&s, "T"),
        json!({"TopicName": {"Fn::If": ["InMain", "a", "b"]}})
    );
}

#[test]
fn cyclic_conditions_are_an_error_naming_the_cycle() {
    let text = "Conditions:\n  A: !Condition B\n  B: !And [!Condition A, !Equals [x, x]]\nResources:\n  T: {Type: AWS::SNS::Topic}\n";
    let err = resolve_text(text, &[]).unwrap_err();
    assert_eq!(err.to_string(), "2:3: conditions form a cycle: A -> B -> A");
}

#[test]
fn list_parameters_join_select_split_and_length() {
    let text = "Parameters:\n  Subnets: {Type: 'List<AWS::EC2::Subnet::Id>'}\n  Csv: {Type: CommaDelimitedList, Default: 'a,b,c'}\nResources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Value: !Join [',', !Ref Subnets]\n      Second: !Select [1, !Ref Subnets]\n      Last: !Select [2, !Split [',', 'x,y,z']]\n      Count: !Length {Ref: Csv}\n";
    let s = resolve_text(text, &[("Subnets", "subnet-1,subnet-2")]).unwrap();
    assert_eq!(
        props(&s, "P"),
        json!({"Value": "subnet-1,subnet-2", "Second": "subnet-2", "Last": "z", "Count": 3})
    );
}

#[test]
fn select_on_a_list_parameter_indexes_the_list_not_the_string() {
    // moto gets this wrong; CloudFormation does not.
    let text = "Parameters:\n  Azs: {Type: CommaDelimitedList, Default: 'eu-west-1a,eu-west-1b'}\nResources:\n  S: {Type: AWS::EC2::Subnet, Properties: {AvailabilityZone: !Select [0, !Ref Azs]}}\n";
    let s = resolve_text(text, &[]).unwrap();
    assert_eq!(props(&s, "S"), json!({"AvailabilityZone": "eu-west-1a"}));
}

#[test]
fn find_in_map_with_and_without_default() {
    let text = "Mappings:\n  Sizes:\n    prod: {Instance: m5.large}\nParameters:\n  Env: {Type: String}\nResources:\n  I:\n    Type: AWS::EC2::Instance\n    Properties:\n      InstanceType: !FindInMap [Sizes, !Ref Env, Instance, {DefaultValue: t3.micro}]\n";
    assert_eq!(
        props(&resolve_text(text, &[("Env", "prod")]).unwrap(), "I"),
        json!({"InstanceType": "m5.large"})
    );
    assert_eq!(
        props(&resolve_text(text, &[("Env", "dev")]).unwrap(), "I"),
        json!({"InstanceType": "t3.micro"})
    );
    let strict = text.replace(", {DefaultValue: t3.micro}", "");
    let err = resolve_text(&strict, &[("Env", "dev")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("mapping \"Sizes\" has no entry [dev][Instance]"),
        "{err}"
    );
}

#[test]
fn parameter_problems_are_located_errors() {
    let text = "Parameters:\n  Env: {Type: String, AllowedValues: [dev, prod]}\nResources:\n  T: {Type: AWS::SNS::Topic}\n";
    let err = resolve_text(text, &[("Env", "test")]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("2:3: parameter Env: \"test\" is not one of the AllowedValues"),
        "{err}"
    );
    let err = resolve_text(text, &[]).unwrap_err();
    assert!(matches!(err, ResolveError::MissingParameter { .. }));
    let err = resolve_text(text, &[("Env", "dev"), ("Envv", "x")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter Envv is given a value but the template does not declare it"
    );
}

#[test]
fn base64_cidr_and_to_json_string() {
    let text = "Transform: AWS::LanguageExtensions\nResources:\n  V:\n    Type: AWS::EC2::VPC\n    Properties:\n      UserData: !Base64 'echo hi'\n      Blocks: !Cidr ['10.0.0.0/16', 2, 8]\n      Doc: !ToJsonString {a: [1, 'x']}\n";
    let s = resolve_text(text, &[]).unwrap();
    assert_eq!(
        props(&s, "V"),
        json!({"UserData": "ZWNobyBoaQ==", "Blocks": ["10.0.0.0/24", "10.0.1.0/24"], "Doc": "{\"a\":[1,\"x\"]}"})
    );
}

#[test]
fn for_each_stamps_out_resources_and_properties() {
    let text = "Transform: AWS::LanguageExtensions\nParameters:\n  Names: {Type: CommaDelimitedList, Default: 'a-1,b-2'}\nResources:\n  Fn::ForEach::Topics:\n    - Name\n    - !Ref Names\n    - Topic&{Name}:\n        Type: AWS::SNS::Topic\n        Properties:\n          TopicName: !Sub 'app-${Name}'\n          Fn::ForEach::Tags:\n            - Key\n            - [x, y]\n            - Tag${Key}: !Ref Key\n";
    let s = resolve_text(text, &[]).unwrap();
    assert_eq!(
        s.resources.keys().collect::<Vec<_>>(),
        ["Topica1", "Topicb2"]
    );
    assert_eq!(
        props(&s, "Topicb2"),
        json!({"TopicName": "app-b-2", "Tagx": "x", "Tagy": "y"})
    );
}

#[test]
fn refs_to_nothing_are_located_errors() {
    let err = resolve_text(
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Ref Nope}\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "4:29: Ref names \"Nope\", which is not a parameter, resource or pseudo parameter"
    );
}
