//! One area's document, copied for every API version that serves the same handlers.

use utoipa::openapi::OpenApi;

/// A document of one version (`documented`, e.g. `/api/2.2/jobs`) with its paths copied for every
/// other version of `versions` (operation ids suffixed).
pub(crate) fn versioned(
    mut doc: OpenApi,
    documented: &str,
    versions: &[&str],
    area: &str,
) -> OpenApi {
    let prefix = documented;
    let documented: Vec<(String, utoipa::openapi::PathItem)> = doc
        .paths
        .paths
        .iter()
        .map(|(p, item)| (p.clone(), item.clone()))
        .collect();
    let own = prefix
        .trim_start_matches("/api/")
        .split('/')
        .next()
        .unwrap_or_default();
    for version in versions.iter().filter(|v| **v != own) {
        for (path, item) in &documented {
            let Some(rest) = path.strip_prefix(prefix) else {
                continue;
            };
            let mut item = item.clone();
            for op in operations(&mut item) {
                op.operation_id = op
                    .operation_id
                    .take()
                    .map(|id| format!("{id}_{}", version.replace('.', "_")));
            }
            doc.paths
                .paths
                .insert(format!("/api/{version}/{area}{rest}"), item);
        }
    }
    doc
}

fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<&mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
    .collect()
}
