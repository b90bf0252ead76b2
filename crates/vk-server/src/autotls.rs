//! Self-generated serving certificates ("auto-TLS", spec §5.4.3): the injector's own CA, the leaf
//! certificate it serves, the CA bundle published into the MutatingWebhookConfiguration, and the
//! pure decision of when to renew which.
//!
//! Everything here is computation on certificate material; the clock is passed in as
//! `SystemTime` arguments and the only I/O is drawing random keys and serial numbers. Reading and
//! writing the shared Secret, publishing the bundle and leader election live in the Kubernetes
//! edge (`vk-kube`) and the binary, which drive this module.
//!
//! # Material
//!
//! * CA ([`CaMaterial`]): ECDSA P-256, CN `Agent Inject CA`, valid from one minute before
//!   issuance for [`Lifetimes::ca`] (10 years by default), `keyCertSign | digitalSignature`, a
//!   random 159-bit serial and a Subject Key Identifier.
//! * Leaf ([`LeafMaterial`]): ECDSA P-256, CN `Agent Inject Service`, valid for
//!   [`Lifetimes::leaf`] (24 hours by default), `serverAuth`, one SAN per `-tls-auto-hosts` item
//!   ([`AutoTlsHosts`]), key written as a SEC1 `EC PRIVATE KEY` block as upstream writes it into
//!   its Secret. Loading accepts SEC1 and PKCS#8 keys.
//! * Bundle ([`CaBundle`]): the ordered, de-duplicated set of CA certificates the API server
//!   trusts for the webhook.
//!
//! # Rotation with overlap
//!
//! [`next_action`] says what to do at a given instant:
//!
//! * the leaf is renewed once 90 % of its validity has passed (upstream: `NotAfter − 10 %`), or at
//!   once when it is missing, not signed by the current CA, or its SANs differ from the hosts;
//! * the CA is rotated when at most `max(2 × leaf lifetime, 10 % of the CA's validity)` of its
//!   validity is left (capped at half of it, so a fresh CA is never due at once).
//!
//! A CA rotation never leaves a window in which a serving replica's leaf is untrusted:
//!
//! 1. a new CA is generated (and stored where followers and the next leader find it);
//! 2. the bundle becomes the old CAs plus the new one ([`CaBundle::with_added`]) and is published
//!    to every webhook entry of the configuration;
//! 3. only once that publication succeeded are leaves issued by the new CA;
//! 4. the old CA stays in the bundle until it expires, so replicas still serving a leaf of the old
//!    CA keep being trusted until they pick up a new leaf;
//! 5. expired CAs are dropped from the bundle ([`CaBundle::without_expired`]) at the next
//!    publication.
//!
//! When a freshly generated CA replaces one this process does not hold (another implementation's,
//! or a lost Secret), upstream publishes the *last* certificate of the old bundle plus the new CA;
//! [`CaBundle::last_old_plus_new`] implements that rule (spec case 91).

mod bundle;
mod cert_info;
mod error;
mod hosts;
mod keys;
mod material;
mod pem;
mod rotation;

pub use bundle::{BundleCa, CaBundle};
pub use error::AutoTlsError;
pub use hosts::{AutoTlsHosts, SanHost};
pub use material::{CaMaterial, LeafMaterial, Lifetimes};
pub use rotation::{AutoTlsAction, next_action};
