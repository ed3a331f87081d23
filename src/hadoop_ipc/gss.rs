//! Kerberos contexts through MIT's GSSAPI library (the `libgssapi` crate), for the SASL layer.
//!
//! Credentials come from the process's Kerberos environment, which `main` sets up from
//! `security.keytab` (`crate::security::prepare_keytab_environment`): MIT's client-keytab
//! support (`KRB5_CLIENT_KTNAME`) gets the first ticket into a private in-memory cache and
//! renews it from the keytab before it expires, so no `kinit` is needed. Without a keytab (e.g. `rmfc rm-admin` run by hand) the
//! ticket cache of the user (`kinit`) is used.
//!
//! Owns: the libgssapi calls. Must not: know anything of Hadoop IPC.

use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{OidSet, GSS_MECH_KRB5, GSS_NT_KRB5_PRINCIPAL};

use super::sasl::{GssContext, GssLogin};

/// Contexts started as `principal` (or as whoever the ticket cache holds, when `None`).
#[derive(Debug, Clone)]
pub struct MitKerberos {
    principal: Option<String>,
    /// Where the credentials come from, for error messages.
    source: String,
}

impl MitKerberos {
    /// As `principal`, credentials from the environment (`crate::security::login` sets it up).
    pub fn new(principal: Option<String>, source: impl Into<String>) -> Self {
        MitKerberos { principal, source: source.into() }
    }

    /// Acquires the credentials now (with a keytab, MIT gets the first ticket here), so a bad
    /// keytab, principal or KDC is reported at start-up rather than at the first failover.
    pub fn check(&self) -> Result<(), String> {
        let cred = self.credential()?;
        if let Some(c) = cred {
            c.lifetime().map_err(|e| format!("no usable ticket ({}): {}", self.source, tidy(&e.to_string())))?;
        }
        Ok(())
    }

    fn credential(&self) -> Result<Option<Cred>, String> {
        let Some(p) = &self.principal else { return Ok(None) };
        let name = Name::new(p.as_bytes(), Some(GSS_NT_KRB5_PRINCIPAL)).map_err(|e| format!("principal {p}: {e}"))?;
        let mut mechs = OidSet::new();
        mechs.add(GSS_MECH_KRB5).map_err(|e| e.to_string())?;
        Cred::acquire(Some(&name), None, CredUsage::Initiate, Some(&mechs))
            .map(Some)
            .map_err(|e| format!("cannot log in as {p} ({}): {}", self.source, tidy(&e.to_string())))
    }
}

/// libgssapi's `Display` writes the GSSAPI (major) message, then the Kerberos (minor) one in
/// parentheses: `No credentials were supplied, ... inaccessible (Ticket expired)`. Operators
/// read `major: minor` better (it is how `kinit` and Java print them), and the line breaks and
/// double spaces MIT puts in some messages do not belong in one log line.
fn tidy(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match split_minor(&s) {
        Some((major, minor)) => format!("{major}: {minor}"),
        None => s,
    }
}

/// Splits `major (minor)` at the `(` matching the final `)`: the minor message may hold
/// parentheses itself (`Miscellaneous failure (see text)`). `None` when the text is not of
/// that form (one message only, or libgssapi's `unknown GSSAPI(Minor) error code(..)`).
fn split_minor(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_suffix(')')?;
    let mut depth = 0usize;
    for (i, c) in inner.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth > 0 => depth -= 1,
            '(' => {
                // libgssapi writes " (" before the minor message; anything else is part of one message.
                let major = inner[..i].strip_suffix(' ')?.trim_end();
                let minor = inner[i + 1..].trim();
                return (!major.is_empty() && !minor.is_empty()).then_some((major, minor));
            }
            _ => {}
        }
    }
    None
}

struct MitContext(ClientCtx);

impl GssLogin for MitKerberos {
    fn start(&self, target: &str) -> Result<Box<dyn GssContext>, String> {
        let cred = self.credential()?;
        let name = Name::new(target.as_bytes(), Some(GSS_NT_KRB5_PRINCIPAL))
            .map_err(|e| format!("server principal {target}: {e}"))?;
        // What Hadoop's Java client gets (Java's GSS context asks for replay and sequence
        // detection by default): with them MIT refuses a wrapped message that is replayed,
        // reordered or missing one before it, so a man in the middle cannot replay an old
        // answer (an earlier getServiceStatus saying ACTIVE) or drop one unnoticed.
        let flags = CtxFlags::GSS_C_MUTUAL_FLAG
            | CtxFlags::GSS_C_INTEG_FLAG
            | CtxFlags::GSS_C_CONF_FLAG
            | CtxFlags::GSS_C_REPLAY_FLAG
            | CtxFlags::GSS_C_SEQUENCE_FLAG;
        Ok(Box::new(MitContext(ClientCtx::new(cred, name, flags, Some(GSS_MECH_KRB5)))))
    }

    fn describe(&self) -> String {
        match &self.principal {
            Some(p) => format!("{p} ({})", self.source),
            None => self.source.clone(),
        }
    }
}

impl GssContext for MitContext {
    fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>, String> {
        self.0.step(input, None).map(|t| t.map(|b| b.to_vec())).map_err(|e| tidy(&e.to_string()))
    }
    fn is_complete(&self) -> bool {
        self.0.is_complete()
    }
    fn wrap(&mut self, encrypt: bool, data: &[u8]) -> Result<Vec<u8>, String> {
        self.0.wrap(encrypt, data).map(|b| b.to_vec()).map_err(|e| tidy(&e.to_string()))
    }
    fn unwrap(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        self.0.unwrap(data).map(|b| b.to_vec()).map_err(|e| tidy(&e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::tidy;

    #[test]
    fn the_gssapi_and_kerberos_messages_are_joined_by_a_colon() {
        let cases = [
            (
                "No credentials were supplied, or the credentials were unavailable or inaccessible (Ticket expired)",
                "No credentials were supplied, or the credentials were unavailable or inaccessible: Ticket expired",
            ),
            (
                "Unspecified GSS failure.  Minor code may provide more information (Miscellaneous failure (see text))",
                "Unspecified GSS failure. Minor code may provide more information: Miscellaneous failure (see text)",
            ),
            (
                "Unspecified GSS failure.  Minor code may provide more information (Cannot find KDC for realm \"ELSEWHERE.TEST\")\n",
                "Unspecified GSS failure. Minor code may provide more information: Cannot find KDC for realm \"ELSEWHERE.TEST\"",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(tidy(raw), want);
        }
    }

    #[test]
    fn text_of_another_form_is_only_trimmed() {
        let cases = [
            ("The referenced context has expired", "The referenced context has expired"),
            ("unknown GSSAPI(Minor) error code(5)\n", "unknown GSSAPI(Minor) error code(5)"),
            ("unbalanced (minor", "unbalanced (minor"),
            ("unbalanced minor)", "unbalanced minor)"),
            ("(only a minor)", "(only a minor)"),
            ("major ()", "major ()"),
            ("", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(tidy(raw), want, "{raw:?}");
        }
    }
}
