"""Intake's cleaning of attachments (services/intake/cleaning.py) on the cases the HTTP tests leave out: animations
keep their frames, lossless stays lossless, the colour profile stays, a JPEG keeps its quality, password-protected
PDFs, pixel limits counted over frames, and the per-file refusals."""
import io
from datetime import datetime, timezone

import pytest
from cryptography.fernet import Fernet
from PIL import Image, ImageCms
from pypdf import PdfReader, PdfWriter

from services.common.errors import TooLarge, ValidationFailed
from services.intake import cleaning
from services.intake.attachment_rpc import attachment_view
from services.intake.attachments import FILE_TYPES
from tests.security import tagged_files as tagged
from tests.support import samples

JPEG, PNG, WEBP, PDF = (FILE_TYPES[t] for t in ("image/jpeg", "image/png", "image/webp", "application/pdf"))


def saved(image, file_format, **options):
    out = io.BytesIO()
    image.save(out, file_format, **options)
    return out.getvalue()


def frames_of(content):
    """[(the first pixel's colour, the duration)] of each frame."""
    image, frames = Image.open(io.BytesIO(content)), []
    for index in range(image.n_frames):
        image.seek(index)
        image.load()
        frames.append((image.convert("RGB").getpixel((0, 0)), image.info["duration"]))
    return frames


@pytest.mark.parametrize("file_format, file_type, options", [("PNG", PNG, {}), ("WEBP", WEBP, {"lossless": True})])
def test_an_animation_keeps_every_frame_and_its_timing(file_format, file_type, options):
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]
    frames = [Image.new("RGB", (8, 8), colour) for colour in colours]
    content = saved(frames[0], file_format, save_all=True, append_images=frames[1:], duration=[100, 200, 300],
                    loop=0, exif=tagged.camera_exif(orientation=1), **options)

    cleaned = cleaning.clean(content, file_type).content

    assert tagged.leftovers(cleaned) == []
    assert frames_of(cleaned) == list(zip(colours, [100, 200, 300]))


def test_a_lossless_webp_stays_lossless_and_a_lossy_one_lossy():
    picture = tagged.opened(tagged.png())
    lossless = cleaning.clean(saved(picture, "WEBP", lossless=True, exif=tagged.camera_exif()), WEBP).content
    lossy = cleaning.clean(saved(picture, "WEBP", quality=80, exif=tagged.camera_exif()), WEBP).content
    assert "VP8L" in tagged.webp_chunk_types(lossless) and "VP8 " in tagged.webp_chunk_types(lossy)
    assert list(tagged.opened(lossless).getdata()) == list(picture.rotate(-90, expand=True).getdata())


def test_the_colour_profile_is_kept_and_a_jpeg_keeps_its_quality_tables():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = saved(tagged.opened(tagged.jpeg()), "JPEG", quality=60, icc_profile=profile, exif=tagged.camera_exif())

    cleaned = tagged.opened(cleaning.clean(original, JPEG).content)

    assert cleaned.info.get("icc_profile") == profile
    assert cleaned.quantization == tagged.opened(original).quantization


def test_a_cmyk_jpeg_and_a_grey_png_with_transparency_come_back_as_they_were():
    cmyk = cleaning.clean(saved(Image.new("CMYK", (4, 2), (0, 200, 200, 0)), "JPEG", exif=tagged.camera_exif()), JPEG)
    assert tagged.opened(cmyk.content).mode == "CMYK" and tagged.leftovers(cmyk.content) == []
    grey = saved(Image.new("L", (4, 2), 7), "PNG", transparency=7)
    assert tagged.opened(cleaning.clean(grey, PNG).content).info.get("transparency") == 7


def test_an_mpo_photo_keeps_its_main_picture_only():
    main, preview = Image.new("RGB", (16, 8), (250, 0, 0)), Image.new("RGB", (4, 2), (0, 0, 250))
    content = saved(main, "MPO", save_all=True, append_images=[preview], exif=tagged.camera_exif())

    cleaned = tagged.opened(cleaning.clean(content, JPEG).content)

    assert cleaned.format == "JPEG" and getattr(cleaned, "n_frames", 1) == 1 and cleaned.size == (8, 16)


def test_the_pixel_limit_counts_every_frame():
    frames = [Image.new("P", (4000, 4000)) for _ in range(6)]  # 96 million pixels in all, 16 million a frame
    content = saved(frames[0], "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(cleaning.TooManyPixels) as refused:
        cleaning.clean(content, PNG)
    assert (refused.value.width, refused.value.height, refused.value.frames) == (4000, 4000, 6)


def encrypted_pdf(user_password):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(tagged.pdf())))
    writer.encrypt(user_password, "pemilik", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_locked_only_against_editing_is_cleaned_and_one_that_needs_a_password_refused():
    cleaned = cleaning.clean(encrypted_pdf(""), PDF).content
    assert tagged.pdf_metadata(cleaned)[::2] == (None, 2) and b"/Encrypt" not in cleaned
    with pytest.raises(cleaning.Locked):
        cleaning.clean(encrypted_pdf("rahasia"), PDF)


def test_videos_are_kept_as_they_are():
    assert cleaning.clean(samples.mp4(), FILE_TYPES["video/mp4"]).content == samples.mp4()


def test_refusals_name_each_file_in_both_languages_and_too_many_pixels_wins():
    broken, bomb, locked = tagged.jpeg()[:100], tagged.png_header_only(9000, 9000), encrypted_pdf("x")
    with pytest.raises(ValidationFailed) as unreadable:
        cleaning.clean_files([("a.jpg", broken), ("b.png", tagged.png()), ("c.pdf", locked)], [JPEG, PNG, PDF])
    assert set(unreadable.value.fields) == {"file[0]", "file[2]"}
    assert unreadable.value.fields["file[0]"][0] == {
        "id": "a.jpg: berkas JPEG ini tidak dapat dibaca (rusak atau bukan JPEG).",
        "en": "a.jpg: this JPEG file cannot be read (damaged, or not JPEG)."}
    assert "kata sandi" in unreadable.value.fields["file[2]"][0]["id"]
    with pytest.raises(TooLarge) as too_large:
        cleaning.clean_files([("a.jpg", broken), ("bom.png", bomb)], [JPEG, PNG])
    assert too_large.value.fields == {"file[1]": [{
        "id": "bom.png: gambar 9000 × 9000 piksel, melebihi batas 80 juta piksel.",
        "en": "bom.png: an image of 9000 × 9000 pixels, over the limit of 80 million pixels."}]}


def test_a_stored_name_is_read_encrypted_or_as_an_older_attachment_kept_it():
    cipher = Fernet(Fernet.generate_key())
    meta = {"_id": "att_1", "content_type": "image/jpeg", "size": 3, "sha256": "a" * 64, "by": "reporter",
            "uploaded_at": datetime(2026, 11, 25, tzinfo=timezone.utc)}
    encrypted = dict(meta, filename_encrypted=cipher.encrypt("KTP Siti.jpg".encode()).decode())
    assert attachment_view(encrypted, cipher)["filename"] == "KTP Siti.jpg"
    assert attachment_view(dict(meta, filename="lama.jpg"), cipher)["filename"] == "lama.jpg"
