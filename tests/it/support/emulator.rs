//! The AWS test bed from Rust tests: one `scripts/aws-emulator` per test
//! binary, started on first use and ended when the binary exits (its stdin
//! closes). Tests isolate themselves by account: each asks for a fresh one.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

pub struct Emulator {
    endpoint: String,
    /// Held so its stdin stays open for the life of the test binary.
    _child: Mutex<Child>,
}

/// Credentials for an account of its own.
#[derive(Debug, Clone)]
pub struct Account {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared emulator, started on first use.
pub fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(Emulator::start)
}

impl Emulator {
    /// An emulator of its own, for a test that changes server-wide state
    /// (IAM enforcement): it ends when the value is dropped.
    pub fn dedicated() -> Emulator {
        Emulator::start()
    }

    fn start() -> Emulator {
        let logs = root().join("target/emulator-logs");
        std::fs::create_dir_all(&logs).unwrap();
        // One log per emulator: a dedicated one must not truncate the shared one's.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log =
            std::fs::File::create(logs.join(format!("emulator-{}-{n}.log", std::process::id())))
                .unwrap();
        let mut child = Command::new(root().join("scripts/aws-emulator"))
            .args(["--port", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .env("AWS_EMULATOR_DRIFT_SECONDS", "0.2")
            .env("AWS_EMULATOR_CLOUDCONTROL_SECONDS", "0.1")
            .spawn()
            .expect("scripts/aws-emulator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let endpoint = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| {
                panic!("emulator did not become ready (got {line:?}); see target/emulator-logs")
            })
            .to_string();
        Emulator {
            endpoint,
            _child: Mutex::new(child),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn get(&self, path: &str) -> Value {
        ureq::get(format!("{}{path}", self.endpoint))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        ureq::post(format!("{}{path}", self.endpoint))
            .send_json(body)
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    }

    /// A new account with empty state in every service.
    pub fn new_account(&self) -> Account {
        let v = self.post("/_emulator/accounts", json!({}));
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        Account {
            account_id: s("account_id"),
            access_key_id: s("access_key_id"),
            secret_access_key: s("secret_access_key"),
            session_token: s("session_token"),
        }
    }

    /// The number of calls of one operation made with an account's key.
    pub fn calls(&self, account: &Account, operation: &str) -> usize {
        let v = self.get("/_emulator/calls?detail=1");
        v["calls"]
            .as_array()
            .map(|calls| {
                calls
                    .iter()
                    .filter(|c| {
                        c["access_key_id"] == account.access_key_id.as_str()
                            && c["operation"] == operation
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// One boto3 call as that account: the out-of-band actor.
    ///
    /// # Panics
    /// When the call fails; see [`Emulator::try_boto3`].
    pub fn boto3(&self, account: &Account, service: &str, operation: &str, params: Value) -> Value {
        self.try_boto3(account, service, operation, params)
            .unwrap_or_else(|e| panic!("{service}.{operation}: {e}"))
    }

    pub fn try_boto3(
        &self,
        account: &Account,
        service: &str,
        operation: &str,
        params: Value,
    ) -> Result<Value, Value> {
        self.try_boto3_as_app(account, None, service, operation, params)
    }

    /// [`Emulator::try_boto3`] with an SDK app id (user agent `app/<id>`),
    /// to make a call that looks like another tool's.
    pub fn try_boto3_as_app(
        &self,
        account: &Account,
        app_id: Option<&str>,
        service: &str,
        operation: &str,
        params: Value,
    ) -> Result<Value, Value> {
        let request = json!({
            "endpoint": self.endpoint, "region": "us-east-1", "service": service, "operation": operation, "params": params, "app_id": app_id,
            "credentials": {"access_key_id": account.access_key_id, "secret_access_key": account.secret_access_key, "session_token": account.session_token},
        });
        let mut child = Command::new(root().join(".venv-emulator/bin/python"))
            .arg(root().join("tests/emulator/actor.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the emulator's virtualenv exists (scripts/aws-emulator --install-only)");
        serde_json::to_writer(child.stdin.take().unwrap(), &request).unwrap();
        let out = child.wait_with_output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "actor output: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        if out.status.success() {
            Ok(v)
        } else {
            Err(v["error"].clone())
        }
    }
}

impl Account {
    /// The environment a process needs to reach the emulator as this account,
    /// through the standard AWS variables only.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", emulator().endpoint().to_string()),
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
            ("AWS_SESSION_TOKEN", self.session_token.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ]
    }

    /// An SDK config for in-process clients.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let creds = aws_sdk_sts::config::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            Some(self.session_token.clone()),
            None,
            "emulator",
        );
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(emulator().endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .load()
            .await
    }
}

/// Deploys a stack with boto3 (the way a pipeline would) and waits for it.
pub fn deploy_stack(
    account: &Account,
    name: &str,
    template: &str,
    parameters: &[(&str, &str)],
) -> Value {
    emulator().deploy_stack(account, name, template, parameters)
}

impl Emulator {
    /// [`deploy_stack`] on this emulator.
    pub fn deploy_stack(
        &self,
        account: &Account,
        name: &str,
        template: &str,
        parameters: &[(&str, &str)],
    ) -> Value {
        let emu = self;
        let params: Vec<Value> = parameters
            .iter()
            .map(|(k, v)| json!({"ParameterKey": k, "ParameterValue": v}))
            .collect();
        emu.boto3(account, "cloudformation", "create_stack", json!({"StackName": name, "TemplateBody": template, "Parameters": params, "Capabilities": ["CAPABILITY_NAMED_IAM"]}));
        emu.wait_stack(account, name, "CREATE_COMPLETE")
    }

    /// Waits for the stack's operation to end, asserts it ended `expected`,
    /// and returns the stack's description.
    pub fn wait_stack(&self, account: &Account, name: &str, expected: &str) -> Value {
        for _ in 0..100 {
            let v = self.boto3(
                account,
                "cloudformation",
                "describe_stacks",
                json!({"StackName": name}),
            );
            let status = v["Stacks"][0]["StackStatus"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !status.ends_with("_IN_PROGRESS") {
                assert_eq!(status, expected, "{v}");
                return v["Stacks"][0].clone();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("stack {name} did not finish: {expected} expected");
    }
}
