//! Role-based access control: Wazuh's actions, resources, policies, roles, users and security
//! rules, kept in the store and checked on every request.

pub mod action;
pub mod context;
mod defaults;
pub mod model;
pub mod password;
pub mod permissions;
pub mod resource;

use std::sync::{Arc, RwLock};

pub use action::Action;
pub use model::Security;
pub use permissions::{Effect, Mode, Permissions, Rights};
pub use resource::{Kind, Pattern, Target};

use crate::store::{Store, StoreError};

/// The store metadata key holding the security database.
const META_KEY: &str = "api.security";

/// Why the security database cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored value is not a security database.
    #[error("the stored security database is unreadable: {0}")]
    Corrupt(serde_json::Error),
    /// The system random source or the hasher failed.
    #[error("cannot set the default users' passwords: {0}")]
    Password(String),
}

/// The live security database: an in-memory snapshot, written through to the store.
#[derive(Debug)]
pub struct SecurityDb {
    store: Store,
    current: RwLock<Arc<Security>>,
}

/// What the first start created: the default users' passwords, to be written to a file only the
/// owner can read.
#[derive(Debug)]
pub struct FirstStart {
    /// `(username, password)`.
    pub passwords: Vec<(String, String)>,
}

impl SecurityDb {
    /// Reads the database from the store, creating Wazuh's defaults (with random passwords for
    /// the default users) when there is none.
    pub fn open(store: Store, now: &str) -> Result<(Self, Option<FirstStart>), SecurityError> {
        let (security, first) = match store.meta(META_KEY)? {
            Some(raw) => (serde_json::from_slice(&raw).map_err(SecurityError::Corrupt)?, None),
            None => {
                let (security, passwords) = defaults::build(now)?;
                (security, Some(FirstStart { passwords }))
            }
        };
        let db = Self { store, current: RwLock::new(Arc::new(security)) };
        if first.is_some() {
            db.persist(&db.snapshot())?;
        }
        Ok((db, first))
    }

    /// The current database.
    pub fn snapshot(&self) -> Arc<Security> {
        Arc::clone(&crate::sync::read(&self.current))
    }

    /// Applies `change` to a copy, stores it, and makes it current; nothing changes when `change`
    /// fails. Changes are serialized by the store's write lock being taken inside ours.
    pub fn update<T, E: From<SecurityError>>(
        &self,
        change: impl FnOnce(&mut Security) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut guard = crate::sync::write(&self.current);
        let mut next = Security::clone(&guard);
        let value = change(&mut next)?;
        self.persist(&next)?;
        *guard = Arc::new(next);
        Ok(value)
    }

    fn persist(&self, security: &Security) -> Result<(), SecurityError> {
        let raw = serde_json::to_vec(security).map_err(SecurityError::Corrupt)?;
        Ok(self.store.write(|w| w.set_meta(META_KEY, &raw))?)
    }
}
