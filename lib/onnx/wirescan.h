/* wirescan.h: the pre-pass over protobuf bytes (see wirescan.c). */
#ifndef OC_WIRESCAN_H
#define OC_WIRESCAN_H

#include "../common/common.h"

/* The field number of the marker that stands for a stripped raw_data in the
 * skeleton. It is far above any ONNX field; a file using it is refused. */
#define OC_WIRE_MARK_FIELD 536870000u

typedef struct oc_wire_skel {
    const uint8_t *data; /* the skeleton: the file itself when nothing changed */
    size_t len;
    uint8_t *owned;      /* non-NULL when data was allocated */
    size_t n_stripped;
    uint64_t stripped_bytes;
} oc_wire_skel;

/* Checks buf as a ModelProto and builds its skeleton; raw_data payloads of
 * at least min_bytes (0: none) become markers. */
oc_status oc_wire_skeleton(oc_ctx *ctx, const char *path, const uint8_t *buf, size_t n,
                           size_t min_bytes, oc_wire_skel *out);
void oc_wire_skel_free(oc_wire_skel *sk);
/* Decodes a marker's body: payload offset and length in the file. */
bool oc_wire_parse_marker(const uint8_t *data, size_t len, uint64_t *off, uint64_t *plen);

#endif
