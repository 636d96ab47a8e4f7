//! The attributes the gateway keeps for a target that cannot store them
//! (`[tenants.keep]`, `crate::tenant::KeptAttributes`): every create and replace stores what
//! the request says of them, a PATCH what its operations leave, a delete forgets them; every
//! resource answered carries the gateway's values of them (the target has none, so what the
//! adapter says of them is not kept); and a filter whose equality names one is answered from
//! the store, each id it names read from the target and checked against the whole filter.
//!
//! A write that reached the target but whose kept values the store could not take is a 503:
//! Entra retries it, and the retry stores them.

use super::resources::Resources;
use crate::failure::Failure;
use crate::store::{KeptValue, StoreError};
use crate::tenant::KeyedAttribute;
use scimitar_scim::filter::AttrPath;
use scimitar_scim::list::ListQuery;
use scimitar_scim::patch::{apply_patch, PatchOp};
use serde_json::{json, Value};

fn unavailable(error: StoreError) -> Failure {
    tracing::error!(%error, "the store could not read or write the attributes the gateway keeps");
    Failure::store_down()
}

impl Resources<'_> {
    fn kept_attributes(&self) -> &[KeyedAttribute] {
        self.call.tenant.keep.of(self.kind)
    }

    /// What `resource` (a request's) says of the kept attributes.
    pub(super) fn kept_in(&self, resource: &Value) -> Vec<KeptValue> {
        self.kept_attributes()
            .iter()
            .filter_map(|attribute| {
                let value = attribute
                    .values(resource)
                    .into_iter()
                    .find(|v| !v.is_null())?;
                Some(KeptValue {
                    attribute: attribute.name.clone(),
                    key: value.as_str().map(|text| attribute.key(text)),
                    value,
                })
            })
            .collect()
    }

    /// What the kept attributes of `id` are once `ops` are applied: the current values with
    /// the operations applied to them (`None` when the tenant keeps nothing of this kind).
    pub(super) async fn kept_after(
        &self,
        id: &str,
        ops: &[PatchOp],
    ) -> Result<Option<Vec<KeptValue>>, Failure> {
        if self.kept_attributes().is_empty() {
            return Ok(None);
        }
        let mut current = json!({ "id": id });
        self.put_kept(std::slice::from_mut(&mut current)).await?;
        for op in ops {
            // Operations on attributes that are not kept may not apply to this object of
            // the kept ones alone; only what they leave of the kept ones is read.
            let _ = apply_patch(&mut current, std::slice::from_ref(op));
        }
        Ok(Some(self.kept_in(&current)))
    }

    /// Stores `values` as what the gateway keeps of `id` (replacing what it kept), and
    /// writes them into `answer`, the resource answered for the write (no read back).
    pub(super) async fn keep(
        &self,
        id: &str,
        values: &[KeptValue],
        answer: Option<&mut Value>,
    ) -> Result<(), Failure> {
        if self.kept_attributes().is_empty() {
            return Ok(());
        }
        self.call
            .gateway
            .store
            .kept_put(&self.call.tenant.name, self.kind.name(), id, values)
            .await
            .map_err(unavailable)?;
        if let Some(answer) = answer {
            self.set_kept(answer, |name| {
                values
                    .iter()
                    .find(|v| v.attribute == name)
                    .map(|v| v.value.clone())
            });
        }
        Ok(())
    }

    /// Writes each kept attribute of `resource` from `value_of(its name)`, leaving out one
    /// without a value.
    fn set_kept(&self, resource: &mut Value, mut value_of: impl FnMut(&str) -> Option<Value>) {
        for attribute in self.kept_attributes() {
            set_at(resource, &attribute.path, value_of(&attribute.name));
        }
    }

    /// Forgets what the gateway kept of a resource the target no longer has. Best effort:
    /// rows left behind are never answered (a lookup reads the resource from the target).
    pub(super) async fn forget_kept(&self, id: &str) {
        if let Err(error) = self.keep(id, &[], None).await {
            tracing::warn!(tenant = %self.call.tenant.name, id, detail = %error.error().detail, "the kept attributes of a deleted resource stay in the store");
        }
    }

    /// Puts the gateway's values of the kept attributes into `resources` (as the adapter
    /// answered them, shaped), in one store read; a kept attribute the gateway has no
    /// value of is left out.
    pub(super) async fn put_kept(&self, resources: &mut [Value]) -> Result<(), Failure> {
        let attributes = self.kept_attributes();
        if attributes.is_empty() || resources.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = resources.iter().filter_map(|r| r["id"].as_str()).collect();
        let mut kept = self
            .call
            .gateway
            .store
            .kept_get(&self.call.tenant.name, self.kind.name(), &ids)
            .await
            .map_err(unavailable)?;
        for resource in resources {
            let mut values = resource["id"]
                .as_str()
                .and_then(|id| kept.remove(id))
                .unwrap_or_default();
            self.set_kept(resource, |name| {
                values
                    .iter()
                    .position(|(attribute, _)| attribute == name)
                    .map(|at| values.swap_remove(at).1)
            });
        }
        Ok(())
    }

    /// Every resource matching a filter whose equality names a kept attribute, found
    /// through the store; `None`: the filter is not the store's to answer.
    pub(super) async fn list_from_kept(
        &self,
        query: &ListQuery,
    ) -> Result<Option<Vec<Value>>, Failure> {
        let Some(filter) = query.filter.as_ref() else {
            return Ok(None);
        };
        let Some((attribute, key)) = KeyedAttribute::lookup_key(self.kept_attributes(), filter)
        else {
            return Ok(None);
        };
        let ids = self
            .call
            .gateway
            .store
            .kept_find(&self.call.tenant.name, self.kind.name(), attribute, &key)
            .await
            .map_err(unavailable)?;
        let mut matching = Vec::new();
        for id in ids {
            match self.fetch_if_exists(&id).await? {
                Some(resource) if filter.matches(&resource) => matching.push(resource),
                Some(_) => {}
                None => self.forget_kept(&id).await,
            }
        }
        Ok(Some(matching))
    }
}

/// Writes `value` at a kept attribute's `path` of `resource` (`None` removes it).
fn set_at(resource: &mut Value, path: &AttrPath, value: Option<Value>) {
    let Some(mut object) = resource.as_object_mut() else {
        return;
    };
    if let Some(urn) = &path.urn {
        if value.is_none() && !object.contains_key(urn) {
            return;
        }
        let extension = object.entry(urn.clone()).or_insert_with(|| json!({}));
        let Some(extension) = extension.as_object_mut() else {
            return;
        };
        object = extension;
    }
    let (key, object) = match &path.sub_attr {
        None => (&path.attr, object),
        Some(sub) => {
            if value.is_none() && !object.contains_key(&path.attr) {
                return;
            }
            let parent = object.entry(path.attr.clone()).or_insert_with(|| json!({}));
            let Some(parent) = parent.as_object_mut() else {
                return;
            };
            (sub, parent)
        }
    };
    // The attribute as the adapter spelt it, in any case, gives way to the gateway's.
    object.retain(|k, _| !k.eq_ignore_ascii_case(key));
    if let Some(value) = value {
        object.insert(key.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_go_at_their_paths_and_replace_the_adapters() {
        let mut user =
            json!({ "id": "1", "externalid": "adapter's", "name": { "givenName": "A" } });
        set_at(
            &mut user,
            &AttrPath::parse("externalId").unwrap(),
            Some(json!("E1")),
        );
        set_at(
            &mut user,
            &AttrPath::parse("name.middleName").unwrap(),
            Some(json!("M")),
        );
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let number = AttrPath::parse(&format!("{enterprise}:employeeNumber")).unwrap();
        set_at(&mut user, &number, Some(json!("42")));
        assert_eq!(
            user,
            json!({
                "id": "1", "externalId": "E1", "name": { "givenName": "A", "middleName": "M" },
                enterprise: { "employeeNumber": "42" },
            })
        );
        set_at(&mut user, &AttrPath::parse("externalId").unwrap(), None);
        set_at(&mut user, &AttrPath::parse("nickName.x").unwrap(), None);
        assert!(
            user.get("externalId").is_none() && user.get("nickName").is_none(),
            "{user}"
        );
    }
}
