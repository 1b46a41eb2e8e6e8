//! Evaluation with arbitrary request values (action, resource, caller, condition keys and
//! values) against policies that use every operator family: it must never panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rolegate::policy::{Policy, PolicyKind, PolicySet, Principal, Request, RequestContext, evaluate};

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["s3:Get*","ec2:?escribe*"],"Resource":["arn:aws:s3:::b/${aws:username}/*","arn:aws:ec2:*:*:instance/*"],
  "Condition":{"StringLike":{"aws:PrincipalTag/team":"${aws:username}*"},"IpAddressIfExists":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},
   "NumericLessThanEquals":{"s3:max-keys":"100"},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},
   "ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]},"ForAllValues:StringNotLike":{"aws:TagKeys":"secret*"},
   "BoolIfExists":{"aws:MultiFactorAuthPresent":"true"},"BinaryEquals":{"aws:x":"aGk="},
   "ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:${aws:PrincipalTag/team, 'x'}"},"Null":{"aws:TokenIssueTime":"false"}}},
 {"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::${*}",
  "Condition":{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/team":"ops"},"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"},
   "DateNotEquals":{"aws:TokenIssueTime":"1700000000"},"NumericGreaterThan":{"aws:MultiFactorAuthAge":"3600"}}}]}"#;

const KEYS: [&str; 12] = [
    "aws:username", "aws:PrincipalTag/team", "aws:SourceIp", "s3:max-keys", "aws:CurrentTime", "aws:TagKeys",
    "aws:MultiFactorAuthPresent", "aws:x", "aws:SourceArn", "aws:TokenIssueTime", "aws:MultiFactorAuthAge", "other:key",
];

fn policy() -> &'static Policy {
    static POLICY_CELL: OnceLock<Policy> = OnceLock::new();
    POLICY_CELL.get_or_init(|| Policy::parse(POLICY, PolicyKind::Inline, "fuzz").expect("the fuzz policy is valid"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\u{1f}');
    let action = fields.next().unwrap_or_default();
    let resource = fields.next().unwrap_or_default();
    let caller = fields.next().unwrap_or_default();
    let mut context = RequestContext::default();
    for (key, values) in KEYS.iter().zip(fields) {
        context.insert(key, values.split('\u{1e}').map(str::to_owned).collect());
    }
    let principal = Principal::from_arn(caller).unwrap_or(Principal::Anonymous);
    let set = PolicySet { identity: std::slice::from_ref(policy()), ..PolicySet::default() };
    let request = Request { action, resource, principal: &principal, context: &context, resource_account: None };
    let _ = evaluate(&set, &request);
});
