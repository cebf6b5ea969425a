/* image.c: PNG (libpng) and JPEG (libjpeg) decoding to 8-bit RGB, and the
 * preprocessing that turns a decoded image into a model input: bilinear
 * resize with half-pixel centres, RGB/BGR, grey, NCHW/NHWC, scale, mean/std.
 *
 * Images are hostile input. Both libraries report errors through callbacks
 * that must not return; ours record the message and longjmp back to the
 * decoder, which frees what it holds and fails with the file's name. Sides
 * over OC_IMAGE_MAX_SIDE are refused before any pixel memory is allocated,
 * and a truncated or corrupt JPEG (which libjpeg only warns about, filling
 * the rest with grey) is an error too. */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

bool oc_image_name_ok(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return false;
    return strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0;
}

void oc_image_free(oc_image *im)
{
    if (!im) return;
    oc_free(im->rgb);
    memset(im, 0, sizeof(*im));
}

static oc_status too_big(oc_ctx *ctx, const char *who, uint64_t w, uint64_t h)
{
    return oc_fail(ctx, OC_ERR_INVALID, "%s: image is %llux%llu, larger than %dx%d", who, (unsigned long long)w,
                   (unsigned long long)h, OC_IMAGE_MAX_SIDE, OC_IMAGE_MAX_SIDE);
}

/* ---- PNG ---- */

typedef struct png_err {
    jmp_buf jb;
    char msg[200];
} png_err;

static void png_error_cb(png_structp png, png_const_charp msg)
{
    png_err *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof(e->msg), "%s", msg ? msg : "error");
    longjmp(e->jb, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings (bad ancillary chunks, gamma) do not affect pixels */
}

static oc_status decode_png(oc_ctx *ctx, FILE *f, const char *who, oc_image *out)
{
    png_err e;
    memset(&e, 0, sizeof(e));
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, png_error_cb, png_warning_cb);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        if (png) png_destroy_read_struct(&png, NULL, NULL);
        return oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", who);
    }
    /* written after setjmp and read after longjmp: volatile */
    uint8_t *volatile pix = NULL;
    png_bytep *volatile rows = NULL;
    volatile bool nomem = false;
    if (setjmp(e.jb)) {
        png_destroy_read_struct(&png, &info, NULL);
        oc_free(pix);
        oc_free((void *)rows);
        return oc_fail(ctx, nomem ? OC_ERR_NOMEM : OC_ERR_INVALID, "%s: bad PNG: %s", who, e.msg);
    }
    png_set_user_limits(png, OC_IMAGE_MAX_SIDE, OC_IMAGE_MAX_SIDE); /* backs up the IHDR check */
    /* Ancillary chunks do not change our pixels (no gamma or colour
     * management, alpha dropped); tRNS, which can, is still read. Skipped
     * unread, a chunk declaring 2 GB costs nothing: libpng would allocate
     * that much for an sPLT or iCCP before finding the file too short. */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_init_io(png, f);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color = png_get_color_type(png, info);
    png_set_expand(png);         /* palette -> RGB, grey < 8 bits -> 8, tRNS -> alpha */
    png_set_scale_16(png);       /* 16-bit -> 8-bit, rounded */
    png_set_strip_alpha(png);
    if (!(color & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3 || png_get_bit_depth(png, info) != 8)
        png_error(png, "unexpected pixel format after expansion");
    pix = oc_malloc((size_t)w * h * 3 + 1);
    rows = oc_malloc(sizeof(png_bytep) * (h ? h : 1));
    if (!pix || !rows) {
        nomem = true;
        png_error(png, "out of memory");
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pix + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_destroy_read_struct(&png, &info, NULL);
    oc_free((void *)rows);
    out->w = (int)w;
    out->h = (int)h;
    out->rgb = pix;
    return OC_OK;
}

/* ---- JPEG ---- */

typedef struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_error_exit_cb(j_common_ptr c)
{
    jpeg_err *e = (jpeg_err *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

/* libjpeg only warns about truncated or damaged data (and decodes grey in
 * its place): those warnings are errors here. Other warnings pass. */
static void jpeg_emit_cb(j_common_ptr c, int level)
{
    int code = c->err->msg_code;
    if (level < 0 && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC))
        jpeg_error_exit_cb(c);
    if (level < 0) c->err->num_warnings++;
}

static void jpeg_output_cb(j_common_ptr c)
{
    (void)c; /* never print */
}

static oc_status decode_jpeg(oc_ctx *ctx, FILE *f, const char *who, oc_image *out)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_err e;
    memset(&cinfo, 0, sizeof(cinfo));
    memset(&e, 0, sizeof(e));
    cinfo.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jpeg_error_exit_cb;
    e.pub.emit_message = jpeg_emit_cb;
    e.pub.output_message = jpeg_output_cb;
    uint8_t *volatile pix = NULL;
    uint8_t *volatile row = NULL;
    volatile bool nomem = false;
    if (setjmp(e.jb)) {
        jpeg_destroy_decompress(&cinfo);
        oc_free(pix);
        oc_free(row);
        return oc_fail(ctx, nomem ? OC_ERR_NOMEM : OC_ERR_INVALID, "%s: bad JPEG: %s", who, e.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.image_width > OC_IMAGE_MAX_SIDE || cinfo.image_height > OC_IMAGE_MAX_SIDE) {
        uint64_t w = cinfo.image_width, h = cinfo.image_height;
        jpeg_destroy_decompress(&cinfo);
        return too_big(ctx, who, w, h);
    }
    bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t w = cinfo.output_width, h = cinfo.output_height;
    int comps = cinfo.output_components;
    if (comps != (cmyk ? 4 : 3)) ERREXIT(&cinfo, JERR_CONVERSION_NOTIMPL);
    pix = oc_malloc(w * h * 3 + 1);
    row = oc_malloc(w * (size_t)comps + 1);
    if (!pix || !row) {
        nomem = true;
        ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 0);
    }
    /* Adobe's CMYK JPEGs store inverted values: then c*k/255 is the red */
    bool inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        uint8_t *dst = pix + y * w * 3;
        JSAMPROW rp = cmyk ? (JSAMPROW)row : (JSAMPROW)dst;
        if (jpeg_read_scanlines(&cinfo, &rp, 1) != 1) ERREXIT(&cinfo, JERR_INPUT_EMPTY);
        if (cmyk) {
            for (size_t x = 0; x < w; x++) {
                const uint8_t *s = row + 4 * x;
                unsigned k = inverted ? s[3] : 255u - s[3];
                for (int c = 0; c < 3; c++) {
                    unsigned v = inverted ? s[c] : 255u - s[c];
                    dst[3 * x + (size_t)c] = (uint8_t)((v * k + 127) / 255);
                }
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    oc_free(row);
    out->w = (int)w;
    out->h = (int)h;
    out->rgb = pix;
    return OC_OK;
}

oc_status oc_image_decode(oc_ctx *ctx, const char *path, const char *who, oc_image *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    RETURN_ERROR_IF(!f, ctx, OC_ERR_READ, "%s: cannot open: %s", who, strerror(errno));
    unsigned char m[24] = {0};
    size_t n = fread(m, 1, sizeof(m), f);
    rewind(f);
    oc_status st;
    if (n >= 8 && memcmp(m, "\x89PNG\r\n\x1a\n", 8) == 0) {
        /* IHDR comes first: refuse a huge image before libpng sees it */
        uint32_t w = (uint32_t)m[16] << 24 | (uint32_t)m[17] << 16 | (uint32_t)m[18] << 8 | m[19];
        uint32_t h = (uint32_t)m[20] << 24 | (uint32_t)m[21] << 16 | (uint32_t)m[22] << 8 | m[23];
        if (n == 24 && memcmp(m + 12, "IHDR", 4) == 0 && (w > OC_IMAGE_MAX_SIDE || h > OC_IMAGE_MAX_SIDE))
            st = too_big(ctx, who, w, h);
        else
            st = decode_png(ctx, f, who, out);
    }
    else if (n >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF)
        st = decode_jpeg(ctx, f, who, out);
    else
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: neither a PNG nor a JPEG file", who);
    fclose(f);
    if (st == OC_OK && (out->w == 0 || out->h == 0)) {
        oc_image_free(out);
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: empty image", who);
    }
    return st;
}

/* ---- preprocessing ---- */

/* Where each output column (or row) samples the source: the two neighbours
 * and the weight of the second, with half-pixel centres, edges clamped. */
static void axis_map(int s, int d, int *i0, int *i1, float *f)
{
    double ratio = (double)s / d;
    for (int k = 0; k < d; k++) {
        double x = (k + 0.5) * ratio - 0.5;
        if (x < 0) x = 0;
        int a = (int)x;
        if (a >= s - 1) {
            i0[k] = i1[k] = s - 1;
            f[k] = 0;
        } else {
            i0[k] = a;
            i1[k] = a + 1;
            f[k] = (float)(x - a);
        }
    }
}

/* Tables of a resize from sw x sh to dw x dh, in one allocation. */
typedef struct resizer {
    const uint8_t *src;
    int sw, sh, ch, dw, dh;
    int *x0, *x1, *y0, *y1;
    float *fx, *fy;
    void *mem;
} resizer;

static bool resizer_init(resizer *r, const uint8_t *src, int sw, int sh, int ch, int dw, int dh)
{
    size_t nx = (size_t)dw, ny = (size_t)dh;
    r->mem = oc_malloc((nx + ny) * (2 * sizeof(int) + sizeof(float)));
    if (!r->mem) return false;
    r->src = src;
    r->sw = sw, r->sh = sh, r->ch = ch, r->dw = dw, r->dh = dh;
    r->x0 = r->mem;
    r->x1 = r->x0 + nx;
    r->y0 = r->x1 + nx;
    r->y1 = r->y0 + ny;
    r->fx = (float *)(r->y1 + ny);
    r->fy = r->fx + nx;
    axis_map(sw, dw, r->x0, r->x1, r->fx);
    axis_map(sh, dh, r->y0, r->y1, r->fy);
    for (size_t k = 0; k < nx; k++) {
        r->x0[k] *= ch;
        r->x1[k] *= ch;
    }
    return true;
}

/* Output row y as dw * ch interleaved floats in 0..255. */
static void resizer_row(const resizer *r, int y, float *out)
{
    const int ch = r->ch;
    const uint8_t *r0 = r->src + (size_t)r->y0[y] * (size_t)r->sw * (size_t)ch;
    const uint8_t *r1 = r->src + (size_t)r->y1[y] * (size_t)r->sw * (size_t)ch;
    const float fy = r->fy[y];
    if (r->sw == r->dw && r->sh == r->dh) {
        for (size_t k = 0; k < (size_t)r->dw * (size_t)ch; k++) out[k] = r0[k];
        return;
    }
    for (int x = 0; x < r->dw; x++) {
        const int a = r->x0[x], b = r->x1[x];
        const float fx = r->fx[x];
        for (int c = 0; c < ch; c++) {
            float top = r0[a + c] + fx * (float)(r0[b + c] - r0[a + c]);
            float bot = r1[a + c] + fx * (float)(r1[b + c] - r1[a + c]);
            out[(size_t)x * (size_t)ch + (size_t)c] = top + fy * (bot - top);
        }
    }
}

bool oc_image_resize(const uint8_t *src, int sw, int sh, int ch, float *dst, int dw, int dh)
{
    resizer r;
    if (!resizer_init(&r, src, sw, sh, ch, dw, dh)) return false;
    for (int y = 0; y < dh; y++) resizer_row(&r, y, dst + (size_t)y * (size_t)dw * (size_t)ch);
    oc_free(r.mem);
    return true;
}

static void store(oc_ten *t, size_t at, float v)
{
    switch (t->dtype) {
    case OC_DTYPE_FLOAT: ((float *)t->data)[at] = v; break;
    case OC_DTYPE_DOUBLE: ((double *)t->data)[at] = v; break;
    case OC_DTYPE_FLOAT16: ((uint16_t *)t->data)[at] = oc_data_float_to_half(v); break;
    default: { /* UINT8: raw pixels, rounded */
        float q = v < 0 ? 0 : v > 255 ? 255 : v;
        ((uint8_t *)t->data)[at] = (uint8_t)lrintf(q);
    }
    }
}

oc_status oc_image_to_tensor(oc_ctx *ctx, const oc_image *im, const oc_image_prep *p, oc_ten *out)
{
    memset(out, 0, sizeof(*out));
    const int C = p->channels, H = p->h, W = p->w;
    int64_t dims[4];
    int nd = 0;
    if (p->batch) dims[nd++] = 1;
    if (p->layout == 1) {
        dims[nd++] = C, dims[nd++] = H, dims[nd++] = W;
    } else {
        dims[nd++] = H, dims[nd++] = W, dims[nd++] = C;
    }
    FORWARD_IF_ERROR(oc_ten_new(ctx, out, p->dtype, nd, dims));
    resizer r;
    float *row = oc_malloc((size_t)W * 3 * sizeof(float));
    if (!row || !resizer_init(&r, im->rgb, im->w, im->h, 3, W, H)) {
        oc_free(row);
        oc_ten_release(out);
        return oc_fail(ctx, OC_ERR_NOMEM, "out of memory resizing an image");
    }
    /* y = p * a[c] + b[c] is (p * scale - mean) / std; uint8 inputs take raw pixels */
    const bool raw = p->dtype == OC_DTYPE_UINT8;
    float a[3], b[3];
    int from[3];
    for (int c = 0; c < 3; c++) {
        a[c] = raw ? 1.0f : p->scale / p->std[c];
        b[c] = raw ? 0.0f : -p->mean[c] / p->std[c];
        from[c] = p->bgr ? 2 - c : c;
    }
    const size_t plane = (size_t)H * (size_t)W;
    const bool fast = p->dtype == OC_DTYPE_FLOAT && C == 3;
    float *const dst = out->data;
    for (int y = 0; y < H; y++) {
        resizer_row(&r, y, row);
        const size_t base = (size_t)y * (size_t)W;
        if (fast && p->layout == 1) {
            for (int c = 0; c < 3; c++) {
                float *o = dst + (size_t)c * plane + base;
                const float *s = row + from[c];
                for (int x = 0; x < W; x++) o[x] = s[3 * x] * a[c] + b[c];
            }
        } else if (fast) {
            float *o = dst + base * 3;
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++) o[3 * x + c] = row[3 * x + from[c]] * a[c] + b[c];
        } else {
            for (int x = 0; x < W; x++) {
                const float *px = row + 3 * (size_t)x;
                for (int c = 0; c < C; c++) {
                    /* one channel: ITU-R 601 luma */
                    float v = C == 1 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : px[from[c]];
                    size_t at = p->layout == 1 ? (size_t)c * plane + base + (size_t)x
                                               : (base + (size_t)x) * (size_t)C + (size_t)c;
                    store(out, at, v * a[c] + b[c]);
                }
            }
        }
    }
    oc_free(r.mem);
    oc_free(row);
    return OC_OK;
}
