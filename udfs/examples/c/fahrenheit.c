/*
 * A UDF in C, to show that lakeplane's UDF ABI (udfs/ABI.md) is language-neutral: no SDK, just
 * the frame layout. fahrenheit(celsius DOUBLE) RETURNS DOUBLE; a null in is a null out.
 *
 *   clang --target=wasm32 -O2 -nostdlib -ffreestanding -fno-builtin \
 *         -Wl,--no-entry -o fahrenheit.wasm fahrenheit.c
 *
 *   CREATE FUNCTION main.default.fahrenheit(celsius DOUBLE) RETURNS DOUBLE
 *     LANGUAGE WASM AS '/path/to/fahrenheit.wasm';
 */
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))

enum { HEADER = 16, DESCRIPTOR = 32, TYPE_DOUBLE = 5 };
static const uint32_t BATCH_MAGIC = 0x3142504c; /* "LPB1" */
static const uint32_t ERROR_MAGIC = 0x3145504c; /* "LPE1" */

/* A bump allocator over the memory after the data segments, reset when nothing is live (the
 * host frees the batch and the result after every call). */
extern unsigned char __heap_base;
static uintptr_t top;
static int live;

EXPORT("lakeplane_abi_version") int32_t abi_version(void) { return 1; }

EXPORT("lakeplane_alloc") int32_t lp_alloc(int32_t len) {
    if (live == 0) top = (uintptr_t)&__heap_base;
    top = (top + 7) & ~(uintptr_t)7;
    uintptr_t start = top, end = start + (uint32_t)len;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) < 0) return 0;
    top = end;
    live++;
    return (int32_t)start;
}

EXPORT("lakeplane_free") void lp_free(int32_t ptr, int32_t len) {
    (void)ptr;
    (void)len;
    if (live > 0) live--;
}

static uint32_t get32(const uint8_t *b, uint32_t at) {
    return (uint32_t)b[at] | (uint32_t)b[at + 1] << 8 | (uint32_t)b[at + 2] << 16 |
           (uint32_t)b[at + 3] << 24;
}

static void put32(uint8_t *b, uint32_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) b[at + i] = (uint8_t)(v >> (8 * i));
}

static int64_t packed(int32_t ptr, uint32_t len) {
    return (int64_t)((uint64_t)(uint32_t)ptr << 32 | len);
}

static int64_t fail(const char *msg) {
    uint32_t n = 0;
    while (msg[n]) n++;
    uint8_t *out = (uint8_t *)(uintptr_t)lp_alloc(8 + n);
    if (!out) return 0;
    put32(out, 0, ERROR_MAGIC);
    put32(out, 4, n);
    for (uint32_t i = 0; i < n; i++) out[8 + i] = (uint8_t)msg[i];
    return packed((int32_t)(uintptr_t)out, 8 + n);
}

EXPORT("fahrenheit") int64_t fahrenheit(int32_t ptr, int32_t len) {
    const uint8_t *in = (const uint8_t *)(uintptr_t)ptr;
    if (len < HEADER + DESCRIPTOR || get32(in, 0) != BATCH_MAGIC) return fail("not a batch");
    uint32_t rows = get32(in, 4);
    if (get32(in, 8) != 1 || get32(in, HEADER) != TYPE_DOUBLE)
        return fail("fahrenheit takes one DOUBLE argument");
    uint32_t has_nulls = get32(in, HEADER + 4) & 1;
    uint32_t voff = get32(in, HEADER + 8), vlen = get32(in, HEADER + 12);
    uint32_t doff = get32(in, HEADER + 24);

    /* Result: header, one descriptor, the validity (copied), the values. */
    uint32_t at = HEADER + DESCRIPTOR;
    uint32_t out_voff = has_nulls ? at : 0;
    if (has_nulls) at = (at + vlen + 7) & ~7u;
    uint32_t out_doff = at, size = at + rows * 8;
    uint8_t *out = (uint8_t *)(uintptr_t)lp_alloc((int32_t)size);
    if (!out) return fail("out of memory");
    for (uint32_t i = 0; i < HEADER + DESCRIPTOR; i++) out[i] = 0;
    put32(out, 0, BATCH_MAGIC);
    put32(out, 4, rows);
    put32(out, 8, 1);
    put32(out, HEADER, TYPE_DOUBLE);
    put32(out, HEADER + 4, has_nulls);
    put32(out, HEADER + 8, out_voff);
    put32(out, HEADER + 12, has_nulls ? vlen : 0);
    put32(out, HEADER + 24, out_doff);
    put32(out, HEADER + 28, rows * 8);
    for (uint32_t i = 0; has_nulls && i < vlen; i++) out[out_voff + i] = in[voff + i];
    const double *c = (const double *)(in + doff);
    double *f = (double *)(out + out_doff);
    for (uint32_t i = 0; i < rows; i++) f[i] = c[i] * 9.0 / 5.0 + 32.0;
    return packed((int32_t)(uintptr_t)out, size);
}
