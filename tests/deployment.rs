//! There is no Docker engine here, so the deployment file is checked by
//! reading it: every target is a service built from the one image, wired to
//! the broker and its own database, with health checks.

use serde_yaml::Value;

fn compose() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docker-compose.yml");
    let text = std::fs::read_to_string(path).expect("docker-compose.yml at the workspace root");
    let mut doc: Value = serde_yaml::from_str(&text).expect("docker-compose.yml is YAML");
    // Resolve `<<: *desk` the way Compose does.
    doc.apply_merge().expect("merge keys resolve");
    doc
}

fn env_of(service: &Value) -> Vec<String> {
    match &service["environment"] {
        Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    k.as_str().unwrap_or(""),
                    v.as_str().map_or_else(|| format!("{v:?}"), str::to_owned)
                )
            })
            .collect(),
        Value::Sequence(s) => s
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_target_is_deployed_and_wired() {
    let doc = compose();
    let services = doc["services"].as_mapping().expect("services");
    let names: Vec<&str> = services.keys().filter_map(Value::as_str).collect();
    for infra in ["rabbitmq", "postgres"] {
        assert!(names.contains(&infra), "{infra} is in the file: {names:?}");
        assert!(
            doc["services"][infra]["healthcheck"].is_mapping(),
            "{infra} has a health check"
        );
    }
    let mut databases = Vec::new();
    for target in ["edge", "ticketing", "escalation", "notification"] {
        let s = &doc["services"][target];
        assert!(s.is_mapping(), "target {target} is a service");
        assert_eq!(
            s["build"]["dockerfile"].as_str(),
            Some("ops/Dockerfile"),
            "{target} is built from the one image"
        );
        let command = format!("{:?}", s["command"]);
        assert!(
            command.contains(target),
            "{target} runs --target {target}: {command}"
        );
        let env = env_of(s);
        let get = |k: &str| {
            env.iter()
                .find_map(|e| e.strip_prefix(&format!("{k}=")))
                .map(str::to_owned)
        };
        let amqp = get("SERVICEDESK_AMQP_URL")
            .unwrap_or_else(|| panic!("{target} has a broker URL: {env:?}"));
        assert!(
            amqp.starts_with("amqp://") && amqp.contains("@rabbitmq:5672"),
            "{target} talks to the rabbitmq service: {amqp}"
        );
        let db = get("SERVICEDESK_DATABASE_URL")
            .unwrap_or_else(|| panic!("{target} has a database URL"));
        assert!(
            db.contains("@postgres:5432/"),
            "{target} talks to the postgres service: {db}"
        );
        databases.push(db);
        assert!(
            s["healthcheck"]["test"].is_sequence() || s["healthcheck"]["test"].is_string(),
            "{target} has a health check"
        );
        let deps = format!("{:?}", s["depends_on"]);
        assert!(
            deps.contains("rabbitmq") && deps.contains("postgres"),
            "{target} starts after the broker and database: {deps}"
        );
    }
    let distinct: std::collections::HashSet<&String> = databases.iter().collect();
    assert_eq!(
        distinct.len(),
        databases.len(),
        "each service has its own database"
    );
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../ops/Dockerfile"))
            .expect("ops/Dockerfile");
    assert!(
        dockerfile.contains("servicedesk"),
        "the image runs the servicedesk binary"
    );
}
