/* oc_proto.h: the one place lib/ includes protobuf-c's generated ONNX code.
 *
 * Only lib/onnx/ (load and write) includes this; the rest of the library sees
 * our own IR. The generated header lives in build/gen and comes from the
 * system's onnx.proto. */
#ifndef OC_PROTO_H
#define OC_PROTO_H

#include <protobuf-c/protobuf-c.h>
#include "onnx.pb-c.h"

#if PROTOBUF_C_VERSION_NUMBER < 1003000
#error "onnxcomp needs protobuf-c 1.3 or newer"
#endif

#endif
