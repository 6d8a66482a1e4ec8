//! Passkeys (WebAuthn) over `webauthn-rs` 0.5: the ceremonies of the passkey port.
//!
//! Everything that crosses this boundary is JSON: options go to the browser bare (the
//! `publicKey` member of `CredentialCreationOptions` / `CredentialRequestOptions`), responses
//! come back as the standard `RegistrationResponseJSON` / `AuthenticationResponseJSON`,
//! ceremony state is JSON text for the challenge store, and passkeys are stored as
//! `webauthn_rs::Passkey` JSON (public key and counter; never a private key).
//!
//! Ceremony state must be consumed once (the challenge store's `take`): it carries the
//! challenge, and a credential whose authenticator keeps no signature counter (most synced
//! passkeys report 0) could otherwise be replayed against the same state.

use gatehouse_application::ports::{
    AuthenticatedPasskey, CeremonyState, PasskeyCeremonies, PasskeyError, RegisteredPasskey,
};
use gatehouse_domain::UserId;
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Webauthn,
    WebauthnBuilder, WebauthnError,
};

/// Tagged envelope so that a state from one kind of ceremony is never accepted by another
/// (`PasskeyAuthentication` and `DiscoverableAuthentication` have the same JSON shape).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
enum StoredState {
    Registration(PasskeyRegistration),
    Authentication(PasskeyAuthentication),
    Discoverable(DiscoverableAuthentication),
}

/// The WebAuthn relying party: Gatehouse's passkey ceremonies.
#[derive(Debug, Clone)]
pub struct WebauthnPasskeys {
    inner: Option<Webauthn>,
    /// Why passkeys are unavailable, when they are.
    unavailable: String,
}

fn rejected(context: &str, err: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Rejected(format!("{context}: {err}"))
}

/// The counter is not exposed by `Passkey` without `danger-credential-internals`; read it from
/// its JSON (`{"cred":{..,"counter":N,..}}`, the library's storage format).
fn stored_counter(passkey: &Passkey) -> Result<u32, PasskeyError> {
    serde_json::to_value(passkey)
        .ok()
        .and_then(|v| v.get("cred")?.get("counter")?.as_u64())
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| PasskeyError::Rejected("stored passkey has no readable counter".into()))
}

fn webauthn_rejected(err: WebauthnError) -> PasskeyError {
    PasskeyError::Rejected(format!("{err:?}"))
}

impl WebauthnPasskeys {
    /// rp_id e.g. "localhost" or "auth.example.com", origin e.g. "http://localhost:8080".
    ///
    /// Never fails: with an invalid configuration (IP address as RP id or origin host, RP id not
    /// equal to or a parent domain of the origin's host) every method returns
    /// [`PasskeyError::Unavailable`]; check [`Self::unavailable_reason`] at start-up to log it.
    /// The origin must match exactly, port included (no `allow_any_port`).
    pub fn new(rp_id: &str, origin: &Url, rp_name: &str) -> Self {
        let built = WebauthnBuilder::new(rp_id, origin)
            .and_then(|builder| builder.rp_name(rp_name).build());
        match built {
            Ok(webauthn) => Self {
                inner: Some(webauthn),
                unavailable: String::new(),
            },
            Err(error) => Self {
                inner: None,
                unavailable: format!(
                    "the relying-party id {rp_id:?} cannot serve the origin {origin} ({error:?}): \
                     it must be a domain name (not an IP address) that is the origin's host or \
                     a parent of it"
                ),
            },
        }
    }

    /// Why passkeys cannot work with this configuration, when they cannot (logged at start).
    pub fn unavailable_reason(&self) -> Option<&str> {
        self.inner.is_none().then_some(self.unavailable.as_str())
    }

    fn webauthn(&self) -> Result<&Webauthn, PasskeyError> {
        self.inner
            .as_ref()
            .ok_or_else(|| PasskeyError::Unavailable(self.unavailable.clone()))
    }

    fn save(state: &StoredState) -> Result<CeremonyState, PasskeyError> {
        serde_json::to_string(state)
            .map(CeremonyState)
            .map_err(|e| rejected("state not serialisable", e))
    }

    fn load(state: &CeremonyState) -> Result<StoredState, PasskeyError> {
        serde_json::from_str(&state.0).map_err(|e| rejected("ceremony state unreadable", e))
    }

    fn parse_passkeys(passkeys: &[String]) -> Result<Vec<Passkey>, PasskeyError> {
        passkeys
            .iter()
            .map(|p| {
                serde_json::from_str::<Passkey>(p)
                    .map_err(|e| rejected("stored passkey unreadable", e))
            })
            .collect()
    }

    /// Applies the authentication result to the stored passkey it concerns.
    fn outcome(
        result: &webauthn_rs::prelude::AuthenticationResult,
        passkeys: &[Passkey],
    ) -> Result<AuthenticatedPasskey, PasskeyError> {
        let credential_id = result.cred_id().to_vec();
        let mut updated_passkey = None;
        if let Some(passkey) = passkeys
            .iter()
            .find(|p| p.cred_id().as_slice() == credential_id)
        {
            // webauthn-rs checks the counter against the copy taken into the *state* at start
            // (second factor), so the same response replayed against the same state passes.
            // Check it against the passkey as stored now as well.
            let stored = stored_counter(passkey)?;
            if (result.counter() > 0 || stored > 0) && result.counter() <= stored {
                return Err(PasskeyError::Rejected(format!(
                    "signature counter {} not above stored {stored}: replayed assertion or cloned authenticator",
                    result.counter()
                )));
            }
            let mut passkey = passkey.clone();
            if passkey.update_credential(result) == Some(true) {
                updated_passkey = Some(
                    serde_json::to_string(&passkey)
                        .map_err(|e| rejected("passkey not serialisable", e))?,
                );
            }
        }
        Ok(AuthenticatedPasskey {
            credential_id,
            updated_passkey,
        })
    }
}

impl PasskeyCeremonies for WebauthnPasskeys {
    fn available(&self) -> Result<(), PasskeyError> {
        self.webauthn().map(drop)
    }

    /// Discoverable (resident) passkey registration options. Returns the bare
    /// `PublicKeyCredentialCreationOptions` JSON (binary fields base64url, no padding).
    ///
    /// webauthn-rs' `start_passkey_registration` sends `residentKey: "discouraged"`; the
    /// returned options are rewritten to `residentKey: "required"`, `requireResidentKey: true`.
    /// The server-side state does not depend on it (webauthn-rs ignores it when verifying).
    fn start_registration(
        &self,
        user: UserId,
        user_name: &str,
        display_name: &str,
        exclude: &[Vec<u8>],
    ) -> Result<(serde_json::Value, CeremonyState), PasskeyError> {
        let webauthn = self.webauthn()?;
        let exclude: Option<Vec<CredentialID>> = if exclude.is_empty() {
            None
        } else {
            Some(
                exclude
                    .iter()
                    .map(|id| CredentialID::from(id.clone()))
                    .collect(),
            )
        };
        let (ccr, state) = webauthn
            .start_passkey_registration(user.as_uuid(), user_name, display_name, exclude)
            .map_err(webauthn_rejected)?;
        let mut options =
            serde_json::to_value(&ccr.public_key).map_err(|e| rejected("options", e))?;
        if let Some(selection) = options
            .get_mut("authenticatorSelection")
            .and_then(|v| v.as_object_mut())
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        Ok((options, Self::save(&StoredState::Registration(state))?))
    }

    /// `credential` is the standard RegistrationResponseJSON from the browser.
    fn finish_registration(
        &self,
        state: &CeremonyState,
        credential: &serde_json::Value,
    ) -> Result<RegisteredPasskey, PasskeyError> {
        let webauthn = self.webauthn()?;
        let StoredState::Registration(state) = Self::load(state)? else {
            return Err(PasskeyError::Rejected("not a registration state".into()));
        };
        let credential: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| rejected("malformed registration response", e))?;
        let passkey = webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(webauthn_rejected)?;
        Ok(RegisteredPasskey {
            credential_id: passkey.cred_id().to_vec(),
            passkey: serde_json::to_string(&passkey).map_err(|e| rejected("passkey", e))?,
        })
    }

    /// Second-factor authentication over the user's stored passkeys (JSON strings as stored).
    /// An empty list is rejected: webauthn-rs would otherwise emit options with an empty
    /// `allowCredentials`, i.e. a discoverable prompt.
    fn start_authentication(
        &self,
        passkeys: &[String],
    ) -> Result<(serde_json::Value, CeremonyState), PasskeyError> {
        let webauthn = self.webauthn()?;
        let passkeys = Self::parse_passkeys(passkeys)?;
        if passkeys.is_empty() {
            return Err(PasskeyError::Rejected("no passkeys registered".into()));
        }
        let (rcr, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(webauthn_rejected)?;
        let options = serde_json::to_value(&rcr.public_key).map_err(|e| rejected("options", e))?;
        Ok((options, Self::save(&StoredState::Authentication(state))?))
    }

    /// The credential must be one listed in the state; `passkeys` (the same user's stored
    /// passkeys) is used to compute `updated_passkey`.
    fn finish_authentication(
        &self,
        state: &CeremonyState,
        credential: &serde_json::Value,
        passkeys: &[String],
    ) -> Result<AuthenticatedPasskey, PasskeyError> {
        let webauthn = self.webauthn()?;
        let StoredState::Authentication(state) = Self::load(state)? else {
            return Err(PasskeyError::Rejected(
                "not a second-factor authentication state".into(),
            ));
        };
        let credential: PublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| rejected("malformed authentication response", e))?;
        let passkeys = Self::parse_passkeys(passkeys)?;
        let result = webauthn
            .finish_passkey_authentication(&credential, &state)
            .map_err(webauthn_rejected)?;
        Self::outcome(&result, &passkeys)
    }

    /// Passwordless sign-in with a discoverable credential: options with an empty
    /// `allowCredentials`. webauthn-rs sets `mediation: "conditional"` on the wrapper, which is
    /// dropped here (bare options); the front end chooses the mediation.
    fn start_discoverable(&self) -> Result<(serde_json::Value, CeremonyState), PasskeyError> {
        let webauthn = self.webauthn()?;
        let (rcr, state) = webauthn
            .start_discoverable_authentication()
            .map_err(webauthn_rejected)?;
        let options = serde_json::to_value(&rcr.public_key).map_err(|e| rejected("options", e))?;
        Ok((options, Self::save(&StoredState::Discoverable(state))?))
    }

    /// Reads the user handle and credential id from an AuthenticationResponseJSON before we know
    /// whose it is. Nothing here is verified yet: the user handle is not signed.
    fn identify(&self, credential: &serde_json::Value) -> Result<(Uuid, Vec<u8>), PasskeyError> {
        let webauthn = self.webauthn()?;
        let credential: PublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| rejected("malformed authentication response", e))?;
        let (user, credential_id) = webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(webauthn_rejected)?;
        Ok((user, credential_id.to_vec()))
    }

    /// `passkeys` must be the stored passkeys of the user returned by [`Self::identify`]; the
    /// credential must be one of them. Credential ids must be unique across users (enforce it
    /// in the database), since the user handle itself is unsigned.
    fn finish_discoverable(
        &self,
        state: &CeremonyState,
        credential: &serde_json::Value,
        passkeys: &[String],
    ) -> Result<AuthenticatedPasskey, PasskeyError> {
        let webauthn = self.webauthn()?;
        let StoredState::Discoverable(state) = Self::load(state)? else {
            return Err(PasskeyError::Rejected(
                "not a discoverable authentication state".into(),
            ));
        };
        let credential: PublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| rejected("malformed authentication response", e))?;
        // WebAuthn §7.2: without a prior user, userHandle must be present.
        webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(webauthn_rejected)?;
        let passkeys = Self::parse_passkeys(passkeys)?;
        let keys: Vec<DiscoverableKey> = passkeys.iter().map(DiscoverableKey::from).collect();
        let result = webauthn
            .finish_discoverable_authentication(&credential, state, &keys)
            .map_err(webauthn_rejected)?;
        Self::outcome(&result, &passkeys)
    }
}
