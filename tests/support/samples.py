"""Tiny sample files of each kind: built from their formats' own bytes, or, where intake decodes the kind to clean
it (JPEG, PDF), written by the same libraries so they decode."""
import io
import struct
import zlib

from PIL import Image
from pypdf import PdfWriter


def png(width=1, height=1):
    """A valid RGB PNG of one colour."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xd2\x1e\x1e" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg():
    """A 2×2 JPEG of one colour, with a comment (which intake drops)."""
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (210, 30, 30)).save(out, "JPEG", quality=90, comment=b"Pohon tumbang")
    return out.getvalue()


def webp():
    payload = b"WEBPVP8 " + struct.pack("<I", 10) + b"\x00" * 10
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def pdf(pages=1):
    """A PDF of blank pages: how many tells two apart once intake has cleaned them."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(100, 100)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def ftyp(major, *compatible, minor=0x200):
    """An ISO base media file: the ftyp box with its brands, then an empty mdat box."""
    brands = major + struct.pack(">I", minor) + b"".join(compatible)
    return struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands + struct.pack(">I", 8) + b"mdat"


def mp4():
    return ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41")


def mov():
    return ftyp(b"qt  ", b"qt  ")


def heic():
    return ftyp(b"heic", b"mif1", b"heic")


def three_gp():
    return ftyp(b"3gp4", b"isom", b"3gp4")


def exe():
    """A Windows executable's DOS header."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"


def html():
    return b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"


def sized(sample, size):
    """The sample padded to `size` bytes: its type stays what its first bytes say."""
    return sample + b"\x00" * (size - len(sample))
