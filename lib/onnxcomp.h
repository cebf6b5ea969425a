/* onnxcomp.h: the public interface of libonnxcomp.
 *
 * libonnxcomp reads an ONNX model into its own in-memory graph (the IR below),
 * lets compression passes edit it, and writes it back as ONNX. Everything a
 * pass did not touch is written back as it came, including fields this
 * library does not know. Large tensor payloads are not copied on load: they
 * stay in the memory-mapped model (or external-data) file until a pass
 * replaces them.
 *
 * A worked example: round-trip a model, printing its node count.
 *
 *     oc_ctx ctx;
 *     oc_ctx_init(&ctx);
 *     oc_model *m = NULL;
 *     oc_status st = oc_model_load_file(&ctx, "in.onnx", NULL, &m);
 *     if (st != OC_OK) {
 *         fprintf(stderr, "%s\n", ctx.msg);     // "in.onnx: truncated ..."
 *         return oc_status_exit_code(st);
 *     }
 *     printf("%zu nodes\n", m->graph->n_nodes);
 *     oc_save_opts so = oc_save_opts_default();
 *     st = oc_model_save_file(&ctx, m, "out.onnx", &so);  // temp file + rename
 *     oc_model_free(m);
 *
 * Ownership: an oc_model owns an arena holding every node, name, attribute
 * and small tensor; oc_model_free() releases it all, including the mappings
 * of the files large tensors borrow from. Functions taking an oc_ctx write a
 * one-line message into it on failure.
 */
#ifndef ONNXCOMP_H
#define ONNXCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OC_VERSION_MAJOR 0
#define OC_VERSION_MINOR 1
#define OC_VERSION_PATCH 0
#define OC_VERSION_STRING "0.1.0"

/* ---- status ----------------------------------------------------------------
 * Values are pinned: they are part of the ABI and map onto the CLI's exit
 * codes through oc_status_exit_code(). */
typedef enum oc_status {
    OC_OK = 0,
    OC_ERR_USAGE = 1,       /* the caller asked for something invalid */
    OC_ERR_READ = 2,        /* an input file cannot be opened or read */
    OC_ERR_INVALID = 3,     /* the input is not a valid ONNX model */
    OC_ERR_WRITE = 4,       /* an output cannot be written */
    OC_ERR_UNSUPPORTED = 5, /* valid ONNX, but a feature onnxcomp lacks */
    OC_ERR_NOMEM = 6,       /* out of memory */
    OC_ERR_INTERNAL = 7,    /* a bug in onnxcomp */
    OC_STATUS_COUNT
} oc_status;

const char *oc_status_name(oc_status st);
/* The CLI's exit code for a status (documented in the README). */
int oc_status_exit_code(oc_status st);

/* A context carries the status and one-line message of the first failure
 * (failure injection for tests is at the end of this header). */
typedef struct oc_ctx {
    char msg[1024];
    oc_status status;
} oc_ctx;

void oc_ctx_init(oc_ctx *ctx);

/* ---- element types -------------------------------------------------------
 * Numbers are ONNX's TensorProto.DataType values. */
typedef enum oc_dtype {
    OC_DTYPE_UNDEFINED = 0,
    OC_DTYPE_FLOAT = 1,
    OC_DTYPE_UINT8 = 2,
    OC_DTYPE_INT8 = 3,
    OC_DTYPE_UINT16 = 4,
    OC_DTYPE_INT16 = 5,
    OC_DTYPE_INT32 = 6,
    OC_DTYPE_INT64 = 7,
    OC_DTYPE_STRING = 8,
    OC_DTYPE_BOOL = 9,
    OC_DTYPE_FLOAT16 = 10,
    OC_DTYPE_DOUBLE = 11,
    OC_DTYPE_UINT32 = 12,
    OC_DTYPE_UINT64 = 13,
    OC_DTYPE_COMPLEX64 = 14,
    OC_DTYPE_COMPLEX128 = 15,
    OC_DTYPE_BFLOAT16 = 16,
    OC_DTYPE_FLOAT8E4M3FN = 17,
    OC_DTYPE_FLOAT8E4M3FNUZ = 18,
    OC_DTYPE_FLOAT8E5M2 = 19,
    OC_DTYPE_FLOAT8E5M2FNUZ = 20,
    OC_DTYPE_UINT4 = 21,
    OC_DTYPE_INT4 = 22,
    OC_DTYPE_FLOAT4E2M1 = 23,
    OC_DTYPE_COUNT
} oc_dtype;

/* Short name ("f32", "i64", ...), or "?" for a number outside the table. */
const char *oc_dtype_name(int dtype);
/* Bits per element (4 for the packed types, 0 for strings/undefined). */
int oc_dtype_bits(int dtype);
bool oc_dtype_valid(int dtype);

/* ---- the IR ---------------------------------------------------------------*/

typedef struct oc_bytes {
    const uint8_t *data;
    size_t len;
} oc_bytes;

/* A field this library does not know, kept to be written back as it came.
 * Layout-compatible with protobuf-c's unknown field. */
typedef struct oc_unknown {
    uint32_t tag;
    int wire_type;
    size_t len;
    uint8_t *data;
} oc_unknown;

typedef struct oc_unknowns {
    size_t n;
    oc_unknown *v;
} oc_unknowns;

typedef struct oc_kv {
    const char *key, *value;
    oc_unknowns unk;
} oc_kv;

typedef struct oc_opset {
    const char *domain; /* NULL when absent; "" is the default domain */
    int64_t version;
    bool has_version;
    oc_unknowns unk;
} oc_opset;

/* A message kept in its serialized form, because onnxcomp reads it but never
 * edits it (sparse tensors, training info, type protos in attributes, ...). */
typedef struct oc_blob {
    uint8_t *data;
    size_t len;
} oc_blob;

/* One dimension: a number, a symbol, or unknown. */
typedef struct oc_dim {
    enum { OC_DIM_UNKNOWN = 0, OC_DIM_VALUE = 1, OC_DIM_PARAM = 2 } kind;
    int64_t value;
    const char *param;
} oc_dim;

/* The type of a value. Tensors (and sparse tensors) have an element type and
 * maybe a shape; sequences, maps and optionals are kept as `kind` only. */
typedef enum oc_type_kind {
    OC_TYPE_NONE = 0,
    OC_TYPE_TENSOR = 1,
    OC_TYPE_SEQUENCE = 4,
    OC_TYPE_MAP = 5,
    OC_TYPE_SPARSE_TENSOR = 8,
    OC_TYPE_OPTIONAL = 9,
} oc_type_kind;

typedef struct oc_type {
    oc_type_kind kind;
    int elem_type;   /* oc_dtype for tensors */
    bool has_shape;
    int ndim;
    oc_dim *dims;
} oc_type;

/* A named value's declared type (graph input, output or value_info). */
typedef struct oc_value {
    const char *name;
    const char *doc_string;
    bool has_type;
    oc_type type;
    /* As loaded: written back unchanged unless `dirty` is set. */
    oc_blob orig;
    bool dirty;
} oc_value;

/* Where a tensor's bytes live. */
typedef enum oc_mem {
    OC_MEM_NONE = 0,     /* no data */
    OC_MEM_ARENA = 1,    /* in the model's arena */
    OC_MEM_HEAP = 2,     /* malloc'd, freed with the model */
    OC_MEM_BORROWED = 3, /* inside a mapped file the model keeps open */
} oc_mem;

/* How a tensor's data was encoded in the file, so it is written back the same
 * way when no pass touched it. */
typedef enum oc_enc {
    OC_ENC_NONE = 0,     /* no data fields at all */
    OC_ENC_RAW = 1,      /* raw_data */
    OC_ENC_TYPED = 2,    /* float_data / int32_data / int64_data / ... */
    OC_ENC_EXTERNAL = 3, /* external data file */
} oc_enc;

typedef struct oc_tensor {
    const char *name;        /* NULL when absent */
    const char *doc_string;
    int dtype;               /* oc_dtype number (may be unknown to us) */
    bool has_dtype;
    int ndim;
    int64_t *dims;
    int64_t numel;           /* product of dims, checked for overflow */
    /* Elements in ONNX raw layout: little-endian, fixed width, bool one byte,
     * 4-bit types packed two per byte (low nibble first). */
    const void *data;        /* may be unaligned when borrowed */
    size_t nbytes;
    oc_mem mem;
    oc_bytes *strings;       /* STRING tensors: numel entries */
    oc_enc enc;
    /* external data as found in the file (for writing back) */
    oc_kv *ext;
    size_t n_ext;
    bool has_data_location;
    int data_location;
    bool has_segment;
    int64_t seg_begin, seg_end;
    bool has_seg_begin, has_seg_end;
    oc_unknowns unk;
} oc_tensor;

typedef enum oc_attr_type {
    OC_ATTR_UNDEFINED = 0,
    OC_ATTR_FLOAT = 1,
    OC_ATTR_INT = 2,
    OC_ATTR_STRING = 3,
    OC_ATTR_TENSOR = 4,
    OC_ATTR_GRAPH = 5,
    OC_ATTR_FLOATS = 6,
    OC_ATTR_INTS = 7,
    OC_ATTR_STRINGS = 8,
    OC_ATTR_TENSORS = 9,
    OC_ATTR_GRAPHS = 10,
    OC_ATTR_SPARSE_TENSOR = 11,
    OC_ATTR_SPARSE_TENSORS = 12,
    OC_ATTR_TYPE_PROTO = 13,
    OC_ATTR_TYPE_PROTOS = 14,
} oc_attr_type;

struct oc_graph;

typedef struct oc_attr {
    const char *name;
    const char *ref_attr_name;
    const char *doc_string;
    bool has_type;
    int type;                /* oc_attr_type */
    bool has_f, has_i, has_s;
    float f;
    int64_t i;
    oc_bytes s;
    oc_tensor *t;
    struct oc_graph *g;
    oc_blob sparse_tensor;   /* serialized SparseTensorProto, len 0 if absent */
    oc_blob tp;              /* serialized TypeProto, len 0 if absent */
    size_t n_floats, n_ints, n_strings, n_tensors, n_graphs;
    size_t n_sparse_tensors, n_type_protos;
    float *floats;
    int64_t *ints;
    oc_bytes *strings;
    oc_tensor **tensors;
    struct oc_graph **graphs;
    oc_blob *sparse_tensors;
    oc_blob *type_protos;
    oc_unknowns unk;
} oc_attr;

typedef struct oc_node {
    const char *name;        /* NULL when absent */
    const char *op_type;
    const char *domain;      /* NULL when absent (= default domain) */
    const char *doc_string;
    size_t n_inputs, n_outputs, n_attrs;
    const char **inputs;     /* "" marks an omitted optional input */
    const char **outputs;
    oc_attr *attrs;
    oc_unknowns unk;
} oc_node;

typedef struct oc_graph {
    const char *name;
    const char *doc_string;
    struct oc_graph *parent; /* enclosing graph for subgraphs, else NULL */
    size_t n_nodes, n_inits, n_sparse_inits, n_inputs, n_outputs;
    size_t n_value_info, n_quant_annotations;
    size_t cap_nodes, cap_inits;
    oc_node **nodes;         /* in file order */
    oc_tensor **inits;
    oc_blob *sparse_inits;
    oc_value **inputs, **outputs, **value_info;
    oc_blob *quant_annotations;
    oc_unknowns unk;
    void *index;             /* name lookup, built on demand (ir/graph.c) */
    struct oc_model *model;
} oc_graph;

typedef struct oc_function {
    const char *name, *domain, *doc_string;
    size_t n_inputs, n_outputs, n_attributes, n_nodes, n_opsets;
    const char **inputs, **outputs, **attributes;
    oc_node **nodes;
    oc_opset *opsets;
    oc_unknowns unk;
} oc_function;

struct oc_arena;
struct oc_mapping;

typedef struct oc_model {
    bool has_ir_version, has_model_version;
    int64_t ir_version, model_version;
    const char *producer_name, *producer_version, *domain, *doc_string;
    size_t n_opsets, n_metadata, n_training_info, n_functions;
    oc_opset *opsets;
    oc_kv *metadata;
    oc_blob *training_info;
    oc_function **functions;
    oc_graph *graph;
    oc_unknowns unk;

    /* where it came from */
    const char *path;        /* as given to load */
    const char *dir;         /* folder external data paths are relative to */
    size_t file_size;
    struct oc_arena *arena;
    struct oc_mapping *maps; /* files large tensors borrow from */
    void **heap;             /* malloc'd tensor buffers, freed with the model */
    size_t n_heap, cap_heap;
    void *names;             /* every value name, for oc_graph_unique_name */
    uint64_t name_counter;
} oc_model;

/* ---- loading ---------------------------------------------------------------*/

typedef struct oc_load_opts {
    /* Leave tensor payloads of at least this many bytes in the mapped file
     * instead of copying them. */
    size_t borrow_min_bytes;
    /* Check the graph (producers, cycles) after loading. */
    bool verify;
} oc_load_opts;

oc_load_opts oc_load_opts_default(void);

/* Reads and checks the model at `path`. On success *out owns everything and
 * is freed with oc_model_free(). On failure *out is NULL and ctx->msg says
 * which file and what is wrong. `opts` may be NULL. */
oc_status oc_model_load_file(oc_ctx *ctx, const char *path,
                             const oc_load_opts *opts, oc_model **out);
void oc_model_free(oc_model *m);

/* ---- writing ----------------------------------------------------------------*/

typedef struct oc_save_opts {
    /* Write tensors of at least this many bytes as external data in
     * "<output file name>.data" beside the output. SIZE_MAX: never (except
     * tensors that were external on load, and models over 2 GiB). */
    size_t external_min_bytes;
    /* Allow the output to be the file the model was loaded from. */
    bool allow_overwrite_input;
    /* Replace an existing output file. */
    bool force;
} oc_save_opts;

oc_save_opts oc_save_opts_default(void);

/* Writes the model to `path` through a temporary file in the same folder,
 * renamed into place once complete. Nothing is left behind on failure. */
oc_status oc_model_save_file(oc_ctx *ctx, const oc_model *m, const char *path,
                             const oc_save_opts *opts);

/* Removes the temporary files of every save in progress, on any thread.
 * Async-signal-safe: for a SIGINT/SIGTERM handler, so an interrupted run
 * leaves no partial output. A save already renaming its files into place
 * is let finish first (its thread holds SIGINT, SIGTERM and SIGHUP off for
 * those few calls), so the output is then complete rather than half
 * replaced. */
void oc_remove_pending_outputs(void);

/* ---- graph queries and edits -------------------------------------------------*/

/* Looks `name` up in g and then in its enclosing graphs. Returns the node
 * producing it (and its output slot), or NULL. */
oc_node *oc_graph_producer(oc_graph *g, const char *name, size_t *slot);
/* The initializer called `name` in g or an enclosing graph, or NULL. */
oc_tensor *oc_graph_initializer(oc_graph *g, const char *name);
/* A weight: an initializer, or the tensor of a Constant node's `value`. */
oc_tensor *oc_graph_weight(oc_graph *g, const char *name);
bool oc_graph_is_input(oc_graph *g, const char *name);
/* Nodes of g that read `name` (subgraphs of g's nodes included as their
 * owning node). Fills up to `cap` entries, returns the total count. */
size_t oc_graph_consumers(oc_graph *g, const char *name, oc_node **out, size_t cap);

/* For g and every body below it: while on, oc_graph_consumers answers from a map of every name's
 * readers built on first use, instead of scanning g per call: for phases
 * that ask about many names. Edits through these functions drop the map
 * (rebuilt on the next call); a caller that writes node inputs directly
 * must leave it off. */
void oc_graph_cache_readers(oc_graph *g, bool on);
/* Topological order of g's nodes (a node's subgraph reads count as its
 * inputs). `order` receives n_nodes indices. Fails with OC_ERR_INVALID on a
 * cycle, naming a node on it. */
oc_status oc_graph_topo_order(oc_ctx *ctx, oc_graph *g, size_t *order);
/* Every node input produced somewhere, no cycle, every output produced;
 * recursively through subgraphs. */
oc_status oc_graph_verify(oc_ctx *ctx, oc_graph *g);

/* Edits. Strings passed in are copied into the model's arena. */
oc_node *oc_graph_add_node(oc_graph *g, size_t at, const char *op_type,
                           const char *domain, const char *name,
                           size_t n_inputs, const char *const *inputs,
                           size_t n_outputs, const char *const *outputs);
oc_attr *oc_node_add_attr(oc_graph *g, oc_node *n, const char *name, int type);
void oc_node_set_input(oc_graph *g, oc_node *n, size_t slot, const char *name);
/* Rewires every reader of `from` in g (and its subgraphs) to `to`. */
size_t oc_graph_rename_uses(oc_graph *g, const char *from, const char *to);
oc_tensor *oc_graph_add_initializer(oc_graph *g, const char *name, int dtype,
                                    int ndim, const int64_t *dims);
/* Replaces the data of t with a buffer the model takes ownership of. */
void oc_tensor_set_data(oc_model *m, oc_tensor *t, void *data, size_t nbytes);
oc_value *oc_graph_add_value_info(oc_graph *g, const char *name, int elem_type,
                                  int ndim, const int64_t *dims);
/* Removes initializer `name` of g, and the graph input of that name IR 3
 * models list beside every initializer. */
void oc_graph_remove_initializer(oc_graph *g, const char *name);
/* Position of node n in g's node list, or g->n_nodes when n is not one of
 * g's own nodes. */
size_t oc_graph_node_index(const oc_graph *g, const oc_node *n);
/* Removes node n from g's node list (n itself stays in the model's arena). */
void oc_graph_remove_node(oc_graph *g, oc_node *n);
/* Removes nodes whose outputs nobody reads (graph outputs are read), then
 * initializers nobody reads. Returns how many items went. */
size_t oc_graph_remove_dead(oc_graph *g);
/* A name not yet used in the model, made from `base`. */
const char *oc_graph_unique_name(oc_graph *g, const char *base);
/* Copies a string into the model's arena. */
const char *oc_model_strdup(oc_model *m, const char *s);
void *oc_model_alloc(oc_model *m, size_t size);

/* ---- tensors -----------------------------------------------------------------*/

/* numel * element size, rounded up for 4-bit types; -1 when unknown. */
int64_t oc_tensor_expected_nbytes(int dtype, int64_t numel);
/* Element i as double (numeric types only). */
double oc_tensor_get(const oc_tensor *t, int64_t i);
/* Number of elements that are exactly zero (numeric types). */
int64_t oc_tensor_count_zeros(const oc_tensor *t);

/* Calls fn for every weight in the model: initializers and Constant
 * `value` tensors, in subgraphs and functions too. */
typedef void (*oc_weight_fn)(void *ud, oc_graph *g, oc_node *constant_node,
                             oc_tensor *t);
void oc_model_foreach_weight(oc_model *m, oc_weight_fn fn, void *ud);
/* Calls fn for every node, subgraphs and function bodies included. */
typedef void (*oc_node_fn)(void *ud, oc_graph *g, oc_node *n);
void oc_model_foreach_node(oc_model *m, oc_node_fn fn, void *ud);

/* Sets (or adds) a metadata_props entry. */
oc_status oc_model_set_metadata(oc_model *m, const char *key, const char *value);

/* Highest opset the model imports for a domain ("" = default), or 0. */
int64_t oc_model_opset(const oc_model *m, const char *domain);

/* ---- running models ----------------------------------------------------------
 * The built-in interpreter, for calibration, `run` and `eval`. */

#define OC_MAX_DIMS 8

/* A runtime tensor. `data` is 64-byte aligned when the library allocated it
 * (then `borrowed` is false and oc_ten_release() frees it). */
typedef struct oc_ten {
    int dtype;                   /* oc_dtype */
    int ndim;
    int64_t dims[OC_MAX_DIMS];
    int64_t numel;
    void *data;
    size_t nbytes;
    bool borrowed;               /* a read-only view the tensor does not own */
    oc_bytes *strings;           /* STRING tensors only (borrowed) */
} oc_ten;

void oc_ten_release(oc_ten *t);
/* A new tensor with its own zeroed storage; numel and size are checked. */
oc_status oc_ten_new(oc_ctx *ctx, oc_ten *t, int dtype, int ndim, const int64_t *dims);

/* Reads a file holding one serialized TensorProto (ONNX test data). The
 * tensor's name, if any, is copied into name (may be NULL). */
oc_status oc_ten_load_pb(oc_ctx *ctx, const char *path, oc_ten *out, char *name, size_t name_cap);

typedef struct oc_session oc_session;

typedef struct oc_run_opts {
    int threads;                 /* 0: all cores */
} oc_run_opts;

/* Plans the model for running: orders every graph, resolves names through
 * scopes and finds a kernel for every node (subgraphs included). An op or
 * attribute the interpreter lacks fails here, naming the node. The session
 * borrows the model, which must outlive it. */
/* OpenBLAS starts its thread pool as the program loads, and each pool
 * thread spins (sched_yield) for about 0.1 s waiting for work: on a short
 * run, a core taken from the interpreter's own threads (calibration runs
 * whole samples side by side, one single-threaded session each). A program
 * may call this first thing in main: the pool stops, and sessions asking
 * for a thread count set it, those with threads = 0 OpenBLAS's original
 * one. A no-op with a BLAS that has no such pool. */
void oc_blas_park(void);
oc_status oc_session_new(oc_ctx *ctx, oc_model *m, const oc_run_opts *opts, oc_session **out);
void oc_session_free(oc_session *s);
/* The graph inputs that are not initializers, in order; the outputs. */
size_t oc_session_n_inputs(const oc_session *s);
const oc_value *oc_session_input(const oc_session *s, size_t i);
size_t oc_session_n_outputs(const oc_session *s);
const oc_value *oc_session_output(const oc_session *s, size_t i);
/* Runs once. inputs[] in oc_session_input order, checked against the
 * declared types and fixed dims; outputs[] receive new tensors the caller
 * releases. */
oc_status oc_session_run(oc_ctx *ctx, oc_session *s, const oc_ten *inputs, oc_ten *outputs);
/* Called with every value the main graph computes, as it is computed
 * (calibration statistics), and with the values of If/Loop/Scan bodies:
 * what their nodes compute and the inputs each run binds (loop-carried
 * state, scan slices), every iteration of a Loop or Scan. The name is the
 * only key: a subgraph value is reported only when no other graph of the
 * model defines its name (sibling If branches may reuse one, a body may
 * shadow an outer name), so a reported name always means one value. A body
 * that does not run (the If branch not taken) reports nothing. */
typedef void (*oc_observe_fn)(void *ud, const char *name, const oc_ten *t);
void oc_session_set_observer(oc_session *s, oc_observe_fn fn, void *ud);

/* ---- layer statistics ----------------------------------------------------------
 * One entry per Conv, ConvTranspose, Gemm, MatMul (and ConvInteger/
 * MatMulInteger) of the main graph whose second input is a weight (an
 * initializer, a Constant, or either behind a DequantizeLinear). */
typedef struct oc_layer_stats {
    const char *name, *op_type, *weight; /* borrowed from the model */
    int64_t params;   /* weight (+ bias) elements */
    int64_t zeros;    /* weight elements exactly zero (integer weights: equal to their zero point) */
    bool quantized;   /* the weight is stored as integers */
    int64_t macs;     /* multiply-accumulates per run at the probed shapes; -1 unknown */
    int w_ndim, in_ndim, out_ndim;
    int64_t w_dims[OC_MAX_DIMS], in_dims[OC_MAX_DIMS], out_dims[OC_MAX_DIMS];
} oc_layer_stats;

/* Fills *out (free it with oc_layer_stats_free) with the model's layers. MACs come from running
 * the main graph once on zero inputs, symbolic dims set to 1 (pin them on
 * the model first for other sizes); when that run fails, or `run` is false,
 * every macs is -1 and `why` receives the reason. */
oc_status oc_model_layer_stats(oc_ctx *ctx, oc_model *m, bool run, oc_layer_stats **out, size_t *n, char *why,
                               size_t why_cap);
void oc_layer_stats_free(oc_layer_stats *v);

/* ---- sample data ------------------------------------------------------------
 * Sample data for the interpreter (`--data SRC` of `onnxcomp run`, `eval` and
 * calibration).
 *
 * A data source is opened against the model's inputs (the graph inputs that
 * are not initializers, in order) and yields one tensor per input for each
 * sample, already shaped, typed and normalized to fit. What SRC holds is told
 * from what is there:
 *   - a folder of .npy files (one per input) = one sample, or a folder of such
 *     folders = one sample each (optional labels.txt: one integer per sample);
 *   - ONNX test data: a test_data_set_N folder (input_0.pb ...), or a folder
 *     holding test_data_set_* folders;
 *   - an IDX images file (MNIST style, maybe .gz) with its sibling labels file;
 *   - a folder of PNG/JPEG images, or of class sub-folders of images;
 *   - a single .npy, .pb, PNG or JPEG file = one sample of a one-input model.
 *
 * A worked example: feed every calibration sample of a folder to a session.
 *
 *     oc_data_opts o = oc_data_opts_default();
 *     o.split = 1;                       // the calibration part
 *     const oc_value *ins[8];
 *     size_t n = oc_session_n_inputs(s);
 *     for (size_t i = 0; i < n; i++) ins[i] = oc_session_input(s, i);
 *     oc_dataset *d = NULL;
 *     if (oc_dataset_open(&ctx, "images/", n, ins, &o, &d) != OC_OK) return ...;
 *     for (size_t i = 0; i < oc_dataset_count(d); i++) {
 *         oc_ten in[8] = {0}, out[8] = {0};
 *         int64_t label;
 *         if (oc_dataset_get(&ctx, d, i, in, &label) != OC_OK) break; // names the file
 *         oc_session_run(&ctx, s, in, out);
 *         ...
 *         for (size_t k = 0; k < n; k++) oc_ten_release(&in[k]);
 *     }
 *     oc_dataset_free(d);
 *
 * Errors name the file and the input: "a/x.npy: input 'img': shape [1,3,32,32]
 * does not fit the input's [N,3,224,224]". Samples come sorted by name (byte
 * order) so runs are deterministic; the calibration and evaluation parts of a
 * split never overlap. oc_dataset_get() keeps no state between calls, so
 * different samples may be read from several threads at once.
 */
typedef struct oc_data_opts {
    /* images: 0 = from the model input's shape (channels 1 or 3 at axis 1 =>
     * NCHW, else at the last axis => NHWC), 1 = NCHW, 2 = NHWC */
    int layout;
    /* images: 0 = take H, W from the model input's fixed dims (an error when
     * they are symbolic and not given here) */
    int resize_w, resize_h;
    bool bgr;                /* images: channel order BGR instead of RGB */
    float scale;             /* pixel (0..255) times scale; default 1/255 */
    /* then (x - mean[c]) / std[c], c in the output channel order (BGR when
     * bgr is set); defaults 0 and 1. Grey inputs use [0]. IDX pixels use [0]. */
    float mean[3], std[3];
    size_t limit;            /* at most this many samples (0 = all), after the split */
    int split;               /* 0 = all samples; 1 = the calibration part; 2 = the evaluation part */
    double split_frac;       /* share of samples in the calibration part (default 0.5) */
    uint64_t seed;           /* shuffle seed of the split (0: a fixed constant) */
} oc_data_opts;

oc_data_opts oc_data_opts_default(void);

typedef struct oc_dataset oc_dataset;

/* Opens SRC for a model whose inputs (non-initializer graph inputs, in
 * order) are given; `o` may be NULL for the defaults. The dataset copies what
 * it needs from `inputs`. Checks the layout of SRC, every .npy header and the
 * first selected sample, so a source that does not fit fails here. On
 * success *out is freed with oc_dataset_free(). An empty selection is an
 * error (OC_ERR_USAGE). */
oc_status oc_dataset_open(oc_ctx *ctx, const char *src, size_t n_inputs, const oc_value *const *inputs,
                          const oc_data_opts *o, oc_dataset **out);
/* Samples selected (after split and limit). */
size_t oc_dataset_count(const oc_dataset *d);
bool oc_dataset_has_labels(const oc_dataset *d);
/* Fills inputs[0..n_inputs) with new tensors (the caller releases them with
 * oc_ten_release) for sample i < oc_dataset_count(d); *label (may be NULL)
 * receives the class index, or -1 without labels. On failure nothing is left
 * allocated in inputs[]. */
oc_status oc_dataset_get(oc_ctx *ctx, oc_dataset *d, size_t i, oc_ten *inputs, int64_t *label);
/* The sample's file or folder path, or "idx:<index in the file>"; NULL when
 * i is out of range. Owned by the dataset. */
const char *oc_dataset_sample_name(const oc_dataset *d, size_t i);
void oc_dataset_free(oc_dataset *d);
/* What SRC was taken for: "npy", "ONNX test data", "IDX" or "image". */
const char *oc_dataset_kind_name(const oc_dataset *d);

/* Reads a NumPy .npy file (versions 1.0, 2.0, 3.0; little-endian
 * f2 f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1; C order; rank <= OC_MAX_DIMS) into a
 * new tensor the caller releases. */
oc_status oc_npy_read(oc_ctx *ctx, const char *path, oc_ten *out);
/* Writes t as a version 1.0 .npy file through a temporary file in the same
 * folder, renamed into place when complete (an existing file is replaced).
 * Types numpy lacks are written as their bits, as ONNX's test data does:
 * bfloat16 as <u2, float8 as |u1; INT4/UINT4/FLOAT4E2M1 one element per
 * byte (|i1 sign-extended, |u1, |u1 codes). Strings are refused. */
oc_status oc_npy_write(oc_ctx *ctx, const char *path, const oc_ten *t);

/* ---- the compression pipeline ---------------------------------------------------
 * Passes are named with options, "weight:bits=4,block=32"; prune passes run
 * before quant passes, each stage in the order given. */

typedef struct oc_pipeline oc_pipeline;

typedef struct oc_pipeline_opts {
    const char *data_src;            /* samples for passes that need them */
    oc_data_opts data;
    int threads;                     /* interpreter threads (0: all cores) */
    const char *const *exclude_ops;  /* op types left in float */
    size_t n_exclude_ops;
    const char *const *exclude_nodes; /* node names left in float */
    size_t n_exclude_nodes;
    const char *const *only_nodes;   /* when non-empty: only these nodes */
    size_t n_only_nodes;
    bool keep_first_last;            /* first and last weighted layers stay float */
} oc_pipeline_opts;

oc_pipeline_opts oc_pipeline_opts_default(void);

typedef struct oc_pipeline_report {
    size_t weights_quantized;        /* weight tensors stored as integers */
    size_t weights_skipped;
    size_t activations_quantized;    /* QuantizeLinear/DequantizeLinear pairs */
    size_t nodes_quantized;          /* ops whose inputs are all quantized */
    int64_t weight_bytes_before, weight_bytes_after;
    size_t layers_pruned;            /* layers a prune pass changed */
    int64_t weights_zero;            /* of their weights, how many are zero */
    int64_t weights_prunable;        /* ... out of how many */
    int64_t channels_removed;        /* output channels the channel pass removed */
    size_t groups_skipped;           /* channel groups it had to leave alone */
    size_t groups_approx;            /* channel groups it pruned through a normalisation (norm=approx):
                                      * their outputs are approximate */
    char notices[4096];              /* one notice per line */
    size_t notices_len;
} oc_pipeline_report;

oc_pipeline *oc_pipeline_new(void);
void oc_pipeline_free(oc_pipeline *p);
/* Adds a pass of `stage` ("prune" or "quant") from "NAME[:key=value,...]".
 * A bad name, option or value fails naming the pass, the option and what it
 * accepts. */
oc_status oc_pipeline_add(oc_ctx *ctx, oc_pipeline *p, const char *stage, const char *spec);
/* Sets option `key` of every `stage` `pass` step already added to `value`
 * (for a command-line flag standing for it, named `flag` in errors): a
 * usage error when no such step is there, or one gave the key another
 * value. */
oc_status oc_pipeline_set(oc_ctx *ctx, oc_pipeline *p, const char *stage, const char *pass, const char *key,
                          const char *value, const char *flag);
size_t oc_pipeline_size(const oc_pipeline *p);
/* Whether some pass needs samples (--data). */
bool oc_pipeline_needs_data(const oc_pipeline *p, const char **which);
/* Runs the passes over m. `o` and `rep` may be NULL. */
oc_status oc_pipeline_run(oc_ctx *ctx, oc_pipeline *p, oc_model *m, const oc_pipeline_opts *o,
                          oc_pipeline_report *rep);
/* The canonical text of the pipeline, for the model's metadata. */
void oc_pipeline_text(const oc_pipeline *p, char *buf, size_t cap);
/* Every pass with its options, defaults and ranges (for --help). */
void oc_pipeline_describe(char *buf, size_t cap);

/* ---- failure injection (for tests) ---------------------------------------------
 * Process-wide switches that make the library fail on purpose, so a test can
 * check that every failure ends in a clean error: the right status, no leak,
 * no file left behind. They count from the call on; which call is "the Nth"
 * is reproducible when one thread runs the library (interpreter threads = 1).
 * Not for production use.
 *
 * A worked example: every allocation of a load + save failing in turn.
 *
 *     for (uint64_t n = 1;; n++) {
 *         oc_alloc_fail_at(n);
 *         oc_status st = load_and_save(...);      // expect OC_ERR_NOMEM
 *         uint64_t made = oc_alloc_fail_at(0);
 *         if (made < n) break;                    // nothing failed: done
 *     }
 */

/* Makes the nth allocation from now on (1 = the next) and every one after
 * it fail, as a machine out of memory would; 0 turns failures off. Returns
 * how many allocations were attempted since the previous call. */
uint64_t oc_alloc_fail_at(uint64_t nth);
/* The same, but only the nth allocation fails; the ones after succeed (for
 * code that must not swallow a failure and go on as if it had succeeded). */
uint64_t oc_alloc_fail_once(uint64_t nth);
/* Makes the writer's nth file-system call from now on (creating, writing,
 * closing, linking or renaming a file of oc_model_save_file) and every one
 * after it fail with errno `err` (ENOSPC for a full disk, EIO...; 0 means
 * EIO); nth 0 turns failures off. Returns how many such calls were made
 * since the previous call. */
uint64_t oc_io_fail_at(uint64_t nth, int err);

#ifdef __cplusplus
}
#endif
#endif
