//! vk-test-utils (being built).
