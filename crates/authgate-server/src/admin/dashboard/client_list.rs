//! The clients list's search, filters and pages: read from the query
//! string, asked of the store as one page ([`ClientStore::list_clients_page`]),
//! written back into the form and the page links.
//!
//! [`ClientStore::list_clients_page`]: authgate_store::ClientStore::list_clients_page

use super::display;
use authgate_authority::manage::AdminError;
use authgate_core::model::ClientKind;
use authgate_store::ClientFilter;
use std::collections::HashMap;

/// Clients per page.
pub const PAGE: i64 = 25;

/// The origins the filter offers: (query value, label, kind).
pub const ORIGINS: [(&str, &str, ClientKind); 3] = [
    (
        "pre-registered",
        "Pre-registered",
        ClientKind::PreRegistered,
    ),
    ("dynamic", "Dynamic registration", ClientKind::Dynamic),
    (
        "metadata-document",
        "Metadata document",
        ClientKind::MetadataDocument,
    ),
];

/// How the list shows a kind.
pub fn origin_label(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::PreRegistered => "pre-registered",
        ClientKind::Dynamic => "dynamic",
        ClientKind::MetadataDocument => "metadata document",
    }
}

/// The list's search and filters as typed, and the page (from 1).
#[derive(Debug, Default, Clone)]
pub struct ClientQuery {
    pub q: String,
    pub origin: String,
    pub status: String,
    pub page: i64,
}

impl ClientQuery {
    pub fn read(params: &HashMap<String, String>) -> Result<Self, AdminError> {
        let get = |k: &str| -> String {
            params
                .get(k)
                .map(|s| s.trim().chars().take(200).collect())
                .unwrap_or_default()
        };
        let page = match get("page").as_str() {
            "" => 1,
            p => p
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| AdminError::invalid("page", "must be a page number"))?,
        };
        let me = Self {
            q: get("q"),
            origin: get("origin"),
            status: get("status"),
            page,
        };
        me.filter()?;
        Ok(me)
    }

    /// What to ask the store, or the field that is wrong.
    pub fn filter(&self) -> Result<ClientFilter, AdminError> {
        let kind = match self.origin.as_str() {
            "" => None,
            o => Some(
                ORIGINS
                    .iter()
                    .find(|(v, _, _)| *v == o)
                    .map(|(_, _, k)| *k)
                    .ok_or_else(|| {
                        AdminError::invalid(
                            "origin",
                            "must be pre-registered, dynamic or metadata-document",
                        )
                    })?,
            ),
        };
        let blocked = match self.status.as_str() {
            "" => None,
            "blocked" => Some(true),
            "active" => Some(false),
            _ => return Err(AdminError::invalid("status", "must be active or blocked")),
        };
        Ok(ClientFilter {
            text: (!self.q.is_empty()).then(|| self.q.clone()),
            kind,
            blocked,
        })
    }

    pub fn offset(&self) -> i64 {
        (self.page.max(1) - 1) * PAGE
    }

    pub fn any(&self) -> bool {
        !(self.q.is_empty() && self.origin.is_empty() && self.status.is_empty())
    }

    /// The list's URL with these filters on page `page`.
    pub fn link(&self, base: &str, page: i64) -> String {
        let mut parts: Vec<String> = [
            ("q", &self.q),
            ("origin", &self.origin),
            ("status", &self.status),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", display::seg(v)))
        .collect();
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        let qs = parts.join("&");
        format!(
            "{base}/admin/clients{}{qs}",
            if qs.is_empty() { "" } else { "?" }
        )
    }
}

/// Where the list is: "26–50 of 73", and the links around it.
pub struct Pager {
    pub summary: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(base: &str, q: &ClientQuery, shown: usize, total: i64) -> Self {
        let first = q.offset() + 1;
        let last = q.offset() + shown as i64;
        Self {
            summary: if shown == 0 {
                format!("{total} in all")
            } else {
                format!("{first}–{last} of {total}")
            },
            previous: (q.page > 1).then(|| q.link(base, q.page - 1)),
            next: (last < total).then(|| q.link(base, q.page + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<ClientQuery, AdminError> {
        ClientQuery::read(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn reads_filters_and_writes_links() {
        let q = query(&[
            ("q", " example.com "),
            ("origin", "dynamic"),
            ("status", "blocked"),
            ("page", "2"),
        ])
        .unwrap();
        let f = q.filter().unwrap();
        assert_eq!(f.text.as_deref(), Some("example.com"));
        assert_eq!(f.kind, Some(ClientKind::Dynamic));
        assert_eq!(f.blocked, Some(true));
        assert_eq!(q.offset(), PAGE);
        assert_eq!(
            q.link("/p", 3),
            "/p/admin/clients?q=example%2Ecom&origin=dynamic&status=blocked&page=3"
        );
        assert_eq!(query(&[]).unwrap().link("", 1), "/admin/clients");
        for bad in [
            ("origin", "x"),
            ("status", "gone"),
            ("page", "0"),
            ("page", "two"),
        ] {
            let e = query(&[bad]).unwrap_err();
            assert_eq!(e.field(), Some(bad.0), "{bad:?}");
        }
    }

    #[test]
    fn pager_links() {
        let q = query(&[("page", "2")]).unwrap();
        let p = Pager::new("", &q, 25, 60);
        assert_eq!(p.summary, "26–50 of 60");
        assert_eq!(p.previous.as_deref(), Some("/admin/clients"));
        assert_eq!(p.next.as_deref(), Some("/admin/clients?page=3"));
        let last = Pager::new("", &query(&[("page", "3")]).unwrap(), 10, 60);
        assert_eq!(last.next, None);
    }
}
