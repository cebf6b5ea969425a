/* status.c: status names, exit codes and failure messages. (The allocation
 * and I/O hooks tests use to fail on purpose are in hooks.c.) */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int exit_code;
} status_table[] = {
    [OC_OK] = {"ok", 0},
    [OC_ERR_USAGE] = {"usage error", 1},
    [OC_ERR_READ] = {"cannot read input", 2},
    [OC_ERR_INVALID] = {"invalid model", 3},
    [OC_ERR_WRITE] = {"cannot write output", 4},
    [OC_ERR_UNSUPPORTED] = {"unsupported", 5},
    [OC_ERR_NOMEM] = {"out of memory", 6},
    [OC_ERR_INTERNAL] = {"internal error", 7},
};
_Static_assert(sizeof(status_table) / sizeof(status_table[0]) == OC_STATUS_COUNT,
               "every status needs a name and an exit code");

const char *oc_status_name(oc_status st)
{
    if ((unsigned)st >= OC_STATUS_COUNT) return "unknown status";
    return status_table[st].name;
}

int oc_status_exit_code(oc_status st)
{
    if ((unsigned)st >= OC_STATUS_COUNT) return 7;
    return status_table[st].exit_code;
}

void oc_ctx_init(oc_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
}

oc_status oc_fail(oc_ctx *ctx, oc_status st, const char *fmt, ...)
{
    if (!ctx) return st;
    /* keep the first failure: callers up the stack add no detail over it */
    if (ctx->status != OC_OK) return st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
    va_end(ap);
    /* one line: a message never carries a newline from hostile input */
    for (char *p = ctx->msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    ctx->status = st;
    return st;
}
