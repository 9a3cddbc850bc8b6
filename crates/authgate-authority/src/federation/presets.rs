//! Connection presets: what an operator gets by naming a well-known
//! provider and giving only a client id and secret.

use crate::federation::oidc::OidcSettings;
use authgate_core::connection::ConnectionKind;

/// A provider preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub display_name: &'static str,
    pub kind: ConnectionKind,
    /// The issuer (OIDC); empty for GitHub, and for the generic presets
    /// (the operator gives their tenant's issuer).
    pub issuer: &'static str,
    pub tenant_issuer: bool,
}

pub const PRESETS: [Preset; 7] = [
    Preset {
        name: "google",
        display_name: "Google",
        kind: ConnectionKind::Oidc,
        issuer: "https://accounts.google.com",
        tenant_issuer: false,
    },
    Preset {
        name: "microsoft",
        display_name: "Microsoft",
        kind: ConnectionKind::Oidc,
        issuer: "https://login.microsoftonline.com/common/v2.0",
        tenant_issuer: true,
    },
    Preset {
        name: "github",
        display_name: "GitHub",
        kind: ConnectionKind::Github,
        issuer: "",
        tenant_issuer: false,
    },
    // The generic OIDC path with a display name: the issuer is the
    // operator's tenant (https://acme.okta.com, https://acme.auth0.com/,
    // https://kc.example/realms/acme, https://gitlab.com).
    Preset {
        name: "okta",
        display_name: "Okta",
        kind: ConnectionKind::Oidc,
        issuer: "",
        tenant_issuer: false,
    },
    Preset {
        name: "auth0",
        display_name: "Auth0",
        kind: ConnectionKind::Oidc,
        issuer: "",
        tenant_issuer: false,
    },
    Preset {
        name: "keycloak",
        display_name: "Keycloak",
        kind: ConnectionKind::Oidc,
        issuer: "",
        tenant_issuer: false,
    },
    Preset {
        name: "gitlab",
        display_name: "GitLab",
        kind: ConnectionKind::Oidc,
        issuer: "https://gitlab.com",
        tenant_issuer: false,
    },
];

pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

pub const GITHUB_AUTHORIZE: &str = "https://github.com/login/oauth/authorize";
pub const GITHUB_TOKEN: &str = "https://github.com/login/oauth/access_token";
pub const GITHUB_API: &str = "https://api.github.com";

/// The settings a preset gives, with the operator's client id and (for
/// generic presets) issuer.
pub fn settings_for(
    p: &Preset,
    client_id: &str,
    issuer: Option<&str>,
) -> Result<OidcSettings, String> {
    let issuer = match issuer.filter(|i| !i.is_empty()) {
        Some(i) => i.to_owned(),
        None if p.issuer.is_empty() && p.kind == ConnectionKind::Oidc => {
            return Err(format!(
                "the {} preset needs the issuer URL of your tenant",
                p.display_name
            ));
        }
        None => p.issuer.to_owned(),
    };
    let github = p.kind == ConnectionKind::Github;
    Ok(OidcSettings {
        tenant_issuer: p.tenant_issuer && issuer == p.issuer,
        issuer: if github { String::new() } else { issuer },
        client_id: client_id.to_owned(),
        scopes: Vec::new(),
        token_endpoint_auth_method: "client_secret_basic".into(),
        authorization_endpoint: github.then(|| GITHUB_AUTHORIZE.to_owned()),
        token_endpoint: github.then(|| GITHUB_TOKEN.to_owned()),
        api_base: github.then(|| GITHUB_API.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_fill_issuers_and_demand_them_when_generic() {
        let g = settings_for(preset("google").unwrap(), "cid", None).unwrap();
        assert_eq!(g.issuer, "https://accounts.google.com");
        assert!(!g.tenant_issuer);
        let m = settings_for(preset("microsoft").unwrap(), "cid", None).unwrap();
        assert!(m.tenant_issuer);
        // A single-tenant Microsoft issuer is an ordinary exact issuer.
        let m1 = settings_for(
            preset("microsoft").unwrap(),
            "cid",
            Some("https://login.microsoftonline.com/abc/v2.0"),
        )
        .unwrap();
        assert!(!m1.tenant_issuer);
        assert!(settings_for(preset("okta").unwrap(), "cid", None).is_err());
        let gh = settings_for(preset("github").unwrap(), "cid", None).unwrap();
        assert_eq!(gh.issuer, "");
        assert_eq!(gh.api_base.as_deref(), Some(GITHUB_API));
        assert!(preset("ldap").is_none());
    }
}
