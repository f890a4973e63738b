//! Generates the typed Grantex client from `openapi.yaml` into `OUT_DIR/codegen.rs`.
//! The generated code is never committed: changing the spec and rebuilding is the only way
//! it changes.
//!
//! The response schemas that need the server's quirks absorbed (metadata sent as a JSON
//! string, open value sets) are replaced by the crate's own models (`src/models.rs`), so a
//! response is decoded once, straight into the type that both the Rust API and the Python
//! bindings use.

use std::{env, fs, path::Path};

fn main() {
    let spec_path = "openapi.yaml";
    println!("cargo:rerun-if-changed={spec_path}");

    let text = fs::read_to_string(spec_path).expect("read openapi.yaml");
    let spec: openapiv3::OpenAPI = serde_norway::from_str(&text).expect("parse openapi.yaml");

    generate(
        &spec,
        "codegen.rs",
        &[
            ("Anomaly", "crate::models::Anomaly"),
            (
                "DetectAnomaliesResponse",
                "crate::models::DetectAnomaliesResponse",
            ),
            (
                "ListAnomaliesResponse",
                "crate::models::ListAnomaliesResponse",
            ),
            ("Alert", "crate::models::Alert"),
            ("AnomalyMetrics", "crate::models::AnomalyMetrics"),
            ("AnomalyRule", "crate::models::AnomalyRule"),
            ("NewAnomalyRule", "crate::models::NewAnomalyRule"),
            ("AlertChannel", "crate::models::AlertChannel"),
            ("NewAlertChannel", "crate::models::NewAlertChannel"),
            ("AlertList", "crate::models::AlertList"),
            ("RuleList", "crate::models::RuleList"),
            ("ChannelList", "crate::models::ChannelList"),
            ("ResponsePolicy", "crate::models::ResponsePolicy"),
        ],
    );
}

/// One client from the spec; `replace` maps schema names onto existing Rust types.
fn generate(spec: &openapiv3::OpenAPI, file: &str, replace: &[(&str, &str)]) {
    let mut settings = progenitor::GenerationSettings::default();
    settings.with_interface(progenitor::InterfaceStyle::Builder);
    // Every request goes through the crate's `exec` hook (`crate::transport::Hooks`): it adds
    // the key and the User-Agent, records the rate-limit headers, logs headers (redacted)
    // and caps the response body.
    settings.with_inner_type(tokens("crate::transport::Hooks"));
    settings.with_hooks(progenitor::HooksMode::Expected);
    for (schema, rust_type) in replace {
        settings.with_replacement(schema, rust_type, std::iter::empty());
    }
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(spec)
        .expect("generate the client from openapi.yaml");
    let ast = syn::parse2(tokens).expect("parse the generated client");
    let code = prettyplease::unparse(&ast);

    let out = Path::new(&env::var("OUT_DIR").unwrap()).join(file);
    fs::write(out, code).expect("write the generated client");
}

fn tokens(code: &str) -> proc_macro2::TokenStream {
    code.parse().expect("valid Rust tokens")
}
