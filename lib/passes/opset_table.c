/* opset_table.c: for every operator of the ONNX default domain up to
 * OC_OPSET_MAX, each opset version that redefined it and the adapter that
 * carries a node over that change (see opset.c), and the IR version each
 * opset needs. */
#include "opset_int.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Sorted by name (strcmp) for bsearch. Versions past OC_OPSET_MAX are not
 * listed. What the AD_SAME (S) steps changed, none of which a node written
 * for the older definition can notice:
 *   - element types added: bfloat16 (13 and some later), int8/uint8 (12,
 *     14), strings (9, 19), float8 (19, 20), int4 (21), sequences and
 *     optionals (13, 16), wider numeric sets (6, 9, 11, 12, 15, 16);
 *   - optional attributes whose default is the old behaviour:
 *     AveragePool count_include_pad (7), ceil_mode (10), dilations (10, 19);
 *     MaxPool storage_order and the Indices output (8); ArgMax/ArgMin
 *     select_last_index (12); DepthToSpace mode (11, DCR); TopK largest and
 *     sorted (11); GatherND batch_dims (12); Reshape allowzero (14);
 *     GRU linear_before_reset (3) and layout (14, also LSTM/RNN); Shape
 *     start/end (15); ScatterND/ScatterElements reduction (16, 18); Resize
 *     antialias/axes/keep_aspect_ratio_policy (18) and half_pixel_symmetric
 *     (19); Pad axes (18) and wrap (19); Quantize/DequantizeLinear axis (13),
 *     saturate (19), block_size/output_dtype (21); LpPool ceil_mode (18);
 *     Cast saturate (19);
 *   - inputs that became optional (Gemm C at 11), or inputs accepted in more
 *     forms (OptionalGetElement/HasElement at 18);
 *   - what was undefined became defined: negative axes and indices (11),
 *     numpy broadcasting where all inputs had to share a shape (Max, Min,
 *     Sum, Mean at 8), then/else branches of different shapes (If 11),
 *     clarified padding wording (Conv, ConvTranspose, pools, MaxUnpool at
 *     11), Constant's value_* and sparse_value forms (11, 12). */
#define N AD_NEW
#define S AD_SAME
static const op_history history[] = {
    {"ATen", {{1, N}, {10, AD_REMOVED}}},
    {"Abs", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"Acos", {{7, N}}},
    {"Acosh", {{9, N}}},
    {"Add", {{1, N}, {6, AD_CONSUMED6}, {7, AD_BCAST7}, {13, S}, {14, S}}},
    {"Affine", {{1, N}, {10, AD_REMOVED}}},
    {"AffineGrid", {{20, N}}},
    {"And", {{1, N}, {7, AD_BCAST7}}},
    {"ArgMax", {{1, N}, {11, S}, {12, S}, {13, S}}},
    {"ArgMin", {{1, N}, {11, S}, {12, S}, {13, S}}},
    {"Asin", {{7, N}}},
    {"Asinh", {{9, N}}},
    {"Atan", {{7, N}}},
    {"Atanh", {{9, N}}},
    {"AveragePool", {{1, N}, {7, S}, {10, S}, {11, S}, {19, S}}},
    {"BatchNormalization", {{1, N}, {6, AD_CONSUMED6}, {7, AD_BN7}, {9, AD_BN9}, {14, AD_BN14}, {15, S}}},
    {"Bernoulli", {{15, N}}},
    {"BitShift", {{11, N}}},
    {"BitwiseAnd", {{18, N}}},
    {"BitwiseNot", {{18, N}}},
    {"BitwiseOr", {{18, N}}},
    {"BitwiseXor", {{18, N}}},
    {"BlackmanWindow", {{17, N}}},
    {"Cast", {{1, N}, {6, AD_CAST6}, {9, S}, {13, S}, {19, S}, {21, S}}},
    {"CastLike", {{15, N}, {19, S}, {21, S}}},
    {"Ceil", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"Celu", {{12, N}}},
    {"CenterCropPad", {{18, N}}},
    {"Clip", {{1, N}, {6, AD_CONSUMED6}, {11, AD_CLIP11}, {12, S}, {13, S}}},
    {"Col2Im", {{18, N}}},
    {"Compress", {{9, N}, {11, S}}},
    {"Concat", {{1, N}, {4, AD_CONCAT4}, {11, S}, {13, S}}},
    {"ConcatFromSequence", {{11, N}}},
    {"Constant", {{1, N}, {9, S}, {11, S}, {12, S}, {13, S}, {19, S}, {21, S}}},
    {"ConstantFill", {{1, N}, {10, AD_REMOVED}}},
    {"ConstantOfShape", {{9, N}, {20, S}, {21, S}}},
    {"Conv", {{1, N}, {11, S}}},
    {"ConvInteger", {{10, N}}},
    {"ConvTranspose", {{1, N}, {11, S}}},
    {"Cos", {{7, N}}},
    {"Cosh", {{9, N}}},
    {"Crop", {{1, N}, {10, AD_REMOVED}}},
    {"CumSum", {{11, N}, {14, S}}},
    {"DFT", {{17, N}, {20, AD_NONE}}},
    {"DeformConv", {{19, N}}},
    {"DepthToSpace", {{1, N}, {11, S}, {13, S}}},
    {"DequantizeLinear", {{10, N}, {13, S}, {19, S}, {21, S}}},
    {"Det", {{11, N}}},
    {"Div", {{1, N}, {6, AD_CONSUMED6}, {7, AD_BCAST7}, {13, S}, {14, S}}},
    {"Dropout", {{1, N}, {6, AD_CONSUMED6}, {7, AD_DROPOUT7}, {10, AD_DROPOUT10}, {12, AD_DROPOUT12}, {13, S}}},
    {"DynamicQuantizeLinear", {{11, N}}},
    {"DynamicSlice", {{1, N}, {10, AD_REMOVED}}},
    {"Einsum", {{12, N}}},
    {"Elu", {{1, N}, {6, AD_CONSUMED6}}},
    {"Equal", {{1, N}, {7, AD_BCAST7}, {11, S}, {13, S}, {19, S}}},
    {"Erf", {{9, N}, {13, S}}},
    {"Exp", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"Expand", {{8, N}, {13, S}}},
    {"EyeLike", {{9, N}}},
    {"Flatten", {{1, N}, {9, S}, {11, S}, {13, S}, {21, S}}},
    {"Floor", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"GRU", {{1, N}, {3, S}, {7, AD_RNN7}, {14, S}}},
    {"GRUUnit", {{1, N}, {10, AD_REMOVED}}},
    {"Gather", {{1, N}, {11, S}, {13, S}}},
    {"GatherElements", {{11, N}, {13, S}}},
    {"GatherND", {{11, N}, {12, S}, {13, S}}},
    {"Gelu", {{20, N}}},
    {"Gemm", {{1, N}, {6, AD_CONSUMED6}, {7, AD_GEMM7}, {9, S}, {11, S}, {13, S}}},
    {"GivenTensorFill", {{1, N}, {10, AD_REMOVED}}},
    {"GlobalAveragePool", {{1, N}}},
    {"GlobalLpPool", {{1, N}, {2, AD_LPPOOL2}}},
    {"GlobalMaxPool", {{1, N}}},
    {"Greater", {{1, N}, {7, AD_BCAST7}, {9, S}, {13, S}}},
    {"GreaterOrEqual", {{12, N}, {16, S}}},
    {"GridSample", {{16, N}, {20, AD_GRIDSAMPLE20}}},
    {"GroupNormalization", {{18, N}, {21, AD_GROUPNORM21}}},
    {"HammingWindow", {{17, N}}},
    {"HannWindow", {{17, N}}},
    {"HardSigmoid", {{1, N}, {6, AD_CONSUMED6}}},
    {"HardSwish", {{14, N}}},
    {"Hardmax", {{1, N}, {11, S}, {13, AD_SOFTMAX13}}},
    {"Identity", {{1, N}, {13, S}, {14, S}, {16, S}, {19, S}, {21, S}}},
    {"If", {{1, N}, {11, S}, {13, S}, {16, S}, {19, S}, {21, S}}},
    {"ImageDecoder", {{20, N}}},
    {"ImageScaler", {{1, N}, {10, AD_REMOVED}}},
    {"InstanceNormalization", {{1, N}, {6, AD_CONSUMED6}}},
    {"IsInf", {{10, N}, {20, S}}},
    {"IsNaN", {{9, N}, {13, S}, {20, S}}},
    {"LRN", {{1, N}, {13, S}}},
    {"LSTM", {{1, N}, {7, AD_RNN7}, {14, S}}},
    {"LayerNormalization", {{17, N}}},
    {"LeakyRelu", {{1, N}, {6, AD_CONSUMED6}, {16, S}}},
    {"Less", {{1, N}, {7, AD_BCAST7}, {9, S}, {13, S}}},
    {"LessOrEqual", {{12, N}, {16, S}}},
    {"Log", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"LogSoftmax", {{1, N}, {11, S}, {13, AD_SOFTMAX13}}},
    {"Loop", {{1, N}, {11, S}, {13, S}, {16, S}, {19, S}, {21, S}}},
    {"LpNormalization", {{1, N}}},
    {"LpPool", {{1, N}, {2, AD_LPPOOL2}, {11, S}, {18, S}}},
    {"MatMul", {{1, N}, {9, S}, {13, S}}},
    {"MatMulInteger", {{10, N}}},
    {"Max", {{1, N}, {6, AD_CONSUMED6}, {8, S}, {12, S}, {13, S}}},
    {"MaxPool", {{1, N}, {8, S}, {10, S}, {11, S}, {12, S}}},
    {"MaxRoiPool", {{1, N}}},
    {"MaxUnpool", {{9, N}, {11, S}}},
    {"Mean", {{1, N}, {6, AD_CONSUMED6}, {8, S}, {13, S}}},
    {"MeanVarianceNormalization", {{9, N}, {13, S}}},
    {"MelWeightMatrix", {{17, N}}},
    {"Min", {{1, N}, {6, AD_CONSUMED6}, {8, S}, {12, S}, {13, S}}},
    {"Mish", {{18, N}}},
    {"Mod", {{10, N}, {13, S}}},
    {"Mul", {{1, N}, {6, AD_CONSUMED6}, {7, AD_BCAST7}, {13, S}, {14, S}}},
    {"Multinomial", {{7, N}}},
    {"Neg", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"NegativeLogLikelihoodLoss", {{12, N}, {13, S}}},
    {"NonMaxSuppression", {{10, N}, {11, S}}},
    {"NonZero", {{9, N}, {13, S}}},
    {"Not", {{1, N}}},
    {"OneHot", {{9, N}, {11, AD_ONEHOT11}}},
    {"Optional", {{15, N}}},
    {"OptionalGetElement", {{15, N}, {18, S}}},
    {"OptionalHasElement", {{15, N}, {18, S}}},
    {"Or", {{1, N}, {7, AD_BCAST7}}},
    {"PRelu", {{1, N}, {6, AD_CONSUMED6}, {7, AD_PRELU7}, {9, S}, {16, S}}},
    {"Pad", {{1, N}, {2, AD_PAD2}, {11, AD_PAD11}, {13, S}, {18, S}, {19, S}, {21, S}}},
    {"ParametricSoftplus", {{1, N}, {10, AD_REMOVED}}},
    {"Pow", {{1, N}, {7, AD_BCAST7}, {12, S}, {13, S}, {15, S}}},
    {"QLinearConv", {{10, N}}},
    {"QLinearMatMul", {{10, N}, {21, S}}},
    {"QuantizeLinear", {{10, N}, {13, S}, {19, S}, {21, S}}},
    {"RNN", {{1, N}, {7, AD_RNN7}, {14, S}}},
    {"RandomNormal", {{1, N}}},
    {"RandomNormalLike", {{1, N}}},
    {"RandomUniform", {{1, N}}},
    {"RandomUniformLike", {{1, N}}},
    {"Range", {{11, N}}},
    {"Reciprocal", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"ReduceL1", {{1, N}, {11, S}, {13, S}, {18, AD_AXES_INPUT}}},
    {"ReduceL2", {{1, N}, {11, S}, {13, S}, {18, AD_AXES_INPUT}}},
    {"ReduceLogSum", {{1, N}, {11, S}, {13, S}, {18, AD_AXES_INPUT}}},
    {"ReduceLogSumExp", {{1, N}, {11, S}, {13, S}, {18, AD_AXES_INPUT}}},
    {"ReduceMax", {{1, N}, {11, S}, {12, S}, {13, S}, {18, AD_AXES_INPUT}, {20, S}}},
    {"ReduceMean", {{1, N}, {11, S}, {13, S}, {18, AD_AXES_INPUT}}},
    {"ReduceMin", {{1, N}, {11, S}, {12, S}, {13, S}, {18, AD_AXES_INPUT}, {20, S}}},
    {"ReduceProd", {{1, N}, {11, S}, {13, S}, {18, AD_AXES_INPUT}}},
    {"ReduceSum", {{1, N}, {11, S}, {13, AD_AXES_INPUT}}},
    {"ReduceSumSquare", {{1, N}, {11, S}, {13, S}, {18, AD_AXES_INPUT}}},
    {"RegexFullMatch", {{20, N}}},
    {"Relu", {{1, N}, {6, AD_CONSUMED6}, {13, S}, {14, S}}},
    {"Reshape", {{1, N}, {5, AD_RESHAPE5}, {13, S}, {14, S}, {19, S}, {21, S}}},
    {"Resize", {{10, N}, {11, AD_RESIZE11}, {13, AD_RESIZE13}, {18, S}, {19, S}}},
    {"ReverseSequence", {{10, N}}},
    {"RoiAlign", {{10, N}, {16, AD_ROIALIGN16}}},
    {"Round", {{11, N}}},
    {"STFT", {{17, N}}},
    {"Scale", {{1, N}, {10, AD_REMOVED}}},
    {"ScaledTanh", {{1, N}, {10, AD_REMOVED}}},
    {"Scan", {{8, N}, {9, AD_NONE}, {11, S}, {16, S}, {19, S}, {21, S}}},
    {"Scatter", {{9, N}, {11, AD_SCATTER11}}},
    {"ScatterElements", {{11, N}, {13, S}, {16, S}, {18, S}}},
    {"ScatterND", {{11, N}, {13, S}, {16, S}, {18, S}}},
    {"Selu", {{1, N}, {6, AD_CONSUMED6}}},
    {"SequenceAt", {{11, N}}},
    {"SequenceConstruct", {{11, N}}},
    {"SequenceEmpty", {{11, N}}},
    {"SequenceErase", {{11, N}}},
    {"SequenceInsert", {{11, N}}},
    {"SequenceLength", {{11, N}}},
    {"SequenceMap", {{17, N}}},
    {"Shape", {{1, N}, {13, S}, {15, S}, {19, S}, {21, S}}},
    {"Shrink", {{9, N}}},
    {"Sigmoid", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"Sign", {{9, N}, {13, S}}},
    {"Sin", {{7, N}}},
    {"Sinh", {{9, N}}},
    {"Size", {{1, N}, {13, S}, {19, S}, {21, S}}},
    {"Slice", {{1, N}, {10, AD_SLICE10}, {11, S}, {13, S}}},
    {"Softmax", {{1, N}, {11, S}, {13, AD_SOFTMAX13}}},
    {"SoftmaxCrossEntropyLoss", {{12, N}, {13, S}}},
    {"Softplus", {{1, N}}},
    {"Softsign", {{1, N}}},
    {"SpaceToDepth", {{1, N}, {13, S}}},
    {"Split", {{1, N}, {2, AD_SPLIT2}, {11, S}, {13, AD_SPLIT13}, {18, AD_SPLIT18}}},
    {"SplitToSequence", {{11, N}}},
    {"Sqrt", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"Squeeze", {{1, N}, {11, S}, {13, AD_AXES_INPUT}, {21, S}}},
    {"StringConcat", {{20, N}}},
    {"StringNormalizer", {{10, N}}},
    {"StringSplit", {{20, N}}},
    {"Sub", {{1, N}, {6, AD_CONSUMED6}, {7, AD_BCAST7}, {13, S}, {14, S}}},
    {"Sum", {{1, N}, {6, AD_CONSUMED6}, {8, S}, {13, S}}},
    {"Tan", {{7, N}}},
    {"Tanh", {{1, N}, {6, AD_CONSUMED6}, {13, S}}},
    {"TfIdfVectorizer", {{9, N}}},
    {"ThresholdedRelu", {{1, N}, {10, S}}}, /* experimental at 1, standard at 10 */
    {"Tile", {{1, N}, {6, AD_NONE}, {13, S}}},
    {"TopK", {{1, N}, {10, AD_TOPK10}, {11, S}}},
    {"Transpose", {{1, N}, {13, S}, {21, S}}},
    {"Trilu", {{14, N}}},
    {"Unique", {{11, N}}},
    {"Unsqueeze", {{1, N}, {11, S}, {13, AD_AXES_INPUT}, {21, S}}},
    {"Upsample", {{1, N}, {7, AD_UPSAMPLE7}, {9, AD_UPSAMPLE9}, {10, AD_UPSAMPLE10}}},
    {"Where", {{9, N}, {16, S}}},
    {"Xor", {{1, N}, {7, AD_BCAST7}}},
};
#undef N
#undef S

static int cmp_history(const void *key, const void *elem)
{
    return strcmp(key, ((const op_history *)elem)->op);
}

static bool history_sorted(void)
{
    for (size_t i = 1; i < sizeof(history) / sizeof(history[0]); i++)
        if (strcmp(history[i - 1].op, history[i].op) >= 0) return false;
    return true;
}

const op_history *oc_opset_history_find(const char *op)
{
    assert(history_sorted());
    return bsearch(op, history, sizeof(history) / sizeof(history[0]), sizeof(history[0]), cmp_history);
}

int64_t oc_opset_min_ir_version(int64_t opset)
{
    /* ONNX releases: 1.3 opset 8 IR 3, 1.4 opset 9 IR 4, 1.5 opset 10 IR 5,
     * 1.6 opset 11 IR 6, 1.7-1.9 opsets 12-14 IR 7, 1.10-1.13 opsets 15-18
     * IR 8, 1.14-1.15 opsets 19-20 IR 9, 1.16 opset 21 IR 10 */
    static const int8_t ir[OC_OPSET_MAX + 1] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5, 6,
                                                7, 7, 7, 8, 8, 8, 8, 9, 9, 10};
    if (opset < 0 || opset > OC_OPSET_MAX) return 0;
    return ir[opset];
}
