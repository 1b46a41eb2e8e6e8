//! `rolegate mappings check` and `rolegate mappings test`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config, IdpName, IdpProtocol};
use crate::idp::{Identity, PastedAt, Protocol};
use crate::mapping::{KnownIdp, MappingInput, Mappings, evaluate, lint};

/// Mapping tools.
#[derive(Debug, Subcommand)]
pub(super) enum MappingsCommand {
    /// Load and lint the directory and rules; exit 1 on any problem or lint.
    Check(Sources),
    /// Show the roles a set of claims would be offered, and why.
    Test {
        #[command(flatten)]
        sources: Sources,
        /// A JSON object of claims, as the IdP sends them (`sub`, `email`, `groups`, `amr`…).
        #[arg(long, value_name = "FILE")]
        claims: PathBuf,
        /// The configured IdP the claims come from (default: the first, or `demo`).
        #[arg(long, value_name = "NAME")]
        idp: Option<String>,
        /// Evaluate at this time (RFC 3339) instead of now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Where the directory and the rules are: a config file, or the two paths.
#[derive(Debug, Args)]
pub(super) struct Sources {
    /// The configuration file (its `directory`, `mappings` and `[[idp]]`s).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["directory", "rules"])]
    config: Option<PathBuf>,
    /// The directory folder (default `mappings/directory`).
    #[arg(long, value_name = "DIR")]
    directory: Option<PathBuf>,
    /// The rules folder (default `mappings/rules`).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
}

/// What the sources resolve to.
struct Loaded {
    mappings: Mappings,
    idps: Vec<KnownIdp>,
    pasting: Vec<Pasting>,
}

/// What a configured provider adds to pasted claims (see [`PastedAt`]).
struct Pasting {
    idp: String,
    groups_claim: String,
    client_id: Option<String>,
    trust_email: bool,
}

fn load(sources: &Sources) -> Result<Loaded, Vec<String>> {
    match &sources.config {
        Some(path) => {
            let config =
                Config::load(path, &config::process_env).map_err(|e| vec![e.to_string()])?;
            let mappings = Mappings::load(&config.directory, &config.mappings)?;
            let idps = config
                .idps
                .iter()
                .map(|i| KnownIdp {
                    name: i.name.to_string(),
                    saml: matches!(i.protocol, IdpProtocol::Saml(_)),
                    honour_idp_roles: matches!(
                        &i.protocol,
                        IdpProtocol::Saml(saml) if saml.honour_idp_roles
                    ),
                })
                .collect();
            let pasting = config
                .idps
                .iter()
                .map(|i| {
                    let (groups_claim, client_id) = match &i.protocol {
                        IdpProtocol::Oidc(oidc) => {
                            (oidc.groups_claim.clone(), Some(oidc.client_id.clone()))
                        }
                        IdpProtocol::Saml(_) => ("groups".to_owned(), None),
                    };
                    Pasting {
                        idp: i.name.to_string(),
                        groups_claim,
                        client_id,
                        trust_email: i.trust_email,
                    }
                })
                .collect();
            Ok(Loaded {
                mappings,
                idps,
                pasting,
            })
        }
        None => {
            let directory = sources
                .directory
                .clone()
                .unwrap_or_else(|| PathBuf::from("mappings/directory"));
            let rules = sources
                .rules
                .clone()
                .unwrap_or_else(|| PathBuf::from("mappings/rules"));
            let mappings = Mappings::load(&directory, &rules)?;
            // Without a config, the demo's provider is the one IdP.
            let idps = vec![KnownIdp {
                name: crate::idp::demo::IDP_NAME.to_owned(),
                saml: false,
                honour_idp_roles: false,
            }];
            let pasting = vec![Pasting {
                idp: crate::idp::demo::IDP_NAME.to_owned(),
                groups_claim: "groups".to_owned(),
                client_id: Some(crate::idp::demo::CLIENT_ID.to_owned()),
                trust_email: false,
            }];
            Ok(Loaded {
                mappings,
                idps,
                pasting,
            })
        }
    }
}

fn fail(problems: &[String]) -> ExitCode {
    for problem in problems {
        eprintln!("error: {problem}");
    }
    ExitCode::FAILURE
}

pub(super) fn run(command: MappingsCommand) -> ExitCode {
    match command {
        MappingsCommand::Check(sources) => check(&sources),
        MappingsCommand::Test {
            sources,
            claims,
            idp,
            at,
            json,
        } => test(&sources, &claims, idp, at.as_deref(), json),
    }
}

fn check(sources: &Sources) -> ExitCode {
    let loaded = match load(sources) {
        Ok(loaded) => loaded,
        Err(problems) => return fail(&problems),
    };
    let lints = lint(
        &loaded.mappings.rules,
        &loaded.mappings.directory,
        &loaded.idps,
    );
    for finding in &lints {
        eprintln!("warning: {finding}");
    }
    println!(
        "{} accounts, {} roles, {} rules, {} lint warnings",
        loaded.mappings.directory.accounts().len(),
        loaded.mappings.directory.roles().count(),
        loaded.mappings.rules.rules().len(),
        lints.len()
    );
    if lints.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn read_claims(path: &Path) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    match serde_json::from_str(&text) {
        Ok(serde_json::Value::Object(claims)) => Ok(claims),
        Ok(_) => Err(format!("{}: claims must be a JSON object", path.display())),
        Err(e) => Err(format!(
            "{}:{}:{}: {e}",
            path.display(),
            e.line(),
            e.column()
        )),
    }
}

fn test(
    sources: &Sources,
    claims_file: &Path,
    idp: Option<String>,
    at: Option<&str>,
    json: bool,
) -> ExitCode {
    let loaded = match load(sources) {
        Ok(loaded) => loaded,
        Err(problems) => return fail(&problems),
    };
    let claims = match read_claims(claims_file) {
        Ok(claims) => claims,
        Err(problem) => return fail(&[problem]),
    };
    let now = match at {
        Some(text) => match crate::policy::parse_date(text) {
            Some(nanos) => {
                std::time::UNIX_EPOCH
                    + std::time::Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
            }
            None => return fail(&[format!("--at `{text}` is not a date")]),
        },
        None => SystemClock.now(),
    };
    let idp_name = idp
        .or_else(|| loaded.idps.first().map(|k| k.name.clone()))
        .unwrap_or_else(|| crate::idp::demo::IDP_NAME.to_owned());
    let Some(known) = loaded.idps.iter().find(|k| k.name == idp_name) else {
        return fail(&[format!("--idp `{idp_name}` is not configured")]);
    };
    let at = loaded.pasting.iter().find(|p| p.idp == idp_name).map_or(
        PastedAt {
            groups_claim: "groups",
            client_id: None,
            trust_email: false,
        },
        |p| PastedAt {
            groups_claim: &p.groups_claim,
            client_id: p.client_id.as_deref(),
            trust_email: p.trust_email,
        },
    );
    let protocol = if known.saml {
        Protocol::Saml
    } else {
        Protocol::Oidc
    };
    let identity = IdpName::parse(&idp_name).ok().and_then(|name| {
        Identity::from_pasted_claims(name, protocol, claims, &at, crate::clock::unix_seconds(now))
    });
    let Some(identity) = identity else {
        return fail(&[format!(
            "{}: the claims need a string `sub`",
            claims_file.display()
        )]);
    };
    let input = MappingInput {
        identity: &identity,
        now,
        honour_idp_roles: known.honour_idp_roles,
        explain: true,
    };
    let offer = evaluate(&loaded.mappings.rules, &loaded.mappings.directory, &input);
    if json {
        return match serde_json::to_string_pretty(&offer) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&[e.to_string()]),
        };
    }
    println!(
        "Offered roles for {} ({} groups, MFA {}):",
        identity.display_name(),
        identity.groups.len(),
        if identity.mfa { "yes" } else { "no" }
    );
    if offer.roles.is_empty() {
        println!("  (none)");
    }
    for role in &offer.roles {
        println!(
            "  {:<12} {:<12} {:<6} granted by {}; trusted by {}",
            role.account_alias,
            role.role_name,
            format!("{}s", role.session_duration_seconds),
            role.granted_by.join(", "),
            role.trusted_by
        );
    }
    println!("Rules:");
    for rule in &offer.explanation.rules {
        println!("  {:<36} {:<12} {}", rule.rule, rule.outcome, rule.detail);
    }
    println!("Candidates:");
    for candidate in &offer.explanation.candidates {
        println!(
            "  {}/{} ({}) -> {}: {}",
            candidate.account,
            candidate.role,
            candidate.granted_by.join(", "),
            candidate.outcome,
            candidate.detail
        );
    }
    ExitCode::SUCCESS
}
