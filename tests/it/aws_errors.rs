//! Every AWS failure says which operation, for which stack, where, and why
//! in words, with AWS's request id when there is one: on the test bed
//! (AccessDenied), a dead port, no credentials, an endpoint without a
//! scheme, and a server that is not AWS.

use std::io::{Read, Write};
use std::net::TcpListener;

use serde_json::json;

use crate::check::{driftsync_as, scenario_with};
use crate::cli::example_repo;
use crate::support::emulator::emulator;
use crate::usage::{aws_env, dead_endpoint, driftsync_env, pairs};

/// Each stack's error line from `check`'s human report.
fn error_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.contains("ERROR:")).collect()
}

#[test]
fn a_dead_port_is_connection_refused_for_each_stack_by_its_own_name() {
    let r = example_repo();
    let endpoint = dead_endpoint();
    let env = aws_env(&endpoint);
    let (out, err, code) = driftsync_env(r.path(), &["check", "--color=never"], &pairs(&env));
    assert_eq!(code, 1, "{out}\n{err}");
    let lines = error_lines(&out);
    assert_eq!(lines.len(), 3, "{out}");
    for (line, stack) in lines.iter().zip(["web-sg", "app-config", "events"]) {
        assert!(
            line.contains(&format!(
                "DescribeStacks for stack {stack} (us-east-1 at {endpoint}) failed: connection refused"
            )),
            "{line}"
        );
    }
    assert!(!err.contains("os error"), "no chain without -v: {err}");

    let (_, err, _) = driftsync_env(r.path(), &["check", "-v", "--color=never"], &pairs(&env));
    assert!(
        err.contains("AWS call failed") && err.contains("Connection refused (os error 111)"),
        "-v adds the SDK's error chain: {err}"
    );
    assert!(!err.contains("not-a-real-secret"), "{err}");
}

#[test]
fn no_credentials_and_an_endpoint_without_a_scheme_say_what_to_set() {
    let r = example_repo();
    let endpoint = dead_endpoint();
    let env: Vec<_> = aws_env(&endpoint)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
        .collect();
    let (out, err, code) = driftsync_env(r.path(), &["check", "--color=never"], &pairs(&env));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("DescribeStacks for stack web-sg")
            && out.contains("failed: no credentials found: set AWS_PROFILE"),
        "{out}"
    );

    let env = aws_env(endpoint.trim_start_matches("http://"));
    let (out, err, code) = driftsync_env(r.path(), &["check", "--color=never"], &pairs(&env));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("AWS_ENDPOINT_URL needs a scheme, e.g. https://"),
        "{out}"
    );
}

#[test]
fn a_server_that_is_not_aws_is_named_with_its_http_status() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let _ = conn.read(&mut buf);
            let body = "<html><body>Not Found</body></html>";
            let _ = write!(
                conn,
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let r = example_repo();
    let env = aws_env(&endpoint);
    let (out, err, code) = driftsync_env(
        r.path(),
        &["check", "--stack", "events", "--color=never"],
        &pairs(&env),
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "DescribeStacks for stack events (us-east-1 at {endpoint}) failed: the endpoint answered HTTP 404 with a non-AWS body (text/html)"
        )),
        "{out}"
    );
}

#[test]
fn access_denied_names_the_iam_action_needed_and_the_request_id() {
    let s = scenario_with(None);
    let message = format!(
        "User: arn:aws:sts::{}:assumed-role/ci/driftsync is not authorized to perform: \
         cloudformation:DetectStackDrift on resource: arn:aws:cloudformation:us-east-1:{}:stack/web-sg/* \
         because no identity-based policy allows the cloudformation:DetectStackDrift action",
        s.account.account_id, s.account.account_id
    );
    emulator().post(
        "/_emulator/faults",
        json!([{
            "kind": "error", "status": 403, "code": "AccessDenied", "message": message,
            "service": "cloudformation", "operation": "DetectStackDrift",
            "access_key": s.account.access_key_id,
        }]),
    );
    let (out, err, code) = driftsync_as(&s.account, s.repo.path(), &["check", "--stack", "web-sg"]);
    assert_eq!(code, 1, "{out}\n{err}");
    let line = error_lines(&out).join("\n");
    assert!(
        line.contains(&format!(
            "DetectStackDrift for stack web-sg (us-east-1 at {}) failed: AccessDenied: User: arn:aws:sts::",
            emulator().endpoint()
        )),
        "{out}"
    );
    assert!(
        line.contains("(driftsync needs cloudformation:DetectStackDrift; `driftsync iam-policy` prints the whole policy)"),
        "{line}"
    );
    let id = line
        .split("(request id ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("a request id: {line}"));
    assert_eq!(id.len(), 36, "AWS's request id is a UUID: {id}");
}
