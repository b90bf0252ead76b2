//! The Go `flag` parser of `agent-inject` and `render`: NUL-separated arguments against the real
//! flag tables. Any result is fine but a panic; a successful parse must answer every flag.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vk_injector::config::{INJECT_FLAGS, RENDER_FLAGS, parse_go_flags};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<String> = text.split('\0').map(str::to_owned).collect();
    if let Ok(values) = parse_go_flags(&args, &[INJECT_FLAGS, RENDER_FLAGS]) {
        for flag in INJECT_FLAGS.iter().chain(RENDER_FLAGS) {
            let _ = values.get(flag.name);
        }
    }
});
