"""One boto3 call, for driftsync's Rust tests: the "someone else" who changes
AWS out of band (the Rust tests have no EC2 client).

Reads a JSON request on stdin:
  {"endpoint": URL, "region": R, "credentials": {access_key_id, secret_access_key, session_token},
   "service": "ec2", "operation": "authorize_security_group_ingress", "params": {...}}
and prints the response (without ResponseMetadata) as JSON. An AWS error
prints {"error": {"code", "message"}} and exits 1.
"""
import json
import sys

import boto3
import botocore.config
import botocore.exceptions


def main() -> int:
    req = json.load(sys.stdin)
    creds = req.get("credentials") or {}
    client = boto3.client(
        req["service"],
        endpoint_url=req["endpoint"],
        region_name=req.get("region", "us-east-1"),
        aws_access_key_id=creds.get("access_key_id", "testing"),
        aws_secret_access_key=creds.get("secret_access_key", "testing"),
        aws_session_token=creds.get("session_token"),
        # "app_id" makes the call look like another tool's (user agent "app/<id>").
        config=botocore.config.Config(user_agent_appid=req.get("app_id")),
    )
    try:
        resp = getattr(client, req["operation"])(**req.get("params", {}))
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        print(json.dumps({"error": {"code": err.get("Code"), "message": err.get("Message")}}))
        return 1
    resp.pop("ResponseMetadata", None)
    print(json.dumps(resp, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
