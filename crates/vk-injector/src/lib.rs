//! vk-injector (being built).
