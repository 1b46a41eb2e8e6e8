//! `rolegate policy simulate` and `rolegate policy validate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::policy::{
    ContextEntry, MAX_ITEMS, NamedPolicy, Policy, PolicyKind, SimulationError, SimulationInput,
    SimulationOutput, SimulationPolicies, simulate,
};

/// Policy tools.
#[derive(Debug, Subcommand)]
pub(super) enum PolicyCommand {
    /// Simulate requests against policies, like `aws iam simulate-custom-policy`.
    Simulate(SimulateArgs),
    /// Validate policy documents; exit 1 if any is malformed.
    Validate {
        /// Policy files (JSON).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// What the policies are attached as (decides the grammar and size limit).
        #[arg(long, value_enum, default_value = "auto")]
        kind: KindArg,
    },
}

/// `--kind` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum KindArg {
    /// Trust policy when it names principals for `sts:` actions, resource policy when it
    /// names other principals, inline identity policy otherwise.
    Auto,
    /// Managed policy (or permissions boundary).
    Managed,
    /// Inline identity policy.
    Inline,
    /// Session policy.
    Session,
    /// Role trust policy.
    Trust,
    /// Resource-based policy.
    Resource,
}

#[derive(Debug, Args)]
pub(super) struct SimulateArgs {
    /// Identity-based policy files.
    #[arg(long = "policy", value_name = "FILE", required = true)]
    policies: Vec<PathBuf>,
    /// The resource's policy.
    #[arg(long, value_name = "FILE")]
    resource_policy: Option<PathBuf>,
    /// A permissions boundary.
    #[arg(long, value_name = "FILE")]
    boundary: Option<PathBuf>,
    /// Session policies.
    #[arg(long = "session-policy", value_name = "FILE")]
    session_policies: Vec<PathBuf>,
    /// Actions to simulate, e.g. `s3:GetObject`.
    #[arg(long = "action", value_name = "ACTION", required = true, num_args = 1..)]
    actions: Vec<String>,
    /// Resource ARNs (default `*`).
    #[arg(long = "resource", value_name = "ARN", num_args = 1..)]
    resources: Vec<String>,
    /// The caller's ARN (assumed-role session, role, user or root).
    #[arg(long, value_name = "ARN")]
    caller_arn: Option<String>,
    /// The account that owns the resources when their ARNs do not say.
    #[arg(long, value_name = "ACCOUNT")]
    resource_owner: Option<String>,
    /// A JSON file of AWS `ContextEntries`.
    #[arg(long, value_name = "FILE")]
    context_entries: Option<PathBuf>,
    /// Print AWS's JSON result shape instead of a table.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(command: PolicyCommand) -> ExitCode {
    match command {
        PolicyCommand::Simulate(args) => simulate_command(&args),
        PolicyCommand::Validate { files, kind } => validate_command(&files, kind),
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

fn named(path: &Path) -> Result<NamedPolicy, String> {
    Ok(NamedPolicy {
        name: path.display().to_string(),
        text: read(path)?,
    })
}

fn fail(problems: &[String]) -> ExitCode {
    for problem in problems {
        eprintln!("error: {problem}");
    }
    ExitCode::FAILURE
}

fn simulate_command(args: &SimulateArgs) -> ExitCode {
    let policies = (|| -> Result<SimulationPolicies, String> {
        Ok(SimulationPolicies {
            identity: args
                .policies
                .iter()
                .map(|p| named(p))
                .collect::<Result<_, _>>()?,
            resource: args.resource_policy.as_deref().map(named).transpose()?,
            boundary: args.boundary.as_deref().map(named).transpose()?,
            session: args
                .session_policies
                .iter()
                .map(|p| named(p))
                .collect::<Result<_, _>>()?,
        })
    })();
    let policies = match policies {
        Ok(policies) => policies,
        Err(problem) => return fail(&[problem]),
    };
    let context_entries = match args
        .context_entries
        .as_deref()
        .map(read_context_entries)
        .transpose()
    {
        Ok(entries) => entries.unwrap_or_default(),
        Err(problem) => return fail(&[problem]),
    };
    let input = SimulationInput {
        resource_owner: args.resource_owner.clone(),
        caller_arn: args.caller_arn.clone(),
        action_names: args.actions.clone(),
        resource_arns: args.resources.clone(),
        context_entries,
        ..SimulationInput::default()
    };
    match simulate_all_pages(input, &policies) {
        Ok(output) if args.json => match serde_json::to_string_pretty(&output) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&[e.to_string()]),
        },
        Ok(output) => {
            print!("{}", table(&output));
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error.problems),
    }
}

/// Every page of the simulation, as the AWS CLI gathers them; the API's size limits apply.
fn simulate_all_pages(
    mut input: SimulationInput,
    policies: &SimulationPolicies,
) -> Result<SimulationOutput, SimulationError> {
    input.max_items = Some(MAX_ITEMS);
    let mut all = simulate(&input, policies)?;
    while let Some(marker) = all.marker.take() {
        input.marker = Some(marker);
        let page = simulate(&input, policies)?;
        all.evaluation_results.extend(page.evaluation_results);
        all.marker = page.marker;
    }
    all.is_truncated = false;
    Ok(all)
}

fn read_context_entries(path: &Path) -> Result<Vec<ContextEntry>, String> {
    let text = read(path)?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: {e} (expected [{{\"ContextKeyName\", \"ContextKeyValues\", \"ContextKeyType\"}}])",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

/// A readable table: one row per action × resource.
fn table(output: &SimulationOutput) -> String {
    let rows: Vec<[String; 4]> = output
        .evaluation_results
        .iter()
        .map(|r| {
            let matched: Vec<String> = r
                .matched_statements
                .iter()
                .map(|s| match &s.sid {
                    Some(sid) => format!("{}#{} ({sid})", s.source_policy_id, s.statement_index),
                    None => format!("{}#{}", s.source_policy_id, s.statement_index),
                })
                .collect();
            let mut why = matched.join(", ");
            if r.permissions_boundary_decision_detail
                .as_ref()
                .is_some_and(|b| !b.allowed_by_permissions_boundary)
            {
                why = "outside the permissions boundary".to_owned();
            }
            if !r.missing_context_values.is_empty() {
                why = format!(
                    "{why}{}missing: {}",
                    if why.is_empty() { "" } else { "; " },
                    r.missing_context_values.join(", ")
                );
            }
            [
                r.eval_action_name.clone(),
                r.eval_resource_name.clone(),
                r.eval_decision.to_owned(),
                why,
            ]
        })
        .collect();
    let header = ["ACTION", "RESOURCE", "DECISION", "MATCHED STATEMENTS"].map(str::to_owned);
    let widths: Vec<usize> = (0..3)
        .map(|c| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|r| r.get(c).map_or(0, String::len))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let [action, resource, decision, why] = row;
        let width = |c: usize| widths.get(c).copied().unwrap_or(0);
        let line = format!(
            "{action:<a$}  {resource:<r$}  {decision:<d$}  {why}",
            a = width(0),
            r = width(1),
            d = width(2)
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn validate_command(files: &[PathBuf], kind: KindArg) -> ExitCode {
    let mut failed = false;
    for file in files {
        let text = match read(file) {
            Ok(text) => text,
            Err(problem) => {
                eprintln!("error: {problem}");
                failed = true;
                continue;
            }
        };
        let kind = policy_kind(kind, &text);
        match Policy::parse(&text, kind, &file.display().to_string()) {
            Ok(policy) => println!(
                "{}: ok ({:?} policy, {} statements)",
                file.display(),
                kind,
                policy.statements.len()
            ),
            Err(error) => {
                failed = true;
                for finding in &error.findings {
                    eprintln!("{}: {}: {}", file.display(), finding.path, finding.reason);
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The kind to validate as; `auto` looks at the statements.
fn policy_kind(kind: KindArg, text: &str) -> PolicyKind {
    match kind {
        KindArg::Managed => PolicyKind::Managed,
        KindArg::Inline => PolicyKind::Inline,
        KindArg::Session => PolicyKind::Session,
        KindArg::Trust => PolicyKind::Trust,
        KindArg::Resource => PolicyKind::Resource,
        KindArg::Auto => guess_kind(text),
    }
}

fn guess_kind(text: &str) -> PolicyKind {
    let Ok(document) = serde_json::from_str::<serde_json::Value>(text) else {
        return PolicyKind::Inline;
    };
    let statements: Vec<&serde_json::Value> = match document.get("Statement") {
        Some(serde_json::Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let names_principal = statements
        .iter()
        .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some());
    if !names_principal {
        return PolicyKind::Inline;
    }
    let actions = statements.iter().flat_map(|s| match s.get("Action") {
        Some(serde_json::Value::String(a)) => vec![a.as_str()],
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => Vec::new(),
    });
    let trust_actions = [
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
    ];
    let mut actions = actions.peekable();
    let only_sts = actions.peek().is_some()
        && actions.all(|a| trust_actions.contains(&a.to_ascii_lowercase().as_str()));
    if only_sts {
        PolicyKind::Trust
    } else {
        PolicyKind::Resource
    }
}
