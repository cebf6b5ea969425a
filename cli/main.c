/* main.c: the onnxcomp command: subcommand dispatch, --help, --version and
 * the exit codes every subcommand shares. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int g_verbosity = 1;

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("onnxcomp: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char usage_text[] =
    "usage: onnxcomp COMMAND [OPTIONS] ...\n"
    "\n"
    "Compress ONNX models: pruning, then quantization with QDQ nodes.\n"
    "\n"
    "commands:\n"
    "  info MODEL...            describe models (--json for machines)\n"
    "  compress IN... [-o OUT]  run the compression pipeline and write the outputs\n"
    "  run MODEL --data SRC     run a model in onnxcomp's interpreter, outputs as .npy\n"
    "  eval REF CAND --data SRC compare two models' outputs (and accuracy) on samples\n"
    "\n"
    "  onnxcomp COMMAND --help  options of one command\n"
    "  onnxcomp --version       print the version\n"
    "\n"
    "exit codes:\n"
    "  0  success\n"
    "  1  usage error (bad arguments, output exists without -f, output == input)\n"
    "  2  cannot read an input file (the model or its external data)\n"
    "  3  invalid model (not ONNX, truncated, broken graph, bad tensor data,\n"
    "     external data too short or outside the model's folder)\n"
    "  4  cannot write the output\n"
    "  5  unsupported feature\n"
    "  6  out of memory\n"
    "  7  internal error\n"
    "  8  some models of a batch failed (compress with several models;\n"
    "     the others are written and the failures listed)\n"
    "  9  a compressed model fell short of the quality gate (--min-cosine,\n"
    "     --max-drop)\n"
    "  130, 143  interrupted by SIGINT, SIGTERM (128 + the signal); no partial\n"
    "     output is left\n";

int main(int argc, char **argv)
{
    oc_blas_park();
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("onnxcomp %s\n", OC_VERSION_STRING);
        return 0;
    }
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "compress")) return cmd_compress(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    cli_error("unknown command '%s' (try 'onnxcomp --help')", cmd);
    return 1;
}
