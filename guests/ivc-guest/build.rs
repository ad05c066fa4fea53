//! Links with ivc-rt's linker script, which ivc-rt's build.rs writes for the selected platform and
//! puts on the link search path (link arguments of a dependency's build script do not reach the
//! binary, so this one passes them).

fn main() {
    println!("cargo:rustc-link-arg=-Tivc-rt.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
