//! Operator changes to organizations, their domains and connections, and
//! group -> scope rules: the admin API, the dashboard and the CLI call
//! these. Every change is audited (`admin.org.*`).

use super::dns::{self, DomainResolver, ResolveError};
use crate::Authority;
use crate::audit::audit_detail;
use crate::manage::{Actor, AdminError, AdminResult};
use authgate_core::org::{
    DomainMethod, OrgDomain, Organization, ScopeGroupRule, normalize_domain, valid_org_id,
};
use authgate_core::secret;
use authgate_store::{StoreError, UserQuery};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Most connections one organization lists.
pub const MAX_CONNECTIONS: usize = 16;
/// Most groups one scope rule names.
pub const MAX_RULE_GROUPS: usize = 64;
/// Most people one deactivation walks (bounded work; the rest would be
/// reported, and the operator runs it again).
pub const MAX_MEMBERS_PER_CHANGE: u64 = 100_000;
const MEMBER_PAGE: u64 = 500;

/// A new organization, or the full set of editable fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct OrgInput {
    /// Slug `[a-z0-9-]`, 1-63 characters (ignored on edit).
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub connection_ids: Vec<String>,
    #[serde(default)]
    pub forbid_local_passwords: bool,
    #[serde(default)]
    pub require_mfa: bool,
}

/// An organization with its domains.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    pub connection_ids: Vec<String>,
    pub forbid_local_passwords: bool,
    pub require_mfa: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub domains: Vec<DomainView>,
}

/// One domain, with what to publish in DNS to verify it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DomainView {
    pub domain: String,
    pub verified: bool,
    pub verified_at: Option<i64>,
    /// `dns` or `manual`, once verified.
    pub method: Option<String>,
    /// The TXT record's name.
    pub txt_name: String,
    /// The TXT record's value.
    pub txt_value: String,
}

impl From<&OrgDomain> for DomainView {
    fn from(d: &OrgDomain) -> Self {
        Self {
            domain: d.domain.clone(),
            verified: d.is_verified(),
            verified_at: d.verified_at,
            method: d.method.map(|m| m.as_str().to_owned()),
            txt_name: dns::challenge_name(&d.domain),
            txt_value: dns::expected_txt(&d.verification_token),
        }
    }
}

/// What deactivating an organization ended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrgDisabled {
    pub org: OrgView,
    pub members: u64,
    pub sessions_ended: u64,
    pub grants_revoked: u64,
}

/// An operator's change, audited through the one `manage::record`.
fn record(state: &Authority, actor: &Actor, event: &str, detail: Value) {
    crate::manage::record(state, actor, event, None, None, detail);
}

fn clean_name(name: &str) -> AdminResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "name",
            "give a name of 1 to 200 characters, without control characters",
        ));
    }
    Ok(n.to_owned())
}

fn clean_connections(ids: &[String]) -> AdminResult<Vec<String>> {
    if ids.len() > MAX_CONNECTIONS {
        return Err(AdminError::invalid(
            "connection_ids",
            format!("at most {MAX_CONNECTIONS} connections"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let id = id.trim();
        if id.is_empty() || id.len() > 100 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AdminError::invalid(
                "connection_ids",
                format!("{id:?} is not a connection id"),
            ));
        }
        if !out.iter().any(|x| x == id) {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

fn clean_domain(domain: &str) -> AdminResult<String> {
    normalize_domain(domain).map_err(|e| AdminError::invalid("domain", e.to_string()))
}

pub async fn get_org(state: &Authority, id: &str) -> AdminResult<Organization> {
    state
        .store
        .get_org(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no organization with id {id:?}")))
}

pub async fn view(state: &Authority, org: &Organization) -> AdminResult<OrgView> {
    let domains = state.store.list_org_domains(&org.id).await?;
    Ok(OrgView {
        id: org.id.clone(),
        name: org.name.clone(),
        connection_ids: org.connection_ids.clone(),
        forbid_local_passwords: org.forbid_local_passwords,
        require_mfa: org.require_mfa,
        disabled: org.disabled,
        created_at: org.created_at,
        domains: domains.iter().map(DomainView::from).collect(),
    })
}

pub async fn show_org(state: &Authority, id: &str) -> AdminResult<OrgView> {
    let org = get_org(state, id).await?;
    view(state, &org).await
}

pub async fn list_orgs(state: &Authority) -> AdminResult<Vec<OrgView>> {
    let mut out = Vec::new();
    for o in state.store.list_orgs().await? {
        out.push(view(state, &o).await?);
    }
    Ok(out)
}

pub async fn create_org(state: &Authority, actor: &Actor, input: OrgInput) -> AdminResult<OrgView> {
    let id = input.id.trim().to_owned();
    if !valid_org_id(&id) {
        return Err(AdminError::invalid(
            "id",
            "use 1 to 63 lower-case letters, digits and '-'",
        ));
    }
    let org = Organization {
        id,
        name: clean_name(&input.name)?,
        connection_ids: clean_connections(&input.connection_ids)?,
        forbid_local_passwords: input.forbid_local_passwords,
        require_mfa: input.require_mfa,
        disabled: false,
        created_at: state.clock.now(),
    };
    state.store.insert_org(&org).await.map_err(|e| match e {
        StoreError::Conflict(_) => AdminError::conflict("id", "an organization has this id"),
        e => e.into(),
    })?;
    record(state, actor, "admin.org.created", json!({"org_id": org.id}));
    view(state, &org).await
}

pub async fn update_org(
    state: &Authority,
    actor: &Actor,
    id: &str,
    input: OrgInput,
) -> AdminResult<OrgView> {
    let mut org = get_org(state, id).await?;
    org.name = clean_name(&input.name)?;
    org.connection_ids = clean_connections(&input.connection_ids)?;
    org.forbid_local_passwords = input.forbid_local_passwords;
    org.require_mfa = input.require_mfa;
    save(state, &org).await?;
    record(
        state,
        actor,
        "admin.org.updated",
        json!({"org_id": org.id, "connection_ids": org.connection_ids,
               "forbid_local_passwords": org.forbid_local_passwords,
               "require_mfa": org.require_mfa}),
    );
    view(state, &org).await
}

async fn save(state: &Authority, org: &Organization) -> AdminResult<()> {
    if !state.store.update_org(org).await? {
        return Err(AdminError::NotFound(format!(
            "no organization with id {:?}",
            org.id
        )));
    }
    Ok(())
}

pub async fn delete_org(state: &Authority, actor: &Actor, id: &str) -> AdminResult<()> {
    if !state.store.delete_org(id).await? {
        return Err(AdminError::NotFound(format!(
            "no organization with id {id:?}"
        )));
    }
    record(state, actor, "admin.org.deleted", json!({"org_id": id}));
    Ok(())
}

/// Adds (`add = true`) or removes a connection from the organization.
pub async fn set_connection(
    state: &Authority,
    actor: &Actor,
    id: &str,
    connection_id: &str,
    add: bool,
) -> AdminResult<OrgView> {
    let mut org = get_org(state, id).await?;
    let mut ids = org.connection_ids.clone();
    if add {
        ids.push(connection_id.to_owned());
    } else {
        let before = ids.len();
        ids.retain(|c| c != connection_id);
        if ids.len() == before {
            return Err(AdminError::NotFound(format!(
                "organization {id:?} has no connection {connection_id:?}"
            )));
        }
    }
    org.connection_ids = clean_connections(&ids)?;
    save(state, &org).await?;
    let event = if add {
        "admin.org.connection_added"
    } else {
        "admin.org.connection_removed"
    };
    record(
        state,
        actor,
        event,
        json!({"org_id": org.id, "connection_id": connection_id}),
    );
    view(state, &org).await
}

/// The people whose email is at one of the organization's verified domains.
async fn members(state: &Authority, org_id: &str) -> AdminResult<Vec<String>> {
    let mut ids = Vec::new();
    for d in state.store.list_org_domains(org_id).await? {
        if !d.is_verified() {
            continue;
        }
        let suffix = format!("@{}", d.domain);
        let mut offset = 0;
        while offset < MAX_MEMBERS_PER_CHANGE {
            let q = UserQuery {
                text: Some(suffix.clone()),
                offset,
                limit: MEMBER_PAGE,
                ..UserQuery::default()
            };
            let (page, _) = state.store.list_users_page(&q).await?;
            let n = page.len() as u64;
            ids.extend(
                page.into_iter()
                    .filter(|u| u.email.to_lowercase().ends_with(&suffix))
                    .map(|u| u.id),
            );
            if n < MEMBER_PAGE {
                break;
            }
            offset += n;
        }
    }
    Ok(ids)
}

/// Deactivates (or reactivates) an organization. Deactivating ends every
/// member's sessions and revokes their grants (with refresh tokens) after
/// the flag is stored, so no new sign-in slips in between.
pub async fn set_org_disabled(
    state: &Authority,
    actor: &Actor,
    id: &str,
    disabled: bool,
) -> AdminResult<OrgDisabled> {
    let mut org = get_org(state, id).await?;
    org.disabled = disabled;
    save(state, &org).await?;
    let (mut members_n, mut sessions, mut grants) = (0, 0, 0);
    if disabled {
        for uid in members(state, &org.id).await? {
            let (s, g) = crate::manage::end_sessions_and_grants(state, &uid).await?;
            members_n += 1;
            sessions += s;
            grants += g;
        }
    }
    let event = if disabled {
        "admin.org.disabled"
    } else {
        "admin.org.enabled"
    };
    record(
        state,
        actor,
        event,
        json!({"org_id": org.id, "members": members_n, "sessions_ended": sessions,
               "grants_revoked": grants}),
    );
    Ok(OrgDisabled {
        org: view(state, &org).await?,
        members: members_n,
        sessions_ended: sessions,
        grants_revoked: grants,
    })
}

/// Claims `domain` for the organization (unverified), with a fresh
/// verification token.
pub async fn add_domain(
    state: &Authority,
    actor: &Actor,
    org_id: &str,
    domain: &str,
) -> AdminResult<DomainView> {
    get_org(state, org_id).await?;
    let domain = clean_domain(domain)?;
    let d = OrgDomain {
        org_id: org_id.to_owned(),
        domain: domain.clone(),
        verification_token: secret::generate(state.rng.as_ref())?,
        verified_at: None,
        method: None,
        created_at: state.clock.now(),
    };
    state
        .store
        .insert_org_domain(&d)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AdminError::conflict("domain", "the domain belongs to an organization already")
            }
            e => e.into(),
        })?;
    record(
        state,
        actor,
        "admin.org.domain_added",
        json!({"org_id": org_id, "domain": domain}),
    );
    Ok(DomainView::from(&d))
}

async fn get_domain(state: &Authority, org_id: &str, domain: &str) -> AdminResult<OrgDomain> {
    let domain = clean_domain(domain)?;
    state
        .store
        .get_org_domain(&domain)
        .await?
        .filter(|d| d.org_id == org_id)
        .ok_or_else(|| {
            AdminError::NotFound(format!("organization {org_id:?} has no domain {domain:?}"))
        })
}

/// Verifies the domain by its DNS TXT record. Audited whatever the outcome.
pub async fn verify_domain(
    state: &Authority,
    actor: &Actor,
    resolver: &dyn DomainResolver,
    org_id: &str,
    domain: &str,
) -> AdminResult<DomainView> {
    let d = get_domain(state, org_id, domain).await?;
    let name = dns::challenge_name(&d.domain);
    let outcome = resolver.txt(&name).await;
    let verified = match &outcome {
        Ok(records) => dns::records_verify(records, &d.verification_token),
        Err(_) => false,
    };
    audit_detail(
        state,
        "admin.org.domain_dns_check",
        Some(&actor.name),
        None,
        None,
        actor.address.as_deref(),
        if verified { "ok" } else { "refused" },
        json!({"org_id": org_id, "domain": d.domain}),
    );
    if !verified {
        let why = match outcome {
            Err(ResolveError::Failed { reason, .. }) => {
                format!("could not resolve {name}: {reason}; try again later")
            }
            Err(ResolveError::NoRecord(_)) => format!("no TXT record at {name} yet"),
            Ok(_) => format!(
                "the TXT records at {name} do not include {:?}",
                dns::expected_txt(&d.verification_token)
            ),
        };
        return Err(AdminError::invalid("domain", why));
    }
    let now = state.clock.now();
    state
        .store
        .mark_org_domain_verified(&d.domain, DomainMethod::Dns, now)
        .await?;
    get_domain(state, org_id, &d.domain)
        .await
        .map(|d| DomainView::from(&d))
}

/// An operator vouches for the domain by hand (audited).
pub async fn mark_domain_verified(
    state: &Authority,
    actor: &Actor,
    org_id: &str,
    domain: &str,
) -> AdminResult<DomainView> {
    let d = get_domain(state, org_id, domain).await?;
    state
        .store
        .mark_org_domain_verified(&d.domain, DomainMethod::Manual, state.clock.now())
        .await?;
    record(
        state,
        actor,
        "admin.org.domain_marked_verified",
        json!({"org_id": org_id, "domain": d.domain}),
    );
    get_domain(state, org_id, &d.domain)
        .await
        .map(|d| DomainView::from(&d))
}

pub async fn remove_domain(
    state: &Authority,
    actor: &Actor,
    org_id: &str,
    domain: &str,
) -> AdminResult<()> {
    let d = get_domain(state, org_id, domain).await?;
    state.store.delete_org_domain(&d.domain).await?;
    record(
        state,
        actor,
        "admin.org.domain_removed",
        json!({"org_id": org_id, "domain": d.domain}),
    );
    Ok(())
}

/// Sets the groups allowed to consent to `scope` of `resource_id`; an
/// empty list removes the rule.
pub async fn set_scope_rule(
    state: &Authority,
    actor: &Actor,
    resource_id: &str,
    scope: &str,
    groups: &[String],
) -> AdminResult<Option<ScopeGroupRule>> {
    let Some(resource) = state.store.get_resource(resource_id).await? else {
        return Err(AdminError::NotFound(format!(
            "no MCP server with id {resource_id:?}"
        )));
    };
    let scope = scope.trim();
    if scope.is_empty() || scope.len() > 200 || !scope.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AdminError::invalid("scope", "not a scope"));
    }
    // A rule on a scope the server does not define would protect nothing
    // (a typo would leave the real scope open): refuse it. Removing one
    // stays possible, for a scope the server has since dropped.
    if !groups.is_empty() && !resource.scopes.iter().any(|d| d.name == scope) {
        return Err(AdminError::invalid(
            "scope",
            format!("{resource_id} has no scope {scope:?}"),
        ));
    }
    if groups.len() > MAX_RULE_GROUPS {
        return Err(AdminError::invalid(
            "groups",
            format!("at most {MAX_RULE_GROUPS} groups"),
        ));
    }
    let mut clean: Vec<String> = Vec::new();
    for g in groups {
        let g = g.trim();
        if g.is_empty() || g.len() > 256 || g.chars().any(char::is_control) {
            return Err(AdminError::invalid(
                "groups",
                format!("{g:?} is not a group name"),
            ));
        }
        if !clean.iter().any(|x| x == g) {
            clean.push(g.to_owned());
        }
    }
    let rule = if clean.is_empty() {
        state
            .store
            .delete_scope_group_rule(resource_id, scope)
            .await?;
        None
    } else {
        let r = ScopeGroupRule {
            resource_id: resource_id.to_owned(),
            scope: scope.to_owned(),
            groups: clean,
        };
        state.store.put_scope_group_rule(&r).await?;
        Some(r)
    };
    audit_detail(
        state,
        "admin.scope_rule.set",
        Some(&actor.name),
        None,
        Some(resource_id),
        actor.address.as_deref(),
        "ok",
        json!({"scope": scope, "groups": rule.as_ref().map(|r| r.groups.clone())}),
    );
    Ok(rule)
}

pub async fn list_scope_rules(
    state: &Authority,
    resource_id: &str,
) -> AdminResult<Vec<ScopeGroupRule>> {
    Ok(state.store.list_scope_group_rules(resource_id).await?)
}
