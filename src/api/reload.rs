//! Ruleset changes through the API: the new files are checked by compiling a new engine before
//! it is put in force; a change that breaks its file is undone and refused. One change at a time.

use std::path::Path;

use super::Api;
use super::error::{ApiError, ApiResult};
use crate::engine::live;

/// Compiles the ruleset as the files are now and puts it in force when nothing is wrong in
/// `checked` (a home-relative file; `None`: refuse on any error). Returns the warnings.
async fn compile_and_swap(api: &Api, checked: Option<String>) -> ApiResult<Vec<String>> {
    let Some(engine_cell) = api.services.engine.clone() else {
        return Err(ApiError::wazuh(1914, "Failed to reload ruleset: the engine is not running"));
    };
    let (home, config) = (api.home.clone(), std::sync::Arc::clone(&api.config));
    let compiled = tokio::task::spawn_blocking(move || live::compile(&home, &config))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::wazuh(1914, format!("Failed to reload ruleset: {e}")))?;
    let (engine, problems) = compiled;
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| !p.warning && checked.as_deref().is_none_or(|f| p.file == f))
        .map(ToString::to_string)
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::wazuh(1908, format!("Error validating configuration: {}", errors.join("; "))));
    }
    live::report(&engine, &problems);
    let warnings = live::messages(&problems);
    engine_cell.replace(engine, warnings.clone());
    Ok(warnings)
}

/// `PUT /manager/analysisd/reload`: reloads the ruleset as it is on disk.
pub async fn reload(api: &Api) -> ApiResult<Vec<String>> {
    let _one = api.reload_lock.lock().await;
    compile_and_swap(api, None).await
}

/// Writes `contents` to `relative` (or removes it with `None`), then reloads; when the new file
/// does not load cleanly the old one is put back and the change refused.
/// In a cluster the change is stored for every node once it loads here; with NATS unreachable it
/// is refused before anything changes.
pub async fn change_file(api: &Api, relative: &str, contents: Option<Vec<u8>>) -> ApiResult<Vec<String>> {
    let _one = api.reload_lock.lock().await;
    let cluster = api.services.cluster.as_deref();
    if let Some(cluster) = cluster {
        cluster.can_share().map_err(unshared)?;
    }
    let path = api.home.join(relative);
    let before = std::fs::read(&path).ok();
    write(&path, contents.as_deref())
        .map_err(|e| ApiError::wazuh(1005, format!("Error writing file {relative}: {e}")))?;
    match compile_and_swap(api, Some(relative.to_owned())).await {
        Ok(warnings) => {
            let Some(cluster) = cluster else { return Ok(warnings) };
            let Err(e) = cluster.share_file(relative, contents.as_deref()).await else { return Ok(warnings) };
            // Not stored for the others: this node must not differ from them either.
            restore(&path, relative, before.as_deref());
            if let Err(again) = compile_and_swap(api, None).await {
                tracing::error!(stage = "api", file = relative, "cannot put the previous ruleset back: {again:?}");
            }
            Err(unshared(e))
        }
        Err(e) => {
            restore(&path, relative, before.as_deref());
            Err(e)
        }
    }
}

fn restore(path: &Path, relative: &str, before: Option<&[u8]>) {
    if let Err(undo) = write(path, before) {
        tracing::error!(stage = "api", file = relative, "cannot restore the previous file: {undo}");
    }
}

/// A change to an agent or group the cluster could not store, or the store failing.
pub fn not_admitted(e: crate::cluster::admit::AdmitError) -> ApiError {
    match e {
        crate::cluster::admit::AdmitError::Registry(e) => unshared(e),
        crate::cluster::admit::AdmitError::Store(e) => ApiError::internal(e),
    }
}

/// A change the cluster could not store.
pub fn unshared(e: crate::cluster::registry::RegistryError) -> ApiError {
    ApiError::wazuh(3023, format!("Change not stored cluster-wide: {e}"))
        .with_status(axum::http::StatusCode::SERVICE_UNAVAILABLE)
}

fn write(path: &Path, contents: Option<&[u8]>) -> std::io::Result<()> {
    match contents {
        Some(bytes) => crate::home::Home::write_atomic(path, bytes, 0o660),
        None => match std::fs::remove_file(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
    }
}

/// A file name an API client may write: one path component, no traversal, the given extension
/// (or none when `extension` is empty).
pub fn safe_name(name: &str, extension: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && (extension.is_empty() || name.ends_with(extension));
    if ok { Ok(()) } else { Err(ApiError::bad_request(format!("'{name}' is not a valid file name"))) }
}
