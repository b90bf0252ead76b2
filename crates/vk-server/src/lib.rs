//! vk-server (being built).
