//! Compare-and-set on a KV bucket, the one primitive every cluster-wide decision rests on (id
//! reservations, name and address claims, connection claims, the leader lease).

use async_nats::jetstream::kv::{self, CreateErrorKind, Entry, Operation, UpdateErrorKind};
use bytes::Bytes;

/// The value under `key` unless it was deleted (a delete leaves a marker entry behind).
pub async fn live(bucket: &kv::Store, key: &str) -> Result<Option<Entry>, String> {
    let entry = bucket.entry(key).await.map_err(|e| e.to_string())?;
    Ok(entry.filter(|e| e.operation == Operation::Put))
}

/// Writes `value` under `key` if it is still as read: absent (`revision` `None`: created only
/// if nobody holds it) or at `revision`. `Ok(false)` when another writer got there first.
pub async fn put_at(bucket: &kv::Store, key: &str, value: Bytes, revision: Option<u64>) -> Result<bool, String> {
    match revision {
        Some(revision) => match bucket.update(key, value, revision).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(e.to_string()),
        },
        None => match bucket.create(key, value).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e.to_string()),
        },
    }
}
