/* oc_data.h: the sample-data API now lives in the public header. */
#ifndef OC_DATA_H
#define OC_DATA_H
#include "../onnxcomp.h"
#endif
