//! The agent's configuration file: the first byte picks HCL, JSON or the format guess
//! (`vk_agent_config::parse`), the rest is the file. Parsing and validation must return a value
//! or a typed error, never panic; an accepted configuration must also validate without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let loaded = match selector % 3 {
        0 => vk_agent_config::parse_hcl(text, "fuzz.hcl"),
        1 => vk_agent_config::parse_json(text, "fuzz.json"),
        _ => vk_agent_config::parse(text, "fuzz"),
    };
    if let Ok(loaded) = loaded {
        let _ = vk_agent_config::validate(&loaded.config, "fuzz");
    }
});
