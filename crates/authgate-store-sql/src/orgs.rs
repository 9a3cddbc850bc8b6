//! Organizations, their email domains and group -> scope rules (see
//! [`OrganizationStore`]).

use crate::SqlStore;
use crate::codec::{col, db_err};
use crate::dialect::{Dialect, RowOf};
use crate::query::sql;
use crate::values::Values;
use async_trait::async_trait;
use authgate_core::clock::UnixTime;
use authgate_core::org::{DomainMethod, OrgDomain, Organization, ScopeGroupRule};
use authgate_store::{OrganizationStore, StoreError, StoreResult};

macro_rules! org_cols {
    () => {
        "id, name, connection_ids, forbid_local_passwords, require_mfa, disabled, created_at"
    };
}
macro_rules! domain_cols {
    () => {
        "domain, org_id, verification_token, verified_at, method, created_at"
    };
}

fn org_from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<Organization> {
    Ok(Organization {
        id: col(row, "id")?,
        name: col(row, "name")?,
        connection_ids: D::Db::list_col(row, "connection_ids")?,
        forbid_local_passwords: col(row, "forbid_local_passwords")?,
        require_mfa: col(row, "require_mfa")?,
        disabled: col(row, "disabled")?,
        created_at: col(row, "created_at")?,
    })
}

fn domain_from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<OrgDomain> {
    let method: Option<String> = col(row, "method")?;
    let method = match method {
        None => None,
        Some(m) => Some(DomainMethod::parse(&m).ok_or_else(|| {
            StoreError::Backend(format!("org domain: unknown verification method {m:?}"))
        })?),
    };
    Ok(OrgDomain {
        domain: col(row, "domain")?,
        org_id: col(row, "org_id")?,
        verification_token: col(row, "verification_token")?,
        verified_at: col(row, "verified_at")?,
        method,
        created_at: col(row, "created_at")?,
    })
}

fn rule_from_row<D: Dialect>(row: &RowOf<D>) -> StoreResult<ScopeGroupRule> {
    Ok(ScopeGroupRule {
        resource_id: col(row, "resource_id")?,
        scope: col(row, "scope")?,
        groups: D::Db::list_col(row, "groups")?,
    })
}

#[async_trait]
impl<D: Dialect> OrganizationStore for SqlStore<D> {
    async fn insert_org(&self, o: &Organization) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO organizations (",
            org_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .arg(o.id.as_str())
        .arg(o.name.as_str())
        .list(&o.connection_ids)
        .arg(o.forbid_local_passwords)
        .arg(o.require_mfa)
        .arg(o.disabled)
        .arg(o.created_at)
        .execute(self.db.writer())
        .await
        .map_err(db_err("organization"))?;
        Ok(())
    }

    async fn update_org(&self, o: &Organization) -> StoreResult<bool> {
        let n = sql::<D::Db>(
            "UPDATE organizations SET name = $2, connection_ids = $3, \
             forbid_local_passwords = $4, require_mfa = $5, disabled = $6 WHERE id = $1",
        )
        .arg(o.id.as_str())
        .arg(o.name.as_str())
        .list(&o.connection_ids)
        .arg(o.forbid_local_passwords)
        .arg(o.require_mfa)
        .arg(o.disabled)
        .execute(self.db.writer())
        .await
        .map_err(db_err("organization"))?;
        Ok(n > 0)
    }

    async fn get_org(&self, id: &str) -> StoreResult<Option<Organization>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            org_cols!(),
            " FROM organizations WHERE id = $1"
        ))
        .arg(id)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("organization"))?
        .as_ref()
        .map(org_from_row::<D>)
        .transpose()
    }

    async fn list_orgs(&self) -> StoreResult<Vec<Organization>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            org_cols!(),
            " FROM organizations ORDER BY created_at, id"
        ))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("organization"))?
        .iter()
        .map(org_from_row::<D>)
        .collect()
    }

    async fn delete_org(&self, id: &str) -> StoreResult<bool> {
        // Domains go with it (ON DELETE CASCADE).
        let n = sql::<D::Db>("DELETE FROM organizations WHERE id = $1")
            .arg(id)
            .execute(self.db.writer())
            .await
            .map_err(db_err("organization"))?;
        Ok(n > 0)
    }

    async fn insert_org_domain(&self, d: &OrgDomain) -> StoreResult<()> {
        sql::<D::Db>(concat!(
            "INSERT INTO org_domains (",
            domain_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .arg(d.domain.as_str())
        .arg(d.org_id.as_str())
        .arg(d.verification_token.as_str())
        .arg(d.verified_at)
        .arg(d.method.map(DomainMethod::as_str))
        .arg(d.created_at)
        .execute(self.db.writer())
        .await
        .map_err(db_err("org domain"))?;
        Ok(())
    }

    async fn mark_org_domain_verified(
        &self,
        domain: &str,
        method: DomainMethod,
        at: UnixTime,
    ) -> StoreResult<bool> {
        let n =
            sql::<D::Db>("UPDATE org_domains SET verified_at = $2, method = $3 WHERE domain = $1")
                .arg(domain)
                .arg(at)
                .arg(method.as_str())
                .execute(self.db.writer())
                .await
                .map_err(db_err("org domain"))?;
        Ok(n > 0)
    }

    async fn get_org_domain(&self, domain: &str) -> StoreResult<Option<OrgDomain>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            domain_cols!(),
            " FROM org_domains WHERE domain = $1"
        ))
        .arg(domain)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err("org domain"))?
        .as_ref()
        .map(domain_from_row::<D>)
        .transpose()
    }

    async fn list_org_domains(&self, org_id: &str) -> StoreResult<Vec<OrgDomain>> {
        sql::<D::Db>(concat!(
            "SELECT ",
            domain_cols!(),
            " FROM org_domains WHERE org_id = $1 ORDER BY domain"
        ))
        .arg(org_id)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("org domain"))?
        .iter()
        .map(domain_from_row::<D>)
        .collect()
    }

    async fn delete_org_domain(&self, domain: &str) -> StoreResult<bool> {
        let n = sql::<D::Db>("DELETE FROM org_domains WHERE domain = $1")
            .arg(domain)
            .execute(self.db.writer())
            .await
            .map_err(db_err("org domain"))?;
        Ok(n > 0)
    }

    async fn put_scope_group_rule(&self, r: &ScopeGroupRule) -> StoreResult<()> {
        sql::<D::Db>(
            "INSERT INTO scope_group_rules (resource_id, scope, groups) VALUES ($1, $2, $3) \
             ON CONFLICT (resource_id, scope) DO UPDATE SET groups = excluded.groups",
        )
        .arg(r.resource_id.as_str())
        .arg(r.scope.as_str())
        .list(&r.groups)
        .execute(self.db.writer())
        .await
        .map_err(db_err("scope group rule"))?;
        Ok(())
    }

    async fn list_scope_group_rules(&self, resource_id: &str) -> StoreResult<Vec<ScopeGroupRule>> {
        sql::<D::Db>(
            "SELECT resource_id, scope, groups FROM scope_group_rules \
             WHERE resource_id = $1 ORDER BY scope",
        )
        .arg(resource_id)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err("scope group rule"))?
        .iter()
        .map(rule_from_row::<D>)
        .collect()
    }

    async fn delete_scope_group_rule(&self, resource_id: &str, scope: &str) -> StoreResult<bool> {
        let n = sql::<D::Db>("DELETE FROM scope_group_rules WHERE resource_id = $1 AND scope = $2")
            .arg(resource_id)
            .arg(scope)
            .execute(self.db.writer())
            .await
            .map_err(db_err("scope group rule"))?;
        Ok(n > 0)
    }
}
