"""Attachments without the metadata they came with, before intake stores them: a photo's EXIF (GPS, the camera and
its serial, the photographer), XMP, comments and text chunks; a PDF's document info and XMP. Nothing in a stored
file may tell who made it or where (DESIGN §2: an anonymous reporter's identity never reaches an agency or public
view), so no original is kept.

Images are decoded and encoded again with Pillow, their EXIF orientation applied first, so they show the right
way up with no EXIF left to say so; only the colour profile is carried over. HEIC / HEIF photos are kept as JPEG:
most browsers cannot show HEIC, and encoding HEVC again takes seconds per photo. PDFs are written again by pypdf
without /Info, /Metadata (XMP, the document's and any object's), /PieceInfo or the file identifier.

Any failure of a decoder on these untrusted bytes, whatever its type, means the file cannot be read: a refusal
naming it (400), never a 500 with the staged parts left behind."""
import io
import warnings
from collections import namedtuple

import pillow_heif
from PIL import Image, ImageOps, ImageSequence, JpegImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from services.common.errors import TooLarge, ValidationFailed
from services.intake.attachments import FILE_TYPES, display_name

# Pixels decoded at most per file, all frames counted: a 64 MP phone photo (9248 × 6936) fits, at 3 bytes a pixel
# about 240 MB while it is cleaned. Checked from the header, before any pixel is decoded.
MAX_IMAGE_PIXELS = 80_000_000
JPEG_QUALITY = 90  # for a photo that was not a JPEG (HEIC); a JPEG keeps its own quantization tables
WEBP_QUALITY = 90  # for a lossy WebP; a lossless one stays lossless
# The keys a PDF keeps metadata under, wherever they appear: XMP streams and applications' private data.
PDF_METADATA_KEYS = ("/Metadata", "/PieceInfo")

Cleaned = namedtuple("Cleaned", "content file_type")

pillow_heif.register_heif_opener()  # HEIC / HEIF decode through Pillow, like the other image types


class NotCleaned(Exception):
    """Why a file cannot be cleaned, so cannot be stored."""


class Undecodable(NotCleaned):
    """The content is not the file its first bytes say (a cut-off photo, a PDF whose structure cannot be read)."""


class Locked(NotCleaned):
    """A PDF that opens only with a password: it cannot be read, so it cannot be cleaned."""


class TooManyPixels(NotCleaned):
    """Over MAX_IMAGE_PIXELS; `width` and `height` are None where Pillow refused the header without saying them."""

    def __init__(self, width, height, frames=1):
        super().__init__(f"{width} × {height} × {frames}")
        self.width, self.height, self.frames = width, height, frames


def clean(content, file_type):
    """Cleaned(the bytes to store, their FileType) of a file whose type check_files judged; raises Undecodable,
    Locked or TooManyPixels. Videos are kept as they are."""
    if file_type.content_type == "application/pdf":
        return Cleaned(_clean_pdf(content), file_type)
    if file_type.kind == "image":
        return _clean_image(content, file_type)
    return Cleaned(content, file_type)


def clean_files(named_contents, file_types):
    """[Cleaned] of each (name as sent, content), in order; or the refusal naming every file that cannot be
    cleaned: 413 for one over the pixel limit, else 400. Nothing is stored either way."""
    cleaned, unreadable, too_many = [], {}, {}
    for index, ((name, content), file_type) in enumerate(zip(named_contents, file_types)):
        field, shown = f"file[{index}]", display_name(name)
        try:
            cleaned.append(clean(content, file_type))
        except TooManyPixels as exc:
            too_many[field] = [_too_many_pixels(shown, exc)]
        except Locked:
            unreadable[field] = [{"id": f"{shown}: PDF dilindungi kata sandi; kirim salinan tanpa kata sandi.",
                                  "en": f"{shown}: the PDF is password-protected; send a copy without one."}]
        except Undecodable:
            label = file_type.label
            unreadable[field] = [{"id": f"{shown}: berkas {label} ini tidak dapat dibaca (rusak atau bukan {label}).",
                                  "en": f"{shown}: this {label} file cannot be read (damaged, or not {label})."}]
    if too_many:
        raise TooLarge("Gambar lampiran terlalu besar.", fields=too_many)
    if unreadable:
        raise ValidationFailed("Berkas lampiran tidak dapat dibaca.", fields=unreadable)
    return cleaned


def _too_many_pixels(shown, exc):
    limit = MAX_IMAGE_PIXELS // 1_000_000
    if exc.width is None:
        return {"id": f"{shown}: gambar melebihi batas {limit} juta piksel.",
                "en": f"{shown}: the image is over the limit of {limit} million pixels."}
    frames_id = f" × {exc.frames} bingkai" if exc.frames > 1 else ""
    frames_en = f" × {exc.frames} frames" if exc.frames > 1 else ""
    return {"id": f"{shown}: gambar {exc.width} × {exc.height} piksel{frames_id}, melebihi batas {limit} juta piksel.",
            "en": f"{shown}: an image of {exc.width} × {exc.height} pixels{frames_en}, over the limit of "
                  f"{limit} million pixels."}


# --- images ---

_PILLOW_FORMATS = {"image/jpeg": ("JPEG",), "image/png": ("PNG",), "image/webp": ("WEBP",),
                   "image/heic": ("HEIF",), "image/heif": ("HEIF",)}
_ANIMATED = ("image/png", "image/webp")  # APNG, animated WebP: every frame is kept. A JPEG's or HEIF's first only


def _clean_image(content, file_type):
    image = _opened(content, _PILLOW_FORMATS[file_type.content_type])
    try:
        frames = getattr(image, "n_frames", 1) if file_type.content_type in _ANIMATED else 1
        if image.width * image.height * frames > MAX_IMAGE_PIXELS:
            raise TooManyPixels(image.width, image.height, frames)
        if file_type.content_type in ("image/heic", "image/heif"):
            return Cleaned(_encoded_jpeg(_upright(image).convert("RGB"), None, image.info), FILE_TYPES["image/jpeg"])
        encode = {"image/jpeg": _jpeg, "image/png": _png, "image/webp": _webp}[file_type.content_type]
        return Cleaned(encode(image, frames, content), file_type)
    except NotCleaned:
        raise
    except Exception as exc:  # see the module's docstring
        raise Undecodable(f"{type(exc).__name__}: {exc}") from exc
    finally:
        image.close()


def _opened(content, formats):
    """The image, only its header read; Pillow's own bomb check (twice its limit) counts as too many pixels."""
    try:
        with warnings.catch_warnings():  # between its limit and twice it Pillow only warns: ours is lower
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(content), formats=formats)
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(*_png_size(content)) from exc
    except Exception as exc:  # see the module's docstring
        raise Undecodable(f"{type(exc).__name__}: {exc}") from exc


def _png_size(content):
    """(width, height) of a PNG from its header, which Pillow's message does not give; (None, None) for others."""
    if content[12:16] == b"IHDR":
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return None, None


def _upright(frame):
    """The frame turned as its EXIF Orientation says, with nothing of its metadata (info) left."""
    upright = ImageOps.exif_transpose(frame)  # a new image, decoded
    upright.info = {}
    return upright


def _jpeg(image, frames, content):
    """The first image only: a JPEG's other frames (MPO) are previews and depth maps, metadata of their own."""
    subsampling = JpegImagePlugin.get_sampling(image)
    tables = dict(qtables=image.quantization) if image.quantization else dict(quality=JPEG_QUALITY)
    if subsampling != -1:
        tables["subsampling"] = subsampling
    return _encoded_jpeg(_upright(image), tables, image.info)


def _encoded_jpeg(image, tables, source_info):
    out = io.BytesIO()
    options = tables or {"quality": JPEG_QUALITY}
    image.save(out, "JPEG", icc_profile=source_info.get("icc_profile") or None, **options)
    return out.getvalue()


def _png(image, frames, content):
    options = {"icc_profile": image.info.get("icc_profile")}
    if frames > 1:
        return _animation(image, "PNG", options)
    upright = _upright(image)
    if "transparency" in image.info and upright.mode in ("P", "L", "RGB", "I", "I;16"):
        options["transparency"] = image.info["transparency"]
    return _saved(upright, "PNG", options)


def _webp(image, frames, content):
    options = {"icc_profile": image.info.get("icc_profile")}
    options.update({"lossless": True} if _webp_is_lossless(content) else {"quality": WEBP_QUALITY})
    if frames > 1:
        return _animation(image, "WEBP", options)
    return _saved(_upright(image), "WEBP", options)


def _animation(image, file_format, options):
    """Every frame (Pillow gives each one whole), turned, with its duration; the loop count kept."""
    loop = image.info.get("loop", 0)
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        whole = frame.convert("RGBA")  # decodes it: WebP says a frame's duration only then
        durations.append(frame.info.get("duration", 100))
        frames.append(_upright(whole))
    return _saved(frames[0], file_format, dict(options, save_all=True, append_images=frames[1:],
                                                   duration=durations, loop=loop))


def _saved(image, file_format, options):
    out = io.BytesIO()
    image.save(out, file_format, **{key: value for key, value in options.items() if value is not None})
    return out.getvalue()


def _webp_is_lossless(content):
    """True when the first image data chunk (or a first animation frame's) is VP8L, WebP's lossless coding."""
    at = 12
    while at + 8 <= len(content):
        kind, size = content[at:at + 4], int.from_bytes(content[at + 4:at + 8], "little")
        if kind in (b"VP8 ", b"VP8L"):
            return kind == b"VP8L"
        if kind == b"ANMF":  # 16 bytes of frame header, then the frame's own chunks (ALPH goes with VP8 only)
            return content[at + 24:at + 28] == b"VP8L"
        at += 8 + size + (size & 1)
    return False


# --- PDF ---

def _clean_pdf(content):
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Locked()
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None  # /Info: author, creator, producer, dates
        writer._ID = None  # the file identifier ties the copy to its original (no public setter in pypdf 7.1)
        _drop_metadata(writer.root_object)
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)  # XMP streams left over
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()
    except NotCleaned:
        raise
    except Exception as exc:  # see the module's docstring
        raise Undecodable(f"{type(exc).__name__}: {exc}") from exc


def _drop_metadata(root):
    """Remove PDF_METADATA_KEYS from every dictionary reachable from the catalog (pages, images, fonts, forms)."""
    seen, pending = set(), [root]
    while pending:
        node = pending.pop()
        if isinstance(node, IndirectObject):
            if node.idnum in seen:
                continue
            seen.add(node.idnum)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            for key in PDF_METADATA_KEYS:
                node.pop(key, None)
            pending.extend(node.values())
        elif isinstance(node, ArrayObject):
            pending.extend(node)
