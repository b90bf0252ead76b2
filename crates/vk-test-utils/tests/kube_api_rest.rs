//! The test Kubernetes API driven by a small Rust client (the crate's blocking HTTPS client
//! plus k8s-openapi types): REST verbs, Status errors, list and watch semantics, limits.

use std::time::Duration;

use k8s_openapi::List;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use serde_json::{Value, json};
use vk_test_utils::KubeApi;
use vk_test_utils::http::{Response, request};

struct Client<'a> {
    kube: &'a KubeApi,
    token: String,
}

impl<'a> Client<'a> {
    fn admin(kube: &'a KubeApi) -> Self {
        Self {
            kube,
            token: kube.admin_token().to_string(),
        }
    }

    fn call(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Response {
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![
            ("Authorization", auth.as_str()),
            ("Accept", "application/json"),
        ];
        if !content_type.is_empty() {
            headers.push(("Content-Type", content_type));
        }
        request(
            method,
            &format!("{}{path}", self.kube.url()),
            Some(self.kube.ca_pem()),
            &headers,
            body,
        )
        .unwrap()
    }

    fn get(&self, path: &str) -> Response {
        self.call("GET", path, "", &[])
    }

    fn send(&self, method: &str, path: &str, content_type: &str, body: &Value) -> Response {
        self.call(
            method,
            path,
            content_type,
            &serde_json::to_vec(body).unwrap(),
        )
    }

    /// The events of a watch that ends after its `timeoutSeconds`.
    fn watch(&self, path_and_query: &str) -> Vec<Value> {
        let r = self.get(path_and_query);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
        r.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

const SECRETS: &str = "/api/v1/namespaces/ns/secrets";

fn status_of(r: &Response) -> Status {
    serde_json::from_slice(&r.body).unwrap()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[test]
fn rest_verbs_answer_like_the_api_server() {
    let kube = KubeApi::start().unwrap();
    let c = Client::admin(&kube);
    let body = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a", "labels": {"app": "x"}}, "stringData": {"k": "v"}});
    let r = c.send("POST", SECRETS, "application/json", &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let created: Secret = serde_json::from_slice(&r.body).unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("ns"));
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    assert_eq!(meta.generation, Some(1));
    let rv1 = meta.resource_version.clone().unwrap();
    assert_eq!(created.data.unwrap()["k"].0, b"v");

    // 409 AlreadyExists, with the API server's Status fields.
    let r = c.send("POST", SECRETS, "application/json", &body);
    assert_eq!(r.status, 409);
    let s = status_of(&r);
    assert_eq!(s.reason.as_deref(), Some("AlreadyExists"));
    assert_eq!(s.status.as_deref(), Some("Failure"));
    assert_eq!(s.code, Some(409));
    assert_eq!(s.message.as_deref(), Some(r#"secrets "a" already exists"#));
    let d = s.details.unwrap();
    assert_eq!(
        (d.name.as_deref(), d.kind.as_deref()),
        (Some("a"), Some("secrets"))
    );
    assert_eq!(r.json().unwrap()["kind"], "Status");
    assert_eq!(r.json().unwrap()["apiVersion"], "v1");

    // 404 NotFound for an object; for a group resource the group is named.
    let r = c.get(&format!("{SECRETS}/missing"));
    assert_eq!(r.status, 404);
    assert_eq!(
        status_of(&r).message.as_deref(),
        Some(r#"secrets "missing" not found"#)
    );
    let r = c.get("/apis/coordination.k8s.io/v1/namespaces/ns/leases/l");
    let s = status_of(&r);
    assert_eq!(
        s.message.as_deref(),
        Some(r#"leases.coordination.k8s.io "l" not found"#)
    );
    assert_eq!(
        s.details.unwrap().group.as_deref(),
        Some("coordination.k8s.io")
    );

    // PUT with the current resourceVersion, then with the stale one (Conflict), then without
    // one (unconditional).
    let mut update = r#try(&c.get(&format!("{SECRETS}/a")));
    update["data"]["k"] = json!("dzI=");
    let r = c.send("PUT", &format!("{SECRETS}/a"), "application/json", &update);
    assert_eq!(r.status, 200, "{}", r.text());
    let rv2 = r.json().unwrap()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(rv2.parse::<u64>().unwrap() > rv1.parse::<u64>().unwrap());
    let r = c.send("PUT", &format!("{SECRETS}/a"), "application/json", &update);
    assert_eq!(r.status, 409);
    let s = status_of(&r);
    assert_eq!(s.reason.as_deref(), Some("Conflict"));
    assert_eq!(
        s.message.as_deref(),
        Some(
            r#"Operation cannot be fulfilled on secrets "a": the object has been modified; please apply your changes to the latest version and try again"#
        )
    );
    update["metadata"]["resourceVersion"].take();
    update["data"]["k"] = json!("dzM=");
    let r = c.send("PUT", &format!("{SECRETS}/a"), "application/json", &update);
    assert_eq!(r.status, 200, "{}", r.text());
    // PUT of a missing object: 404.
    let r = c.send(
        "PUT",
        &format!("{SECRETS}/nope"),
        "application/json",
        &json!({"metadata": {"name": "nope"}}),
    );
    assert_eq!(r.status, 404);

    // PATCH: a merge patch carrying a stale resourceVersion is a conflict too.
    let r = c.send(
        "PATCH",
        &format!("{SECRETS}/a"),
        "application/merge-patch+json",
        &json!({"metadata": {"resourceVersion": rv1}, "data": {"k": "eA=="}}),
    );
    assert_eq!(r.status, 409);
    let r = c.send("PATCH", &format!("{SECRETS}/a"), "text/plain", &json!({}));
    assert_eq!(r.status, 415);
    let r = c.send(
        "PATCH",
        &format!("{SECRETS}/missing"),
        "application/merge-patch+json",
        &json!({}),
    );
    assert_eq!(r.status, 404);
    // Server-side apply needs a fieldManager, and creates.
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}});
    let path = "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l";
    let r = c.send("PATCH", path, "application/apply-patch+yaml", &lease);
    assert_eq!(r.status, 400);
    let r = c.send(
        "PATCH",
        &format!("{path}?fieldManager=test"),
        "application/apply-patch+yaml",
        &lease,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let got: Lease = serde_json::from_slice(&c.get(path).body).unwrap();
    assert_eq!(got.spec.unwrap().holder_identity.as_deref(), Some("me"));

    // generateName.
    let r = c.send(
        "POST",
        SECRETS,
        "application/json",
        &json!({"metadata": {"generateName": "gen-"}}),
    );
    assert_eq!(r.status, 201);
    let generated = r.json().unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        generated.starts_with("gen-") && generated.len() == 9,
        "{generated}"
    );

    // LIST: kind SecretList, resourceVersion, selectors.
    let r = c.get(&format!("{SECRETS}?labelSelector=app%3Dx"));
    let list: List<Secret> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.resource_version.is_some());
    assert_eq!(r.json().unwrap()["kind"], "SecretList");
    let r = c.get(&format!(
        "{SECRETS}?fieldSelector=metadata.name%3D{generated}"
    ));
    assert_eq!(
        serde_json::from_slice::<List<Secret>>(&r.body)
            .unwrap()
            .items
            .len(),
        1
    );
    // Across namespaces.
    c.send(
        "POST",
        "/api/v1/namespaces/other/secrets",
        "application/json",
        &json!({"metadata": {"name": "a"}}),
    );
    let all: List<Secret> = serde_json::from_slice(&c.get("/api/v1/secrets").body).unwrap();
    assert_eq!(all.items.len(), 3);
    let r = c.get(&format!("{SECRETS}?labelSelector=app+in+(x,y)"));
    assert_eq!(r.status, 400);
    let r = c.get(&format!("{SECRETS}?fieldSelector=spec.x%3Dy"));
    assert_eq!(r.status, 400);

    // DELETE answers a Success Status; the object is gone.
    let r = c.call("DELETE", &format!("{SECRETS}/a"), "", &[]);
    assert_eq!(r.status, 200);
    let s = status_of(&r);
    assert_eq!(s.status.as_deref(), Some("Success"));
    assert_eq!(s.details.unwrap().uid, created.metadata.uid);
    assert_eq!(c.get(&format!("{SECRETS}/a")).status, 404);
    assert_eq!(
        c.call("DELETE", &format!("{SECRETS}/a"), "", &[]).status,
        404
    );
    // A verb the resource path does not take.
    assert_eq!(
        c.call("POST", &format!("{SECRETS}/a"), "application/json", b"{}")
            .status,
        405
    );

    // Direct store access agrees.
    assert!(
        kube.get_object("coordination.k8s.io/v1", "Lease", Some("ns"), "l")
            .is_some()
    );
    assert!(kube.delete_object("coordination.k8s.io/v1", "Lease", Some("ns"), "l"));
    assert!(!kube.delete_object("coordination.k8s.io/v1", "Lease", Some("ns"), "l"));
    assert!(
        kube.create_object(json!({"apiVersion": "v9", "kind": "Nope"}))
            .is_err()
    );
}

fn r#try(r: &Response) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().unwrap()
}

#[test]
fn authentication_size_limit_and_rbac() {
    let kube = KubeApi::start().unwrap();
    // No token: 401 Status; /version needs none.
    let r = request(
        "GET",
        &format!("{}{SECRETS}", kube.url()),
        Some(kube.ca_pem()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.json().unwrap()["reason"], "Unauthorized");
    let r = request(
        "GET",
        &format!("{}/version", kube.url()),
        Some(kube.ca_pem()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(r.json().unwrap()["major"], "1");

    // A service account's token works, and names the user in the request log.
    let sa = Client {
        kube: &kube,
        token: kube
            .mint("ns", "injector", Duration::from_secs(600))
            .unwrap(),
    };
    assert_eq!(sa.get(SECRETS).status, 200);
    let last = kube.requests().pop().unwrap();
    assert_eq!(
        last.user.as_deref(),
        Some("system:serviceaccount:ns:injector")
    );
    assert_eq!(
        (last.method.as_str(), last.path.as_str(), last.status),
        ("GET", SECRETS, 200)
    );
    // A token of another key is not accepted.
    let foreign = Client {
        kube: &kube,
        token: kube
            .mint_foreign("ns", "injector", Duration::from_secs(600))
            .unwrap(),
    };
    assert_eq!(foreign.get(SECRETS).status, 401);

    // Bodies above 3 MiB: 413.
    let big = vec![b' '; 3 * 1024 * 1024 + 1];
    let r = sa.call("POST", SECRETS, "application/json", &big);
    assert_eq!(r.status, 413);
    assert_eq!(r.json().unwrap()["reason"], "RequestEntityTooLarge");

    // RBAC denial for a verb on a resource, with the authorizer's message.
    kube.forbid("watch", "secrets");
    let r = sa.get(&format!("{SECRETS}?watch=1"));
    assert_eq!(r.status, 403);
    let s = status_of(&r);
    assert_eq!(
        s.message.as_deref(),
        Some(
            r#"secrets is forbidden: User "system:serviceaccount:ns:injector" cannot watch resource "secrets" in API group "" in the namespace "ns""#
        )
    );
    assert_eq!(s.reason.as_deref(), Some("Forbidden"));
    kube.forbid("update", "mutatingwebhookconfigurations");
    let r = sa.send(
        "PUT",
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/cfg",
        "application/json",
        &json!({}),
    );
    assert_eq!(
        status_of(&r).message.as_deref(),
        Some(
            r#"mutatingwebhookconfigurations.admissionregistration.k8s.io "cfg" is forbidden: User "system:serviceaccount:ns:injector" cannot update resource "mutatingwebhookconfigurations" in API group "admissionregistration.k8s.io" at the cluster scope"#
        )
    );
    assert_eq!(sa.get(SECRETS).status, 200);
    kube.allow_all();
    assert_eq!(
        sa.get(&format!("{SECRETS}?watch=1&timeoutSeconds=0"))
            .status,
        200
    );
}

#[test]
fn discovery_documents() {
    let kube = KubeApi::start().unwrap();
    let c = Client::admin(&kube);
    let core = r#try(&c.get("/api/v1"));
    assert_eq!(core["kind"], "APIResourceList");
    let names: Vec<&str> = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for n in ["secrets", "configmaps", "pods", "namespaces"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let groups = r#try(&c.get("/apis"));
    let group_names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        group_names.contains(&"coordination.k8s.io")
            && group_names.contains(&"admissionregistration.k8s.io")
    );
    let adm = r#try(&c.get("/apis/admissionregistration.k8s.io/v1"));
    assert_eq!(adm["resources"][0]["name"], "mutatingwebhookconfigurations");
    assert_eq!(adm["resources"][0]["namespaced"], false);
    assert_eq!(r#try(&c.get("/api"))["versions"], json!(["v1"]));
    assert_eq!(c.get("/openapi/v2").status, 404);
    assert_eq!(c.get("/apis/nope.example.com/v1").status, 404);
}

#[test]
fn watch_replays_history_streams_changes_and_expires() {
    let kube = KubeApi::start().unwrap();
    let c = Client::admin(&kube);
    c.send(
        "POST",
        SECRETS,
        "application/json",
        &json!({"metadata": {"name": "a", "labels": {"app": "x"}}}),
    );
    let after_a = kube.resource_version();
    c.send(
        "POST",
        SECRETS,
        "application/json",
        &json!({"metadata": {"name": "b"}}),
    );
    c.send(
        "PATCH",
        &format!("{SECRETS}/a"),
        "application/merge-patch+json",
        &json!({"data": {"k": "dg=="}}),
    );
    c.call("DELETE", &format!("{SECRETS}/b"), "", &[]);
    // Another namespace and another type do not show.
    c.send(
        "POST",
        "/api/v1/namespaces/other/secrets",
        "application/json",
        &json!({"metadata": {"name": "z"}}),
    );
    c.send(
        "POST",
        "/api/v1/namespaces/ns/configmaps",
        "application/json",
        &json!({"metadata": {"name": "z"}}),
    );

    // From a resourceVersion: the history after it, then a bookmark at the timeout.
    let ev = c.watch(&format!(
        "{SECRETS}?watch=true&resourceVersion={after_a}&timeoutSeconds=1&allowWatchBookmarks=true"
    ));
    assert_eq!(
        types(&ev),
        ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"],
        "{ev:#?}"
    );
    assert_eq!(ev[0]["object"]["metadata"]["name"], "b");
    assert_eq!(ev[1]["object"]["data"]["k"], "dg==");
    assert_eq!(ev[3]["object"]["kind"], "Secret");
    assert_eq!(
        ev[3]["object"]["metadata"]["resourceVersion"],
        kube.resource_version().to_string()
    );
    // Without one: the current state as ADDED events; no bookmark unless asked.
    let ev = c.watch(&format!("{SECRETS}?watch=1&timeoutSeconds=1"));
    assert_eq!(types(&ev), ["ADDED"]);
    assert_eq!(ev[0]["object"]["metadata"]["name"], "a");
    // A label selector filters.
    let ev = c.watch(&format!(
        "{SECRETS}?watch=1&resourceVersion=0&timeoutSeconds=1&labelSelector=app%3Dnone"
    ));
    assert!(ev.is_empty());
    // sendInitialEvents ends the initial events with an annotated bookmark.
    let ev = c.watch(&format!("{SECRETS}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1"));
    assert_eq!(types(&ev)[..2], ["ADDED", "BOOKMARK"]);
    assert_eq!(
        ev[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );

    // A change made while the watch is open arrives on it.
    let rv = kube.resource_version();
    let writer = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            c.watch(&format!(
                "{SECRETS}?watch=1&resourceVersion={rv}&timeoutSeconds=3"
            ))
        });
        vk_test_utils::eventually(Duration::from_secs(10), || {
            kube.requests().iter().any(|r| {
                r.query
                    .as_deref()
                    .is_some_and(|q| q.contains("timeoutSeconds=3"))
            })
        })
        .unwrap();
        kube.create_object(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "live", "namespace": "ns"}}))
            .unwrap();
        watcher.join().unwrap()
    });
    assert_eq!(types(&writer), ["ADDED"]);
    assert_eq!(writer[0]["object"]["metadata"]["name"], "live");

    // After a compaction, an old resourceVersion gets an ERROR event with a 410 Status, and
    // an open watch ends with one.
    let rv = kube.resource_version();
    let open = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            c.watch(&format!(
                "{SECRETS}?watch=1&resourceVersion={rv}&timeoutSeconds=20"
            ))
        });
        vk_test_utils::eventually(Duration::from_secs(10), || {
            kube.requests().iter().any(|r| {
                r.query
                    .as_deref()
                    .is_some_and(|q| q.contains("timeoutSeconds=20"))
            })
        })
        .unwrap();
        kube.compact();
        watcher.join().unwrap()
    });
    assert_eq!(types(&open), ["ERROR"]);
    assert_eq!(open[0]["object"]["code"], 410);
    let ev = c.watch(&format!(
        "{SECRETS}?watch=1&resourceVersion={after_a}&timeoutSeconds=5"
    ));
    assert_eq!(types(&ev), ["ERROR"]);
    let s: Status = serde_json::from_value(ev[0]["object"].clone()).unwrap();
    assert_eq!(s.code, Some(410));
    assert_eq!(s.reason.as_deref(), Some("Expired"));
    assert!(
        s.message
            .unwrap()
            .starts_with(&format!("too old resource version: {after_a} ("))
    );
    // The current resourceVersion still works.
    let ev = c.watch(&format!(
        "{SECRETS}?watch=1&resourceVersion={}&timeoutSeconds=1",
        kube.resource_version()
    ));
    assert!(ev.is_empty());
}
