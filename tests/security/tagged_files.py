"""Files as phones and office programs write them, carrying who made them and where: EXIF with GPS, the camera's
serial number and the photographer's name, PNG text chunks, a PDF's document info and XMP. And what to look for in
a served file to tell that none of it is left."""
import io
import struct
import zlib

import pillow_heif
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, StreamObject

ARTIST = "Siti Aminah"
SERIAL = "R58M12ABCDE"
CAMERA = "SM-A546E"
# Every string above, as bytes anywhere in a file, means the metadata survived (the pixels cannot spell them).
TELLTALES = (ARTIST.encode(), SERIAL.encode(), CAMERA.encode(), b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/",
             b"xmpmeta")
WIDTH, HEIGHT = 48, 24  # as stored by the camera; Orientation=6 means it is shown turned: 24 wide, 48 high
XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>' + ARTIST.encode()
       + b'</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')

pillow_heif.register_heif_opener()


def camera_exif(orientation=6):
    """A phone camera's EXIF: orientation, the photographer, the camera and its serial, and where it was taken."""
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation: 6 = turn 90° clockwise to show
    exif[0x013B] = ARTIST  # Artist
    exif[0x010F] = "samsung"  # Make
    exif[0x0110] = CAMERA  # Model
    exif.get_ifd(0x8769)[0xA431] = SERIAL  # Exif IFD: BodySerialNumber
    gps = exif.get_ifd(0x8825)  # GPS IFD: 5°6'36" S, 105°18'0" E (Kota Metro)
    gps.update({1: "S", 2: (5.0, 6.0, 36.0), 3: "E", 4: (105.0, 18.0, 0.0)})
    return exif


def _photo(mode="RGB"):
    """Left half red, right half blue: after a 90° turn the colours say which way it went."""
    image = Image.new(mode, (WIDTH, HEIGHT), (200, 20, 20))
    image.paste((20, 20, 200), (WIDTH // 2, 0, WIDTH, HEIGHT))
    return image


def _saved(image, file_format, **options):
    out = io.BytesIO()
    image.save(out, file_format, **options)
    return out.getvalue()


def jpeg():
    return _saved(_photo(), "JPEG", exif=camera_exif(), xmp=XMP, comment=ARTIST.encode(), quality=95)


def png():
    text = PngInfo()
    text.add_text("Author", ARTIST)
    text.add_text("Comment", f"{CAMERA} {SERIAL}", zip=True)  # zTXt
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    return _saved(_photo(), "PNG", pnginfo=text, exif=camera_exif())


def webp():
    return _saved(_photo(), "WEBP", exif=camera_exif(), xmp=XMP, quality=90)


def heic():
    """As a phone writes it: the turn in the container (irot, which decoders apply) and the EXIF beside it."""
    return _saved(_photo(), "HEIF", exif=camera_exif().tobytes(), xmp=XMP, quality=90)


def pdf(pages=2):
    """A PDF as an office program writes it: the author in the document info and in XMP, the document's and a
    page's own, and a file identifier."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 100)
    writer.add_metadata({"/Author": ARTIST, "/Creator": f"Kantor {CAMERA}", "/Title": "Bukti pungli"})
    stream = StreamObject()
    stream.set_data(XMP)
    stream.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
    xmp = writer._add_object(stream)
    writer.root_object[NameObject("/Metadata")] = xmp
    writer.pages[0][NameObject("/Metadata")] = xmp
    writer.generate_file_identifiers()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_header_only(width, height):
    """A PNG whose header claims `width` × `height` one-bit pixels: a decompression bomb's shape, its pixels
    left out (nothing may decode this far before the size is refused)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def leftovers(content):
    """The telltales found in `content`: [] for a clean file."""
    return [telltale for telltale in TELLTALES if telltale in content]


def png_chunk_types(content):
    kinds, at = [], 8
    while at + 8 <= len(content):
        length, kind = struct.unpack(">I4s", content[at:at + 8])
        kinds.append(kind.decode("latin-1"))
        at += 12 + length
    return kinds


def webp_chunk_types(content):
    kinds, at = [], 12
    while at + 8 <= len(content):
        kind, length = content[at:at + 4], struct.unpack("<I", content[at + 4:at + 8])[0]
        kinds.append(kind.decode("latin-1"))
        at += 8 + length + (length & 1)
    return kinds


def opened(content):
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def is_upright(image):
    """Turned as Orientation=6 says (90° clockwise): the left half, red, is now the top half."""
    rgb = image.convert("RGB")
    top, bottom = rgb.getpixel((image.width // 2, image.height // 4)), rgb.getpixel(
        (image.width // 2, image.height * 3 // 4))
    return image.size == (HEIGHT, WIDTH) and top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]


def pdf_metadata(content):
    """(document info, XMP, page count) of a PDF."""
    reader = PdfReader(io.BytesIO(content))
    return reader.metadata, reader.xmp_metadata, len(reader.pages)
