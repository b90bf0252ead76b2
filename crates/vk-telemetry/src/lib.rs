//! vk-telemetry (being built).
