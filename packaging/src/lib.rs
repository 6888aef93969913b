//! No code: this crate carries the Debian package definition of rsplugins
//! (`[package.metadata.deb]` in its Cargo.toml) for cargo-deb. Build the
//! package with `cargo run -p xtask -- package`, which builds the plugins
//! with the `dist` profile, stages what the package ships under
//! `target/dist/rsplugins-deb/` and runs `cargo deb --no-build` on this crate.
