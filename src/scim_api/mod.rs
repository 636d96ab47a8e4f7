//! The SCIM front: from a parsed request to a SCIM answer, through the tenant's adapter.

mod discovery;
mod endpoint;
mod kept;
mod listing;
mod message;
mod resources;

pub use endpoint::Endpoint;
pub use message::{retry_after_for, ScimRequest, ScimResponse};

use crate::failure::Failure;
use crate::gateway::Invocation;
use http::Method;
use resources::Resources;
use scimitar_scim::list::ListQuery;
use scimitar_scim::ScimError;

/// What a request asks for, for metrics and logs: a resource and an operation label.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub resource: &'static str,
    pub name: &'static str,
}

impl Operation {
    pub const UNKNOWN: Operation = Operation {
        resource: "unknown",
        name: "unknown",
    };

    pub fn of(method: &Method, endpoint: Option<&Endpoint>) -> Operation {
        let Some(endpoint) = endpoint else {
            return Operation::UNKNOWN;
        };
        let name = match (endpoint, method) {
            (Endpoint::Collection(_), &Method::GET)
            | (Endpoint::Search(_) | Endpoint::RootSearch, &Method::POST) => "list",
            (Endpoint::Collection(_), &Method::POST) => "create",
            (Endpoint::Resource(..), &Method::GET) => "get",
            (Endpoint::Resource(..), &Method::PUT) => "replace",
            (Endpoint::Resource(..), &Method::PATCH) => "patch",
            (Endpoint::Resource(..), &Method::DELETE) => "delete",
            (
                Endpoint::ServiceProviderConfig | Endpoint::Schemas(_) | Endpoint::ResourceTypes(_),
                &Method::GET,
            ) => "discovery",
            _ => "unsupported",
        };
        Operation {
            resource: endpoint.resource_label(),
            name,
        }
    }
}

/// Answers one SCIM request for the invocation's tenant, or says why it failed.
pub async fn handle(
    call: Invocation<'_>,
    endpoint: Option<Endpoint>,
    request: &ScimRequest,
) -> Result<ScimResponse, Failure> {
    let Some(endpoint) = endpoint else {
        return Err(ScimError::not_found("no such SCIM endpoint").into());
    };
    let capabilities = &call.tenant.capabilities;
    let method = &request.method;
    match endpoint {
        Endpoint::ServiceProviderConfig if method == Method::GET => Ok(ScimResponse::ok(
            discovery::service_provider_config(capabilities, &request.base_url),
        )),
        Endpoint::Schemas(id) if method == Method::GET => Ok(discovery::schemas(
            capabilities,
            &request.base_url,
            id.as_deref(),
        )?),
        Endpoint::ResourceTypes(id) if method == Method::GET => Ok(discovery::resource_types(
            capabilities,
            &request.base_url,
            id.as_deref(),
        )?),
        Endpoint::Collection(kind) | Endpoint::Search(kind) | Endpoint::Resource(kind, _)
            if !discovery::supports(capabilities, kind) =>
        {
            Err(ScimError::not_found(format!(
                "this tenant does not provision {}",
                endpoint::noun_plural(kind)
            ))
            .into())
        }
        Endpoint::Collection(kind) => {
            let resources = Resources {
                call,
                kind,
                request,
            };
            match *method {
                Method::GET => resources.list(request.list_query()?).await,
                Method::POST => resources.create().await,
                _ => Err(method_not_allowed(method).into()),
            }
        }
        Endpoint::Search(kind) if method == Method::POST => {
            let query = ListQuery::from_search_request(&request.json()?)?;
            Resources {
                call,
                kind,
                request,
            }
            .list(&query)
            .await
        }
        Endpoint::RootSearch if method == Method::POST => Err(ScimError::new(
            501,
            None,
            "searching all resource types at once is not implemented: \
             search /Users/.search or /Groups/.search",
        )
        .into()),
        Endpoint::Resource(kind, id) => {
            let resources = Resources {
                call,
                kind,
                request,
            };
            match *method {
                Method::GET => resources.get(&id).await,
                Method::PUT => resources.replace(&id).await,
                Method::PATCH => resources.patch(&id).await,
                Method::DELETE => resources.delete(&id).await,
                _ => Err(method_not_allowed(method).into()),
            }
        }
        _ => Err(method_not_allowed(method).into()),
    }
}

fn method_not_allowed(method: &Method) -> ScimError {
    ScimError::new(
        405,
        None,
        format!("{method} is not allowed on this endpoint"),
    )
}
