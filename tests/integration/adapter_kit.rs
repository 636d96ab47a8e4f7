//! `scimitar adapter test`: every bundled adapter passes Entra's behaviour against its
//! testbed and leaves nothing behind; a broken adapter fails the check that shows it.
//! `scimitar adapter new`: the skeleton it writes is a tenant `scimitar check` accepts.

use crate::support::*;
use scimitar_testbeds::{meta_networks, rhombus, Testbed};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

/// `scimitar adapter test --config <config> --tenant <tenant> --write` with `more` arguments.
async fn adapter_test(config: &Path, tenant: &str, more: &[&str]) -> Output {
    let mut command = scimitar(&["adapter", "test", "--config"]);
    command
        .arg(config)
        .args(["--tenant", tenant, "--write"])
        .args(more);
    run(command).await
}

/// Runs `command` off the test's runtime, which serves the testbed meanwhile.
async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// The run's stdout, after asserting that every check passed or was skipped, and that at
/// least `passed` passed.
fn assert_passes(output: &Output, passed: usize) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let summary = stdout.lines().last().unwrap_or_default();
    let counted: usize = summary
        .split(" passed")
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    assert!(summary.contains(", 0 failed,"), "{stdout}");
    assert!(counted >= passed, "{counted} < {passed} passed:\n{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("  ok ")).count(),
        counted,
        "{stdout}"
    );
    stdout
}

/// The testbed's native state holds none of the run's test objects, except as soft-deleted
/// (`deleted: true`, Maptician's delete).
fn assert_no_test_objects(state: &Value) {
    let objects = state
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_array)
        .flatten();
    for object in objects {
        let deleted = object["deleted"] == true;
        assert!(
            deleted || !object.to_string().contains("scimitar-test-"),
            "left in the target: {object}"
        );
    }
}

/// `adapter test --write` (with `more`) of `tenant`, served by `gateway` over `testbed`,
/// passes at least `passed` checks and leaves none of its objects in the target; answers
/// its stdout.
async fn passes(
    gateway: &Gateway,
    testbed: &Testbed,
    tenant: &str,
    more: &[&str],
    passed: usize,
) -> String {
    let stdout = assert_passes(
        &adapter_test(&gateway.config_path(), tenant, more).await,
        passed,
    );
    assert_no_test_objects(&testbed_state(testbed).await);
    stdout
}

#[tokio::test]
async fn meta_networks_passes_with_groups() {
    let meta = meta_setup().await;
    let stdout = passes(&meta.gateway, &meta.testbed, "meta", &[], 27).await;
    assert!(stdout.contains("  ok    PATCH remove members by value: only that member goes"));
}

#[tokio::test]
async fn meta_networks_scim_passes_through_the_proxy_hooks() {
    let meta = meta_scim_setup().await;
    passes(&meta.gateway, &meta.testbed, "meta-scim", &[], 27).await;
}

#[tokio::test]
async fn mediusflow_passes_with_its_manager() {
    let medius = mediusflow_setup().await;
    let stdout = passes(&medius.gateway, &medius.testbed, "mediusflow", &[], 29).await;
    assert!(stdout.contains("  ok    PATCH add the enterprise manager as a bare id"));
}

#[tokio::test]
async fn maptician_passes_users_only() {
    let maptician = maptician_setup().await;
    let stdout = passes(&maptician.gateway, &maptician.testbed, "maptician", &[], 17).await;
    assert!(!stdout.contains("\ngroups\n"), "{stdout}");
}

#[tokio::test]
async fn rhombus_passes_with_a_role_and_deletion_on_disable() {
    let rhombus = rhombus_setup(rhombus::Options::default()).await;
    let config = rhombus.gateway.config_path();
    // Rhombus needs a permission group for every user, named by its primary role.
    let output = adapter_test(&config, "rhombus", &["--deactivation", "delete"]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("  FAIL  POST /Users: 201") && stdout.contains("is required by Rhombus"),
        "{stdout}"
    );
    let args = ["--role", "Member", "--deactivation", "delete"];
    let stdout = passes(&rhombus.gateway, &rhombus.testbed, "rhombus", &args, 15).await;
    assert!(stdout.contains("  ok    PATCH active \"False\" (a string): the user is deleted"));
}

#[tokio::test]
async fn mx3_passes_for_one_organisation_of_a_shared_route() {
    let mx3 = mx3_setup().await;
    passes(&mx3.gateway, &mx3.testbed, "mx3-org-1", &[], 27).await;
}

/// Without `--write` only discovery and test connection run, through a gateway already
/// serving the tenant (`--url`), and the target is left as it was.
#[tokio::test]
async fn read_only_against_a_running_tenant_changes_nothing() {
    let meta = meta_setup().await;
    let directory = |state: Value| (state["users"].clone(), state["groups"].clone());
    let before = directory(meta.state().await);
    let read_only = |token: &str| {
        let mut command = scimitar(&["adapter", "test", "--url", &meta.scim]);
        command.env("SCIMITAR_TEST_TOKEN", token);
        run(command)
    };
    let output = read_only(&meta.token).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("5 passed, 0 failed, 0 skipped; read-only checks only: pass --write"),
        "{stdout}"
    );
    assert_eq!(directory(meta.state().await), before);

    // A wrong token fails the first check, and says why.
    let output = read_only("not-the-token").await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(
        stdout.contains("  FAIL  GET /ServiceProviderConfig") && stdout.contains("status 401"),
        "{stdout}"
    );
}

/// An adapter whose member removal drops every member (a bare `remove members` mistaken for
/// a value list) fails exactly the checks that show it, and the run still removes its objects.
#[tokio::test]
async fn a_broken_member_removal_fails_its_check_and_the_run_cleans_up() {
    let script = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(repo_path("adapters/meta-networks.rhai")).unwrap();
    let hook = "fn remove_members(id, ids) {";
    assert!(
        original.contains(hook),
        "the hook this test breaks has moved"
    );
    let broken = original.replace(
        hook,
        &format!("{hook}\n    ids = existing(group_path(id), \"group\", id).users;"),
    );
    let path = copy_bundled_adapter("meta-networks.rhai", script.path());
    std::fs::write(&path, broken).unwrap();
    let meta = meta_setup_adjusted(
        meta_networks::Options::default(),
        "",
        |spec| spec.script = path,
        "",
        "",
    )
    .await;
    let output = adapter_test(&meta.gateway.config_path(), "meta", &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("  FAIL  PATCH remove members by value: only that member goes"),
        "{stdout}"
    );
    assert!(stdout.contains("1 failed"), "{stdout}");
    assert_no_test_objects(&meta.state().await);
}

/// The `scimitar` binary with `args`, as a user runs it (no backtraces under errors).
fn scimitar(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scimitar"));
    command.args(args).env_remove("RUST_BACKTRACE");
    command
}

#[test]
fn a_new_skeleton_passes_check_and_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("adapters");
    let folder_arg = folder.to_str().unwrap();
    let new = scimitar(&["adapter", "new", "acme-hr", "--dir", folder_arg])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&new.stdout).into_owned();
    assert!(
        new.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&new.stderr)
    );
    let config = folder.join("acme-hr.toml");
    for file in ["acme-hr.rhai", "acme-hr.toml", "acme-hr-checklist.md"] {
        assert!(folder.join(file).is_file(), "{file} not written:\n{stdout}");
    }
    assert!(stdout.contains("ACME_HR_API_TOKEN=… scimitar adapter test --config"));
    let checklist = std::fs::read_to_string(folder.join("acme-hr-checklist.md")).unwrap();
    for decision in [
        "## 2. Matching",
        "## 3. Deactivation",
        "## 4. Group membership",
    ] {
        assert!(checklist.contains(decision), "{decision} missing");
    }

    // The config reads the application's token from the environment it names, and the
    // script compiles with every function it calls defined (by itself or the host).
    let check = scimitar(&["check", "--config", config.to_str().unwrap()])
        .env("ACME_HR_API_TOKEN", "not-a-real-token")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let without_token = scimitar(&["check", "--config", config.to_str().unwrap()])
        .env_remove("ACME_HR_API_TOKEN")
        .output()
        .unwrap();
    assert!(!without_token.status.success());
    assert!(String::from_utf8_lossy(&without_token.stderr).contains("ACME_HR_API_TOKEN"));

    // A second run refuses before writing anything, so an adapter in progress survives.
    std::fs::write(folder.join("acme-hr.rhai"), "// my work").unwrap();
    std::fs::remove_file(folder.join("acme-hr-checklist.md")).unwrap();
    let again = scimitar(&["adapter", "new", "acme-hr", "--dir", folder_arg])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    assert_eq!(
        std::fs::read_to_string(folder.join("acme-hr.rhai")).unwrap(),
        "// my work"
    );
    assert!(!folder.join("acme-hr-checklist.md").exists());

    let bad = scimitar(&["adapter", "new", "../escape", "--dir", folder_arg])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(!dir.path().join("escape.rhai").exists());
}

/// The README walk-through's adapter, for an API that answers every error with HTTP 200 in
/// an envelope, HTML-escapes its strings, keeps membership on the user and requires a
/// password: run as the walk-through says (its example config, the testbed's URL put in,
/// from the config's folder), it passes; and what it claims is what the application holds.
#[tokio::test]
async fn the_walk_through_adapter_passes_against_an_envelope_api() {
    let acme = acme_hr_setup().await;
    let folder = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(repo_path("adapters/acme-hr.toml")).unwrap();
    let config = example.replace(
        "base_url = \"http://127.0.0.1:7070/\"",
        &format!("base_url = \"{}/\"", acme.testbed.url),
    );
    assert_ne!(config, example, "the example's base_url moved");
    std::fs::write(folder.path().join("acme-hr.toml"), config).unwrap();
    std::fs::copy(
        repo_path("adapters/acme-hr.rhai"),
        folder.path().join("acme-hr.rhai"),
    )
    .unwrap();
    let mut command = scimitar(&["adapter", "test", "--config", "acme-hr.toml"]);
    command
        .args(["--tenant", "acme-hr", "--write"])
        .current_dir(folder.path())
        .env(
            "ACME_HR_API_TOKEN",
            acme.testbed.credentials["api_key"].as_str().unwrap(),
        );
    let stdout = assert_passes(&run(command).await, 27);
    assert!(stdout.contains("  ok    PATCH remove members by value: only that member goes"));
    assert!(stdout.contains("  ok    POST /Users with the same userName again: 409"));
    assert_no_test_objects(&acme.state().await);

    let (status, user) = acme
        .post(
            "/Users",
            entra_user("sean.obrien@example.com", "Seán", "O'Brien & Co", None),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(
        user["name"]["familyName"], "O'Brien & Co",
        "unescaped: {user}"
    );
    let (status, group) = acme
        .post(
            "/Groups",
            json!({ "displayName": "R&D", "members": [{ "value": user["id"] }] }),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let state = acme.state().await;
    let employee = &state["employees"][0];
    assert_eq!(employee["last_name"], "O'Brien & Co");
    assert_eq!(employee["has_password"], true, "{employee}");
    assert_eq!(employee["teams"], json!([group["id"]]), "{employee}");
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap());
    let disable = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "Replace", "path": "active", "value": "False" }]
    });
    let (status, disabled) = acme.patch(&user_path, disable).await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["active"], false, "{disabled}");
    assert_eq!(acme.state().await["employees"][0]["status"], "inactive");
    let (_, read) = acme
        .get(&format!("/Groups/{}", group["id"].as_str().unwrap()))
        .await;
    assert_eq!(read["displayName"], "R&D");
    assert_eq!(read["members"][0]["value"], user["id"], "{read}");
}

/// The kit keeps every bundled adapter small: at most 150 code lines (not blank, not a
/// comment), the bar a new application's adapter is held to.
#[test]
fn bundled_adapters_stay_within_150_code_lines() {
    let folder = repo_path("adapters");
    let mut counted = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rhai") {
            continue;
        }
        let code = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .count();
        assert!(code <= 150, "{} has {code} code lines", path.display());
        counted += 1;
    }
    assert!(
        counted >= 7,
        "only {counted} adapters found in {}",
        folder.display()
    );
}
