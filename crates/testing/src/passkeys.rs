//! A software passkey authenticator for end-to-end tests, over `webauthn-authenticator-rs`'s
//! `SoftPasskey` (feature `softpasskey`). Synchronous; no runtime needed.
//!
//! `SoftPasskey` signs for real (P-256, "packed" self attestation, counter incremented on every
//! assertion) but it refuses `requireResidentKey: true` (`NotSupported`), ignores `residentKey`
//! and `excludeCredentials`, and never returns a `userHandle`. This harness adds what a
//! resident-key capable authenticator + browser would do: it remembers (rp id, credential id,
//! user handle) for credentials registered with `residentKey` required/preferred, answers an
//! empty `allowCredentials` by picking one of them, and puts the user handle in the assertion
//! (the user handle is not covered by the signature, so this is exactly what a real one sends).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

/// A credential the authenticator made.
#[derive(Debug, Clone)]
pub struct StoredCredential {
    /// The relying-party id it is scoped to.
    pub rp_id: String,
    /// Its credential id (`rawId`).
    pub credential_id: Vec<u8>,
    /// The user handle (`user.id`) it was registered for.
    pub user_handle: Vec<u8>,
    /// Whether it is discoverable (registered with `residentKey` required or preferred).
    pub resident: bool,
}

/// A software authenticator with a browser's behaviour around it; holds its credentials.
pub struct SoftAuthenticator {
    inner: WebauthnAuthenticator<SoftPasskey>,
    credentials: Vec<StoredCredential>,
}

impl Default for SoftAuthenticator {
    fn default() -> Self {
        Self::new()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| e.to_string())
}

/// proto serialises client extension outputs as `extensions`; browsers send
/// `clientExtensionResults` and `authenticatorAttachment`.
fn to_browser_shape(mut value: Value) -> Value {
    if let Some(obj) = value.as_object_mut() {
        let ext = obj.remove("extensions").unwrap_or_else(|| json!({}));
        obj.insert("clientExtensionResults".into(), ext);
        obj.insert("authenticatorAttachment".into(), json!("cross-platform"));
    }
    value
}

impl SoftAuthenticator {
    /// An authenticator with no credentials, that performs user verification.
    pub fn new() -> Self {
        // `true`: claim user verification (webauthn-rs passkeys require UV).
        Self {
            inner: WebauthnAuthenticator::new(SoftPasskey::new(true)),
            credentials: Vec::new(),
        }
    }

    /// `options`: the bare `PublicKeyCredentialCreationOptions` JSON. Returns
    /// `RegistrationResponseJSON`. Panics where [`Self::try_register`] fails.
    pub fn register(&mut self, origin: &Url, options: &Value) -> Value {
        self.try_register(origin, options)
            .expect("soft authenticator registration")
    }

    /// As [`Self::register`]; an excluded credential (`InvalidStateError` in a browser) or
    /// malformed options give `Err`.
    pub fn try_register(&mut self, origin: &Url, options: &Value) -> Result<Value, String> {
        let mut options = options.clone();
        let selection = options.get("authenticatorSelection");
        let resident = selection
            .and_then(|s| s.get("residentKey"))
            .and_then(Value::as_str)
            .map(|rk| rk == "required" || rk == "preferred")
            .unwrap_or(false)
            || selection
                .and_then(|s| s.get("requireResidentKey"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
        let rp_id = options["rp"]["id"]
            .as_str()
            .ok_or("options without rp.id")?
            .to_owned();
        let user_handle = unb64(
            options["user"]["id"]
                .as_str()
                .ok_or("options without user.id")?,
        )?;
        // excludeCredentials: InvalidStateError in a browser.
        if let Some(excluded) = options.get("excludeCredentials").and_then(Value::as_array) {
            for cred in excluded {
                let id = unb64(cred["id"].as_str().unwrap_or_default())?;
                if self
                    .credentials
                    .iter()
                    .any(|c| c.rp_id == rp_id && c.credential_id == id)
                {
                    return Err("InvalidStateError: credential excluded".into());
                }
            }
        }
        // SoftPasskey rejects requireResidentKey: the harness provides residency itself.
        if let Some(sel) = options
            .get_mut("authenticatorSelection")
            .and_then(Value::as_object_mut)
        {
            sel.insert("requireResidentKey".into(), json!(false));
            sel.insert("residentKey".into(), json!("discouraged"));
        }
        let ccr: CreationChallengeResponse =
            serde_json::from_value(json!({ "publicKey": options })).map_err(|e| e.to_string())?;
        let response = self
            .inner
            .do_registration(origin.clone(), ccr)
            .map_err(|e| format!("{e:?}"))?;
        let credential_id = response.raw_id.to_vec();
        self.credentials.push(StoredCredential {
            rp_id,
            credential_id,
            user_handle,
            resident,
        });
        let mut value =
            to_browser_shape(serde_json::to_value(&response).map_err(|e| e.to_string())?);
        value["clientExtensionResults"]["credProps"] = json!({ "rk": resident });
        Ok(value)
    }

    /// `options`: the bare `PublicKeyCredentialRequestOptions` JSON. Returns
    /// `AuthenticationResponseJSON`. With no `allowCredentials`, uses the most recently
    /// registered resident credential for the RP id. Panics where [`Self::try_authenticate`]
    /// fails.
    pub fn authenticate(&mut self, origin: &Url, options: &Value) -> Value {
        self.try_authenticate(origin, options, None)
            .expect("soft authenticator authentication")
    }

    /// As [`Self::authenticate`], choosing the resident credential of `user_handle` for a
    /// discoverable request (what the account picker would do); `Err` where a browser would
    /// reject (`NotAllowedError` when no discoverable credential fits).
    pub fn try_authenticate(
        &mut self,
        origin: &Url,
        options: &Value,
        user_handle: Option<&[u8]>,
    ) -> Result<Value, String> {
        let mut options = options.clone();
        let rp_id = options["rpId"]
            .as_str()
            .ok_or("options without rpId")?
            .to_owned();
        let allowed: Vec<Vec<u8>> = match options.get("allowCredentials").and_then(Value::as_array)
        {
            Some(list) => list
                .iter()
                .map(|c| unb64(c["id"].as_str().unwrap_or_default()))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let chosen = if allowed.is_empty() {
            let cred = self
                .credentials
                .iter()
                .rev()
                .find(|c| {
                    c.resident
                        && c.rp_id == rp_id
                        && user_handle.is_none_or(|h| h == c.user_handle.as_slice())
                })
                .ok_or("NotAllowedError: no discoverable credential for this RP")?;
            options["allowCredentials"] =
                json!([{ "type": "public-key", "id": b64(&cred.credential_id) }]);
            Some(cred.clone())
        } else {
            None
        };
        let rcr: RequestChallengeResponse =
            serde_json::from_value(json!({ "publicKey": options })).map_err(|e| e.to_string())?;
        let response = self
            .inner
            .do_authentication(origin.clone(), rcr)
            .map_err(|e| format!("{e:?}"))?;
        let used = response.raw_id.to_vec();
        let stored = chosen.or_else(|| {
            self.credentials
                .iter()
                .find(|c| c.credential_id == used)
                .cloned()
        });
        let mut value =
            to_browser_shape(serde_json::to_value(&response).map_err(|e| e.to_string())?);
        if let Some(cred) = stored.filter(|c| c.resident) {
            value["response"]["userHandle"] = json!(b64(&cred.user_handle));
        }
        Ok(value)
    }
}
