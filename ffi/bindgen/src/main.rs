//! `uniffi-bindgen`: generates the Kotlin, Swift and Python bindings of `gridsync-ffi` from
//! the built library (`ffi/build-bindings.sh` runs it). A crate of its own so the library's
//! uniffi dependency stays without the `cli` feature (clap, askama).

fn main() {
    uniffi::uniffi_bindgen_main()
}
