//! Prints the `agent-inject` flag table as Markdown (`cargo xtask docs flags` reads it).

fn main() {
    print!("{}", vk_injector::config::flags_markdown_table());
}
