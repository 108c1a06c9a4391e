"""Templates shared by the tests."""

SEED = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  AllowedCidr: {Type: String, Default: 10.0.0.0/8}
Resources:
  WebSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: web tier
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: !Ref AllowedCidr}
      Tags:
        - {Key: app, Value: web}
"""

SEED_WITH_EGRESS = SEED + """      SecurityGroupEgress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0, Description: https out}
"""

ALL_TYPES = """
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: {Status: Enabled}
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}
      PublicAccessBlockConfiguration:
        {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
      Tags: [{Key: env, Value: dev}]
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Deny
            Principal: '*'
            Action: 's3:*'
            Resource: !Sub 'arn:aws:s3:::${Bucket}/*'
            Condition: {Bool: {'aws:SecureTransport': 'false'}}
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Name: /app/flag, Type: String, Value: 'on', Description: feature flag, Tags: {env: dev}}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: 60, Tags: [{Key: env, Value: dev}]}
  Topic:
    Type: AWS::SNS::Topic
    Properties: {DisplayName: alerts, Tags: [{Key: env, Value: dev}]}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      Tags: [{Key: env, Value: dev}]
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: 'sts:AssumeRole'}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      Policies:
        - PolicyName: read-objects
          PolicyDocument:
            Version: '2012-10-17'
            Statement: [{Effect: Allow, Action: 's3:GetObject', Resource: '*'}]
      MaxSessionDuration: 3600
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: "def handler(event, context):\\n    return 1\\n"}
      MemorySize: 256
      Timeout: 10
      Environment: {Variables: {MODE: prod}}
  Logs:
    Type: AWS::Logs::LogGroup
    Properties: {RetentionInDays: 7}
  Nightly:
    Type: AWS::Events::Rule
    Properties: {ScheduleExpression: rate(1 day), State: ENABLED}
"""
