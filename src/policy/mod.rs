//! IAM's policy language and evaluation logic, so that policies written for AWS work here
//! unchanged: parsing and validation, action/resource/principal matching, policy variables,
//! every condition operator, evaluation in AWS's order, trust policies and the simulator.
//!
//! Pure: no I/O, no clock. Callers pass the request context (including `aws:CurrentTime`).

mod arn;
mod condition;
mod context;
mod document;
mod evaluate;
mod glob;
mod keys;
mod principal;
mod simulate;
mod trust;
mod variables;

pub use arn::{Arn, ArnPattern};
pub use condition::{Condition, parse_date};
pub use context::{Request, RequestContext};
pub use document::{
    Effect, Finding, Policy, PolicyError, PolicyKind, Statement, Version, counted_size,
};
pub use evaluate::{Decision, Evaluation, PolicyRole, PolicySet, StatementRef, evaluate};
pub use keys::{GlobalKeys, PrincipalType, add_claims, add_claims_where, iso8601};
pub use principal::{Principal, PrincipalMatch, PrincipalSet};
pub use simulate::{
    BoundaryDetail, ContextEntry, ContextKeyType, DEFAULT_MAX_ITEMS, EvaluationResult,
    MAX_ACTION_NAMES, MAX_ITEMS, MAX_PAIRS, MAX_RESOURCE_ARNS, MatchedStatement, NamedPolicy,
    SimulationError, SimulationInput, SimulationOutput, SimulationPolicies, context_from_entries,
    simulate,
};
pub use trust::{AssumeAction, TrustDecision, TrustRequest, evaluate_trust, trust_could_allow};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
