//! The demo's tenants: one config section and one printed line each, written by one builder
//! from what differs between targets (route, script, upstream, settings).

use super::write_secret;
use crate::auth::generate_token;
use anyhow::Context;
use scimitar_testbeds::Testbed;
use serde_json::json;
use std::path::Path;

/// The adapters bundled into the binary, so that the demo runs from anywhere.
const META_NETWORKS_SCRIPT: &str = include_str!("../../adapters/meta-networks.rhai");
const META_NETWORKS_SCIM_SCRIPT: &str = include_str!("../../adapters/meta-networks-scim.rhai");
const MEDIUSFLOW_SCRIPT: &str = include_str!("../../adapters/mediusflow.rhai");
const MAPTICIAN_SCRIPT: &str = include_str!("../../adapters/maptician.rhai");
const RHOMBUS_SCRIPT: &str = include_str!("../../adapters/rhombus.rhai");
const MX3_SCRIPT: &str = include_str!("../../adapters/mx3.rhai");

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const MEDIUS: &str = "urn:ietf:params:scim:schemas:extension:medius:2.0:User";

/// One demo tenant: its config section and the line printed for it.
pub(super) struct DemoTenant {
    pub toml: String,
    pub line: serde_json::Value,
}

/// What makes one tenant different from the others.
struct Spec<'a> {
    name: &'a str,
    mode: &'a str,
    /// Route template, and the SCIM URL printed for it (the route with its parameters set).
    route: &'a str,
    /// `route_values` of the tenant (an inline table), if its parameters are limited.
    route_values: Option<String>,
    scim_path: String,
    script: (&'a str, &'a str),
    /// `[tenants.upstream]` and `[tenants.upstream.auth]`.
    upstream: String,
    /// Settings and schema sections.
    extra: String,
}

fn tenant(
    data_dir: &Path,
    gateway_url: &str,
    testbed: &Testbed,
    spec: Spec,
) -> anyhow::Result<DemoTenant> {
    let (file, source) = spec.script;
    std::fs::write(data_dir.join("adapters").join(file), source)?;
    let (token, hash) = generate_token();
    let toml = format!(
        "[[tenants]]\nname = \"{name}\"\ntarget = \"{target}\"\nmode = \"{mode}\"\nroute = \"{route}\"\n\
         {route_values}script = \"adapters/{file}\"\nauth = {{ token_hashes = [\"{hash}\"] }}\n\n{upstream}\n{extra}",
        route_values = spec
            .route_values
            .map(|values| format!("route_values = {values}\n"))
            .unwrap_or_default(),
        name = spec.name,
        target = testbed.name,
        mode = spec.mode,
        route = spec.route,
        upstream = spec.upstream,
        extra = spec.extra,
    );
    let line = json!({
        "tenant": spec.name,
        "target": testbed.name,
        "mode": spec.mode,
        "scim_url": format!("{gateway_url}{}", spec.scim_path),
        "token": token,
        "testbed_url": testbed.url,
        "testbed_credentials": testbed.credentials,
    });
    Ok(DemoTenant { toml, line })
}

/// An upstream reached with OAuth client credentials read from the secret files.
fn oauth_upstream(
    base_url: &str,
    secrets: &str,
    token_url: &str,
    encoding: &str,
    scope: Option<&str>,
) -> String {
    let scope = scope
        .map(|s| format!("scope = \"{s}\"\n"))
        .unwrap_or_default();
    format!(
        "[tenants.upstream]\nbase_url = \"{base_url}\"\n\n[tenants.upstream.auth]\n\
         kind = \"oauth2_client_credentials\"\ntoken_url = \"{token_url}\"\nencoding = \"{encoding}\"\n{scope}\
         client_id = {{ file = \"{secrets}.client_id\" }}\nclient_secret = {{ file = \"{secrets}.client_secret\" }}\n"
    )
}

/// An upstream reached with a static header whose secret part is in a secret file.
fn header_upstream(
    base_url: &str,
    header: &str,
    prefix: &str,
    secret_file: &str,
    more: &str,
) -> String {
    format!(
        "[tenants.upstream]\nbase_url = \"{base_url}\"\n{more}\n[tenants.upstream.auth]\nkind = \"header\"\n\
         name = \"{header}\"\nprefix = \"{prefix}\"\nvalue = {{ file = \"{secret_file}\" }}\n"
    )
}

/// Meta Networks' native API in translate mode, at Meta's own URL shape.
pub(super) fn meta_networks(
    data_dir: &Path,
    gateway_url: &str,
    testbed: &Testbed,
    idp_ids: &[String],
) -> anyhow::Result<DemoTenant> {
    let idp_id = idp_ids
        .first()
        .context("the Meta Networks testbed has no IdP id")?;
    tenant(
        data_dir,
        gateway_url,
        testbed,
        Spec {
            name: "meta-networks",
            mode: "translate",
            route: "/meta-networks/v1/scim/{idp_id}",
            route_values: Some(format!("{{ idp_id = {} }}", json!(idp_ids))),
            scim_path: format!("/meta-networks/v1/scim/{idp_id}"),
            script: ("meta-networks.rhai", META_NETWORKS_SCRIPT),
            upstream: oauth_upstream(
                &testbed.url,
                "meta-networks",
                "/v1/oauth/token",
                "json",
                None,
            ),
            extra: format!(
                "[tenants.settings]\ndefault_region = \"US\"\n\n\
             [tenants.schema]\nrequired = [\"name.givenName\", \"name.familyName\"]\n\n\
             [tenants.index]\nusers = []\ngroups = []\n"
            ),
        },
    )
}

/// Meta Networks' own SCIM endpoint in proxy mode: Entra's one tenant URL, the hooks routing
/// to the IdP and normalising what Meta would refuse.
pub(super) fn meta_networks_scim(
    data_dir: &Path,
    gateway_url: &str,
    testbed: &Testbed,
    idp_ids: &[String],
) -> anyhow::Result<DemoTenant> {
    let idp_id = idp_ids
        .first()
        .context("the Meta Networks testbed has no IdP id")?;
    tenant(
        data_dir,
        gateway_url,
        testbed,
        Spec {
            name: "meta-networks-scim",
            mode: "proxy",
            route: "/meta-networks-scim",
            route_values: None,
            scim_path: "/meta-networks-scim".into(),
            script: ("meta-networks-scim.rhai", META_NETWORKS_SCIM_SCRIPT),
            upstream: oauth_upstream(
                &testbed.url,
                "meta-networks",
                "/v1/oauth/token",
                "json",
                None,
            ),
            extra: format!("[tenants.settings]\ndefault_region = \"US\"\nidp_id = \"{idp_id}\"\n"),
        },
    )
}

/// MediusFlow: the testbed's tenant path as base URL, OAuth client credentials
/// (form-encoded, scope Integration), its own schema extension.
pub(super) fn mediusflow(
    data_dir: &Path,
    gateway_url: &str,
    testbed: &Testbed,
) -> anyhow::Result<DemoTenant> {
    write_credentials(data_dir, testbed, &["client_id", "client_secret"])?;
    let medius_tenant = testbed.credentials["tenant"]
        .as_str()
        .context("the MediusFlow testbed has no tenant")?;
    let base_url = format!("{}/{medius_tenant}/", testbed.url);
    tenant(data_dir, gateway_url, testbed, Spec {
        name: "mediusflow",
        mode: "translate",
        route: "/mediusflow",
        route_values: None,
        scim_path: "/mediusflow".into(),
        script: ("mediusflow.rhai", MEDIUSFLOW_SCRIPT),
        upstream: oauth_upstream(&base_url, "mediusflow", "api/connect/token", "form", Some("Integration")),
        extra: format!(
            "[tenants.settings]\ndefault_configuration = \"Default\"\n\n\
             [tenants.schema]\nuser_extensions = [\"{ENTERPRISE}\", \"{MEDIUS}\"]\n\n\
             [[tenants.schema.custom]]\nurn = \"{MEDIUS}\"\nname = \"MediusUser\"\n\
             attributes = [\"configurationFilter\", \"identityProvider\", \"nameIdentifier\", \"customFieldText1\", \
             \"customFieldText2\", \"customFieldText3\", \"customFieldText4\", \"customFieldText5\"]\n\n\
             [tenants.index]\nusers = [\"externalId\", \"emails.value\"]\n"
        ),
    })
}

/// Maptician: users only, the API token as a bearer header.
pub(super) fn maptician(
    data_dir: &Path,
    gateway_url: &str,
    testbed: &Testbed,
) -> anyhow::Result<DemoTenant> {
    write_credentials(data_dir, testbed, &["api_token"])?;
    tenant(
        data_dir,
        gateway_url,
        testbed,
        Spec {
            name: "maptician",
            mode: "translate",
            route: "/maptician",
            route_values: None,
            scim_path: "/maptician".into(),
            script: ("maptician.rhai", MAPTICIAN_SCRIPT),
            upstream: header_upstream(
                &testbed.url,
                "Authorization",
                "Bearer ",
                "maptician.api_token",
                "",
            ),
            extra: format!(
                "[tenants.schema]\nuser_extensions = [\"{ENTERPRISE}\"]\n\n\
                 [tenants.index]\nusers = [\"userName\", \"externalId\", \"emails.value\"]\n"
            ),
        },
    )
}

/// Rhombus: users only, the API key in `x-auth-apikey` (the script adds the fixed
/// `x-auth-scheme` header itself); its rate limit waited out within the deadline.
pub(super) fn rhombus(
    data_dir: &Path,
    gateway_url: &str,
    testbed: &Testbed,
) -> anyhow::Result<DemoTenant> {
    write_credentials(data_dir, testbed, &["api_key"])?;
    tenant(data_dir, gateway_url, testbed, Spec {
        name: "rhombus",
        mode: "translate",
        route: "/rhombus",
        route_values: None,
        scim_path: "/rhombus".into(),
        script: ("rhombus.rhai", RHOMBUS_SCRIPT),
        upstream: header_upstream(&testbed.url, "x-auth-apikey", "", "rhombus.api_key", "retries = 3\n"),
        extra: "[tenants.schema]\nrequired = [\"name.givenName\", \"name.familyName\", \"roles\"]\n\n\
                [tenants.index]\nusers = [\"userName\"]\npage_size = 50000\n".into(),
    })
}

/// MX3's one SCIM URL for every organisation: a tenant per organisation of the testbed, all
/// at `/mx3`, each with its own token and API key (its line shows that organisation's key).
pub(super) fn mx3(
    data_dir: &Path,
    gateway_url: &str,
    testbed: &Testbed,
) -> anyhow::Result<Vec<DemoTenant>> {
    let organisations = testbed.credentials["organisations"]
        .as_array()
        .context("the MX3 testbed describes no organisations")?;
    let mut tenants = Vec::new();
    for organisation in organisations {
        let (Some(org), Some(key)) = (
            organisation["name"].as_str(),
            organisation["api_key"].as_str(),
        ) else {
            anyhow::bail!("the MX3 testbed has an organisation without name or api_key");
        };
        let name = format!("mx3-{org}");
        let key_file = format!("{name}.api_key");
        write_secret(&data_dir.join(&key_file), key)?;
        let mut demo = tenant(
            data_dir,
            gateway_url,
            testbed,
            Spec {
                name: &name,
                mode: "translate",
                route: "/mx3",
                route_values: None,
                scim_path: "/mx3".into(),
                script: ("mx3.rhai", MX3_SCRIPT),
                upstream: header_upstream(&testbed.url, "Authorization", "Token ", &key_file, ""),
                extra:
                    "[tenants.index]\nusers = [\"userName\", \"externalId\"]\npage_size = 50000\n"
                        .into(),
            },
        )?;
        demo.line["testbed_credentials"] = json!({ "api_key": key });
        tenants.push(demo);
    }
    Ok(tenants)
}

/// Writes each credential field of `testbed` to `<testbed name>.<field>` in the data folder,
/// for the tenant's `{ file = ... }` secrets.
pub(super) fn write_credentials(
    data_dir: &Path,
    testbed: &Testbed,
    fields: &[&str],
) -> anyhow::Result<()> {
    for field in fields {
        let value = testbed.credentials[field]
            .as_str()
            .with_context(|| format!("the {} testbed has no {field}", testbed.name))?;
        write_secret(&data_dir.join(format!("{}.{field}", testbed.name)), value)?;
    }
    Ok(())
}
