//! The viewer's shader (`shaders/viewer.wgsl`, run by wgpu) draws the same pixels as
//! its CPU reference `Slice::shade`: every view of a scene with lesions, a WM region
//! and a crosshair, on a plain and on an sRGB target, and one screen pixel of
//! crosshair when magnified. Runs on any native adapter (lavapipe in CI); ignored by
//! default, as a fresh machine may have none.

use wmh::render::gpu::SliceRenderer;
use wmh::render::{Display, Scene, Slice, VIEWS};
use wmh::volume::index;

fn scene() -> Scene {
    let dims = [37, 29, 11];
    let n = dims.iter().product();
    let mut image = vec![0.0; n];
    let mut mask = vec![0; n];
    let mut region = vec![0; n];
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                let i = index(dims, x, y, z);
                // A smooth head with texture, so every grey level is exercised.
                image[i] = 100.0 + 3.0 * x as f32 - 2.0 * y as f32 + 7.0 * ((x * y + z) % 5) as f32;
                let (dx, dy, dz) = (x as f64 - 18.0, y as f64 - 14.0, (z as f64 - 5.0) * 3.0);
                region[i] = u8::from(dx * dx / 150.0 + dy * dy / 80.0 + dz * dz / 200.0 < 1.0);
                mask[i] = u8::from((dx - 4.0).powi(2) + dy * dy + dz * dz < 12.0);
            }
        }
    }
    Scene {
        dims,
        spacing: [0.9, 1.1, 5.0],
        image,
        mask,
        region: Some(region),
    }
}

fn display() -> Display {
    Display {
        level: 120.0,
        width: 90.0,
        opacity: 0.6,
        contour: true,
        ..Display::default()
    }
}

struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
}

/// A device on any native adapter; a missing one fails the (ignored) test.
fn gpu() -> Gpu {
    adapter_device()
        .expect("no wgpu adapter on this machine (install a Vulkan driver, e.g. lavapipe)")
}

fn adapter_device() -> Option<Gpu> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = pollster::block_on(instance.request_adapter(&Default::default())).ok()?;
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).ok()?;
    Some(Gpu { device, queue })
}

/// Renders `slice` with the shader into a `width` x `height` texture of `format`, read back as RGBA.
fn render(
    gpu: &Gpu,
    slice: &Slice,
    d: &Display,
    format: wgpu::TextureFormat,
    scale: usize,
) -> Vec<u8> {
    let (w, h) = (slice.width * scale, slice.height * scale);
    let renderer = SliceRenderer::new(&gpu.device, format);
    let target = renderer.view_target(&gpu.device, (slice.width, slice.height));
    renderer.upload(&gpu.queue, &target, slice);
    renderer.set_display(&gpu.queue, &target, d);
    let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: w as u32,
            height: h as u32,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let row_bytes = (w * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize);
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (row_bytes * h) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let view = texture.create_view(&Default::default());
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: None,
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        renderer.draw(&mut pass, &target, [0.0, 0.0, w as f32, h as f32]);
    }
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row_bytes as u32),
                rows_per_image: Some(h as u32),
            },
        },
        texture.size(),
    );
    gpu.queue.submit([encoder.finish()]);
    let slice_bytes = buffer.slice(..);
    slice_bytes.map_async(wgpu::MapMode::Read, |r| r.expect("map"));
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
    let mapped = slice_bytes.get_mapped_range().expect("mapped range");
    (0..h)
        .flat_map(|row| mapped[row * row_bytes..row * row_bytes + w * 4].to_vec())
        .collect()
}

/// Largest per-channel difference between two RGBA images.
fn worst(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
#[ignore = "needs a GPU adapter (a Vulkan driver such as lavapipe)"]
fn gpu_shader_matches_the_cpu_reference_in_every_view() {
    let (gpu, s, d) = (gpu(), scene(), display());
    for view in VIEWS {
        let slice = s.slice(view, [20, 13, 5]);
        assert!(
            slice.labels.iter().any(|&l| l & 1 != 0),
            "{view:?} shows a lesion"
        );
        let cpu = slice.shade(&d);
        for format in [
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureFormat::Rgba8UnormSrgb,
        ] {
            let gpu_px = render(&gpu, &slice, &d, format, 1);
            // 1 level of rounding; sRGB storage adds its own quantisation.
            let tolerance = if format.is_srgb() { 3 } else { 1 };
            let diff = worst(&cpu, &gpu_px);
            assert!(
                diff <= tolerance,
                "{view:?} on {format:?}: GPU and CPU differ by {diff} levels"
            );
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter (a Vulkan driver such as lavapipe)"]
fn magnified_crosshair_is_one_screen_pixel_wide_on_the_gpu() {
    let (gpu, s, d) = (gpu(), scene(), display());
    let scale = 4;
    let slice = s.slice(wmh::render::View::Axial, [20, 13, 5]);
    let (cx, cy) = slice.cursor;
    let plain = Slice {
        cursor: (usize::MAX, usize::MAX),
        ..slice.clone()
    }
    .shade(&d);
    let (w, h) = (slice.width * scale, slice.height * scale);
    let mut expected = Vec::with_capacity(w * h * 4);
    for py in 0..h {
        for px in 0..w {
            let o = ((py / scale) * slice.width + px / scale) * 4;
            let mut c = [0.0f32; 3];
            for k in 0..3 {
                c[k] = plain[o + k] as f32 / 255.0;
            }
            // The pixel holding the cursor texel's centre (2 of 0..4 at 4x).
            if px == cx * scale + scale / 2 || py == cy * scale + scale / 2 {
                c = wmh::render::crosshair(c);
            }
            expected.extend(c.map(|v| (v * 255.0).round() as u8));
            expected.push(255);
        }
    }
    let got = render(&gpu, &slice, &d, wgpu::TextureFormat::Rgba8Unorm, scale);
    let diff = worst(&expected, &got);
    assert!(diff <= 1, "magnified render differs by {diff} levels");
}
