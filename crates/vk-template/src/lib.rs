//! vk-template (being built).
