//! `authgate org add|list|show|edit|delete|disable|enable`,
//! `org domain add|verify|mark-verified|remove`,
//! `org connection add|remove`, `org scope-rule set|list`: organizations,
//! their email domains and connections, and group -> scope rules, on the
//! local store through the same operations as the admin API.

use super::error::CliError;
use super::local::{Local, actor, admin_err};
use super::output;
use authgate_authority::config::Settings;
use authgate_authority::orgs::dns::HickoryResolver;
use authgate_authority::orgs::manage::{self as orgs, OrgInput, OrgView};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum OrgCmd {
    /// Add an organization.
    Add {
        /// Its id: 1-63 lower-case letters, digits and '-'.
        id: String,
        #[arg(long)]
        name: String,
        /// A connection its members sign in with (repeat for several).
        #[arg(long = "connection")]
        connections: Vec<String>,
        /// Members may not sign in with a local password.
        #[arg(long)]
        forbid_local_passwords: bool,
        /// Members must pass a second factor.
        #[arg(long)]
        require_mfa: bool,
    },
    /// List organizations.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show an organization with its domains and the TXT records to publish.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an organization's name or policies.
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        forbid_local_passwords: Option<bool>,
        #[arg(long)]
        require_mfa: Option<bool>,
    },
    /// Delete an organization and its domains.
    Delete { id: String },
    /// Deactivate an organization: its members' sessions end and their
    /// grants are revoked; nobody signs in as its member.
    Disable { id: String },
    /// Reactivate an organization.
    Enable { id: String },
    /// An organization's email domains.
    Domain {
        #[command(subcommand)]
        cmd: DomainCmd,
    },
    /// An organization's upstream connections.
    Connection {
        #[command(subcommand)]
        cmd: ConnectionCmd,
    },
    /// Which groups may consent to a scope of an MCP server.
    ScopeRule {
        #[command(subcommand)]
        cmd: ScopeRuleCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum DomainCmd {
    /// Claim a domain (unverified until its TXT record is checked).
    Add {
        org: String,
        domain: String,
    },
    /// Look up `_authgate-challenge.<domain>` TXT and verify the domain.
    Verify {
        org: String,
        domain: String,
    },
    /// Mark the domain verified by hand (audited).
    MarkVerified {
        org: String,
        domain: String,
    },
    Remove {
        org: String,
        domain: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConnectionCmd {
    Add { org: String, connection: String },
    Remove { org: String, connection: String },
}

#[derive(Subcommand, Debug)]
pub enum ScopeRuleCmd {
    /// Only people in one of these groups may consent to the scope (no
    /// --group removes the rule).
    Set {
        resource: String,
        scope: String,
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    List {
        resource: String,
        #[arg(long)]
        json: bool,
    },
}

fn print_org(o: &OrgView, json: bool) {
    if json {
        println!("{}", output::json(&serde_json::json!(o)));
        return;
    }
    println!("organization {} ({})", o.id, o.name);
    println!(
        "  status: {}; local passwords: {}; MFA required: {}",
        if o.disabled { "disabled" } else { "active" },
        if o.forbid_local_passwords {
            "forbidden"
        } else {
            "allowed"
        },
        if o.require_mfa { "yes" } else { "no" }
    );
    println!("  connections: {}", o.connection_ids.join(", "));
    for d in &o.domains {
        let state = match &d.method {
            Some(m) => format!("verified ({m})"),
            None => format!("unverified: publish {} TXT \"{}\"", d.txt_name, d.txt_value),
        };
        println!("  domain {}: {state}", d.domain);
    }
}

pub async fn run(cmd: OrgCmd, settings: &Settings) -> Result<(), CliError> {
    Local::run(settings, async |s| {
        let st = s.as_ref();
        let a = actor();
        match cmd {
            OrgCmd::Add {
                id,
                name,
                connections,
                forbid_local_passwords,
                require_mfa,
            } => {
                let input = OrgInput {
                    id,
                    name,
                    connection_ids: connections,
                    forbid_local_passwords,
                    require_mfa,
                };
                let o = orgs::create_org(st, &a, input).await.map_err(admin_err)?;
                println!("organization {} added", o.id);
            }
            OrgCmd::List { json } => {
                let list = orgs::list_orgs(st).await.map_err(admin_err)?;
                if json {
                    println!("{}", output::json(&serde_json::json!(list)));
                } else {
                    let rows: Vec<Vec<String>> = list
                        .iter()
                        .map(|o| {
                            vec![
                                o.id.clone(),
                                o.name.clone(),
                                o.domains
                                    .iter()
                                    .map(|d| d.domain.clone())
                                    .collect::<Vec<_>>()
                                    .join(","),
                                o.connection_ids.join(","),
                                if o.disabled { "disabled" } else { "active" }.into(),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        output::table(&["ID", "NAME", "DOMAINS", "CONNECTIONS", "STATUS"], &rows)
                    );
                }
            }
            OrgCmd::Show { id, json } => {
                print_org(&orgs::show_org(st, &id).await.map_err(admin_err)?, json);
            }
            OrgCmd::Edit {
                id,
                name,
                forbid_local_passwords,
                require_mfa,
            } => {
                let cur = orgs::get_org(st, &id).await.map_err(admin_err)?;
                let input = OrgInput {
                    id: id.clone(),
                    name: name.unwrap_or(cur.name),
                    connection_ids: cur.connection_ids,
                    forbid_local_passwords: forbid_local_passwords
                        .unwrap_or(cur.forbid_local_passwords),
                    require_mfa: require_mfa.unwrap_or(cur.require_mfa),
                };
                orgs::update_org(st, &a, &id, input).await.map_err(admin_err)?;
                println!("organization {id} updated");
            }
            OrgCmd::Delete { id } => {
                orgs::delete_org(st, &a, &id).await.map_err(admin_err)?;
                println!("organization {id} deleted");
            }
            OrgCmd::Disable { id } => {
                let d = orgs::set_org_disabled(st, &a, &id, true).await.map_err(admin_err)?;
                println!(
                    "organization {id} disabled ({} members: {} sessions ended, {} grants revoked)",
                    d.members, d.sessions_ended, d.grants_revoked
                );
            }
            OrgCmd::Enable { id } => {
                orgs::set_org_disabled(st, &a, &id, false).await.map_err(admin_err)?;
                println!("organization {id} enabled");
            }
            OrgCmd::Domain { cmd } => match cmd {
                DomainCmd::Add { org, domain } => {
                    let d = orgs::add_domain(st, &a, &org, &domain).await.map_err(admin_err)?;
                    println!(
                        "domain {} added to {org}; to verify it publish\n  {} TXT \"{}\"\nthen run `authgate org domain verify {org} {}`",
                        d.domain, d.txt_name, d.txt_value, d.domain
                    );
                }
                DomainCmd::Verify { org, domain } => {
                    let r = HickoryResolver::system().map_err(|e| CliError(e.to_string()))?;
                    let d = orgs::verify_domain(st, &a, &r, &org, &domain)
                        .await
                        .map_err(admin_err)?;
                    println!("domain {} verified by DNS", d.domain);
                }
                DomainCmd::MarkVerified { org, domain } => {
                    let d = orgs::mark_domain_verified(st, &a, &org, &domain)
                        .await
                        .map_err(admin_err)?;
                    println!("domain {} marked verified", d.domain);
                }
                DomainCmd::Remove { org, domain } => {
                    orgs::remove_domain(st, &a, &org, &domain).await.map_err(admin_err)?;
                    println!("domain removed from {org}");
                }
            },
            OrgCmd::Connection { cmd } => {
                let (org, conn, add) = match cmd {
                    ConnectionCmd::Add { org, connection } => (org, connection, true),
                    ConnectionCmd::Remove { org, connection } => (org, connection, false),
                };
                let o = orgs::set_connection(st, &a, &org, &conn, add)
                    .await
                    .map_err(admin_err)?;
                println!("organization {}: connections {}", o.id, o.connection_ids.join(", "));
            }
            OrgCmd::ScopeRule { cmd } => match cmd {
                ScopeRuleCmd::Set {
                    resource,
                    scope,
                    groups,
                } => match orgs::set_scope_rule(st, &a, &resource, &scope, &groups)
                    .await
                    .map_err(admin_err)?
                {
                    Some(r) => println!(
                        "{resource} {scope}: only groups {}",
                        r.groups.join(", ")
                    ),
                    None => println!("{resource} {scope}: no group rule"),
                },
                ScopeRuleCmd::List { resource, json } => {
                    let rules = orgs::list_scope_rules(st, &resource)
                        .await
                        .map_err(admin_err)?;
                    if json {
                        println!("{}", output::json(&serde_json::json!(rules)));
                    } else {
                        for r in rules {
                            println!("{} {}: {}", r.resource_id, r.scope, r.groups.join(", "));
                        }
                    }
                }
            },
        }
        Ok(())
    })
    .await
}
