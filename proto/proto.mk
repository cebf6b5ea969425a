# proto.mk: how the ONNX schema becomes C.
#
# The schema is the one Debian's libonnx-dev installs; protoc-c turns it into
# build/gen/onnx.pb-c.{c,h} at build time. Nothing generated is committed, and
# nothing here is a copy of the schema.
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
PROTOC_C   ?= protoc-c
GEN_DIR    := $(BUILD)/gen

$(GEN_DIR)/onnx.pb-c.c $(GEN_DIR)/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(GEN_DIR)
	@test -r $(ONNX_PROTO) || { echo "missing $(ONNX_PROTO): apt-get install libonnx-dev (scripts/setup.sh does)"; exit 1; }
	$(PROTOC_C) --c_out=$(GEN_DIR) -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)
