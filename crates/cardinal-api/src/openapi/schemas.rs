//! The schemas of `components.schemas`: every one derived from the Rust type that serializes
//! an answer or reads a request (`#[derive(JsonSchema)]`), added as operations name those
//! types, so the document cannot drift from what is sent or read.

use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{Map, Value};

/// The generator the request bodies' schemas are added to as operations name them: read as
/// serde reads them (a field with a default is not required).
pub fn request_generator() -> SchemaGenerator {
    generator(SchemaSettings::draft2020_12().for_deserialize())
}

/// The generator the answers' schemas are added to as operations name them: as serde writes
/// them (a field skipped when empty is not required).
pub fn answer_generator() -> SchemaGenerator {
    generator(SchemaSettings::draft2020_12().for_serialize())
}

fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator()
}

/// Every schema the operations named, answers' and requests'. A name both use must mean the
/// same schema, or the document would say one thing twice.
pub fn all(mut requests: SchemaGenerator, mut answers: SchemaGenerator) -> Value {
    let mut schemas: Map<String, Value> = answers.take_definitions(true).into_iter().collect();
    for (name, schema) in requests.take_definitions(true) {
        if let Some(answer) = schemas.get(&name) {
            debug_assert_eq!(answer, &schema, "{name} is read and written differently");
        }
        schemas.insert(name, schema);
    }
    Value::Object(schemas)
}
