//! The service-provider side: SP metadata, the AuthnRequest (Redirect
//! binding) and the validation of a POSTed Response into an
//! `UpstreamIdentity`.

use base64::Engine as _;
use samael::crypto::{AllowedSignatureAlgorithm, ReduceMode};
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{
    EntityDescriptor, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING, IdpSsoDescriptor, IndexedEndpoint,
    KeyDescriptor, SpSsoDescriptor,
};
use samael::schema::Assertion;
use samael::service_provider::{ServiceProvider, ServiceProviderBuilder};

use super::config::SamlConnectionConfig;
use crate::federation::identity::UpstreamIdentity;

const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
/// Clock skew tolerated on NotBefore/NotOnOrAfter (issue: "small skew").
const MAX_SKEW_SECS: i64 = 120;
/// A SAMLResponse larger than this is refused before decoding.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
const MAX_GROUPS: usize = 256;

/// Why a SAML step failed. Messages are for logs and audit; they never
/// contain the assertion.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SamlError {
    #[error("SAML connection configuration is invalid: {0}")]
    Config(String),
    #[error("SAML response is too large or not base64")]
    Encoding,
    #[error("SAML response is not validly signed by the identity provider, or fails a check: {0}")]
    Invalid(String),
    #[error("SAML assertion has no audience restriction for this service provider")]
    Audience,
    #[error("SAML assertion carries no usable subject: {0}")]
    Subject(String),
    #[error("SAML assertion was already used")]
    Replay,
}

/// `{issuer}/saml/{connection_id}`: the SP entity id (and audience).
pub fn sp_entity_id(issuer: &str, connection_id: &str) -> String {
    format!("{}/saml/{connection_id}", issuer.trim_end_matches('/'))
}

/// `{issuer}/saml/{connection_id}/acs`: Destination and Recipient.
pub fn acs_url(issuer: &str, connection_id: &str) -> String {
    format!("{}/acs", sp_entity_id(issuer, connection_id))
}

/// One SAML connection seen from our side.
pub struct SamlSp {
    connection_id: String,
    config: SamlConnectionConfig,
    entity_id: String,
    acs: String,
    sp: ServiceProvider,
}

fn cert_b64(cert: &str) -> Result<String, SamlError> {
    // Accept PEM or bare base64; keep only the base64 body and check it
    // decodes, so a typo is a config error instead of a failed sign-in.
    let body: String = cert
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&body)
        .map_err(|_| {
            SamlError::Config("idp_certificates: not a PEM or base64 certificate".into())
        })?;
    Ok(body)
}

impl SamlSp {
    pub fn new(
        issuer: &str,
        connection_id: &str,
        config: SamlConnectionConfig,
    ) -> Result<Self, SamlError> {
        if config.idp_entity_id.trim().is_empty() {
            return Err(SamlError::Config("idp_entity_id is empty".into()));
        }
        let sso = url::Url::parse(&config.sso_url)
            .map_err(|_| SamlError::Config("sso_url is not a URL".into()))?;
        if sso.scheme() != "https" && sso.scheme() != "http" {
            return Err(SamlError::Config("sso_url must be http(s)".into()));
        }
        if config.idp_certificates.is_empty() {
            // Fail closed: samael skips verification when no signing
            // certificate is configured.
            return Err(SamlError::Config("idp_certificates is empty".into()));
        }
        let certificates = config
            .idp_certificates
            .iter()
            .map(|c| cert_b64(c))
            .collect::<Result<Vec<_>, _>>()?;
        let idp = EntityDescriptor {
            entity_id: Some(config.idp_entity_id.clone()),
            idp_sso_descriptors: Some(vec![IdpSsoDescriptor {
                id: None,
                valid_until: None,
                cache_duration: None,
                protocol_support_enumeration: Some(
                    "urn:oasis:names:tc:SAML:2.0:protocol".to_string(),
                ),
                error_url: None,
                signature: None,
                key_descriptors: vec![KeyDescriptor {
                    key_use: Some("signing".to_string()),
                    key_info: KeyInfo {
                        id: None,
                        x509_data: Some(X509Data { certificates }),
                    },
                    encryption_methods: None,
                }],
                organization: None,
                contact_people: vec![],
                artifact_resolution_service: vec![],
                single_logout_services: vec![],
                manage_name_id_services: vec![],
                name_id_formats: vec![],
                want_authn_requests_signed: None,
                single_sign_on_services: vec![samael::metadata::Endpoint {
                    binding: HTTP_REDIRECT_BINDING.to_string(),
                    location: config.sso_url.clone(),
                    response_location: None,
                }],
                name_id_mapping_services: vec![],
                assertion_id_request_services: vec![],
                attribute_profiles: vec![],
                attributes: vec![],
            }]),
            ..EntityDescriptor::default()
        };
        let entity_id = sp_entity_id(issuer, connection_id);
        let acs = acs_url(issuer, connection_id);
        let sp = ServiceProviderBuilder::default()
            .entity_id(entity_id.clone())
            .acs_url(acs.clone())
            .metadata_url(entity_id.clone())
            .slo_url(None::<String>)
            .idp_metadata(idp)
            .allow_idp_initiated(false)
            .max_clock_skew(chrono::Duration::seconds(MAX_SKEW_SECS))
            .max_issue_delay(chrono::Duration::seconds(MAX_SKEW_SECS + 60))
            // No SHA-1: refuse algorithm downgrades.
            .allowed_signature_algorithms(Some(vec![
                AllowedSignatureAlgorithm::RsaSha256,
                AllowedSignatureAlgorithm::RsaSha384,
                AllowedSignatureAlgorithm::RsaSha512,
                AllowedSignatureAlgorithm::EcdsaSha256,
                AllowedSignatureAlgorithm::EcdsaSha384,
                AllowedSignatureAlgorithm::EcdsaSha512,
            ]))
            .build()
            .map_err(|e| SamlError::Config(e.to_string()))?;
        Ok(Self {
            connection_id: connection_id.to_string(),
            config,
            entity_id,
            acs,
            sp,
        })
    }

    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    pub fn acs_url(&self) -> &str {
        &self.acs
    }

    /// This SP's metadata (an `EntityDescriptor`, serialized by samael):
    /// the ACS (HTTP-POST), the NameID formats it takes, unsigned
    /// AuthnRequests and signed assertions wanted. No key: authgate does
    /// not sign its AuthnRequests and takes no encrypted assertions.
    pub fn metadata_xml(&self) -> Result<String, SamlError> {
        use samael::traits::ToXml as _;
        let descriptor = SpSsoDescriptor {
            protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".to_string()),
            authn_requests_signed: Some(false),
            want_assertions_signed: Some(true),
            name_id_formats: Some(
                [NAMEID_PERSISTENT, NAMEID_EMAIL, NAMEID_UNSPECIFIED]
                    .map(str::to_string)
                    .to_vec(),
            ),
            assertion_consumer_services: vec![IndexedEndpoint {
                binding: HTTP_POST_BINDING.to_string(),
                location: self.acs.clone(),
                response_location: None,
                index: 0,
                is_default: Some(true),
            }],
            ..SpSsoDescriptor::default()
        };
        let entity = EntityDescriptor {
            entity_id: Some(self.entity_id.clone()),
            sp_sso_descriptors: Some(vec![descriptor]),
            ..EntityDescriptor::default()
        };
        entity
            .to_string()
            .map_err(|e| SamlError::Config(format!("metadata: {e}")))
    }

    /// The HTTP-Redirect binding URL of an AuthnRequest (samael builds
    /// and DEFLATE-encodes it) with ID `request_id` and the opaque
    /// `relay_state`. Unsigned: the IdP answers only to the ACS in our
    /// metadata, and the response's InResponseTo must name this ID.
    pub fn authn_request_url(
        &self,
        request_id: &str,
        relay_state: &str,
    ) -> Result<String, SamlError> {
        let mut req = self
            .sp
            .make_authentication_request(&self.config.sso_url)
            .map_err(|e| SamlError::Config(format!("AuthnRequest: {e}")))?;
        // samael's own ID has 32 random bits; ours is the flow's secret.
        req.id = request_id.to_string();
        req.force_authn = None;
        req.name_id_policy = None;
        req.redirect(relay_state)
            .map_err(|e| SamlError::Config(format!("AuthnRequest: {e}")))?
            .map(String::from)
            .ok_or_else(|| SamlError::Config("sso_url: no destination".into()))
    }

    /// Verify a base64 `SAMLResponse` answering `request_id` and map it to
    /// an identity. The caller then records the assertion ID in the
    /// replay cache (`NonceStore`) with [`Self::replay_key`] and the
    /// returned expiry, refusing the sign-in if it was seen.
    pub fn validate(
        &self,
        saml_response_b64: &str,
        request_id: &str,
    ) -> Result<(UpstreamIdentity, String, i64), SamlError> {
        if saml_response_b64.len() > MAX_RESPONSE_BYTES {
            return Err(SamlError::Encoding);
        }
        let compact: String = saml_response_b64
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| SamlError::Encoding)?;
        let xml = std::str::from_utf8(&bytes).map_err(|_| SamlError::Encoding)?;
        // Only the xmlsec-verified element survives reduction; everything
        // below reads that element alone.
        let assertion = self
            .sp
            .parse_xml_response_with_mode(
                xml,
                Some(&[request_id]),
                ReduceMode::ValidateAndMarkNoAncestors,
            )
            .map_err(|e| SamlError::Invalid(e.to_string()))?;
        self.check_audience_and_expiry(&assertion)?;
        let expires = assertion
            .conditions
            .as_ref()
            .and_then(|c| c.not_on_or_after)
            .map(|t| t.timestamp() + MAX_SKEW_SECS)
            .unwrap_or_else(|| chrono::Utc::now().timestamp() + 600);
        let identity = self.identity(&assertion)?;
        Ok((identity, self.replay_key(&assertion.id), expires))
    }

    /// The replay-cache key for an assertion ID, scoped to this connection.
    pub fn replay_key(&self, assertion_id: &str) -> String {
        format!("saml:{}:{assertion_id}", self.connection_id)
    }

    // samael checks the audience only when <Conditions> carries one; we
    // require it (an assertion for "anyone" is not for us) and a bounded
    // lifetime.
    fn check_audience_and_expiry(&self, a: &Assertion) -> Result<(), SamlError> {
        let c = a.conditions.as_ref().ok_or(SamlError::Audience)?;
        let ours = c
            .audience_restrictions
            .iter()
            .flatten()
            .any(|r| r.audience.iter().any(|x| x == &self.entity_id));
        if !ours {
            return Err(SamlError::Audience);
        }
        if c.not_on_or_after.is_none() {
            return Err(SamlError::Invalid("assertion has no NotOnOrAfter".into()));
        }
        Ok(())
    }

    fn attribute(&self, a: &Assertion, names: &[String]) -> Vec<String> {
        let attrs = a
            .attribute_statements
            .iter()
            .flatten()
            .flat_map(|s| s.attributes.iter());
        for name in names {
            let values: Vec<String> = attrs
                .clone()
                .filter(|at| {
                    at.name.as_deref() == Some(name.as_str())
                        || at.friendly_name.as_deref() == Some(name.as_str())
                })
                .flat_map(|at| at.values.iter())
                .filter_map(|v| v.value.as_ref())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            if !values.is_empty() {
                return values;
            }
        }
        Vec::new()
    }

    fn identity(&self, a: &Assertion) -> Result<UpstreamIdentity, SamlError> {
        let name_id = a
            .subject
            .as_ref()
            .and_then(|s| s.name_id.as_ref())
            .ok_or_else(|| SamlError::Subject("no NameID".into()))?;
        let transient = name_id.format.as_deref() == Some(NAMEID_TRANSIENT);
        let subject = match &self.config.subject_attribute {
            Some(attr) => self
                .attribute(a, std::slice::from_ref(attr))
                .into_iter()
                .next()
                .ok_or_else(|| SamlError::Subject(format!("attribute {attr} missing")))?,
            None if transient => {
                return Err(SamlError::Subject(
                    "transient NameID and no subject_attribute configured".into(),
                ));
            }
            None => name_id.value.trim().to_string(),
        };
        if subject.is_empty() || subject.len() > 1024 {
            return Err(SamlError::Subject("empty or oversized subject".into()));
        }
        let email = self
            .attribute(a, &self.config.attributes.email)
            .into_iter()
            .next()
            .map(|e| e.to_lowercase())
            .filter(|e| e.contains('@') && e.len() <= 320);
        let name = self
            .attribute(a, &self.config.attributes.name)
            .into_iter()
            .next();
        let mut groups = self.attribute(a, &self.config.attributes.groups);
        groups.truncate(MAX_GROUPS);
        Ok(UpstreamIdentity {
            connection_id: self.connection_id.clone(),
            subject,
            issuer: self.config.idp_entity_id.clone(),
            email_verified: email.is_some() && self.config.trust_email,
            email,
            name,
            groups,
            // SAML has no RFC 8176 amr; the AuthnContextClassRef is not
            // mapped (an IdP can claim anything there).
            amr: Vec::new(),
        })
    }
}
