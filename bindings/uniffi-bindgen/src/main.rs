//! The workspace's `uniffi-bindgen`: generates the Kotlin and Swift bindings of `veil-ffi` with
//! exactly the UniFFI version the library links (pinned once in the workspace `Cargo.toml`).
//!
//! ```sh
//! cargo build -p veil-ffi
//! cargo run -p uniffi-bindgen -- generate --library target/debug/libveil_ffi.so \
//!     --language kotlin --out-dir build/generated
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
