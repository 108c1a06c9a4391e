//! Who the credentials are: STS GetCallerIdentity.

use aws_config::SdkConfig;

/// The account the credentials belong to; an error message when they do not
/// work (an expired token, a role that cannot be assumed).
pub(super) async fn check_credentials(config: &SdkConfig) -> Result<String, String> {
    let sts = aws_sdk_sts::Client::new(config);
    match sts.get_caller_identity().send().await {
        Ok(out) => Ok(out.account.unwrap_or_default()),
        Err(e) => Err(super::error::chain(&e)),
    }
}

/// The account id in a CloudFormation stack ARN
/// (`arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn account_comes_from_the_stack_arn() {
        let arn = "arn:aws:cloudformation:us-east-1:123456789012:stack/web/1a2b";
        assert_eq!(super::account_of_arn(arn), Some("123456789012"));
        assert_eq!(super::account_of_arn("nonsense"), None);
    }
}
