//! Any bytes: parsing, validating and resolving a template must return a
//! value or an error, never panic or overflow the stack.
#![no_main]

use driftsync::template::resolve::{Inputs, resolve};
use driftsync::template::schema::SchemaFacts;
use driftsync::template::validate::check_template;
use driftsync::template::Template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(t) = Template::parse(text) else { return };
    let _ = check_template(&t, SchemaFacts::embedded());
    let mut inputs = Inputs::default();
    for (name, p) in &t.parameters {
        if p.default.is_none() {
            inputs.parameters.insert(name.clone(), "a".into());
        }
    }
    let _ = resolve(&t, &inputs);
});
