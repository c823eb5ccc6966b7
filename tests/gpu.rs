//! The GPU device: found and opened on whatever adapter the machine has (Mesa's lavapipe in CI).
//! With `NETLOOM_REQUIRE_GPU=1` (as CI sets it) a missing adapter fails the test instead of
//! skipping it.

use netloom::engine::gpu;

fn required() -> bool {
    std::env::var("NETLOOM_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

#[test]
fn a_device_opens_with_the_adapters_own_limits() {
    let gpu = match gpu::open(true) {
        Ok(gpu) => gpu,
        Err(e) if !required() => {
            eprintln!("no GPU here, nothing to check: {e}");
            return;
        }
        Err(e) => panic!("NETLOOM_REQUIRE_GPU=1 but {e}"),
    };
    assert!(!gpu.info.name.is_empty());
    let defaults = wgpu::Limits::default();
    assert!(
        gpu.device.limits().max_storage_buffer_binding_size
            >= defaults.max_storage_buffer_binding_size
    );
    assert_eq!(
        gpu.device.limits().max_buffer_size,
        gpu.limits.max_buffer_size
    );
    let listed = gpu::list_adapters();
    assert!(listed.iter().any(|a| a.name == gpu.info.name), "{listed:?}");
}
