"""Reads a PNG screenshot (8-bit RGB or RGBA, as Chromium writes them) and prints, for each
region given as x0,y0,x1,y1 on the command line, a tab-separated line: the region, the share
of pixels that are not near-white, and the number of pixels near each colour given with
--colour NAME=RRGGBB. Only the standard library (zlib), so the test needs no image package.

Usage: python3 png_regions.py FILE [--colour NAME=RRGGBB ...] REGION ...
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, "unsupported PNG"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous, offset = [], bytearray(stride), 0
    for _ in range(height):
        kind = raw[offset]
        line = bytearray(raw[offset + 1:offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        previous = line
    return width, height, channels, rows


def main():
    path, args = sys.argv[1], sys.argv[2:]
    colours, regions = {}, []
    while args:
        arg = args.pop(0)
        if arg == "--colour":
            name, hexa = args.pop(0).split("=")
            colours[name] = tuple(int(hexa[i:i + 2], 16) for i in (0, 2, 4))
        else:
            regions.append(tuple(int(v) for v in arg.split(",")))
    width, height, channels, rows = decode(path)
    print(f"size\t{width}\t{height}")
    for x0, y0, x1, y1 in regions:
        inked, total, near = 0, 0, {name: 0 for name in colours}
        for y in range(max(0, y0), min(height, y1)):
            line = rows[y]
            for x in range(max(0, x0), min(width, x1)):
                r, g, b = line[x * channels], line[x * channels + 1], line[x * channels + 2]
                total += 1
                if r < 235 or g < 235 or b < 235:
                    inked += 1
                for name, (cr, cg, cb) in colours.items():
                    if abs(r - cr) + abs(g - cg) + abs(b - cb) < 60:
                        near[name] += 1
        share = inked / total if total else 0
        print("\t".join([f"{x0},{y0},{x1},{y1}", f"{share:.4f}"] + [f"{n}={near[n]}" for n in colours]))


main()
