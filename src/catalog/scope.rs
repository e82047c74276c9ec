//! ARM scopes in captures: `/subscriptions/<id>/resourceGroups/<rg>/providers/<ns>/<type>/<name>`
//! split into `subscription_id`, `resource_group`, `resource` and `resource_type`, and the
//! scope itself trimmed to the resource that failed (a deployment object, whose name
//! carries a timestamp, is not where a role is granted: its resource group is).

use std::collections::BTreeMap;

/// The parts of a scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub scope: String,
    pub subscription_id: Option<String>,
    pub resource_group: Option<String>,
    pub resource_type: Option<String>,
    pub resource: Option<String>,
}

/// Parses the scope found in `text` (the first `/subscriptions/...` or
/// `/providers/Microsoft.Management/managementGroups/...` path in it).
pub fn parse(text: &str) -> Option<Scope> {
    let lower = text.to_ascii_lowercase();
    let start = lower
        .find("/subscriptions/")
        .or_else(|| lower.find("/providers/microsoft.management/managementgroups/"))?;
    let path: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !"'\"`,;()[]{}<>“”’‘".contains(*c))
        .collect();
    let path = path.trim_end_matches(['.', '/', ':']);
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut scope = Scope::default();
    let mut kept = 0; // segments of `parts` in the trimmed scope
    let mut i = 0;
    while i < parts.len() {
        let seg = parts[i].to_ascii_lowercase();
        match seg.as_str() {
            "subscriptions" if i + 1 < parts.len() && scope.subscription_id.is_none() => {
                scope.subscription_id = Some(parts[i + 1].to_owned());
                i += 2;
                kept = i;
            }
            "resourcegroups" if i + 1 < parts.len() && scope.resource_group.is_none() => {
                scope.resource_group = Some(parts[i + 1].to_owned());
                i += 2;
                kept = i;
            }
            "providers" if i + 3 < parts.len() => {
                let ns = parts[i + 1];
                let ty = parts[i + 2];
                if ns.eq_ignore_ascii_case("Microsoft.Resources")
                    && ty.eq_ignore_ascii_case("deployments")
                {
                    break; // the deployment: keep its resource group
                }
                if ns.eq_ignore_ascii_case("Microsoft.Authorization") {
                    break; // a role assignment or definition under the scope
                }
                scope.resource_type = Some(format!("{ns}/{ty}"));
                scope.resource = Some(parts[i + 3].to_owned());
                i += 4;
                kept = i;
                // Child resources (`.../vaults/kv/secrets/s`) belong to the same resource.
                while i + 1 < parts.len() && !parts[i].eq_ignore_ascii_case("providers") {
                    i += 2;
                }
                break;
            }
            _ if seg == "providers" && i == 0 => {
                // A management group: keep it whole.
                kept = parts.len().min(4);
                break;
            }
            _ => break,
        }
    }
    if kept == 0 {
        return None;
    }
    scope.scope = format!("/{}", parts[..kept].join("/"));
    Some(scope)
}

/// Adds the parts of a captured `scope` to `captures` (never replacing a value a rule
/// captured itself) and trims `scope` to the resource that failed.
pub fn fill(captures: &mut BTreeMap<String, String>) {
    let Some(scope) = captures.get("scope").and_then(|s| parse(s)) else {
        return;
    };
    captures.insert("scope".to_owned(), scope.scope);
    for (name, value) in [
        ("subscription_id", scope.subscription_id),
        ("resource_group", scope.resource_group),
        ("resource_type", scope.resource_type),
        ("resource", scope.resource),
    ] {
        if let Some(v) = value {
            captures.entry(name.to_owned()).or_insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "0f2b9d6e-1c3a-4e5f-8a7b-6c5d4e3f2a1b";

    #[test]
    fn a_resource_scope_is_split() {
        let s = parse(&format!(
            "'/subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Web/sites/app1'."
        ))
        .unwrap();
        assert_eq!(
            s.scope,
            format!(
                "/subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Web/sites/app1"
            )
        );
        assert_eq!(s.subscription_id.as_deref(), Some(SUB));
        assert_eq!(s.resource_group.as_deref(), Some("rg-web"));
        assert_eq!(s.resource_type.as_deref(), Some("Microsoft.Web/sites"));
        assert_eq!(s.resource.as_deref(), Some("app1"));
    }

    #[test]
    fn a_deployment_scope_is_trimmed_to_its_resource_group() {
        let s = parse(&format!("/subscriptions/{SUB}/resourcegroups/rg1/providers/Microsoft.Resources/deployments/main-20240501T100003")).unwrap();
        assert_eq!(s.scope, format!("/subscriptions/{SUB}/resourcegroups/rg1"));
        assert_eq!(s.resource, None);
        let s = parse(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/x-1"
        ))
        .unwrap();
        assert_eq!(s.scope, format!("/subscriptions/{SUB}"));
        assert_eq!(s.resource_group, None);
    }

    #[test]
    fn child_resources_and_role_assignments_keep_the_resource() {
        let s = parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/secrets/s1")).unwrap();
        assert_eq!(s.resource.as_deref(), Some("kv1"));
        let s = parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/abc")).unwrap();
        assert_eq!(s.scope, format!("/subscriptions/{SUB}/resourceGroups/rg"));
    }

    #[test]
    fn fill_adds_parts_without_replacing_captures() {
        let mut c = BTreeMap::new();
        c.insert(
            "scope".to_owned(),
            format!("/subscriptions/{SUB}/resourceGroups/rg"),
        );
        c.insert("subscription_id".to_owned(), "given".to_owned());
        fill(&mut c);
        assert_eq!(c["subscription_id"], "given");
        assert_eq!(c["resource_group"], "rg");
    }
}
