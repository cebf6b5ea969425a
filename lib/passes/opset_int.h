/* opset_int.h: what opset.c (the upgrade) and opset_table.c (each
 * operator's version history) share. Private to those two files. */
#ifndef OC_PASSES_OPSET_INT_H
#define OC_PASSES_OPSET_INT_H

#include "opset.h"

#include <stdint.h>

typedef enum adapter {
    AD_NEW = 0, /* the operator's first version */
    AD_SAME,
    AD_NONE,
    AD_REMOVED,
    AD_CONSUMED6,  /* `consumed_inputs` (legacy memory hint) dropped */
    AD_BCAST7,     /* `broadcast`/`axis` legacy broadcasting -> numpy rules */
    AD_GEMM7,      /* Gemm `broadcast` dropped: C always broadcasts */
    AD_PRELU7,     /* slope broadcasts numpy-style */
    AD_BN7,        /* `is_test` dropped: the outputs present decide the mode */
    AD_DROPOUT7,   /* `is_test` dropped */
    AD_RNN7,       /* `output_sequence` dropped: Y is produced when named */
    AD_BN9,        /* `spatial` dropped */
    AD_BN14,       /* training outputs redefined */
    AD_DROPOUT10,  /* mask becomes bool */
    AD_DROPOUT12,  /* `ratio` becomes an input */
    AD_CAST6,      /* `to` becomes a number */
    AD_CONCAT4,    /* `axis` becomes required (was 1 by default) */
    AD_RESHAPE5,   /* `shape` becomes an input */
    AD_LPPOOL2,    /* `p` becomes an integer */
    AD_PAD2,       /* `paddings` renamed `pads` */
    AD_SPLIT2,     /* the `split` input goes; only the attribute stays */
    AD_SLICE10,    /* starts/ends/axes become inputs */
    AD_TOPK10,     /* `k` becomes an input */
    AD_CLIP11,     /* min/max become inputs */
    AD_PAD11,      /* pads/value become inputs */
    AD_SCATTER11,  /* Scatter deprecated: ScatterElements */
    AD_ONEHOT11,   /* negative indices start counting from the back */
    AD_SOFTMAX13,  /* no more flattening to 2-D around `axis` */
    AD_SPLIT13,    /* `split` becomes an input */
    AD_AXES_INPUT, /* `axes` becomes an input (Squeeze/Unsqueeze/Reduce*) */
    AD_SPLIT18,    /* equal parts need `num_outputs` */
    AD_UPSAMPLE7,  /* height_scale/width_scale become `scales` */
    AD_UPSAMPLE9,  /* `scales` becomes an input */
    AD_UPSAMPLE10, /* Upsample deprecated: Resize */
    AD_RESIZE11,   /* roi input, coordinate transformation, nearest rounding */
    AD_RESIZE13,   /* tf_half_pixel_for_nn no longer defined */
    AD_ROIALIGN16, /* the default coordinate transformation changed */
    AD_GRIDSAMPLE20, /* modes renamed */
    AD_GROUPNORM21,  /* scale/bias per channel instead of per group */
    AD_COUNT
} adapter;

typedef struct step {
    uint8_t since;
    uint8_t ad; /* adapter */
} step;

typedef struct op_history {
    const char *op;
    step steps[8]; /* ascending, ended by since 0 */
} op_history;

/* The history of default-domain operator `op`, or NULL when it is not one. */
const op_history *oc_opset_history_find(const char *op);

#endif
