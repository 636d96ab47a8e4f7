//! The demo's tenants: one config section and one printed line each, built as config values
//! by one builder from what differs between targets (route, script, upstream, settings).

use super::write_secret;
use crate::auth::generate_token;
use crate::config::{
    CustomSchemaConfig, IndexConfig, KeepConfig, Mode, SecretRef, TenantAuth, TenantConfig,
    TenantSchema, TokenEncoding, UpstreamAuth, UpstreamConfig,
};
use anyhow::Context;
use scimitar_testbeds::Testbed;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The adapters bundled into the binary, so that the demo runs from anywhere.
const META_NETWORKS_SCRIPT: &str = include_str!("../../adapters/meta-networks.rhai");
const META_NETWORKS_SCIM_SCRIPT: &str = include_str!("../../adapters/meta-networks-scim.rhai");
const MEDIUSFLOW_SCRIPT: &str = include_str!("../../adapters/mediusflow.rhai");
const MAPTICIAN_SCRIPT: &str = include_str!("../../adapters/maptician.rhai");
const RHOMBUS_SCRIPT: &str = include_str!("../../adapters/rhombus.rhai");
const MX3_SCRIPT: &str = include_str!("../../adapters/mx3.rhai");
/// The modules the bundled adapters import.
const SHARED_MODULES: &[(&str, &str)] =
    &[("common.rhai", include_str!("../../adapters/common.rhai"))];

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const MEDIUS: &str = "urn:ietf:params:scim:schemas:extension:medius:2.0:User";

/// One demo tenant: its config section and the line printed for it.
pub(super) struct DemoTenant {
    pub config: TenantConfig,
    pub line: serde_json::Value,
}

/// What makes one tenant different from the others.
struct Spec<'a> {
    name: &'a str,
    mode: Mode,
    /// Route template, and the SCIM URL printed for it (the route with its parameters set).
    route: &'a str,
    /// The values the route's parameters may take, if they are limited.
    route_values: BTreeMap<String, Vec<String>>,
    scim_path: String,
    script: (&'a str, &'a str),
    upstream: UpstreamConfig,
    settings: toml::Table,
    schema: TenantSchema,
    index: Option<IndexConfig>,
    keep: KeepConfig,
}

/// Writes the modules the bundled adapters import into the demo's adapters folder.
pub(super) fn write_shared_modules(folder: &Path) -> anyhow::Result<()> {
    for (file, source) in SHARED_MODULES {
        std::fs::write(folder.join(file), source)
            .with_context(|| format!("cannot write {file} into the demo data folder"))?;
    }
    Ok(())
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
    let config = TenantConfig {
        name: spec.name.to_string(),
        target: testbed.name.to_string(),
        mode: spec.mode,
        route: spec.route.to_string(),
        host: None,
        route_values: spec.route_values,
        allowed_networks: Vec::new(),
        script: Some(PathBuf::from("adapters").join(file)),
        auth: TenantAuth {
            token_hashes: vec![hash],
            ..TenantAuth::default()
        },
        upstream: spec.upstream,
        settings: spec.settings,
        limits: Default::default(),
        schema: spec.schema,
        index: spec.index,
        keep: spec.keep,
    };
    let line = json!({
        "tenant": spec.name,
        "target": testbed.name,
        "mode": spec.mode.as_str(),
        "scim_url": format!("{gateway_url}{}", spec.scim_path),
        "token": token,
        "testbed_url": testbed.url,
        "testbed_credentials": testbed.credentials,
    });
    Ok(DemoTenant { config, line })
}

/// An upstream reached with OAuth client credentials read from the secret files
/// `<secrets>.client_id` and `<secrets>.client_secret`.
fn oauth_upstream(
    base_url: &str,
    secrets: &str,
    token_url: &str,
    encoding: TokenEncoding,
    scope: Option<&str>,
) -> UpstreamConfig {
    UpstreamConfig {
        base_url: Some(base_url.to_string()),
        auth: Some(UpstreamAuth::Oauth2ClientCredentials {
            token_url: token_url.to_string(),
            client_id: SecretRef::File(format!("{secrets}.client_id").into()),
            client_secret: SecretRef::File(format!("{secrets}.client_secret").into()),
            scope: scope.map(str::to_string),
            encoding,
        }),
        ..UpstreamConfig::default()
    }
}

/// An upstream reached with a static header whose secret part is in a secret file.
fn header_upstream(
    base_url: &str,
    header: &str,
    prefix: &str,
    secret_file: &str,
) -> UpstreamConfig {
    UpstreamConfig {
        base_url: Some(base_url.to_string()),
        auth: Some(UpstreamAuth::Header {
            name: header.to_string(),
            prefix: prefix.to_string(),
            value: SecretRef::File(secret_file.into()),
        }),
        ..UpstreamConfig::default()
    }
}

/// The adapter's settings table.
fn settings(pairs: &[(&str, &str)]) -> toml::Table {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), toml::Value::String(value.to_string())))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The gateway's index of users (these attributes) and, when `groups` is given, of groups.
fn index(users: &[&str], groups: Option<&[&str]>, page_size: Option<usize>) -> Option<IndexConfig> {
    let defaults = IndexConfig::default();
    Some(IndexConfig {
        users: Some(strings(users)),
        groups: groups.map(strings),
        page_size: page_size.unwrap_or(defaults.page_size),
        ..defaults
    })
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
            mode: Mode::Translate,
            route: "/meta-networks/v1/scim/{idp_id}",
            route_values: BTreeMap::from([("idp_id".to_string(), idp_ids.to_vec())]),
            scim_path: format!("/meta-networks/v1/scim/{idp_id}"),
            script: ("meta-networks.rhai", META_NETWORKS_SCRIPT),
            upstream: meta_upstream(testbed),
            settings: settings(&[("default_region", "US")]),
            schema: TenantSchema {
                required: strings(&["name.givenName", "name.familyName"]),
                ..TenantSchema::default()
            },
            index: index(&[], Some(&[]), None),
            keep: KeepConfig::default(),
        },
    )
}

fn meta_upstream(testbed: &Testbed) -> UpstreamConfig {
    oauth_upstream(
        &testbed.url,
        "meta-networks",
        "/v1/oauth/token",
        TokenEncoding::Json,
        None,
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
            mode: Mode::Proxy,
            route: "/meta-networks-scim",
            route_values: BTreeMap::new(),
            scim_path: "/meta-networks-scim".into(),
            script: ("meta-networks-scim.rhai", META_NETWORKS_SCIM_SCRIPT),
            upstream: meta_upstream(testbed),
            settings: settings(&[("default_region", "US"), ("idp_id", idp_id)]),
            schema: TenantSchema::default(),
            index: None,
            keep: KeepConfig::default(),
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
    tenant(
        data_dir,
        gateway_url,
        testbed,
        Spec {
            name: "mediusflow",
            mode: Mode::Translate,
            route: "/mediusflow",
            route_values: BTreeMap::new(),
            scim_path: "/mediusflow".into(),
            script: ("mediusflow.rhai", MEDIUSFLOW_SCRIPT),
            upstream: oauth_upstream(
                &base_url,
                "mediusflow",
                "api/connect/token",
                TokenEncoding::Form,
                Some("Integration"),
            ),
            settings: settings(&[("default_configuration", "Default")]),
            schema: TenantSchema {
                user_extensions: strings(&[ENTERPRISE, MEDIUS]),
                custom: vec![CustomSchemaConfig {
                    urn: MEDIUS.to_string(),
                    name: "MediusUser".to_string(),
                    attributes: strings(&[
                        "configurationFilter",
                        "identityProvider",
                        "nameIdentifier",
                        "customFieldText1",
                        "customFieldText2",
                        "customFieldText3",
                        "customFieldText4",
                        "customFieldText5",
                    ]),
                }],
                ..TenantSchema::default()
            },
            index: index(&["externalId", "emails.value"], None, None),
            keep: KeepConfig::default(),
        },
    )
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
            mode: Mode::Translate,
            route: "/maptician",
            route_values: BTreeMap::new(),
            scim_path: "/maptician".into(),
            script: ("maptician.rhai", MAPTICIAN_SCRIPT),
            upstream: header_upstream(
                &testbed.url,
                "Authorization",
                "Bearer ",
                "maptician.api_token",
            ),
            settings: toml::Table::new(),
            schema: TenantSchema {
                user_extensions: strings(&[ENTERPRISE]),
                ..TenantSchema::default()
            },
            index: index(&["userName", "externalId", "emails.value"], None, None),
            keep: KeepConfig::default(),
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
    tenant(
        data_dir,
        gateway_url,
        testbed,
        Spec {
            name: "rhombus",
            mode: Mode::Translate,
            route: "/rhombus",
            route_values: BTreeMap::new(),
            scim_path: "/rhombus".into(),
            script: ("rhombus.rhai", RHOMBUS_SCRIPT),
            upstream: UpstreamConfig {
                retries: 3,
                ..header_upstream(&testbed.url, "x-auth-apikey", "", "rhombus.api_key")
            },
            settings: toml::Table::new(),
            schema: TenantSchema {
                required: strings(&["name.givenName", "name.familyName", "roles"]),
                ..TenantSchema::default()
            },
            index: index(&["userName"], None, Some(50_000)),
            keep: KeepConfig::default(),
        },
    )
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
                mode: Mode::Translate,
                route: "/mx3",
                route_values: BTreeMap::new(),
                scim_path: "/mx3".into(),
                script: ("mx3.rhai", MX3_SCRIPT),
                upstream: header_upstream(&testbed.url, "Authorization", "Token ", &key_file),
                settings: toml::Table::new(),
                schema: TenantSchema::default(),
                index: index(&["userName", "externalId"], None, Some(50_000)),
                keep: KeepConfig {
                    groups: vec!["externalId".into()],
                    ..KeepConfig::default()
                },
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
