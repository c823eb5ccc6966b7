//! Pictures of the window's views as PNG files, for reports and slides.

use image::ImageEncoder;

/// `picture` encoded as an RGBA PNG.
pub fn png(picture: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let [width, height] = picture.size;
    let pixels: Vec<u8> = picture
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(
            &pixels,
            width as u32,
            height as u32,
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|e| format!("the picture could not be encoded: {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use egui::{Color32, ColorImage};

    #[test]
    fn a_picture_survives_the_round_trip() {
        let picture = ColorImage::new(
            [2, 1],
            vec![
                Color32::from_rgb(200, 10, 30),
                Color32::from_rgb(0, 90, 255),
            ],
        );
        let bytes = super::png(&picture).unwrap();
        let decoded = image::load_from_memory(&bytes).unwrap().to_rgba8();
        assert_eq!(decoded.dimensions(), (2, 1));
        assert_eq!(decoded.get_pixel(0, 0).0, [200, 10, 30, 255]);
        assert_eq!(decoded.get_pixel(1, 0).0, [0, 90, 255, 255]);
    }
}
