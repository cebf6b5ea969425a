/* make_seeds.c: hand-made seed inputs for the data and option fuzz targets.
 *
 *     make-seeds OUT [JPEG...]
 *
 * writes small, valid (and a few deliberately odd) files of every variant
 * the readers know into OUT/npy, OUT/pb, OUT/idx, OUT/image and
 * OUT/options: .npy of every dtype, version and rank; TensorProtos with raw,
 * typed, string, 4-bit, float16 and external data; IDX files plain and
 * gzip'd; PNGs of every colour type, bit depth, palette with transparency,
 * and interlaced; JPEGs grey, RGB (4:2:0 and 4:4:4), progressive, with
 * restart markers, arithmetic-coded, CMYK and YCCK with and without Adobe's
 * marker; pass specs (OUT/options) and recipe files (OUT/recipe). Any JPEG
 * given after OUT is decoded and written again at 48 pixels wide, so real photos can seed the image target without
 * large files. scripts/fuzz.sh runs it; tests/fuzz/corpus/ holds the
 * minimized result. Uses only libpng, libjpeg and zlib. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

static const char *out_dir;

static void die(const char *what)
{
    fprintf(stderr, "make-seeds: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void put_file(const char *sub, const char *name, const void *data, size_t n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", out_dir, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f) die(path);
    if (n && fwrite(data, 1, n, f) != n) die(path);
    if (fclose(f) != 0) die(path);
}

/* ---- a growable byte buffer ---- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) die("realloc");
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_byte(buf *b, uint8_t v)
{
    put(b, &v, 1);
}

/* ---- .npy ---- */

static void npy(const char *name, int major, const char *descr, bool fortran, const char *shape, const void *data,
                size_t n)
{
    char dict[256];
    int dl = snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
                      fortran ? "True" : "False", shape);
    size_t pre = major == 1 ? 10 : 12;
    size_t total = pre + (size_t)dl + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hl = (size_t)dl + pad + 1;
    buf b = {0};
    put(&b, "\x93NUMPY", 6);
    put_byte(&b, (uint8_t)major);
    put_byte(&b, 0);
    if (major == 1) {
        put_byte(&b, (uint8_t)hl);
        put_byte(&b, (uint8_t)(hl >> 8));
    } else {
        for (int i = 0; i < 4; i++) put_byte(&b, (uint8_t)(hl >> (8 * i)));
    }
    put(&b, dict, (size_t)dl);
    for (size_t i = 0; i < pad; i++) put_byte(&b, ' ');
    put_byte(&b, '\n');
    put(&b, data, n);
    put_file("npy", name, b.p, b.n);
    free(b.p);
}

static void npy_seeds(void)
{
    uint8_t raw[8 * 24];
    for (size_t i = 0; i < sizeof(raw); i++) raw[i] = (uint8_t)(i * 37 + 11);
    float f[24];
    for (int i = 0; i < 24; i++) f[i] = (float)i * 0.25f - 3.0f;
    static const struct {
        const char *descr;
        int size;
    } types[] = {{"<f2", 2}, {"<f4", 4}, {"<f8", 8}, {"|i1", 1}, {"|u1", 1}, {"<i2", 2},
                 {"<u2", 2}, {"<i4", 4}, {"<u4", 4}, {"<i8", 8}, {"<u8", 8}, {"|b1", 1}};
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        char name[64];
        snprintf(name, sizeof(name), "type-%c%c%d.npy", types[t].descr[1], types[t].descr[0] == '<' ? 'l' : 'n',
                 types[t].size);
        uint8_t data[8 * 6];
        memcpy(data, raw, sizeof(data));
        if (types[t].descr[1] == 'b')
            for (int i = 0; i < 6; i++) data[i] &= 1;
        npy(name, 1, types[t].descr, false, "(2, 3)", data, (size_t)types[t].size * 6);
    }
    npy("f4-scalar.npy", 1, "<f4", false, "()", f, 4);
    npy("f4-empty.npy", 1, "<f4", false, "(0, 3)", f, 0);
    npy("f4-vector.npy", 1, "<f4", false, "(24,)", f, sizeof(f));
    npy("f4-nchw.npy", 1, "<f4", false, "(1, 1, 4, 6)", f, sizeof(f));
    npy("f4-rank8.npy", 1, "<f4", false, "(1, 2, 1, 3, 1, 2, 1, 2)", f, sizeof(f));
    npy("f4-fortran.npy", 1, "<f4", true, "(4, 6)", f, sizeof(f));
    npy("f4-v2.npy", 2, "<f4", false, "(2, 12)", f, sizeof(f));
    npy("f4-v3.npy", 3, "<f4", false, "(6, 4)", f, sizeof(f));
    npy("u1-equals.npy", 1, "=u1", false, "(1, 4, 6)", raw, 24);
    npy("f4-bigendian.npy", 1, ">f4", false, "(4,)", f, 16);
    npy("u1-mnist.npy", 1, "|u1", false, "(1, 1, 28, 28)", (uint8_t[784]){0}, 784);
}

/* ---- TensorProto ---- */

static void pb_varint(buf *b, uint64_t v)
{
    while (v >= 0x80) {
        put_byte(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_byte(b, (uint8_t)v);
}

static void pb_key(buf *b, unsigned field, unsigned wt)
{
    pb_varint(b, (uint64_t)field << 3 | wt);
}

static void pb_bytes(buf *b, unsigned field, const void *d, size_t n)
{
    pb_key(b, field, 2);
    pb_varint(b, n);
    put(b, d, n);
}

static void pb_int(buf *b, unsigned field, int64_t v)
{
    pb_key(b, field, 0);
    pb_varint(b, (uint64_t)v);
}

/* dims (field 1), data_type (2), name (8) */
static void pb_head(buf *b, int dtype, int ndim, const int64_t *dims, const char *name)
{
    for (int i = 0; i < ndim; i++) pb_int(b, 1, dims[i]);
    pb_int(b, 2, dtype);
    if (name) pb_bytes(b, 8, name, strlen(name));
}

static void pb_seeds(void)
{
    float f[12];
    for (int i = 0; i < 12; i++) f[i] = (float)i - 5.5f;
    const int64_t d34[2] = {3, 4}, d12[1] = {12}, d4[1] = {4}, d1x3[2] = {1, 3};
    buf b = {0};

    pb_head(&b, 1, 2, d34, "x");
    pb_bytes(&b, 9, f, sizeof(f)); /* raw_data */
    put_file("pb", "float-raw.pb", b.p, b.n);
    b.n = 0;

    pb_head(&b, 1, 1, d12, "x");
    pb_key(&b, 4, 2); /* float_data, packed */
    pb_varint(&b, sizeof(f));
    put(&b, f, sizeof(f));
    put_file("pb", "float-typed.pb", b.p, b.n);
    b.n = 0;

    pb_head(&b, 7, 1, d4, "ids");
    pb_key(&b, 7, 2); /* int64_data, packed */
    buf v = {0};
    for (int i = 0; i < 4; i++) pb_varint(&v, (uint64_t)(int64_t)(i * 1000 - 1));
    pb_varint(&b, v.n);
    put(&b, v.p, v.n);
    put_file("pb", "int64-typed.pb", b.p, b.n);
    b.n = 0;
    v.n = 0;

    pb_head(&b, 9, 1, d4, "mask");
    pb_key(&b, 5, 2); /* int32_data for bool */
    pb_varint(&b, 4);
    put(&b, "\1\0\1\1", 4);
    put_file("pb", "bool-typed.pb", b.p, b.n);
    b.n = 0;

    uint16_t h[4] = {0x3c00, 0xbc00, 0x7bff, 0x0001};
    pb_head(&b, 10, 1, d4, "half");
    pb_bytes(&b, 9, h, sizeof(h));
    put_file("pb", "float16-raw.pb", b.p, b.n);
    b.n = 0;

    pb_head(&b, 16, 1, d4, "bf");
    pb_bytes(&b, 9, h, sizeof(h));
    put_file("pb", "bfloat16-raw.pb", b.p, b.n);
    b.n = 0;

    pb_head(&b, 22, 1, d4, "q4");
    pb_bytes(&b, 9, "\x21\xf7", 2);
    put_file("pb", "int4-raw.pb", b.p, b.n);
    b.n = 0;

    pb_head(&b, 17, 1, d4, "f8");
    pb_bytes(&b, 9, "\x38\xb8\x7e\x00", 4);
    put_file("pb", "float8-raw.pb", b.p, b.n);
    b.n = 0;

    pb_head(&b, 8, 1, d4, "s");
    for (int i = 0; i < 4; i++) pb_bytes(&b, 6, "abc", (size_t)i);
    put_file("pb", "string.pb", b.p, b.n);
    b.n = 0;

    pb_head(&b, 11, 2, d1x3, "d");
    double dd[3] = {1.5, -2.25, 1e300};
    pb_key(&b, 10, 2); /* double_data */
    pb_varint(&b, sizeof(dd));
    put(&b, dd, sizeof(dd));
    put_file("pb", "double-typed.pb", b.p, b.n);
    b.n = 0;

    pb_head(&b, 1, 0, NULL, "scalar");
    pb_bytes(&b, 9, f, 4);
    put_file("pb", "float-scalar.pb", b.p, b.n);
    b.n = 0;

    /* external data (field 13: StringStringEntryProto) and data_location (14) */
    pb_head(&b, 1, 1, d4, "ext");
    buf e = {0};
    pb_bytes(&e, 1, "location", 8);
    pb_bytes(&e, 2, "input_0.pb", 10);
    pb_bytes(&b, 13, e.p, e.n);
    e.n = 0;
    pb_bytes(&e, 1, "offset", 6);
    pb_bytes(&e, 2, "0", 1);
    pb_bytes(&b, 13, e.p, e.n);
    pb_int(&b, 14, 1);
    put_file("pb", "float-external.pb", b.p, b.n);
    b.n = 0;

    /* segment (field 3) and an unknown field */
    pb_head(&b, 1, 1, d4, "seg");
    buf s = {0};
    pb_int(&s, 1, 0);
    pb_int(&s, 2, 4);
    pb_bytes(&b, 3, s.p, s.n);
    pb_int(&b, 1000, 7);
    pb_bytes(&b, 9, f, 16);
    put_file("pb", "float-segment-unknown.pb", b.p, b.n);
    free(b.p);
    free(v.p);
    free(e.p);
    free(s.p);
}

/* ---- IDX ---- */

static void idx_file(const char *name, uint8_t type, int ndim, const uint32_t *dims, bool gz)
{
    buf b = {0};
    put(&b, "\0\0", 2);
    put_byte(&b, type);
    put_byte(&b, (uint8_t)ndim);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        uint8_t be[4] = {(uint8_t)(dims[i] >> 24), (uint8_t)(dims[i] >> 16), (uint8_t)(dims[i] >> 8),
                         (uint8_t)dims[i]};
        put(&b, be, 4);
        n *= dims[i];
    }
    size_t esize = type == 0x0B ? 2 : type == 0x0C || type == 0x0D ? 4 : type == 0x0E ? 8 : 1;
    for (size_t i = 0; i < n * esize; i++) put_byte(&b, (uint8_t)((i * 7) % 251 < 120 ? 0 : (i * 13) & 0xff));
    if (!gz) {
        put_file("idx", name, b.p, b.n);
    } else {
        uLongf cap = compressBound(b.n) + 32;
        uint8_t *z = malloc(cap);
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        if (!z || deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("zlib");
        zs.next_in = b.p;
        zs.avail_in = (uInt)b.n;
        zs.next_out = z;
        zs.avail_out = (uInt)cap;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) die("deflate");
        put_file("idx", name, z, zs.total_out);
        deflateEnd(&zs);
        free(z);
    }
    free(b.p);
}

static void idx_seeds(void)
{
    const uint32_t mnist3[3] = {3, 28, 28}, small[3] = {4, 5, 6}, flat[2] = {5, 16}, labels[1] = {10},
                   r4[4] = {2, 1, 6, 6}, none[3] = {0, 28, 28};
    idx_file("mnist3-images-idx3-ubyte", 0x08, 3, mnist3, false);
    idx_file("mnist3-images-idx3-ubyte.gz", 0x08, 3, mnist3, true);
    idx_file("small-images-idx3-ubyte", 0x08, 3, small, false);
    idx_file("flat-images-idx2-ubyte.gz", 0x08, 2, flat, true);
    idx_file("rank4-images-idx4-ubyte", 0x08, 4, r4, false);
    idx_file("empty-images-idx3-ubyte", 0x08, 3, none, false);
    idx_file("labels-idx1-ubyte", 0x08, 1, labels, false);
    idx_file("signed-idx3-sbyte", 0x09, 3, small, false);
    idx_file("float-idx3-float", 0x0D, 3, small, false);
    idx_file("short-idx3-short.gz", 0x0B, 3, small, true);
}

/* ---- PNG ---- */

static void png_write_cb(png_structp png, png_bytep data, png_size_t n)
{
    put(png_get_io_ptr(png), data, n);
}

static void png_flush_cb(png_structp png)
{
    (void)png;
}

static void png_seed(const char *name, int w, int h, int color, int depth, bool interlace, bool trns)
{
    buf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!png || !info || setjmp(png_jmpbuf(png))) die("libpng");
    png_set_write_fn(png, &b, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[16];
        for (int i = 0; i < 16; i++) pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 16), (png_byte)(i * 5)};
        png_set_PLTE(png, info, pal, 1 << (depth < 4 ? depth : 4));
        if (trns) {
            png_byte alpha[2] = {0, 128};
            png_set_tRNS(png, info, alpha, 2, NULL);
        }
    } else if (trns && !(color & PNG_COLOR_MASK_ALPHA)) {
        png_color_16 tc = {0, 10, 20, 30, 10};
        png_set_tRNS(png, info, NULL, 0, &tc);
    }
    png_set_gAMA(png, info, 0.45455);
    png_write_info(png, info);
    int channels = color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_PALETTE ? 1
                   : color == PNG_COLOR_TYPE_GRAY_ALPHA                            ? 2
                   : color == PNG_COLOR_TYPE_RGB                                   ? 3
                                                                                   : 4;
    size_t rowbytes = ((size_t)w * (size_t)channels * (size_t)depth + 7) / 8;
    png_bytep *rows = malloc(sizeof(png_bytep) * (size_t)h);
    uint8_t *pix = malloc(rowbytes * (size_t)h);
    if (!rows || !pix) die("malloc");
    for (size_t i = 0; i < rowbytes * (size_t)h; i++) pix[i] = (uint8_t)(i * 29 + i / rowbytes * 3);
    if (color == PNG_COLOR_TYPE_PALETTE && depth == 8)
        for (size_t i = 0; i < rowbytes * (size_t)h; i++) pix[i] &= 15;
    for (int y = 0; y < h; y++) rows[y] = pix + (size_t)y * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    put_file("image", name, b.p, b.n);
    free(rows);
    free(pix);
    free(b.p);
}

static void png_seeds(void)
{
    png_seed("grey1.png", 9, 5, PNG_COLOR_TYPE_GRAY, 1, false, false);
    png_seed("grey2.png", 7, 3, PNG_COLOR_TYPE_GRAY, 2, false, false);
    png_seed("grey4-trns.png", 6, 6, PNG_COLOR_TYPE_GRAY, 4, false, true);
    png_seed("grey8.png", 16, 16, PNG_COLOR_TYPE_GRAY, 8, false, false);
    png_seed("grey16.png", 5, 4, PNG_COLOR_TYPE_GRAY, 16, false, false);
    png_seed("greyalpha8.png", 8, 3, PNG_COLOR_TYPE_GRAY_ALPHA, 8, false, false);
    png_seed("rgb8.png", 13, 11, PNG_COLOR_TYPE_RGB, 8, false, false);
    png_seed("rgb8-interlaced.png", 17, 9, PNG_COLOR_TYPE_RGB, 8, true, false);
    png_seed("rgb16-trns.png", 4, 4, PNG_COLOR_TYPE_RGB, 16, false, true);
    png_seed("rgba8.png", 10, 6, PNG_COLOR_TYPE_RGB_ALPHA, 8, false, false);
    png_seed("rgba16-interlaced.png", 3, 7, PNG_COLOR_TYPE_RGB_ALPHA, 16, true, false);
    png_seed("palette4-trns.png", 12, 5, PNG_COLOR_TYPE_PALETTE, 4, false, true);
    png_seed("palette8.png", 9, 9, PNG_COLOR_TYPE_PALETTE, 8, true, false);
    png_seed("one-pixel.png", 1, 1, PNG_COLOR_TYPE_RGB, 8, false, false);
}

/* ---- JPEG ---- */

typedef struct jpeg_opts {
    int w, h;
    J_COLOR_SPACE in, out;
    int quality;
    bool progressive, arith, h444, adobe;
    int restart_rows;
} jpeg_opts;

static void jpeg_seed(const char *name, const jpeg_opts *o, const uint8_t *pixels)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long len = 0;
    jpeg_mem_dest(&c, &mem, &len);
    int comps = o->in == JCS_GRAYSCALE ? 1 : o->in == JCS_CMYK ? 4 : 3;
    c.image_width = (JDIMENSION)o->w;
    c.image_height = (JDIMENSION)o->h;
    c.input_components = comps;
    c.in_color_space = o->in;
    jpeg_set_defaults(&c);
    if (o->out != o->in) jpeg_set_colorspace(&c, o->out);
    jpeg_set_quality(&c, o->quality, TRUE);
    if (o->progressive) jpeg_simple_progression(&c);
    if (o->arith) c.arith_code = TRUE;
    if (o->h444 && c.num_components >= 3)
        for (int i = 0; i < c.num_components; i++) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    c.restart_in_rows = o->restart_rows;
    c.write_Adobe_marker = o->adobe ? TRUE : c.write_Adobe_marker;
    if (!o->adobe && (o->out == JCS_CMYK || o->out == JCS_YCCK)) c.write_Adobe_marker = FALSE;
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)o->w * (size_t)comps);
    if (!row) die("malloc");
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < o->w; x++)
            for (int k = 0; k < comps; k++)
                row[x * comps + k] = pixels ? pixels[((size_t)y * (size_t)o->w + (size_t)x) * 3 + (size_t)(k % 3)]
                                            : (uint8_t)(x * 9 + y * 5 + k * 60);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    put_file("image", name, mem, len);
    free(mem);
    free(row);
}

static void jpeg_seeds(void)
{
    jpeg_seed("grey.jpg", &(jpeg_opts){16, 16, JCS_GRAYSCALE, JCS_GRAYSCALE, 75, 0, 0, 0, 0, 0}, NULL);
    jpeg_seed("rgb420.jpg", &(jpeg_opts){21, 13, JCS_RGB, JCS_YCbCr, 80, 0, 0, 0, 0, 0}, NULL);
    jpeg_seed("rgb444.jpg", &(jpeg_opts){8, 8, JCS_RGB, JCS_YCbCr, 90, 0, 0, 1, 0, 0}, NULL);
    jpeg_seed("rgb-progressive.jpg", &(jpeg_opts){24, 17, JCS_RGB, JCS_YCbCr, 70, 1, 0, 0, 0, 0}, NULL);
    jpeg_seed("rgb-restart.jpg", &(jpeg_opts){32, 32, JCS_RGB, JCS_YCbCr, 60, 0, 0, 0, 0, 1}, NULL);
    jpeg_seed("rgb-arith.jpg", &(jpeg_opts){16, 9, JCS_RGB, JCS_YCbCr, 75, 0, 1, 0, 0, 0}, NULL);
    jpeg_seed("rgb-nonycc.jpg", &(jpeg_opts){9, 9, JCS_RGB, JCS_RGB, 75, 0, 0, 0, 0, 0}, NULL);
    jpeg_seed("cmyk-adobe.jpg", &(jpeg_opts){12, 8, JCS_CMYK, JCS_CMYK, 75, 0, 0, 0, 1, 0}, NULL);
    jpeg_seed("cmyk.jpg", &(jpeg_opts){8, 12, JCS_CMYK, JCS_CMYK, 75, 0, 0, 0, 0, 0}, NULL);
    jpeg_seed("ycck-adobe.jpg", &(jpeg_opts){10, 10, JCS_CMYK, JCS_YCCK, 75, 1, 0, 0, 1, 0}, NULL);
}

/* A real photo, decoded and written again 48 pixels wide. */
static void jpeg_thumbnail(const char *path, int k)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr err;
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    int w = (int)d.output_width, h = (int)d.output_height;
    uint8_t *pix = malloc((size_t)w * (size_t)h * 3);
    if (!pix) die("malloc");
    while (d.output_scanline < d.output_height) {
        JSAMPROW rp = pix + (size_t)d.output_scanline * (size_t)w * 3;
        jpeg_read_scanlines(&d, &rp, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    fclose(f);
    int tw = 48, th = h * 48 / w > 0 ? h * 48 / w : 1;
    uint8_t *t = malloc((size_t)tw * (size_t)th * 3);
    if (!t) die("malloc");
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
            for (int c = 0; c < 3; c++)
                t[((size_t)y * tw + x) * 3 + c] = pix[((size_t)(y * h / th) * w + (size_t)(x * w / tw)) * 3 + c];
    char name[64];
    snprintf(name, sizeof(name), "photo%d.jpg", k);
    jpeg_seed(name, &(jpeg_opts){tw, th, JCS_RGB, JCS_YCbCr, 85, k & 1, 0, 0, 0, 0}, t);
    free(t);
    free(pix);
}

/* ---- pass specs (fuzz_options: 'p' prune, 'q' quant, one pass a line) ---- */

static void option_seeds(void)
{
    static const char *const seeds[] = {
        "pmagnitude:sparsity=0.5\nqstatic\n",
        "pmagnitude:sparsity=0.9,scope=global,max_layer=0.95,min_elems=0\n",
        "pwanda:sparsity=0.3,group=layer,reconstruct=1,samples=64\n",
        "pnm:n=2,m=4,criterion=wanda\npchannel:ratio=0.25,round_to=8,mode=mask\n",
        "pchannel:ratio=0.5,norm=approx,reconstruct=1\n",
        "pchannel:ratio=0.3,scope=global,criterion=activation,min_channels=4,reconstruct=yes\n",
        "qweight:bits=4,block=32,symmetric=no,method=mse\n",
        "qweight:bits=8,signed=0,per_channel=false,gather=1,min_elems=1e3,keep_sensitive=0\n",
        "qstatic:activations=int8,symmetric=1,method=percentile,percentile=99.99,samples=8\n",
        "qstatic:method=entropy,per_channel=0,bias=0,keep_norm=0,fold=0,bias_correction=1\n",
        "qdynamic:per_channel=1,reduce_range=1,min_elems=256\nqfp16:keep_io=0,range_limit=65504,samples=2\n",
        "!prune magnitude\n!quant fp16:keep_default=0\n!other weight\n",
        "qweight:bits=5\n",
        "qstatic:method=minmax,percentile=90\npmagnitude:sparsity=0.99\n",
    };
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "spec-%02zu.txt", i);
        put_file("options", name, seeds[i], strlen(seeds[i]));
    }
}

/* ---- recipes (cli/recipe.c) ---- */

static void recipe_seeds(void)
{
    static const char *const seeds[] = {
        "{\"preset\": \"int8\"}\n",
        "{\"prune\": [{\"pass\": \"magnitude\", \"sparsity\": 0.5}], \"quant\": [{\"pass\": \"static\"}],\n"
        " \"data\": \"calib\", \"limit\": 16}\n",
        "{\"quant\": [{\"pass\": \"weight\", \"bits\": 4, \"block\": 32, \"symmetric\": \"no\", \"per_channel\": true}],\n"
        " \"exclude_op\": [\"Gemm\", \"MatMul\"], \"exclude_node\": [\"conv1\"], \"keep_first_last\": true,\n"
        " \"comment\": \"int4 weights \\u00e9\\n\"}\n",
        "{\"preset\": \"sparse50-int8\", \"prune\": [{\"pass\": \"channel\", \"ratio\": 0.25, \"mode\": \"mask\"}]}\n",
        "{\"quant\": [{\"pass\": \"static\", \"method\": \"percentile\", \"percentile\": 99.99, \"samples\": 1e3},\n"
        " {\"pass\": \"fp16\", \"keep_io\": false}], \"limit\": 1000000000}\n",
        "{\"prune\": [{\"pass\": \"nm\", \"n\": 2, \"m\": 4}, {\"pass\": \"wanda\", \"group\": \"layer\"}], \"data\": \"/tmp/x\"}\n",
        "{\"quant\": [{\"pass\": \"dynamic\", \"reduce_range\": 1}], \"quant\": []}\n",
        "[1, 2.5e-3, null, \"\\ud83d\\ude00\"]\n",
        "int8-weights",
    };
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "recipe-%02zu.json", i);
        put_file("recipe", name, seeds[i], strlen(seeds[i]));
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: make-seeds OUT [JPEG...]\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    npy_seeds();
    pb_seeds();
    idx_seeds();
    png_seeds();
    jpeg_seeds();
    for (int i = 2; i < argc; i++) jpeg_thumbnail(argv[i], i - 1);
    option_seeds();
    recipe_seeds();
    return 0;
}
