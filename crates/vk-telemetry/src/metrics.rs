//! Prometheus text exposition of a registry that the caller owns.

use prometheus::{Encoder, Registry, TextEncoder};

/// The `Content-Type` of the text exposition format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Encoding the registry failed.
#[derive(Debug, thiserror::Error)]
#[error("encoding metrics in the text exposition format")]
pub struct EncodeError(#[source] prometheus::Error);

/// Gather `registry` and render it in the text exposition format.
pub fn encode_text(registry: &Registry) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut out)
        .map_err(EncodeError)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_registered_series() {
        let registry = Registry::new();
        let counter =
            prometheus::IntCounter::new("demo_total", "A demo counter").expect("valid metric");
        registry
            .register(Box::new(counter.clone()))
            .expect("register");
        counter.inc_by(3);
        let text = String::from_utf8(encode_text(&registry).expect("encode")).expect("utf-8");
        assert!(
            text.contains("# HELP demo_total A demo counter\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE demo_total counter\n"), "{text}");
        assert!(text.contains("demo_total 3\n"), "{text}");
    }
}
