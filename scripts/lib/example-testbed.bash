# Sourced by scripts/demo and scripts/image-test: the local AWS test bed with
# the example infra repository deployed, then changed behind its back.
#
#   start_test_bed ROOT          starts scripts/aws-emulator (it lives while the
#                                calling shell does) and exports the standard
#                                AWS variables that reach it
#   make_example_repo ROOT REPO  a git repository in REPO from examples/infra,
#                                its three stacks deployed; then someone opens
#                                SSH to the world on the web tier out of band,
#                                and a newer commit changes the events queue

start_test_bed() {
  local root="$1"
  echo "== starting the AWS test bed" >&2
  fifo="$(mktemp -u)"; mkfifo "$fifo"
  "$root/scripts/aws-emulator" --port 0 <"$fifo" >"$fifo.out" 2>"$fifo.log" &
  emulator=$!
  exec 7>"$fifo"   # the emulator lives while this stays open
  trap 'exec 7>&-; kill $emulator 2>/dev/null || true; rm -f "$fifo" "$fifo.out"' EXIT
  for _ in $(seq 1 600); do grep -q '^ready ' "$fifo.out" 2>/dev/null && break; sleep 0.2; done
  endpoint="$(sed -n 's/^ready //p' "$fifo.out")"
  [ -n "$endpoint" ] || { echo "the test bed did not start; see $fifo.log" >&2; exit 1; }
  # driftsync reaches it only through the standard AWS variables.
  export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
}

make_example_repo() {
  local root="$1" repo="$2"
  git_() { git -C "$repo" -c user.name=driftsync-demo -c user.email=demo@example.com "$@"; }
  cp -R "$root/examples/infra/." "$repo/"
  git_ init --quiet --initial-branch=main
  git_ add --all && git_ commit --quiet -m "initial stacks"

  echo "== deploying the example stacks, then changing things behind their back" >&2
  "$root/.venv-emulator/bin/python" - "$repo" <<'PY'
import sys, time, boto3
repo = sys.argv[1]
cf, ec2 = boto3.client("cloudformation"), boto3.client("ec2")
stacks = {
    "web-sg": ("stacks/web-sg.yaml", {"Env": "prod", "OfficeCidr": "10.0.0.0/8"}),
    "app-config": ("stacks/app-config.yaml", {"LogLevel": "info", "MaxConnections": "200"}),
    "events": ("stacks/events.yaml", {"RetentionSeconds": "1209600"}),
}
for name, (path, params) in stacks.items():
    cf.create_stack(StackName=name, TemplateBody=open(f"{repo}/{path}").read(),
                    Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
                    Tags=[{"Key": "managed-by", "Value": "driftsync"}])
    while cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"].endswith("IN_PROGRESS"):
        time.sleep(0.2)
group = cf.describe_stack_resource(StackName="web-sg", LogicalResourceId="WebSg")["StackResourceDetail"]["PhysicalResourceId"]
ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
    "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
    "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "break-glass during INC-42"}]}])
PY
  cp "$root/examples/infra-next/stacks/events.yaml" "$repo/stacks/events.yaml"
  git_ add --all && git_ commit --quiet -m "longer visibility timeout"
}
